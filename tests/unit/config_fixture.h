/*
 * The relayd.conf unit tests' common fixture (test_config*.c,
 * test_tlsc_config.c): a heap struct config (it is large), a parse of a
 * text from the defaults, and the checks that a text parses or fails on a
 * given line and key with a message containing a given part.
 */
#ifndef TEST_CONFIG_FIXTURE_H
#define TEST_CONFIG_FIXTURE_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static struct config *cfg;

static inline int
config_setup(void **state)
{
	(void)state;
	if ((cfg = malloc(sizeof(*cfg))) == NULL)
		return -1;
	config_defaults(cfg);
	return 0;
}

static inline int
config_teardown(void **state)
{
	(void)state;
	free(cfg);
	return 0;
}

static inline int
parse(const char *text, struct config_error *err)
{
	config_defaults(cfg);
	return config_parse(text, strlen(text), "t.conf", cfg, err);
}

static inline void
expect_ok(const char *text)
{
	struct config_error err;
	int rv = parse(text, &err);

	if (rv != 0)
		fail_msg("for:\n%s\ngot %d %s:%zu: %s: %s", text, rv, err.file,
		    err.line, err.key, err.msg);
}

/* text must fail on line with key, and the message must contain part. */
static inline void
expect_err(const char *text, size_t line, const char *key, const char *part)
{
	struct config_error err;
	char shown[512];
	int rv = parse(text, &err);

	config_error_format(&err, shown, sizeof(shown));
	if (rv != -EINVAL || err.line != line || strcmp(err.key, key) != 0 ||
	    strstr(err.msg, part) == NULL)
		fail_msg("for:\n%s\ngot %d %s\nwant t.conf:%zu: %s: ...%s...",
		    text, rv, shown, line, key, part);
	assert_string_equal(err.file, "t.conf");
}

/* One row of a table of texts that must fail (see expect_err). */
struct err_case {
	const char *text;
	size_t line;
	const char *key;
	const char *part;
};

static inline void
expect_errs(const struct err_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_err(c[i].text, c[i].line, c[i].key, c[i].part);
}

#endif
