/*
 * Unit tests for lib/sasl: the strict base64 decoder (RFC 4648 vectors,
 * non-canonical forms refused, the output cap) and the SASL PLAIN split
 * (RFC 4616: two NULs, non-empty login and password, field caps).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sasl.h"

static void
test_b64_vectors(void **state)
{
	static const char *const v[][2] = { { "", "" }, { "f", "Zg==" },
		{ "fo", "Zm8=" }, { "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" } };
	unsigned char out[16];
	char enc[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(
		    sasl_b64_decode(v[i][1], strlen(v[i][1]), out, sizeof(out)),
		    (long)strlen(v[i][0]));
		assert_memory_equal(out, v[i][0], strlen(v[i][0]));
		assert_int_equal(
		    sasl_b64_encode(v[i][0], strlen(v[i][0]), enc, sizeof(enc)),
		    0);
		assert_string_equal(enc, v[i][1]);
	}
	assert_int_equal(sasl_b64_encode("foobar", 6, enc, 8), -E2BIG);
	assert_int_equal(sasl_b64_encode("foobar", 6, enc, 9), 0);
}

static void
test_b64_refused(void **state)
{
	static const char *const bad[] = { "Zg=", "Zg",
		"Z===", "====", "Zg==Zg==", "Zm9v Yg==", "Zm9v\r\n",
		"Zh==", "Zm9=", "Zm=v", "Zm9v*A==", "Zg=A", "\0\0\0\0" };
	unsigned char out[16];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sasl_b64_decode(bad[i], bad[i][0] ? strlen(bad[i]) : 4, out,
			sizeof(out)) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
	/* The cap: 6 octets do not fit in 5. */
	assert_int_equal(sasl_b64_decode("Zm9vYmFy", 8, out, 5), -E2BIG);
	assert_int_equal(sasl_b64_decode("Zm9vYmFy", 8, out, 6), 6);
}

static void
test_plain(void **state)
{
	struct sasl_plain p;
	unsigned char big[600];

	(void)state;
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"\0bob\0pw", 7, &p), 0);
	assert_string_equal(p.authzid, "");
	assert_string_equal(p.authcid, "bob");
	assert_string_equal(p.passwd, "pw");
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"z\0bob\0p w", 9, &p), 0);
	assert_string_equal(p.authzid, "z");
	assert_string_equal(p.passwd, "p w");
	/* Missing or extra NULs, empty login or password. */
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"bob\0pw", 6, &p), -EINVAL);
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"\0bob\0pw\0", 8, &p),
	    -EINVAL);
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"\0\0pw", 4, &p), -EINVAL);
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"\0bob\0", 5, &p), -EINVAL);
	assert_int_equal(
	    sasl_plain_parse((const unsigned char *)"", 0, &p), -EINVAL);
	/* A password over SASL_PASS_MAX is refused, and nothing is left. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "\0bob\0", 5);
	assert_int_equal(
	    sasl_plain_parse(big, 5 + SASL_PASS_MAX + 1, &p), -EINVAL);
	assert_string_equal(p.authcid, "");
	assert_int_equal(sasl_plain_parse(big, 5 + SASL_PASS_MAX, &p), 0);
	assert_int_equal(strlen(p.passwd), SASL_PASS_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_refused),
		cmocka_unit_test(test_plain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
