/*
 * Unit tests for the runner's delivery workers (runner_worker.c): the job
 * datagram both ways and what a worker refuses, the one-int report and
 * what the runner refuses, and the table (which idle worker takes a job,
 * who is let go when, and when).
 */
#include <sys/socket.h>

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

#include "runner_worker.h"

#define ID1 "0ABCDEFGHJKMNPQRS"
#define ID2 "0ABCDEFGHJKMNPQRT"

static void
pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void
test_job_round_trip(void **state)
{
	char ids[2][QUEUE_ID_MAX + 1] = { ID1, ID2 };
	unsigned char first[2] = { 1, 0 };
	struct runner_job j = { "[127.0.0.1]:25 tls=may", ids, first, 2, 0 };
	struct runner_jobmsg m;
	struct runner_job got;
	int sv[2];

	(void)state;
	assert_true(queue_id_valid(ID1) && queue_id_valid(ID2));
	pair(sv);
	assert_int_equal(runner_job_send(sv[0], &j), 0);
	assert_int_equal(runner_job_recv(sv[1], &m, &got), 1);
	assert_string_equal(got.hop, j.hop);
	assert_int_equal(got.n, 2);
	assert_string_equal(got.id[0], ID1);
	assert_string_equal(got.id[1], ID2);
	assert_int_equal(got.first[0], 1);
	assert_int_equal(got.first[1], 0);
	/* The runner let the worker go: EOF. */
	(void)close(sv[0]);
	assert_int_equal(runner_job_recv(sv[1], &m, &got), 0);
	(void)close(sv[1]);
}

/* One datagram on the wire; what runner_job_recv() makes of it. */
static int
recv_of(const void *buf, size_t len)
{
	struct runner_jobmsg m;
	struct runner_job got;
	int sv[2], rv;

	pair(sv);
	assert_int_equal(send(sv[0], buf, len, 0), (ssize_t)len);
	rv = runner_job_recv(sv[1], &m, &got);
	(void)close(sv[0]);
	(void)close(sv[1]);
	return rv;
}

static void
good(struct runner_jobmsg *m)
{
	memset(m, 0, sizeof(*m));
	(void)snprintf(m->hop, sizeof(m->hop), "example.org");
	m->n = 1;
	(void)snprintf(m->id[0], sizeof(m->id[0]), "%s", ID1);
}

static void
test_job_refused(void **state)
{
	struct runner_jobmsg m;
	char big[sizeof(m) + 1];

	(void)state;
	good(&m);
	assert_int_equal(recv_of(&m, sizeof(m)), 1);
	assert_int_equal(recv_of(&m, sizeof(m) - 1), -EBADMSG);
	memset(big, 0, sizeof(big));
	memcpy(big, &m, sizeof(m));
	assert_int_equal(recv_of(big, sizeof(big)), -EBADMSG);
	m.n = 0;
	assert_int_equal(recv_of(&m, sizeof(m)), -EBADMSG);
	m.n = RUNNER_BATCH_MAX + 1;
	assert_int_equal(recv_of(&m, sizeof(m)), -EBADMSG);
	good(&m);
	memset(m.hop, 'a', sizeof(m.hop));
	assert_int_equal(recv_of(&m, sizeof(m)), -EBADMSG);
	good(&m);
	(void)snprintf(m.id[0], sizeof(m.id[0]), "../queue/x");
	assert_int_equal(recv_of(&m, sizeof(m)), -EBADMSG);
	good(&m);
	memset(m.id[0], 'A', sizeof(m.id[0]));
	assert_int_equal(recv_of(&m, sizeof(m)), -EBADMSG);
	good(&m);
	m.n = 2; /* the second id is empty */
	assert_int_equal(recv_of(&m, sizeof(m)), -EBADMSG);
}

static void
test_report(void **state)
{
	struct runner_workers t = { 0 };
	struct runner_worker *w;
	struct runner_job job = { 0 }, *done;
	int sv[2], one = 0, two[2] = { 0, 0 };

	(void)state;
	pair(sv);
	w = runner_workers_add(&t, 100, sv[0], "h", 0);
	assert_non_null(w);
	/* Nothing to read yet. */
	assert_int_equal(runner_workers_report(w, 5, &done), 2);
	w->job = &job;
	assert_int_equal(send(sv[1], &one, sizeof(one), 0), sizeof(one));
	assert_int_equal(runner_workers_report(w, 7, &done), 1);
	assert_ptr_equal(done, &job);
	assert_null(w->job);
	assert_int_equal(w->idle_since, 7);
	/* A report while idle: the runner kills it. */
	assert_int_equal(send(sv[1], &one, sizeof(one), 0), sizeof(one));
	assert_int_equal(runner_workers_report(w, 8, &done), -1);
	assert_null(done);
	assert_int_equal(w->fd, -1);
	assert_false(is_open(sv[0]));
	(void)close(sv[1]);

	/* More than one int, while busy: the same. */
	pair(sv);
	w->fd = sv[0];
	w->job = &job;
	assert_int_equal(send(sv[1], two, sizeof(two), 0), sizeof(two));
	assert_int_equal(runner_workers_report(w, 9, &done), -1);
	assert_ptr_equal(w->job, &job); /* finished when it is reaped */
	(void)close(sv[1]);

	/* EOF: it is going; reaping follows. */
	pair(sv);
	w->fd = sv[0];
	(void)close(sv[1]);
	assert_int_equal(runner_workers_report(w, 9, &done), 0);
	assert_int_equal(w->fd, -1);
	runner_workers_free(&t);
}

static int
fd_null(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	return fd;
}

static void
test_table(void **state)
{
	struct runner_workers t = { 0 };
	struct runner_job job = { 0 };
	struct runner_worker *a, *b, *c;
	int cfd;

	(void)state;
	a = runner_workers_add(&t, 1, fd_null(), "x.test", 1000);
	a->idle_since = 1000;
	b = runner_workers_add(&t, 2, fd_null(), "x.test", 1000);
	b->idle_since = 1500;
	c = runner_workers_add(&t, 3, cfd = fd_null(), "y.test", 1000);
	c->job = &job;
	/* The one used last has the warmest connection. */
	assert_int_equal(runner_workers_idle(&t, "x.test")->pid, 2);
	assert_null(runner_workers_idle(&t, "y.test")); /* busy */
	assert_null(runner_workers_idle(&t, "z.test"));
	assert_int_equal(runner_workers_live(&t), 3);
	assert_int_equal(runner_workers_fd(&t, cfd)->pid, 3);
	assert_null(runner_workers_fd(&t, -1));
	/* Idle 2 s: let go; the next is due when b's 2 s are up. */
	assert_int_equal(runner_workers_expire(&t, 3000), 500);
	assert_int_equal(runner_workers_pid(&t, 1)->fd, -1);
	assert_null(runner_workers_fd(&t, -1)); /* let go: found by pid only */
	assert_true(runner_workers_pid(&t, 2)->fd >= 0);
	assert_int_equal(runner_workers_live(&t), 2);
	/* A busy worker is never let go, however long it runs. */
	assert_int_equal(runner_workers_expire(&t, 3500), -1);
	assert_true(is_open(cfd));
	/* Room for a new one: the idle one goes, not the busy one. */
	assert_int_equal(runner_workers_release_oldest(&t), -1);
	runner_workers_pid(&t, 3)->job = NULL;
	runner_workers_pid(&t, 3)->idle_since = 3600;
	assert_int_equal(runner_workers_expire(&t, 3700), 1900);
	/* A worker alive for RUNNER_REUSE_MS takes no new job. */
	assert_int_equal(runner_workers_expire(&t, 1000 + RUNNER_REUSE_MS), -1);
	assert_int_equal(runner_workers_live(&t), 0);
	/* Reaped: forgotten. */
	runner_workers_remove(&t, runner_workers_pid(&t, 2));
	assert_null(runner_workers_pid(&t, 2));
	assert_int_equal(t.n, 2);
	runner_workers_free(&t);
}

static void
test_release_oldest(void **state)
{
	struct runner_workers t = { 0 };
	struct runner_worker *w;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		w = runner_workers_add(&t, 10 + i, fd_null(), "h", 0);
		w->idle_since = 100 - i;
	}
	assert_int_equal(runner_workers_release_oldest(&t), 0);
	assert_int_equal(runner_workers_pid(&t, 12)->fd, -1);
	assert_int_equal(runner_workers_live(&t), 2);
	runner_workers_close_all(&t);
	assert_int_equal(runner_workers_live(&t), 0);
	assert_int_equal(runner_workers_release_oldest(&t), -1);
	runner_workers_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_round_trip),
		cmocka_unit_test(test_job_refused),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_release_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
