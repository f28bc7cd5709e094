/*
 * The server pool's protocol (relayd/master_pool.c), both ends in one
 * process over a real SOCK_SEQPACKET pair: a report frees the child for
 * the next connection, which arrives with its fd (close-on-exec) and what
 * the master knows; max_use, a reload (retire) and max_idle let it go
 * (EOF at the child); a malformed report gets the child killed; a
 * malformed connection message is refused and its fd closed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "master_pool.h"

struct seen {
	int n;
	pid_t pid;
	int status;
};

static void
record(void *arg, pid_t pid, int status)
{
	struct seen *s = arg;

	s->n++;
	s->pid = pid;
	s->status = status;
}

/* A pool with one busy child (pid) whose end is *child. */
static struct master_pool *
one_child(pid_t pid, int *child)
{
	struct master_pool *p = master_pool_new();
	int sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(master_pool_add(p, pid, sv[0]), 0);
	*child = sv[1];
	return p;
}

static void
report(int child, int status)
{
	assert_int_equal(
	    send(child, &status, sizeof(status), 0), (ssize_t)sizeof(status));
}

static void
test_report_then_next_connection(void **state)
{
	struct pool_conn c, got;
	struct seen s = { 0 };
	struct stat a, b;
	int child, fd, pfd[2];
	struct master_pool *p = one_child(4242, &child);

	(void)state;
	/* Busy: no connection for it, and nothing to collect yet. */
	assert_int_equal(pipe(pfd), 0);
	memset(&c, 0, sizeof(c));
	c.peer.ss_family = AF_INET;
	c.peerlen = sizeof(struct sockaddr_in);
	c.auth_failures = 3;
	c.passed = 1;
	c.stress = 1;
	assert_int_equal(master_pool_send(p, pfd[0], &c), 0);
	master_pool_collect(p, 10, record, &s);
	assert_int_equal(s.n, 0);
	report(child, 64 | 32 | 2);
	master_pool_collect(p, 10, record, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.pid, 4242);
	assert_true(WIFEXITED(s.status));
	assert_int_equal(WEXITSTATUS(s.status), 64 | 32 | 2);
	assert_int_equal(master_pool_size(p), 1);
	/* Idle now: it gets the next one, fd and all. */
	assert_int_equal(master_pool_send(p, pfd[0], &c), 4242);
	fd = pool_child_wait(child, &got);
	assert_true(fd >= 0);
	assert_int_not_equal(fd, pfd[0]);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(fstat(pfd[0], &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_memory_equal(&got, &c, sizeof(c));
	(void)close(fd);
	(void)close(pfd[0]);
	(void)close(pfd[1]);
	(void)close(child);
	master_pool_free(p);
}

static void
test_max_use_and_retire_let_go(void **state)
{
	struct pool_conn got;
	struct seen s = { 0 };
	char buf[16];
	int child, other;
	struct master_pool *p = one_child(1, &child);

	(void)state;
	report(child, 0);
	master_pool_collect(p, 1, record, &s); /* max_use 1: done */
	assert_int_equal(s.n, 1);
	assert_int_equal(master_pool_size(p), 0);
	assert_int_equal(pool_child_wait(child, &got), -1); /* EOF */
	(void)close(child);
	master_pool_free(p);

	/* Retire: an idle child goes at once, a busy one after its report. */
	p = one_child(1, &child);
	{
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		assert_int_equal(master_pool_add(p, 2, sv[0]), 0);
		other = sv[1];
	}
	report(child, 0);
	master_pool_collect(p, 10, record, &s); /* pid 1 idle, 2 busy */
	master_pool_retire(p);
	assert_int_equal(master_pool_size(p), 1);
	assert_int_equal(recv(child, buf, sizeof(buf), 0), 0); /* EOF */
	report(other, 0);
	master_pool_collect(p, 10, record, &s);
	assert_int_equal(s.pid, 2);
	assert_int_equal(master_pool_size(p), 0);
	(void)close(child);
	(void)close(other);
	master_pool_free(p);
}

static void
test_max_idle(void **state)
{
	struct seen s = { 0 };
	int child;
	struct master_pool *p = one_child(1, &child);
	long left;

	(void)state;
	assert_int_equal(master_pool_expire(p, 0), -1); /* busy: not idle */
	report(child, 0);
	master_pool_collect(p, 10, record, &s);
	left = master_pool_expire(p, 100);
	assert_true(left > 99000 && left <= 100000);
	assert_int_equal(master_pool_size(p), 1);
	assert_int_equal(master_pool_expire(p, 0), -1);
	assert_int_equal(master_pool_size(p), 0);
	(void)close(child);
	master_pool_free(p);
}

/* A real child, so that the master's kill() has someone to kill. */
static pid_t
sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void
test_bad_reports_get_the_child_killed(void **state)
{
	struct seen s = { 0 };
	int child, st, i;
	pid_t pid;
	struct master_pool *p;

	(void)state;
	for (i = 0; i < 3; i++) {
		pid = sleeper();
		p = one_child(pid, &child);
		if (i == 0) /* short */
			assert_int_equal(send(child, "xy", 2, 0), 2);
		else if (i == 1) /* out of range */
			report(child, 256);
		else { /* a second report while idle */
			report(child, 0);
			master_pool_collect(p, 10, record, &s);
			report(child, 0);
		}
		master_pool_collect(p, 10, record, &s);
		assert_int_equal(master_pool_size(p), 0);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		(void)close(child);
		master_pool_free(p);
	}
}

static void
test_malformed_connection_is_refused_and_closed(void **state)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	char three[3] = "abc", x;
	struct iovec iov = { .iov_base = three, .iov_len = sizeof(three) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	struct pool_conn got;
	int sv[2], pfd[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(pipe(pfd), 0);
	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd[1], sizeof(int));
	assert_int_equal(sendmsg(sv[0], &msg, 0), 3);
	(void)close(pfd[1]);
	assert_int_equal(pool_child_wait(sv[1], &got), -1);
	/* The passed write end was closed: the read end sees EOF. */
	assert_int_equal(read(pfd[0], &x, 1), 0);
	(void)close(pfd[0]);
	(void)close(sv[0]);
	(void)close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_then_next_connection),
		cmocka_unit_test(test_max_use_and_retire_let_go),
		cmocka_unit_test(test_max_idle),
		cmocka_unit_test(test_bad_reports_get_the_child_killed),
		cmocka_unit_test(
		    test_malformed_connection_is_refused_and_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
