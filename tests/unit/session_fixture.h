/*
 * Fixture shared by test_session and test_session_data: session_run() in
 * a forked child on one end of a socketpair, an SMTP client in the test
 * on the other, a temp spool under /tmp, and checks of queued files.
 */
#ifndef SESSION_FIXTURE_H
#define SESSION_FIXTURE_H

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "queue.h"
#include "session.h"
#include "tmpspool.h"
#include "tmptree.h"

struct fx {
	char dir[64];
	int spoolfd;
	struct config cfg;
	struct session_env env;
};

struct conn {
	int fd;
	pid_t pid;
	char reply[8192];
};

static inline void
peer_set(struct fx *f, const char *addr)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&f->env.peer;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&f->env.peer;

	memset(&f->env.peer, 0, sizeof(f->env.peer));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		f->env.peerlen = sizeof(*sin);
	} else {
		assert_int_equal(
		    inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		f->env.peerlen = sizeof(*sin6);
	}
}

static inline int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sockaddr_in *net;

	assert_non_null(f);
	f->spoolfd = tmpspool_new(f->dir, sizeof(f->dir), "session", "tmp",
	    "queue", "hold", (char *)NULL);

	config_defaults(&f->cfg);
	strlcpy(f->cfg.hostname, "mx.test", sizeof(f->cfg.hostname));
	net = (struct sockaddr_in *)&f->cfg.relay_from[0].addr;
	memset(&f->cfg.relay_from[0], 0, sizeof(f->cfg.relay_from[0]));
	net->sin_family = AF_INET;
	net->sin_addr.s_addr = htonl(0x7f000000);
	f->cfg.relay_from[0].prefix = 8;
	f->cfg.nrelay_from = 1;
	strlcpy(f->cfg.relay_domains[0], "example.org",
	    sizeof(f->cfg.relay_domains[0]));
	f->cfg.nrelay_domains = 1;
	f->cfg.max_recipients = 3;
	f->cfg.max_message_size = 10000;
	f->cfg.timeout_greeting = f->cfg.timeout_command = 10;
	f->cfg.timeout_data_init = f->cfg.timeout_data_block = 10;
	f->cfg.timeout_data_term = 10;
	f->env.cfg = &f->cfg;
	f->env.spoolfd = f->spoolfd;
	peer_set(f, "127.0.0.1");
	*state = f;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fx *f = *state;

	close(f->spoolfd);
	assert_int_equal(tmptree_remove(f->dir), 0);
	free(f);
	return 0;
}

static inline void
start(struct fx *f, struct conn *c)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (c->pid == 0) {
		close(sv[0]);
		_exit(session_run(sv[1], &f->env));
	}
	close(sv[1]);
	c->fd = sv[0];
}

/* The session child's exit status after we hang up must be want. */
static inline void
finish_status(struct conn *c, int want)
{
	int st;

	close(c->fd);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), want);
}

/* A session with nothing to report to the master: exit status 0. */
static inline void
finish(struct conn *c)
{
	finish_status(c, 0);
}

static inline void
say(struct conn *c, const char *s, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(c->fd, s, len);
		assert_true(n > 0);
		s += n;
		len -= (size_t)n;
	}
}

static inline void
says(struct conn *c, const char *s)
{
	say(c, s, strlen(s));
}

/* One octet within 5 s; -1 at EOF. */
static inline int
getch(struct conn *c)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	unsigned char ch;

	assert_int_equal(poll(&pfd, 1, 5000), 1);
	if (read(c->fd, &ch, 1) != 1)
		return -1;
	return ch;
}

/* A whole (multi-line) reply into c->reply; "" at EOF. */
static const char *
reply(struct conn *c)
{
	size_t n = 0, start;
	int ch;

	for (;;) {
		start = n;
		while ((ch = getch(c)) != -1) {
			assert_true(n < sizeof(c->reply) - 1);
			c->reply[n++] = (char)ch;
			if (ch == '\n')
				break;
		}
		c->reply[n] = '\0';
		if (ch == -1 || n - start < 4 || c->reply[start + 3] != '-')
			return c->reply;
	}
}

static inline void
expect(struct conn *c, const char *prefix)
{
	const char *r = reply(c);

	if (strncmp(r, prefix, strlen(prefix)) != 0)
		fail_msg("want \"%s\", got \"%s\"", prefix, r);
}

static inline void
expect_eof(struct conn *c)
{
	assert_int_equal(getch(c), -1);
}

static inline void
greet(struct fx *f, struct conn *c, int ehlo)
{
	start(f, c);
	expect(c, "220 mx.test ESMTP relayd\r\n");
	if (ehlo) {
		says(c, "EHLO client.example\r\n");
		expect(c, "250-mx.test\r\n");
	}
}

static inline int
count(int spoolfd, const char *sub)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(spoolfd, sub, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	d = fdopendir(fd);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* "250 2.0.0 Ok: queued as ID": the id, and the file must be there. */
static inline void
queued_id(struct fx *f, struct conn *c, char *id)
{
	const char *r = reply(c);
	struct stat st;
	char path[64];

	if (sscanf(r, "250 2.0.0 Ok: queued as %32[0-9A-Z]\r\n", id) != 1)
		fail_msg("not queued: \"%s\"", r);
	assert_true(queue_id_valid(id));
	snprintf(path, sizeof(path), "queue/%s", id);
	assert_int_equal(
	    fstatat(f->spoolfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
}

static inline char *
slurp(struct fx *f, const char *id, size_t *len)
{
	char path[64], *buf = malloc(1 << 16);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "queue/%s", id);
	fd = openat(f->spoolfd, path, O_RDONLY);
	assert_true(fd >= 0);
	assert_non_null(buf);
	n = read(fd, buf, (1 << 16) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	*len = (size_t)n;
	close(fd);
	return buf;
}

/*
 * The file must be exactly envelope + Received: + body; the Received
 * field is checked up to its date, which is checked for shape.
 */
static inline void
check_file(struct fx *f, const char *id, const char *env_mid,
    const char *received, const char *body)
{
	char want[4096], head[1024], *got;
	const char *p, *date;
	size_t len, hlen, blen = strlen(body);
	long long arrival;
	struct queue_file *qf = NULL;
	int qd;

	got = slurp(f, id, &len);
	p = strstr(got, "\narrival ");
	assert_non_null(p);
	arrival = strtoll(p + 9, NULL, 10);
	assert_true(llabs(arrival - (long long)time(NULL)) < 30);
	snprintf(head, sizeof(head),
	    "Received: from client.example ([127.0.0.1])\r\n"
	    "\tby mx.test (relayd) with ESMTP id %s%s",
	    id, received);
	hlen = strlen(head);
	p = strstr(got, "\n\n");
	assert_non_null(p);
	p += 2;
	/* Received: ...;\r\n\tDDD, dd MMM yyyy hh:mm:ss +0000\r\n */
	assert_memory_equal(p, head, hlen);
	date = p + hlen;
	assert_int_equal(date[0], '\t');
	assert_int_equal(date[4], ',');
	assert_memory_equal(date + 26, " +0000\r\n", 8);
	assert_int_equal(len - (size_t)(date + 34 - got), blen);
	assert_memory_equal(date + 34, body, blen);
	snprintf(want, sizeof(want),
	    "relayd-queue 1\nid %s\narrival %lld\n"
	    "client 127.0.0.1 client.example trusted\n%s"
	    "attempts 0\nnext-try 0\nsize %zu\n\n",
	    id, arrival, env_mid, (size_t)(date + 34 - p) + blen);
	assert_int_equal((size_t)(p - got), strlen(want));
	assert_memory_equal(got, want, strlen(want));
	free(got);

	qd = openat(f->spoolfd, "queue", O_RDONLY | O_DIRECTORY);
	assert_int_equal(queue_read(qd, id, &qf), 0);
	assert_string_equal(qf->id, id);
	queue_free(qf);
	close(qd);
}

#endif /* SESSION_FIXTURE_H */
