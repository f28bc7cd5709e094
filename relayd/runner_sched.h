/*
 * The queue runner's schedule: which message is due when, by which next
 * hop, and which delivery jobs to start within the worker limits.  Pure
 * bookkeeping (no I/O, no clock), so it is unit-tested on its own.
 */
#ifndef RELAYD_RUNNER_SCHED_H
#define RELAYD_RUNNER_SCHED_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "queue.h"

#define RUNNER_WORKERS_MAX CONFIG_WORKERS_MAX /* delivery workers at once */
#define RUNNER_BATCH_MAX 20 /* messages one worker sends in turn */
#define RUNNER_HOPS_MAX 64 /* next hops tracked per message per round */

struct runner_limits {
	size_t workers; /* total */
	size_t per_dest; /* per next-hop key */
	size_t batch; /* messages per job */
};

/* One delivery job: messages for one next hop, given to one worker. */
struct runner_job {
	char *hop; /* next-hop key (route_table / smarthost / domain) */
	char (*id)[QUEUE_ID_MAX + 1];
	/* 1: the first job of the message's round (bump attempts) */
	unsigned char *first;
	size_t n;
	pid_t pid; /* set by the runner after fork */
};

struct runner_sched;

/*
 * Retry delay after the attempts-th failed attempt (attempts >= 1):
 * retry_min doubled each time, at most retry_max (and at least 1 s).
 */
unsigned runner_backoff(
    unsigned retry_min, unsigned retry_max, unsigned attempts);

/* 1 if a message that arrived at arrival is past queue_lifetime at now. */
int runner_expired(int64_t arrival, unsigned lifetime, int64_t now);

struct runner_sched *runner_sched_new(const struct runner_limits *lim);
void runner_sched_free(struct runner_sched *s);

/*
 * Add or update message id: its file says next_try, and its pending
 * recipients go to hops[0..nhop) (distinct keys; at most
 * RUNNER_HOPS_MAX are kept).  Within a round (some hop tried, another
 * not yet) the message stays due now; once every hop was tried the round
 * ends and it is due at next_try, or at now + guard if next_try is not
 * later than now (the worker recorded nothing: it crashed or found the
 * message locked).  nhop 0 removes the message.  Returns 0 or -ENOMEM.
 */
int runner_sched_set(struct runner_sched *s, const char *id, int64_t next_try,
    const char *const *hops, size_t nhop, int64_t now, unsigned guard);

void runner_sched_remove(struct runner_sched *s, const char *id);

/* relayctl queue flush: every message due now, rounds restarted. */
void runner_sched_flush(struct runner_sched *s);

/*
 * Start jobs for messages due at now: oldest due first (ties by id), each
 * to the first hop not yet tried in its round, batched per hop, within
 * the limits counting running jobs.  Up to max new jobs go to out[]
 * (owned by s; their messages are busy until runner_sched_done).
 * Returns the number of new jobs.
 */
size_t runner_sched_next(
    struct runner_sched *s, int64_t now, struct runner_job **out, size_t max);

/* The running job whose worker is pid, or NULL. */
struct runner_job *runner_sched_job(struct runner_sched *s, pid_t pid);

/*
 * The job's worker is gone: its messages are no longer busy and its hop
 * counts as tried for each.  The caller then re-reads each message and
 * calls runner_sched_set() or _remove(), then runner_sched_job_free().
 */
void runner_sched_done(struct runner_sched *s, struct runner_job *job);
void runner_sched_job_free(struct runner_sched *s, struct runner_job *job);

size_t runner_sched_running(const struct runner_sched *s);
/* Running job i, 0 <= i < runner_sched_running(s). */
struct runner_job *runner_sched_job_at(struct runner_sched *s, size_t i);
size_t runner_sched_count(const struct runner_sched *s);

/* Earliest time a message not busy is due; INT64_MAX if none. */
int64_t runner_sched_wakeup(const struct runner_sched *s);

#endif /* RELAYD_RUNNER_SCHED_H */
