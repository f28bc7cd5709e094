/*
 * Unit tests for lib/metrics.c: the file's name from the pidfile's, the
 * counters shared with a forked child that drops its privileges (as
 * relayd's children do), and the reader's refusals (another owner, a
 * wrong size or magic, a symlink, no file).  Runs as root (setuid in
 * the child, chown).
 */
#include <sys/stat.h>
#include <sys/wait.h>

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

#include "metrics.h"
#include "tmptree.h"

static char dir[] = "/tmp/test_metrics.XXXXXX";
static char path[sizeof(dir) + 32];
static int rootfd = -1; /* "/": the reader takes paths under a root fd */

static int
setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(rootfd >= 0);
	(void)snprintf(path, sizeof(path), "%s/relayd.metrics", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	metrics_close(path);
	(void)close(rootfd);
	assert_int_equal(tmptree_remove_at(AT_FDCWD, dir), 0);
	return 0;
}

static void
test_path(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(metrics_path("/run/relayd.pid", out, sizeof(out)), 0);
	assert_string_equal(out, "/run/relayd.metrics");
	assert_int_equal(metrics_path("/run/relayd", out, sizeof(out)), 0);
	assert_string_equal(out, "/run/relayd.metrics");
	assert_int_equal(metrics_path("/x.pid", out, 8), -ENAMETOOLONG);
	assert_string_equal(metrics_reason(METRICS_REJ_LIMIT), "limit");
	assert_string_equal(metrics_reason(METRICS_REJ_MILTER), "milter");
	assert_null(metrics_reason(METRICS_ACCEPTED));
}

/* A child that drops to another uid still counts into the same file. */
static void
test_shared_after_drop(void **state)
{
	struct metrics_file mf;
	struct stat st;
	pid_t pid;
	int status, i;

	(void)state;
	metrics_inc(METRICS_ACCEPTED); /* before open: nothing, no crash */
	assert_int_equal(metrics_open(path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	metrics_inc(METRICS_SESSIONS);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(4242) != 0 || setuid(4242) != 0 || getuid() != 4242)
			_exit(2);
		for (i = 0; i < 1000; i++)
			metrics_inc(METRICS_DELIVERED);
		metrics_inc(METRICS_REJ_RELAY);
		_exit(0);
	}
	for (i = 0; i < 1000; i++)
		metrics_inc(METRICS_DELIVERED);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(metrics_read(rootfd, path, &mf), 0);
	assert_memory_equal(mf.magic, METRICS_MAGIC, sizeof(mf.magic));
	assert_true(mf.start > 1700000000u);
	assert_int_equal(mf.c[METRICS_SESSIONS], 1);
	assert_int_equal(mf.c[METRICS_DELIVERED], 2000);
	assert_int_equal(mf.c[METRICS_REJ_RELAY], 1);
	assert_int_equal(mf.c[METRICS_ACCEPTED], 0);
	metrics_close(path);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(metrics_read(rootfd, path, &mf), -ENOENT);
	metrics_inc(METRICS_ACCEPTED); /* after close: nothing */
}

static void
test_reader_refuses(void **state)
{
	struct metrics_file mf;
	char other[sizeof(path) + 8];
	int fd;

	(void)state;
	assert_int_equal(metrics_open(path), 0);
	metrics_inc(METRICS_SESSIONS);
	/* Not root's: the relay account made it. */
	assert_int_equal(chown(path, 4242, 4242), 0);
	assert_int_equal(metrics_read(rootfd, path, &mf), -EINVAL);
	assert_int_equal(chown(path, 0, 0), 0);
	assert_int_equal(metrics_read(rootfd, path, &mf), 0);
	/* Writable by others. */
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(metrics_read(rootfd, path, &mf), -EINVAL);
	assert_int_equal(chmod(path, 0644), 0);
	/* A symlink to it. */
	(void)snprintf(other, sizeof(other), "%s.lnk", path);
	assert_int_equal(symlink(path, other), 0);
	assert_int_equal(metrics_read(rootfd, other, &mf), -ELOOP);
	assert_int_equal(unlink(other), 0);
	/* The right size but no magic; a wrong size. */
	(void)snprintf(other, sizeof(other), "%s.bad", path);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, sizeof(mf)), 0);
	assert_int_equal(metrics_read(rootfd, other, &mf), -EINVAL);
	assert_int_equal(ftruncate(fd, sizeof(mf) + 8), 0);
	assert_int_equal(metrics_read(rootfd, other, &mf), -EINVAL);
	assert_int_equal(close(fd), 0);
	assert_int_equal(unlink(other), 0);
	metrics_close(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_shared_after_drop),
		cmocka_unit_test(test_reader_refuses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
