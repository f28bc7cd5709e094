/*
 * Unit tests for walk_open_trusted and readfile_trusted: certbot's layout
 * (live/NAME/X.pem -> ../../archive/NAME/XN.pem) is read through its
 * links, an absolute link resolves under the root fd, ".." stops at the
 * root, and a link or directory that is not root's alone (another owner,
 * group- or other-writable) is refused, as are loops and the root itself.
 * Runs as root (lchown to another owner).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "readfile.h"
#include "tmptree.h"
#include "walk.h"

static char dir[] = "/tmp/test_walk_trusted.XXXXXX";
static int rootfd = -1;

static void
mkdirs(const char *path, mode_t mode)
{
	assert_int_equal(mkdirat(rootfd, path, mode), 0);
	assert_int_equal(fchmodat(rootfd, path, mode, 0), 0);
}

static void
put(const char *path, const char *text)
{
	int fd = openat(rootfd, path, O_WRONLY | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

static void
link_to(const char *target, const char *path)
{
	assert_int_equal(symlinkat(target, rootfd, path), 0);
}

/* certbot's tree, all root's 0755, under a fresh root. */
static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0)
		return -1;
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -1;
	mkdirs("etc", 0755);
	mkdirs("etc/letsencrypt", 0755);
	mkdirs("etc/letsencrypt/archive", 0700);
	mkdirs("etc/letsencrypt/archive/mx", 0755);
	mkdirs("etc/letsencrypt/live", 0700);
	mkdirs("etc/letsencrypt/live/mx", 0755);
	put("etc/letsencrypt/archive/mx/fullchain1.pem", "CERT\n");
	link_to("../../archive/mx/fullchain1.pem",
	    "etc/letsencrypt/live/mx/fullchain.pem");
	mkdirs("etc/mail", 0755);
	link_to("/etc/letsencrypt/live/mx/fullchain.pem", "etc/mail/cert.pem");
	link_to("../../../../../../etc/mail/cert.pem", "etc/mail/deep.pem");
	link_to("loop2", "etc/mail/loop1");
	link_to("loop1", "etc/mail/loop2");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)close(rootfd);
	return tmptree_remove(dir);
}

static void
expect_text(const char *path, const char *want)
{
	char *buf;
	size_t len;

	assert_int_equal(
	    readfile_trusted(rootfd, path, 4096, &buf, &len, NULL), 0);
	assert_string_equal(buf, want);
	free(buf);
}

static void
expect_error(const char *path, int err)
{
	char *buf = (char *)1;
	size_t len = 1;

	assert_int_equal(
	    readfile_trusted(rootfd, path, 4096, &buf, &len, NULL), err);
	assert_null(buf);
	assert_int_equal(len, 0);
}

static void
test_certbot_links(void **state)
{
	struct stat st;
	int fd;

	(void)state;
	expect_text("/etc/letsencrypt/live/mx/fullchain.pem", "CERT\n");
	/* Absolute: under the root fd, never the host's /etc. */
	expect_text("/etc/mail/cert.pem", "CERT\n");
	/* ".." beyond the root stops at it. */
	expect_text("/etc/mail/deep.pem", "CERT\n");
	expect_text(
	    "/etc/mail/../letsencrypt/./archive//mx/fullchain1.pem", "CERT\n");
	/* The stat is the target's. */
	fd = walk_open_trusted(rootfd, "/etc/mail/cert.pem", O_PATH, &st);
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 5);
	assert_int_equal(close(fd), 0);
}

static void
test_refused(void **state)
{
	(void)state;
	expect_error("/etc/mail/loop1", -ELOOP);
	expect_error("/etc/mail/missing.pem", -ENOENT);
	expect_error("etc/mail/cert.pem", -EINVAL);
	expect_error("/", -EISDIR);
	expect_error("/etc/..", -EISDIR);
	expect_error("/etc/mail", -EINVAL); /* a directory: not a file */
	/* A link that is not root's: whoever owns it chose the target. */
	assert_int_equal(fchownat(rootfd, "etc/mail/cert.pem", 65534, 65534,
			     AT_SYMLINK_NOFOLLOW),
	    0);
	expect_error("/etc/mail/cert.pem", -EPERM);
	assert_int_equal(
	    fchownat(rootfd, "etc/mail/cert.pem", 0, 0, AT_SYMLINK_NOFOLLOW),
	    0);
	expect_text("/etc/mail/cert.pem", "CERT\n");
	/* A directory on the way that others may write: refused. */
	assert_int_equal(
	    fchmodat(rootfd, "etc/letsencrypt/live/mx", 0775, 0), 0);
	expect_error("/etc/mail/cert.pem", -EPERM);
	assert_int_equal(
	    fchmodat(rootfd, "etc/letsencrypt/live/mx", 0755, 0), 0);
	/* ... or another user owns. */
	assert_int_equal(
	    fchownat(rootfd, "etc/letsencrypt/archive/mx", 65534, 0, 0), 0);
	expect_error("/etc/mail/cert.pem", -EPERM);
	assert_int_equal(
	    fchownat(rootfd, "etc/letsencrypt/archive/mx", 0, 0, 0), 0);
	expect_text("/etc/mail/cert.pem", "CERT\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_certbot_links),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
