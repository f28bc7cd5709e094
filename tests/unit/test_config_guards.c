/*
 * Configuration guards. relay_from: an IPv4-mapped network is the IPv4
 * network it stands for, and no list of networks may add up to an open
 * relay (halves, quarters, many /8s, short IPv6 prefixes in global
 * unicast). pidfile: root truncates and removes it, so only *.pid files
 * in the run directory.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_fixture.h"
#include "config_value.h"

static int
parse_nets(const char *nets, struct config_error *err)
{
	char text[512];

	(void)snprintf(text, sizeof(text), "[relayd]\nrelay_from = %s\n", nets);
	config_defaults(cfg);
	return config_parse(text, strlen(text), "t.conf", cfg, err);
}

/* Refused on line 2, key relay_from, with part in the message. */
static const struct {
	const char *nets, *part;
} refused[] = {
	{ "::ffff:0:0/96", "open relay" },
	{ "::ffff:0.0.0.0/96", "open relay" },
	{ "::ffff:0:0/97, ::ffff:128.0.0.0/97", "open relay" },
	{ "::ffff:0:0/80", "prefix of 96 or more" },
	{ "0.0.0.0/1, 128.0.0.0/1", "open relay" },
	{ "0.0.0.0/2, 64.0.0.0/2, 128.0.0.0/2, 192.0.0.0/2", "open relay" },
	{ "0.0.0.0/1, ::ffff:128.0.0.0/97", "open relay" },
	{ "1.0.0.0/8, 2.0.0.0/8", "33554432 public IPv4 addresses" },
	{ "2.0.0.0/7", "open relay" },
	{ "::/1, 8000::/1", "IPv6 network shorter than /16" },
	{ "2000::/3", "IPv6 network shorter than /16" },
	{ "2a00::/8", "IPv6 network shorter than /16" },
	{ "8000::/2", "IPv6 network shorter than /16" },
};

static void
test_refused(void **state)
{
	struct config_error err;
	size_t i;
	int rv;

	(void)state;
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		rv = parse_nets(refused[i].nets, &err);
		if (rv != -EINVAL || err.line != 2 ||
		    strcmp(err.key, "relay_from") != 0 ||
		    strstr(err.msg, refused[i].part) == NULL)
			fail_msg("relay_from = %s: got %d line %zu key %s: %s",
			    refused[i].nets, rv, err.line, err.key, err.msg);
	}
}

static const char *const accepted[] = {
	"127.0.0.0/8, ::1/128",
	"10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7",
	/* A whole /8 of public space is the most we take. */
	"1.0.0.0/8",
	/* Special space does not count: all of 224/3 is no client. */
	"224.0.0.0/3, 10.0.0.0/8, 1.0.0.0/8",
	"2001:db8::/32, fe80::/10",
	"::ffff:192.0.2.0/120",
};

static void
test_accepted(void **state)
{
	struct config_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++)
		if (parse_nets(accepted[i], &err) != 0)
			fail_msg("relay_from = %s: %s", accepted[i], err.msg);
}

/* The mapped network is stored, and matched, as IPv4. */
static void
test_mapped_is_ipv4(void **state)
{
	const struct sockaddr_in *sin;
	struct config_error err;
	char a[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(parse_nets("::ffff:192.0.2.0/120", &err), 0);
	assert_int_equal(cfg->nrelay_from, 1);
	assert_int_equal(cfg->relay_from[0].addr.ss_family, AF_INET);
	assert_int_equal(cfg->relay_from[0].prefix, 24);
	sin = (const struct sockaddr_in *)&cfg->relay_from[0].addr;
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)));
	assert_string_equal(a, "192.0.2.0");
}

static void
test_public_count(void **state)
{
	struct config_error err;

	(void)state;
	assert_int_equal(parse_nets("10.0.0.0/8", &err), 0);
	assert_int_equal(config_nets_public_v4(cfg), 0);
	/* Overlapping items count once. */
	assert_int_equal(parse_nets("1.2.0.0/16, 1.2.3.0/24", &err), 0);
	assert_int_equal(config_nets_public_v4(cfg), 65536);
	/* 192.0.0.0/22 holds two special /24s: 192.0.0/24 and 192.0.2/24. */
	assert_int_equal(parse_nets("192.0.0.0/22", &err), 0);
	assert_int_equal(config_nets_public_v4(cfg), 512);
}

static int
parse_pidfile(const char *path, struct config_error *err)
{
	char text[512];

	(void)snprintf(text, sizeof(text), "[relayd]\npidfile = %s\n", path);
	config_defaults(cfg);
	return config_parse(text, strlen(text), "t.conf", cfg, err);
}

static void
test_pidfile(void **state)
{
	static const char *const bad[] = { "/etc/login.defs", "/etc/relayd.pid",
		"/run", "/run/.pid", "/run/relayd",
		"/var/spool/mqueue/relayd.pid", "/runx/relayd.pid",
		"/var/run/relayd.pidx" };
	static const char *const good[] = { "/run/relayd.pid",
		"/var/run/relayd.pid", "/run/relayd/relayd.pid" };
	struct config_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_pidfile(bad[i], &err) != -EINVAL ||
		    strcmp(err.key, "pidfile") != 0 || err.line != 2)
			fail_msg("pidfile = %s accepted", bad[i]);
		if (strstr(err.msg, "/run") == NULL)
			fail_msg("pidfile = %s: %s", bad[i], err.msg);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (parse_pidfile(good[i], &err) != 0)
			fail_msg("pidfile = %s: %s", good[i], err.msg);
		assert_string_equal(cfg->pidfile, good[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_mapped_is_ipv4),
		cmocka_unit_test(test_public_count),
		cmocka_unit_test(test_pidfile),
	};

	return cmocka_run_group_tests(tests, config_setup, config_teardown);
}
