/*
 * relay_from as a whole: the networks a relay trusts must not add up to
 * the Internet. 0.0.0.0/0 is refused item by item; this catches the same
 * open relay written as halves, quarters or many large blocks.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_value.h"

/* Space no Internet client connects from (RFC 6890 and multicast). */
static const struct {
	uint32_t net;
	int prefix;
} v4_special[] = {
	{ 0x00000000, 8 }, /* this network */
	{ 0x0a000000, 8 }, /* private */
	{ 0x64400000, 10 }, /* shared address space */
	{ 0x7f000000, 8 }, /* loopback */
	{ 0xa9fe0000, 16 }, /* link local */
	{ 0xac100000, 12 }, /* private */
	{ 0xc0000000, 24 }, /* IETF protocol assignments */
	{ 0xc0000200, 24 }, /* documentation */
	{ 0xc0a80000, 16 }, /* private */
	{ 0xc6120000, 15 }, /* benchmarking */
	{ 0xc6336400, 24 }, /* documentation */
	{ 0xcb007100, 24 }, /* documentation */
	{ 0xe0000000, 3 }, /* multicast and reserved, 224/3 */
};

struct range {
	uint64_t lo, hi; /* inclusive */
};

static int
range_cmp(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static uint64_t
overlap(uint64_t lo, uint64_t hi, uint64_t slo, uint64_t shi)
{
	uint64_t a = lo > slo ? lo : slo, b = hi < shi ? hi : shi;

	return a > b ? 0 : b - a + 1;
}

/* Public IPv4 addresses in [lo, hi]. */
static uint64_t
public_count(uint64_t lo, uint64_t hi)
{
	uint64_t n = hi - lo + 1, slo;
	size_t i;

	for (i = 0; i < sizeof(v4_special) / sizeof(v4_special[0]); i++) {
		slo = v4_special[i].net;
		n -= overlap(lo, hi, slo,
		    slo + (1ULL << (32 - v4_special[i].prefix)) - 1);
	}
	return n;
}

uint64_t
config_nets_public_v4(const struct config *c)
{
	struct range r[CONFIG_NET_MAX];
	const struct sockaddr_in *sin;
	uint64_t total = 0, lo, hi;
	size_t i, n = 0;

	for (i = 0; i < c->nrelay_from; i++) {
		if (c->relay_from[i].addr.ss_family != AF_INET)
			continue;
		sin = (const struct sockaddr_in *)&c->relay_from[i].addr;
		r[n].lo = ntohl(sin->sin_addr.s_addr);
		r[n].hi =
		    r[n].lo + (1ULL << (32 - c->relay_from[i].prefix)) - 1;
		n++;
	}
	if (n == 0)
		return 0;
	qsort(r, n, sizeof(r[0]), range_cmp);
	lo = r[0].lo;
	hi = r[0].hi;
	for (i = 1; i <= n; i++) {
		if (i < n && r[i].lo <= hi + 1) {
			if (r[i].hi > hi)
				hi = r[i].hi;
			continue;
		}
		total += public_count(lo, hi);
		if (i < n) {
			lo = r[i].lo;
			hi = r[i].hi;
		}
	}
	return total;
}

int
config_nets_check(const struct config *c, char *why, size_t len)
{
	const struct sockaddr_in6 *s6;
	uint64_t pub;
	size_t i;

	pub = config_nets_public_v4(c);
	if (pub > CONFIG_NET_PUBLIC_V4_MAX) {
		(void)snprintf(why, len,
		    "the networks cover %llu public IPv4 addresses (more "
		    "than a /8): an open relay",
		    (unsigned long long)pub);
		return -EPERM;
	}
	for (i = 0; i < c->nrelay_from; i++) {
		if (c->relay_from[i].addr.ss_family != AF_INET6 ||
		    c->relay_from[i].prefix >= CONFIG_NET_V6_PREFIX_MIN)
			continue;
		s6 = (const struct sockaddr_in6 *)&c->relay_from[i].addr;
		/* Global unicast is 2000::/3; ULA and link-local are not. */
		if ((s6->sin6_addr.s6_addr[0] & 0xe0) == 0x20 ||
		    c->relay_from[i].prefix < 3) {
			(void)snprintf(why, len,
			    "an IPv6 network shorter than /%d covers a large "
			    "share of global unicast space: an open relay",
			    CONFIG_NET_V6_PREFIX_MIN);
			return -EPERM;
		}
	}
	return 0;
}
