/*
 * Unit tests for relayd/session: session_run() in a forked child on one
 * end of a socketpair, an SMTP client in the test on the other, a temp
 * spool.  Covers the dialogue, PIPELINING, every limit's reply, relay
 * policy, smuggling, pre-greeting talk, BDAT, RSET and the timeouts.
 */
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

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
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

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct sockaddr_in *net;

	assert_non_null(f);
	strlcpy(f->dir, "/tmp/relayd-session-XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	f->spoolfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->spoolfd >= 0);
	assert_int_equal(mkdirat(f->spoolfd, "tmp", 0700), 0);
	assert_int_equal(mkdirat(f->spoolfd, "queue", 0700), 0);
	assert_int_equal(mkdirat(f->spoolfd, "hold", 0700), 0);

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

static int
teardown(void **state)
{
	struct fx *f = *state;

	close(f->spoolfd);
	assert_int_equal(nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

static void
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

/* Exit status of the session child after we hang up. */
static void
finish(struct conn *c)
{
	int st;

	close(c->fd);
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
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

static void
says(struct conn *c, const char *s)
{
	say(c, s, strlen(s));
}

/* One octet within 5 s; -1 at EOF. */
static int
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

static void
expect(struct conn *c, const char *prefix)
{
	const char *r = reply(c);

	if (strncmp(r, prefix, strlen(prefix)) != 0)
		fail_msg("want \"%s\", got \"%s\"", prefix, r);
}

static void
expect_eof(struct conn *c)
{
	assert_int_equal(getch(c), -1);
}

static void
greet(struct fx *f, struct conn *c, int ehlo)
{
	start(f, c);
	expect(c, "220 mx.test ESMTP relayd\r\n");
	if (ehlo) {
		says(c, "EHLO client.example\r\n");
		expect(c, "250-mx.test\r\n");
	}
}

static int
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
static void
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

static char *
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
static void
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
	    "client 127.0.0.1 client.example\n%s"
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

static void
test_greeting_ehlo(void **state)
{
	struct conn c;

	greet(*state, &c, 0);
	says(&c, "MAIL FROM:<a@example.net>\r\n");
	expect(&c, "503 5.5.1 Error: send HELO/EHLO first\r\n");
	says(&c, "EHLO client.example\r\n");
	assert_string_equal(reply(&c),
	    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
	    "250 CHUNKING\r\n");
	says(&c, "HELO client.example\r\n");
	expect(&c, "250 mx.test\r\n");
	says(&c, "NOOP\r\n");
	expect(&c, "250 2.0.0 Ok\r\n");
	says(&c, "HELP\r\n");
	expect(&c, "214 2.0.0 ");
	says(&c, "VRFY root\r\n");
	expect(&c, "252 2.5.2 ");
	says(&c, "EXPN staff\r\n");
	expect(&c, "502 5.5.1 ");
	says(&c, "STARTTLS\r\n");
	expect(&c, "502 5.5.1 ");
	says(&c, "FOO\r\n");
	expect(&c, "500 5.5.1 Command unrecognized\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 2.0.0 Bye\r\n");
	expect_eof(&c);
	finish(&c);
}

static const char env1[] = "sender <a@example.net> BODY=8BITMIME\n"
			   "rcpt <b@example.org> pending NOTIFY=SUCCESS\n";

static void
test_mail_queued(void **state)
{
	struct fx *f = *state;
	struct conn c;
	char id[40];

	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net> BODY=8BITMIME\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");
	says(&c, "RCPT TO:<b@example.org> NOTIFY=SUCCESS\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "DATA\r\n");
	expect(&c, "354 ");
	says(&c, "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
	queued_id(f, &c, id);
	check_file(f, id, env1, "\r\n\tfor <b@example.org>;\r\n",
	    "Subject: hi\r\n\r\n.dot\r\nbody\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
}

static const char env2[] = "sender <>\n"
			   "rcpt <b@example.org> pending\n"
			   "rcpt <c@example.org> pending\n";

static void
test_pipelining(void **state)
{
	struct fx *f = *state;
	struct conn c;
	char id[40];

	greet(f, &c, 1);
	/* One write, RFC 2920: the replies come back in order. */
	says(&c,
	    "MAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\n"
	    "RCPT TO:<c@example.org>\r\nDATA\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	expect(&c, "354 ");
	says(&c, "x\r\n.\r\nNOOP\r\nQUIT\r\n");
	queued_id(f, &c, id);
	expect(&c, "250 2.0.0 Ok\r\n");
	expect(&c, "221 2.0.0 Bye\r\n");
	expect_eof(&c);
	finish(&c);
	check_file(f, id, env2, ";\r\n", "x\r\n");
}

/* A domain of n octets (labels of 50), valid per RFC 5321. */
static void
domain(char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = i % 51 == 50 ? '.' : 'd';
	d[n] = '\0';
}

static void
test_limits_command(void **state)
{
	struct fx *f = *state;
	char line[6000], dom[300], loc[100];
	struct conn c;

	greet(f, &c, 1);
	/* 512 octets with CRLF is fine, 513 is not, and we stay in sync. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 510, "\r\n", 2);
	say(&c, line, 512);
	expect(&c, "250 2.0.0 Ok\r\n");
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 511, "\r\n", 2);
	say(&c, line, 513);
	expect(&c, "500 5.5.2 Line too long\r\n");
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 5000, "\r\nNOOP\r\n", 8);
	say(&c, line, 5008);
	expect(&c, "500 5.5.2 Line too long\r\n");
	expect(&c, "250 2.0.0 Ok\r\n");

	/* SIZE= */
	says(&c, "MAIL FROM:<a@example.net> SIZE=10001\r\n");
	expect(&c, "552 5.3.4 ");
	says(&c, "MAIL FROM:<a@example.net> SIZE=10000\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");

	/* A path of 256 octets with the brackets is fine, 257 is not. */
	domain(dom, 256 - 2 - 11);
	snprintf(line, sizeof(line), "RCPT TO:<0123456789@%s>\r\n", dom);
	says(&c, line);
	expect(&c, "250 2.1.5 Ok\r\n");
	domain(dom, 257 - 2 - 11);
	snprintf(line, sizeof(line), "RCPT TO:<0123456789@%s>\r\n", dom);
	says(&c, line);
	expect(&c, "501 5.1.3 ");

	/* Local part: 64 octets fine, 65 not. */
	memset(loc, 'l', 64);
	loc[64] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>\r\n", loc);
	says(&c, line);
	expect(&c, "250 2.1.5 Ok\r\n");
	memset(loc, 'l', 65);
	loc[65] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>\r\n", loc);
	says(&c, line);
	expect(&c, "501 5.1.3 ");

	/* max_recipients = 3 */
	says(&c, "RCPT TO:<c@example.org>\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "RCPT TO:<d@example.org>\r\n");
	expect(&c, "452 4.5.3 Too many recipients\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

/* DATA with body, returning the reply to end-of-data. */
static const char *
send_message(struct conn *c, const char *body, size_t len)
{
	says(c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "DATA\r\n");
	expect(c, "250 2.1.0 Ok\r\n");
	expect(c, "250 2.1.5 Ok\r\n");
	expect(c, "354 ");
	say(c, body, len);
	return reply(c);
}

static void
test_limits_data(void **state)
{
	struct fx *f = *state;
	static char body[20000];
	struct conn c;
	char id[40];
	size_t n;

	greet(f, &c, 1);
	/* A text line of 1000 octets with CRLF is fine, 1001 is not. */
	memset(body, 't', 998);
	memcpy(body + 998, "\r\n.\r\n", 5);
	send_message(&c, body, 1003);
	if (sscanf(c.reply, "250 2.0.0 Ok: queued as %32[0-9A-Z]", id) != 1)
		fail_msg("%s", c.reply);
	memset(body, 't', 999);
	memcpy(body + 999, "\r\n.\r\n", 5);
	assert_string_equal(send_message(&c, body, 1004),
	    "552 5.6.0 Message line longer than 1000 octets\r\n");

	/* max_message_size = 10000 message octets */
	for (n = 0; n + 100 <= 10100; n += 100) {
		memset(body + n, 'm', 98);
		memcpy(body + n + 98, "\r\n", 2);
	}
	memcpy(body + 10000, ".\r\n", 3);
	send_message(&c, body, 10003);
	if (strncmp(c.reply, "250 2.0.0 Ok: queued as ", 24) != 0)
		fail_msg("%s", c.reply);
	memcpy(body + 10000, "mm\r\n.\r\n", 7);
	assert_string_equal(send_message(&c, body, 10007),
	    "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 2);
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
}

static void
test_relay(void **state)
{
	struct fx *f = *state;
	struct conn c;

	peer_set(f, "192.0.2.1"); /* outside relay_from 127.0.0.0/8 */
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");
	says(&c, "RCPT TO:<x@other.net>\r\n");
	expect(&c, "554 5.7.1 <x@other.net>: Relaying denied\r\n");
	says(&c, "RCPT TO:<x@sub.example.org>\r\n");
	expect(&c, "554 5.7.1 <x@sub.example.org>: Relaying denied\r\n");
	says(&c, "RCPT TO:<x@[127.0.0.1]>\r\n");
	expect(&c, "554 5.7.1 ");
	says(&c, "RCPT TO:<y@Example.ORG>\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);

	peer_set(f, "::1");
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@other.net>\r\n");
	expect(&c, "250 ");
	expect(&c, "554 5.7.1 <x@other.net>: Relaying denied\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);

	peer_set(f, "127.0.0.2"); /* inside: any domain */
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@other.net>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

static void
test_smuggling(void **state)
{
	static const char *const seps[] = {
		"\n.\n", /* <LF>.<LF> */
		"\r.\r", /* <CR>.<CR> */
		"\n.\r\n", /* <LF>.<CRLF> */
		"\r\n.\n", /* <CRLF>.<LF> */
		"\r\n.\r", /* <CRLF>.<CR> */
		"\r.\r\n", /* <CR>.<CRLF> */
		"\nbare lf\r\n", /* bare LF in a line */
		"\rbare cr\r\n", /* bare CR in a line */
	};
	struct fx *f = *state;
	char body[1024];
	struct conn c;
	size_t i;
	int n;

	greet(f, &c, 1);
	for (i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
		/* A hidden second transaction after the fake end. */
		n = snprintf(body, sizeof(body),
		    "Subject: first\r\n\r\nfirst%s"
		    "MAIL FROM:<evil@example.net>\r\n"
		    "RCPT TO:<victim@example.org>\r\nDATA\r\n"
		    "Subject: hidden\r\n\r\nsmuggled\r\n.\r\nNOOP\r\n",
		    seps[i]);
		send_message(&c, body, (size_t)n);
		if (strcmp(c.reply,
			"550 5.6.11 Bare CR or LF in message data "
			"not allowed\r\n") != 0)
			fail_msg("sep %zu: %s", i, c.reply);
		/* The next reply is the NOOP's: nothing else was run. */
		expect(&c, "250 2.0.0 Ok\r\n");
		assert_int_equal(count(f->spoolfd, "queue"), 0);
		assert_int_equal(count(f->spoolfd, "tmp"), 0);
	}
	/* Dot-stuffed look-alikes are content, not commands. */
	n = snprintf(body, sizeof(body),
	    "Subject: ok\r\n\r\n..\r\nMAIL FROM:<evil@example.net>\r\n"
	    ".\r\n");
	send_message(&c, body, (size_t)n);
	assert_int_equal(strncmp(c.reply, "250 2.0.0 Ok: queued as ", 24), 0);
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	expect_eof(&c);
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
}

static void
test_pregreet(void **state)
{
	struct fx *f = *state;
	struct conn c;

	start(f, &c);
	says(&c, "EHLO fast.example\r\n");
	expect(&c, "554 5.5.1 Protocol error: talking too soon\r\n");
	expect_eof(&c);
	finish(&c);
}

static const char env3[] = "sender <a@example.net>\n"
			   "rcpt <b@example.org> pending\n";

static void
test_bdat(void **state)
{
	static const char c1[] = "Subject: b\r\n", c2[] = "\r\nQUIT\r\nend";
	struct fx *f = *state;
	struct conn c;
	char buf[256], id[40];

	greet(f, &c, 1);
	/* Chunk octets are never commands, even on a refused BDAT. */
	says(&c, "BDAT 6\r\nNOOP\r\nQUIT\r\n");
	expect(&c, "503 5.5.1 Error: need MAIL command\r\n");
	expect(&c, "221 ");
	expect_eof(&c);
	finish(&c);

	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 ");
	snprintf(buf, sizeof(buf), "BDAT %zu\r\n%s", strlen(c1), c1);
	says(&c, buf);
	expect(&c, "250 2.0.0 Ok: 12 octets received\r\n");
	says(&c, "DATA\r\n");
	expect(&c, "503 5.5.1 Error: DATA after BDAT\r\n");
	snprintf(buf, sizeof(buf), "BDAT %zu LAST\r\n%s", strlen(c2), c2);
	says(&c, buf);
	queued_id(f, &c, id);
	check_file(f, id, env3, "\r\n\tfor <b@example.org>;\r\n",
	    "Subject: b\r\n\r\nQUIT\r\nend\r\n");

	/* Bare LF across a chunk, CR as the very last octet. */
	says(&c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "BDAT 2\r\nabBDAT 2 LAST\r\n\nx");
	expect(&c, "250 ");
	expect(&c, "250 ");
	expect(&c, "250 2.0.0 Ok: 2 octets received\r\n");
	expect(&c, "550 5.6.11 ");
	says(&c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "BDAT 2 LAST\r\nx\r");
	expect(&c, "250 ");
	expect(&c, "250 ");
	expect(&c, "550 5.6.11 ");
	/* Too big, counted over chunks. */
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 ");
	for (int i = 0; i < 11; i++) {
		static char chunk[1000];

		memset(chunk, 'z', sizeof(chunk));
		memcpy(chunk + 998, "\r\n", 2);
		says(&c, i == 10 ? "BDAT 1000 LAST\r\n" : "BDAT 1000\r\n");
		say(&c, chunk, sizeof(chunk));
		expect(&c, i == 10 ? "552 5.3.4 " : "250 2.0.0 Ok: 1000 ");
	}
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
}

static void
test_rset(void **state)
{
	struct fx *f = *state;
	struct conn c;

	greet(f, &c, 1);
	says(&c, "RCPT TO:<b@example.org>\r\n");
	expect(&c, "503 5.5.1 Error: need MAIL command\r\n");
	says(&c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "MAIL FROM:<a@example.net>\r\n");
	expect(&c, "250 2.1.0 ");
	expect(&c, "250 2.1.5 ");
	expect(&c, "503 5.5.1 Error: nested MAIL command\r\n");
	says(&c, "RSET\r\nDATA\r\n");
	expect(&c, "250 2.0.0 Ok\r\n");
	expect(&c, "503 5.5.1 Error: need MAIL command\r\n");
	says(&c, "MAIL FROM:<a@example.net>\r\nDATA\r\n");
	expect(&c, "250 2.1.0 ");
	expect(&c, "503 5.5.1 Error: need RCPT command\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

static void
test_bare_lf_command(void **state)
{
	struct conn c;

	greet(*state, &c, 1);
	says(&c, "NOOP\nMAIL FROM:<a@example.net>\r\n");
	expect(&c, "500 5.5.2 Bare LF in command\r\n");
	expect_eof(&c);
	finish(&c);
}

static void
test_timeout_command(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	struct conn c;
	double dt;

	f->cfg.timeout_command = 1;
	greet(f, &c, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect(&c, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(dt > 0.8 && dt < 4.0);
	expect_eof(&c);
	finish(&c);
}

static void
test_timeout_data(void **state)
{
	struct fx *f = *state;
	struct conn c;
	char big[2000];

	f->cfg.timeout_data_block = 1;
	greet(f, &c, 1);
	send_message(&c, "Subject: slow\r\n\r\npartial\r\n", 26);
	assert_string_equal(
	    c.reply, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	expect_eof(&c);
	finish(&c);
	/* A BDAT chunk that never completes. */
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 ");
	memset(big, 'b', sizeof(big));
	says(&c, "BDAT 5000 LAST\r\n");
	say(&c, big, sizeof(big));
	expect(&c, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	expect_eof(&c);
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 0);
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
}

static void
test_queue_error(void **state)
{
	struct fx *f = *state;
	struct conn c;

	/* No queue/ to rename into: 451, and nothing left in tmp/. */
	assert_int_equal(unlinkat(f->spoolfd, "queue", AT_REMOVEDIR), 0);
	greet(f, &c, 1);
	send_message(&c, "x\r\n.\r\n", 6);
	assert_string_equal(
	    c.reply, "451 4.3.0 Error: queue file write error\r\n");
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char *argv[])
{
	extern char **environ;

	const struct CMUnitTest tests[] = {
		T(test_greeting_ehlo),
		T(test_mail_queued),
		T(test_pipelining),
		T(test_limits_command),
		T(test_limits_data),
		T(test_relay),
		T(test_smuggling),
		T(test_pregreet),
		T(test_bdat),
		T(test_rset),
		T(test_bare_lf_command),
		T(test_timeout_command),
		T(test_timeout_data),
		T(test_queue_error),
	};

	/* The session sets titles; without this libbsd warns on stderr. */
	setproctitle_init(argc, argv, environ);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
