/*
 * Routing (route.h): transport map, then smarthost, then MX; the pure
 * parts (MX sort with equal-preference shuffle, null MX, dropping hops
 * that are us) are separate so tests can drive them without DNS.  DNS
 * answers are untrusted: see route_dns.c for the caps.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "route.h"
#include "route_dns.h"

static uint32_t
route_arc4(void *arg)
{
	(void)arg;
	return arc4random();
}

void
route_mx_sort(struct route_mx *mx, size_t n, uint32_t (*rnd)(void *), void *arg)
{
	struct route_mx t;
	size_t i, j, k, run;

	if (rnd == NULL)
		rnd = route_arc4;
	for (i = 1; i < n; i++) { /* insertion sort: n <= ROUTE_MX_MAX */
		t = mx[i];
		for (j = i; j > 0 && mx[j - 1].pref > t.pref; j--)
			mx[j] = mx[j - 1];
		mx[j] = t;
	}
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && mx[j].pref == mx[i].pref; j++)
			;
		for (run = j - i; run > 1; run--) { /* Fisher-Yates */
			k = rnd(arg) % run;
			t = mx[i + run - 1];
			mx[i + run - 1] = mx[i + k];
			mx[i + k] = t;
		}
	}
}

int
route_mx_null(const struct route_mx *mx, size_t n)
{
	return n == 1 && mx[0].host[0] == '\0';
}

size_t
route_hops_drop_self(struct route_hop *hop, size_t n, const char *myname,
    int (*self_addr)(const struct sockaddr_storage *, void *), void *arg)
{
	size_t i;
	int pref;

	for (i = 0; i < n; i++) {
		if ((myname != NULL && myname[0] != '\0' &&
			strcasecmp(hop[i].host, myname) == 0) ||
		    (self_addr != NULL && self_addr(&hop[i].addr, arg)))
			break;
	}
	if (i == n)
		return n;
	/* Only hops strictly better than our own preference remain. */
	pref = hop[i].pref;
	while (i > 0 && hop[i - 1].pref >= pref)
		i--;
	return i;
}

/* IPv4-mapped IPv6 as IPv4; returns a pointer to a normalised copy. */
static const struct sockaddr_storage *
route_unmap(const struct sockaddr_storage *a, struct sockaddr_storage *buf)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)a;
	struct sockaddr_in *s4 = (struct sockaddr_in *)buf;

	if (a->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return a;
	memset(buf, 0, sizeof(*buf));
	s4->sin_family = AF_INET;
	s4->sin_port = s6->sin6_port;
	memcpy(&s4->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	return buf;
}

/* Same family and address; ports are not compared here. */
static int
route_addr_eq(
    const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
			   &((const struct sockaddr_in *)b)->sin_addr, 4) == 0;
	if (a->ss_family == AF_INET6)
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			   &((const struct sockaddr_in6 *)b)->sin6_addr,
			   16) == 0;
	return 0;
}

static in_port_t
route_port(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port;
	if (a->ss_family == AF_INET6)
		return ((const struct sockaddr_in6 *)a)->sin6_port;
	return 0;
}

static int
route_addr_wild(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    htonl(INADDR_ANY);
	if (a->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(
		    &((const struct sockaddr_in6 *)a)->sin6_addr);
	return 0;
}

/*
 * 0.0.0.0/8 ("this network") and "::": Linux connects them to the local
 * host, so an MX that names them leads back to us.
 */
static int
route_addr_this_host(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET)
		return (ntohl(
			    ((const struct sockaddr_in *)a)->sin_addr.s_addr) >>
			   24) == 0;
	return route_addr_wild(a);
}

/* Loopback, this host, or an address of one of our interfaces. */
static int
route_addr_local(const struct sockaddr_storage *a)
{
	struct ifaddrs *ifa = NULL, *i;
	struct sockaddr_storage ss;
	int found = 0;

	if (route_addr_this_host(a))
		return 1;
	if (a->ss_family == AF_INET &&
	    (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >> 24) ==
		127)
		return 1;
	if (a->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)a)->sin6_addr))
		return 1;
	if (getifaddrs(&ifa) != 0)
		return 0;
	for (i = ifa; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL ||
		    (i->ifa_addr->sa_family != AF_INET &&
			i->ifa_addr->sa_family != AF_INET6))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, i->ifa_addr,
		    i->ifa_addr->sa_family == AF_INET
			? sizeof(struct sockaddr_in)
			: sizeof(struct sockaddr_in6));
		found = route_addr_eq(&ss, a);
	}
	freeifaddrs(ifa);
	return found;
}

int
route_addr_is_self(
    const struct sockaddr_storage *addr, const struct config *cfg)
{
	struct sockaddr_storage b1, b2;
	const struct sockaddr_storage *a = route_unmap(addr, &b1), *l;
	size_t i;

	for (i = 0; i < cfg->nlisten; i++) {
		l = route_unmap(&cfg->listen[i].ss, &b2);
		if (route_port(l) != route_port(a))
			continue;
		if (route_addr_wild(l)) {
			/* "::" also takes IPv4 unless v6only: be generous. */
			if ((l->ss_family == a->ss_family ||
				l->ss_family == AF_INET6) &&
			    route_addr_local(a))
				return 1;
		} else if (route_addr_eq(l, a) ||
		    (route_addr_this_host(a) && route_addr_local(l)))
			return 1;
	}
	return 0;
}

void
route_hop_format(const struct route_hop *hop, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const void *src = NULL;

	if (hop->addr.ss_family == AF_INET)
		src = &((const struct sockaddr_in *)&hop->addr)->sin_addr;
	else if (hop->addr.ss_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)&hop->addr)->sin6_addr;
	if (src == NULL ||
	    inet_ntop(hop->addr.ss_family, src, ip, sizeof(ip)) == NULL)
		(void)strlcpy(ip, "?", sizeof(ip));
	/* A cut log label is still a useful one. */
	(void)snprintf(buf, len, "%s[%s]:%u", hop->host, ip,
	    (unsigned)ntohs(route_port(&hop->addr)));
}
