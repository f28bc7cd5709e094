/*
 * Unit tests for lib/authsenders: the auth_senders syntax (errors name
 * FILE:LINE), matching per login (exact address, @domain, ASCII case
 * ignored, no subdomain, another login's address refused) and the load
 * rules (root's, not writable by others).
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

#include "authsenders.h"
#include "config.h"
#include "tmptree.h"

static const char map[] =
    "# who may send as whom\n"
    "alice: alice@example.org, Alice.Smith@Example.ORG\n"
    "\n"
    "bob@example.org:\t@sales.example  bob@example.org\r\n"
    "carol:carol@other.example";

static void
test_match(void **state)
{
	static const struct {
		const char *login, *local, *domain;
		int want;
	} m[] = {
		{ "alice", "alice", "example.org", 1 },
		{ "alice", "ALICE", "example.org", 1 },
		{ "alice", "alice.smith", "example.org", 1 },
		{ "alice", "bob", "example.org", 0 },
		{ "alice", "\"alice\"", "example.org", 0 }, /* quoted: no */
		{ "bob@example.org", "anyone", "sales.example", 1 },
		{ "bob@example.org", "anyone", "x.sales.example", 0 },
		{ "bob@example.org", "bob", "example.org", 1 },
		{ "bob@example.org", "alice", "example.org", 0 },
		{ "carol", "carol", "other.example", 1 },
		{ "carol", "alice", "example.org", 0 },
		{ "Alice", "alice", "example.org", 0 }, /* logins exact */
		{ "dave", "dave", "example.org", 0 }, /* not listed */
	};
	struct authsenders *t = NULL;
	struct config_error err;
	size_t i;

	(void)state;
	if (authsenders_parse(map, strlen(map), "m", &t, &err) != 0)
		fail_msg("%zu: %s", err.line, err.msg);
	assert_int_equal(authsenders_count(t), 5);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (authsenders_match(t, m[i].login, m[i].local, m[i].domain) !=
		    m[i].want)
			fail_msg("%s as %s@%s: want %d", m[i].login, m[i].local,
			    m[i].domain, m[i].want);
	authsenders_free(t);
	assert_int_equal(
	    authsenders_match(NULL, "alice", "alice", "example.org"), 0);
}

static void
expect_err(const char *text, size_t line, const char *msg)
{
	struct authsenders *t = (struct authsenders *)1;
	struct config_error err;
	char buf[512], want[512];

	assert_int_equal(
	    authsenders_parse(text, strlen(text), "/s", &t, &err), -EINVAL);
	assert_null(t);
	config_error_format(&err, buf, sizeof(buf));
	snprintf(want, sizeof(want), "/s:%zu: %s", line, msg);
	if (strcmp(buf, want) != 0)
		fail_msg("'%s': got '%s' want '%s'", text, buf, want);
}

static void
test_errors(void **state)
{
	const char *inv = "invalid sender (want local@domain or @domain)";

	(void)state;
	expect_err("alice a@x\n", 1, "want 'login: sender, ...'");
	expect_err("a b: a@x\n", 1, "invalid login");
	expect_err("a:\n", 1, "no sender for 'a'");
	expect_err("a: a@x\n\na: b@x\n", 3, "login 'a' listed twice");
	expect_err("a: user\n", 1, inv);
	expect_err("a: a@[192.0.2.1]\n", 1, inv);
	expect_err("a: a%b@x\n", 1, inv);
	expect_err("a: \"a b\"@x\n", 1, inv);
	expect_err("a: @\n", 1, inv);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_authsenders.XXXXXX", msg[600];
	struct authsenders *t = NULL;
	struct config_error err;
	int fd, dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	fd = openat(dfd, "s", O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, map, strlen(map)), (ssize_t)strlen(map));
	assert_int_equal(authsenders_load(dfd, "", &t, &err), 0);
	assert_null(t);
	if (geteuid() == 0) {
		assert_int_equal(authsenders_load(dfd, "/s", &t, &err), 0);
		assert_int_equal(authsenders_count(t), 5);
		authsenders_free(t);
		assert_int_equal(fchmod(fd, 0660), 0);
		assert_int_equal(authsenders_load(dfd, "/s", &t, &err), -EPERM);
		config_error_format(&err, msg, sizeof(msg));
		assert_string_equal(
		    msg, "/s: writable by group or others (chmod go-w)");
	}
	(void)close(fd);
	assert_int_equal(authsenders_load(dfd, "nope", &t, &err), -ENOENT);
	(void)close(dfd);
	assert_int_equal(tmptree_remove_at(AT_FDCWD, dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
