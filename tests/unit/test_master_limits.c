/*
 * The master's per-client limits: who counts as one client (an IPv4
 * address, an IPv6 /64, an IPv4-mapped address as its IPv4 address), the
 * child table's per-client count, and the max_conn_rate windows.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "master_table.h"

static struct sockaddr_storage
addr(const char *text, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':') != NULL) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((in_port_t)port);
		assert_int_equal(
		    inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((in_port_t)port);
		assert_int_equal(inet_pton(AF_INET, text, &sin->sin_addr), 1);
	}
	return ss;
}

static int
same_client(const char *a, const char *b)
{
	struct sockaddr_storage sa = addr(a, 1025), sb = addr(b, 2049);
	struct master_client ca, cb;

	master_client_of(&sa, &ca);
	master_client_of(&sb, &cb);
	return memcmp(&ca, &cb, sizeof(ca)) == 0;
}

static void
test_client_grouping(void **state)
{
	(void)state;
	/* IPv4: the exact address, whatever the port. */
	assert_true(same_client("192.0.2.1", "192.0.2.1"));
	assert_false(same_client("192.0.2.1", "192.0.2.2"));
	/* IPv6: one /64 is one client ... */
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:2::1"));
	assert_true(same_client("2001:db8:1:2::1", "2001:db8:1:2:ffff:1:2:3"));
	assert_true(
	    same_client("2001:db8:1:2::", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
	/* ... and the next /64 another. */
	assert_false(same_client("2001:db8:1:2::1", "2001:db8:1:3::1"));
	assert_false(same_client("2001:db8:1:2::1", "2001:db9:1:2::1"));
	/* IPv4-mapped (a dual-stack listener): the IPv4 address, not ::ffff/64
	 * which would make all IPv4 clients one. */
	assert_true(same_client("::ffff:192.0.2.1", "192.0.2.1"));
	assert_false(same_client("::ffff:192.0.2.1", "::ffff:192.0.2.2"));
	assert_false(same_client("::ffff:192.0.2.1", "::1"));
	/* An IPv4 address and an IPv6 network with the same leading bytes. */
	assert_false(same_client("192.0.2.1", "c000:201::"));
}

static void
test_table_counts_by_client(void **state)
{
	struct master_table *t = master_table_new();
	struct sockaddr_storage a = addr("2001:db8:0:1::10", 1111);
	struct sockaddr_storage b = addr("2001:db8:0:1::20", 2222);
	struct sockaddr_storage c = addr("2001:db8:0:2::10", 3333);
	struct sockaddr_storage d = addr("198.51.100.7", 4444);
	struct sockaddr_storage e = addr("::ffff:198.51.100.7", 5555);

	(void)state;
	assert_non_null(t);
	assert_int_equal(master_table_add(t, 101, &a), 0);
	assert_int_equal(master_table_add(t, 102, &b), 0);
	assert_int_equal(master_table_add(t, 103, &c), 0);
	assert_int_equal(master_table_add(t, 104, &d), 0);
	assert_int_equal(master_table_count(t), 4);
	assert_int_equal(master_table_count_peer(t, &a), 2);
	assert_int_equal(master_table_count_peer(t, &c), 1);
	assert_int_equal(master_table_count_peer(t, &e), 1);
	assert_int_equal(master_table_remove(t, 101, NULL), 1);
	assert_int_equal(master_table_remove(t, 101, NULL), 0);
	assert_int_equal(master_table_count_peer(t, &b), 1);
	master_table_free(t);
}

static void
test_rate_window(void **state)
{
	struct master_rate *r = master_rate_new(MASTER_RATE_WINDOW);
	struct sockaddr_storage a = addr("2001:db8::1", 1);
	struct sockaddr_storage a2 = addr("2001:db8::2", 2);
	struct sockaddr_storage b = addr("203.0.113.5", 3);
	struct master_client ca, ca2, cb;
	size_t i;

	(void)state;
	assert_non_null(r);
	master_client_of(&a, &ca);
	master_client_of(&a2, &ca2);
	master_client_of(&b, &cb);
	for (i = 1; i <= 5; i++)
		assert_int_equal(master_rate_add(r, &ca, 1000, 1), i);
	/* The same /64 shares the count; another client has its own. */
	assert_int_equal(master_rate_add(r, &ca2, 1010, 1), 6);
	assert_int_equal(master_rate_add(r, &cb, 1010, 1), 1);
	/* The window is fixed from its first connection. */
	assert_int_equal(master_rate_add(r, &ca, 1059, 1), 7);
	assert_int_equal(master_rate_add(r, &ca, 1060, 1), 1);
	assert_int_equal(master_rate_add(r, &cb, 1069, 1), 2);
	assert_int_equal(master_rate_add(r, &cb, 1070, 1), 1);
	master_rate_free(r);
}

/* AUTH failures: counts of n at once, read back, an hour-long window. */
static void
test_rate_add_get(void **state)
{
	struct master_rate *r = master_rate_new(3600);
	struct master_table *t = master_table_new();
	struct sockaddr_storage a = addr("192.0.2.7", 1);
	struct sockaddr_storage b = addr("192.0.2.8", 2);
	struct master_client ca, cb, got;

	(void)state;
	assert_non_null(r);
	assert_non_null(t);
	master_client_of(&a, &ca);
	master_client_of(&b, &cb);
	assert_int_equal(master_rate_get(r, &ca, 100), 0);
	assert_int_equal(master_rate_add(r, &ca, 100, 2), 2);
	assert_int_equal(master_rate_add(r, &ca, 200, 3), 5);
	assert_int_equal(master_rate_get(r, &ca, 3699), 5);
	assert_int_equal(master_rate_get(r, &cb, 3699), 0);
	/* The window ended: nothing counts, and the next event restarts. */
	assert_int_equal(master_rate_get(r, &ca, 3700), 0);
	assert_int_equal(master_rate_add(r, &ca, 3700, 1), 1);
	/* The reaper learns the client of the child it removes. */
	assert_int_equal(master_table_add(t, 42, &b), 0);
	assert_int_equal(master_table_remove(t, 42, &got), 1);
	assert_memory_equal(&got, &cb, sizeof(got));
	master_table_free(t);
	master_rate_free(r);
}

static void
test_rate_full_table(void **state)
{
	struct master_rate *r = master_rate_new(MASTER_RATE_WINDOW);
	struct sockaddr_storage s;
	struct master_client c, first, second, other;
	char text[64];
	size_t i;

	(void)state;
	assert_non_null(r);
	/* MASTER_RATE_CLIENTS clients, the first two seen at 100 and 101. */
	for (i = 0; i < MASTER_RATE_CLIENTS; i++) {
		snprintf(text, sizeof(text), "10.%zu.%zu.1", i / 256, i % 256);
		s = addr(text, 1);
		master_client_of(&s, &c);
		if (i == 0)
			first = c;
		if (i == 1)
			second = c;
		assert_int_equal(master_rate_add(r, &c, i == 0 ? 100 : 101, 1), 1);
		if (i == 0)
			assert_int_equal(master_rate_add(r, &c, 100, 1), 2);
	}
	/* Full: a new client replaces the one whose window began first. */
	s = addr("192.0.2.99", 1);
	master_client_of(&s, &c);
	assert_int_equal(master_rate_add(r, &c, 120, 1), 1);
	assert_int_equal(master_rate_add(r, &c, 120, 1), 2);
	assert_int_equal(master_rate_add(r, &second, 120, 1), 2);
	/* The forgotten one starts again, evicting the next oldest. */
	assert_int_equal(master_rate_add(r, &first, 120, 1), 1);
	assert_int_equal(master_rate_add(r, &second, 120, 1), 1);
	/* Once their windows end, entries are reused before live ones. */
	s = addr("192.0.2.100", 1);
	master_client_of(&s, &other);
	assert_int_equal(master_rate_add(r, &other, 165, 1), 1);
	assert_int_equal(master_rate_add(r, &c, 165, 1), 3);
	assert_int_equal(master_rate_add(r, &first, 165, 1), 2);
	assert_int_equal(master_rate_add(r, &second, 165, 1), 2);
	master_rate_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_grouping),
		cmocka_unit_test(test_table_counts_by_client),
		cmocka_unit_test(test_rate_window),
		cmocka_unit_test(test_rate_add_get),
		cmocka_unit_test(test_rate_full_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
