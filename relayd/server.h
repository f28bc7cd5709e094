/*
 * relayd server: the SMTP child forked for one connection (title
 * "relayd: server ..."), from the fork to the privilege drop to the SMTP
 * session.
 */
#ifndef RELAYD_SERVER_H
#define RELAYD_SERVER_H

#include <sys/types.h>
#include <sys/socket.h>

#include "master.h"

/*
 * In the freshly forked child of m: shed the master's fds and signal
 * handling, drop privileges for good (421 4.3.0 and exit 1 if that
 * fails), then run the session on fd. listen_tls is the listener's
 * CONFIG_LISTEN_*: TLS from the first octet for "/tls", STARTTLS required
 * for "/starttls". Never returns.
 */
void server_run(struct master *m, int fd, const struct sockaddr_storage *peer,
    socklen_t peerlen, int listen_tls) __attribute__((noreturn));

#endif
