/*
 * Unit tests for the SMTP AUTH keys of relayd.conf (auth_users,
 * auth_max_failures): defaults, ranges, that a credentials file needs TLS
 * (AUTH is never offered in clear text), and that relayd.conf(5) and the
 * sample document both keys.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "config_fixture.h"

static void
test_keys(void **state)
{
	struct config_error err;

	(void)state;
	assert_int_equal(parse("[relayd]\n", &err), 0);
	assert_string_equal(cfg->auth_users, "");
	assert_int_equal(cfg->auth_max_failures, 3);
	assert_int_equal(parse("[relayd]\ntls_cert = /c\ntls_key = /k\n"
			       "auth_users = /etc/mail/relayd.passwd\n"
			       "auth_max_failures = 5\n",
			     &err),
	    0);
	assert_string_equal(cfg->auth_users, "/etc/mail/relayd.passwd");
	assert_int_equal(cfg->auth_max_failures, 5);
	/* Only a /tls listener, no STARTTLS: still TLS. */
	assert_int_equal(parse("[relayd]\ntls = none\ntls_cert = /c\n"
			       "tls_key = /k\nlisten = 127.0.0.1:465/tls\n"
			       "auth_users = /p\n",
			     &err),
	    0);
	expect_err(
	    "[relayd]\n\nauth_users = /p\n", 3, "auth_users", "needs TLS");
	expect_err("[relayd]\n#\nauth_senders = /s\n", 3, "auth_senders",
	    "needs auth_users");
	assert_int_equal(parse("[relayd]\ntls_cert = /c\ntls_key = /k\n"
			       "auth_users = /p\nauth_senders = /s\n",
			     &err),
	    0);
	assert_string_equal(cfg->auth_senders, "/s");
	expect_err(
	    "[relayd]\nauth_users = p\n", 2, "auth_users", "invalid value");
	expect_err("[relayd]\nauth_max_failures = 0\n", 2, "auth_max_failures",
	    "out of range");
	expect_err("[relayd]\nauth_max_failures = 32\n", 2,
	    "auth_max_failures", "out of range");
}

static char *
slurp(const char *path)
{
	static char buf[256 * 1024];
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
test_documented(void **state)
{
	static const char *const names[] = { "auth_users", "auth_max_failures",
		"auth_senders" };
	char line[128], *text;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		text = slurp(SRCDIR "/share/man/relayd.conf.5");
		snprintf(line, sizeof(line), "\n.It Ic %s ", names[i]);
		if (strstr(text, line) == NULL)
			fail_msg("relayd.conf.5 lacks '.It Ic %s'", names[i]);
		text = slurp(SRCDIR "/share/relayd.conf.sample");
		snprintf(line, sizeof(line), "\n%s =", names[i]);
		if (strstr(text, line) == NULL)
			fail_msg("sample lacks '%s ='", names[i]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_documented),
	};

	return cmocka_run_group_tests(tests, config_setup, config_teardown);
}
