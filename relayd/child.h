/*
 * relayd smtp child: what runs in the process forked for one connection,
 * from the fork to the privilege drop to the SMTP session.
 */
#ifndef RELAYD_CHILD_H
#define RELAYD_CHILD_H

#include <sys/types.h>
#include <sys/socket.h>

#include "master.h"

/*
 * In the freshly forked child of m: shed the master's fds and signal
 * handling, drop privileges for good (421 4.3.0 and exit 1 if that
 * fails), then run the session on fd. Never returns.
 */
void child_run(struct master *m, int fd, const struct sockaddr_storage *peer,
    socklen_t peerlen) __attribute__((noreturn));

/* Numeric address of ss (no port) into buf; "unknown" if it has none. */
void child_addr(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
