/*
 * Routing: which hosts to try for a recipient domain (transport map, then
 * smarthost, then MX per RFC 5321 5.1 with RFC 7505 null MX).  DNS
 * answers are untrusted: names and counts are capped, a null MX or an MX
 * pointing back at us is refused, nothing is followed beyond one level of
 * MX -> A/AAAA.  Synchronous; c-ares with a total timeout.
 */
#ifndef RELAYD_ROUTE_H
#define RELAYD_ROUTE_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "route_table.h"

struct config;

#define ROUTE_HOPS_MAX 32 /* addresses kept, in the order to try */
#define ROUTE_MX_MAX 32 /* MX records considered */
#define ROUTE_DNS_TIMEOUT 30 /* seconds for one route_resolve, total */

enum route_source {
	ROUTE_NONE = 0, /* error before a source was chosen */
	ROUTE_TRANSPORT, /* transport map entry */
	ROUTE_SMARTHOST, /* cfg->smarthost */
	ROUTE_MX, /* MX (or implicit MX) of the domain */
	ROUTE_LITERAL /* the domain was an address literal "[1.2.3.4]" */
};

/* One address to connect to; port is inside addr. */
struct route_hop {
	char host[ROUTE_HOST_MAX + 1]; /* name for logs/HELO checks */
	struct sockaddr_storage addr; /* AF_INET or AF_INET6, port set */
	socklen_t addrlen;
	int pref; /* MX preference; 0 for non-MX routes */
};

struct route {
	struct route_hop hop[ROUTE_HOPS_MAX]; /* try in this order */
	size_t nhop; /* >= 1 when error == 0 */
	int error; /* 0 ok, 4 temporary, 5 permanent */
	char status[16]; /* enhanced status when error: "5.1.10", "4.4.3" */
	char text[256]; /* "Domain example.com does not accept mail ..." */
	/*
	 * What routing chose, one key per destination (for grouping and
	 * logs): the transport/smarthost next hop as written
	 * ("[10.0.0.1]:2525", "relay.example.net") or the domain for MX
	 * routing ("example.com").
	 */
	char nexthop[ROUTE_NEXTHOP_MAX + 1];
	enum route_source source;
	int tls; /* the transport map's tls= for the domain, -1: none */
};

/*
 * Route mail for domain (lower case, no trailing dot; an address literal
 * "[1.2.3.4]" / "[IPv6:...]" routes to that address).  Order: transport
 * map t (may be NULL), then cfg->smarthost, then MX of the domain via
 * cfg->resolver ("ADDR" or "ADDR:PORT"; "" = /etc/resolv.conf).
 * Always fills *out.  DNS outcomes are route errors, not return values:
 * null MX -> 5 "5.1.10"; MX loops back to us -> 5 "5.4.6"; NXDOMAIN ->
 * 5 "5.1.2"; no address for any MX host -> 5 "5.4.4" (4 "4.4.3" if a
 * lookup failed temporarily); SERVFAIL, timeout ->
 * 4 "4.4.3"; MX records but no usable host -> 5 "5.4.4"; a transport or
 * smarthost host without address -> 4 "4.4.3" (the admin can fix it).
 * Returns 0, or -errno for a local failure (c-ares init, ENOMEM; EINVAL
 * for a bad domain (error 5, "5.1.2") or a bad next hop in the transport
 * map/smarthost (error 4, "4.3.5")), with out->error and text saying why.
 */
int route_resolve(const struct config *cfg, const struct route_table *t,
    const char *domain, struct route *out);

/* ---- pure parts, exposed for tests ---- */

struct route_mx {
	int pref; /* 0..65535 */
	char host[ROUTE_HOST_MAX + 1]; /* "" for the null MX "." */
};

/*
 * Sort mx[0..n) by preference, ascending, shuffling records of equal
 * preference (RFC 5321 5.1) with rnd(arg) as the random source (uniform
 * 32-bit values; NULL rnd uses arc4random).
 */
void route_mx_sort(
    struct route_mx *mx, size_t n, uint32_t (*rnd)(void *), void *arg);

/* 1 if mx[0..n) is a null MX (RFC 7505: exactly one record, host "."). */
int route_mx_null(const struct route_mx *mx, size_t n);

/*
 * Drop hops that are us or worse: if some hop[i] is self (its host equals
 * myname, case-insensitive, or self_addr(hop[i]) says its address is ours),
 * keep only the hops with a preference strictly lower than the lowest
 * such hop's (RFC 5321 5.1).  hop[] must be sorted by preference.
 * Returns the new count (0 = the mail loops back to us), or n if no hop
 * is self.
 */
size_t route_hops_drop_self(struct route_hop *hop, size_t n, const char *myname,
    int (*self_addr)(const struct sockaddr_storage *, void *), void *arg);

/*
 * 1 if addr is one of cfg->listen addresses, port included (a relayd on
 * 127.0.0.1:10025 next to another MTA on port 25 is not a loop); a
 * wildcard listen address (0.0.0.0, ::) matches loopback and every
 * address of a local interface (getifaddrs).  IPv4-mapped IPv6 compares
 * as IPv4.
 */
int route_addr_is_self(
    const struct sockaddr_storage *addr, const struct config *cfg);

/* "host[ip]:port" for logs into buf; truncated output is still useful. */
void route_hop_format(const struct route_hop *hop, char *buf, size_t len);

#endif /* RELAYD_ROUTE_H */
