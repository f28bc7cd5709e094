/*
 * A delivery worker: one process (the relay user, forked by the queue
 * runner) that sends a batch of messages to one next hop over one SMTP
 * connection and records every recipient's result in the queue file
 * before it moves on.
 */
#ifndef RELAYD_DELIVER_H
#define RELAYD_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"
#include "route_table.h"
#include "runner_sched.h"

struct config;
struct authfile;
struct ssl_ctx_st;

struct deliver_env {
	const struct config *cfg;
	const struct route_table *table; /* transport map, may be NULL */
	int spoolfd;
	int qfd; /* SPOOL/queue, checked by the runner */
	const char *spooldir; /* the spool's name, for log lines */
	struct ssl_ctx_st *tls; /* client context (smtpc_tls_ctx); NULL */
	const struct authfile *auth; /* smarthost_auth, read by the master */
};

/*
 * The next-hop key of a recipient path, without DNS: the transport map's
 * next hop for its domain, else cfg->smarthost, else the domain (MX),
 * followed by " tls=POLICY" when the map sets one for the domain (mail
 * under another policy goes in another connection).  "" for a path
 * without a domain (<postmaster>).  Returns 0 or -EINVAL.
 */
int deliver_hopkey(const struct config *cfg, const struct route_table *t,
    const char *path, char *key, size_t len);

/*
 * The distinct hop keys of qf's pending recipients into keys[0..*n)
 * (malloc'ed strings; free with deliver_keys_free).  Returns 0 or -errno.
 */
int deliver_pending_keys(const struct config *cfg, const struct route_table *t,
    const struct queue_file *qf, char ***keys, size_t *n);
void deliver_keys_free(char **keys, size_t n);

/*
 * A worker's life: take jobs (their hop, their messages) from the runner
 * on fd (runner_worker.h), one at a time, and report each with one int
 * once its results are recorded; keep the connection to the hop between
 * jobs.  Each message is locked (qupdate_lock; a busy one is skipped, a
 * malformed or oversized one set aside in SPOOL/corrupt/ as the runner
 * does with a bad envelope),
 * sent, and its new recipient states written (qupdate_write) or the file
 * removed once no recipient is pending; failed recipients get a DSN
 * (dsn_build + queue_enqueue) before the state that says so is written.
 * Returns the worker's exit status, at EOF on fd or after SIGTERM.
 */
int deliver_serve(const struct deliver_env *env, int fd);

/*
 * In a fresh worker: SIGTERM (from the runner, or its death) makes
 * deliver_serve() finish the message in hand, reply included, report
 * and return before the next one, so a stop or reload does not resend it. Returns 0
 * or -1 (errno set).
 */
int deliver_signals(void);

#endif /* RELAYD_DELIVER_H */
