/*
 * Unit tests for relayd/route (the transport map is test_route_table.c):
 * MX ordering with the equal-preference shuffle,
 * null MX and loop detection as pure functions, then route_resolve()
 * against a real dnsmasq on a free loopback port (MX order, implicit MX,
 * null MX, NXDOMAIN, loops, an unreachable resolver).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "route.h"
#include "route_table.h"
#include "route_test.h"

/* Port 2024 belongs to other software on these machines: never used. */
#define PORT_TAKEN 2024

/* A deterministic "random" source: a counter. */
static uint32_t
counter_rnd(void *arg)
{
	return (*(uint32_t *)arg)++;
}

static void
mx_set(struct route_mx *mx, int pref, const char *host)
{
	mx->pref = pref;
	(void)strlcpy(mx->host, host, sizeof(mx->host));
}

static void
test_mx_sort(void **state)
{
	struct route_mx mx[6];
	uint32_t ctr = 0;
	int seen[6] = { 0 }, k;
	size_t i, run;

	(void)state;
	mx_set(&mx[0], 30, "c");
	mx_set(&mx[1], 10, "a1");
	mx_set(&mx[2], 20, "b");
	mx_set(&mx[3], 10, "a2");
	mx_set(&mx[4], 0, "z");
	mx_set(&mx[5], 10, "a3");
	route_mx_sort(mx, 6, counter_rnd, &ctr);
	assert_int_equal(mx[0].pref, 0);
	for (i = 1; i < 4; i++)
		assert_int_equal(mx[i].pref, 10);
	assert_int_equal(mx[4].pref, 20);
	assert_int_equal(mx[5].pref, 30);
	assert_string_equal(mx[0].host, "z");
	assert_string_equal(mx[5].host, "c");
	assert_true(ctr > 0); /* the source was asked */
	/*
	 * Over many runs with the real source every order of the three
	 * pref-10 hosts shows up, each about 1/6 of the time.
	 */
	for (run = 0; run < 6000; run++) {
		mx_set(&mx[0], 10, "a");
		mx_set(&mx[1], 10, "b");
		mx_set(&mx[2], 10, "c");
		mx_set(&mx[3], 5, "first");
		route_mx_sort(mx, 4, NULL, NULL);
		assert_string_equal(mx[0].host, "first");
		k = (mx[1].host[0] - 'a') * 2 + (mx[2].host[0] > mx[3].host[0]);
		seen[k]++;
	}
	for (k = 0; k < 6; k++)
		if (seen[k] < 700 || seen[k] > 1300)
			fail_msg("order %d seen %d times of 6000", k, seen[k]);
	route_mx_sort(mx, 0, NULL, NULL); /* empty is fine */
}

static void
test_mx_null(void **state)
{
	struct route_mx mx[2];

	(void)state;
	mx_set(&mx[0], 0, "");
	assert_true(route_mx_null(mx, 1));
	mx_set(&mx[1], 10, "mx.example.org");
	assert_false(route_mx_null(mx, 2));
	mx_set(&mx[0], 0, "mx.example.org");
	assert_false(route_mx_null(mx, 1));
	assert_false(route_mx_null(mx, 0));
}

static void
hop_set(struct route_hop *h, const char *host, const char *ip, int pref)
{
	struct sockaddr_in *s = (struct sockaddr_in *)&h->addr;

	memset(h, 0, sizeof(*h));
	(void)strlcpy(h->host, host, sizeof(h->host));
	s->sin_family = AF_INET;
	s->sin_port = htons(25);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	h->addrlen = sizeof(*s);
	h->pref = pref;
}

static int
self_is_9(const struct sockaddr_storage *a, void *arg)
{
	(void)arg;
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	    htonl(0x7f000009);
}

static void
test_drop_self(void **state)
{
	struct route_hop h[5];

	(void)state;
	hop_set(&h[0], "mx1", "127.0.0.1", 10);
	hop_set(&h[1], "mx1", "127.0.0.2", 10);
	hop_set(&h[2], "me.example", "127.0.0.3", 20);
	hop_set(&h[3], "mx3", "127.0.0.9", 20);
	hop_set(&h[4], "mx4", "127.0.0.4", 30);
	/* We are MX 20 (by name): only the pref-10 hosts stay. */
	assert_int_equal(
	    route_hops_drop_self(h, 5, "ME.example", NULL, NULL), 2);
	/* By address: the same, and equal preferences go too. */
	assert_int_equal(route_hops_drop_self(h, 5, "x", self_is_9, NULL), 2);
	assert_int_equal(route_hops_drop_self(h, 5, NULL, NULL, NULL), 5);
	/* We are the best MX: nothing left, the mail would loop. */
	hop_set(&h[0], "mx1", "127.0.0.9", 10);
	assert_int_equal(route_hops_drop_self(h, 5, NULL, self_is_9, NULL), 0);
	assert_int_equal(route_hops_drop_self(h, 2, "mx1", NULL, NULL), 0);
}

static void
listen_set(struct config *cfg, size_t i, const char *ip, int port)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&cfg->listen[i].ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&cfg->listen[i].ss;

	memset(&cfg->listen[i], 0, sizeof(cfg->listen[i]));
	if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else {
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	}
	if (cfg->nlisten <= i)
		cfg->nlisten = i + 1;
}

static void
test_addr_is_self(void **state)
{
	struct config cfg;
	struct route_hop h;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h.addr;

	(void)state;
	config_defaults(&cfg);
	cfg.nlisten = 0;
	listen_set(&cfg, 0, "127.0.0.1", 2525);
	hop_set(&h, "x", "127.0.0.1", 0);
	assert_false(route_addr_is_self(&h.addr, &cfg)); /* port 25 */
	((struct sockaddr_in *)&h.addr)->sin_port = htons(2525);
	assert_true(route_addr_is_self(&h.addr, &cfg));
	hop_set(&h, "x", "127.0.0.2", 0);
	assert_false(route_addr_is_self(&h.addr, &cfg));
	/* A wildcard listener is every local address on its port. */
	listen_set(&cfg, 1, "0.0.0.0", 25);
	assert_true(route_addr_is_self(&h.addr, &cfg));
	hop_set(&h, "x", "192.0.2.77", 0);
	assert_false(route_addr_is_self(&h.addr, &cfg));
	/* IPv4-mapped IPv6 compares as IPv4. */
	memset(&h.addr, 0, sizeof(h.addr));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(2525);
	assert_int_equal(
	    inet_pton(AF_INET6, "::ffff:127.0.0.1", &s6->sin6_addr), 1);
	assert_true(route_addr_is_self(&h.addr, &cfg));
}

/* 0.0.0.0/8 and :: connect to the local host: a loop, not a next hop. */
static void
test_addr_this_host_is_self(void **state)
{
	static const char *const addrs[] = { "0.0.0.0", "0.1.2.3",
		"0.255.255.255", "::", "::ffff:0.0.0.0" };
	struct config cfg;
	struct route_hop h;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&h.addr;
	size_t i;

	(void)state;
	config_defaults(&cfg);
	cfg.nlisten = 0;
	listen_set(&cfg, 0, "127.0.0.1", 2525);
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		memset(&h.addr, 0, sizeof(h.addr));
		if (strchr(addrs[i], ':') == NULL) {
			hop_set(&h, "x", addrs[i], 0);
			((struct sockaddr_in *)&h.addr)->sin_port = htons(2525);
		} else {
			s6->sin6_family = AF_INET6;
			s6->sin6_port = htons(2525);
			assert_int_equal(
			    inet_pton(AF_INET6, addrs[i], &s6->sin6_addr), 1);
		}
		if (!route_addr_is_self(&h.addr, &cfg))
			fail_msg(
			    "%s:2525 is not seen as relayd itself", addrs[i]);
		/* Another port on this host is another MTA, not a loop. */
		if (h.addr.ss_family == AF_INET)
			((struct sockaddr_in *)&h.addr)->sin_port = htons(25);
		else
			s6->sin6_port = htons(25);
		assert_false(route_addr_is_self(&h.addr, &cfg));
	}
	hop_set(&h, "x", "1.0.0.0", 0);
	((struct sockaddr_in *)&h.addr)->sin_port = htons(2525);
	assert_false(route_addr_is_self(&h.addr, &cfg));
}

/* ---- against dnsmasq ---- */

static pid_t dns_pid = -1;
static int dns_port;

static void
test_resolve_static(void **state)
{
	struct route_table *t = parse_ok(map);
	struct config cfg;
	struct route *r = malloc(sizeof(*r));
	char buf[128];

	(void)state;
	assert_non_null(r);
	config_defaults(&cfg);
	cfg.nlisten = 0;
	listen_set(&cfg, 0, "127.0.0.1", 2525);
	/* Transport map, bracketed literal: no DNS at all. */
	assert_int_equal(route_resolve(&cfg, t, "example.org", r), 0);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->source, ROUTE_TRANSPORT);
	assert_string_equal(r->nexthop, "[10.0.0.1]:2525");
	assert_int_equal(r->nhop, 1);
	route_hop_format(&r->hop[0], buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1[10.0.0.1]:2525");
	assert_int_equal(route_resolve(&cfg, t, "mixed.case.test", r), 0);
	route_hop_format(&r->hop[0], buf, sizeof(buf));
	assert_string_equal(buf, "2001:db8::1[2001:db8::1]:26");
	/* The transport map wins over the smarthost. */
	(void)strlcpy(cfg.smarthost, "[192.0.2.1]:2526", sizeof(cfg.smarthost));
	assert_int_equal(route_resolve(&cfg, t, "example.org", r), 0);
	assert_string_equal(r->nexthop, "[10.0.0.1]:2525");
	assert_int_equal(route_resolve(&cfg, t, "example.com", r), 0);
	assert_int_equal(r->source, ROUTE_SMARTHOST);
	assert_string_equal(r->nexthop, "[192.0.2.1]:2526");
	route_hop_format(&r->hop[0], buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1[192.0.2.1]:2526");
	/* A smarthost that is us: the mail would loop. */
	(void)strlcpy(cfg.smarthost, "[127.0.0.1]:2525", sizeof(cfg.smarthost));
	assert_int_equal(route_resolve(&cfg, NULL, "example.com", r), 0);
	assert_int_equal(r->error, 5);
	assert_string_equal(r->status, "5.4.6");
	assert_int_equal(r->nhop, 0);
	/* Address literals as the domain. */
	cfg.smarthost[0] = '\0';
	assert_int_equal(route_resolve(&cfg, NULL, "[192.0.2.5]", r), 0);
	assert_int_equal(r->source, ROUTE_LITERAL);
	route_hop_format(&r->hop[0], buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.5[192.0.2.5]:25");
	assert_int_equal(route_resolve(&cfg, NULL, "[IPv6:2001:db8::5]", r), 0);
	assert_int_equal(r->hop[0].addr.ss_family, AF_INET6);
	assert_int_equal(
	    route_resolve(&cfg, NULL, "[IPv6:192.0.2.5]", r), -EINVAL);
	assert_int_equal(r->error, 5);
	assert_int_equal(route_resolve(&cfg, NULL, "[999.1.1.1]", r), -EINVAL);
	assert_int_equal(route_resolve(&cfg, NULL, "bad domain", r), -EINVAL);
	assert_string_equal(r->status, "5.1.2");
	assert_int_equal(route_resolve(&cfg, NULL, "", r), -EINVAL);
	route_table_free(t);
	free(r);
}

static int
free_port(int type)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int fd = socket(AF_INET, type, 0), port;

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	port = ntohs(sin.sin_port);
	(void)close(fd);
	return port;
}

static int
dns_setup(void **state)
{
	char portarg[32];
	struct sockaddr_in sin;
	int i, fd, up = 0;

	(void)state;
	do
		dns_port = free_port(SOCK_DGRAM);
	while (dns_port == PORT_TAKEN);
	(void)snprintf(portarg, sizeof(portarg), "--port=%d", dns_port);
	if ((dns_pid = fork()) == 0) {
		int null = open("/dev/null", O_RDWR);

		(void)dup2(null, 1);
		(void)dup2(null, 2);
		execl("/usr/sbin/dnsmasq", "dnsmasq", "--no-daemon", portarg,
		    "--listen-address=127.0.0.1", "--bind-interfaces",
		    "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
		    "--user=root", "--pid-file=", "--local=/test/",
		    "--mx-host=example.test,mx1.example.test,10",
		    "--mx-host=example.test,mx2.example.test,20",
		    "--host-record=mx1.example.test,127.0.0.2",
		    "--host-record=mx2.example.test,127.0.0.3,fd00::3",
		    "--host-record=implicit.test,127.0.0.4",
		    "--host-record=noaddr-mx.example.test,fd00::4",
		    "--dns-rr=nullmx.test,15,000000",
		    "--mx-host=loop.test,me.example.test,10",
		    "--mx-host=loop2.test,mx1.example.test,10",
		    "--mx-host=loop2.test,me.example.test,20",
		    "--mx-host=loop2.test,mx2.example.test,30",
		    "--mx-host=selfaddr.test,self.test,5",
		    "--host-record=self.test,127.0.0.9",
		    "--host-record=me.example.test,127.0.0.8",
		    "--mx-host=nohost.test,missing.test,10", (char *)NULL);
		_exit(127);
	}
	assert_true(dns_pid > 0);
	/* Up when its TCP port answers (it serves both). */
	for (i = 0; i < 100 && !up; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)dns_port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		up = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		(void)close(fd);
		if (!up)
			(void)usleep(50000);
	}
	return up ? 0 : -1;
}

static int
dns_teardown(void **state)
{
	(void)state;
	if (dns_pid > 0) {
		(void)kill(dns_pid, SIGTERM);
		(void)waitpid(dns_pid, NULL, 0);
	}
	return 0;
}

static void
dns_cfg(struct config *cfg)
{
	config_defaults(cfg);
	(void)snprintf(
	    cfg->resolver, sizeof(cfg->resolver), "127.0.0.1:%d", dns_port);
	(void)strlcpy(cfg->hostname, "me.example.test", sizeof(cfg->hostname));
	cfg->nlisten = 0;
	listen_set(cfg, 0, "127.0.0.9", 25);
}

static void
test_dns_mx(void **state)
{
	struct config cfg;
	struct route *r = malloc(sizeof(*r));
	char buf[128];

	(void)state;
	assert_non_null(r);
	dns_cfg(&cfg);
	assert_int_equal(route_resolve(&cfg, NULL, "Example.TEST.", r), 0);
	if (r->error != 0)
		fail_msg("%s %s", r->status, r->text);
	assert_int_equal(r->source, ROUTE_MX);
	assert_string_equal(r->nexthop, "example.test");
	assert_int_equal(r->nhop, 3);
	route_hop_format(&r->hop[0], buf, sizeof(buf));
	assert_string_equal(buf, "mx1.example.test[127.0.0.2]:25");
	assert_int_equal(r->hop[0].pref, 10);
	assert_string_equal(r->hop[1].host, "mx2.example.test");
	assert_string_equal(r->hop[2].host, "mx2.example.test");
	assert_int_equal(r->hop[1].pref, 20);
	/* Both families of mx2, in whatever order the answers came. */
	assert_int_not_equal(
	    r->hop[1].addr.ss_family, r->hop[2].addr.ss_family);
	/* Implicit MX: no MX record, the domain's own address. */
	assert_int_equal(route_resolve(&cfg, NULL, "implicit.test", r), 0);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->nhop, 1);
	route_hop_format(&r->hop[0], buf, sizeof(buf));
	assert_string_equal(buf, "implicit.test[127.0.0.4]:25");
	/* A transport entry without brackets goes through MX too. */
	{
		struct route_table *t = parse_ok("x.test example.test:2526\n");

		assert_int_equal(route_resolve(&cfg, t, "x.test", r), 0);
		assert_int_equal(r->source, ROUTE_TRANSPORT);
		route_hop_format(&r->hop[0], buf, sizeof(buf));
		assert_string_equal(buf, "mx1.example.test[127.0.0.2]:2526");
		route_table_free(t);
	}
	free(r);
}

static void
test_dns_errors(void **state)
{
	struct config cfg;
	struct route *r = malloc(sizeof(*r));

	(void)state;
	assert_non_null(r);
	dns_cfg(&cfg);
	assert_int_equal(route_resolve(&cfg, NULL, "nullmx.test", r), 0);
	assert_int_equal(r->error, 5);
	assert_string_equal(r->status, "5.1.10");
	assert_string_equal(
	    r->text, "Domain nullmx.test does not accept mail (null MX)");
	assert_int_equal(route_resolve(&cfg, NULL, "nxdomain.test", r), 0);
	assert_int_equal(r->error, 5);
	assert_string_equal(r->status, "5.1.2");
	/* We are the only MX (by name). */
	assert_int_equal(route_resolve(&cfg, NULL, "loop.test", r), 0);
	assert_int_equal(r->error, 5);
	assert_string_equal(r->status, "5.4.6");
	assert_string_equal(r->text, "mail for loop.test loops back to myself");
	/* We are MX 20: only the better MX 10 is kept. */
	assert_int_equal(route_resolve(&cfg, NULL, "loop2.test", r), 0);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->nhop, 1);
	assert_string_equal(r->hop[0].host, "mx1.example.test");
	/* The only MX's address is our listen address. */
	assert_int_equal(route_resolve(&cfg, NULL, "selfaddr.test", r), 0);
	assert_int_equal(r->error, 5);
	assert_string_equal(r->status, "5.4.6");
	/* The MX host does not exist. */
	assert_int_equal(route_resolve(&cfg, NULL, "nohost.test", r), 0);
	assert_int_equal(r->error, 5);
	assert_string_equal(r->status, "5.4.4");
	/* A [host] next hop that does not resolve: temporary. */
	(void)strlcpy(cfg.smarthost, "[missing.test]", sizeof(cfg.smarthost));
	assert_int_equal(route_resolve(&cfg, NULL, "example.test", r), 0);
	assert_int_equal(r->error, 4);
	assert_string_equal(r->status, "4.4.3");
	(void)strlcpy(
	    cfg.smarthost, "[mx1.example.test]:2527", sizeof(cfg.smarthost));
	assert_int_equal(route_resolve(&cfg, NULL, "example.test", r), 0);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->nhop, 1);
	/* Nobody answers on the resolver port: temporary. */
	cfg.smarthost[0] = '\0';
	(void)snprintf(cfg.resolver, sizeof(cfg.resolver), "127.0.0.1:%d",
	    free_port(SOCK_DGRAM));
	assert_int_equal(route_resolve(&cfg, NULL, "example.test", r), 0);
	assert_int_equal(r->error, 4);
	assert_string_equal(r->status, "4.4.3");
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mx_sort),
		cmocka_unit_test(test_mx_null),
		cmocka_unit_test(test_drop_self),
		cmocka_unit_test(test_addr_is_self),
		cmocka_unit_test(test_addr_this_host_is_self),
		cmocka_unit_test(test_resolve_static),
	};
	const struct CMUnitTest dns[] = {
		cmocka_unit_test(test_dns_mx),
		cmocka_unit_test(test_dns_errors),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	return rc +
	    cmocka_run_group_tests_name(
		"dnsmasq", dns, dns_setup, dns_teardown);
}
