/*
 * relayd's pool of SMTP servers (max_use > 1): children that have already
 * dropped to the relay account and serve one connection after another,
 * each passed to them by the master over a private socket pair
 * (SCM_RIGHTS).  The master still accepts, counts and refuses; a pooled
 * child never sees a listener.  See doc/design.md, "Server pool".
 */
#ifndef RELAYD_MASTER_POOL_H
#define RELAYD_MASTER_POOL_H

#include <sys/types.h>
#include <sys/socket.h>
#include <time.h>

/* One connection, as the master passes it to a pooled child. */
struct pool_conn {
	struct sockaddr_storage peer;
	socklen_t peerlen;
	int listen_tls; /* CONFIG_LISTEN_* */
	unsigned auth_failures; /* master_report_prior() */
	int passed;
	int stress; /* stress_timeout for this session */
};

struct master_pool;

struct master_pool *master_pool_new(void);
/* Closes the master's end of every child's socket: they exit when idle. */
void master_pool_free(struct master_pool *p);

/*
 * Hand fd to an idle child: its pid, or 0 when none is idle (the caller
 * forks one).  The caller closes fd either way.
 */
pid_t master_pool_send(
    struct master_pool *p, int fd, const struct pool_conn *c);
/* A child just forked to serve its first connection on sock (busy). */
int master_pool_add(struct master_pool *p, pid_t pid, int sock);

/*
 * Read the reports of children that finished a session: for each, cb gets
 * its pid and the session's exit status (as from waitpid), then the child
 * waits for the next connection, or is let go after max_use sessions.
 */
void master_pool_collect(struct master_pool *p, unsigned max_use,
    void (*cb)(void *, pid_t, int), void *arg);
/* pid was reaped: forget it. */
void master_pool_gone(struct master_pool *p, pid_t pid);
/*
 * Let idle children go (they exit); busy ones go after their session.
 * For a reload (they hold the old configuration) and for a stop.
 */
void master_pool_retire(struct master_pool *p);
/* Let go of children idle for max_idle seconds; ms until the next one
 * is due (-1: none idle). */
long master_pool_expire(struct master_pool *p, unsigned max_idle);
size_t master_pool_size(const struct master_pool *p);
/* A POLLIN entry per child's socket (master_pool_size() of them): a
 * report wakes the master. */
struct pollfd;
size_t master_pool_pollfds(const struct master_pool *p, struct pollfd *pfd);

/*
 * In a pooled child: report the status of its session (once per session:
 * at QUIT, or when it ended otherwise); 0 or -1.  Then wait for the next
 * connection: its fd (close-on-exec) with *c filled, or -1 when the master
 * let this child go (or on any error).
 */
int pool_child_report(int sock, int status);
int pool_child_wait(int sock, struct pool_conn *c);

#endif
