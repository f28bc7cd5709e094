/*
 * c-ares made synchronous for the routing code (route_dns.h): queries
 * are started, then one poll loop drives the channel until all answered
 * or the deadline passed (then they are cancelled).  DNS answers are
 * untrusted: records are counted against fixed caps, names validated.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ares.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "monotime.h"
#include "route_dns.h"

/*
 * Query contexts live until route_dns_close(): a query cancelled at the
 * deadline may still call back (at the latest from ares_destroy), and it
 * must find its context alive and marked dead rather than freed.
 */
struct route_dns_ctx {
	struct route_dns_ctx *next;
	int dead; /* the caller has gone: write nothing */
	struct route_dns *d;
	/* MX query */
	struct route_mx *mx;
	size_t max, n;
	int result;
	char why[80];
	/* address query */
	struct route_dns_host *h;
	unsigned short port;
};

struct route_dns {
	ares_channel ch;
	int pending; /* queries whose callback has not run yet */
	struct route_dns_ctx *ctx;
};

static struct route_dns_ctx *
route_dns_ctx_new(struct route_dns *d)
{
	struct route_dns_ctx *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->d = d;
	q->next = d->ctx;
	d->ctx = q;
	return q;
}

int64_t
route_dns_now(void)
{
	return monotime_ms();
}

/* "ADDR" and bare IPv6 get the DNS port; other forms go to c-ares as is. */
static int
route_dns_servers(ares_channel ch, const char *resolver)
{
	unsigned char a[sizeof(struct in6_addr)];
	char csv[80];
	int n;

	if (inet_pton(AF_INET6, resolver, a) == 1)
		n = snprintf(csv, sizeof(csv), "[%s]:53", resolver);
	else
		n = snprintf(csv, sizeof(csv), "%s", resolver);
	if (n < 0 || (size_t)n >= sizeof(csv))
		return -EINVAL;
	return ares_set_servers_ports_csv(ch, csv) == ARES_SUCCESS ? 0
								   : -EINVAL;
}

int
route_dns_open(const char *resolver, int files, struct route_dns **out)
{
	struct ares_options o;
	struct route_dns *d;
	int rc = -ENOMEM;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		goto fail_free;
	memset(&o, 0, sizeof(o));
	o.flags = ARES_FLAG_NOSEARCH;
	o.timeout = 3000; /* ms per try; the caller's deadline bounds all */
	o.tries = 3;
	o.ndomains = 0; /* no search list: MX hosts are absolute names */
	o.domains = NULL;
	o.lookups = files ? (char *)"fb" : (char *)"b";
	rc = ares_init_options(&d->ch, &o,
	    ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS);
	if (rc != ARES_SUCCESS) {
		rc = rc == ARES_ENOMEM ? -ENOMEM : -EIO;
		goto fail_lib;
	}
	if (resolver[0] != '\0' && (rc = route_dns_servers(d->ch, resolver))) {
		ares_destroy(d->ch);
		goto fail_lib;
	}
	*out = d;
	return 0;
fail_lib:
	ares_library_cleanup();
fail_free:
	free(d);
	return rc;
}

void
route_dns_close(struct route_dns *d)
{
	struct route_dns_ctx *q, *next;

	if (d == NULL)
		return;
	ares_destroy(d->ch); /* runs pending callbacks with ARES_EDESTRUCTION */
	ares_library_cleanup();
	for (q = d->ctx; q != NULL; q = next) {
		next = q->next;
		free(q);
	}
	free(d);
}

/* Drive the channel until nothing is pending or the deadline passed. */
static void
route_dns_run(struct route_dns *d, int64_t deadline)
{
	ares_socket_t s[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	struct timeval max, tv, *tvp;
	int64_t left, ms;
	unsigned bm, rd, wr;
	int i, n, r;

	while (d->pending > 0) {
		if ((left = deadline - route_dns_now()) <= 0) {
			ares_cancel(d->ch); /* callbacks get ARES_ECANCELLED */
			return;
		}
		/* c-ares' own bit macros shift into the sign bit (UB). */
		bm = (unsigned)ares_getsock(d->ch, s, ARES_GETSOCK_MAXNUM);
		for (i = n = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			rd = (bm >> i) & 1u;
			wr = (bm >> (i + ARES_GETSOCK_MAXNUM)) & 1u;
			if (!rd && !wr)
				continue;
			pfd[n].fd = s[i];
			pfd[n].events =
			    (short)((rd ? POLLIN : 0) | (wr ? POLLOUT : 0));
			pfd[n++].revents = 0;
		}
		max.tv_sec = (time_t)(left / 1000);
		max.tv_usec = (suseconds_t)(left % 1000) * 1000;
		tvp = ares_timeout(d->ch, &max, &tv);
		ms = (int64_t)tvp->tv_sec * 1000 + tvp->tv_usec / 1000 + 1;
		r = poll(pfd, (nfds_t)n, (int)(ms > left ? left : ms));
		if (r < 0 && errno != EINTR)
			r = 0; /* treat as a timeout tick; the deadline ends it */
		for (i = 0; r > 0 && i < n; i++)
			if (pfd[i].revents != 0)
				ares_process_fd(d->ch,
				    pfd[i].revents &
					    (POLLIN | POLLERR | POLLHUP)
					? pfd[i].fd
					: ARES_SOCKET_BAD,
				    pfd[i].revents & POLLOUT ? pfd[i].fd
							     : ARES_SOCKET_BAD);
		if (r == 0)
			ares_process_fd(
			    d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	}
}

static int
route_dns_status(int status, char *why, size_t whylen)
{
	if (status == ARES_ENODATA)
		return ROUTE_DNS_NODATA;
	if (status == ARES_ENOTFOUND)
		return ROUTE_DNS_NXDOMAIN;
	(void)strlcpy(why,
	    status == ARES_ECANCELLED ? "DNS timeout" : ares_strerror(status),
	    whylen);
	return ROUTE_DNS_TEMP;
}

static void
route_dns_mx_cb(
    void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct route_dns_ctx *q = arg;
	struct ares_mx_reply *list = NULL, *m;

	(void)timeouts;
	q->d->pending--;
	if (q->dead)
		return;
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &list);
	if (status != ARES_SUCCESS) {
		q->result = route_dns_status(status, q->why, sizeof(q->why));
		return;
	}
	q->result = ROUTE_DNS_OK;
	for (m = list; m != NULL && q->n < q->max; m = m->next) {
		int null = m->host[0] == '\0' || strcmp(m->host, ".") == 0;

		/* "." is the null MX; any other odd name is dropped. */
		if (!null &&
		    (!route_domain_valid(m->host) ||
			strlen(m->host) >= sizeof(q->mx[0].host)))
			continue;
		q->mx[q->n].pref = m->priority;
		(void)strlcpy(q->mx[q->n].host, null ? "" : m->host,
		    sizeof(q->mx[q->n].host)); /* length checked above */
		q->n++;
	}
	ares_free_data(list); /* OK with n == 0: records, none usable */
}

int
route_dns_mx(struct route_dns *d, const char *name, struct route_mx *mx,
    size_t max, size_t *n, int64_t deadline, char *why, size_t whylen)
{
	struct route_dns_ctx *q;

	*n = 0;
	if ((q = route_dns_ctx_new(d)) == NULL) {
		(void)strlcpy(why, "out of memory", whylen);
		return ROUTE_DNS_TEMP;
	}
	q->mx = mx;
	q->max = max;
	q->result = ROUTE_DNS_TEMP;
	(void)strlcpy(q->why, "DNS timeout", sizeof(q->why));
	d->pending++;
	ares_query(d->ch, name, ns_c_in, ns_t_mx, route_dns_mx_cb, q);
	route_dns_run(d, deadline);
	q->dead = 1;
	*n = q->n;
	(void)strlcpy(why, q->why, whylen);
	return q->result;
}

static void
route_dns_addr_cb(
    void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct route_dns_ctx *q = arg;
	struct route_dns_host *h = q->h;
	struct ares_addrinfo_node *a;

	(void)timeouts;
	q->d->pending--;
	if (q->dead) {
		ares_freeaddrinfo(res);
		return;
	}
	if (status != ARES_SUCCESS) {
		h->result = route_dns_status(status, h->why, sizeof(h->why));
		ares_freeaddrinfo(res);
		return;
	}
	h->result = ROUTE_DNS_OK;
	for (a = res->nodes; a != NULL && h->naddr < ROUTE_HOPS_MAX;
	     a = a->ai_next) {
		struct sockaddr_storage *ss = &h->addr[h->naddr];

		if (a->ai_family == AF_INET &&
		    a->ai_addrlen >= sizeof(struct sockaddr_in)) {
			memcpy(ss, a->ai_addr, sizeof(struct sockaddr_in));
			((struct sockaddr_in *)ss)->sin_port = htons(q->port);
			h->addrlen[h->naddr++] = sizeof(struct sockaddr_in);
		} else if (a->ai_family == AF_INET6 &&
		    a->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			memcpy(ss, a->ai_addr, sizeof(struct sockaddr_in6));
			((struct sockaddr_in6 *)ss)->sin6_port = htons(q->port);
			h->addrlen[h->naddr++] = sizeof(struct sockaddr_in6);
		}
	}
	ares_freeaddrinfo(res);
	if (h->naddr == 0)
		h->result = ROUTE_DNS_NODATA;
}

void
route_dns_addrs(struct route_dns *d, struct route_dns_host *h, size_t n,
    unsigned short port, int64_t deadline)
{
	struct ares_addrinfo_hints hints;
	struct route_dns_ctx *q, *first = d->ctx;
	size_t i;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NOSORT; /* keep the order of the answers */
	for (i = 0; i < n; i++) {
		h[i].result = ROUTE_DNS_TEMP;
		h[i].naddr = 0;
		(void)strlcpy(h[i].why, "DNS timeout", sizeof(h[i].why));
		if ((q = route_dns_ctx_new(d)) == NULL) {
			(void)strlcpy(
			    h[i].why, "out of memory", sizeof(h[i].why));
			continue;
		}
		q->h = &h[i];
		q->port = port;
		d->pending++;
		ares_getaddrinfo(
		    d->ch, h[i].name, NULL, &hints, route_dns_addr_cb, q);
	}
	route_dns_run(d, deadline);
	for (q = d->ctx; q != first; q = q->next)
		q->dead = 1;
}
