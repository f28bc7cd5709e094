/*
 * Unit tests for lib/recipients: the relay_recipients file syntax (errors
 * name FILE:LINE), matching (exact address, @domain wildcard, quotes and
 * ASCII case ignored, no subdomain match) and the safe load.
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
#include "recipients.h"

static const char table[] = "# relay recipients\n"
			    "alice@example.org\n"
			    "  Bob.Smith@Example.ORG   # trailing comment\n"
			    "\n"
			    "\t\"john doe\"@example.org\r\n"
			    "@whole.example\n"
			    "j\xc3\xb6rg@example.org\n"
			    "#@commented.example\n"
			    "carol@other.example";

static struct recipients *
parse_ok(const char *text)
{
	struct recipients *t = NULL;
	struct config_error err;
	int rv;

	rv = recipients_parse(text, strlen(text), "rr", &t, &err);
	if (rv != 0)
		fail_msg("%s:%zu: %s", err.file, err.line, err.msg);
	assert_non_null(t);
	return t;
}

static void
test_match(void **state)
{
	static const struct {
		const char *local, *domain;
		int want;
	} m[] = {
		{ "alice", "example.org", 1 },
		{ "ALICE", "example.org", 1 },
		{ "\"alice\"", "example.org", 1 },
		{ "\"al\\ice\"", "example.org", 1 },
		{ "bob.smith", "example.org", 1 },
		{ "\"John Doe\"", "example.org", 1 },
		{ "j\xc3\xb6rg", "example.org", 1 },
		{ "anyone", "whole.example", 1 },
		{ "\"any one\"", "whole.example", 1 },
		{ "carol", "other.example", 1 },
		/* not listed */
		{ "mallory", "example.org", 0 },
		{ "alice2", "example.org", 0 },
		{ "alic", "example.org", 0 },
		{ "john doe", "example.org", 1 }, /* the unquoted key */
		{ "johndoe", "example.org", 0 },
		{ "J\xc3\x96rg", "example.org", 0 }, /* only ASCII folds */
		{ "alice", "other.example", 0 },
		{ "carol", "example.org", 0 },
		{ "anyone", "sub.whole.example", 0 }, /* exact domain only */
		{ "anyone", "commented.example", 0 },
		{ "", "whole.example", 1 },
		{ "alice", "", 0 },
	};
	struct recipients *t = parse_ok(table);
	size_t i;

	(void)state;
	assert_int_equal(recipients_count(t), 6);
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (recipients_match(t, m[i].local, m[i].domain) != m[i].want)
			fail_msg("%s@%s: want %d", m[i].local, m[i].domain,
			    m[i].want);
	recipients_free(t);
	/* No table, or one without entries: nothing matches. */
	assert_int_equal(recipients_match(NULL, "alice", "example.org"), 0);
	t = parse_ok("# nothing\n\n");
	assert_int_equal(recipients_count(t), 0);
	assert_int_equal(recipients_match(t, "alice", "example.org"), 0);
	recipients_free(t);
	t = parse_ok("");
	assert_int_equal(recipients_count(t), 0);
	recipients_free(t);
	recipients_free(NULL);
}

static void
expect_errn(const char *text, size_t len, size_t line, const char *msg)
{
	struct recipients *t = (struct recipients *)1;
	struct config_error err;
	char buf[512], want[512];

	assert_int_equal(
	    recipients_parse(text, len, "/etc/mail/rr", &t, &err), -EINVAL);
	assert_null(t);
	config_error_format(&err, buf, sizeof(buf));
	snprintf(want, sizeof(want), "/etc/mail/rr:%zu: %s", line, msg);
	if (strcmp(buf, want) != 0)
		fail_msg("'%s': got '%s' want '%s'", text, buf, want);
}

static void
expect_err(const char *text, size_t line, const char *msg)
{
	expect_errn(text, strlen(text), line, msg);
}

static void
test_errors(void **state)
{
	char longline[2048];

	(void)state;
	expect_err("a@x\nb@x c@x\n", 2, "one address per line");
	expect_err(
	    "user\n", 1, "invalid address (want local@domain or @domain)");
	expect_err(
	    "postmaster\n", 1, "no domain (want local@domain or @domain)");
	expect_err("a@\n", 1, "invalid address (want local@domain or @domain)");
	expect_err("@\n", 1, "invalid address (want local@domain or @domain)");
	expect_err(
	    "a@x.\n", 1, "invalid address (want local@domain or @domain)");
	expect_err(
	    "<a@x>\n", 1, "invalid address (want local@domain or @domain)");
	expect_err(
	    "a>b@x\n", 1, "invalid address (want local@domain or @domain)");
	expect_err("\n\na%b@x\n", 3, "sender-specified routing in address");
	expect_err("a!b@x\n", 1, "sender-specified routing in address");
	expect_err("\"a@b\"@x\n", 1, "sender-specified routing in address");
	expect_err("a@b@x\n", 1, "sender-specified routing in address");
	expect_err("@@x\n", 1, "sender-specified routing in address");
	expect_err(
	    "a@[192.0.2.1]\n", 1, "address literal (never a relay domain)");
	expect_err(
	    "@[192.0.2.1]\n", 1, "address literal (never a relay domain)");
	expect_err(
	    "A@X\nb@x\na@x\n", 3, "duplicate entry 'a@x' (first on line 1)");
	expect_err(
	    "\"a\"@x\na@x\n", 2, "duplicate entry 'a@x' (first on line 1)");
	expect_err("@x\n@X\n", 2, "duplicate entry '@x' (first on line 1)");
	expect_errn("a@x\nb\0@x\n", 9, 2, "NUL byte in line");
	memset(longline, 'a', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	expect_err(longline, 1, "line too long (max 1023 bytes)");
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_recipients.XXXXXX", path[512];
	struct recipients *t = NULL;
	struct config_error err;
	char msg[600];
	int fd, dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	fd = openat(dfd, "rr", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(
	    write(fd, table, strlen(table)), (ssize_t)strlen(table));
	/* As if under --root: leading slashes are relative to rootfd. */
	assert_int_equal(recipients_load(dfd, "/rr", &t, &err), 0);
	assert_int_equal(recipients_count(t), 6);
	recipients_free(t);
	/* Writable by the group: the relay user could open the domain. */
	assert_int_equal(fchmod(fd, 0620), 0);
	assert_int_equal(recipients_load(dfd, "/rr", &t, &err), -EPERM);
	assert_null(t);
	config_error_format(&err, msg, sizeof(msg));
	assert_string_equal(
	    msg, "/rr: writable by group or others (chmod go-w)");
	assert_int_equal(fchmod(fd, 0640), 0);
	/* An error names the line. */
	assert_int_equal(write(fd, "\nx y\n", 5), 5);
	assert_int_equal(recipients_load(dfd, "rr", &t, &err), -EINVAL);
	config_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "rr:10: one address per line");
	(void)close(fd);
	assert_int_equal(symlinkat("rr", dfd, "link"), 0);
	assert_int_equal(recipients_load(dfd, "link", &t, &err), -ELOOP);
	assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
	assert_int_equal(recipients_load(dfd, "fifo", &t, &err), -EINVAL);
	assert_int_equal(recipients_load(dfd, "missing", &t, &err), -ENOENT);
	config_error_format(&err, msg, sizeof(msg));
	assert_string_equal(msg, "missing: No such file or directory");
	/* The key unset: no table at all. */
	t = (struct recipients *)1;
	assert_int_equal(recipients_load(dfd, "", &t, &err), 0);
	assert_null(t);
	(void)snprintf(path, sizeof(path), "%s/rr", dir);
	assert_int_equal(recipients_load(AT_FDCWD, path, &t, &err), -EINVAL);
	assert_int_equal(unlinkat(dfd, "fifo", 0), 0);
	assert_int_equal(unlinkat(dfd, "link", 0), 0);
	assert_int_equal(unlinkat(dfd, "rr", 0), 0);
	(void)close(dfd);
	assert_int_equal(rmdir(dir), 0);
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
