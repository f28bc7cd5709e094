/*
 * check milter: can relayd's children reach each milter socket?  Mode
 * bits and ACLs are easy to misread, so a forked child drops to exactly
 * the credentials relayd's children get (the same privdrop_apply()) and
 * really connect()s; the parent only reads its one-line answer.  An
 * inet:PORT@ADDR milter is connected to the same way.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "privdrop.h"

#define CONNECT_TIMEOUT 5 /* seconds, a full backlog blocks connect() */

struct answer {
	int ok;
	char why[256];
};

/* The first directory of dir (real path) the dropped child cannot search. */
static void
blocking_dir(const char *dir, size_t rootlen, char *why, size_t len)
{
	char prefix[PATH_MAX];
	size_t i, n = strlen(dir);

	for (i = 1; i <= n; i++) {
		if (i != 1 && i != n && dir[i] != '/')
			continue;
		snprintf(prefix, sizeof(prefix), "%.*s", (int)i, dir);
		if (access(prefix, X_OK) == 0)
			continue;
		snprintf(why, len, "cannot search '%s': %s",
		    strlen(prefix) > rootlen ? prefix + rootlen : "/",
		    strerror(errno));
		return;
	}
}

/* "PORT@ADDR" (the config checked it) connected to; 0 or -errno. */
static int
inet_connect(const char *spec)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	const char *at = strchr(spec, '@');
	int s, e, port = atoi(spec);
	socklen_t len;

	if (at != NULL && inet_pton(AF_INET, at + 1, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		len = sizeof(*sin);
	} else if (at != NULL &&
	    inet_pton(AF_INET6, at + 1, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	} else
		return -EINVAL;
	if ((s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	e = connect(s, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
	(void)close(s);
	return e;
}

/* In the child: drop, chdir, connect; the answer goes to fd. */
static void __attribute__((noreturn)) probe_child(const struct check *c,
    const char *dir, const char *name, size_t rootlen, int fd)
{
	struct privdrop pd = { .uid = c->uid, .gid = c->gid };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct answer a = { 0 };
	char err[256];
	int s;

	alarm(CONNECT_TIMEOUT);
	if (privdrop_apply(&pd, err, sizeof(err)) < 0)
		snprintf(a.why, sizeof(a.why), "privilege drop: %.200s", err);
	else if (dir == NULL && (s = inet_connect(name)) < 0)
		snprintf(a.why, sizeof(a.why), "connect: %s", strerror(-s));
	else if (dir == NULL)
		a.ok = 1;
	else if (chdir(dir) < 0)
		blocking_dir(dir, rootlen, a.why, sizeof(a.why));
	else if (strlcpy(sun.sun_path, name, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		snprintf(a.why, sizeof(a.why), "socket name too long");
	else if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		snprintf(a.why, sizeof(a.why), "socket: %s", strerror(errno));
	else if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		snprintf(a.why, sizeof(a.why), "connect: %s", strerror(errno));
	else
		a.ok = 1;
	if (a.why[0] == '\0' && !a.ok)
		snprintf(a.why, sizeof(a.why), "cannot enter the directory");
	(void)write(fd, &a, sizeof(a));
	_exit(0);
}

static int
probe(const struct check *c, const char *path, struct answer *a)
{
	const char *rootp = strcmp(c->root, "/") == 0 ? "" : c->root;
	char dir[PATH_MAX], *slash;
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	memset(a, 0, sizeof(*a));
	if (strncmp(path, "inet:", 5) == 0)
		slash = NULL;
	else if ((size_t)snprintf(dir, sizeof(dir), "%s%s", rootp, path + 5) >=
		sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL)
		return -ENAMETOOLONG;
	else
		*slash = '\0';
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(stdout);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (pid == 0) {
		close(fds[0]);
		if (slash == NULL)
			probe_child(c, NULL, path + 5, 0, fds[1]);
		probe_child(
		    c, dir[0] ? dir : "/", slash + 1, strlen(rootp), fds[1]);
	}
	close(fds[1]);
	n = read(fds[0], a, sizeof(*a));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(*a)) {
		a->ok = 0;
		snprintf(a->why, sizeof(a->why), "%s",
		    WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
			? "connect timed out"
			: "probe child failed");
	}
	a->why[sizeof(a->why) - 1] = '\0';
	return 0;
}

int
check_milter(struct check *c)
{
	struct check_milter *m;
	struct answer a;
	char expected[96];
	size_t i;
	int r;

	if (!c->cfg_ok || !c->have_ids)
		return 0; /* config.invalid or config.run-as says why */
	for (i = 0; i < c->cfg.nmilter; i++) {
		m = &c->milters[c->nmilters++];
		(void)strlcpy(
		    m->socket, c->cfg.milter[i].socket, sizeof(m->socket));
		if ((r = probe(c, c->cfg.milter[i].socket, &a)) < 0) {
			warnx("cannot probe milter '%s': %s", m->socket,
			    strerror(-r));
			return r;
		}
		m->reachable = a.ok;
		(void)strlcpy(m->why, a.why, sizeof(m->why));
		if (a.ok)
			continue;
		snprintf(expected, sizeof(expected), "connectable by '%s'",
		    c->cfg.run_as);
		if ((r = check_add(c, "milter.unreachable", SEV_UNSAFE,
			 c->cfg.milter[i].socket + 5, expected, a.why,
			 "let the relay group search each directory and write "
			 "the socket (setfacl -m g:GROUP:x DIR, a default "
			 "ACL for the socket)")) < 0)
			return r;
	}
	return 0;
}
