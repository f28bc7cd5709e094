/*
 * Differential test of relayd/smtp_data against the octet-by-octet
 * decoder of 8cc7c08 (smtp_data_ref.h, tests only).  Generated
 * streams (CR, LF, dots, NULs, Received: fields, lines and messages around
 * the limits) are fed to both in random splits; every feed call must give
 * the same result and the same callback calls (so a failing callback
 * stops both at the same octet).  Seed: RELAY_TEST_SEED.
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

#include "smtp_data.h"
#include "smtp_data_ref.h"
#include "testgen.h"

/* ---- generator ---- */

/* Text without CR, LF or NUL: what the fast path takes in one go. */
static void
put_text(struct buf *b, size_t n)
{
	static const char text[] = "abcXYZ019 \t.:-\x7f\x80\xff";
	char c;

	while (n-- > 0) {
		c = text[below(sizeof(text) - 1)];
		put(b, &c, 1);
	}
}

/* Text for a line that ends a few octets either side of limit. */
static size_t
near(const struct buf *b, uint64_t limit)
{
	const char *lf = b->len > 0 ? memrchr(b->p, '\n', b->len) : NULL;
	size_t cur = lf != NULL ? b->len - (size_t)(lf - b->p) - 1 : b->len;
	size_t n = limit > (1u << 16) ? 1u << 16 : (size_t)limit;

	n = n > cur + 2 ? n - cur - 2 : 0; /* CRLF counts */
	n += below(7);
	return n > 3 ? n - 3 : 0;
}

struct tok {
	const char *s;
	size_t n;
};
#define T(x)                     \
	{                        \
		x, sizeof(x) - 1 \
	}

/* Pieces of a well-formed message, and of one that is not. */
static const struct tok clean[] = { T("\r\n"), T("\r\n"), T("\r\n"), T("."),
	T(".."), T("\r\n."), T("\r\n.."), T("\r\n\r\n"), T("Received:"),
	T("received \t: x"), T("RECEIVED"), T("Receive"), T("Received-SPF: x"),
	T("\r\nReceived:"), T("\r\n.Received:"), T(":"), T(" "), T("\t") };
static const struct tok dirty[] = { T("\n"), T("\r"), T("\n.\n"), T("\r.\r"),
	T("\r\n.\r"), T(".\r\n"), T("\r\n.\r\n"), T("\0"), T("a\0") };
#define NCLEAN (sizeof(clean) / sizeof(clean[0]))
#define NDIRTY (sizeof(dirty) / sizeof(dirty[0]))

static void
put_piece(struct buf *b, uint64_t max_line, int bad)
{
	const struct tok *t;
	size_t k;
	char c;

	switch (below(8)) {
	case 0:
	case 1:
	case 2:
		put_text(b, below(100));
		break;
	case 3:
		put_text(b, near(b, max_line));
		put(b, "\r\n", 2);
		break;
	case 4:
		put_text(b, below(4) == 0 ? 1024 * below(5) + below(7) : 1);
		break;
	case 5:
		if (bad) {
			c = (char)below(256); /* NUL, CR and LF too */
			put(b, &c, 1);
			break;
		}
		/* FALLTHROUGH */
	default:
		k = below(bad ? NCLEAN + NDIRTY : NCLEAN);
		t = k < NCLEAN ? &clean[k] : &dirty[k - NCLEAN];
		put(b, t->s, t->n);
		break;
	}
}

static uint64_t
pick_max_line(void)
{
	static const uint64_t big[] = { 0, 1000, 2048, 5000, 1u << 30 };
	static const uint64_t odd[] = { 1, 2, 3, 5, 76, 998, 1001, 1023, 1024,
		1025 };

	if (below(2) == 0)
		return big[below(sizeof(big) / sizeof(big[0]))];
	if (below(2) == 0)
		return odd[below(sizeof(odd) / sizeof(odd[0]))];
	return 1 + below(3000);
}

/* A stream: pieces, mostly ended by <CRLF>.<CRLF>, sometimes more after. */
static void
gen_stream(struct buf *b, uint64_t max_line)
{
	size_t target = below(3) == 0 ? below(20000) : below(800);
	int bad = below(2) == 0;

	b->len = 0;
	while (b->len < target)
		put_piece(b, max_line, bad);
	if (below(5) != 0)
		put(b, "\r\n.\r\n", 5);
	if (below(4) == 0)
		put(b, "QUIT\r\n", 6);
}

/* ---- the comparison ---- */

/*
 * The callback's view: every call and its octets.  From call fail_at on
 * (1-based; 0 never) it returns -ENOSPC, as a full spool would.
 */
struct sink {
	struct buf octets;
	size_t *calls; /* length of each call */
	size_t ncalls, cap;
	size_t fail_at;
};

static int
sink_out(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	assert_true(len > 0);
	if (s->ncalls == s->cap) {
		s->cap = s->cap * 2 + 16;
		s->calls = realloc(s->calls, s->cap * sizeof(*s->calls));
		assert_non_null(s->calls);
	}
	s->calls[s->ncalls++] = len;
	put(&s->octets, buf, len);
	return s->fail_at > 0 && s->ncalls >= s->fail_at ? -ENOSPC : 0;
}

struct side {
	struct smtp_data d;
	struct sink sink;
	int rc;
	size_t used;
};

/* One decoding of a stream by both decoders, and where it is. */
struct trial {
	unsigned long seed;
	unsigned long n; /* trial number */
	const struct buf *in;
	size_t off, len; /* the feed call being compared */
	struct side ref, new;
};

static void
mismatch(const struct trial *t, const char *what, uint64_t ref, uint64_t new)
{
	fail_msg("seed %lu trial %lu: feed [%zu, +%zu) of %zu octets: %s "
		 "%llu (reference %llu); max_line %llu max_size %llu "
		 "max_hops %u",
	    t->seed, t->n, t->off, t->len, t->in->len, what,
	    (unsigned long long)new, (unsigned long long)ref,
	    (unsigned long long)t->ref.d.max_line,
	    (unsigned long long)t->ref.d.max_size, t->ref.d.max_hops);
}

#define SAME(t, field)                                                    \
	do {                                                              \
		if ((uint64_t)(t)->ref.field != (uint64_t)(t)->new.field) \
			mismatch((t), #field, (uint64_t)(t)->ref.field,   \
			    (uint64_t)(t)->new.field);                    \
	} while (0)

static void
compare(const struct trial *t)
{
	const struct sink *a = &t->ref.sink, *b = &t->new.sink;
	size_t i;

	SAME(t, rc);
	SAME(t, used);
	SAME(t, d.size);
	SAME(t, d.hops);
	SAME(t, d.flags);
	SAME(t, d.done);
	SAME(t, sink.ncalls);
	for (i = 0; i < a->ncalls; i++)
		if (a->calls[i] != b->calls[i])
			mismatch(t, "callback call length", a->calls[i],
			    b->calls[i]);
	for (i = 0; i < a->octets.len; i++)
		if (a->octets.p[i] != b->octets.p[i])
			mismatch(t, "output octet at", i, i);
}

/* The next feed length: whole, fixed pieces, or random ones. */
static size_t
split(int mode, size_t piece, size_t left)
{
	size_t n;

	switch (mode) {
	case 0:
		n = left;
		break;
	case 1:
		n = piece;
		break;
	case 2:
		n = below(64);
		break;
	default:
		n = below(left + 1);
		break;
	}
	return n < left ? n : left;
}

static void
setup_sides(struct trial *t, uint64_t max_size, unsigned int max_hops,
    uint64_t max_line)
{
	int count_only = below(10) == 0;
	size_t fail_at = below(8) == 0 ? 1 + below(6) : 0;

	memset(&t->ref, 0, sizeof(t->ref));
	memset(&t->new, 0, sizeof(t->new));
	t->ref.sink.fail_at = t->new.sink.fail_at = fail_at;
	ref_init(&t->ref.d, max_size, max_hops, count_only ? NULL : sink_out,
	    &t->ref.sink);
	smtp_data_init(&t->new.d, max_size, max_hops,
	    count_only ? NULL : sink_out, &t->new.sink);
	t->ref.d.max_line = t->new.d.max_line = max_line;
}

/* Feed in->p to both, in the same pieces, comparing after every call. */
static void
feed_both(struct trial *t, int mode)
{
	static const size_t pieces[] = { 1, 2, 3, 7, 1023, 1024, 1025, 4096 };
	const struct buf *in = t->in;
	size_t piece = pieces[below(sizeof(pieces) / sizeof(pieces[0]))];

	t->off = 0;
	do {
		t->len = split(mode, piece, in->len - t->off);
		if (below(50) == 0) /* the caller may change it: read live */
			t->ref.d.max_line = t->new.d.max_line = pick_max_line();
		t->ref.rc =
		    ref_feed(&t->ref.d, in->p + t->off, t->len, &t->ref.used);
		t->new.rc = smtp_data_feed(
		    &t->new.d, in->p + t->off, t->len, &t->new.used);
		compare(t);
		t->off += t->new.used;
	} while (t->off < in->len && t->new.rc == 0);
	/* sticky: after the end or an error nothing more is taken */
	t->len = in->len - t->off;
	t->ref.rc = ref_feed(&t->ref.d, in->p + t->off, t->len, &t->ref.used);
	t->new.rc =
	    smtp_data_feed(&t->new.d, in->p + t->off, t->len, &t->new.used);
	compare(t);
}

/* max_size: none, anything, or a few octets either side of the size. */
static uint64_t
pick_max_size(const struct buf *in, uint64_t max_line)
{
	struct smtp_data d;
	size_t used;

	if (below(3) == 0)
		return 0;
	ref_init(&d, 0, 0, NULL, NULL);
	d.max_line = max_line;
	(void)ref_feed(&d, in->p, in->len, &used);
	if (below(4) == 0)
		return 1 + below(d.size + 1);
	return d.size > 3 ? d.size - 3 + below(7) : 1 + below(7);
}

static void
side_free(struct side *s)
{
	free(s->sink.octets.p);
	free(s->sink.calls);
}

static void
test_same_as_reference(void **state)
{
	struct buf in = { NULL, 0, 0 };
	struct trial t;
	uint64_t max_line, max_size;
	unsigned int max_hops, seen = 0;

	(void)state;
	t.seed = pick_seed(20240611);
	rng_state = t.seed;
	t.in = &in;
	for (t.n = 0; t.n < 4000; t.n++) {
		max_line = pick_max_line();
		gen_stream(&in, max_line);
		max_size = pick_max_size(&in, max_line);
		max_hops = (unsigned int)below(4);
		setup_sides(&t, max_size, max_hops, max_line);
		feed_both(&t, (int)below(4));
		seen |= t.new.d.flags | (t.new.d.done ? 0x40 : 0) |
		    (t.new.rc < 0 ? 0x80 : 0);
		side_free(&t.ref);
		side_free(&t.new);
	}
	free(in.p);
	/* the generator reaches every flag, the end and a callback error */
	assert_int_equal(seen, 0xff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
