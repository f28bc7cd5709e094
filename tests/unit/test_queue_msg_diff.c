/*
 * Differential test of lib/queue_msg's message check against the
 * octet-by-octet check of 5a72155 (queue_msg_ref.h, tests only).
 * Generated messages (CRLF lines short and long, NUL and 8-bit octets,
 * and now and then a bare CR or LF, a CR, LF or line end cut off at the
 * end) are checked in memory and from a file in pieces of every size,
 * boundaries landing on and around the faults; both must give the same
 * answer.  A few go through queue_read_fd() as queue files, whose
 * acceptance must be the reference's.  Seed: RELAY_TEST_SEED.
 */
#include <sys/mman.h>

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

#include "queue.h"
#include "queue_msg_ref.h"
#include "testgen.h"
#include "tmpspool.h"
#include "tmptree.h"

#define CHUNK QUEUE_MSG_CHUNK

/* ---- generator ---- */

/*
 * n octets of a line: no CR or LF, sometimes NUL; 8-bit, and controls on
 * either side of plain_len's first test (an octet below 14 stops it).
 */
static void
put_text(struct buf *b, size_t n)
{
	static const char text[] = "abcXYZ019 \t\v\f\x01\x0e.:-\x7f\x80\xff";
	size_t k = sizeof(text) - 1;
	char c;

	if (below(4) == 0)
		k += 1; /* the NUL ending the literal */
	while (n-- > 0) {
		c = text[below(k)];
		put(b, &c, 1);
	}
}

static size_t
line_len(void)
{
	switch (below(8)) {
	case 0:
		return below(4);
	case 1:
		return 990 + below(20);
	case 2:
		return below(3) == 0 ? 20000 + below(100000)
				     : 1000 + below(5000);
	default:
		return 60 + below(20);
	}
}

/* What may break a message (or not: NUL and 8-bit are fine). */
static const char *const faults[] = { "\r", "\n", "\r\r\n", "\n\r\n", "\r\n\n",
	"\r\r", "\n\n", "x\r", "\rx", "\nx", "\0", "\x80", "\r\n" };
#define NFAULTS (sizeof(faults) / sizeof(faults[0]))

static const char *
put_fault(struct buf *b)
{
	const char *f = faults[below(NFAULTS)];

	put(b, f, f[0] == '\0' ? 1 : strlen(f));
	return f;
}

/*
 * About target octets of lines; *at: where a fault went (or -1).  Mostly
 * valid messages, the rest with a fault anywhere, or one near the end.
 */
static void
gen_msg(struct buf *b, size_t target, size_t *at)
{
	int nfault = below(3) == 0 ? 0 : 1 + (int)below(2);
	size_t n;

	b->len = 0;
	*at = (size_t)-1;
	while (b->len < target) {
		n = line_len();
		put_text(b, n < target - b->len ? n : target - b->len);
		if (nfault > 0 && below(40) == 0) {
			*at = b->len;
			(void)put_fault(b);
			nfault--;
		}
		put(b, "\r\n", 2);
	}
	switch (below(8)) { /* the end: fine, or cut, or a fault */
	case 0:
		b->len -= below(b->len < 2 ? b->len + 1 : 3);
		break;
	case 1:
		*at = b->len;
		(void)put_fault(b);
		break;
	default:
		break;
	}
}

/* ---- the comparison ---- */

/* The file the check reads: off junk octets, then the message. */
static int
msg_file(const struct buf *m, off_t off)
{
	static int fd = -1;

	if (fd == -1) {
		fd = memfd_create("test_queue_msg_diff", MFD_CLOEXEC);
		assert_true(fd >= 0);
	}
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, "\r\n\n\r\r\n\r\n\r", (size_t)off, 0), off);
	if (m->len > 0)
		assert_int_equal(
		    pwrite(fd, m->p, m->len, off), (ssize_t)m->len);
	return fd;
}

/*
 * A piece size: fixed ones, one putting a boundary next to the fault, or
 * any; a long message is not read a few octets at a time (a pread each)
 * but for a boundary at the fault.
 */
static size_t
pick_piece(size_t n, size_t at)
{
	static const size_t fixed[] = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 63, 64,
		65, 997, 998, 999, CHUNK - 1, CHUNK, CHUNK + 1 };
	size_t p;

	switch (below(4)) {
	case 0:
		p = fixed[below(sizeof(fixed) / sizeof(fixed[0]))];
		break;
	case 1:
		if (at != (size_t)-1 && at + 2 > below(3))
			return at + 2 - below(3); /* a boundary next to it */
		/* FALLTHROUGH */
	case 2:
		p = 1 + below(n + 2);
		break;
	default:
		p = 1 + below(200);
		break;
	}
	return n > 16384 && p < 1024 ? p + 4096 : p;
}

struct trial {
	unsigned long seed, n;
	const struct buf *m;
	size_t at, piece;
};

static void
same(const struct trial *t, const char *what, int ref, int new)
{
	if (ref != new)
		fail_msg("seed %lu trial %lu: %s of %zu octets (fault at %zd, "
			 "pieces of %zu): %d (reference %d)",
		    t->seed, t->n, what, t->m->len, (ssize_t)t->at, t->piece,
		    new, ref);
}

/* In memory, and from a file in two piece sizes; the reference's answer. */
static int
check_both(struct trial *t)
{
	struct queue_file qf;
	char *buf;
	int k, ref;

	memset(&qf, 0, sizeof(qf));
	qf.msgfd = -1;
	qf.msg = t->m->p != NULL ? t->m->p : (char *)"";
	qf.size = t->m->len;
	t->piece = 0;
	ref = ref_queue_msg_check(&qf, NULL, 0);
	same(t, "in memory", ref, queue_msg_check(&qf, NULL, 0));
	qf.msg = NULL;
	qf.msgoff = 1 + (off_t)below(9);
	qf.msgfd = msg_file(t->m, qf.msgoff);
	for (k = 0; k < 2; k++) {
		t->piece = pick_piece(t->m->len, t->at);
		buf = malloc(t->piece); /* exactly: an overread shows (ASan) */
		assert_non_null(buf);
		same(t, "from a file", ref_queue_msg_check(&qf, buf, t->piece),
		    queue_msg_check(&qf, buf, t->piece));
		free(buf);
	}
	return ref;
}

static void
test_check_same_as_reference(void **state)
{
	struct buf m = { NULL, 0, 0 };
	struct trial t = { 0 };
	unsigned seen = 0;

	(void)state;
	t.seed = pick_seed(20240612);
	rng_state = t.seed;
	t.m = &m;
	for (t.n = 0; t.n < 3000; t.n++) {
		gen_msg(
		    &m, below(10) == 0 ? below(3 * CHUNK) : below(3000), &t.at);
		seen |= check_both(&t) == 0 ? 1 : 2;
	}
	free(m.p);
	assert_int_equal(seen, 3); /* both answers were compared */
}

/* ---- as queue files ---- */

static struct queue_rcpt rcpt;

/* queue/ID of qd holding m (not checked by the writer); its id in qf. */
static void
enqueue(int spool, struct queue_file *qf, const struct buf *m)
{
	tmpspool_sample(qf, &rcpt, m->p, m->len);
	assert_int_equal(queue_enqueue(spool, qf), 0);
}

/* queue_read_fd accepts a file exactly when the reference check does. */
static void
test_read_fd_same_as_reference(void **state)
{
	char dir[64];
	struct buf m = { NULL, 0, 0 };
	struct queue_file w, *rd;
	struct trial t = { 0 };
	int spool, qd, fd, i;

	(void)state;
	t.seed = pick_seed(20240612);
	rng_state = t.seed ^ 0x5a5a;
	t.m = &m;
	spool = tmpspool_new(
	    dir, sizeof(dir), "qmdiff", "tmp", "queue", (char *)NULL);
	qd = openat(spool, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(qd >= 0);
	for (i = 0; i < 24; i++, t.n++) {
		gen_msg(&m, 1 + below(3 * CHUNK), &t.at);
		enqueue(spool, &w, &m);
		fd = openat(qd, w.id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		assert_true(fd >= 0);
		rd = NULL;
		t.piece = CHUNK;
		same(&t, "queue_read_fd", ref_queue_msg_check(&w, NULL, 0),
		    queue_read_fd(qd, w.id, fd, &rd));
		queue_free(rd);
		close(fd);
		assert_int_equal(unlinkat(qd, w.id, 0), 0);
	}
	free(m.p);
	close(qd);
	close(spool);
	assert_int_equal(tmptree_remove(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_same_as_reference),
		cmocka_unit_test(test_read_fd_same_as_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
