/*
 * relayd server: who submitted a local message (submit_socket), found in
 * the smtp child before the privilege drop.
 */
#ifndef RELAYD_SERVER_SUBMIT_H
#define RELAYD_SERVER_SUBMIT_H

#include <stddef.h>

#include "master.h"
#include "session.h"

/*
 * fd is a connection on the submit_socket: its peer's uid from
 * SO_PEERCRED (the kernel's word, not the client's), the login from
 * ROOT/etc/passwd under m->rootfd, the user's own address and sender
 * policy into sub.  Reads nothing from fd.  0, or -errno with a
 * reason in why (the caller fails closed: 421).
 */
int server_submit_peer(const struct master *m, int fd,
    struct session_submit *sub, char *why, size_t len);

#endif
