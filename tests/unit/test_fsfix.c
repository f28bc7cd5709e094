/*
 * test_fsfix.c: fd-based owner/mode changes, mkdir, install and read_file on
 * real files under a fresh mkdtemp directory (we run as root). fchownat and
 * fchmodat are interposed here to record every change and the state it
 * leaves, so the narrow -> chown -> widen order is checked, not assumed.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

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

#include "fsfix.h"
#include "tmptree.h"

#define MAXSTEPS 16

struct step {
	char op; /* 'o' chown, 'm' chmod */
	uid_t uid;
	mode_t mode; /* full st_mode & 07777 after the call */
};

static struct step steps[MAXSTEPS];
static int nsteps;

static void
record(char op, const struct stat *st)
{
	if (nsteps < MAXSTEPS) {
		steps[nsteps].op = op;
		steps[nsteps].uid = st->st_uid;
		steps[nsteps].mode = st->st_mode & 07777;
	}
	nsteps++;
}

/* Interposed: the library's calls land here, then in the kernel. */
int
fchownat(int fd, const char *file, uid_t owner, gid_t group, int flag)
{
	struct stat st;
	long r;

	r = syscall(SYS_fchownat, fd, file, owner, group, flag);
	if (r == 0 && fstatat(fd, file, &st, flag & AT_EMPTY_PATH) == 0)
		record('o', &st);
	return (int)r;
}

int
fchmodat(int fd, const char *file, mode_t mode, int flag)
{
	struct stat st;
	long r;

	if (flag != 0) {
		errno = EINVAL;
		return -1;
	}
	r = syscall(SYS_fchmodat, fd, file, mode);
	if (r == 0 && fstatat(fd, file, &st, 0) == 0)
		record('m', &st);
	return (int)r;
}

struct fx {
	char dir[64];
	char mnt[PATH_MAX];
	int dirfd; /* O_PATH */
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	strlcpy(fx->dir, "/tmp/relaytest.XXXXXX", sizeof(fx->dir));
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	fx->dirfd = open(fx->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fx->dirfd == -1)
		return -1;
	nsteps = 0;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->mnt[0] != '\0')
		umount2(fx->mnt, MNT_DETACH);
	close(fx->dirfd);
	(void)tmptree_remove(fx->dir);
	free(fx);
	return 0;
}

/* A file with exact owner and mode; returns its O_PATH|O_NOFOLLOW fd. */
static int
mkfile(struct fx *fx, const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	int fd;

	fd = openat(fx->dirfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, "data\n", 5), 5);
	assert_int_equal(fchown(fd, uid, gid), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	fd = openat(fx->dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_int_not_equal(fd, -1);
	nsteps = 0;
	return fd;
}

static void
stat_at(struct fx *fx, const char *name, struct stat *st)
{
	assert_int_equal(fstatat(fx->dirfd, name, st, AT_SYMLINK_NOFOLLOW), 0);
}

static void
test_chown_chmod_opath(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int fd;

	fd = mkfile(fx, "f", 0, 0, 0644);
	assert_int_equal(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
	assert_int_equal(fsfix_chown(fd, 1000, 1001), 0);
	assert_int_equal(fsfix_chmod(fd, 0640), 0);
	stat_at(fx, "f", &st);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* -1 keeps. */
	assert_int_equal(fsfix_chown(fd, (uid_t)-1, 24), 0);
	stat_at(fx, "f", &st);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 24);
	close(fd);
}

static void
test_chmod_refuses_symlink(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int fd, lfd;

	fd = mkfile(fx, "target", 0, 0, 0600);
	assert_int_equal(symlinkat("target", fx->dirfd, "link"), 0);
	lfd = openat(fx->dirfd, "link", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_int_not_equal(lfd, -1);
	assert_int_equal(fsfix_chmod(lfd, 0777), -ELOOP);
	assert_int_equal(fsfix_owner_mode(lfd, NULL, 0, 0, 0777), -ELOOP);
	stat_at(fx, "target", &st);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(nsteps, 0);
	close(lfd);
	close(fd);
}

static void
test_refuses_hard_link(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int fd;

	fd = mkfile(fx, "f", 1000, 1000, 0644);
	assert_int_equal(linkat(fx->dirfd, "f", fx->dirfd, "g", 0), 0);
	assert_int_equal(fsfix_chown(fd, 0, 0), -EMLINK);
	assert_int_equal(fsfix_chmod(fd, 0600), -EMLINK);
	assert_int_equal(fsfix_owner_mode(fd, NULL, 0, 0, 0600), -EMLINK);
	stat_at(fx, "f", &st);
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_mode & 07777, 0644);
	close(fd);
}

/* Plain chown clears setgid on a group-executable file: why order matters. */
static void
test_setgid_survives_chown(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int fd;

	fd = mkfile(fx, "plain", 1000, 1000, 02750);
	assert_int_equal(fsfix_chown(fd, 0, 24), 0);
	stat_at(fx, "plain", &st);
	assert_int_equal(st.st_mode & S_ISGID, 0); /* the kernel cleared it */
	close(fd);

	fd = mkfile(fx, "f", 1000, 1000, 02750);
	stat_at(fx, "f", &st);
	assert_int_equal(fsfix_owner_mode(fd, &st, 0, 24, 02750), 0);
	stat_at(fx, "f", &st);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 24);
	assert_int_equal(st.st_mode & 07777, 02750);
	close(fd);
}

static void
test_owner_mode_order(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	int fd, i;

	/* Old owner left it setuid and world-writable. */
	fd = mkfile(fx, "f", 1000, 1000, 04777);
	stat_at(fx, "f", &st);
	assert_int_equal(fsfix_owner_mode(fd, &st, 0, 0, 04755), 0);
	stat_at(fx, "f", &st);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	assert_int_equal(st.st_mode & 07777, 04755);

	assert_int_equal(nsteps, 3);
	assert_int_equal(steps[0].op, 'm'); /* narrowed, still old owner */
	assert_int_equal(steps[0].uid, 1000);
	assert_int_equal(steps[0].mode, 0755);
	assert_int_equal(steps[1].op, 'o');
	assert_int_equal(steps[1].uid, 0);
	assert_int_equal(steps[1].mode, 0755);
	assert_int_equal(steps[2].op, 'm');
	assert_int_equal(steps[2].mode, 04755);
	/* Root never owned it while group/other could write or set-id. */
	for (i = 0; i < nsteps - 1; i++) {
		if (steps[i].uid == 0)
			assert_int_equal(steps[i].mode & 07022, 0);
	}
	close(fd);

	/* Same owner: a single chmod, no chown. */
	fd = mkfile(fx, "g", 0, 0, 0644);
	assert_int_equal(fsfix_owner_mode(fd, NULL, (uid_t)-1, 0, 0600), 0);
	assert_int_equal(nsteps, 1);
	assert_int_equal(steps[0].op, 'm');
	/* Nothing to do: no call at all. */
	nsteps = 0;
	assert_int_equal(fsfix_owner_mode(fd, NULL, 0, 0, 0600), 0);
	assert_int_equal(nsteps, 0);
	close(fd);
}

static void
test_owner_mode_dir_and_stale(void **state)
{
	struct fx *fx = *state;
	struct stat st, other;
	int fd;

	assert_int_equal(mkdirat(fx->dirfd, "d", 0777), 0);
	fd = openat(fx->dirfd, "d", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_int_not_equal(fd, -1);
	assert_int_equal(fsfix_chown(fd, 1000, 1000), 0);
	assert_int_equal(fsfix_chmod(fd, 0777), 0);
	nsteps = 0;
	stat_at(fx, "d", &st);
	assert_int_equal(fsfix_owner_mode(fd, &st, 0, 24, 02750), 0);
	/* Directories keep their bits across chown: narrowing matters. */
	assert_int_equal(nsteps, 3);
	assert_int_equal(steps[0].mode, 0750);
	assert_int_equal(steps[1].uid, 0);
	assert_int_equal(steps[1].mode, 0750);
	stat_at(fx, "d", &st);
	assert_int_equal(st.st_mode & 07777, 02750);
	assert_int_equal(st.st_gid, 24);

	stat_at(fx, ".", &other);
	assert_int_equal(fsfix_owner_mode(fd, &other, 0, 0, 0700), -ESTALE);
	close(fd);
}

static void
test_mkdir(void **state)
{
	struct fx *fx = *state;
	struct stat st, fst;
	int fd;

	assert_int_equal(
	    fsfix_mkdir(fx->dirfd, "spool", 1000, 1001, 02770, &fd), 0);
	assert_int_not_equal(fd, -1);
	stat_at(fx, "spool", &st);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 1001);
	assert_int_equal(st.st_mode & 07777, 02770);
	assert_int_equal(fstat(fd, &fst), 0);
	assert_int_equal(fst.st_ino, st.st_ino);
	assert_int_equal(fcntl(fd, F_GETFL) & O_PATH, O_PATH);
	/* Usable as a parent for the next step. */
	assert_int_equal(fsfix_mkdir(fd, "sub", 0, 0, 0700, NULL), 0);
	close(fd);

	assert_int_equal(
	    fsfix_mkdir(fx->dirfd, "spool", 0, 0, 0700, &fd), -EEXIST);
	assert_int_equal(fd, -1);
	assert_int_equal(symlinkat("/etc", fx->dirfd, "ln"), 0);
	assert_int_equal(
	    fsfix_mkdir(fx->dirfd, "ln", 0, 0, 0700, NULL), -EEXIST);
	assert_int_equal(
	    fsfix_mkdir(fx->dirfd, "spool/x", 0, 0, 0700, NULL), -EINVAL);
	assert_int_equal(
	    fsfix_mkdir(fx->dirfd, "..", 0, 0, 0700, NULL), -EINVAL);
}

/* Names in the directory fd, sorted, joined by ' '. */
static void
list_dir(int dfd, char *buf, size_t size)
{
	struct dirent **ents;
	int fd, n, i;
	char p[64];

	buf[0] = '\0';
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY);
	assert_int_not_equal(fd, -1);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	n = scandir(p, &ents, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' || strlen(ents[i]->d_name) > 2) {
			if (strcmp(ents[i]->d_name, "..") != 0) {
				strlcat(buf, ents[i]->d_name, size);
				strlcat(buf, " ", size);
			}
		}
		free(ents[i]);
	}
	free(ents);
	close(fd);
}

static void
test_install(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	char list[256], *buf;
	size_t len;

	assert_int_equal(
	    fsfix_install(fx->dirfd, "aliases", "a: b\n", 5, 1000, 24, 02640),
	    0);
	stat_at(fx, "aliases", &st);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_uid, 1000);
	assert_int_equal(st.st_gid, 24);
	assert_int_equal(st.st_mode & 07777, 02640);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "aliases", 100, &buf, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(buf, "a: b\n");
	free(buf);

	/* Never replaces, leaves no temp file behind. */
	assert_int_equal(
	    fsfix_install(fx->dirfd, "aliases", "evil\n", 5, 0, 0, 0644),
	    -EEXIST);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "aliases", 100, &buf, &len), 0);
	assert_string_equal(buf, "a: b\n");
	free(buf);
	list_dir(fx->dirfd, list, sizeof(list));
	assert_string_equal(list, "aliases ");

	assert_int_equal(symlinkat("/nonexistent", fx->dirfd, "dangling"), 0);
	assert_int_equal(
	    fsfix_install(fx->dirfd, "dangling", "x", 1, 0, 0, 0644), -EEXIST);
	assert_int_equal(
	    fsfix_install(fx->dirfd, "a/b", "x", 1, 0, 0, 0644), -EINVAL);
	list_dir(fx->dirfd, list, sizeof(list));
	assert_string_equal(list, "aliases dangling ");
}

static void
test_install_enospc(void **state)
{
	struct fx *fx = *state;
	char list[256], *big;
	size_t size = 1 << 20;
	int dfd;

	assert_int_equal(mkdirat(fx->dirfd, "small", 0755), 0);
	snprintf(fx->mnt, sizeof(fx->mnt), "%s/small", fx->dir);
	if (mount("relaytest", fx->mnt, "tmpfs", 0, "size=16k") == -1) {
		fx->mnt[0] = '\0';
		fail_msg("mount tmpfs: %s", strerror(errno));
	}
	dfd = openat(fx->dirfd, "small", O_PATH | O_DIRECTORY);
	assert_int_not_equal(dfd, -1);
	big = calloc(1, size);
	assert_non_null(big);
	assert_int_equal(
	    fsfix_install(dfd, "big", big, size, 0, 0, 0644), -ENOSPC);
	list_dir(dfd, list, sizeof(list));
	assert_string_equal(list, "");
	free(big);
	close(dfd);
}

static void
test_read_file(void **state)
{
	struct fx *fx = *state;
	char data[100], *buf;
	size_t len;

	memset(data, 'q', sizeof(data));
	assert_int_equal(
	    fsfix_install(fx->dirfd, "f", data, sizeof(data), 0, 0, 0644), 0);
	assert_int_equal(fsfix_read_file(fx->dirfd, "f", 100, &buf, &len), 0);
	assert_int_equal(len, 100);
	assert_memory_equal(buf, data, 100);
	assert_int_equal(buf[100], '\0');
	free(buf);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "f", 99, &buf, &len), -EFBIG);
	assert_null(buf);

	assert_int_equal(
	    fsfix_install(fx->dirfd, "empty", "", 0, 0, 0, 0644), 0);
	assert_int_equal(fsfix_read_file(fx->dirfd, "empty", 0, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	assert_int_equal(symlinkat("f", fx->dirfd, "ln"), 0);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "ln", 100, &buf, &len), -ELOOP);
	assert_int_equal(mkfifoat(fx->dirfd, "fifo", 0600), 0);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "fifo", 100, &buf, &len), -EINVAL);
	assert_int_equal(mkdirat(fx->dirfd, "d", 0700), 0);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "d", 100, &buf, &len), -EISDIR);
	assert_int_equal(
	    fsfix_read_file(fx->dirfd, "nope", 100, &buf, &len), -ENOENT);
}

/* Whole content of name, compared with want. */
static void
content_is(struct fx *fx, const char *name, const char *want)
{
	char *buf;
	size_t len;

	assert_int_equal(fsfix_read_file(fx->dirfd, name, 100, &buf, &len), 0);
	assert_string_equal(buf, want);
	free(buf);
}

static void
test_replace(void **state)
{
	struct fx *fx = *state;
	struct stat old, st;
	char list[256];
	int fd;

	fd = mkfile(fx, "sendmail.cf", 0, 24, 0644);
	close(fd);
	stat_at(fx, "sendmail.cf", &old);
	assert_int_equal(fsfix_replace(fx->dirfd, "sendmail.cf", &old, "data\n",
			     5, "new\n", 4, "sendmail.cf.old"),
	    0);
	content_is(fx, "sendmail.cf", "new\n");
	content_is(fx, "sendmail.cf.old", "data\n");
	stat_at(fx, "sendmail.cf", &st);
	assert_int_equal(st.st_gid, 24);
	assert_int_equal(st.st_mode & 07777, 0644);
	stat_at(fx, "sendmail.cf.old", &st);
	assert_int_equal(st.st_gid, 24);
	assert_int_equal(st.st_mode & 07777, 0644);
	list_dir(fx->dirfd, list, sizeof(list));
	assert_string_equal(list, "sendmail.cf sendmail.cf.old ");

	/* The file read before is gone (replaced): nothing is written. */
	assert_int_equal(fsfix_replace(fx->dirfd, "sendmail.cf", &old, "data\n",
			     5, "evil\n", 5, "sendmail.cf.old"),
	    -ESTALE);
	content_is(fx, "sendmail.cf", "new\n");
	content_is(fx, "sendmail.cf.old", "data\n");

	/* A second link may be someone else's file. */
	stat_at(fx, "sendmail.cf", &old);
	assert_int_equal(
	    linkat(fx->dirfd, "sendmail.cf", fx->dirfd, "link", 0), 0);
	stat_at(fx, "sendmail.cf", &old);
	assert_int_equal(fsfix_replace(fx->dirfd, "sendmail.cf", &old, "new\n",
			     4, "evil\n", 5, "sendmail.cf.old"),
	    -EMLINK);
	content_is(fx, "link", "new\n");
	assert_int_equal(fsfix_replace(fx->dirfd, "sendmail.cf", &old, "new\n",
			     4, "evil\n", 5, "../x"),
	    -EINVAL);
	list_dir(fx->dirfd, list, sizeof(list));
	assert_string_equal(list, "link sendmail.cf sendmail.cf.old ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_chown_chmod_opath, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_chmod_refuses_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_hard_link, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_setgid_survives_chown, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_owner_mode_order, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_owner_mode_dir_and_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mkdir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_install, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_install_enospc, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_file, setup, teardown),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
