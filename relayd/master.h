/*
 * relayd master: the root process that owns the listeners, forks a
 * child per connection (or passes it to a pooled one) and the queue
 * runner, and never reads a byte from a client.
 */
#ifndef RELAYD_MASTER_H
#define RELAYD_MASTER_H

#include <sys/types.h>
#include <limits.h>
#include <signal.h>
#include <time.h>

#include "config.h"
#include "listen.h"

struct pidfh;
struct master_table;
struct master_pool;
struct recipients;
struct master_rate;
struct ssl_ctx_st;
struct authtab;
struct authsenders;
struct authfile;

/*
 * Short titles of the master's children are padded to this: libbsd marks
 * a title shorter than the original argv[0] with a '.' where argv[0]
 * ended ("relayd: queue runner    .").
 */
#define MASTER_TITLE_PAD 120

struct master {
	const char *root; /* "/" or --root DIR */
	int rootfd; /* O_PATH directory fd of root */
	char cfgpath[PATH_MAX]; /* -c FILE, taken under root */
	struct config cfg;
	struct recipients *rcpts; /* relay_recipients, read as root; NULL */
	struct ssl_ctx_st *tls; /* tls_cert and tls_key, read as root; NULL */
	struct authtab *auth; /* auth_users, read as root; NULL: no AUTH */
	struct authsenders *senders; /* auth_senders, as root; NULL: any */
	struct authfile *sauth; /* smarthost_auth, read as root; NULL */
	uid_t uid; /* run_as, from ROOT/etc/passwd */
	gid_t gid;
	int spoolfd; /* O_RDONLY|O_DIRECTORY, checked like ckdir() */
	char spooldir[PATH_MAX]; /* ROOT + cfg.spool, for chroot */
	char pidpath[PATH_MAX]; /* ROOT + cfg.pidfile */
	char metricspath[PATH_MAX]; /* its metrics file (metrics.h) */
	struct pidfh *pfh;
	struct listen_set ls;
	int submitfd; /* submit_socket, listening; -1 none */
	int submitdir; /* O_PATH fd of its directory; -1 none */
	ino_t submitino; /* its inode, so stop removes only ours */
	char submitpath[PATH_MAX]; /* ROOT + cfg.submit_socket */
	struct master_table *children;
	struct master_rate *rate; /* max_conn_rate, made when first needed */
	/* Failed AUTH per client (auth_failure_window); NULL until one. */
	struct master_rate *authfail;
	/* Clients that passed greet_pause or logged in; NULL until one. */
	struct master_rate *passed;
	struct master_pool *pool; /* max_use > 1: pooled servers */
	int stress; /* new sessions get stress_timeout */
	pid_t runner; /* the queue runner, 0 while there is none */
	struct timespec runner_at; /* (re)start it then (CLOCK_MONOTONIC) */
};

/*
 * The event loop: accept, fork, reap, reload on HUP, stop on TERM/INT.
 * Expects listeners bound, the pidfile written and capabilities dropped.
 * Returns the exit status (0 after a graceful stop).
 */
int master_run(struct master *m);

/*
 * In a process just forked from the master (a server or the runner):
 * close what is the master's alone, the listeners, the pidfile handle and
 * the child table, and let go of the terminal (stdin and stdout become
 * /dev/null, stderr too if it is a tty). rootfd and spoolfd stay for the
 * caller to close.
 */
void master_detach(struct master *m);

/*
 * What SMTP children report at exit, per client (master_report.c).
 * prior: for a new child of peer, its client's failed AUTH in the window
 * and whether it passed.  reaped: take in a child's exit status for its
 * client c.  reload: forget the AUTH counts when auth_failure_window
 * changed from old_window.
 */
#define MASTER_PASS_TTL 86400 /* seconds a pass is remembered */
struct master_client;
void master_report_prior(const struct master *m,
    const struct sockaddr_storage *peer, unsigned *auth_failures, int *passed);
void master_report_reaped(
    struct master *m, const struct master_client *c, int status);
void master_report_reload(struct master *m, unsigned old_window);

/*
 * In a child: the master's signal handlers back to SIG_DFL (the mask is
 * left alone); *set gets those signals. Returns 0 or -1 (errno set).
 */
int master_signals_default(sigset_t *set);

#endif
