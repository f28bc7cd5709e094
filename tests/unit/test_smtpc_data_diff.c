/*
 * Differential test of relayd/smtpc_io's two passes over a message (the
 * scan before MAIL: SIZE= and 8-bit; DATA: dot-stuffing and folding)
 * against the octet-by-octet ones of 5a72155 (smtpc_data_ref.h, tests
 * only).  Generated messages mix CRLF, bare CR and LF, dots at line
 * starts, NUL and 8-bit octets, lines around the fold column and far
 * longer; in longer ones every SMTPC_DATA_CHUNK boundary gets a dense
 * run of such edges a few octets either side of it, in lines of every
 * length near the fold.  The scan must give the same size, 8-bit answer
 * and result, and smtpc_io_data the same octets on a socket, read by a
 * thread.  Seed: RELAY_TEST_SEED.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"
#include "smtpc_data_ref.h"
#include "smtpc_int.h"
#include "testgen.h"

#define B SMTPC_DATA_CHUNK

/* ---- generator ---- */

/*
 * Octets of a message: 7-bit text, with controls on either side of
 * plain_len's first test (an octet below 14 stops it); eight adds 8-bit
 * octets and NUL.
 */
struct gen {
	struct buf *b;
	int eight;
};

static void
put_text(struct gen *g, size_t n)
{
	static const char text[] = "abcXYZ019 \t\v\f\x01\x0e.:-\x7f\x80\xff";
	size_t k = sizeof(text) - (g->eight ? 0 : 3); /* NUL last */
	char c;

	while (n-- > 0) {
		c = text[below(k)];
		put(g->b, &c, 1);
	}
}

/* Line ends, dots, and what the queue never holds but we must send. */
static const char *const edges[] = { "\r\n", "\r\n", "\r\n.", "\r\n..",
	"\r\n.\r\n", "\r\n\r\n", ".", "\r", "\n", "\r\r\n", "\n\r", "\r\r",
	"\n.", "\r.", "\r\r\r", "\n\n", "x", "yz" };
#define NEDGES (sizeof(edges) / sizeof(edges[0]))

static void
put_edge(struct gen *g)
{
	const char *e = edges[below(NEDGES)];
	char c;

	if (g->eight && below(8) == 0) {
		c = below(2) == 0 ? '\0' : (char)(0x80 | below(128));
		put(g->b, &c, 1);
		return;
	}
	put(g->b, e, strlen(e));
}

/* A line length: short, around the fold column, or far over it. */
static size_t
line_len(void)
{
	static const size_t near[] = { 996, 997, 998, 999, 1000, 1001, 1993,
		1994, 1995, 1996, 1997, 1998, 1999, 2991, 2992, 2993 };

	switch (below(10)) {
	case 0:
		return below(3);
	case 1:
	case 2:
		return near[below(sizeof(near) / sizeof(near[0]))];
	case 3:
		return below(5) == 0 ? 2 * B + below(B) : 1000 + below(5000);
	default:
		return below(120);
	}
}

/* A line (or a few edges) of the body. */
static void
put_piece(struct gen *g)
{
	size_t i;

	if (below(3) == 0) {
		for (i = below(4); i > 0; i--)
			put_edge(g);
		return;
	}
	put_text(g, line_len());
	if (below(8) == 0)
		put_edge(g);
	else
		put(g->b, "\r\n", 2);
	if (below(10) == 0) /* a dot starting the next line */
		put(g->b, ".", 1);
}

/* Whole CRLF lines up to pos, then text: the line reaches pos with len. */
static void
pad_to(struct gen *g, size_t pos, size_t len)
{
	size_t n;

	if (pos < g->b->len + len + 2)
		return; /* a long line got there first */
	pos -= len;
	while (pos - g->b->len > 300) {
		put_text(g, below(200));
		put(g->b, "\r\n", 2);
	}
	n = pos - g->b->len;
	put_text(g, n - 2);
	put(g->b, "\r\n", 2);
	put_text(g, len);
}

/*
 * A message of about target octets.  At each piece boundary, a line of
 * a length near the fold (or not) ends a few octets before it, and
 * dense edges go across it.
 */
static void
gen_msg(struct gen *g, size_t target)
{
	size_t next = B, d;

	g->b->len = 0;
	while (g->b->len < target) {
		if (g->b->len + 3000 >= next) {
			d = below(4) == 0 ? below(1200) : below(24);
			pad_to(g, next - d, line_len() % 4000);
			while (g->b->len < next + 24)
				put_edge(g);
			next += B;
			continue;
		}
		put_piece(g);
	}
	if (g->b->len > target)
		g->b->len = target; /* any end: a CR, half a CRLF, a dot */
}

/* ---- the comparison ---- */

struct reader {
	int fd;
	struct buf got;
};

/* The reader thread: no cmocka assertion here (they longjmp). */
static void *
read_all(void *arg)
{
	struct reader *r = arg;
	struct buf *b = &r->got;
	ssize_t n;

	for (;;) {
		if (b->cap - b->len < 65536) {
			b->cap = b->cap * 2 + 65536;
			if ((b->p = realloc(b->p, b->cap)) == NULL)
				abort();
		}
		if ((n = read(r->fd, b->p + b->len, b->cap - b->len)) <= 0)
			return NULL;
		b->len += (size_t)n;
	}
}

struct trial {
	unsigned long seed, n;
	const struct buf *m;
};

static void
mismatch(const struct trial *t, const char *what, size_t new, size_t ref)
{
	fail_msg("seed %lu trial %lu: message of %zu octets: %s %zu "
		 "(reference %zu)",
	    t->seed, t->n, t->m->len, what, new, ref);
}

/* First octet where a and b differ, or the shorter length. */
static size_t
first_diff(const char *a, size_t na, const char *b, size_t nb)
{
	size_t i, n = na < nb ? na : nb;

	for (i = 0; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/* smtpc_io_data over a socket pair; what came out in *out. */
static int
send_data(const struct queue_file *qf, struct buf *out)
{
	struct smtpc *c = calloc(1, sizeof(*c));
	struct reader r = { -1, { NULL, 0, 0 } };
	pthread_t th;
	int sv[2], rv;

	assert_non_null(c);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->fd = sv[0];
	r.fd = sv[1];
	assert_int_equal(pthread_create(&th, NULL, read_all, &r), 0);
	rv = smtpc_io_data(c, qf, 30, 30);
	assert_int_equal(shutdown(sv[0], SHUT_WR), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(sv[0]);
	close(sv[1]);
	free(c);
	*out = r.got;
	return rv;
}

/* Both scans and both sends of t->m; bit 0: 8-bit, bit 1: folded. */
static unsigned
compare(const struct trial *t)
{
	struct queue_file qf;
	struct ref_out ro = { NULL, 0, 0 };
	struct buf out;
	size_t size, rsize, at;
	int eight, reight, rv, rrv;

	memset(&qf, 0, sizeof(qf));
	qf.msgfd = -1;
	qf.msg = t->m->p;
	qf.size = t->m->len;
	rrv = ref_data_scan(&qf, &rsize, &reight);
	rv = smtpc_io_data_scan(&qf, &size, &eight);
	if (rv != rrv || eight != reight)
		mismatch(t, rv != rrv ? "scan result" : "scan 8-bit",
		    (size_t)(rv != rrv ? rv : eight),
		    (size_t)(rv != rrv ? rrv : reight));
	if (size != rsize)
		mismatch(t, "SIZE=", size, rsize);
	assert_int_equal(ref_data(&ro, &qf), 0);
	assert_int_equal(send_data(&qf, &out), 0);
	at = first_diff(out.p, out.len, ro.p, ro.len);
	if (at < out.len || at < ro.len)
		fail_msg("seed %lu trial %lu: message of %zu octets: DATA "
			 "differs at octet %zu of %zu (reference %zu)",
		    t->seed, t->n, t->m->len, at, out.len, ro.len);
	free(out.p);
	free(ro.p);
	return (unsigned)reight | (rsize > qf.size ? 2 : 0);
}

/* Sizes: empty, short, around one boundary, or several pieces. */
static size_t
pick_size(void)
{
	switch (below(8)) {
	case 0:
		return below(4);
	case 1:
		return B - 8 + below(16);
	case 2:
	case 3:
		return B * (1 + below(3)) + (below(2) ? below(8) : below(B));
	default:
		return below(4) == 0 ? below(20000) : below(2500);
	}
}

static void
test_same_as_reference(void **state)
{
	struct buf m = { NULL, 0, 0 };
	struct gen g = { &m, 0 };
	struct trial t = { 0 };
	unsigned seen = 0;

	(void)state;
	t.seed = pick_seed(20240613);
	rng_state = t.seed;
	t.m = &m;
	for (t.n = 0; t.n < 1500; t.n++) {
		g.eight = below(3) == 0;
		gen_msg(&g, pick_size());
		if (!g.eight && m.len > 0 && below(3) == 0)
			m.p[below(m.len)] = (char)0x80; /* one, anywhere */
		seen |= 1u << compare(&t);
	}
	free(m.p);
	assert_int_equal(seen, 0xf); /* 7- and 8-bit, folded or not */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
