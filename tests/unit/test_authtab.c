/*
 * Unit tests for lib/authtab: the auth_users syntax (errors name
 * FILE:LINE), verification with yescrypt and SHA-512 hashes (unknown
 * users fail), the load rules (root's, nobody else may read it) and the
 * line edit relayctl passwd uses.
 */
#include <sys/stat.h>

#include <crypt.h>
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

#include "authtab.h"
#include "config.h"
#include "tmptree.h"

static char yhash[CRYPT_OUTPUT_SIZE], shash[CRYPT_OUTPUT_SIZE];

static int
setup(void **state)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];

	(void)state;
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	(void)strlcpy(yhash, crypt("secret one", salt), sizeof(yhash));
	if (crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		return -1;
	(void)strlcpy(shash, crypt("secret two", salt), sizeof(shash));
	return 0;
}

static char *
table_text(void)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf), "# logins\n\nalice:%s\r\nbob@example.org:%s",
	    yhash, shash);
	return buf;
}

static void
test_verify(void **state)
{
	struct authtab *t = NULL;
	struct config_error err;
	const char *text = table_text();

	(void)state;
	assert_int_equal(authtab_parse(text, strlen(text), "pw", &t, &err), 0);
	assert_int_equal(authtab_count(t), 2);
	assert_int_equal(authtab_verify(t, "alice", "secret one"), 1);
	assert_int_equal(authtab_verify(t, "alice", "secret two"), 0);
	assert_int_equal(authtab_verify(t, "alice", ""), 0);
	assert_int_equal(authtab_verify(t, "bob@example.org", "secret two"), 1);
	assert_int_equal(authtab_verify(t, "Alice", "secret one"), 0);
	/* Unknown, even with a password that is some user's. */
	assert_int_equal(authtab_verify(t, "carol", "secret one"), 0);
	assert_int_equal(authtab_verify(t, "", "secret one"), 0);
	assert_int_equal(authtab_verify(NULL, "alice", "secret one"), 0);
	authtab_free(t);
	assert_int_equal(authtab_parse("", 0, "pw", &t, &err), 0);
	assert_int_equal(authtab_verify(t, "alice", "x"), 0);
	authtab_free(t);
}

static void
expect_err(const char *text, size_t len, size_t line, const char *msg)
{
	struct authtab *t = (struct authtab *)1;
	struct config_error err;
	char buf[512], want[512];

	assert_int_equal(authtab_parse(text, len, "/p", &t, &err), -EINVAL);
	assert_null(t);
	config_error_format(&err, buf, sizeof(buf));
	snprintf(want, sizeof(want), "/p:%zu: %s", line, msg);
	if (strcmp(buf, want) != 0)
		fail_msg("'%s': got '%s' want '%s'", text, buf, want);
}

static void
test_errors(void **state)
{
	char buf[2048];
	const char *hashmsg = "(want crypt(3) yescrypt '$y$' or SHA-512 "
			      "'$6$'; use relayctl passwd)";

	(void)state;
	expect_err("alice\n", 6, 1, "want 'user:hash'");
	expect_err("\n:x\n", 4, 2, "invalid user name");
	expect_err("a b:x\n", 6, 1, "invalid user name");
	snprintf(buf, sizeof(buf), "invalid hash for 'a' %s", hashmsg);
	expect_err("a:secret\n", 9, 1, buf);
	expect_err("a:$1$abc$def\n", 13, 1, buf); /* MD5: refused */
	expect_err("a:\n", 3, 1, buf);
	snprintf(buf, sizeof(buf), "invalid hash for 'a' %s", hashmsg);
	{
		char text[2048];
		size_t n;

		snprintf(text, sizeof(text), "a:%.400s \n", yhash);
		expect_err(text, strlen(text), 1, buf);
		snprintf(text, sizeof(text), "a:%.400s\nb:%.400s\na:%.400s\n",
		    yhash, yhash, shash);
		expect_err(text, strlen(text), 3, "duplicate user 'a'");
		snprintf(
		    text, sizeof(text), "a:%.400s\nbX:%.400s\n", yhash, yhash);
		n = strlen(text);
		text[strlen(yhash) + 4] = '\0'; /* the X */
		expect_err(text, n, 2, "NUL byte in line");
	}
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	expect_err(buf, strlen(buf), 1, "line too long (max 1023 bytes)");
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_authtab.XXXXXX", msg[600];
	const char *text = table_text();
	struct authtab *t = NULL;
	struct config_error err;
	int fd, dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	fd = openat(dfd, "pw", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(authtab_load(dfd, "", &t, &err), 0);
	assert_null(t);
	if (geteuid() == 0) {
		assert_int_equal(authtab_load(dfd, "/pw", &t, &err), 0);
		assert_int_equal(authtab_count(t), 2);
		authtab_free(t);
		/* Readable by the relay group: hashes to guess offline. */
		assert_int_equal(fchmod(fd, 0640), 0);
		assert_int_equal(authtab_load(dfd, "/pw", &t, &err), -EPERM);
		assert_null(t);
		config_error_format(&err, msg, sizeof(msg));
		assert_string_equal(msg,
		    "/pw: group or others may access it (want root:root "
		    "0600)");
		assert_int_equal(fchmod(fd, 0600), 0);
		assert_int_equal(fchown(fd, 1, 0), 0);
		assert_int_equal(authtab_load(dfd, "/pw", &t, &err), -EPERM);
		config_error_format(&err, msg, sizeof(msg));
		assert_string_equal(
		    msg, "/pw: not owned by root (want root:root 0600)");
	}
	(void)close(fd);
	assert_int_equal(symlinkat("pw", dfd, "link"), 0);
	assert_int_equal(authtab_load(dfd, "link", &t, &err), -ELOOP);
	assert_int_equal(authtab_load(dfd, "missing", &t, &err), -ENOENT);
	(void)close(dfd);
	assert_int_equal(tmptree_remove_at(AT_FDCWD, dir), 0);
}

static void
test_edit(void **state)
{
	char *out = NULL, want[2048];
	const char *text;
	size_t len;

	(void)state;
	text = "# c\nalice:x\nbob:y";
	assert_int_equal(
	    authtab_edit(text, strlen(text), "alice", yhash, &out, &len), 0);
	snprintf(want, sizeof(want), "# c\nalice:%s\nbob:y\n", yhash);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	free(out);
	assert_int_equal(
	    authtab_edit(text, strlen(text), "carol", shash, &out, &len), 0);
	snprintf(want, sizeof(want), "# c\nalice:x\nbob:y\ncarol:%s\n", shash);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
	free(out);
	assert_int_equal(
	    authtab_edit(text, strlen(text), "bob", NULL, &out, &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(out, "# c\nalice:x\n", len);
	free(out);
	assert_int_equal(
	    authtab_edit(text, strlen(text), "carol", NULL, &out, &len),
	    -ENOENT);
	assert_null(out);
	assert_int_equal(
	    authtab_edit(text, strlen(text), "a:b", yhash, &out, &len),
	    -EINVAL);
	assert_int_equal(
	    authtab_edit(text, strlen(text), "bob", "plain", &out, &len),
	    -EINVAL);
	/* An empty file, and a user name that is a prefix of another. */
	assert_int_equal(authtab_edit("", 0, "ali", yhash, &out, &len), 0);
	free(out);
	assert_int_equal(
	    authtab_edit(text, strlen(text), "ali", NULL, &out, &len), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_edit),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
