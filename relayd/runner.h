/*
 * The queue runner: one process forked by the master, dropped to the
 * relay user like the smtp children (no chroot: delivery needs DNS).  It
 * watches SPOOL/queue with inotify, keeps the schedule of deferred
 * messages (runner_sched.h) and forks delivery workers (deliver.h).
 * Signals: SIGUSR1 retries everything now (relayctl queue flush, through
 * the master); SIGHUP ends the runner but lets its workers finish (the
 * master starts a new one with the reloaded configuration); SIGTERM ends
 * it and its workers.
 */
#ifndef RELAYD_RUNNER_H
#define RELAYD_RUNNER_H

#include <sys/types.h>

#include "master.h"

#define RUNNER_RESCAN 300 /* seconds between full scans of queue/ */
#define RUNNER_RESTART_MS 1000 /* the master's back-off after a death */

/* Fork the runner for m (the master); its pid, or -1 (logged). */
pid_t runner_spawn(struct master *m);

#endif /* RELAYD_RUNNER_H */
