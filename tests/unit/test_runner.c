/*
 * Unit tests for the queue runner's pure parts: retry backoff (retry_min
 * doubling up to retry_max), queue_lifetime expiry, the schedule
 * (ordering, grouping by next hop, batches, worker limits, rounds over
 * several hops, flush) and next-hop keys (transport map, smarthost, MX).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "deliver.h"
#include "runner_sched.h"

static void
test_backoff(void **state)
{
	(void)state;
	assert_int_equal(runner_backoff(300, 3600, 1), 300);
	assert_int_equal(runner_backoff(300, 3600, 2), 600);
	assert_int_equal(runner_backoff(300, 3600, 3), 1200);
	assert_int_equal(runner_backoff(300, 3600, 4), 2400);
	assert_int_equal(runner_backoff(300, 3600, 5), 3600);
	assert_int_equal(runner_backoff(300, 3600, 6), 3600);
	assert_int_equal(runner_backoff(300, 3600, 1000000), 3600);
	/* No overflow near the top of unsigned. */
	assert_int_equal(
	    runner_backoff(3000000000u, 4000000000u, 3), 4000000000u);
	/* Odd settings: never below 1 s, never below retry_min. */
	assert_int_equal(runner_backoff(0, 0, 5), 1);
	assert_int_equal(runner_backoff(600, 60, 3), 600);
	assert_int_equal(runner_backoff(1, 2, 0), 1);
}

static void
test_expired(void **state)
{
	(void)state;
	assert_false(runner_expired(1000, 100, 1099));
	assert_true(runner_expired(1000, 100, 1100));
	assert_true(runner_expired(1000, 100, 999999));
	assert_false(runner_expired(1000, 100, 500)); /* clock went back */
	assert_true(runner_expired(1000, 0, 1000));
}

static const struct runner_limits big = { 20, 4, 20 };

static void
set1(struct runner_sched *s, const char *id, int64_t next, const char *hop,
    int64_t now)
{
	const char *h[] = { hop };

	assert_int_equal(runner_sched_set(s, id, next, h, 1, now, 60), 0);
}

static struct runner_job *
job_of(struct runner_job **jobs, size_t n, const char *hop)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(jobs[i]->hop, hop) == 0)
			return jobs[i];
	return NULL;
}

static void
test_grouping_and_order(void **state)
{
	struct runner_sched *s = runner_sched_new(&big);
	struct runner_job *jobs[8], *j;
	const char *two[] = { "h1", "h2" };
	size_t n;

	(void)state;
	assert_non_null(s);
	set1(s, "AAAAAAAAAAAA", 50, "h1", 0);
	set1(s, "BBBBBBBBBBBB", 10, "h1", 0);
	set1(s, "CCCCCCCCCCCC", 0, "h2", 0);
	set1(s, "DDDDDDDDDDDD", 500, "h1", 0); /* not due yet */
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 10, two, 2, 0, 60), 0);
	assert_int_equal(runner_sched_count(s), 5);
	assert_int_equal(runner_sched_wakeup(s), 0);
	n = runner_sched_next(s, 100, jobs, 8);
	assert_int_equal(n, 2);
	assert_int_equal(runner_sched_running(s), 2);
	/* One job per next hop; oldest due first, then by id. */
	j = job_of(jobs, n, "h1");
	assert_non_null(j);
	assert_int_equal(j->n, 3);
	assert_string_equal(j->id[0], "BBBBBBBBBBBB");
	assert_string_equal(j->id[1], "EEEEEEEEEEEE");
	assert_string_equal(j->id[2], "AAAAAAAAAAAA");
	assert_true(j->first[0] && j->first[1] && j->first[2]);
	j = job_of(jobs, n, "h2");
	assert_non_null(j);
	assert_int_equal(j->n, 1);
	assert_string_equal(j->id[0], "CCCCCCCCCCCC");
	/* Busy messages are not handed out twice; D is due at 500. */
	assert_int_equal(runner_sched_next(s, 100, jobs, 8), 0);
	assert_int_equal(runner_sched_wakeup(s), 500);
	runner_sched_free(s);
}

static void
test_limits(void **state)
{
	struct runner_limits lim = { 3, 2, 2 };
	struct runner_sched *s = runner_sched_new(&lim);
	struct runner_job *jobs[8], *first;
	char id[16];
	size_t n, i;

	(void)state;
	for (i = 0; i < 9; i++) {
		snprintf(id, sizeof(id), "AAAAAAAAAA%02zu", i);
		set1(s, id, 0, "h1", 0);
	}
	set1(s, "BBBBBBBBBBBB", 0, "h2", 0);
	set1(s, "CCCCCCCCCCCC", 0, "h3", 0);
	/* per_dest 2 x batch 2 for h1; 3 workers in all. */
	n = runner_sched_next(s, 1, jobs, 8);
	assert_int_equal(n, 3);
	assert_int_equal(jobs[0]->n, 2);
	assert_string_equal(jobs[0]->id[0], "AAAAAAAAAA00");
	assert_string_equal(jobs[0]->id[1], "AAAAAAAAAA01");
	assert_string_equal(jobs[1]->hop, "h1");
	assert_string_equal(jobs[2]->hop, "h2");
	assert_int_equal(runner_sched_next(s, 1, jobs, 8), 0);
	/* Due but held back: wakeup says now, the runner waits for exits. */
	assert_int_equal(runner_sched_wakeup(s), 0);
	/* A worker ends: its messages were delivered (files gone). */
	first = runner_sched_job_at(s, 0);
	first->pid = 42;
	assert_ptr_equal(runner_sched_job(s, 42), first);
	runner_sched_done(s, first);
	for (i = 0; i < first->n; i++)
		runner_sched_remove(s, first->id[i]);
	runner_sched_job_free(s, first);
	assert_int_equal(runner_sched_running(s), 2);
	n = runner_sched_next(s, 1, jobs, 8);
	assert_int_equal(n, 1);
	/* h1 has one job running still: the freed slot goes to h1 again
	 * (its messages are older than h3's by id order at equal due). */
	assert_string_equal(jobs[0]->hop, "h1");
	assert_string_equal(jobs[0]->id[0], "AAAAAAAAAA04");
	runner_sched_free(s);
}

static void
test_rounds(void **state)
{
	struct runner_sched *s = runner_sched_new(&big);
	struct runner_job *jobs[4];
	const char *two[] = { "h1", "h2" }, *one[] = { "h2" };

	(void)state;
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 0, two, 2, 100, 60), 0);
	assert_int_equal(runner_sched_next(s, 100, jobs, 4), 1);
	assert_string_equal(jobs[0]->hop, "h1");
	assert_true(jobs[0]->first[0]);
	/* h1 deferred its recipients: next try 400, h2 not tried yet. */
	runner_sched_done(s, jobs[0]);
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 400, two, 2, 110, 60), 0);
	runner_sched_job_free(s, jobs[0]);
	assert_int_equal(runner_sched_wakeup(s), 110);
	assert_int_equal(runner_sched_next(s, 110, jobs, 4), 1);
	assert_string_equal(jobs[0]->hop, "h2");
	assert_false(jobs[0]->first[0]); /* same round: no second bump */
	runner_sched_done(s, jobs[0]);
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 400, two, 2, 120, 60), 0);
	runner_sched_job_free(s, jobs[0]);
	/* Round over: due at the file's next try, a new round then. */
	assert_int_equal(runner_sched_wakeup(s), 400);
	assert_int_equal(runner_sched_next(s, 399, jobs, 4), 0);
	assert_int_equal(runner_sched_next(s, 400, jobs, 4), 1);
	assert_string_equal(jobs[0]->hop, "h1");
	assert_true(jobs[0]->first[0]);
	/* h1 delivered; only h2 is pending and was not tried this round. */
	runner_sched_done(s, jobs[0]);
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 400, one, 1, 401, 60), 0);
	runner_sched_job_free(s, jobs[0]);
	/* (h1's bit went with h1: a fresh round, already due.) */
	assert_int_equal(runner_sched_wakeup(s), 400);
	assert_int_equal(runner_sched_next(s, 401, jobs, 4), 1);
	assert_string_equal(jobs[0]->hop, "h2");
	/* The worker recorded nothing (crashed): guard delay, no spin. */
	runner_sched_done(s, jobs[0]);
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 400, one, 1, 402, 60), 0);
	runner_sched_job_free(s, jobs[0]);
	assert_int_equal(runner_sched_wakeup(s), 462);
	/* Flush: everything due now, a fresh round. */
	runner_sched_flush(s);
	assert_int_equal(runner_sched_wakeup(s), 0);
	assert_int_equal(runner_sched_next(s, 403, jobs, 4), 1);
	assert_true(jobs[0]->first[0]);
	/* nhop 0 (nothing pending) forgets the message. */
	assert_int_equal(
	    runner_sched_set(s, "EEEEEEEEEEEE", 0, one, 0, 404, 60), 0);
	assert_int_equal(runner_sched_count(s), 0);
	runner_sched_free(s);
}

static void
test_hopkey(void **state)
{
	static const char map[] = "# transport\n"
				  "example.org   [10.0.0.1]:2525\n"
				  ".sub.example  relay.example.net\n";
	struct route_table *t = NULL;
	struct config cfg;
	struct queue_rcpt r[4];
	struct queue_file qf;
	char key[ROUTE_NEXTHOP_MAX + 1], err[256], **keys;
	size_t n;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(route_table_parse(map, sizeof(map) - 1, "transport",
			     &t, err, sizeof(err)),
	    0);
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@Example.ORG>", key, sizeof(key)), 0);
	assert_string_equal(key, "[10.0.0.1]:2525");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@x.sub.example>", key, sizeof(key)), 0);
	assert_string_equal(key, "relay.example.net");
	/* No map entry, no smarthost: the domain (MX routing). */
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@Other.Example>", key, sizeof(key)), 0);
	assert_string_equal(key, "other.example");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<postmaster>", key, sizeof(key)), 0);
	assert_string_equal(key, "");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "junk", key, sizeof(key)), -EINVAL);
	/* The smarthost comes after the map, before MX. */
	strlcpy(cfg.smarthost, "[127.0.0.1]:10026", sizeof(cfg.smarthost));
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@other.example>", key, sizeof(key)), 0);
	assert_string_equal(key, "[127.0.0.1]:10026");
	assert_int_equal(
	    deliver_hopkey(&cfg, t, "<a@example.org>", key, sizeof(key)), 0);
	assert_string_equal(key, "[10.0.0.1]:2525");

	/* Distinct keys of the pending recipients, in order. */
	memset(&qf, 0, sizeof(qf));
	memset(r, 0, sizeof(r));
	strlcpy(r[0].path, "<a@example.org>", sizeof(r[0].path));
	strlcpy(r[1].path, "<b@other.example>", sizeof(r[1].path));
	strlcpy(r[2].path, "<c@example.org>", sizeof(r[2].path));
	strlcpy(r[3].path, "<d@third.example>", sizeof(r[3].path));
	r[3].state = QUEUE_RCPT_SENT;
	qf.rcpt = r;
	qf.nrcpt = 4;
	cfg.smarthost[0] = '\0';
	assert_int_equal(deliver_pending_keys(&cfg, t, &qf, &keys, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0], "[10.0.0.1]:2525");
	assert_string_equal(keys[1], "other.example");
	deliver_keys_free(keys, n);
	route_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_grouping_and_order),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_hopkey),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
