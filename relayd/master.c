/*
 * relayd master event loop: one ppoll() over the listeners with TERM,
 * INT, HUP and CHLD blocked outside it, so handlers only set flags and
 * all work happens here. The master never reads from a connection: it
 * counts, forks, or writes one fixed 421 line and closes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <libutil.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "metrics.h"
#include "master_start.h"
#include "master_submit.h"
#include "master_limit.h"
#include "master_pool.h"
#include "master_table.h"
#include "recipients.h"
#include "authsenders.h"
#include "authtab.h"
#include "runner.h"
#include "server.h"
#include "smtp_addr.h"
#include "sockaddr.h"
#include "authfile.h"
#include "tls.h"

#define GRACE_SECONDS 10 /* TERM: children may finish their session */
#define KILL_SECONDS 5 /* then SIGTERM, and SIGKILL this much later */
#define ACCEPT_PAUSE_MS 1000 /* after EMFILE and the like */
#define ACCEPT_BURST 16 /* accepts per listener per wake-up */

static volatile sig_atomic_t got_term, got_hup, got_chld, got_usr1;

struct loop {
	sigset_t waitmask; /* the mask inside ppoll(): our signals open */
	struct timespec pause_until; /* accepting paused before this */
};

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	else if (got_term < 2)
		got_term++;
}

/* The signals the master handles; its children reset them. */
static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1 };

int
master_signals_default(sigset_t *set)
{
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigemptyset(set);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
		(void)sigaddset(set, sigs[i]);
	}
	return 0;
}

static int
master_signals(struct loop *lp)
{
	struct sigaction sa;
	sigset_t block;
	size_t i;

	(void)sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaddset(&block, sigs[i]);
	if (sigprocmask(SIG_BLOCK, &block, &lp->waitmask) == -1)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigdelset(&lp->waitmask, sigs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_mask = block;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	sa.sa_handler = SIG_IGN; /* a 421 to a gone client is EPIPE */
	return sigaction(SIGPIPE, &sa, NULL);
}

static struct timespec
now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/* Milliseconds from a to b, 0 if b is not later. */
static long
ms_until(struct timespec a, struct timespec b)
{
	long ms = (long)(b.tv_sec - a.tv_sec) * 1000 +
	    (b.tv_nsec - a.tv_nsec) / 1000000;

	return ms > 0 ? ms : 0;
}

/*
 * A child never holds the invoking terminal (TIOCSTI works on one's own
 * controlling tty; escapes reach root's screen): stdin and stdout become
 * /dev/null, and stderr too when it is a terminal (relayd -f on a tty),
 * the child then logging to syslog. Fails closed.
 */
static void
master_detach_stdio(void)
{
	int null;

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(null, STDIN_FILENO) == -1 || dup2(null, STDOUT_FILENO) == -1) {
		log_warn("child: /dev/null");
		_exit(1);
	}
	if (isatty(STDERR_FILENO)) {
		log_init(LOG_TO_SYSLOG);
		if (dup2(null, STDERR_FILENO) == -1)
			_exit(1);
	}
	if (null > STDERR_FILENO)
		(void)close(null);
}

void
master_detach(struct master *m)
{
	master_detach_stdio();
	listen_close_all(&m->ls);
	master_submit_close(m, 0);
	if (m->pfh != NULL && pidfile_close(m->pfh) == -1)
		log_warn("pidfile close");
	m->pfh = NULL;
	master_table_free(m->children);
	m->children = NULL;
	/* Other children's sockets: never in a server's hands. */
	master_pool_free(m->pool);
	m->pool = NULL;
	master_rate_free(m->rate);
	m->rate = NULL;
	master_rate_free(m->authfail);
	m->authfail = NULL;
	master_rate_free(m->passed);
	m->passed = NULL;
}

static void
master_title(struct master *m)
{
	char addrs[CONFIG_LISTEN_MAX * 66];

	if (listen_describe(&m->ls, addrs, sizeof(addrs)) < 0)
		(void)strlcpy(addrs, "(many addresses)", sizeof(addrs));
	setproctitle("accepting connections on %s", addrs);
}

/* The runner died (or ended on HUP): start another after a pause. */
static void
runner_gone(struct master *m, int status)
{
	long ms = RUNNER_RESTART_MS;

	m->runner = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !got_term)
		ms = 0; /* ended for a reload */
	else if (!got_term)
		log_warnx("queue runner %s %d; restarting it",
		    WIFSIGNALED(status) ? "killed by signal" : "exited with",
		    WIFSIGNALED(status) ? WTERMSIG(status)
					: WEXITSTATUS(status));
	m->runner_at = now();
	m->runner_at.tv_sec += ms / 1000;
	m->runner_at.tv_nsec += (ms % 1000) * 1000000;
	if (m->runner_at.tv_nsec >= 1000000000) {
		m->runner_at.tv_sec++;
		m->runner_at.tv_nsec -= 1000000000;
	}
}

static void
master_runner(struct master *m)
{
	if (got_usr1) {
		got_usr1 = 0;
		if (m->runner > 0 && kill(m->runner, SIGUSR1) == -1)
			log_warn("cannot signal the queue runner");
	}
	if (m->runner == 0 && ms_until(now(), m->runner_at) == 0 &&
	    (m->runner = runner_spawn(m)) == -1) {
		m->runner = 0;
		m->runner_at = now();
		m->runner_at.tv_sec += RUNNER_RESTART_MS / 1000 + 1;
	}
}

static void
master_reap(struct master *m)
{
	struct master_client c;
	char desc[64];
	pid_t pid;
	int status;

	got_chld = 0;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->runner) {
			runner_gone(m, status);
			continue;
		}
		master_pool_gone(m->pool, pid);
		if (!master_table_remove(m->children, pid, &c))
			continue;
		master_report_reaped(m, &c, status);
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM) {
			(void)snprintf(
			    desc, sizeof(desc), "signal %d", WTERMSIG(status));
			log_warnx("child %ld killed by %s", (long)pid, desc);
		}
	}
	if (pid == -1 && errno != ECHILD)
		log_warn("waitpid");
}

static void
pool_session_ended(void *arg, pid_t pid, int status)
{
	struct master *m = arg;
	struct master_client c;

	if (master_table_remove(m->children, pid, &c))
		master_report_reaped(m, &c, status);
}

/* Sessions pooled children ended: as if their children were reaped. */
static void
master_collect(struct master *m)
{
	if (master_pool_size(m->pool) > 0)
		master_pool_collect(
		    m->pool, m->cfg.max_use, pool_session_ended, m);
}

/* Best effort on a non-blocking socket: the master never waits for it. */
static void
master_refuse(
    const struct master *m, int fd, const char *code, const char *text)
{
	char line[512];
	int n;

	n = snprintf(
	    line, sizeof(line), "%s %s %s\r\n", code, m->cfg.hostname, text);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)close(fd);
}

/* A pooled child for c: fork one, which serves fd first. */
static pid_t
fork_pooled(struct master *m, int fd, const struct pool_conn *c)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	if ((pid = fork()) == 0) {
		(void)close(sv[0]);
		server_run(m, fd, c, sv[1]);
	}
	(void)close(sv[1]);
	if (pid != -1 && master_pool_add(m->pool, pid, sv[0]) == -1) {
		log_warnx(
		    "out of memory: child %ld serves one session", (long)pid);
		(void)close(sv[0]); /* EOF after its session: it exits */
	}
	return pid;
}

static pid_t
fork_server(struct master *m, int fd, const struct pool_conn *c)
{
	pid_t pid;

	/* Local submissions are rare and the submitter is checked as root. */
	if (m->cfg.max_use > 1 && c->peer.ss_family != AF_UNIX) {
		if ((pid = master_pool_send(m->pool, fd, c)) > 0)
			return pid;
		return fork_pooled(m, fd, c);
	}
	if ((pid = fork()) == 0)
		server_run(m, fd, c, -1);
	return pid;
}

static void
master_fork(struct master *m, int fd, const struct sockaddr_storage *peer,
    socklen_t peerlen, int tls)
{
	struct pool_conn c;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	c.peer = *peer;
	c.peerlen = peerlen;
	c.listen_tls = tls;
	c.stress = master_stressed(m);
	master_report_prior(m, peer, &c.auth_failures, &c.passed);
	if ((pid = fork_server(m, fd, &c)) == -1) {
		log_warn("fork");
		master_refuse(m, fd, "421 4.3.0", "Service not available");
		return;
	}
	(void)close(fd);
	metrics_inc(METRICS_SESSIONS);
	if (master_table_add(m->children, pid, peer) < 0) {
		/* An uncounted child would slip past max_children. */
		log_warnx("out of memory: killing child %ld", (long)pid);
		(void)kill(pid, SIGKILL);
	}
}

/*
 * 1: accept more from this listener, 0: stop for now.  lfd is a TCP
 * listener (tls its CONFIG_LISTEN_*) or the submit_socket, whose peers
 * are AF_UNIX: server_run() knows a local submission by that.
 */
static int
master_accept(struct master *m, struct loop *lp, int lfd, int tls)
{
	struct sockaddr_storage peer;
	socklen_t peerlen = sizeof(peer);
	char why[128];
	int fd;

	memset(&peer, 0, sizeof(peer));
	fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ECONNABORTED)
			return 1;
		log_warn("accept");
		/* EMFILE, ENFILE, ENOBUFS: do not spin on a full backlog. */
		lp->pause_until = now();
		lp->pause_until.tv_sec += ACCEPT_PAUSE_MS / 1000;
		return 0;
	}
	/*
	 * Reap first: while a listener stays ready, ppoll() returns it with
	 * SIGCHLD still pending, and children that have exited would count
	 * against the limits.
	 */
	master_reap(m);
	master_collect(m);
	if (master_over_limit(m, &peer, why, sizeof(why))) {
		metrics_inc(METRICS_REJ_LIMIT);
		master_refuse(m, fd, "421 4.7.0", why);
	} else
		master_fork(m, fd, &peer, peerlen, tls);
	return 1;
}

/* Keys bound at start-up (spool fd, account, pidfile lock). */
static void
keep_startup_keys(const struct config *old, struct config *next)
{
	if (strcmp(old->spool, next->spool) != 0)
		log_warnx("reload: 'spool' needs a restart; keeping '%s'",
		    old->spool);
	if (strcmp(old->run_as, next->run_as) != 0)
		log_warnx("reload: 'run_as' needs a restart; keeping '%s'",
		    old->run_as);
	if (strcmp(old->pidfile, next->pidfile) != 0)
		log_warnx("reload: 'pidfile' needs a restart; keeping '%s'",
		    old->pidfile);
	if (strcmp(old->submit_socket, next->submit_socket) != 0 ||
	    strcmp(old->submit_group, next->submit_group) != 0)
		log_warnx("reload: 'submit_socket' and 'submit_group' need a "
			  "restart; keeping '%s'",
		    old->submit_socket);
	memcpy(next->submit_socket, old->submit_socket,
	    sizeof(next->submit_socket));
	memcpy(
	    next->submit_group, old->submit_group, sizeof(next->submit_group));
	memcpy(next->spool, old->spool, sizeof(next->spool));
	memcpy(next->run_as, old->run_as, sizeof(next->run_as));
	memcpy(next->pidfile, old->pidfile, sizeof(next->pidfile));
}

static void
master_reload(struct master *m)
{
	struct config next;
	struct config_error ce;
	struct recipients *rcpts = NULL;
	struct ssl_ctx_st *tls = NULL;
	struct authtab *auth = NULL;
	struct authsenders *senders = NULL;
	struct authfile *sauth = NULL;
	char why[512];
	unsigned window;

	got_hup = 0;
	/*
	 * A spool another user could change (relayd.8, SIGHUP): close the
	 * listeners, so clients are refused and retry elsewhere or later,
	 * until a reload finds it fixed; the runner keeps delivering what
	 * it can trust (it sets foreign files aside).
	 */
	if (master_spool_recheck(m, why, sizeof(why)) < 0) {
		log_warnx("reload: %s; not accepting connections until a "
			  "reload finds the spool fixed",
		    why);
		listen_close_all(&m->ls);
		setproctitle("not accepting connections: unsafe spool");
		return;
	}
	/* Fixed: the old listeners first, whatever the new file says. */
	if (m->ls.n == 0) {
		if (listen_update(&m->ls, &m->cfg, why, sizeof(why)) < 0) {
			log_warnx(
			    "reload: the spool is safe again, but %s", why);
			return;
		}
		master_title(m);
		log_info("reload: the spool is safe again; accepting "
			 "connections");
	}
	config_defaults(&next);
	memset(&ce, 0, sizeof(ce));
	if (config_load(m->rootfd, m->cfgpath, &next, &ce) < 0) {
		config_error_format(&ce, why, sizeof(why));
		log_warnx(
		    "reload failed: %s; keeping the old configuration", why);
		return;
	}
	keep_startup_keys(&m->cfg, &next);
	if (recipients_load(m->rootfd, next.relay_recipients, &rcpts, &ce) <
		0 ||
	    authtab_load(m->rootfd, next.auth_users, &auth, &ce) < 0 ||
	    authsenders_load(m->rootfd, next.auth_senders, &senders, &ce) < 0) {
		config_error_format(&ce, why, sizeof(why));
		log_warnx(
		    "reload failed: %s; keeping the old configuration", why);
		recipients_free(rcpts);
		authtab_free(auth);
		return;
	}
	/* A bad new key or certificate keeps the old ones, and all else. */
	if (master_tls(m, &next, &tls, why, sizeof(why)) < 0 ||
	    master_sauth(m, &next, &sauth, why, sizeof(why)) < 0 ||
	    listen_update(&m->ls, &next, why, sizeof(why)) < 0) {
		log_warnx(
		    "reload failed: %s; keeping the old configuration", why);
		recipients_free(rcpts);
		authtab_free(auth);
		authsenders_free(senders);
		tls_ctx_free(tls);
		authfile_free(sauth);
		return;
	}
	authfile_free(m->sauth);
	m->sauth = sauth; /* the next queue runner gets it */
	window = m->cfg.auth_failure_window;
	m->cfg = next;
	master_report_reload(m, window);
	recipients_free(m->rcpts);
	m->rcpts = rcpts; /* sessions forked from now on see it */
	authtab_free(m->auth);
	m->auth = auth; /* likewise: children never open the file */
	authsenders_free(m->senders);
	m->senders = senders;
	tls_ctx_free(m->tls);
	m->tls = tls; /* running sessions keep their copy */
	master_pool_retire(m->pool); /* they hold the old configuration */
	master_title(m);
	log_info("configuration reloaded");
	/* It ends, leaving its workers be, and comes back with next. */
	if (m->runner > 0 && kill(m->runner, SIGHUP) == -1)
		log_warn("cannot signal the queue runner");
}

static nfds_t
master_pollfds(
    struct master *m, struct loop *lp, struct pollfd *pfd, int *timeout)
{
	struct timespec t = now();
	nfds_t i;
	long idle;

	*timeout = -1;
	if (m->runner == 0)
		*timeout = (int)ms_until(t, m->runner_at);
	/* Reports are read on every wake-up; idle children age out. */
	master_collect(m);
	if ((idle = master_pool_expire(m->pool, m->cfg.max_idle)) >= 0 &&
	    (*timeout == -1 || idle < *timeout))
		*timeout = (int)idle + 1;
	if (ms_until(t, lp->pause_until) > 0) {
		*timeout = (int)ms_until(t, lp->pause_until);
		return 0;
	}
	for (i = 0; i < m->ls.n; i++) {
		pfd[i].fd = m->ls.l[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	/* Last, and only while the TCP listeners are up (unsafe spool). */
	if (m->ls.n > 0 && m->submitfd != -1) {
		pfd[i].fd = m->submitfd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
		i++;
	}
	return i;
}

static int
master_wait(struct loop *lp, struct pollfd *pfd, nfds_t n, int timeout)
{
	struct timespec ts, *tsp = NULL;
	int rv;

	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000;
		tsp = &ts;
	}
	rv = ppoll(pfd, n, tsp, &lp->waitmask);
	if (rv == -1 && errno != EINTR) {
		log_warn("ppoll");
		return -1;
	}
	return rv;
}

/* TERM/INT: stop accepting, let sessions finish, then end them. */
static int
master_shutdown(struct master *m, struct loop *lp)
{
	struct timespec start = now(), t;
	long waited;
	int sent = 0;

	listen_close_all(&m->ls);
	master_submit_close(m, 1);
	if (m->pfh != NULL && pidfile_remove(m->pfh) == -1)
		log_warn("cannot remove pidfile '%s'", m->pidpath);
	m->pfh = NULL;
	if (m->runner > 0 && kill(m->runner, SIGTERM) == -1)
		log_warn("cannot stop the queue runner");
	master_pool_retire(m->pool);
	log_info("stopping: %zu sessions to finish",
	    master_table_count(m->children));
	for (;;) {
		master_reap(m);
		master_collect(m);
		if (master_table_count(m->children) == 0 && m->runner == 0)
			break;
		t = now();
		waited = ms_until(start, t);
		if (sent == 0 &&
		    (waited >= GRACE_SECONDS * 1000 || got_term > 1)) {
			(void)master_table_signal(m->children, SIGTERM);
			start = t;
			sent = 1;
			continue;
		}
		if (sent == 1 && waited >= KILL_SECONDS * 1000) {
			log_warnx("killing %zu sessions",
			    master_table_count(m->children));
			(void)master_table_signal(m->children, SIGKILL);
			if (m->runner > 0)
				(void)kill(m->runner, SIGKILL);
			sent = 2;
		}
		(void)master_wait(lp, NULL, 0, 200);
	}
	log_info("stopped");
	if (m->metricspath[0] != '\0')
		metrics_close(m->metricspath);
	master_rate_free(m->rate);
	m->rate = NULL;
	master_rate_free(m->authfail);
	m->authfail = NULL;
	master_rate_free(m->passed);
	m->passed = NULL;
	return 0;
}

/* Room for the listeners, the submit socket and every pooled child. */
static struct pollfd *
master_pfd(struct master *m, struct pollfd *pfd, size_t *cap)
{
	size_t want = CONFIG_LISTEN_MAX + 1 + master_pool_size(m->pool);
	struct pollfd *np;

	if (want <= *cap)
		return pfd;
	if ((np = reallocarray(pfd, want, sizeof(*np))) == NULL) {
		log_warnx("out of memory: pooled children's reports wait");
		return pfd;
	}
	*cap = want;
	return np;
}

int
master_run(struct master *m)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	struct loop lp;
	nfds_t i, n, nl;
	int timeout, k;

	memset(&lp, 0, sizeof(lp));
	if (master_signals(&lp) == -1) {
		log_warn("signals");
		return 1;
	}
	master_title(m);
	log_info("accepting connections (pid %ld)", (long)getpid());
	m->runner_at = now();
	while (!got_term) {
		if (got_chld)
			master_reap(m);
		if (got_hup)
			master_reload(m);
		master_runner(m);
		if ((pfd = master_pfd(m, pfd, &cap)) == NULL)
			break; /* first allocation failed: stop */
		n = nl = master_pollfds(m, &lp, pfd, &timeout);
		if (cap >= nl + master_pool_size(m->pool))
			n += master_pool_pollfds(m->pool, pfd + nl);
		if (master_wait(&lp, pfd, n, timeout) <= 0)
			continue;
		/* A pooled child's report: read at the top (master_pollfds). */
		for (i = 0; i < nl; i++) {
			if ((pfd[i].revents & (POLLIN | POLLERR)) == 0)
				continue;
			for (k = 0; k < ACCEPT_BURST; k++)
				if (i == m->ls.n
					? !master_accept(m, &lp, m->submitfd,
					      CONFIG_LISTEN_PLAIN)
					: !master_accept(m, &lp, m->ls.l[i].fd,
					      m->ls.l[i].addr.tls))
					break;
		}
	}
	free(pfd);
	return master_shutdown(m, &lp);
}
