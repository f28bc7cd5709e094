/*
 * libFuzzer target for relayd/smtp_data.  Checks, on arbitrary streams:
 * the result does not depend on how the stream is split and is the
 * octet-by-octet reference decoder's; end of data is exactly the first
 * <CRLF>.<CRLF> (or "." CRLF at once); bare CR/LF flags match a naive
 * scan; clean output equals a naive line-by-line decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_data.h"
#include "../unit/smtp_data_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

struct out {
	char *buf;
	size_t len;
	size_t cap;
	size_t calls;
};

static int
out_fn(void *arg, const char *buf, size_t len)
{
	struct out *o = arg;

	CHECK(len > 0 && o->len + len <= o->cap);
	o->calls++;
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

struct res {
	struct smtp_data d;
	struct out o;
	int rc;
	size_t used;
};

struct limits {
	uint64_t max_size, max_line;
	unsigned int max_hops;
};

/*
 * Feed with chunk sizes taken cyclically from pat (0 in pat = 1), to
 * smtp_data or, with ref, to the reference.
 */
static void
run(struct res *r, const char *in, size_t n, const uint8_t *pat, size_t npat,
    const struct limits *lim, int ref)
{
	size_t off = 0, k = 0, len, used;

	memset(&r->o, 0, sizeof(r->o));
	r->o.cap = n;
	r->o.buf = malloc(n + 1);
	CHECK(r->o.buf != NULL);
	if (ref)
		ref_init(&r->d, lim->max_size, lim->max_hops, out_fn, &r->o);
	else
		smtp_data_init(
		    &r->d, lim->max_size, lim->max_hops, out_fn, &r->o);
	r->d.max_line = lim->max_line;
	r->rc = 0;
	while (off < n && r->rc == 0) {
		len = npat ? (size_t)(pat[k++ % npat] % 64) + 1 : n - off;
		if (len > n - off)
			len = n - off;
		if (ref)
			r->rc = ref_feed(&r->d, in + off, len, &used);
		else
			r->rc = smtp_data_feed(&r->d, in + off, len, &used);
		CHECK(r->rc == 0 || r->rc == 1);
		CHECK(used <= len && (r->rc == 1 || used == len));
		off += used;
	}
	r->used = off;
}

/* Where a correct decoder must stop: 0 if there is no end. */
static size_t
oracle_end(const char *in, size_t n)
{
	const char *p;

	if (n >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	p = memmem(in, n, "\r\n.\r\n", 5);
	return p == NULL ? 0 : (size_t)(p - in) + 5;
}

/*
 * Naive decoder for streams without bare CR/LF: split at CRLF, drop a
 * leading dot.  The real output is this, or a prefix of it once flagged.
 */
static void
oracle_clean(const struct res *r, const char *in)
{
	size_t i = 0, j = 0, start, line, longest = 0;
	size_t body = r->used - 3; /* without the final ".\r\n" */
	char *want = malloc(r->used + 1);

	CHECK(want != NULL);
	while (i < body) {
		start = i;
		if (in[i] == '.')
			i++;
		while (!(in[i] == '\r' && in[i + 1] == '\n'))
			want[j++] = in[i++];
		want[j++] = '\r';
		want[j++] = '\n';
		i += 2;
		line = i - start - (in[start] == '.');
		longest = line > longest ? line : longest;
	}
	CHECK((r->d.max_line > 0 && longest > r->d.max_line) ==
	    !!(r->d.flags & SMTP_DATA_LONG_LINE));
	CHECK(r->d.size == j);
	CHECK(r->o.len <= j && memcmp(r->o.buf, want, r->o.len) == 0);
	if (r->d.flags == 0)
		CHECK(r->o.len == j);
	free(want);
}

/* All smtp_data_feed tells its caller, and the output. */
static void
check_same(const struct res *x, const struct res *y)
{
	CHECK(x->rc == y->rc && x->used == y->used);
	CHECK(x->d.flags == y->d.flags && x->d.size == y->d.size);
	CHECK(x->d.hops == y->d.hops && x->d.done == y->d.done);
	CHECK(
	    x->o.len == y->o.len && memcmp(x->o.buf, y->o.buf, x->o.len) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct res a, b, ref;
	struct limits lim;
	const char *in;
	size_t n, i, end, npat;
	unsigned int bare = 0;

	if (size < 4)
		return 0;
	lim.max_size = data[0] < 128 ? 0 : (uint64_t)data[0] * 4;
	lim.max_hops = data[1] % 4;
	/* short lines over a limit too: 0 (none) to 31, or the default */
	lim.max_line = data[1] < 128 ? SMTP_DATA_LINE_MAX : data[1] / 4 - 32;
	npat = data[2] % 8;
	if (size < 3 + npat)
		return 0;
	in = (const char *)data + 3 + npat;
	n = size - 3 - npat;

	run(&a, in, n, NULL, 0, &lim, 0);
	run(&b, in, n, data + 3, npat, &lim, 0);
	run(&ref, in, n, data + 3, npat, &lim, 1);
	check_same(&a, &b);
	check_same(&b, &ref);
	CHECK(b.o.calls == ref.o.calls); /* same batches as octet by octet */

	end = oracle_end(in, n);
	CHECK(a.rc == (end != 0));
	CHECK(a.used == (end ? end : n));
	for (i = 0; i < a.used; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			bare |= SMTP_DATA_BARE_LF;
		if (in[i] == '\r' && i + 1 < a.used && in[i + 1] != '\n')
			bare |= SMTP_DATA_BARE_CR;
	}
	CHECK((a.d.flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR)) == bare);
	CHECK(!!(a.d.flags & SMTP_DATA_TOO_BIG) ==
	    (lim.max_size > 0 && a.d.size > lim.max_size));
	if (lim.max_size > 0)
		CHECK(a.o.len <= lim.max_size);
	if (a.rc == 1 && bare == 0)
		oracle_clean(&a, in);
	CHECK((a.d.flags != 0) == (smtp_data_reply(&a.d) != NULL));
	free(a.o.buf);
	free(b.o.buf);
	free(ref.o.buf);
	return 0;
}
