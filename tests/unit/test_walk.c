/*
 * test_walk.c: walk_tree and walk_open against real trees under a fresh
 * mkdtemp directory: order, descend, symlinks never followed, a directory
 * swapped for a symlink mid-walk, other filesystems (a tmpfs we mount).
 */
#include <sys/mount.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "walk.h"
#include "tmptree.h"

struct fx {
	char dir[64]; /* the tree walked */
	char outside[64]; /* symlink targets outside the tree */
	char mnt[PATH_MAX];
	int rootfd;
	char log[8192]; /* visits, "path:type\n" */
	char desc[2048]; /* descend calls, "path:other_fs\n" */
	int descend_all;
	int visits;
};

static void
mkfile(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	int fd;

	assert_true(snprintf(p, sizeof(p), "%s/%s", dir, rel) < (int)sizeof(p));
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_int_not_equal(fd, -1);
	close(fd);
}

static void
mkd(const char *dir, const char *rel)
{
	char p[PATH_MAX];

	assert_true(snprintf(p, sizeof(p), "%s/%s", dir, rel) < (int)sizeof(p));
	assert_int_equal(mkdir(p, 0755), 0);
}

static void
mkln(const char *target, const char *dir, const char *rel)
{
	char p[PATH_MAX];

	assert_true(snprintf(p, sizeof(p), "%s/%s", dir, rel) < (int)sizeof(p));
	assert_int_equal(symlink(target, p), 0);
}

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	strlcpy(fx->dir, "/tmp/relaytest.XXXXXX", sizeof(fx->dir));
	strlcpy(fx->outside, "/tmp/relaytest.XXXXXX", sizeof(fx->outside));
	if (mkdtemp(fx->dir) == NULL || mkdtemp(fx->outside) == NULL)
		return -1;
	fx->rootfd = open(fx->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fx->rootfd == -1)
		return -1;
	fx->descend_all = 1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->mnt[0] != '\0')
		umount2(fx->mnt, MNT_DETACH);
	close(fx->rootfd);
	(void)tmptree_remove(fx->dir);
	(void)tmptree_remove(fx->outside);
	free(fx);
	return 0;
}

static char
type_of(mode_t m)
{
	if (S_ISDIR(m))
		return 'd';
	if (S_ISLNK(m))
		return 'l';
	if (S_ISREG(m))
		return 'f';
	return '?';
}

static void
append(char *buf, size_t size, const char *s, int c)
{
	size_t len = strlen(buf);

	assert_true(snprintf(buf + len, size - len, "%s:%c\n", s, c) <
	    (int)(size - len));
}

static int
log_visit(const struct walk_entry *e, void *arg)
{
	struct fx *fx = arg;
	struct stat st;

	/* The entry is consistent: name is the last component, fd matches. */
	assert_string_equal(e->name, strrchr(e->path, '/') + 1);
	assert_int_equal(
	    fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_ino, e->st.st_ino);
	append(fx->log, sizeof(fx->log), e->path, type_of(e->st.st_mode));
	return 0;
}

static int
log_descend(const char *path, const struct stat *st, int other_fs, void *arg)
{
	struct fx *fx = arg;

	assert_true(S_ISDIR(st->st_mode));
	append(fx->desc, sizeof(fx->desc), path, '0' + other_fs);
	if (strcmp(path, "/skip") == 0)
		return 0;
	return fx->descend_all;
}

static void
build_tree(struct fx *fx)
{
	char target[PATH_MAX];

	mkd(fx->dir, "a");
	mkd(fx->dir, "a/b");
	mkfile(fx->dir, "a/b/c");
	mkfile(fx->dir, "a/z");
	mkfile(fx->dir, "b");
	mkd(fx->dir, "skip");
	mkfile(fx->dir, "skip/x");
	mkfile(fx->outside, "secret");
	mkln(fx->outside, fx->dir, "c");
	snprintf(target, sizeof(target), "%s/secret", fx->outside);
	mkln(target, fx->dir, "d");
	mkln("a", fx->dir, "e"); /* relative, to a directory inside */
}

static void
test_order_and_symlinks(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { log_descend, log_visit, fx, NULL };

	build_tree(fx);
	assert_int_equal(walk_tree(fx->rootfd, &ops), 0);
	assert_string_equal(fx->log,
	    "/a:d\n/a/b:d\n/a/b/c:f\n/a/z:f\n/b:f\n/c:l\n/d:l\n/e:l\n"
	    "/skip:d\n");
	/* Symlinks are never offered for descent, /skip was refused. */
	assert_string_equal(fx->desc, "/a:0\n/a/b:0\n/skip:0\n");
}

static void
test_no_descend_callback(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { NULL, log_visit, fx, NULL };

	build_tree(fx);
	assert_int_equal(walk_tree(fx->rootfd, &ops), 0);
	assert_string_equal(fx->log, "/a:d\n/b:f\n/c:l\n/d:l\n/e:l\n/skip:d\n");
}

static int
stop_visit(const struct walk_entry *e, void *arg)
{
	log_visit(e, arg);
	return strcmp(e->path, "/a/z") == 0 ? -EIO : 0;
}

static void
test_visit_stops(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { log_descend, stop_visit, fx, NULL };

	build_tree(fx);
	assert_int_equal(walk_tree(fx->rootfd, &ops), -EIO);
	assert_string_equal(fx->log, "/a:d\n/a/b:d\n/a/b/c:f\n/a/z:f\n");
}

/* Swap /d1 for a symlink to the outside right after it was visited. */
static int
swap_visit(const struct walk_entry *e, void *arg)
{
	struct fx *fx = arg;

	log_visit(e, arg);
	if (strcmp(e->path, "/d1") == 0) {
		assert_int_equal(
		    renameat(e->dirfd, "d1", e->dirfd, "moved"), 0);
		assert_int_equal(symlinkat(fx->outside, e->dirfd, "d1"), 0);
	}
	/* Also an entry vanishing after readdir: /d2 goes away. */
	if (strcmp(e->path, "/d1/inner") == 0)
		assert_int_equal(unlinkat(fx->rootfd, "d2", 0), 0);
	return 0;
}

static void
test_swap_to_symlink(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { log_descend, swap_visit, fx, NULL };
	struct stat st;
	char p[PATH_MAX];

	mkd(fx->dir, "d1");
	mkfile(fx->dir, "d1/inner");
	mkfile(fx->dir, "d2");
	mkfile(fx->outside, "secret");
	assert_int_equal(walk_tree(fx->rootfd, &ops), 0);
	/*
	 * The walk went on in the directory it had visited (now "moved"),
	 * never through the symlink now named d1, and skipped d2.
	 */
	assert_string_equal(fx->log, "/d1:d\n/d1/inner:f\n");
	assert_null(strstr(fx->log, "secret"));
	snprintf(p, sizeof(p), "%s/d1", fx->dir);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_other_fs(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { log_descend, log_visit, fx, NULL };

	mkd(fx->dir, "a");
	mkd(fx->dir, "m");
	snprintf(fx->mnt, sizeof(fx->mnt), "%s/m", fx->dir);
	if (mount("relaytest", fx->mnt, "tmpfs", 0, "size=64k") == -1) {
		fx->mnt[0] = '\0';
		fail_msg("mount tmpfs: %s", strerror(errno));
	}
	mkd(fx->dir, "m/sub");
	mkfile(fx->dir, "m/sub/f");
	assert_int_equal(walk_tree(fx->rootfd, &ops), 0);
	assert_string_equal(fx->desc, "/a:0\n/m:1\n/m/sub:0\n");
	assert_string_equal(fx->log, "/a:d\n/m:d\n/m/sub:d\n/m/sub/f:f\n");
}

static int
count_visit(const struct walk_entry *e, void *arg)
{
	struct fx *fx = arg;

	assert_int_equal(e->depth, fx->visits + 1);
	fx->visits++;
	return 0;
}

static int
all_descend(const char *path, const struct stat *st, int other_fs, void *arg)
{
	(void)path;
	(void)st;
	(void)other_fs;
	(void)arg;
	return 1;
}

static void
test_depth_cap(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { all_descend, count_visit, fx, NULL };
	int fd, nfd, i;

	fd = dup(fx->rootfd);
	for (i = 0; i < WALK_MAX_DEPTH + 2; i++) {
		assert_int_equal(mkdirat(fd, "n", 0755), 0);
		nfd = openat(fd, "n", O_PATH | O_DIRECTORY);
		assert_int_not_equal(nfd, -1);
		close(fd);
		fd = nfd;
	}
	close(fd);
	assert_int_equal(walk_tree(fx->rootfd, &ops), -ELOOP);
	assert_int_equal(fx->visits, WALK_MAX_DEPTH);
}

static char skipped_path[PATH_MAX];
static int skipped_err, skipped_n;

static int
record_skipped(const char *path, int err, void *arg)
{
	(void)arg;
	(void)strlcpy(skipped_path, path, sizeof(skipped_path));
	skipped_err = err;
	skipped_n++;
	return 0;
}

static int
any_visit(const struct walk_entry *e, void *arg)
{
	struct fx *fx = arg;

	(void)e;
	fx->visits++;
	return 0;
}

/* With skipped(), a too-deep subtree is reported and the rest is walked. */
static void
test_depth_skipped(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { all_descend, any_visit, fx, record_skipped };
	int fd, nfd, i;

	fd = dup(fx->rootfd);
	for (i = 0; i < WALK_MAX_DEPTH + 5; i++) {
		assert_int_equal(mkdirat(fd, "n", 0755), 0);
		nfd = openat(fd, "n", O_PATH | O_DIRECTORY);
		assert_int_not_equal(nfd, -1);
		close(fd);
		fd = nfd;
	}
	close(fd);
	/* Sorted after "n": walked only if the walk goes on. */
	assert_int_equal(mkdirat(fx->rootfd, "z", 0755), 0);
	skipped_n = 0;
	assert_int_equal(walk_tree(fx->rootfd, &ops), 0);
	assert_int_equal(skipped_n, 1);
	assert_int_equal(skipped_err, -ELOOP);
	assert_int_equal(strlen(skipped_path), 2 * WALK_MAX_DEPTH);
	assert_int_equal(fx->visits, WALK_MAX_DEPTH + 1);
}

static void
test_path_too_long(void **state)
{
	struct fx *fx = *state;
	struct walk_ops ops = { all_descend, count_visit, fx, NULL };
	char name[NAME_MAX + 1];
	int fd, nfd, i;

	memset(name, 'x', NAME_MAX);
	name[NAME_MAX] = '\0';
	fd = dup(fx->rootfd);
	for (i = 0; i < PATH_MAX / NAME_MAX + 1; i++) {
		assert_int_equal(mkdirat(fd, name, 0755), 0);
		nfd = openat(fd, name, O_PATH | O_DIRECTORY);
		assert_int_not_equal(nfd, -1);
		close(fd);
		fd = nfd;
	}
	close(fd);
	assert_int_equal(walk_tree(fx->rootfd, &ops), -ENAMETOOLONG);
	/* "/" + 255 chars per level: 15 levels fit in PATH_MAX, not 16. */
	assert_int_equal(fx->visits, (PATH_MAX - 1) / (NAME_MAX + 1));
}

static void
test_walk_open(void **state)
{
	struct fx *fx = *state;
	struct stat st, want;
	char p[PATH_MAX];
	int fd;

	build_tree(fx);
	assert_int_equal(walk_open(fx->rootfd, "/a/b/c", &fd, &st), 0);
	snprintf(p, sizeof(p), "%s/a/b/c", fx->dir);
	assert_int_equal(lstat(p, &want), 0);
	assert_int_equal(st.st_ino, want.st_ino);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
	assert_int_not_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);

	assert_int_equal(walk_open(fx->rootfd, "//a///b/", &fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(walk_open(fx->rootfd, "/", &fd, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	close(fd);

	assert_int_equal(walk_open(fx->rootfd, "/c/secret", &fd, &st), -ELOOP);
	assert_int_equal(fd, -1);
	assert_int_equal(walk_open(fx->rootfd, "/c", &fd, &st), -ELOOP);
	assert_int_equal(walk_open(fx->rootfd, "/d", &fd, &st), -ELOOP);
	assert_int_equal(walk_open(fx->rootfd, "/e/b", &fd, &st), -ELOOP);
	assert_int_equal(walk_open(fx->rootfd, "/nope", &fd, &st), -ENOENT);
	assert_int_equal(walk_open(fx->rootfd, "/a/nope/c", &fd, &st), -ENOENT);
	assert_int_equal(walk_open(fx->rootfd, "/b/x", &fd, &st), -ENOTDIR);
	assert_int_equal(walk_open(fx->rootfd, "/a/../b", &fd, &st), -EINVAL);
	assert_int_equal(walk_open(fx->rootfd, "/a/./b", &fd, &st), -EINVAL);
	assert_int_equal(walk_open(fx->rootfd, "a/b", &fd, &st), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_order_and_symlinks, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_no_descend_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_visit_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_swap_to_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_fs, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_depth_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_depth_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_path_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_walk_open, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
