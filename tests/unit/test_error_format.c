/*
 * Unit tests for the error formatters of lib/layout.c and lib/accountdb.c:
 * "FILE:LINE: MSG", "FILE: MSG" without a line, the errno text when the
 * error holds no message, and truncation that keeps the file and line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "accountdb.h"
#include "layout.h"

static void
test_layout(void **state)
{
	struct layout_error e = { .file = "layout",
		.line = 12,
		.msg = "mode: files never get execute or set-id bits" };
	char buf[128], small[12];

	(void)state;
	layout_error_format(&e, buf, sizeof(buf));
	assert_string_equal(
	    buf, "layout:12: mode: files never get execute or set-id bits");
	layout_error_format(&e, small, sizeof(small));
	assert_string_equal(small, "layout:12: ");
	e.line = 0;
	(void)strlcpy(e.msg, "not a regular file", sizeof(e.msg));
	layout_error_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "layout: not a regular file");
}

static void
test_accountdb(void **state)
{
	struct db_error e = { .file = "etc/passwd",
		.line = 3,
		.msg = "bad field count (6, want 7)" };
	char buf[128];

	(void)state;
	accountdb_error_format(&e, -EINVAL, buf, sizeof(buf));
	assert_string_equal(buf, "etc/passwd:3: bad field count (6, want 7)");
	e.line = 0;
	(void)strlcpy(
	    e.msg, "cannot write: No space left on device", sizeof(e.msg));
	accountdb_error_format(&e, -ENOSPC, buf, sizeof(buf));
	assert_string_equal(
	    buf, "etc/passwd: cannot write: No space left on device");
	e.msg[0] = '\0';
	accountdb_error_format(&e, -EACCES, buf, sizeof(buf));
	assert_string_equal(buf, "etc/passwd: Permission denied");
	/* accountdb_load() out of memory before it names a file */
	memset(&e, 0, sizeof(e));
	accountdb_error_format(&e, -ENOMEM, buf, sizeof(buf));
	assert_string_equal(buf, "Cannot allocate memory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_accountdb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
