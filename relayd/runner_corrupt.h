/*
 * The queue runner's corrupt/ queue: a queue file that is not the relay's
 * own or not well-formed is moved aside, logged once, never delivered.
 */
#ifndef RELAYD_RUNNER_CORRUPT_H
#define RELAYD_RUNNER_CORRUPT_H

#include <stddef.h>

#include "queue.h"

#define RUNNER_STUCK_MAX 32 /* files remembered as logged */

struct runner_corrupt {
	/* Files that could not be set aside, so each is logged once. */
	char stuck[RUNNER_STUCK_MAX][QUEUE_ID_MAX + 1];
	size_t nstuck;
};

/*
 * Move qfd/id (queue_read() refused it with why) to SPOOL/corrupt/ by
 * single names inside directory fds, never over an existing entry
 * (ID.N instead), making corrupt/ as the relay user if it is missing,
 * and log it; spooldir names the spool in that line.
 */
void runner_corrupt_set_aside(struct runner_corrupt *c, int spoolfd, int qfd,
    const char *spooldir, const char *id, int why);

#endif
