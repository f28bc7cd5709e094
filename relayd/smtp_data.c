/*
 * DATA stream decoder for the smtp child.  Trust boundary: the stream is
 * raw client input.  The only end of data is <CRLF>.<CRLF>; every other
 * line ending is flagged, never normalised, so that no downstream MTA can
 * see a message boundary we did not see (SMTP smuggling, CVE-2023-51764).
 */
#include <string.h>

#include "plain.h"
#include "smtp_data.h"

enum { S_BOL, S_MID, S_CR, S_DOT, S_DOTCR, S_END };

#define REPLY(c, st, txt)                     \
	{                                     \
		c, st, txt, #c " " st " " txt \
	}

static const struct smtp_reply r_bare =
    REPLY(550, "5.6.11", "Bare CR or LF in message data not allowed");
static const struct smtp_reply r_big =
    REPLY(552, "5.3.4", "Message size exceeds fixed maximum message size");
static const struct smtp_reply r_long =
    REPLY(552, "5.6.0", "Message line too long");
static const struct smtp_reply r_nul =
    REPLY(554, "5.6.0", "NUL octet in message data not allowed");
static const struct smtp_reply r_hops =
    REPLY(554, "5.4.6", "Too many hops (Received: headers), routing loop?");

/* Output batching for one smtp_data_feed() call. */
struct emit {
	struct smtp_data *d;
	size_t n;
	char buf[1024];
};

static void
flush(struct emit *e)
{
	struct smtp_data *d = e->d;
	int r;

	if (e->n > 0 && d->err == 0 && d->out != NULL) {
		if ((r = d->out(d->arg, e->buf, e->n)) < 0)
			d->err = r;
	}
	e->n = 0;
}

/*
 * Output stops at the first flag; octets already batched came before it
 * and are still flushed, so the output does not depend on the split.
 */
static void
flag(struct emit *e, unsigned int f)
{
	e->d->flags |= f;
}

static void
emit(struct emit *e, unsigned char c)
{
	struct smtp_data *d = e->d;

	if (d->size < UINT64_MAX)
		d->size++;
	if (d->max_size > 0 && d->size > d->max_size)
		flag(e, SMTP_DATA_TOO_BIG);
	if (d->flags != 0)
		return; /* message will be refused: store nothing */
	e->buf[e->n++] = (char)c;
	if (e->n == sizeof(e->buf))
		flush(e);
}

static void
line_octet(struct emit *e)
{
	struct smtp_data *d = e->d;

	if (++d->line_len > d->max_line && d->max_line > 0)
		flag(e, SMTP_DATA_LONG_LINE);
}

/* Count "Received" *WSP ":" at the start of header lines. */
static void
header_match(struct emit *e, unsigned char c)
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
		flag(e, SMTP_DATA_HOPS);
	d->hdr_pos = -1;
}

/* An octet inside a line (also the one after a stuffing dot). */
static void
mid(struct emit *e, unsigned char c)
{
	struct smtp_data *d = e->d;

	line_octet(e);
	if (c == '\n') {
		flag(e, SMTP_DATA_BARE_LF);
		d->state = S_MID; /* not a line start: no end marker next */
		return;
	}
	/* Not stripped: a NUL ends C strings in some next hop's parser. */
	if (c == '\0')
		flag(e, SMTP_DATA_NUL);
	header_match(e, c);
	emit(e, c);
	d->state = c == '\r' ? S_CR : S_MID;
}

/* CRLF seen: the line is over. */
static void
line_end(struct emit *e)
{
	struct smtp_data *d = e->d;

	line_octet(e);
	emit(e, '\n');
	if (d->in_header && d->line_len == 2)
		d->in_header = 0; /* empty line ends the header section */
	d->line_len = 0;
	d->hdr_pos = 0;
	d->state = S_BOL;
}

/*
 * The fast path: in the middle of a line, outside "Received" matching, an
 * octet other than CR, LF and NUL is only counted and passed on, so runs
 * of them are found a word at a time and taken whole.
 */
static int
fast_path(const struct smtp_data *d)
{
	return d->state == S_MID && (!d->in_header || d->hdr_pos < 0);
}

/* line_octet() and emit()'s counting for n plain octets. */
static void
count(struct smtp_data *d, uint64_t n)
{
	d->line_len += n;
	if (d->max_line > 0 && d->line_len > d->max_line)
		d->flags |= SMTP_DATA_LONG_LINE;
	d->size = UINT64_MAX - d->size < n ? UINT64_MAX : d->size + n;
	if (d->max_size > 0 && d->size > d->max_size)
		d->flags |= SMTP_DATA_TOO_BIG;
}

/* Plain octets that can be passed on before one sets a flag. */
static uint64_t
room(const struct smtp_data *d)
{
	uint64_t r = UINT64_MAX, s;

	if (d->max_line > 0)
		r = d->line_len < d->max_line ? d->max_line - d->line_len : 0;
	if (d->max_size > 0) {
		s = d->size < d->max_size ? d->max_size - d->size : 0;
		r = s < r ? s : r;
	}
	return r;
}

/*
 * mid() for n plain octets.  They go through the batch, flushed when full
 * as emit() does, so out sees the same calls on either path and, if it
 * fails, we stop after the same octet.  Returns the octets taken.
 */
static size_t
mid_run(struct emit *e, const char *p, size_t n)
{
	struct smtp_data *d = e->d;
	size_t i = 0, k;
	uint64_t r;

	while (i < n && d->err == 0) {
		if (d->flags != 0) {
			count(d, n - i); /* nothing more is passed on */
			return n;
		}
		if ((r = room(d)) == 0) {
			mid(e, (unsigned char)p[i++]); /* at a limit */
			continue;
		}
		k = sizeof(e->buf) - e->n;
		k = n - i < k ? n - i : k;
		k = r < k ? (size_t)r : k;
		count(d, k);
		memcpy(e->buf + e->n, p + i, k);
		e->n += k;
		i += k;
		if (e->n == sizeof(e->buf))
			flush(e);
	}
	return i;
}

/* One octet; 1 at the end of data. */
static int
step(struct emit *e, unsigned char c)
{
	struct smtp_data *d = e->d;

	switch (d->state) {
	case S_BOL:
		if (c == '.')
			d->state = S_DOT; /* dropped: stuffing or end */
		else
			mid(e, c);
		return 0;
	case S_DOT:
		if (c == '\r')
			d->state = S_DOTCR;
		else
			mid(e, c); /* ".." -> ".", ".x" -> "x", ".\n" bare */
		return 0;
	case S_DOTCR:
		if (c == '\n') {
			d->state = S_END;
			d->done = 1;
			return 1;
		}
		flag(e, SMTP_DATA_BARE_CR); /* <CRLF>.<CR>x */
		mid(e, c);
		return 0;
	case S_CR:
		if (c == '\n') {
			line_end(e);
			return 0;
		}
		flag(e, SMTP_DATA_BARE_CR);
		mid(e, c);
		return 0;
	default:
		mid(e, c);
		return 0;
	}
}

void
smtp_data_init(struct smtp_data *d, uint64_t max_size, unsigned int max_hops,
    smtp_data_out_fn *out, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->max_size = max_size;
	d->max_hops = max_hops;
	d->max_line = SMTP_DATA_LINE_MAX;
	d->out = out;
	d->arg = arg;
	d->state = S_BOL;
	d->in_header = 1;
}

int
smtp_data_feed(struct smtp_data *d, const char *buf, size_t len, size_t *used)
{
	struct emit e;
	size_t i, n;

	*used = 0;
	if (d->err != 0)
		return d->err;
	if (d->done)
		return 1;
	e.d = d;
	e.n = 0;
	for (i = 0; i < len && d->err == 0;) {
		if (fast_path(d) && (n = plain_len(buf + i, len - i)) > 0)
			i += mid_run(&e, buf + i, n);
		else if (step(&e, (unsigned char)buf[i++]))
			break;
	}
	flush(&e);
	*used = i;
	if (d->err != 0)
		return d->err;
	return d->done;
}

const struct smtp_reply *
smtp_data_reply(const struct smtp_data *d)
{
	if (d->flags & (SMTP_DATA_BARE_LF | SMTP_DATA_BARE_CR))
		return &r_bare;
	if (d->flags & SMTP_DATA_NUL)
		return &r_nul;
	if (d->flags & SMTP_DATA_TOO_BIG)
		return &r_big;
	if (d->flags & SMTP_DATA_LONG_LINE)
		return &r_long;
	if (d->flags & SMTP_DATA_HOPS)
		return &r_hops;
	return NULL;
}
