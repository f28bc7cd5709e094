/*
 * The smtp child's session loop (after the privilege drop): pre-greeting
 * check, greeting, the command loop and its timeouts.  Trust boundary:
 * the peer is an unauthenticated client; every byte goes through
 * smtp_parse / smtp_data and the hard limits before it reaches the queue.
 * Timeouts (RFC 5321 4.5.3.2, server side): timeout_command while waiting
 * for a command and for writes, timeout_data_block for each read in DATA
 * and BDAT; with min_data_rate each bounds a whole request, and
 * session_deadline the whole session (session_io.c).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "session_int.h"
#include "sockaddr.h"

void
session_title(struct session *s, const char *state)
{
	setproctitle("server %s [%s] %s",
	    s->helo[0] != '\0' ? s->helo : "unknown", s->addr, state);
}

void
session_reply(struct session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    sio_reply(&s->io, "%s", line) != 0) {
		log_warnx("cannot queue a reply to [%s]", s->addr);
		s->rc = 1;
		s->quit = 1;
	}
}

void
session_timeout(struct session *s)
{
	static const char *const why[] = { "timeout", "timeout",
		"data rate below min_data_rate", "session_deadline" };

	log_info("%s from [%s]", why[s->io.expired < 4 ? s->io.expired : 0],
	    s->addr);
	session_reply(
	    s, "421 4.4.2 %s Error: timeout exceeded", s->cfg->hostname);
	s->quit = 1;
}

void
session_lost(struct session *s, const char *when)
{
	log_info("lost connection %s from [%s]", when, s->addr);
	s->quit = 1;
}

/* Count a refused command; 1 if the session is over. */
int
session_error(struct session *s)
{
	if (++s->errors < SESSION_ERRORS_MAX)
		return 0;
	session_reply(
	    s, "421 4.7.0 %s Error: too many errors", s->cfg->hostname);
	s->quit = 1;
	return 1;
}

/* Forget the transaction (RSET, HELO, after DATA); keep the buffers. */
void
session_reset(struct session *s)
{
	struct queue_file *qf = &s->qf;

	s->in_mail = 0;
	s->bdat = 0;
	s->body = 0;
	memset(&s->bc, 0, sizeof(s->bc));
	memset(&s->sh, 0, sizeof(s->sh));
	queue_body_free(s->qb); /* an unfinished BDAT body goes */
	s->qb = NULL;
	qf->id[0] = qf->envid[0] = '\0';
	qf->flags = 0;
	qf->nrcpt = 0;
	qf->size = 0;
}

/*
 * Wait greet_pause before the greeting: a client that talks first is
 * a spambot or a smuggler (RFC 5321 4.3.1: the client waits for 220).
 * Clients in relay_from and those that passed before (the master says)
 * get no pause, only the check.  Returns 1 to greet, 0 if the session is
 * already over.
 */
static int
pregreet(struct session *s)
{
	struct pollfd pfd = { s->io.fd, POLLIN, 0 };
	unsigned pause = s->cfg->greet_pause;
	char c;
	int r;

	/* As postscreen's permit_mynetworks and its cache of passes. */
	if (s->env->passed ||
	    smtp_addr_client_trusted(
		&s->env->peer, s->nets, s->cfg->nrelay_from))
		pause = 0;
	while ((r = poll(&pfd, 1, (int)pause * 1000)) == -1 && errno == EINTR)
		;
	if (r == 0) {
		s->passed = pause > 0; /* no pause proves nothing */
		return 1;
	}
	if (r == -1 || recv(s->io.fd, &c, 1, MSG_PEEK) <= 0) {
		session_lost(s, "before greeting");
		return 0;
	}
	log_info("pregreet from [%s]: client talks first", s->addr);
	metrics_inc(METRICS_REJ_PREGREET);
	session_reply(s, "554 5.5.1 Protocol error: talking too soon");
	s->quit = 1;
	return 0;
}

static void
loop(struct session *s)
{
	char line[SMTP_LINE_MAX];
	size_t len;
	int r;

	while (!s->quit) {
		session_title(s, "cmd read");
		r = sio_getline(&s->io, line, sizeof(line), &len,
		    (int)s->cfg->timeout_command * 1000);
		if (r == 1) {
			session_command(s, line, len);
		} else if (r == -E2BIG) {
			session_reply(s, "%s",
			    smtp_parse_reply(
				SMTP_PARSE_ETOOLONG, SMTP_VERB_NONE)
				->line);
			(void)session_error(s);
		} else if (r == -ETIMEDOUT) {
			session_timeout(s);
		} else {
			session_lost(s, "after command");
		}
	}
}

/*
 * Close without a reset: unread client input at close() makes TCP send
 * RST, which can destroy our last reply (554, 421) before the client
 * reads it.  Half-close, then discard input for at most a second, or
 * until wake (-1: none) has input: a next client is waiting for us.
 */
static void
lingering_close(int fd, int wake)
{
	struct pollfd pfd[2] = { { fd, POLLIN, 0 }, { wake, POLLIN, 0 } };
	char junk[4096];
	size_t total = 0;
	ssize_t n;

	(void)shutdown(fd, SHUT_WR);
	while (total < 65536 && poll(pfd, wake == -1 ? 1 : 2, 1000) > 0 &&
	    pfd[1].revents == 0) {
		if ((n = read(fd, junk, sizeof(junk))) <= 0)
			break;
		total += (size_t)n;
	}
	(void)close(fd);
}

static struct session *
session_new(int fd, const struct session_env *env)
{
	const struct config *cfg = env->cfg;
	struct session *s;
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->env = env;
	s->cfg = cfg;
	sio_init(&s->io, fd);
	sio_limits(&s->io, cfg->session_deadline, cfg->min_data_rate);
	if (env->submit != NULL) /* queue file and log: "local" */
		(void)strlcpy(s->addr, "local", sizeof(s->addr));
	else
		sockaddr_ntop(&env->peer, s->addr, sizeof(s->addr));
	for (i = 0; i < cfg->nrelay_from && i < CONFIG_NET_MAX; i++) {
		s->nets[i].addr = cfg->relay_from[i].addr;
		s->nets[i].prefix = cfg->relay_from[i].prefix;
	}
	for (i = 0; i < cfg->nrelay_domains && i < CONFIG_DOMAIN_MAX; i++)
		s->domains[i] = cfg->relay_domains[i];
	s->auth_failures = env->auth_failures;
	return s;
}

/* The exit status: rc, or what the master should learn of the client. */
static int
session_report(const struct session *s, int rc)
{
	unsigned n = s->auth_failures - s->env->auth_failures;

	if (n == 0 && !s->passed)
		return rc;
	return SESSION_EXIT_REPORT | (s->passed ? SESSION_EXIT_PASSED : 0) |
	    (int)(n > SESSION_AUTH_MAX ? SESSION_AUTH_MAX : n);
}

void
session_quitting(struct session *s)
{
	if (s->env->quitting != NULL)
		s->env->quitting(
		    s->env->quitting_arg, session_report(s, s->rc));
}

int
session_run(int fd, const struct session_env *env)
{
	struct session *s;
	int fl, rc;

	if ((s = session_new(fd, env)) == NULL) {
		log_warn("session");
		(void)close(fd);
		return 1;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("session: fcntl");
		s->rc = 1;
		s->quit = 1;
	}
	session_title(s, "greeting");
	/*
	 * Implicit TLS: the client speaks first, with its ClientHello.  A
	 * local submitter is a known user, not a spambot: no greet_pause.
	 */
	if (!s->quit &&
	    (env->submit != NULL ||
		(env->implicit_tls ? session_tls_implicit(s) : pregreet(s)))) {
		session_reply(s, "220 %s ESMTP relayd", env->cfg->hostname);
		loop(s);
	}
	(void)sio_flush(&s->io, (int)env->cfg->timeout_command * 1000);
	sio_tls_close(&s->io);
	lingering_close(fd, env->quitting != NULL ? env->quitting_wake : -1);
	rc = s->rc;
	rc = session_report(s, rc);
	sio_free(&s->io);
	free(s->qf.rcpt);
	free(s->qf.msg);
	queue_body_free(s->qb);
	free(s);
	return rc;
}
