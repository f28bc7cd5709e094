/*
 * The reference for relayd/smtp_data: its octet-by-octet decoder as of
 * 8cc7c08, renamed, for test_smtp_data_diff and fuzz_smtp_data to compare
 * the real one with.  Tests only; static, one copy per including file.
 */
#ifndef SMTP_DATA_REF_H
#define SMTP_DATA_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "smtp_data.h"

enum { REF_BOL, REF_MID, REF_CR, REF_DOT, REF_DOTCR, REF_END };

struct ref_emit {
	struct smtp_data *d;
	size_t n;
	char buf[1024];
};

static void
ref_flush(struct ref_emit *e)
{
	struct smtp_data *d = e->d;
	int r;

	if (e->n > 0 && d->err == 0 && d->out != NULL) {
		if ((r = d->out(d->arg, e->buf, e->n)) < 0)
			d->err = r;
	}
	e->n = 0;
}

static void
ref_flag(struct ref_emit *e, unsigned int f)
{
	e->d->flags |= f;
}

static void
ref_emit(struct ref_emit *e, unsigned char c)
{
	struct smtp_data *d = e->d;

	if (d->size < UINT64_MAX)
		d->size++;
	if (d->max_size > 0 && d->size > d->max_size)
		ref_flag(e, SMTP_DATA_TOO_BIG);
	if (d->flags != 0)
		return;
	e->buf[e->n++] = (char)c;
	if (e->n == sizeof(e->buf))
		ref_flush(e);
}

static void
ref_line_octet(struct ref_emit *e)
{
	struct smtp_data *d = e->d;

	if (++d->line_len > d->max_line && d->max_line > 0)
		ref_flag(e, SMTP_DATA_LONG_LINE);
}

static void
ref_header_match(struct ref_emit *e, unsigned char c)
{
	static const char name[] = "received";
	struct smtp_data *d = e->d;

	if (!d->in_header || d->hdr_pos < 0)
		return;
	if (d->hdr_pos < (int)sizeof(name) - 1) {
		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		d->hdr_pos =
		    c == (unsigned char)name[d->hdr_pos] ? d->hdr_pos + 1 : -1;
		return;
	}
	if (c == ' ' || c == '\t')
		return;
	if (c == ':' && ++d->hops > d->max_hops && d->max_hops > 0)
		ref_flag(e, SMTP_DATA_HOPS);
	d->hdr_pos = -1;
}

static void
ref_mid(struct ref_emit *e, unsigned char c)
{
	struct smtp_data *d = e->d;

	ref_line_octet(e);
	if (c == '\n') {
		ref_flag(e, SMTP_DATA_BARE_LF);
		d->state = REF_MID;
		return;
	}
	if (c == '\0')
		ref_flag(e, SMTP_DATA_NUL);
	ref_header_match(e, c);
	ref_emit(e, c);
	d->state = c == '\r' ? REF_CR : REF_MID;
}

static void
ref_line_end(struct ref_emit *e)
{
	struct smtp_data *d = e->d;

	ref_line_octet(e);
	ref_emit(e, '\n');
	if (d->in_header && d->line_len == 2)
		d->in_header = 0;
	d->line_len = 0;
	d->hdr_pos = 0;
	d->state = REF_BOL;
}

static int
ref_step(struct ref_emit *e, unsigned char c)
{
	struct smtp_data *d = e->d;

	switch (d->state) {
	case REF_BOL:
		if (c == '.')
			d->state = REF_DOT;
		else
			ref_mid(e, c);
		return 0;
	case REF_DOT:
		if (c == '\r')
			d->state = REF_DOTCR;
		else
			ref_mid(e, c);
		return 0;
	case REF_DOTCR:
		if (c == '\n') {
			d->state = REF_END;
			d->done = 1;
			return 1;
		}
		ref_flag(e, SMTP_DATA_BARE_CR);
		ref_mid(e, c);
		return 0;
	case REF_CR:
		if (c == '\n') {
			ref_line_end(e);
			return 0;
		}
		ref_flag(e, SMTP_DATA_BARE_CR);
		ref_mid(e, c);
		return 0;
	default:
		ref_mid(e, c);
		return 0;
	}
}

static void
ref_init(struct smtp_data *d, uint64_t max_size, unsigned int max_hops,
    smtp_data_out_fn *out, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->max_size = max_size;
	d->max_hops = max_hops;
	d->max_line = SMTP_DATA_LINE_MAX;
	d->out = out;
	d->arg = arg;
	d->state = REF_BOL;
	d->in_header = 1;
}

static int
ref_feed(struct smtp_data *d, const char *buf, size_t len, size_t *used)
{
	struct ref_emit e;
	size_t i;

	*used = 0;
	if (d->err != 0)
		return d->err;
	if (d->done)
		return 1;
	e.d = d;
	e.n = 0;
	for (i = 0; i < len && d->err == 0;)
		if (ref_step(&e, (unsigned char)buf[i++]))
			break;
	ref_flush(&e);
	*used = i;
	if (d->err != 0)
		return d->err;
	return d->done;
}

#endif /* SMTP_DATA_REF_H */
