/*
 * Synchronous DNS for routing (internal to route.c): MX records and the
 * addresses of several hosts at once, over c-ares with a poll loop and
 * one absolute deadline.  Answers are untrusted: counts are capped and
 * host names that are not plain DNS names are dropped.
 */
#ifndef RELAYD_ROUTE_DNS_H
#define RELAYD_ROUTE_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "route.h"

#define ROUTE_DNS_OK 0
#define ROUTE_DNS_NODATA 1 /* the name exists, no record of that type */
#define ROUTE_DNS_NXDOMAIN 2 /* the name does not exist */
#define ROUTE_DNS_TEMP 3 /* SERVFAIL, timeout, refused... */

struct route_dns; /* opaque: one c-ares channel */

/* One host's addresses (port set), in the order the answers gave them. */
struct route_dns_host {
	const char *name; /* in: host name or IP literal */
	int result; /* out: ROUTE_DNS_* */
	char why[80]; /* out: reason for TEMP */
	struct sockaddr_storage addr[ROUTE_HOPS_MAX];
	socklen_t addrlen[ROUTE_HOPS_MAX];
	size_t naddr;
};

/*
 * A channel using resolver ("ADDR", "ADDR:PORT", "[V6]:PORT"; "" =
 * resolv.conf).  files: also look host names up in /etc/hosts (for
 * admin-given next hops; never for MX hosts).  Returns 0 or -errno.
 */
int route_dns_open(const char *resolver, int files, struct route_dns **out);
void route_dns_close(struct route_dns *d);

/*
 * MX records of name into mx[0..*n) (at most max; a null MX "." is kept
 * with host "", names that are not plain DNS names are dropped).  Returns
 * a ROUTE_DNS_* value; why gets the reason for ROUTE_DNS_TEMP.
 */
int route_dns_mx(struct route_dns *d, const char *name, struct route_mx *mx,
    size_t max, size_t *n, int64_t deadline, char *why, size_t whylen);

/* A/AAAA of h[0..n) in parallel, each with port; fills their results. */
void route_dns_addrs(struct route_dns *d, struct route_dns_host *h, size_t n,
    unsigned short port, int64_t deadline);

/* CLOCK_MONOTONIC milliseconds, for deadlines. */
int64_t route_dns_now(void);

#endif /* RELAYD_ROUTE_DNS_H */
