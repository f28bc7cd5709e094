/*
 * route_resolve(): transport map -> smarthost -> MX, down to the list of
 * addresses to try.  DNS answers are untrusted (route_dns.c caps them);
 * here they are only ordered, checked for the null MX and for routes
 * that lead back to us, and turned into permanent or temporary errors.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "route.h"
#include "route_dns.h"

struct route_ctx {
	const struct config *cfg;
	struct route *r;
	struct route_dns *dns;
	int64_t deadline;
};

static void route_set(struct route *r, int error, const char *status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
route_set(struct route *r, int error, const char *status, const char *fmt, ...)
{
	va_list ap;

	r->error = error;
	r->nhop = 0;
	(void)strlcpy(r->status, status, sizeof(r->status));
	va_start(ap, fmt);
	(void)vsnprintf(r->text, sizeof(r->text), fmt, ap); /* cut is ok */
	va_end(ap);
}

static int
route_self_cb(const struct sockaddr_storage *a, void *arg)
{
	return route_addr_is_self(a, arg);
}

/* A numeric address into ss with port; 0 or -1 if s is not one. */
static int
route_numeric(const char *s, unsigned short port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* Append h's addresses as hops of preference pref, up to the cap. */
static void
route_add(
    struct route *r, const char *host, int pref, const struct route_dns_host *h)
{
	struct route_hop *hop;
	size_t i;

	for (i = 0; i < h->naddr && r->nhop < ROUTE_HOPS_MAX; i++) {
		hop = &r->hop[r->nhop++];
		(void)strlcpy(hop->host, host, sizeof(hop->host)); /* fits */
		hop->addr = h->addr[i];
		hop->addrlen = h->addrlen[i];
		hop->pref = pref;
	}
}

/* Loop check on the final list; 0 if something is left to try. */
static int
route_unloop(struct route_ctx *x, const char *myname, const char *what)
{
	struct route *r = x->r;

	r->nhop = route_hops_drop_self(
	    r->hop, r->nhop, myname, route_self_cb, (void *)x->cfg);
	if (r->nhop > 0)
		return 0;
	route_set(r, 5, "5.4.6", "mail for %s loops back to myself", what);
	return -1;
}

/* "[host]": its addresses (or the literal itself), no MX. */
static void
route_direct(struct route_ctx *x, const char *host, unsigned short port)
{
	struct route_dns_host h;

	memset(&h, 0, sizeof(h));
	h.name = host;
	if (route_numeric(host, port, &h.addr[0], &h.addrlen[0]) == 0) {
		h.naddr = 1;
		h.result = ROUTE_DNS_OK;
	} else
		route_dns_addrs(x->dns, &h, 1, port, x->deadline);
	if (h.result != ROUTE_DNS_OK) {
		route_set(x->r, 4, "4.4.3", "cannot find the address of %s: %s",
		    host,
		    h.result == ROUTE_DNS_TEMP ? h.why : "host not found");
		return;
	}
	route_add(x->r, host, 0, &h);
	(void)route_unloop(x, NULL, host);
}

/* Null MX, unusable records, our own name: 0 if mx[0..*n) is usable. */
static int
route_mx_check(
    struct route_ctx *x, const char *name, struct route_mx *mx, size_t *n)
{
	size_t i, k = 0;
	int self = -1;

	if (route_mx_null(mx, *n)) {
		route_set(x->r, 5, "5.1.10",
		    "Domain %s does not accept mail (null MX)", name);
		return -1;
	}
	for (i = 0; i < *n; i++)
		if (mx[i].host[0] != '\0')
			mx[k++] = mx[i]; /* a "." among others is ignored */
	route_mx_sort(mx, k, NULL, NULL);
	for (i = 0; i < k; i++)
		if (strcasecmp(mx[i].host, x->cfg->hostname) == 0) {
			self = mx[i].pref;
			break;
		}
	for (i = 0; self >= 0 && i < k && mx[i].pref < self; i++)
		;
	if (self >= 0)
		k = i; /* only MX hosts better than us */
	*n = k;
	if (k == 0 && self >= 0)
		route_set(
		    x->r, 5, "5.4.6", "mail for %s loops back to myself", name);
	else if (k == 0)
		route_set(x->r, 5, "5.4.4", "no usable MX host for %s", name);
	return k > 0 ? 0 : -1;
}

static void
route_mx(struct route_ctx *x, const char *name, unsigned short port)
{
	struct route_mx mx[ROUTE_MX_MAX];
	struct route_dns_host h[ROUTE_MX_MAX];
	char why[80];
	size_t n = 0, i;
	int res, temp = 0;

	res = route_dns_mx(
	    x->dns, name, mx, ROUTE_MX_MAX, &n, x->deadline, why, sizeof(why));
	if (res == ROUTE_DNS_NXDOMAIN) {
		route_set(x->r, 5, "5.1.2",
		    "Host or domain name not found: %s (NXDOMAIN)", name);
		return;
	}
	if (res == ROUTE_DNS_TEMP) {
		route_set(
		    x->r, 4, "4.4.3", "MX lookup for %s failed: %s", name, why);
		return;
	}
	if (res == ROUTE_DNS_NODATA) { /* implicit MX (RFC 5321 5.1) */
		mx[0].pref = 0;
		(void)strlcpy(mx[0].host, name, sizeof(mx[0].host));
		n = 1;
	}
	if (route_mx_check(x, name, mx, &n) != 0)
		return;
	memset(h, 0, sizeof(h[0]) * n);
	for (i = 0; i < n; i++)
		h[i].name = mx[i].host;
	route_dns_addrs(x->dns, h, n, port, x->deadline);
	for (i = 0; i < n; i++) {
		route_add(x->r, mx[i].host, mx[i].pref, &h[i]);
		if (h[i].result == ROUTE_DNS_TEMP && !temp) {
			temp = 1;
			(void)strlcpy(why, h[i].why, sizeof(why));
		}
	}
	if (x->r->nhop == 0 && temp)
		route_set(x->r, 4, "4.4.3",
		    "cannot find the address of any MX host for %s: %s", name,
		    why);
	else if (x->r->nhop == 0)
		route_set(
		    x->r, 5, "5.4.4", "no address for any MX host of %s", name);
	else
		(void)route_unloop(x, x->cfg->hostname, name);
}

/* "[1.2.3.4]" or "[ipv6:...]" as a recipient domain. */
static int
route_literal(struct route_ctx *x, const char *d)
{
	struct route_dns_host h;
	char ip[ROUTE_HOST_MAX + 1];
	const char *s = d + 1;
	int family = AF_INET;
	size_t n;

	memset(&h, 0, sizeof(h));
	if (strncmp(s, "ipv6:", 5) == 0) {
		s += 5;
		family = AF_INET6;
	}
	n = strlcpy(ip, s, sizeof(ip));
	if (n < 2 || n >= sizeof(ip) || ip[n - 1] != ']')
		goto bad;
	ip[n - 1] = '\0';
	if (route_numeric(ip, 25, &h.addr[0], &h.addrlen[0]) != 0 ||
	    h.addr[0].ss_family != family)
		goto bad;
	h.naddr = 1;
	x->r->source = ROUTE_LITERAL;
	(void)strlcpy(x->r->nexthop, d, sizeof(x->r->nexthop)); /* fits */
	route_add(x->r, ip, 0, &h);
	(void)route_unloop(x, NULL, d);
	return 0;
bad:
	route_set(x->r, 5, "5.1.2", "bad address literal %s", d);
	return -EINVAL;
}

/* Lower case, no trailing dot; -1 if empty, too long or odd. */
static int
route_domain(const char *domain, char *d, size_t len)
{
	size_t n, i;

	if ((n = strlcpy(d, domain, len)) >= len || n == 0)
		return -1;
	if (d[n - 1] == '.' && d[0] != '[')
		d[--n] = '\0';
	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	if (d[0] == '[')
		return 0;
	/* UTF-8 domains (SMTPUTF8) are looked up as they are. */
	for (i = 0; i < n; i++)
		if ((unsigned char)d[i] < 0x80 &&
		    !isalnum((unsigned char)d[i]) &&
		    strchr("-_.", d[i]) == NULL)
			return -1;
	return n > 0 && d[0] != '.' ? 0 : -1;
}

int
route_resolve(const struct config *cfg, const struct route_table *t,
    const char *domain, struct route *out)
{
	struct route_ctx x = { cfg, out, NULL, 0 };
	struct route_nexthop nh;
	char d[ROUTE_HOST_MAX + 1], text[ROUTE_NEXTHOP_MAX + 1];
	const char *why = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	out->tls = -1;
	x.deadline = route_dns_now() + ROUTE_DNS_TIMEOUT * 1000;
	if (route_domain(domain, d, sizeof(d)) != 0) {
		route_set(out, 5, "5.1.2", "bad recipient domain");
		return -EINVAL;
	}
	if (d[0] == '[')
		return route_literal(&x, d);
	out->tls = route_table_tls(t, d);
	if ((rc = route_table_lookup(t, d, text, sizeof(text))) == 1)
		out->source = ROUTE_TRANSPORT;
	else if (cfg->smarthost[0] != '\0' &&
	    strlcpy(text, cfg->smarthost, sizeof(text)) < sizeof(text))
		out->source = ROUTE_SMARTHOST;
	else if (cfg->smarthost[0] == '\0' && rc == 0) {
		out->source = ROUTE_MX;
		(void)strlcpy(text, d, sizeof(text)); /* d is shorter */
	}
	if (out->source == ROUTE_NONE ||
	    route_nexthop_parse(text, &nh, &why) != 0) {
		route_set(out, 4, "4.3.5", "bad next hop for %s: %s", d,
		    why != NULL ? why : "too long");
		return -EINVAL;
	}
	(void)strlcpy(out->nexthop, text, sizeof(out->nexthop)); /* fits */
	rc = route_dns_open(cfg->resolver, nh.nomx, &x.dns);
	if (rc != 0) {
		route_set(out, 4, "4.3.0", "cannot start the DNS resolver: %s",
		    strerror(-rc));
		return rc;
	}
	if (nh.nomx)
		route_direct(&x, nh.host, nh.port);
	else
		route_mx(&x, nh.host, nh.port);
	route_dns_close(x.dns);
	return 0;
}
