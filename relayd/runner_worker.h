/*
 * Delivery workers that live across jobs (doc/design.md, "Delivery
 * workers").  The queue runner hands a worker one job at a time over a
 * SOCK_SEQPACKET pair private to it; the worker keeps its connection to
 * the job's next hop open between jobs and reports one int when a job's
 * results are all recorded.  The runner lets an idle worker go by
 * closing its end (the worker sees EOF, says QUIT and exits).  This file
 * is the wire format (both sides) and the runner's table of workers (no
 * fork, no signals: runner.c does those).
 */
#ifndef RELAYD_RUNNER_WORKER_H
#define RELAYD_RUNNER_WORKER_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "route_table.h"
#include "runner_sched.h"

#define RUNNER_IDLE_MS 2000 /* an idle worker keeps its connection so long */
#define RUNNER_REUSE_MS 300000 /* then no new job after so long */

/* One job on the wire: what struct runner_job says, in fixed fields. */
struct runner_jobmsg {
	char hop[ROUTE_HOPKEY_MAX + 1];
	uint32_t n;
	char id[RUNNER_BATCH_MAX][QUEUE_ID_MAX + 1];
	unsigned char first[RUNNER_BATCH_MAX];
};

/* Send job on fd (never blocks for long: one datagram).  0 or -errno. */
int runner_job_send(int fd, const struct runner_job *job);

/*
 * Wait for and read one job from fd into m, and point job's fields into
 * it (job->pid 0).  1 with a job; 0 at EOF (the runner let the worker
 * go); -EBADMSG for anything but one well-formed job (a hop that is not
 * a string, n out of 1..RUNNER_BATCH_MAX, an id that is not a queue id);
 * other -errno (-EINTR: a signal came first).
 */
int runner_job_recv(int fd, struct runner_jobmsg *m, struct runner_job *job);

/* A worker as the runner sees it. */
struct runner_worker {
	pid_t pid;
	int fd; /* the runner's end; -1 once told to go (until reaped) */
	char hop[ROUTE_HOPKEY_MAX + 1]; /* where its connection goes */
	struct runner_job *job; /* the job in hand, NULL: idle */
	int64_t born, idle_since; /* ms (monotonic) */
};

struct runner_workers {
	struct runner_worker *w;
	size_t n, cap;
};

/* A new worker entry (busy with nothing yet); NULL without memory. */
struct runner_worker *runner_workers_add(
    struct runner_workers *t, pid_t pid, int fd, const char *hop, int64_t now);

/* The entry of pid, or NULL. */
struct runner_worker *runner_workers_pid(struct runner_workers *t, pid_t pid);

/* The worker whose runner's end is fd (not one told to go), or NULL. */
struct runner_worker *runner_workers_fd(struct runner_workers *t, int fd);

/* Forget entry w (its process was reaped); its fd is closed. */
void runner_workers_remove(struct runner_workers *t, struct runner_worker *w);

/* The idle worker for hop that was used last (its connection is warm). */
struct runner_worker *runner_workers_idle(
    struct runner_workers *t, const char *hop);

/* Workers not yet told to go. */
size_t runner_workers_live(const struct runner_workers *t);

/* Tell w to go: close the runner's end. */
void runner_workers_release(struct runner_worker *w);

/* Tell the idle worker idle longest to go; 0, or -1 if none is idle. */
int runner_workers_release_oldest(struct runner_workers *t);

/*
 * Let go every idle worker idle for RUNNER_IDLE_MS or alive for
 * RUNNER_REUSE_MS.  Returns the ms until the next one is due (-1: none).
 */
int runner_workers_expire(struct runner_workers *t, int64_t now);

/*
 * A report from w (its fd is readable): 1 if its job is done (w idle
 * now, the job returned in *done for the caller to finish), 0 if it went
 * (EOF: fd closed, reaping follows), -1 if it said something it must not
 * (not one int, or while idle): fd closed, the caller kills it; 2 if
 * there was nothing to read after all.
 */
int runner_workers_report(
    struct runner_worker *w, int64_t now, struct runner_job **done);

/* Close every runner's end: in a new worker, which must hold none. */
void runner_workers_close_all(struct runner_workers *t);

void runner_workers_free(struct runner_workers *t);

#endif /* RELAYD_RUNNER_WORKER_H */
