/*
 * Unit tests for relayd/smtpc_reply: the strict parser of replies from
 * an untrusted next hop (table of good and bad replies, every limit at
 * its boundary, NUL and control octets, the one-line rendering).
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

#include "smtpc_reply.h"

static const struct rcase {
	const char *in;
	size_t len; /* 0: strlen(in) */
	int rc; /* SMTPC_REPLY_DONE, SMTPC_REPLY_MORE or -EPROTO */
	int code;
	const char *status;
	size_t nline;
	const char *fmt; /* smtpc_reply_format() when not NULL */
} rcases[] = {
	{ "250 ok\r\n", 0, SMTPC_REPLY_DONE, 250, "", 1, "250 ok" },
	{ "250\r\n", 0, SMTPC_REPLY_DONE, 250, "", 1, "250" },
	{ "250 \r\n", 0, SMTPC_REPLY_DONE, 250, "", 1, "250" },
	{ "250 ok\n", 0, SMTPC_REPLY_DONE, 250, "", 1, "250 ok" },
	{ "220 mx.example.org ESMTP\r\n", 0, SMTPC_REPLY_DONE, 220, "", 1,
	    "220 mx.example.org ESMTP" },
	{ "250-mx.example.org\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
	  "250 8BITMIME\r\n",
	    0, SMTPC_REPLY_DONE, 250, "", 4,
	    "250 mx.example.org PIPELINING SIZE 1000 8BITMIME" },
	{ "550-5.1.1 no such\r\n550-5.1.1 user\r\n550 5.1.1 here\r\n", 0,
	    SMTPC_REPLY_DONE, 550, "5.1.1", 3, "550 5.1.1 no such user here" },
	{ "250 2.0.0 Ok: queued as X\r\n", 0, SMTPC_REPLY_DONE, 250, "2.0.0", 1,
	    "250 2.0.0 Ok: queued as X" },
	{ "451 4.7.1 try later\r\n", 0, SMTPC_REPLY_DONE, 451, "4.7.1", 1,
	    NULL },
	{ "550 5.1.10 null\r\n", 0, SMTPC_REPLY_DONE, 550, "5.1.10", 1, NULL },
	{ "550 5.123.456\r\n", 0, SMTPC_REPLY_DONE, 550, "5.123.456", 1, NULL },
	/* not an enhanced status: wrong class, too many digits, no space */
	{ "550 4.1.1 x\r\n", 0, SMTPC_REPLY_DONE, 550, "", 1, NULL },
	{ "550 5.1234.1 x\r\n", 0, SMTPC_REPLY_DONE, 550, "", 1, NULL },
	{ "550 5.1.1x\r\n", 0, SMTPC_REPLY_DONE, 550, "", 1, NULL },
	{ "354 go ahead\r\n", 0, SMTPC_REPLY_DONE, 354, "", 1, NULL },
	/* text octets outside ASCII are kept but rendered as '?' */
	{ "250 caf\xc3\xa9\r\n", 0, SMTPC_REPLY_DONE, 250, "", 1, "250 caf??" },
	{ "250 a\tb\r\n", 0, SMTPC_REPLY_DONE, 250, "", 1, "250 a?b" },
	/* incomplete */
	{ "", 0, SMTPC_REPLY_MORE, 0, "", 0, NULL },
	{ "250 ok", 0, SMTPC_REPLY_MORE, 0, "", 0, NULL },
	{ "250-a\r\n250-b\r\n", 0, SMTPC_REPLY_MORE, 250, "", 2, NULL },
	/* bad codes */
	{ "25 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "2500 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "abc ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "150 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "650 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "260 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "250_ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ " 250 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "-250 ok\r\n", 0, -EPROTO, 0, "", 0, NULL },
	/* mixed codes */
	{ "250-a\r\n251 b\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "250-a\r\n550 b\r\n", 0, -EPROTO, 0, "", 0, NULL },
	/* garbage and control octets, NUL */
	{ "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n", 13, -EPROTO, 0,
	    "", 0, NULL },
	{ "250 a\0b\r\n", 9, -EPROTO, 0, "", 0, NULL },
	{ "250 a\rb\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "250 a\x1b[31mred\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "250 a\x7f\r\n", 0, -EPROTO, 0, "", 0, NULL },
	{ "HTTP/1.1 400 Bad Request\r\n", 0, -EPROTO, 0, "", 0, NULL },
};

static void
test_table(void **state)
{
	struct smtpc_reply *r = malloc(sizeof(*r));
	char out[256];
	const char *why;
	size_t i, used, len;
	int rc;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		const struct rcase *c = &rcases[i];

		len = c->len ? c->len : strlen(c->in);
		used = 0;
		rc = smtpc_reply_parse(c->in, len, r, &used, &why);
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d (%s)", i, c->in,
			    rc, c->rc, why ? why : "");
		if (rc < 0) {
			assert_non_null(why);
			continue;
		}
		if (rc == SMTPC_REPLY_DONE)
			assert_int_equal(used, len);
		assert_int_equal(r->nline, c->nline);
		if (c->nline > 0)
			assert_int_equal(r->code, c->code);
		assert_string_equal(r->status, c->status);
		if (c->fmt != NULL) {
			smtpc_reply_format(r, out, sizeof(out));
			assert_string_equal(out, c->fmt);
		}
	}
	free(r);
}

/* Lines of exactly n octets before CRLF. */
static char *
line_of(size_t n, const char *prefix)
{
	char *s = malloc(n + 3);

	assert_non_null(s);
	memset(s, 'x', n);
	memcpy(s, prefix, strlen(prefix));
	memcpy(s + n, "\r\n", 3);
	return s;
}

static void
test_line_cap(void **state)
{
	struct smtpc_reply *r = malloc(sizeof(*r));
	const char *why;
	char *s;
	size_t used;

	(void)state;
	assert_non_null(r);
	s = line_of(SMTPC_REPLY_LINE_MAX, "250 ");
	assert_int_equal(
	    smtpc_reply_parse(s, strlen(s), r, &used, &why), SMTPC_REPLY_DONE);
	free(s);
	s = line_of(SMTPC_REPLY_LINE_MAX + 1, "250 ");
	assert_int_equal(
	    smtpc_reply_parse(s, strlen(s), r, &used, &why), -EPROTO);
	assert_string_equal(why, "reply line too long");
	/* Without its line end the overlong line is refused at once. */
	assert_int_equal(
	    smtpc_reply_parse(s, SMTPC_REPLY_LINE_MAX + 2, r, &used, &why),
	    -EPROTO);
	assert_int_equal(
	    smtpc_reply_parse(s, SMTPC_REPLY_LINE_MAX, r, &used, &why),
	    SMTPC_REPLY_MORE);
	free(s);
	free(r);
}

static void
test_line_count(void **state)
{
	struct smtpc_reply *r = malloc(sizeof(*r));
	size_t cap = 20 * (SMTPC_REPLY_LINES_MAX + 2);
	char *buf = malloc(cap);
	const char *why;
	size_t i, o = 0, used;

	(void)state;
	assert_non_null(r);
	assert_non_null(buf);
	for (i = 0; i + 1 < SMTPC_REPLY_LINES_MAX; i++)
		o += (size_t)snprintf(buf + o, cap - o, "250-line%zu\r\n", i);
	o += (size_t)snprintf(buf + o, cap - o, "250 last\r\n");
	assert_int_equal(
	    smtpc_reply_parse(buf, o, r, &used, &why), SMTPC_REPLY_DONE);
	assert_int_equal(r->nline, SMTPC_REPLY_LINES_MAX);
	assert_string_equal(smtpc_reply_text(r, 1), "line1");
	assert_string_equal(
	    smtpc_reply_text(r, SMTPC_REPLY_LINES_MAX - 1), "last");
	assert_string_equal(smtpc_reply_text(r, SMTPC_REPLY_LINES_MAX), "");
	/* One continuation more is one too many. */
	o -= strlen("250 last\r\n");
	o += (size_t)snprintf(buf + o, cap - o, "250-more\r\n250 last\r\n");
	assert_int_equal(smtpc_reply_parse(buf, o, r, &used, &why), -EPROTO);
	assert_string_equal(why, "too many reply lines");
	free(buf);
	free(r);
}

static void
test_total_cap(void **state)
{
	struct smtpc_reply *r = malloc(sizeof(*r));
	const char *why;
	char *line;
	size_t i;
	int rc = 0;

	(void)state;
	assert_non_null(r);
	/* 2000-octet lines: the 64 KiB cap is hit before the line cap. */
	line = line_of(2000, "250-");
	smtpc_reply_init(r);
	for (i = 0; i < 40 && rc >= 0; i++)
		rc = smtpc_reply_line(r, line, 2000, &why);
	assert_int_equal(rc, -EPROTO);
	assert_string_equal(why, "reply too long");
	assert_true(i * 2002 > SMTPC_REPLY_MAX);
	assert_true((i - 1) * 2002 <= SMTPC_REPLY_MAX);
	assert_true(r->used <= sizeof(r->buf));
	free(line);
	free(r);
}

static void
test_incremental(void **state)
{
	struct smtpc_reply *r = malloc(sizeof(*r));
	const char *why;

	(void)state;
	assert_non_null(r);
	smtpc_reply_init(r);
	assert_int_equal(
	    smtpc_reply_line(r, "250-a", 5, &why), SMTPC_REPLY_MORE);
	assert_int_equal(
	    smtpc_reply_line(r, "250 b", 5, &why), SMTPC_REPLY_DONE);
	assert_int_equal(smtpc_reply_line(r, "250 c", 5, &why), -EPROTO);
	smtpc_reply_init(r);
	assert_int_equal(smtpc_reply_line(r, "421", 3, &why), SMTPC_REPLY_DONE);
	assert_int_equal(r->code, 421);
	/* A second reply after the first one stays in the buffer. */
	{
		const char *two = "250 one\r\n550 two\r\n";
		size_t used = 0;

		assert_int_equal(
		    smtpc_reply_parse(two, strlen(two), r, &used, &why),
		    SMTPC_REPLY_DONE);
		assert_int_equal(used, 9);
		assert_int_equal(r->code, 250);
	}
	free(r);
}

static void
test_format_cut(void **state)
{
	struct smtpc_reply *r = malloc(sizeof(*r));
	const char *why;
	char out[8];
	size_t used;

	(void)state;
	assert_non_null(r);
	assert_int_equal(
	    smtpc_reply_parse("550 5.1.1 abcdefgh\r\n", 20, r, &used, &why),
	    SMTPC_REPLY_DONE);
	smtpc_reply_format(r, out, sizeof(out));
	assert_string_equal(out, "550 5.1");
	smtpc_reply_format(r, out, 1);
	assert_string_equal(out, "");
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_line_cap),
		cmocka_unit_test(test_line_count),
		cmocka_unit_test(test_total_cap),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_format_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
