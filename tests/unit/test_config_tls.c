/*
 * Unit tests for the TLS keys of relayd.conf: the server's (tls_cert,
 * tls_key, tls, tls_min_version, tls_ciphers, /tls and /starttls
 * listeners), the delivery TLS and AUTH keys (smtp_tls, smtp_tls_ca_file,
 * smarthost_tls, smarthost_auth), and the smarthost credentials file
 * parser (authfile_parse).
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
#include "config_fixture.h"

static struct config_error err;

static void
test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("[relayd]\n", &err), 0);
	assert_int_equal(cfg->smtp_tls, CONFIG_TLSC_MAY);
	assert_int_equal(cfg->smarthost_tls, CONFIG_TLSC_MAY);
	assert_string_equal(cfg->smtp_tls_ca_file, "");
	assert_string_equal(cfg->smarthost_auth, "");
	/* smarthost_tls follows smtp_tls unless set. */
	assert_int_equal(parse("[relayd]\nsmtp_tls = verify\n", &err), 0);
	assert_int_equal(cfg->smarthost_tls, CONFIG_TLSC_VERIFY);
	assert_int_equal(
	    parse("[relayd]\nsmtp_tls = verify\nsmarthost_tls = none\n", &err),
	    0);
	assert_int_equal(cfg->smtp_tls, CONFIG_TLSC_VERIFY);
	assert_int_equal(cfg->smarthost_tls, CONFIG_TLSC_NONE);
}

static void
test_values(void **state)
{
	(void)state;
	assert_int_equal(parse("[relayd]\nsmarthost = [a.example]:465\n"
			       "smarthost_tls = wrapper\n"
			       "smtp_tls_ca_file = /etc/mail/ca.pem\n"
			       "smarthost_auth = /etc/mail/smarthost.auth\n",
			     &err),
	    0);
	assert_int_equal(cfg->smarthost_tls, CONFIG_TLSC_WRAPPER);
	assert_string_equal(cfg->smtp_tls_ca_file, "/etc/mail/ca.pem");
	assert_string_equal(cfg->smarthost_auth, "/etc/mail/smarthost.auth");
	assert_int_equal(parse("[relayd]\nsmtp_tls = encrypt\n", &err), 0);
	assert_int_equal(cfg->smtp_tls, CONFIG_TLSC_ENCRYPT);
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
			       "smarthost_auth = /etc/mail/a\n",
			     &err),
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

static void
test_tls(void **state)
{
	(void)state;
	expect_ok("[relayd]\nlisten = 127.0.0.1:25\n");
	assert_int_equal(cfg->tls, CONFIG_TLS_NONE);
	assert_int_equal(cfg->listen[0].tls, 0);
	expect_ok("[relayd]\ntls_cert = /etc/mail/c.pem\n"
		  "tls_key = /etc/mail/k.key\n");
	assert_string_equal(cfg->tls_cert, "/etc/mail/c.pem");
	assert_string_equal(cfg->tls_key, "/etc/mail/k.key");
	assert_int_equal(cfg->tls, CONFIG_TLS_MAY); /* the default with both */
	expect_ok("[relayd]\ntls = encrypt\ntls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->tls, CONFIG_TLS_ENCRYPT);
	expect_ok("[relayd]\ntls = none\ntls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->tls, CONFIG_TLS_NONE);
	expect_ok("[relayd]\ntls = none\n");
	expect_ok("[relayd]\nlisten = 127.0.0.1:25, *:465/tls\n"
		  "tls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:25");
	assert_int_equal(cfg->listen[0].tls, 0);
	assert_string_equal(cfg->listen[1].text, "0.0.0.0:465");
	assert_int_equal(cfg->listen[1].tls, 1);
	assert_string_equal(cfg->listen[2].text, "[::]:465");
	assert_int_equal(cfg->listen[2].tls, 1);

	expect_err("[relayd]\ntls = maybe\n", 2, "tls", "want none, may");
	expect_err("[relayd]\ntls = MAY\n", 2, "tls", "want none, may");
	expect_err(
	    "[relayd]\n\ntls = may\n", 3, "tls", "needs tls_cert and tls_key");
	expect_err("[relayd]\ntls = encrypt\ntls_cert = /c\n", 3, "tls_cert",
	    "needs tls_key");
	expect_err("[relayd]\ntls_cert = /c\n", 2, "tls_cert", "needs tls_key");
	expect_err(
	    "[relayd]\n#\ntls_key = /k\n", 3, "tls_key", "needs tls_cert");
	expect_err(
	    "[relayd]\ntls_cert = c.pem\n", 2, "tls_cert", "invalid value");
	expect_err("[relayd]\ntls_key = /k\ntls_key = /k\n", 3, "tls_key",
	    "duplicate key");
	expect_err("[relayd]\nlisten = 127.0.0.1:465/tls\n", 2, "listen",
	    "a /tls or /starttls listener needs tls_cert and tls_key");
	expect_err("[relayd]\nlisten = 127.0.0.1:587/starttls\n", 2, "listen",
	    "a /tls or /starttls listener needs tls_cert and tls_key");
	expect_ok("[relayd]\nlisten = 127.0.0.1:25, 127.0.0.1:587/starttls\n"
		  "tls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->listen[0].tls, CONFIG_LISTEN_PLAIN);
	assert_int_equal(cfg->listen[1].tls, CONFIG_LISTEN_STARTTLS);
	assert_string_equal(cfg->listen[1].text, "127.0.0.1:587");
	/* Protocols and ciphers: only with a certificate to serve. */
	assert_int_equal(cfg->tls_min_version, 12);
	assert_string_equal(cfg->tls_ciphers, "");
	expect_ok("[relayd]\ntls_cert = /c\ntls_key = /k\n"
		  "tls_min_version = TLSv1.3\n"
		  "tls_ciphers = ECDHE+AESGCM:!aNULL:@STRENGTH\n");
	assert_int_equal(cfg->tls_min_version, 13);
	assert_string_equal(cfg->tls_ciphers, "ECDHE+AESGCM:!aNULL:@STRENGTH");
	expect_err("[relayd]\ntls_cert = /c\ntls_key = /k\n"
		   "tls_min_version = TLSv1.1\n",
	    4, "tls_min_version", "want TLSv1.2 or TLSv1.3");
	expect_err("[relayd]\ntls_min_version = TLSv1.3\n", 2,
	    "tls_min_version", "needs tls_cert and tls_key");
	expect_err("[relayd]\ntls_ciphers = HIGH\n", 2, "tls_ciphers",
	    "needs tls_cert and tls_key");
	expect_err("[relayd]\ntls_cert = /c\ntls_key = /k\n"
		   "tls_ciphers = HIGH LOW\n",
	    4, "tls_ciphers", "invalid value");
	expect_err("[relayd]\nlisten = 127.0.0.1:465/ssl\n"
		   "tls_cert = /c\ntls_key = /k\n",
	    2, "listen", "invalid address");
	expect_err("[relayd]\nlisten = 127.0.0.1:465/tls/tls\n"
		   "tls_cert = /c\ntls_key = /k\n",
	    2, "listen", "invalid address");
	expect_err("[relayd]\nlisten = 127.0.0.1:25, 127.0.0.1:25/tls\n"
		   "tls_cert = /c\ntls_key = /k\n",
	    2, "listen", "listed twice");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_authfile),
	};

	return cmocka_run_group_tests(tests, config_setup, config_teardown);
}
