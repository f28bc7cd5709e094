/*
 * Unit tests for lib/mode.c: parsing of octal and symbolic modes, the
 * desired bits of a rule (the article's chmod -R g+r / g+s cases) and
 * formatting.
 */
#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mode.h"

static mode_t
octal(const char *s)
{
	mode_t m = 0777777;

	assert_int_equal(mode_parse_octal(s, &m), 0);
	return m;
}

static mode_t
sym(const char *s)
{
	mode_t m = 0777777;

	assert_int_equal(mode_parse_symbolic(s, &m), 0);
	return m;
}

static void
test_octal_good(void **state)
{
	(void)state;
	assert_int_equal(octal("0640"), 0640);
	assert_int_equal(octal("2750"), 02750);
	assert_int_equal(octal("7777"), 07777);
	assert_int_equal(octal("0"), 0);
	assert_int_equal(octal("755"), 0755);
	assert_int_equal(octal("01"), 01);
}

static void
test_octal_bad(void **state)
{
	static const char *bad[] = { "", "8", "0648", "07555", "12345", "+644",
		"-644", " 644", "644 ", "0x1f", "rw", "0o644" };
	mode_t m = 0123;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mode_parse_octal(bad[i], &m), -EINVAL);
		assert_int_equal(m, 0123); /* untouched on error */
	}
}

static void
test_symbolic_good(void **state)
{
	(void)state;
	assert_int_equal(sym("g+r"), 040);
	assert_int_equal(sym("g+rx"), 050);
	assert_int_equal(sym("go+w"), 022);
	assert_int_equal(sym("o+w"), 02);
	assert_int_equal(sym("a+r"), 0444);
	assert_int_equal(sym("ugo+rwx"), 0777);
	assert_int_equal(sym("u+s,g+s,o+rwx"), S_ISUID | S_ISGID | 07);
	assert_int_equal(sym("u+s"), S_ISUID);
	assert_int_equal(sym("g+s"), S_ISGID);
	assert_int_equal(sym("a+s"), S_ISUID | S_ISGID);
	assert_int_equal(sym("o+t"), S_ISVTX);
	assert_int_equal(sym("a+t"), S_ISVTX);
	assert_int_equal(sym("g+w,o+w"), 022);
	assert_int_equal(sym("g+w,o+w,u+s,g+s"), 022 | S_ISUID | S_ISGID);
	assert_int_equal(sym("u+rw,u+x"), 0700); /* clauses accumulate */
}

static void
test_symbolic_bad(void **state)
{
	static const char *bad[] = { "", "+r", "g", "g+", "g-r", "g=r", "g+q",
		"g+X", "x+r", "g+r,", ",g+r", "g+r,,o+w", "o+s", "g + r", "G+r",
		"0640", "g+r o+w" };
	mode_t m = 0123;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(mode_parse_symbolic(bad[i], &m), -EINVAL);
		assert_int_equal(m, 0123);
	}
}

/* chmod -R g+r over a tree: files gain only r, dirs (require=g+rx) r and x. */
static void
test_desired_chmod_g_r(void **state)
{
	struct moderule f = { .require = 040, .forbid = 02 };
	struct moderule d = { .require = 050, .forbid = 02 };

	(void)state;
	assert_int_equal(mode_desired(&f, 0600, 0), 0640);
	assert_int_equal(mode_desired(&f, 0644, 0), 0644);
	assert_int_equal(mode_desired(&f, 0646, 0), 0644); /* o+w removed */
	assert_int_equal(
	    mode_desired(&f, 0700, 0), 0740); /* x kept, not added */
	assert_int_equal(mode_desired(&d, 0700, 1), 0750);
	assert_int_equal(mode_desired(&d, 0755, 1), 0755);
	assert_int_equal(mode_desired(&d, 0777, 1), 0775);
}

/* Never x (or set-id, sticky) on files, even when the rule asks for it. */
static void
test_desired_never_x_on_files(void **state)
{
	struct moderule r = { .require = 0050 | S_ISUID | S_ISGID | S_ISVTX };

	(void)state;
	assert_int_equal(mode_desired(&r, 0600, 0), 0640);
	assert_int_equal(
	    mode_desired(&r, 0600, 1), 0650 | S_ISUID | S_ISGID | S_ISVTX);
}

/* g+s on directories only: the setgid flag never reaches a file. */
static void
test_desired_setgid(void **state)
{
	struct moderule r = { .require = 050, .forbid = 02, .setgid = 1 };

	(void)state;
	assert_int_equal(mode_desired(&r, 0700, 1), 02750);
	assert_int_equal(mode_desired(&r, 02750, 1), 02750);
	assert_int_equal(mode_desired(&r, 0600, 0), 0640);
}

static void
test_desired_forbid_setid(void **state)
{
	struct moderule r = { .require = 040,
		.forbid = 022 | S_ISUID | S_ISGID };

	(void)state;
	assert_int_equal(mode_desired(&r, 04755, 0), 0755);
	assert_int_equal(mode_desired(&r, 06775, 0), 0755);
	assert_int_equal(mode_desired(&r, 02600, 0), 0640);
	assert_int_equal(mode_desired(&r, 02770, 1), 0750);
}

static void
test_desired_absolute(void **state)
{
	struct moderule spool = { .has_mode = 1, .mode = 0700 };
	struct moderule conf = { .has_mode = 1, .mode = 0750, .setgid = 1 };
	struct moderule file = { .has_mode = 1, .mode = 0640, .setgid = 1 };

	(void)state;
	/* An absolute mode ignores the current bits entirely. */
	assert_int_equal(mode_desired(&spool, 0777, 1), 0700);
	assert_int_equal(mode_desired(&spool, 02755 | S_IFDIR, 1), 0700);
	assert_int_equal(mode_desired(&conf, 0, 1), 02750);
	assert_int_equal(mode_desired(&conf, 04777, 1), 02750);
	assert_int_equal(mode_desired(&file, 0644, 0), 0640);
}

static void
test_format(void **state)
{
	char buf[16], small[4];

	(void)state;
	assert_int_equal(mode_format(0750, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0750");
	assert_int_equal(mode_format(02750, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2750");
	assert_int_equal(mode_format(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0000");
	assert_int_equal(mode_format(S_IFDIR | 0700, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0700");
	assert_int_equal(mode_format(0750, buf, 5), 0);
	assert_int_equal(
	    mode_format(0750, small, sizeof(small)), -ENAMETOOLONG);
}

static void
test_format_symbolic(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(mode_format_symbolic(02750, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "drwxr-s---");
	assert_int_equal(mode_format_symbolic(0640, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-rw-r-----");
	assert_int_equal(mode_format_symbolic(02640, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-rw-r-S---");
	assert_int_equal(mode_format_symbolic(04755, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "-rwsr-xr-x");
	assert_int_equal(mode_format_symbolic(01777, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "drwxrwxrwt");
	assert_int_equal(mode_format_symbolic(01000, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "d--------T");
	assert_int_equal(mode_format_symbolic(0640, 0, buf, 10), -ENAMETOOLONG);
}

static void
test_format_plus(void **state)
{
	static const char *round[] = { "g+r", "g+rx", "g+w,o+w",
		"u+s,g+s,o+rwx", "u+rwx,g+rx,o+rx", "o+t", "g+s" };
	char buf[32];
	mode_t m;
	size_t i;

	(void)state;
	assert_int_equal(mode_format_plus(0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(mode_format_plus(S_ISUID | 0700, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "u+rwxs");
	for (i = 0; i < sizeof(round) / sizeof(round[0]); i++) {
		m = sym(round[i]);
		assert_int_equal(mode_format_plus(m, buf, sizeof(buf)), 0);
		assert_string_equal(buf, round[i]);
	}
	assert_int_equal(mode_format_plus(022, buf, 7), -ENAMETOOLONG);
	assert_int_equal(mode_format_plus(022, buf, 8), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_octal_good),
		cmocka_unit_test(test_octal_bad),
		cmocka_unit_test(test_symbolic_good),
		cmocka_unit_test(test_symbolic_bad),
		cmocka_unit_test(test_desired_chmod_g_r),
		cmocka_unit_test(test_desired_never_x_on_files),
		cmocka_unit_test(test_desired_setgid),
		cmocka_unit_test(test_desired_forbid_setid),
		cmocka_unit_test(test_desired_absolute),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_symbolic),
		cmocka_unit_test(test_format_plus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
