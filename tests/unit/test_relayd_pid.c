/*
 * Unit tests for lib/relayd_pid.c: what a pidfile may hold, and which
 * process it names counts as a live relayd master (a fixture root with a
 * fake proc directory: stale pid, another program, a relayd child, a
 * zombie, garbage, a symlink or a FIFO where the pidfile belongs).
 */
#include <sys/stat.h>
#include <sys/types.h>

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

#include "relayd_pid.h"
#include "tmptree.h"

#define PIDFILE "/run/relayd.pid"
#define MASTER 4242
#define T(s) s, sizeof(s) - 1 /* a title that may hold NULs */

struct fixture {
	char dir[64];
	int rootfd, procfd;
};

static void
put(int dfd, const char *rel, const char *text, size_t len)
{
	int fd =
	    openat(dfd, rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

/* PROC/pid/{status,stat,cmdline}; title may hold NULs (len bytes). */
static void
fake_process(struct fixture *f, pid_t pid, unsigned uid, char state,
    const char *title, size_t tlen)
{
	char rel[64], text[512];
	int n;

	(void)snprintf(rel, sizeof(rel), "proc/%ld", (long)pid);
	assert_int_equal(mkdirat(f->rootfd, rel, 0755), 0);
	n = snprintf(text, sizeof(text),
	    "Name:\trelayd\nState:\t%c\nUid:\t%u\t%u\t%u\t%u\n"
	    "Gid:\t0\t0\t0\t0\nGroups:\t\n",
	    state, uid, uid, uid, uid);
	(void)snprintf(rel, sizeof(rel), "proc/%ld/status", (long)pid);
	put(f->rootfd, rel, text, (size_t)n);
	n = snprintf(text, sizeof(text),
	    "%ld (relayd) %c 1 %ld 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1000 0 "
	    "0\n",
	    (long)pid, state, (long)pid);
	(void)snprintf(rel, sizeof(rel), "proc/%ld/stat", (long)pid);
	put(f->rootfd, rel, text, (size_t)n);
	(void)snprintf(rel, sizeof(rel), "proc/%ld/cmdline", (long)pid);
	put(f->rootfd, rel, title, tlen);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void)strlcpy(f->dir, "/tmp/test_relayd_pid.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	f->rootfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->rootfd >= 0);
	assert_int_equal(mkdirat(f->rootfd, "run", 0755), 0);
	assert_int_equal(mkdirat(f->rootfd, "proc", 0755), 0);
	f->procfd = openat(f->rootfd, "proc", O_PATH | O_DIRECTORY);
	assert_true(f->procfd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	close(f->procfd);
	close(f->rootfd);
	assert_int_equal(tmptree_remove(f->dir), 0);
	free(f);
	return 0;
}

static void
test_parse(void **state)
{
	static const struct {
		const char *text;
		pid_t pid; /* 0: -EINVAL */
	} cases[] = {
		{ "4242\n", 4242 },
		{ "4242", 4242 },
		{ "2", 2 },
		{ "2147483647\n", 2147483647 },
		{ "", 0 },
		{ "\n", 0 },
		{ "0\n", 0 },
		{ "1\n", 0 }, /* init */
		{ "-5\n", 0 },
		{ "+5\n", 0 },
		{ " 42\n", 0 },
		{ "42 \n", 0 },
		{ "42\n\n", 0 },
		{ "42x\n", 0 },
		{ "hello\n", 0 },
		{ "2147483648\n", 0 },
		{ "99999999999\n", 0 },
		{ "00000000004242\n", 0 },
	};
	size_t i;
	pid_t pid;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = relayd_pid_parse(
		    cases[i].text, strlen(cases[i].text), &pid);

		if (r != (cases[i].pid ? 0 : -EINVAL) || pid != cases[i].pid)
			fail_msg(
			    "'%s': %d, pid %ld", cases[i].text, r, (long)pid);
	}
}

/* Who the pidfile names decides; the title alone never does. */
static void
test_process_rules(void **state)
{
	static const struct {
		const char *what;
		unsigned uid;
		char state;
		const char *title;
		size_t tlen;
		int want;
	} cases[] = {
		{ "master", 0, 'S', T("relayd: accepting connections on :25"),
		    0 },
		{ "starting", 0, 'S', T("/usr/sbin/relayd\0--root\0/x"), 0 },
		{ "bare argv0", 0, 'R', T("relayd\0-f"), 0 },
		{ "another program", 0, 'S', T("bash"), -ESRCH },
		{ "relayd child", 24, 'S', T("relayd: server x [1.2.3.4]"),
		    -ESRCH },
		{ "user's fake", 1000, 'S', T("relayd: accepting"), -ESRCH },
		{ "zombie", 0, 'Z', T(""), -ESRCH },
		{ "similar name", 0, 'S', T("relayd-evil: x"), -ESRCH },
		{ "similar path", 0, 'S', T("/usr/sbin/notrelayd"), -ESRCH },
		{ "no title", 0, 'S', T(""), -ESRCH },
	};
	struct fixture *f = *state;
	char text[32];
	size_t i;
	pid_t pid, want;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		want = MASTER + (pid_t)i;
		fake_process(f, want, cases[i].uid, cases[i].state,
		    cases[i].title, cases[i].tlen);
		(void)snprintf(text, sizeof(text), "%ld\n", (long)want);
		put(f->rootfd, "run/relayd.pid", text, strlen(text));
		r = relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid);
		if (r != cases[i].want || pid != want)
			fail_msg(
			    "%s: %d, pid %ld", cases[i].what, r, (long)pid);
		assert_int_equal(
		    relayd_pid_is_master(f->procfd, want), cases[i].want);
	}
}

static void
test_stale(void **state)
{
	struct fixture *f = *state;
	pid_t pid;

	put(f->rootfd, "run/relayd.pid", "4242\n", 5);
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -ESRCH);
	assert_int_equal(pid, 4242);
	assert_int_equal(relayd_pid_is_master(f->procfd, 4242), -ESRCH);
}

/* Nothing that is not a pid names a process: pid stays 0. */
static void
test_pidfile_itself(void **state)
{
	struct fixture *f = *state;
	char big[64];
	pid_t pid = 1;

	fake_process(f, MASTER, 0, 'S', "relayd: accepting", 17);
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -ENOENT);
	assert_int_equal(pid, 0);
	put(f->rootfd, "run/relayd.pid", "", 0); /* relayd writes it now */
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -ENOENT);
	put(f->rootfd, "run/relayd.pid", "4242 relayd\n", 12);
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -EINVAL);
	assert_int_equal(pid, 0);
	memset(big, '0', sizeof(big));
	memcpy(big + sizeof(big) - 5, "4242\n", 5);
	put(f->rootfd, "run/relayd.pid", big, sizeof(big));
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -EINVAL);
	assert_int_equal(unlinkat(f->rootfd, "run/relayd.pid", 0), 0);
	/* A symlink to a good pidfile is not followed. */
	put(f->rootfd, "run/real.pid", "4242\n", 5);
	assert_int_equal(symlinkat("real.pid", f->rootfd, "run/relayd.pid"), 0);
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -ELOOP);
	assert_int_equal(pid, 0);
	assert_int_equal(
	    relayd_pid(f->rootfd, "/run/real.pid", f->procfd, &pid), 0);
	assert_int_equal(pid, MASTER);
	assert_int_equal(unlinkat(f->rootfd, "run/relayd.pid", 0), 0);
	/* A FIFO is refused without blocking; so is a directory. */
	assert_int_equal(mkfifoat(f->rootfd, "run/relayd.pid", 0644), 0);
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -EINVAL);
	assert_int_equal(unlinkat(f->rootfd, "run/relayd.pid", 0), 0);
	assert_int_equal(mkdirat(f->rootfd, "run/relayd.pid", 0755), 0);
	assert_int_equal(
	    relayd_pid(f->rootfd, PIDFILE, f->procfd, &pid), -EINVAL);
}

/* The real /proc: this test program is not relayd, a free pid is gone. */
static void
test_real_proc(void **state)
{
	int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(procfd >= 0);
	assert_int_equal(relayd_pid_is_master(procfd, getpid()), -ESRCH);
	assert_int_equal(relayd_pid_is_master(procfd, 0x7ffffff0), -ESRCH);
	close(procfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test_setup_teardown(
		    test_process_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_pidfile_itself, setup, teardown),
		cmocka_unit_test(test_real_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
