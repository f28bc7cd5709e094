/*
 * relayd master: the table of live smtp children, with their client, so
 * the master can enforce max_children and max_per_ip, and the table of
 * recent connections per client for max_conn_rate.
 */
#ifndef RELAYD_MASTER_TABLE_H
#define RELAYD_MASTER_TABLE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A client as the per-client limits see it: an IPv4 address (also when
 * IPv4-mapped), or the /64 network of an IPv6 address, which is what one
 * site gets (RFC 6177) and an attacker can fill with addresses at will.
 * Equal clients have equal bytes.
 */
struct master_client {
	unsigned char b[9]; /* 4 + address, 6 + first 8 octets, 0 unknown */
};

void master_client_of(
    const struct sockaddr_storage *ss, struct master_client *c);
/* "192.0.2.7", "2001:db8::/64" or "unknown", for the log. */
void master_client_format(const struct master_client *c, char *buf, size_t len);

struct master_table;

struct master_table *master_table_new(void);
void master_table_free(struct master_table *t);
/* 0, or -ENOMEM (the caller then must not keep the child unaccounted). */
int master_table_add(
    struct master_table *t, pid_t pid, const struct sockaddr_storage *peer);
/* 1 if pid was ours and is now forgotten (its client in *c if c is not
 * NULL), 0 if unknown. */
int master_table_remove(
    struct master_table *t, pid_t pid, struct master_client *c);
size_t master_table_count(const struct master_table *t);
/* Children of the same client as peer (master_client_of). */
size_t master_table_count_peer(
    const struct master_table *t, const struct sockaddr_storage *peer);
/* kill(pid, sig) for every child; returns how many were signalled. */
size_t master_table_signal(const struct master_table *t, int sig);

/*
 * Events per client in fixed windows (Postfix's anvil): connections in
 * one-minute windows for max_conn_rate, failed AUTH exchanges in windows
 * of auth_failure_window.  A client's window starts with its first event
 * after the last one ended.  It holds MASTER_RATE_CLIENTS clients; when
 * full, a client whose window has ended, else the one whose window began
 * first, is forgotten.
 */
#define MASTER_RATE_CLIENTS 4096
#define MASTER_RATE_WINDOW 60 /* seconds, for max_conn_rate */

struct master_rate;

/* window: seconds, at least 1. */
struct master_rate *master_rate_new(unsigned window);
void master_rate_free(struct master_rate *r);
/* Count n events from c at now (seconds, monotonic); returns the events
 * from c in its current window, these included. */
size_t master_rate_add(struct master_rate *r, const struct master_client *c,
    int64_t now, size_t n);
/* The events from c in its current window, 0 if none. */
size_t master_rate_get(
    const struct master_rate *r, const struct master_client *c, int64_t now);

#endif
