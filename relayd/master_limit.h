/*
 * The limits relayd's master applies to a new connection before it hands
 * it on, from the address accept() gave (nothing is read from the
 * client): max_conn_rate, max_children, max_per_ip, and stress mode.
 */
#ifndef RELAYD_MASTER_LIMIT_H
#define RELAYD_MASTER_LIMIT_H

#include <sys/types.h>
#include <sys/socket.h>

#include "master.h"

/*
 * 0 to serve the client, else 1 with the text of the 421 in why.  As
 * Postfix's smtpd_client_event_limit_exceptions ($mynetworks), the
 * per-client limits do not hold for relay_from; max_children does.
 */
int master_over_limit(struct master *m, const struct sockaddr_storage *peer,
    char *why, size_t len);

/*
 * Postfix's stress mode: 1 if a session that starts now (80% of
 * max_children run) gets stress_timeout for every timeout, so idle and
 * slow clients make room sooner.  Logs when the state changes.
 */
int master_stressed(struct master *m);

#endif
