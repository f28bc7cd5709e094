/*
 * The reference for relayd/smtpc_io's message passes: the scan before
 * MAIL (SIZE= and 8-bit) and the dot-stuffing and folding of DATA, octet
 * by octet as of 5a72155, renamed, with the write buffer replaced by a
 * growing one (ref_out), for test_smtpc_data_diff to compare the real
 * ones with.  Tests only; static, one copy per including file.
 */
#ifndef SMTPC_DATA_REF_H
#define SMTPC_DATA_REF_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "smtpc_int.h"

/* What the reference writes: the octets smtpc_io_data would send. */
struct ref_out {
	char *p;
	size_t len, cap;
};

static int
ref_write(struct ref_out *o, const char *s, size_t n)
{
	char *p;

	if (o->len + n > o->cap) {
		if ((p = realloc(o->p, (o->len + n) * 2)) == NULL)
			return -1;
		o->p = p;
		o->cap = (o->len + n) * 2;
	}
	if (n > 0)
		memcpy(o->p + o->len, s, n);
	o->len += n;
	return 0;
}

static int
ref_fold_step(const char *msg, size_t len, size_t i, size_t *col)
{
	int eol = msg[i] == '\n' ||
	    (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n');
	int fold = !eol && *col >= SMTPC_LINE_FOLD;

	if (fold)
		*col = 1; /* the space */
	if (msg[i] == '\n' || (msg[i] == '\r' && !eol))
		*col = 0;
	else if (!eol)
		(*col)++;
	return fold;
}

struct ref_piece {
	const struct queue_file *qf;
	size_t off;
	int held;
	char buf[SMTPC_DATA_CHUNK + 1];
};

static int
ref_piece_next(struct ref_piece *p, size_t *n, int *last)
{
	size_t got = 0;
	int rv;

	if (p->held)
		p->buf[0] = '\r';
	if ((rv = queue_msg_read(
		 p->qf, p->off, p->buf + p->held, SMTPC_DATA_CHUNK, &got)) != 0)
		return rv;
	p->off += got;
	*n = (size_t)p->held + got;
	*last = p->off >= p->qf->size;
	p->held = !*last && *n > 0 && p->buf[*n - 1] == '\r';
	*n -= (size_t)p->held;
	return 0;
}

static struct ref_piece *
ref_piece_new(const struct queue_file *qf)
{
	struct ref_piece *p = malloc(sizeof(*p));

	if (p != NULL) {
		p->qf = qf;
		p->off = 0;
		p->held = 0;
	}
	return p;
}

static int
ref_data_scan(const struct queue_file *qf, size_t *size, int *eight)
{
	struct ref_piece *p = ref_piece_new(qf);
	size_t i, n, col = 0, folds = 0;
	int last = 0, rv = 0;
	unsigned high = 0;

	*size = qf->size;
	*eight = 0;
	if (p == NULL)
		return -ENOMEM;
	while (!last && (rv = ref_piece_next(p, &n, &last)) == 0) {
		for (i = 0; i < n; i++) {
			folds += ref_fold_step(p->buf, n, i, &col);
			high |= (unsigned char)p->buf[i];
		}
	}
	*eight = high >= 0x80;
	free(p);
	*size =
	    folds > (SIZE_MAX - qf->size) / 3 ? SIZE_MAX : qf->size + folds * 3;
	return rv;
}

struct ref_dot {
	size_t col;
	int bol;
};

static int
ref_piece_out(struct ref_out *o, struct ref_dot *d, const char *msg, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (ref_fold_step(msg, len, i, &d->col)) {
			if (ref_write(o, msg + start, i - start) ||
			    ref_write(o, "\r\n ", 3))
				return -1;
			start = i;
		}
		if (d->bol && msg[i] == '.') {
			if (ref_write(o, msg + start, i - start) ||
			    ref_write(o, ".", 1))
				return -1;
			start = i;
		}
		d->bol = msg[i] == '\n' ||
		    (msg[i] == '\r' && (i + 1 == len || msg[i + 1] != '\n'));
	}
	return ref_write(o, msg + start, len - start);
}

/* smtpc_io_data's octets into o: 0, -1 (no memory) or SMTPC_UNREAD. */
static int
ref_data(struct ref_out *o, const struct queue_file *qf)
{
	struct ref_piece *p = ref_piece_new(qf);
	struct ref_dot d = { 0, 1 };
	size_t n = 0;
	int last = 0, rv = 0;

	if (p == NULL)
		return -1;
	while (!last && rv == 0) {
		if (ref_piece_next(p, &n, &last) != 0)
			rv = SMTPC_UNREAD;
		else if (ref_piece_out(o, &d, p->buf, n) != 0)
			rv = -1;
	}
	if (rv == 0 && n > 0 &&
	    (n < 2 || p->buf[n - 2] != '\r' || p->buf[n - 1] != '\n') &&
	    ref_write(o, "\r\n", 2) != 0)
		rv = -1;
	free(p);
	if (rv != 0 || ref_write(o, ".\r\n", 3) != 0)
		return rv != 0 ? rv : -1;
	return 0;
}

#endif /* SMTPC_DATA_REF_H */
