/*
 * Unit tests for the delivery TLS and AUTH keys of relayd.conf
 * (smtp_tls, smtp_tls_ca_file, smarthost_tls, smarthost_auth) and for the
 * smarthost credentials file parser (authfile_parse).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "authfile.h"
#include "config.h"

static struct config cfg;
static struct config_error err;

static int
parse(const char *text)
{
	config_defaults(&cfg);
	return config_parse(text, strlen(text), "t.conf", &cfg, &err);
}

static void
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("[relayd]\n"), 0);
	assert_int_equal(cfg.smtp_tls, CONFIG_TLSC_MAY);
	assert_int_equal(cfg.smarthost_tls, CONFIG_TLSC_MAY);
	assert_string_equal(cfg.smtp_tls_ca_file, "");
	assert_string_equal(cfg.smarthost_auth, "");
	/* smarthost_tls follows smtp_tls unless set. */
	assert_int_equal(parse("[relayd]\nsmtp_tls = verify\n"), 0);
	assert_int_equal(cfg.smarthost_tls, CONFIG_TLSC_VERIFY);
	assert_int_equal(
	    parse("[relayd]\nsmtp_tls = verify\nsmarthost_tls = none\n"), 0);
	assert_int_equal(cfg.smtp_tls, CONFIG_TLSC_VERIFY);
	assert_int_equal(cfg.smarthost_tls, CONFIG_TLSC_NONE);
}

static void
test_values(void **state)
{
	(void)state;
	assert_int_equal(parse("[relayd]\nsmarthost = [a.example]:465\n"
			       "smarthost_tls = wrapper\n"
			       "smtp_tls_ca_file = /etc/mail/ca.pem\n"
			       "smarthost_auth = /etc/mail/smarthost.auth\n"),
	    0);
	assert_int_equal(cfg.smarthost_tls, CONFIG_TLSC_WRAPPER);
	assert_string_equal(cfg.smtp_tls_ca_file, "/etc/mail/ca.pem");
	assert_string_equal(cfg.smarthost_auth, "/etc/mail/smarthost.auth");
	assert_int_equal(parse("[relayd]\nsmtp_tls = encrypt\n"), 0);
	assert_int_equal(cfg.smtp_tls, CONFIG_TLSC_ENCRYPT);
}

static void
expect_err(const char *text, size_t line, const char *key, const char *part)
{
	assert_int_equal(parse(text), -EINVAL);
	assert_int_equal(err.line, line);
	assert_string_equal(err.key, key);
	if (strstr(err.msg, part) == NULL)
		fail_msg("'%s' lacks '%s'", err.msg, part);
}

static void
test_errors(void **state)
{
	(void)state;
	/* wrapper is for the smarthost alone. */
	expect_err("[relayd]\nsmtp_tls = wrapper\n", 2, "smtp_tls",
	    "want none, may, encrypt, verify, not");
	expect_err("[relayd]\nsmarthost_tls = tls\n", 2, "smarthost_tls",
	    "verify or wrapper");
	expect_err("[relayd]\nsmtp_tls_ca_file = ca.pem\n", 2,
	    "smtp_tls_ca_file", "invalid value");
	expect_err("[relayd]\n\nsmarthost_auth = /etc/mail/a\n", 3,
	    "smarthost_auth", "needs a smarthost");
	expect_err("[relayd]\nsmarthost = [a.example]\nsmarthost_tls = none\n"
		   "smarthost_auth = /etc/mail/a\n",
	    4, "smarthost_auth", "only sent over TLS");
	/* smtp_tls none is not smarthost_tls none when that one is set. */
	assert_int_equal(parse("[relayd]\nsmarthost = [a.example]\n"
			       "smtp_tls = none\nsmarthost_tls = verify\n"
			       "smarthost_auth = /etc/mail/a\n"),
	    0);
}

static void
expect_auth(const char *text, const char *user, const char *pass)
{
	struct authfile a;
	char why[200];

	if (authfile_parse(text, strlen(text), &a, why, sizeof(why)) != 0)
		fail_msg("'%s': %s", text, why);
	assert_string_equal(a.user, user);
	assert_string_equal(a.pass, pass);
}

static void
expect_auth_err(const char *text, size_t len, const char *part)
{
	struct authfile a;
	char why[200];

	assert_int_equal(
	    authfile_parse(text, len, &a, why, sizeof(why)), -EINVAL);
	if (strstr(why, part) == NULL)
		fail_msg("'%s' lacks '%s'", why, part);
	assert_string_equal(a.pass, "");
}

static void
test_authfile(void **state)
{
	char big[600];

	(void)state;
	expect_auth("u p\n", "u", "p");
	expect_auth("# login\n\nuser@example.net  pass word \r\n",
	    "user@example.net", "pass word");
	expect_auth("user:pa:ss", "user", "pa:ss");
	expect_auth("user\tsecret\n", "user", "secret");
	expect_auth_err("", 0, "no credentials line");
	expect_auth_err("# only\n\n", 8, "no credentials line");
	expect_auth_err("user\n", 5, "line 1: want");
	expect_auth_err("user:\n", 6, "line 1: want");
	expect_auth_err(":pass\n", 6, "line 1: want");
	expect_auth_err("a b\nc d\n", 8, "line 2: a second");
	expect_auth_err("a b\x01x\n", 6, "line 1: want");
	expect_auth_err("a b\0c\n", 6, "NUL");
	memset(big, 'x', sizeof(big));
	big[0] = 'u';
	big[1] = ' ';
	expect_auth_err(big, sizeof(big), "line 1: want");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_authfile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
