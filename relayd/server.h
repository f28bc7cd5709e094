/*
 * relayd server: the SMTP child forked for a connection (title
 * "relayd: server ..."), from the fork to the privilege drop to the SMTP
 * session, and, pooled, to the sessions after it.
 */
#ifndef RELAYD_SERVER_H
#define RELAYD_SERVER_H

#include <sys/types.h>
#include <sys/socket.h>

#include "master.h"

struct pool_conn;

/*
 * In the freshly forked child of m: shed the master's fds and signal
 * handling, drop privileges for good (421 4.3.0 and exit 1 if that
 * fails), then run the session on fd.  c says who the client is (an
 * AF_UNIX peer: a local submission) and how: listen_tls is the listener's
 * CONFIG_LISTEN_*, TLS from the first octet for "/tls", STARTTLS required
 * for "/starttls".  sock -1: exit after that session; otherwise this
 * child is pooled (master_pool.h) and serves the connections the master
 * passes on sock until it is let go.  Never returns.
 */
void server_run(struct master *m, int fd, const struct pool_conn *c, int sock)
    __attribute__((noreturn));

#endif
