/*
 * Unit tests for lib/procstat.c: /proc/PID/status and stat parsing (ids,
 * groups, the five capability sets, NoNewPrivs, a hostile COMM) and the
 * reader against this very process's /proc entries.
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "procstat.h"

static const char child_status[] =
    "Name:\trelayd\nUmask:\t0022\nState:\tS (sleeping)\n"
    "Uid:\t24\t24\t24\t24\nGid:\t24\t25\t26\t27\nFDSize:\t64\n"
    "Groups:\t\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
    "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
    "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t0\n";

static void
test_status_child(void **state)
{
	struct procstat ps;

	(void)state;
	assert_int_equal(
	    procstat_parse_status(child_status, strlen(child_status), &ps), 0);
	assert_int_equal(ps.have,
	    PROCSTAT_UID | PROCSTAT_GID | PROCSTAT_GROUPS | PROCSTAT_CAPS |
		PROCSTAT_NNP);
	assert_int_equal(ps.uid[0], 24);
	assert_int_equal(ps.uid[3], 24);
	assert_int_equal(ps.gid[1], 25);
	assert_int_equal(ps.gid[3], 27);
	assert_int_equal(ps.ngroups, 0);
	assert_int_equal(ps.cap_eff, 0);
	assert_int_equal(ps.no_new_privs, 1);
}

static void
test_status_master(void **state)
{
	const char *t =
	    "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n"
	    "Groups:\t4 27 1000 \nCapInh:\t0\nCapPrm:\t00000000000404e0\n"
	    "CapEff:\t00000000000404e0\nCapBnd:\t000001ffffffffff\n"
	    "CapAmb:\t0000000000000000\nNoNewPrivs:\t0\n";
	struct procstat ps;

	(void)state;
	assert_int_equal(procstat_parse_status(t, strlen(t), &ps), 0);
	assert_int_equal(ps.ngroups, 3);
	assert_int_equal(ps.groups[1], 27);
	assert_int_equal(ps.groups[2], 1000);
	assert_true(ps.cap_prm == 0x404e0);
	assert_true(ps.cap_bnd == 0x1ffffffffffULL);
	assert_int_equal(ps.no_new_privs, 0);
	assert_true(ps.have & PROCSTAT_CAPS);
}

static void
test_status_missing_and_bad(void **state)
{
	struct procstat ps;
	const char *partial = "Uid:\t1\t1\t1\t1\nCapEff:\t0\n";
	const char *bad[] = { "Uid:\t1\t1\t1\n", "Uid:\t1\t1\t1\t1\t1\n",
		"Gid:\t-1\t0\t0\t0\n", "Uid:\t99999999999\t0\t0\t0\n",
		"CapEff:\tzz\n", "CapPrm:\t1 2\n", "NoNewPrivs:\t2\n",
		"Groups:\t1 x\n" };
	size_t i;

	(void)state;
	assert_int_equal(
	    procstat_parse_status(partial, strlen(partial), &ps), 0);
	assert_int_equal(ps.have, PROCSTAT_UID); /* one Cap line: no CAPS */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		    procstat_parse_status(bad[i], strlen(bad[i]), &ps),
		    -EINVAL);
}

static void
test_status_too_many_groups(void **state)
{
	char t[2048] = "Groups:\t";
	struct procstat ps;
	int i;

	(void)state;
	for (i = 0; i < PROCSTAT_NGROUPS + 1; i++)
		snprintf(t + strlen(t), sizeof(t) - strlen(t), "%d ", i + 1);
	assert_int_equal(procstat_parse_status(t, strlen(t), &ps), -E2BIG);
}

static void
test_stat_hostile_comm(void **state)
{
	const char *t = "4243 (a) S 1 (b)) R 4242 4242 0 0 -1 4194560 1 0 0 "
			"0 0 0 0 0 20 0 1 0 777 0 0\n";
	struct procstat ps;

	(void)state;
	memset(&ps, 0, sizeof(ps));
	assert_int_equal(procstat_parse_stat(t, strlen(t), &ps), 0);
	assert_int_equal(ps.pid, 4243);
	assert_int_equal(ps.ppid, 4242);
	assert_int_equal(ps.state, 'R');
	assert_true(ps.starttime == 777);
	assert_int_equal(procstat_parse_stat("12 (x", 5, &ps), -EINVAL);
	assert_int_equal(procstat_parse_stat("", 0, &ps), -EINVAL);
}

static void
test_read_self(void **state)
{
	struct procstat ps;
	char title[256];
	int procfd;

	(void)state;
	procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(procfd >= 0);
	assert_int_equal(procstat_read(procfd, getpid(), &ps), 0);
	assert_int_equal(ps.pid, getpid());
	assert_int_equal(ps.ppid, getppid());
	assert_int_equal(ps.uid[0], getuid());
	assert_int_equal(ps.uid[1], geteuid());
	assert_int_equal(ps.gid[0], getgid());
	assert_int_equal(
	    ps.no_new_privs, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	assert_true(ps.have & PROCSTAT_CAPS);
	assert_int_equal(procstat_cmdline(procfd, getpid(), title, 256), 0);
	assert_non_null(strstr(title, "test_procstat"));
	assert_int_equal(procstat_read(procfd, 0x7ffffff0, &ps), -ENOENT);
	close(procfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_child),
		cmocka_unit_test(test_status_master),
		cmocka_unit_test(test_status_missing_and_bad),
		cmocka_unit_test(test_status_too_many_groups),
		cmocka_unit_test(test_stat_hostile_comm),
		cmocka_unit_test(test_read_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
