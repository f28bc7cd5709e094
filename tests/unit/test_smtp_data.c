/*
 * Unit tests for relayd/smtp_data: un-dot-stuffing, the only real
 * end-of-data, smuggling defence, limits, and that every split of the
 * stream gives the same result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_data.h"

struct sink {
	char *buf;
	size_t len, cap;
	int fail; /* return this from the callback when non-zero */
	int calls;
};

static int
sink_out(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	s->calls++;
	assert_true(len > 0);
	if (s->fail)
		return s->fail;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

/* Result of decoding one stream. */
struct run {
	struct sink out;
	struct smtp_data d;
	int rc;
	size_t used;
};

/*
 * Feed in[0..n) in chunks: split at `at` (0: none) or, with chunk > 0,
 * in pieces of `chunk` octets.  Stops feeding at end of data.
 */
static void
run_stream(struct run *r, const char *in, size_t n, size_t at, size_t chunk,
    uint64_t max_size, unsigned int max_hops)
{
	size_t off = 0, len, used;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&r->d, max_size, max_hops, sink_out, &r->out);
	r->rc = 0;
	while (off < n && r->rc == 0) {
		if (chunk > 0)
			len = n - off < chunk ? n - off : chunk;
		else if (at > 0 && off < at)
			len = at - off;
		else
			len = n - off;
		r->rc = smtp_data_feed(&r->d, in + off, len, &used);
		assert_true(used <= len);
		if (r->rc == 0)
			assert_int_equal(used, len);
		off += used;
	}
	r->used = off;
}

static void
run_free(struct run *r)
{
	free(r->out.buf);
}

static void
assert_output(const struct run *r, const char *want, size_t wantlen)
{
	assert_int_equal(r->out.len, wantlen);
	if (wantlen > 0)
		assert_memory_equal(r->out.buf, want, wantlen);
}

#define S(x) x, sizeof(x) - 1

static const struct dcase {
	const char *name;
	const char *in;
	size_t inlen;
	const char *out; /* expected output */
	size_t outlen;
	int end; /* 1: end of data expected */
	size_t used; /* octets consumed; 0: all of in */
	unsigned int flags;
} dcases[] = {
	{ "empty message", S(".\r\n"), S(""), 1, 0, 0 },
	{ "one line", S("hello\r\n.\r\n"), S("hello\r\n"), 1, 0, 0 },
	{ "headers and body", S("Subject: x\r\n\r\nbody\r\n.\r\n"),
	    S("Subject: x\r\n\r\nbody\r\n"), 1, 0, 0 },
	{ "stuffed dot", S("..dot\r\n.\r\n"), S(".dot\r\n"), 1, 0, 0 },
	{ "unstuffed dot dropped", S(".x\r\n.\r\n"), S("x\r\n"), 1, 0, 0 },
	{ "dot-dot line", S("a\r\n..\r\n.\r\n"), S("a\r\n.\r\n"), 1, 0, 0 },
	{ "dot space line", S(". \r\n.\r\n"), S(" \r\n"), 1, 0, 0 },
	{ "empty first line", S("\r\n.\r\n"), S("\r\n"), 1, 0, 0 },
	{ "dot mid-line kept", S("a.b\r\n.\r\n"), S("a.b\r\n"), 1, 0, 0 },
	{ "pipelined QUIT after end", S("x\r\n.\r\nQUIT\r\n"), S("x\r\n"), 1, 6,
	    0 },
	{ "incomplete", S("abc\r\n"), S("abc\r\n"), 0, 0, 0 },
	{ "incomplete after dot", S("abc\r\n."), S("abc\r\n"), 0, 0, 0 },
	{ "incomplete after dot CR", S("abc\r\n.\r"), S("abc\r\n"), 0, 0, 0 },
	{ "LF.LF is not end", S("a\n.\nb\r\n.\r\n"), S("a"), 1, 0,
	    SMTP_DATA_BARE_LF },
	{ "CR.CR is not end", S("a\r.\rb\r\n.\r\n"), S("a\r"), 1, 0,
	    SMTP_DATA_BARE_CR },
	{ "LF.CRLF is not end", S("a\n.\r\nb\r\n.\r\n"), S("a"), 1, 0,
	    SMTP_DATA_BARE_LF },
	{ "CRLF.LF is not end", S("a\r\n.\nb\r\n.\r\n"), S("a\r\n"), 1, 0,
	    SMTP_DATA_BARE_LF },
	{ "CRLF.CR x is not end", S("a\r\n.\rb\r\n.\r\n"), S("a\r\n"), 1, 0,
	    SMTP_DATA_BARE_CR },
	{ "CRLF.CR CRLF", S("a\r\n.\r\r\n.\r\n"), S("a\r\n"), 1, 0,
	    SMTP_DATA_BARE_CR },
	{ "bare LF first octet", S("\n.\r\n.\r\n"), S(""), 1, 0,
	    SMTP_DATA_BARE_LF },
	{ "bare CR then CRLF", S("a\r\r\n.\r\n"), S("a\r"), 1, 0,
	    SMTP_DATA_BARE_CR },
	{ "bare LF in body", S("Subject: x\r\n\r\nab\ncd\r\n.\r\n"),
	    S("Subject: x\r\n\r\nab"), 1, 0, SMTP_DATA_BARE_LF },
	{ "CRLF CR LF . CRLF", S("a\r\n\r\n.\r\n"), S("a\r\n\r\n"), 1, 0, 0 },
	{ "binary octets pass", S("\x01\xff\x80\r\n.\r\n"),
	    S("\x01\xff\x80\r\n"), 1, 0, 0 },
};

static void
check_case(const struct dcase *c, size_t at, size_t chunk)
{
	struct run r;

	run_stream(&r, c->in, c->inlen, at, chunk, 0, 0);
	assert_int_equal(r.rc, c->end);
	assert_int_equal(r.d.done, c->end);
	assert_int_equal(r.used, c->used ? c->used : c->inlen);
	assert_int_equal(r.d.flags, c->flags);
	assert_output(&r, c->out, c->outlen);
	if (c->flags == 0)
		assert_null(smtp_data_reply(&r.d));
	else
		assert_int_equal(smtp_data_reply(&r.d)->code, 550);
	run_free(&r);
}

static void
test_cases(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		print_message("case: %s\n", dcases[i].name);
		check_case(&dcases[i], 0, 0);
		check_case(&dcases[i], 0, 1);
	}
}

/*
 * The hidden-message case (SMTP smuggling): the client hides a second
 * transaction behind <LF>.<CRLF>.  A server that ends DATA there would
 * accept "hidden" as a second message from MAIL FROM:<x>.
 */
static const char hidden[] = "From: a@example.org\r\n"
			     "Subject: visible\r\n"
			     "\r\n"
			     "visible body\n"
			     ".\r\n"
			     "MAIL FROM:<x@example.org>\r\n"
			     "RCPT TO:<y@example.net>\r\n"
			     "DATA\r\n"
			     "hidden\r\n"
			     ".\r\n"
			     "QUIT\r\n";

static void
test_hidden_message(void **state)
{
	const char *real_end = strstr(hidden, "hidden\r\n.\r\n");
	size_t want_used =
	    (size_t)(real_end - hidden) + strlen("hidden\r\n.\r\n");
	struct run r;
	size_t used, off;
	int rc, ends = 0;

	(void)state;
	/* whole stream at once */
	run_stream(&r, hidden, strlen(hidden), 0, 0, 0, 0);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.used, want_used);
	assert_true(r.d.flags & SMTP_DATA_BARE_LF);
	assert_int_equal(smtp_data_reply(&r.d)->code, 550);
	assert_string_equal(smtp_data_reply(&r.d)->status, "5.6.11");
	/* nothing after the bare LF reached the output */
	assert_null(memmem(r.out.buf, r.out.len, "hidden", 6));
	run_free(&r);

	/* byte by byte: end-of-data is reported exactly once, at the end */
	memset(&r, 0, sizeof(r));
	smtp_data_init(&r.d, 0, 0, sink_out, &r.out);
	for (off = 0; off < strlen(hidden); off++) {
		rc = smtp_data_feed(&r.d, hidden + off, 1, &used);
		if (rc == 1 && used == 1) {
			ends++;
			assert_int_equal(off + 1, want_used);
		}
	}
	assert_int_equal(ends, 1);
	run_free(&r);
}

/* Line limit: 1000 octets incl. CRLF, stuffing dot not counted. */
static void
test_line_length(void **state)
{
	static const struct {
		size_t x; /* 'x' octets on the line */
		int dot; /* line starts with a stuffing "." */
		int flagged; /* expect SMTP_DATA_LONG_LINE */
	} t[] = {
		{ 998, 0, 0 },
		{ 999, 0, 1 },
		{ 997, 1, 0 },
		{ 998, 1, 0 },
		{ 999, 1, 1 },
		{ 5000, 0, 1 },
	};
	char buf[6000];
	struct run r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = 0;
		memcpy(buf, "H: v\r\n\r\n", 8);
		n += 8;
		if (t[i].dot)
			buf[n++] = '.';
		memset(buf + n, 'x', t[i].x);
		n += t[i].x;
		memcpy(buf + n, "\r\n.\r\n", 5);
		n += 5;
		run_stream(&r, buf, n, 0, 0, 0, 0);
		assert_int_equal(r.rc, 1);
		assert_int_equal(r.used, n);
		assert_int_equal(
		    r.d.flags, t[i].flagged ? SMTP_DATA_LONG_LINE : 0);
		if (t[i].flagged) {
			assert_int_equal(smtp_data_reply(&r.d)->code, 552);
			assert_string_equal(
			    smtp_data_reply(&r.d)->status, "5.6.0");
			/* output stops before the octet over the limit */
			assert_int_equal(r.out.len, 8 + 1000);
		} else
			assert_int_equal(r.out.len, n - 3 - t[i].dot);
		run_free(&r);
	}
}

static void
test_size_limit(void **state)
{
	struct run r;

	(void)state;
	/* exactly max_size: fine */
	run_stream(&r, S("12345678\r\n.\r\n"), 0, 0, 10, 0);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.d.flags, 0);
	assert_int_equal(r.d.size, 10);
	assert_output(&r, S("12345678\r\n"));
	run_free(&r);

	/* one more: flagged, consumed to the end, output capped */
	run_stream(&r, S("123456789\r\nmore\r\n.\r\n"), 0, 0, 10, 0);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.used, 20);
	assert_int_equal(r.d.flags, SMTP_DATA_TOO_BIG);
	assert_int_equal(r.d.size, 17);
	assert_output(&r, S("123456789\r"));
	assert_int_equal(smtp_data_reply(&r.d)->code, 552);
	assert_string_equal(smtp_data_reply(&r.d)->line,
	    "552 5.3.4 Message size exceeds fixed maximum message size");
	run_free(&r);

	/* stuffing dots and the end marker are not counted */
	run_stream(&r, S("..\r\n.\r\n"), 0, 0, 3, 0);
	assert_int_equal(r.d.flags, 0);
	assert_int_equal(r.d.size, 3);
	run_free(&r);
}

static void
test_hops(void **state)
{
	static const struct {
		const char *in;
		unsigned int hops;
	} t[] = {
		{ "Received: a\r\nReceived: b\r\n\r\nx\r\n.\r\n", 2 },
		{ "received: a\r\nRECEIVED: b\r\nReCeIvEd: c\r\n\r\n.\r\n", 3 },
		{ "Received : a\r\nReceived\t: b\r\n\r\n.\r\n", 2 },
		{ "Received-SPF: pass\r\nX-Received: a\r\n\r\n.\r\n", 0 },
		{ "Subject: x\r\n Received: folded\r\n\tReceived: f\r\n\r\n"
		  ".\r\n",
		    0 },
		{ "Received: a\r\n\tfrom b\r\n by c\r\nReceived: "
		  "d\r\n\r\n.\r\n",
		    2 },
		{ "Subject: x\r\n\r\nReceived: in body\r\n.\r\n", 0 },
		{ "\r\nReceived: body only\r\n.\r\n", 0 },
		{ "Received x: a\r\nReceived\r\n\r\n.\r\n", 0 },
		{ "Subject: Received: x\r\n\r\n.\r\n", 0 },
	};
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		run_stream(&r, t[i].in, strlen(t[i].in), 0, 0, 0, 0);
		assert_int_equal(r.rc, 1);
		assert_int_equal(r.d.hops, t[i].hops);
		assert_int_equal(r.d.flags, 0);
		run_free(&r);
		if (t[i].hops == 0)
			continue;
		/* max_hops == hops: fine; one less: flagged */
		run_stream(&r, t[i].in, strlen(t[i].in), 0, 0, 0, t[i].hops);
		assert_int_equal(r.d.flags, 0);
		run_free(&r);
		run_stream(
		    &r, t[i].in, strlen(t[i].in), 0, 1, 0, t[i].hops - 1);
		if (t[i].hops - 1 == 0)
			assert_int_equal(r.d.flags, 0); /* 0: no limit */
		else {
			assert_int_equal(r.d.flags, SMTP_DATA_HOPS);
			assert_int_equal(smtp_data_reply(&r.d)->code, 554);
			assert_string_equal(
			    smtp_data_reply(&r.d)->status, "5.4.6");
		}
		run_free(&r);
	}
}

/* max_line is the caller's: longer lines pass, 0 is no limit. */
static void
test_max_line(void **state)
{
	static const uint64_t limits[] = { 0, 2048, 100002 };
	static char buf[100100];
	struct run r;
	size_t i, n;

	(void)state;
	memset(buf, 'y', 100000);
	memcpy(buf + 100000, "\r\n.\r\n", 5);
	n = 100005;
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		memset(&r, 0, sizeof(r));
		smtp_data_init(&r.d, 0, 0, sink_out, &r.out);
		r.d.max_line = limits[i];
		r.rc = smtp_data_feed(&r.d, buf, n, &r.used);
		assert_int_equal(r.rc, 1);
		assert_int_equal(r.used, n);
		if (limits[i] == 2048) {
			assert_int_equal(r.d.flags, SMTP_DATA_LONG_LINE);
			assert_int_equal(r.out.len, 2048);
		} else {
			assert_int_equal(r.d.flags, 0);
			assert_int_equal(r.out.len, 100002);
		}
		run_free(&r);
	}
}

/* A NUL anywhere, header or body, stuffed or not, is flagged. */
static void
test_nul(void **state)
{
	static const char *const in[] = { "H: a\0b\r\n\r\nx\r\n.\r\n",
		"H: a\r\n\r\n\0\r\n.\r\n", ".\0x\r\n.\r\n" };
	static const size_t len[] = { 16, 14, 8 };
	struct run r;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		run_stream(&r, in[i], len[i], 0, 0, 0, 0);
		assert_int_equal(r.rc, 1);
		assert_int_equal(r.used, len[i]);
		assert_int_equal(r.d.flags, SMTP_DATA_NUL);
		assert_int_equal(smtp_data_reply(&r.d)->code, 554);
		if (r.out.len > 0)
			assert_null(memchr(r.out.buf, '\0', r.out.len));
		run_free(&r);
	}
}

static void
test_reply_priority(void **state)
{
	struct smtp_data d;

	(void)state;
	smtp_data_init(&d, 0, 0, NULL, NULL);
	assert_null(smtp_data_reply(&d));
	d.flags = SMTP_DATA_HOPS;
	assert_string_equal(smtp_data_reply(&d)->line,
	    "554 5.4.6 Too many hops (Received: headers), routing loop?");
	d.flags |= SMTP_DATA_LONG_LINE;
	assert_string_equal(
	    smtp_data_reply(&d)->line, "552 5.6.0 Message line too long");
	d.flags |= SMTP_DATA_TOO_BIG;
	assert_string_equal(smtp_data_reply(&d)->status, "5.3.4");
	d.flags |= SMTP_DATA_NUL;
	assert_string_equal(smtp_data_reply(&d)->line,
	    "554 5.6.0 NUL octet in message data not allowed");
	d.flags |= SMTP_DATA_BARE_CR;
	assert_string_equal(smtp_data_reply(&d)->line,
	    "550 5.6.11 Bare CR or LF in message data not allowed");
	d.flags = SMTP_DATA_BARE_LF;
	assert_int_equal(smtp_data_reply(&d)->code, 550);
}

static void
test_callback_error(void **state)
{
	struct run r;
	size_t used;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.out.fail = -28;
	smtp_data_init(&r.d, 0, 0, sink_out, &r.out);
	assert_int_equal(smtp_data_feed(&r.d, S("abc\r\n.\r\n"), &used), -28);
	assert_int_equal(r.out.calls, 1);
	/* sticky */
	assert_int_equal(smtp_data_feed(&r.d, S("x"), &used), -28);
	assert_int_equal(used, 0);
	assert_int_equal(r.out.calls, 1);
}

static void
test_after_end(void **state)
{
	struct smtp_data d;
	size_t used;

	(void)state;
	smtp_data_init(&d, 0, 0, NULL, NULL);
	assert_int_equal(smtp_data_feed(&d, S("a\r\n.\r\n"), &used), 1);
	assert_int_equal(used, 6);
	assert_int_equal(d.size, 3);
	assert_int_equal(smtp_data_feed(&d, S("more\r\n"), &used), 1);
	assert_int_equal(used, 0);
	assert_int_equal(d.size, 3);
	/* an empty feed is harmless */
	smtp_data_init(&d, 0, 0, NULL, NULL);
	assert_int_equal(smtp_data_feed(&d, "", 0, &used), 0);
	assert_int_equal(used, 0);
}

/* A big message crosses the internal output buffer many times. */
static void
test_large_message(void **state)
{
	char *in, *want;
	size_t n = 0, wn = 0, i;
	struct run r;

	(void)state;
	in = malloc(200000);
	want = malloc(200000);
	assert_non_null(in);
	assert_non_null(want);
	for (i = 0; i < 2000; i++) {
		n += (size_t)snprintf(in + n, 200000 - n, "%s%05zu line\r\n",
		    i % 7 == 0 ? ".." : "", i);
		wn += (size_t)snprintf(want + wn, 200000 - wn,
		    "%s%05zu line\r\n", i % 7 == 0 ? "." : "", i);
	}
	memcpy(in + n, ".\r\n", 3);
	n += 3;
	run_stream(&r, in, n, 0, 0, 0, 0);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.d.flags, 0);
	assert_int_equal(r.d.size, wn);
	assert_output(&r, want, wn);
	run_free(&r);
	run_stream(&r, in, n, 0, 4093, 0, 0);
	assert_output(&r, want, wn);
	run_free(&r);
	free(in);
	free(want);
}

static void
assert_same(const struct run *a, const struct run *b)
{
	assert_int_equal(a->rc, b->rc);
	assert_int_equal(a->used, b->used);
	assert_int_equal(a->d.flags, b->d.flags);
	assert_int_equal(a->d.size, b->d.size);
	assert_int_equal(a->d.hops, b->d.hops);
	assert_output(a, b->out.buf, b->out.len);
}

/* Property: any split point, and 1-byte chunks, give the same result. */
static void
split_everywhere(
    const char *in, size_t n, uint64_t max_size, unsigned int max_hops)
{
	struct run whole, part;
	size_t at, chunk;

	run_stream(&whole, in, n, 0, 0, max_size, max_hops);
	for (at = 1; at < n; at++) {
		run_stream(&part, in, n, at, 0, max_size, max_hops);
		assert_same(&part, &whole);
		run_free(&part);
	}
	for (chunk = 1; chunk <= 7; chunk++) {
		run_stream(&part, in, n, 0, chunk, max_size, max_hops);
		assert_same(&part, &whole);
		run_free(&part);
	}
	run_free(&whole);
}

static void
test_split_property(void **state)
{
	static const char mixed[] =
	    "Received: from a\r\n\tby b\r\nreceived : c\r\nSubject: s\r\n"
	    "\r\n..stuffed\r\n.unstuffed\r\nbare\rcr\r\nbare\nlf\r\n"
	    ".\n.\r.\r\n.\r\nQUIT\r\n";
	char longl[1100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++)
		split_everywhere(dcases[i].in, dcases[i].inlen, 0, 0);
	split_everywhere(hidden, strlen(hidden), 0, 0);
	split_everywhere(S(mixed), 0, 0);
	split_everywhere(S(mixed), 40, 1); /* too big and hops */
	split_everywhere(S("Received: a\r\nReceived: b\r\n\r\n.\r\n"), 0, 1);
	memset(longl, 'y', sizeof(longl));
	memcpy(longl + sizeof(longl) - 5, "\r\n.\r\n", 5);
	split_everywhere(longl, sizeof(longl), 0, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_hidden_message),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_hops),
		cmocka_unit_test(test_max_line),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_reply_priority),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_after_end),
		cmocka_unit_test(test_large_message),
		cmocka_unit_test(test_split_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
