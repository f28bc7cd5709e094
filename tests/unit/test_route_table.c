/*
 * Unit tests for relayd/route_table: transport map parsing (with the
 * tls= column and "-" next hops) and lookup, next-hop syntax, loading
 * the file safely, and the delivery group key that keeps two TLS
 * policies out of one connection.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "deliver.h"
#include "route.h"
#include "route_table.h"
#include "route_test.h"

static void
test_lookup(void **state)
{
	static const struct {
		const char *domain, *want;
	} cases[] = {
		{ "example.org", "[10.0.0.1]:2525" },
		{ "EXAMPLE.ORG.", "[10.0.0.1]:2525" },
		{ "x.example.org", "relay.example.net" },
		{ "x.y.example.org", "relay.example.net" },
		{ "b.example.org", "relay.example.net" }, /* .b is subs only */
		{ "c.b.example.org", "[relay-b.example.net]" },
		{ "a.b.example.org", "relay-ab.example.net:587" },
		{ "z.a.b.example.org", "[relay-b.example.net]" },
		{ "mixed.case.test", "[ipv6:2001:db8::1]:26" },
		{ "other.org", "[192.0.2.9]" },
		{ "org", NULL },
		{ "example.com", NULL },
		{ "xexample.org", "[192.0.2.9]" },
		{ "", NULL },
	};
	struct route_table *t = parse_ok(map);
	char hop[ROUTE_NEXTHOP_MAX + 1], tiny[4];
	size_t i;
	int rc;

	(void)state;
	assert_int_equal(route_table_count(t), 6);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = route_table_lookup(t, cases[i].domain, hop, sizeof(hop));
		if (cases[i].want == NULL) {
			assert_int_equal(rc, 0);
			continue;
		}
		if (rc != 1)
			fail_msg("%s: no entry", cases[i].domain);
		assert_string_equal(hop, cases[i].want);
	}
	assert_int_equal(
	    route_table_lookup(t, "example.org", tiny, sizeof(tiny)),
	    -ENAMETOOLONG);
	assert_int_equal(
	    route_table_lookup(NULL, "example.org", hop, sizeof(hop)), 0);
	route_table_free(t);
	route_table_free(NULL);
}

static void
test_parse_errors(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "example.org\n",
		    "transport:1: expected \"domain nexthop [tls=POLICY]\"" },
		{ "example.org # x\n",
		    "transport:1: expected \"domain nexthop [tls=POLICY]\"" },
		{ "# c\nexample.org a b\n",
		    "transport:2: want tls=none, may, encrypt, verify or "
		    "wrapper" },
		{ "ex ample.org x\n",
		    "transport:1: want tls=none, may, encrypt, verify or "
		    "wrapper" },
		{ "example.org a tls=verify x\n",
		    "transport:1: expected \"domain nexthop [tls=POLICY]\"" },
		{ "example.org a tls=\n",
		    "transport:1: want tls=none, may, encrypt, verify or "
		    "wrapper" },
		{ "example.org a tls=verify,\n",
		    "transport:1: want tls=none, may, encrypt, verify or "
		    "wrapper" },
		{ "example.org -\n",
		    "transport:1: a '-' next hop needs tls=POLICY" },
		{ "example.org - # c\n",
		    "transport:1: a '-' next hop needs tls=POLICY" },
		{ "example.org - tls=wrapper\n",
		    "transport:1: tls=wrapper needs a next hop "
		    "(\"[host]:465\")" },
		{ "exa$mple.org x\n", "transport:1: bad domain" },
		{ "..org x\n", "transport:1: bad domain" },
		{ "a..org x\n", "transport:1: bad domain" },
		{ "\n\nexample.org [x\n", "transport:3: missing ']'" },
		{ "example.org [x]y\n", "transport:1: junk after ']'" },
		{ "example.org x:0\n", "transport:1: bad port" },
		{ "example.org x:65536\n", "transport:1: bad port" },
		{ "example.org x:\n", "transport:1: bad port" },
		{ "example.org x:2a\n", "transport:1: bad port" },
		{ "example.org [a:b:c]\n", "transport:1: bad host name" },
		{ "example.org a:b:c\n", "transport:1: bad port" },
		{ "example.org h_st!\n", "transport:1: bad host name" },
		{ "a.org x\nb.org y\nA.ORG z\n",
		    "transport:3: duplicate entry for 'a.org' (first on line "
		    "1)" },
	};
	struct route_table *t;
	char err[256], *big;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = (void *)1;
		assert_int_equal(
		    route_table_parse(cases[i].text, strlen(cases[i].text),
			"transport", &t, err, sizeof(err)),
		    -EINVAL);
		assert_null(t);
		assert_string_equal(err, cases[i].err);
	}
	assert_int_equal(
	    route_table_parse("a.org x\0", 8, "t", &t, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "t:1: NUL octet");
	big = malloc(ROUTE_TABLE_LINE_MAX + 8);
	assert_non_null(big);
	memset(big, 'a', ROUTE_TABLE_LINE_MAX + 4);
	assert_int_equal(route_table_parse(big, ROUTE_TABLE_LINE_MAX + 4, "t",
			     &t, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "t:1: line too long");
	free(big);
	/* Empty text, comments only: an empty table. */
	t = parse_ok("# nothing\n\n   \n");
	assert_int_equal(route_table_count(t), 0);
	route_table_free(t);
}

static void
test_nexthop(void **state)
{
	static const struct {
		const char *s, *host;
		unsigned short port;
		int nomx;
	} cases[] = {
		{ "relay.example.net", "relay.example.net", 25, 0 },
		{ "Relay.Example.NET.", "relay.example.net", 25, 0 },
		{ "relay.example.net:2525", "relay.example.net", 2525, 0 },
		{ "[relay.example.net]", "relay.example.net", 25, 1 },
		{ "[relay.example.net]:587", "relay.example.net", 587, 1 },
		{ "[10.0.0.1]:2525", "10.0.0.1", 2525, 1 },
		{ "10.0.0.1", "10.0.0.1", 25, 1 },
		{ "[::1]:26", "::1", 26, 1 },
		{ "[IPv6:2001:db8::1]", "2001:db8::1", 25, 1 },
		{ "localhost", "localhost", 25, 0 },
	};
	struct route_nexthop nh;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (route_nexthop_parse(cases[i].s, &nh, &why) != 0)
			fail_msg("%s: %s", cases[i].s, why);
		assert_string_equal(nh.host, cases[i].host);
		assert_int_equal(nh.port, cases[i].port);
		assert_int_equal(nh.nomx, cases[i].nomx);
	}
	assert_int_equal(route_nexthop_parse("", &nh, &why), -EINVAL);
	assert_int_equal(route_nexthop_parse("[]", &nh, &why), -EINVAL);
	assert_int_equal(route_nexthop_parse("::1", &nh, &why), -EINVAL);
	assert_int_equal(route_nexthop_parse("a b", &nh, &why), -EINVAL);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_route.XXXXXX", path[512], err[256];
	struct route_table *t = NULL;
	int fd, dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	fd = openat(dfd, "transport", O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, map, strlen(map)), (ssize_t)strlen(map));
	/* As if under --root: leading slashes are relative to rootfd. */
	assert_int_equal(
	    route_table_load(dfd, "/transport", &t, err, sizeof(err)), 0);
	assert_int_equal(route_table_count(t), 6);
	route_table_free(t);
	/* Writable by the group: the relay user could redirect mail. */
	assert_int_equal(fchmod(fd, 0664), 0);
	assert_int_equal(
	    route_table_load(dfd, "transport", &t, err, sizeof(err)), -EPERM);
	assert_null(t);
	assert_string_equal(
	    err, "transport: writable by group or others (chmod go-w)");
	assert_int_equal(fchmod(fd, 0644), 0);
	(void)close(fd);
	assert_int_equal(symlinkat("transport", dfd, "link"), 0);
	assert_int_equal(
	    route_table_load(dfd, "link", &t, err, sizeof(err)), -ELOOP);
	assert_int_equal(
	    route_table_load(dfd, "missing", &t, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "missing: No such file or directory");
	/* No transport map configured: an empty table. */
	assert_int_equal(route_table_load(dfd, "", &t, err, sizeof(err)), 0);
	assert_int_equal(route_table_count(t), 0);
	route_table_free(t);
	(void)snprintf(path, sizeof(path), "%s/transport", dir);
	assert_int_equal(
	    route_table_load(AT_FDCWD, path, &t, err, sizeof(err)), 0);
	route_table_free(t);
	assert_int_equal(unlinkat(dfd, "link", 0), 0);
	assert_int_equal(unlinkat(dfd, "transport", 0), 0);
	(void)close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

/* The tls= column: the policy of the entry a domain matches. */
static void
test_tls_policy(void **state)
{
	struct route_table *t;
	char hop[ROUTE_NEXTHOP_MAX + 1];

	(void)state;
	t = parse_ok("example.org [10.0.0.1]:2525 tls=verify\n"
		     ".example.org - tls=encrypt # MX, but encrypted\n"
		     "c.example.org - TLS=None\n"
		     "smtps.test [192.0.2.1]:465 tls=wrapper\n"
		     "plain.test relay.test\n");
	assert_int_equal(route_table_count(t), 5);
	assert_int_equal(route_table_tls(t, "example.org"), CONFIG_TLSC_VERIFY);
	assert_int_equal(
	    route_table_lookup(t, "example.org", hop, sizeof(hop)), 1);
	assert_string_equal(hop, "[10.0.0.1]:2525");
	/* "-": no next hop from the map, but its policy holds. */
	assert_int_equal(route_table_lookup(t, "a.example.org", hop, 4), 0);
	assert_int_equal(
	    route_table_tls(t, "A.Example.ORG."), CONFIG_TLSC_ENCRYPT);
	/* The most specific entry wins, even a "-" one. */
	assert_int_equal(route_table_tls(t, "c.example.org"), CONFIG_TLSC_NONE);
	assert_int_equal(
	    route_table_tls(t, "x.c.example.org"), CONFIG_TLSC_ENCRYPT);
	assert_int_equal(route_table_tls(t, "smtps.test"), CONFIG_TLSC_WRAPPER);
	assert_int_equal(route_table_tls(t, "plain.test"), -1);
	assert_int_equal(route_table_tls(t, "other.test"), -1);
	assert_int_equal(route_table_tls(NULL, "example.org"), -1);
	route_table_free(t);
}

/* Recipients under another tls= never share a hop key (a connection). */
static void
test_hopkey_policy(void **state)
{
	struct route_table *t;
	struct config cfg;
	char key[ROUTE_HOPKEY_MAX + 1], tiny[12];

	(void)state;
	config_defaults(&cfg);
	(void)strlcpy(cfg.smarthost, "[smart.test]:587", sizeof(cfg.smarthost));
	t = parse_ok("verify.test - tls=verify\n"
		     "routed.test [10.0.0.1] tls=none\n"
		     "plain.test [10.0.0.1]\n");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@plain.test>", key, sizeof(key)), 0);
	assert_string_equal(key, "[10.0.0.1]");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@routed.test>", key, sizeof(key)), 0);
	assert_string_equal(key, "[10.0.0.1] tls=none");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@verify.test>", key, sizeof(key)), 0);
	assert_string_equal(key, "[smart.test]:587 tls=verify");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@other.test>", key, sizeof(key)), 0);
	assert_string_equal(key, "[smart.test]:587");
	/* MX routing keeps the domain as the key. */
	cfg.smarthost[0] = '\0';
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@verify.test>", key, sizeof(key)), 0);
	assert_string_equal(key, "verify.test tls=verify");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@verify.test>", tiny, sizeof(tiny)),
	    -EINVAL);
	route_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_nexthop),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_tls_policy),
		cmocka_unit_test(test_hopkey_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
