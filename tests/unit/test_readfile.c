/*
 * test_readfile.c: readfile_at/readfile_fd/readfile_head_fd and
 * walk_open_io on real files under a fresh mkdtemp directory: what is
 * refused (symlink, FIFO, directory, device, too big) and files that
 * change while read, with real files whose length is not their st_size
 * (/proc, /sys) and a real writer process.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "readfile.h"
#include "walk.h"
#include "tmptree.h"

/* A read that blocks (a FIFO opened without O_NONBLOCK) kills the test. */
#define HANG_GUARD 10

struct fx {
	char dir[64];
	int dfd;
};

static void
put(int dfd, const char *name, const void *data, size_t len)
{
	int fd;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_int_not_equal(fd, -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	(void)strlcpy(fx->dir, "/tmp/relaytest.XXXXXX", sizeof(fx->dir));
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	if ((fx->dfd = open(fx->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	*state = fx;
	alarm(HANG_GUARD);
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	alarm(0);
	(void)close(fx->dfd);
	(void)tmptree_remove(fx->dir);
	free(fx);
	return 0;
}

static void
t_regular(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX], *buf;
	struct stat st;
	size_t len;

	put(fx->dfd, "f", "hello\nworld\n", 12);
	assert_int_equal(readfile_at(fx->dfd, "f", 100, &buf, &len, &st), 0);
	assert_int_equal(len, 12);
	assert_string_equal(buf, "hello\nworld\n");
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 12);
	free(buf);

	/* Under a dir fd a leading '/' stays under it; st may be NULL. */
	assert_int_equal(readfile_at(fx->dfd, "//f", 12, &buf, &len, NULL), 0);
	assert_string_equal(buf, "hello\nworld\n");
	free(buf);
	(void)snprintf(path, sizeof(path), "%s/f", fx->dir);
	assert_int_equal(readfile_at(AT_FDCWD, path, 12, &buf, &len, NULL), 0);
	assert_int_equal(len, 12);
	free(buf);

	/* NULs are returned, counted, and the buffer is NUL-terminated. */
	put(fx->dfd, "nul", "a\0b", 3);
	assert_int_equal(readfile_at(fx->dfd, "nul", 3, &buf, &len, NULL), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "a\0b", 4);
	free(buf);
	assert_int_equal(
	    readfile_at(fx->dfd, "missing", 3, &buf, &len, &st), -ENOENT);
	assert_null(buf);
}

static void
t_empty_and_cap(void **state)
{
	struct fx *fx = *state;
	char data[100], *buf;
	size_t len;

	put(fx->dfd, "empty", "", 0);
	assert_int_equal(readfile_at(fx->dfd, "empty", 0, &buf, &len, NULL), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	memset(data, 'q', sizeof(data));
	put(fx->dfd, "hundred", data, sizeof(data));
	assert_int_equal(
	    readfile_at(fx->dfd, "hundred", 100, &buf, &len, NULL), 0);
	assert_int_equal(len, 100);
	assert_memory_equal(buf, data, 100);
	free(buf);
	len = 42;
	assert_int_equal(
	    readfile_at(fx->dfd, "hundred", 99, &buf, &len, NULL), -EFBIG);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_int_equal(
	    readfile_at(fx->dfd, "hundred", 0, &buf, &len, NULL), -EFBIG);
}

static void
t_refused(void **state)
{
	struct fx *fx = *state;
	struct stat st;
	char *buf;
	size_t len;

	put(fx->dfd, "f", "x", 1);
	assert_int_equal(symlinkat("f", fx->dfd, "ln"), 0);
	assert_int_equal(
	    readfile_at(fx->dfd, "ln", 100, &buf, &len, &st), -ELOOP);
	assert_null(buf);

	assert_int_equal(mkdirat(fx->dfd, "d", 0700), 0);
	assert_int_equal(
	    readfile_at(fx->dfd, "d", 100, &buf, &len, &st), -EINVAL);
	assert_true(S_ISDIR(st.st_mode));
	assert_null(buf);

	assert_int_equal(
	    readfile_at(AT_FDCWD, "/dev/null", 100, &buf, &len, &st), -EINVAL);
	assert_true(S_ISCHR(st.st_mode));
	assert_string_equal(readfile_strerror(-EINVAL), "not a regular file");
}

/* No writer ever opens it: a blocking open(2) would wait forever. */
static void
t_fifo(void **state)
{
	struct fx *fx = *state;
	struct timespec t0, t1;
	struct stat st;
	char *buf;
	size_t len;

	assert_int_equal(mkfifoat(fx->dfd, "fifo", 0600), 0);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	assert_int_equal(
	    readfile_at(fx->dfd, "fifo", 100, &buf, &len, &st), -EINVAL);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	assert_true(S_ISFIFO(st.st_mode));
	assert_null(buf);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
}

static void
t_fd_offset(void **state)
{
	struct fx *fx = *state;
	char *buf;
	size_t len;
	int fd;

	put(fx->dfd, "f", "0123456789", 10);
	assert_int_not_equal(
	    fd = openat(fx->dfd, "f", O_RDONLY | O_CLOEXEC), -1);
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	assert_int_equal(readfile_fd(fd, 10, &buf, &len, NULL), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "0123456789");
	free(buf);
	assert_int_equal(close(fd), 0);
}

/* A regular file reading longer than its st_size: st_size 0, text. */
static void
t_longer_than_stat(void **state)
{
	struct stat st;
	char *buf;
	size_t len;

	(void)state;
	/* Linux's procfs: a test machine without it cannot run relayd. */
	if (stat("/proc/self/status", &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size != 0)
		fail_msg("/proc/self/status is not a regular file of size 0");
	assert_int_equal(readfile_at(AT_FDCWD, "/proc/self/status", 1 << 20,
			     &buf, &len, &st),
	    -ESTALE);
	assert_null(buf);
	assert_int_equal(len, 0);
	assert_string_equal(
	    readfile_strerror(-ESTALE), "changed while it was read");
}

/* A regular file reading shorter than its st_size: sysfs says 4096. */
static void
t_shorter_than_stat(void **state)
{
	static const char *const cand[] = {
		"/sys/kernel/mm/transparent_hugepage/enabled",
		"/sys/kernel/profiling",
		"/sys/devices/system/cpu/online",
	};
	char probe[8192], *buf;
	struct stat st;
	size_t i, len;
	ssize_t n;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(cand) / sizeof(cand[0]); i++) {
		if ((fd = open(cand[i], O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode)
		    ? read(fd, probe, sizeof(probe))
		    : -1;
		(void)close(fd);
		if (n >= 0 && n < st.st_size && st.st_size < 65536)
			break;
	}
	if (i == sizeof(cand) / sizeof(cand[0]))
		fail_msg("no sysfs file reads shorter than its st_size");
	assert_int_equal(
	    readfile_at(AT_FDCWD, cand[i], 65536, &buf, &len, NULL), -ESTALE);
	assert_null(buf);
}

/* Append to path until killed; one byte on ready once it has begun. */
static pid_t
start_writer(const char *path)
{
	int p[2], fd;
	pid_t pid;
	char c = 'x';

	assert_int_equal(pipe(p), 0);
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		alarm(HANG_GUARD * 2);
		if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
			_exit(1);
		if (write(fd, &c, 1) != 1 || write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;) {
			if (write(fd, &c, 1) != 1)
				_exit(1);
			(void)usleep(20);
		}
	}
	(void)close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);
	(void)close(p[0]);
	return pid;
}

/*
 * A real writer appends while we read a 4 MiB file over and over: every
 * success must be a snapshot as long as its own st_size, and the reads that
 * overlap an append must come back -ESTALE (at least one within 5 s).
 */
static void
t_growing(void **state)
{
	struct fx *fx = *state;
	size_t size = 4 << 20, len;
	struct timespec t0, t;
	char path[PATH_MAX], *data, *buf;
	int r, stale = 0, ok = 0, st_status;
	struct stat st;
	pid_t pid;

	assert_non_null(data = malloc(size));
	memset(data, 'x', size);
	put(fx->dfd, "grow", data, size);
	free(data);
	(void)snprintf(path, sizeof(path), "%s/grow", fx->dir);
	pid = start_writer(path);
	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	do {
		r = readfile_at(fx->dfd, "grow", 64 << 20, &buf, &len, &st);
		if (r == 0) {
			assert_int_equal(len, (size_t)st.st_size);
			assert_null(memchr(buf, '\0', len));
			free(buf);
			ok++;
		} else {
			assert_int_equal(r, -ESTALE);
			assert_null(buf);
			stale++;
		}
		assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &t), 0);
	} while (stale == 0 && t.tv_sec - t0.tv_sec < 5);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &st_status, 0), pid);
	print_message("grow: %d stale, %d consistent reads\n", stale, ok);
	assert_true(stale > 0);
}

static void
t_walk_open_io(void **state)
{
	struct fx *fx = *state;
	char p[16], *buf;
	struct stat st;
	size_t len;
	int rootfd, fd;

	assert_int_not_equal(
	    rootfd = open(fx->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), -1);
	assert_int_equal(mkdirat(fx->dfd, "etc", 0755), 0);
	assert_int_equal(symlinkat("etc", fx->dfd, "lnk"), 0);
	put(fx->dfd, "etc/pid", "1234\n", 5);
	assert_int_equal(mkfifoat(fx->dfd, "etc/fifo", 0600), 0);

	fd = walk_open_io(rootfd, "/etc/pid", O_RDONLY, &st);
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(readfile_fd(fd, 32, &buf, &len, NULL), 0);
	assert_string_equal(buf, "1234\n");
	free(buf);
	assert_int_equal(close(fd), 0);

	/* A symlink anywhere on the path, not only at the end. */
	assert_int_equal(
	    walk_open_io(rootfd, "/lnk/pid", O_RDONLY, NULL), -ELOOP);
	assert_int_equal(
	    walk_open_io(rootfd, "/etc/fifo", O_RDONLY, NULL), -EINVAL);
	assert_int_equal(walk_open_io(rootfd, "/etc", O_RDONLY, NULL), -EINVAL);
	assert_int_equal(
	    walk_open_io(rootfd, "/etc/pid", O_RDONLY | O_DIRECTORY, NULL),
	    -ENOTDIR);
	fd = walk_open_io(rootfd, "/etc", O_RDONLY | O_DIRECTORY, NULL);
	assert_true(fd >= 0);
	assert_int_equal(fstatat(fd, "pid", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(
	    walk_open_io(rootfd, "/etc/none", O_RDONLY, NULL), -ENOENT);

	assert_int_equal(walk_fd_path(7, p, sizeof(p)), 0);
	assert_string_equal(p, "/proc/self/fd/7");
	assert_int_equal(walk_fd_path(17, p, sizeof(p)), -ENAMETOOLONG);
	assert_int_equal(close(rootfd), 0);
}

/* readfile_head_fd: a prefix of a long file, the whole of a short one. */
static void
t_head(void **state)
{
	struct fx *fx = *state;
	char data[100], *buf;
	struct stat st;
	size_t len;
	int fd;

	memset(data, 'h', sizeof(data));
	data[0] = 'A';
	put(fx->dfd, "hundred", data, sizeof(data));
	assert_true((fd = readfile_open(fx->dfd, "/hundred")) >= 0);
	assert_int_equal(readfile_head_fd(fd, 10, &buf, &len, &st), 0);
	assert_int_equal(len, 10);
	assert_int_equal(st.st_size, 100);
	assert_memory_equal(buf, data, 10);
	assert_int_equal(buf[10], '\0');
	free(buf);
	/* Whatever the fd's offset; max at or over the size: all of it. */
	assert_int_equal(lseek(fd, 50, SEEK_SET), 50);
	assert_int_equal(readfile_head_fd(fd, 100, &buf, &len, &st), 0);
	assert_int_equal(len, 100);
	assert_memory_equal(buf, data, 100);
	free(buf);
	assert_int_equal(readfile_head_fd(fd, 1000, &buf, &len, NULL), 0);
	assert_int_equal(len, 100);
	free(buf);
	assert_int_equal(close(fd), 0);

	/* The same refusals as a whole read. */
	assert_int_equal(mkfifoat(fx->dfd, "fifo", 0600), 0);
	assert_true((fd = readfile_open(fx->dfd, "fifo")) >= 0);
	assert_int_equal(readfile_head_fd(fd, 10, &buf, &len, &st), -EINVAL);
	assert_null(buf);
	assert_true(S_ISFIFO(st.st_mode));
	assert_int_equal(close(fd), 0);
	assert_int_equal(symlinkat("hundred", fx->dfd, "link"), 0);
	assert_int_equal(readfile_open(fx->dfd, "link"), -ELOOP);
	assert_int_equal(readfile_open(fx->dfd, "missing"), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    t_empty_and_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(t_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(t_fd_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    t_longer_than_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    t_shorter_than_stat, setup, teardown),
		cmocka_unit_test_setup_teardown(t_growing, setup, teardown),
		cmocka_unit_test_setup_teardown(t_head, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    t_walk_open_io, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
