/*
 * relayd server: the SMTP child, one per connection. Trust boundary: until privdrop_apply() returns this
 * process is root with the master's capabilities, so it must not read or
 * write a byte of the connection before then; afterwards it is the relay
 * user with no capabilities and may talk to the (hostile) client.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authfile.h"
#include "config.h"
#include "log.h"
#include "master_pool.h"
#include "privdrop.h"
#include "server.h"
#include "server_submit.h"
#include "session.h"
#include "sockaddr.h"

/* The master's handlers and mask must not survive into the child. */
static int
child_signals(void)
{
	sigset_t set;

	if (master_signals_default(&set) == -1)
		return -1;
	/* SIGPIPE stays ignored: a gone client is EPIPE, not a crash. */
	(void)sigemptyset(&set);
	return sigprocmask(SIG_SETMASK, &set, NULL);
}

/*
 * The spool is the relay user's 0700 directory and the master kept no
 * CAP_DAC_*: open it for chroot with the relay user's filesystem ids.
 * privdrop_apply() then sets every id (the fs ones included) for good.
 */
static int
child_fsids(const struct master *m)
{
	(void)setfsgid(m->gid);
	(void)setfsuid(m->uid);
	/* Both return the previous id; an invalid id reads the current. */
	if ((uid_t)setfsuid((uid_t)-1) != m->uid ||
	    (gid_t)setfsgid((gid_t)-1) != m->gid)
		return -1;
	return 0;
}

static void
child_fail(const struct master *m, int fd)
{
	char line[512];
	int n;

	n = snprintf(line, sizeof(line),
	    "421 4.3.0 %s Service not available\r\n", m->cfg.hostname);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)write(fd, line, (size_t)n);
	_exit(1);
}

/* The timeouts stress_timeout shortens. */
#define SERVER_TIMEOUTS 5

static void
timeout_fields(struct config *c, unsigned *t[SERVER_TIMEOUTS])
{
	t[0] = &c->timeout_greeting;
	t[1] = &c->timeout_command;
	t[2] = &c->timeout_data_init;
	t[3] = &c->timeout_data_block;
	t[4] = &c->timeout_data_term;
}

/*
 * Postfix's stress mode, per session: every timeout at most
 * stress_timeout.  base holds the configured ones, so that a pooled
 * child's next session gets them back.
 */
static void
session_timeouts(struct config *c, const unsigned *base, int stress)
{
	unsigned *t[SERVER_TIMEOUTS];
	size_t i;

	timeout_fields(c, t);
	for (i = 0; i < SERVER_TIMEOUTS; i++) {
		*t[i] = base[i];
		if (stress && *t[i] > c->stress_timeout)
			*t[i] = c->stress_timeout;
	}
}

/*
 * Shed the master's fds and signal handling and drop for good: from here
 * on this process is the relay account with no capabilities.
 */
static void
server_drop(struct master *m, int fd, int local, struct session_submit *sub)
{
	struct privdrop pd = { .uid = m->uid, .gid = m->gid };
	char why[256];

	master_detach(m);
	/* An SMTP child has no use for the smarthost password. */
	authfile_free(m->sauth);
	m->sauth = NULL;
	/* submit_socket: the submitter, before the drop (fails closed). */
	if (local && server_submit_peer(m, fd, sub, why, sizeof(why)) < 0) {
		log_warnx("local submission refused: %s", why);
		child_fail(m, fd);
	}
	if (local)
		log_info("local submission: uid=%lu (%s)",
		    (unsigned long)sub->uid, sub->login);
	if (m->rootfd != -1)
		(void)close(m->rootfd);
	m->rootfd = -1;
	if (child_signals() == -1) {
		log_warn("child signals");
		child_fail(m, fd);
	}
	if (m->cfg.chroot && child_fsids(m) == -1) {
		log_warnx("setfsuid/setfsgid failed");
		child_fail(m, fd);
	}
	if (m->cfg.chroot)
		pd.chroot_dir = m->spooldir;
	if (privdrop_apply(&pd, why, sizeof(why)) < 0) {
		log_warnx("privilege drop failed: %s", why);
		child_fail(m, fd);
	}
}

/* A pooled server's session, reported at QUIT or at its end. */
struct pooled {
	int sock;
	int reported;
};

static void
report_quit(void *arg, int status)
{
	struct pooled *p = arg;

	if (pool_child_report(p->sock, status) == -1)
		_exit(0); /* the master let go of us */
	p->reported = 1;
}

/* One SMTP session on fd, as the relay account; its exit status. */
static int
server_session(struct master *m, int fd, const struct pool_conn *c,
    const unsigned *timeouts, struct session_submit *sub, struct pooled *pl)
{
	struct session_env env;
	char addr[INET6_ADDRSTRLEN];
	int flags;

	session_timeouts(&m->cfg, timeouts, c->stress);
	/* The listener was non-blocking; the session chooses for itself. */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		log_warn("fcntl");
		child_fail(m, fd);
	}
	if (sub != NULL)
		(void)strlcpy(addr, "local", sizeof(addr));
	else
		sockaddr_ntop(&c->peer, addr, sizeof(addr));
	setproctitle("server unknown [%s] greeting", addr);
	memset(&env, 0, sizeof(env));
	env.cfg = &m->cfg;
	env.root = m->root;
	env.rcpts = m->rcpts;
	env.auth = m->auth; /* read by the master; no passwd file here */
	env.senders = m->senders;
	env.auth_failures = c->auth_failures;
	env.passed = c->passed;
	env.spoolfd = m->spoolfd;
	env.peer = c->peer;
	env.peerlen = c->peerlen;
	env.tls_ctx = m->tls; /* loaded by the master; no key file here */
	env.implicit_tls = c->listen_tls == CONFIG_LISTEN_IMPLICIT;
	env.require_tls = c->listen_tls == CONFIG_LISTEN_STARTTLS;
	env.submit = sub;
	if (pl != NULL) {
		pl->reported = 0;
		env.quitting = report_quit;
		env.quitting_arg = pl;
		env.quitting_wake = pl->sock;
	}
	env.locallen = sizeof(env.local);
	if (getsockname(fd, (struct sockaddr *)&env.local, &env.locallen) ==
	    -1) {
		log_warn("getsockname");
		child_fail(m, fd);
	}
	return session_run(fd, &env);
}

void
server_run(struct master *m, int fd, const struct pool_conn *c, int sock)
{
	struct session_submit sub;
	struct pool_conn next = *c;
	struct pooled pl = { .sock = sock };
	unsigned timeouts[SERVER_TIMEOUTS], *t[SERVER_TIMEOUTS];
	int local = c->peer.ss_family == AF_UNIX, rc;
	size_t i;

	timeout_fields(&m->cfg, t);
	for (i = 0; i < SERVER_TIMEOUTS; i++)
		timeouts[i] = *t[i];
	server_drop(m, fd, local, &sub);
	if (sock == -1 || local)
		_exit(server_session(
		    m, fd, &next, timeouts, local ? &sub : NULL, NULL));
	/* Pooled: the next connection the master passes, until it lets go. */
	for (;;) {
		rc = server_session(m, fd, &next, timeouts, NULL, &pl);
		if (!pl.reported && pool_child_report(sock, rc) == -1)
			_exit(0);
		if ((fd = pool_child_wait(sock, &next)) == -1)
			_exit(0);
		if (next.peer.ss_family == AF_UNIX)
			_exit(1); /* never pooled: no submitter was checked */
	}
}
