/*
 * relayd.conf keys against slow and many clients: session_deadline,
 * min_data_rate, max_conn_rate and stress_timeout.  Defaults, forms,
 * every error with its file:line: key, and the man page and sample.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "config_fixture.h"

static void
test_defaults(void **state)
{
	(void)state;
	config_defaults(cfg);
	assert_int_equal(cfg->session_deadline, 3600);
	assert_int_equal(cfg->min_data_rate, 500);
	assert_int_equal(cfg->max_conn_rate, 0);
	assert_int_equal(cfg->stress_timeout, 10);
}

static void
test_forms(void **state)
{
	(void)state;
	expect_ok("[relayd]\nsession_deadline = 30m\nmin_data_rate = 2k\n"
		  "max_conn_rate = 60\nstress_timeout = 5s\n");
	assert_int_equal(cfg->session_deadline, 1800);
	assert_int_equal(cfg->min_data_rate, 2048);
	assert_int_equal(cfg->max_conn_rate, 60);
	assert_int_equal(cfg->stress_timeout, 5);
	/* 0 turns each off. */
	expect_ok("[relayd]\nsession_deadline = 0\nmin_data_rate = 0\n"
		  "max_conn_rate = 0\nstress_timeout = 0\n");
	assert_int_equal(cfg->session_deadline, 0);
	assert_int_equal(cfg->min_data_rate, 0);
	assert_int_equal(cfg->max_conn_rate, 0);
	assert_int_equal(cfg->stress_timeout, 0);
	/* The largest values. */
	expect_ok("[relayd]\nsession_deadline = 1d\nmin_data_rate = 1G\n"
		  "max_conn_rate = 100000\nstress_timeout = 1h\n");
	assert_int_equal(cfg->session_deadline, 86400);
	assert_int_equal(cfg->min_data_rate, 1U << 30);
	assert_int_equal(cfg->max_conn_rate, 100000);
	assert_int_equal(cfg->stress_timeout, 3600);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_err("[relayd]\n\nsession_deadline = 2d\n", 3, "session_deadline",
	    "out of range (0 to 86400 seconds)");
	expect_err("[relayd]\nsession_deadline = soon\n", 2, "session_deadline",
	    "invalid duration");
	expect_err("[relayd]\nsession_deadline = -1\n", 2, "session_deadline",
	    "invalid duration");
	expect_err("[relayd]\nmin_data_rate = 2G\n", 2, "min_data_rate",
	    "out of range (0 to 1073741824 bytes)");
	expect_err("[relayd]\nmin_data_rate = 5 bytes\n", 2, "min_data_rate",
	    "invalid size");
	expect_err("[relayd]\nmax_conn_rate = 100001\n", 2, "max_conn_rate",
	    "out of range (0 to 100000)");
	expect_err("[relayd]\nmax_conn_rate = 10/m\n", 2, "max_conn_rate",
	    "invalid number");
	expect_err("[relayd]\nstress_timeout = 2h\n", 2, "stress_timeout",
	    "out of range (0 to 3600 seconds)");
	expect_err("[relayd]\nstress_timeout = 1s\nstress_timeout = 2s\n", 3,
	    "stress_timeout", "duplicate key (first set on line 2)");
	expect_err("[relayd]\nmax_conn_rate =\n", 2, "max_conn_rate",
	    "invalid number");
}

static char *
slurp(const char *path)
{
	char *buf;
	size_t n;
	FILE *f;

	assert_non_null(f = fopen(path, "r"));
	assert_non_null(buf = malloc(CONFIG_FILE_MAX + 1));
	n = fread(buf, 1, CONFIG_FILE_MAX, f);
	buf[n] = '\0';
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Documented in relayd.conf(5) and stated in the sample with the default
 * (the sample's defaults are compared with config_defaults by
 * test_config). */
static void
test_documented(void **state)
{
	static const char *const names[] = { "session_deadline",
		"min_data_rate", "max_conn_rate", "stress_timeout" };
	static const char *const sample_lines[] = { "\nsession_deadline = 1h\n",
		"\nmin_data_rate = 500\n", "\nmax_conn_rate = 0\n",
		"\nstress_timeout = 10s\n" };
	char line[128], *man, *sample;
	size_t i;

	(void)state;
	man = slurp(SRCDIR "/share/man/relayd.conf.5");
	sample = slurp(SRCDIR "/share/relayd.conf.sample");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "\n.It Ic %s ", names[i]);
		if (strstr(man, line) == NULL)
			fail_msg("relayd.conf.5 lacks '.It Ic %s'", names[i]);
		if (strstr(sample, sample_lines[i]) == NULL)
			fail_msg("sample lacks '%s'", sample_lines[i] + 1);
	}
	free(man);
	free(sample);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_documented),
	};

	return cmocka_run_group_tests(tests, config_setup, config_teardown);
}
