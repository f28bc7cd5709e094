/*
 * Unit tests for lib/tablefile's line splitter, shared by the root-read
 * tables (relay_recipients, auth_users, auth_senders): the length limit
 * counts the LF, CR LF ends a line too, a NUL or an overlong line names
 * its line, comments and blank lines never reach the callback, the last
 * line needs no LF, and a callback's error stops the walk.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tablefile.h"

struct seen {
	char text[8][64];
	size_t line[8];
	size_t n;
	size_t fail_on; /* line number to refuse, 0: none */
};

static int
collect(void *arg, char *line, size_t lineno, struct config_error *err)
{
	struct seen *s = arg;

	if (lineno == s->fail_on)
		return tablefile_err(err, lineno, "refused '%s'", line);
	assert_true(s->n < 8);
	(void)snprintf(s->text[s->n], sizeof(s->text[0]), "%s", line);
	s->line[s->n++] = lineno;
	return 0;
}

/* Runs tablefile_lines on a writable copy of text[0..len). */
static int
run(const char *text, size_t len, size_t max, struct seen *s,
    struct config_error *err)
{
	char buf[256];

	assert_true(len < sizeof(buf));
	memcpy(buf, text, len);
	memset(err, 0, sizeof(*err));
	return tablefile_lines(buf, len, max, collect, s, err);
}

static void
test_lines(void **state)
{
	static const char text[] = "# comment\n"
				   "a: x\r\n"
				   "\n"
				   "   \t\n"
				   "  # indented comment\n"
				   " b\n"
				   "last";
	struct config_error err;
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(run(text, strlen(text), 64, &s, &err), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[0], "a: x");
	assert_int_equal(s.line[0], 2);
	assert_string_equal(s.text[1], " b");
	assert_int_equal(s.line[1], 6);
	assert_string_equal(s.text[2], "last");
	assert_int_equal(s.line[2], 7);
}

static void
test_limits(void **state)
{
	struct config_error err;
	struct seen s = { 0 };

	(void)state;
	/* max counts the LF: 4 octets of text and a LF fit in 5. */
	assert_int_equal(run("abcd\n", 5, 5, &s, &err), 0);
	assert_int_equal(run("ok\nabcde\n", 9, 5, &s, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "line too long (max 4 bytes)");
	/* Without a LF at the end, the line alone counts. */
	s.n = 0;
	assert_int_equal(run("abcde", 5, 5, &s, &err), 0);
	assert_string_equal(s.text[0], "abcde");
	assert_int_equal(run("a\nb\0c\n", 6, 64, &s, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "NUL byte in line");
}

static void
test_callback_error(void **state)
{
	struct config_error err;
	struct seen s = { 0 };

	(void)state;
	s.fail_on = 2;
	assert_int_equal(run("a\nb\nc\n", 6, 64, &s, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_string_equal(err.msg, "refused 'b'");
	assert_int_equal(s.n, 1); /* c never seen */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_callback_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
