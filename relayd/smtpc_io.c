/*
 * Deadline-bound I/O for the SMTP client: every write and every reply
 * has an absolute deadline (a server dribbling one octet at a time does
 * not extend it), reads never buffer more than two reply lines, and the
 * message body, read from the queue file a piece at a time, is
 * dot-stuffed and long lines folded on the way out.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "monotime.h"
#include "plain.h"
#include "queue.h"
#include "smtpc_int.h"

#define SMTPC_WANT_MORE (-2) /* smtpc_raw_*: wait for *events, again */

static int
smtpc_fail(struct smtpc *c, int proto, const char *why)
{
	c->broken = 1;
	c->proto = proto;
	(void)strlcpy(c->why, why, sizeof(c->why)); /* a cut reason is fine */
	return -1;
}

/*
 * The message could not be read (rv: -errno): part of it may have gone
 * out, so the connection must never carry its end; SMTPC_UNREAD.
 */
static int
smtpc_io_unread(struct smtpc *c, int rv)
{
	(void)snprintf(c->why, sizeof(c->why), "cannot read the message: %s",
	    strerror(-rv));
	c->broken = 1;
	c->proto = 0;
	return SMTPC_UNREAD;
}

/* Wait for events on c->fd until deadline: 1 ready, 0 timeout, -1 error. */
int
smtpc_io_wait(struct smtpc *c, short events, long long deadline)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - monotime_ms()) <= 0)
			return 0;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* What a failed SSL call means: SMTPC_WANT_MORE (*events), 0 EOF, -1. */
static int
smtpc_ssl_error(struct smtpc *c, int r, short *events)
{
	char why[120];
	unsigned long e;

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return SMTPC_WANT_MORE;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return SMTPC_WANT_MORE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == EINTR || errno == EAGAIN) {
			*events = POLLIN | POLLOUT;
			return SMTPC_WANT_MORE;
		}
		if (ERR_peek_error() == 0)
			return errno == 0 ? 0
					  : smtpc_fail(c, 0, strerror(errno));
		/* FALLTHROUGH */
	default:
		e = ERR_get_error();
		(void)snprintf(why, sizeof(why), "TLS error: %s",
		    e != 0 ? ERR_reason_error_string(e) : "unknown");
		ERR_clear_error();
		return smtpc_fail(c, 0, why);
	}
}

/* n > 0 sent, SMTPC_WANT_MORE (*events), -1 failed (c->why). */
static ssize_t
smtpc_raw_write(struct smtpc *c, const char *p, size_t n, short *events)
{
	ssize_t w;
	int r;

	*events = POLLOUT;
	if (c->ssl == NULL) {
		if ((w = send(c->fd, p, n, MSG_NOSIGNAL)) > 0)
			return w;
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return smtpc_fail(c, 0, strerror(errno));
		return SMTPC_WANT_MORE;
	}
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n)) > 0)
		return r;
	if ((r = smtpc_ssl_error(c, r, events)) == 0)
		return smtpc_fail(c, 0, "connection closed by server");
	return r;
}

/* n > 0 read, 0 EOF, SMTPC_WANT_MORE (*events), -1 failed (c->why). */
static ssize_t
smtpc_raw_read(struct smtpc *c, char *p, size_t n, short *events)
{
	ssize_t r;
	int k;

	*events = POLLIN;
	if (c->ssl == NULL) {
		if ((r = read(c->fd, p, n)) >= 0)
			return r;
		if (errno != EAGAIN && errno != EINTR)
			return smtpc_fail(c, 0, strerror(errno));
		return SMTPC_WANT_MORE;
	}
	ERR_clear_error();
	errno = 0;
	if ((k = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n)) > 0)
		return k;
	return smtpc_ssl_error(c, k, events);
}

int
smtpc_io_flush(struct smtpc *c, unsigned timeout)
{
	int64_t deadline = monotime_ms() + (int64_t)timeout * 1000;
	size_t off = 0;
	ssize_t w;
	short ev;
	int r;

	if (c->broken)
		return -1;
	while (off < c->outlen) {
		w = smtpc_raw_write(c, c->out + off, c->outlen - off, &ev);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w != SMTPC_WANT_MORE)
			return -1;
		if ((r = smtpc_io_wait(c, ev, deadline)) == 0)
			return smtpc_fail(c, 0, "timeout while sending");
		if (r < 0)
			return smtpc_fail(c, 0, strerror(errno));
	}
	c->outlen = 0;
	return 0;
}

void
smtpc_io_wipe(struct smtpc *c)
{
	explicit_bzero(c->out, sizeof(c->out));
}

int
smtpc_io_write(struct smtpc *c, const char *s, size_t n, unsigned timeout)
{
	size_t k;

	while (n > 0) {
		if (c->outlen == sizeof(c->out) && smtpc_io_flush(c, timeout))
			return -1;
		k = sizeof(c->out) - c->outlen;
		if (k > n)
			k = n;
		memcpy(c->out + c->outlen, s, k);
		c->outlen += k;
		s += k;
		n -= k;
	}
	return 0;
}

int
smtpc_io_cmd(struct smtpc *c, const char *cmd, unsigned timeout)
{
	size_t n = strlen(cmd);

	/* Our queue file is checked, but never let a field end a command. */
	if (n + 2 > SMTPC_CMD_MAX || strpbrk(cmd, "\r\n") != NULL)
		return -1;
	if (smtpc_io_write(c, cmd, n, timeout) != 0 ||
	    smtpc_io_write(c, "\r\n", 2, timeout) != 0)
		return -2;
	return 0;
}

/* Feed complete lines of c->in to the parser: 1 done, 0 more, -1 error. */
static int
smtpc_io_lines(struct smtpc *c)
{
	const char *why;
	char *nl;
	size_t n, llen;
	int rc;

	while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		n = (size_t)(nl - c->in);
		llen = n > 0 && c->in[n - 1] == '\r' ? n - 1 : n;
		rc = smtpc_reply_line(&c->reply, c->in, llen, &why);
		memmove(c->in, nl + 1, c->inlen - n - 1);
		c->inlen -= n + 1;
		if (rc < 0)
			return smtpc_fail(c, 1, why);
		if (rc == SMTPC_REPLY_DONE)
			return 1;
	}
	/* A line without its LF that is already over the cap. */
	if (c->inlen > SMTPC_REPLY_LINE_MAX + 1)
		return smtpc_fail(c, 1, "reply line too long");
	return 0;
}

int
smtpc_io_reply(struct smtpc *c, unsigned timeout)
{
	int64_t deadline = monotime_ms() + (int64_t)timeout * 1000;
	ssize_t r;
	short ev;
	int rc;

	smtpc_reply_init(&c->reply);
	if (c->broken)
		return -1;
	for (;;) {
		if ((rc = smtpc_io_lines(c)) != 0)
			return rc > 0 ? 0 : -1;
		r = smtpc_raw_read(
		    c, c->in + c->inlen, sizeof(c->in) - c->inlen, &ev);
		if (r > 0) {
			c->inlen += (size_t)r;
			continue;
		}
		if (r == 0)
			return smtpc_fail(c, 0, "connection closed by server");
		if (r != SMTPC_WANT_MORE)
			return -1;
		if ((rc = smtpc_io_wait(c, ev, deadline)) == 0)
			return smtpc_fail(c, 0, "timeout waiting for reply");
		if (rc < 0)
			return smtpc_fail(c, 0, strerror(errno));
	}
}

void
smtpc_io_abort_on_close(struct smtpc *c, int on)
{
	struct linger l = { .l_onoff = on, .l_linger = 0 };

	/* Best effort: without it a killed worker may cause a duplicate. */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

/*
 * Whether msg[i] needs a fold before it, and the column after it (*col:
 * octets of the line so far, CR and LF not counted).  Lines end at CRLF;
 * the queue holds no bare CR or LF, but one still ends a line here, as
 * for dot-stuffing.  A fold is never put between the CR and LF of a
 * line end, so a line of exactly SMTPC_LINE_FOLD octets is not folded.
 */
static int
fold_step(const char *msg, size_t len, size_t i, size_t *col)
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

/*
 * The message read a piece at a time (SMTPC_DATA_CHUNK octets).  A CR
 * that ends a piece is held back and put in front of the next one: what
 * it is (a line end, or a bare CR) depends on the octet after it, so a
 * piece never ends between the CR and LF of a line end, and fold_step and
 * the dot-stuffing see exactly what they would see in the whole message.
 */
struct smtpc_piece {
	const struct queue_file *qf;
	size_t off; /* message octets read */
	int held; /* buf[0] is a CR held from the last piece */
	char buf[SMTPC_DATA_CHUNK + 1];
};

/* The next piece into p->buf[0..*n); *last: it ends the message. */
static int
smtpc_piece_next(struct smtpc_piece *p, size_t *n, int *last)
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

static struct smtpc_piece *
smtpc_piece_new(const struct queue_file *qf)
{
	struct smtpc_piece *p = malloc(sizeof(*p));

	if (p != NULL) {
		p->qf = qf;
		p->off = 0;
		p->held = 0;
	}
	return p;
}

/*
 * fold_step() for k octets that are no CR or LF, at once: the folds
 * among them, *col updated.  A fold comes before each octet met at
 * column SMTPC_LINE_FOLD; the space and that octet make column 2.
 */
static size_t
fold_run(size_t k, size_t *col)
{
	size_t folds = 0, m;

	for (; k > 0; k -= m) {
		if (*col >= SMTPC_LINE_FOLD) {
			folds++;
			*col = 1;
		}
		m = SMTPC_LINE_FOLD - *col < k ? SMTPC_LINE_FOLD - *col : k;
		*col += m;
	}
	return folds;
}

/* The folds of a piece, runs of plain octets (plain_len) taken whole. */
static size_t
fold_count(const char *p, size_t n, size_t *col)
{
	size_t i = 0, k, folds = 0;

	while (i < n) {
		if (p[i] != '\r' && p[i] != '\n' &&
		    (k = plain_len(p + i, n - i)) > 0) {
			folds += fold_run(k, col);
			i += k;
		} else
			folds += fold_step(p, n, i++, col);
	}
	return folds;
}

/* Whether p[0..n) holds an octet over 127: all or'ed, a word at a time. */
static int
has_8bit(const char *p, size_t n)
{
	uint64_t w, high = 0;
	size_t i;

	for (i = 0; n - i >= 8; i += 8) {
		memcpy(&w, p + i, 8);
		high |= w;
	}
	for (; i < n; i++)
		high |= (unsigned char)p[i];
	return (high & 0x8080808080808080ULL) != 0;
}

int
smtpc_io_data_scan(const struct queue_file *qf, size_t *size, int *eight)
{
	struct smtpc_piece *p = smtpc_piece_new(qf);
	size_t n, col = 0, folds = 0;
	int last = 0, rv = 0;

	*size = qf->size;
	*eight = 0;
	if (p == NULL)
		return -ENOMEM;
	while (!last && (rv = smtpc_piece_next(p, &n, &last)) == 0) {
		folds += fold_count(p->buf, n, &col);
		*eight = *eight || has_8bit(p->buf, n);
	}
	free(p);
	/* Each fold adds CRLF and a space. */
	*size =
	    folds > (SIZE_MAX - qf->size) / 3 ? SIZE_MAX : qf->size + folds * 3;
	return rv;
}

/* Where the dot-stuffing is: the column, and whether a line starts. */
struct smtpc_dot {
	size_t col;
	int bol;
};

/* A piece on its way to the write buffer: msg[start..) not written yet. */
struct smtpc_out {
	struct smtpc *c;
	const char *msg;
	size_t len, start;
	unsigned block;
};

/* What is pending up to msg[i], then s[0..n): a fold or a dot goes in. */
static int
smtpc_out_insert(struct smtpc_out *o, size_t i, const char *s, size_t n)
{
	if (smtpc_io_write(o->c, o->msg + o->start, i - o->start, o->block) ||
	    smtpc_io_write(o->c, s, n, o->block))
		return -1;
	o->start = i;
	return 0;
}

/*
 * msg[i..i+k), no CR or LF and not a line's first '.': nothing to stuff,
 * only the folds fold_run() counts, each written where it goes.
 */
static int
smtpc_out_run(struct smtpc_out *o, struct smtpc_dot *d, size_t i, size_t k)
{
	size_t m;

	d->bol = 0;
	for (; k > 0; k -= m, i += m) {
		if (d->col >= SMTPC_LINE_FOLD) {
			if (smtpc_out_insert(o, i, "\r\n ", 3) != 0)
				return -1;
			d->col = 1;
		}
		m = SMTPC_LINE_FOLD - d->col < k ? SMTPC_LINE_FOLD - d->col : k;
		d->col += m;
	}
	return 0;
}

/* msg[i], octet by octet: a fold, a stuffing dot, where a line starts. */
static int
smtpc_out_octet(struct smtpc_out *o, struct smtpc_dot *d, size_t i)
{
	const char *msg = o->msg;

	if (fold_step(msg, o->len, i, &d->col) &&
	    smtpc_out_insert(o, i, "\r\n ", 3) != 0)
		return -1;
	if (d->bol && msg[i] == '.' && smtpc_out_insert(o, i, ".", 1) != 0)
		return -1;
	d->bol = msg[i] == '\n' ||
	    (msg[i] == '\r' && (i + 1 == o->len || msg[i + 1] != '\n'));
	return 0;
}

/*
 * msg[0..len), a piece: stuffed, folded, into the write buffer.  Runs of
 * plain octets (plain_len) are taken whole and written with what is
 * pending; line ends, NULs and a line's first '.' octet by octet.
 */
static int
smtpc_io_piece(struct smtpc *c, struct smtpc_dot *d, const char *msg,
    size_t len, unsigned block)
{
	struct smtpc_out o = { c, msg, len, 0, block };
	size_t i = 0, k;

	while (i < len) {
		if (msg[i] != '\r' && msg[i] != '\n' &&
		    !(d->bol && msg[i] == '.') &&
		    (k = plain_len(msg + i, len - i)) > 0) {
			if (smtpc_out_run(&o, d, i, k) != 0)
				return -1;
			i += k;
		} else if (smtpc_out_octet(&o, d, i++) != 0)
			return -1;
	}
	return smtpc_io_write(c, msg + o.start, len - o.start, block);
}

/*
 * A '.' starting a line gets another one (RFC 5321 4.5.2).  A line starts
 * after any LF and after a bare CR too, so a receiver that splits lines
 * differently than we do still cannot see an early end of data.  A line
 * over SMTPC_LINE_FOLD octets gets CRLF and a space inserted: RFC 5321
 * 4.5.3.1.6 lets a server refuse it, and we accept such lines (see
 * relayd.conf(5), max_line_length); the continuation starts with a space,
 * so it is never a dot line and, in a header, it continues the field.
 * The last piece holds the message's last two octets (a CR is never
 * held at the end), which say whether a CRLF must be added.
 */
int
smtpc_io_data(struct smtpc *c, const struct queue_file *qf, unsigned block,
    unsigned timeout)
{
	struct smtpc_piece *p = smtpc_piece_new(qf);
	struct smtpc_dot d = { 0, 1 };
	size_t n = 0;
	int last = 0, rv = 0;

	if (p == NULL)
		return smtpc_io_unread(c, -ENOMEM);
	while (!last && rv == 0) {
		if ((rv = smtpc_piece_next(p, &n, &last)) != 0)
			rv = smtpc_io_unread(c, rv);
		else if (smtpc_io_piece(c, &d, p->buf, n, block) != 0)
			rv = -1;
	}
	if (rv == 0 && n > 0 &&
	    (n < 2 || p->buf[n - 2] != '\r' || p->buf[n - 1] != '\n') &&
	    smtpc_io_write(c, "\r\n", 2, block) != 0)
		rv = -1;
	free(p);
	if (rv != 0 || smtpc_io_write(c, ".\r\n", 3, block) != 0)
		return rv != 0 ? rv : -1;
	return smtpc_io_flush(c, timeout);
}

void
smtpc_status_reply(const struct smtpc *c, struct smtpc_status *st)
{
	int cls = c->reply.code / 100;

	st->code = c->reply.code;
	if (c->reply.status[0] != '\0')
		(void)strlcpy(st->status, c->reply.status, sizeof(st->status));
	else
		(void)snprintf(st->status, sizeof(st->status), "%d.0.0", cls);
	smtpc_reply_format(&c->reply, st->text, sizeof(st->text));
	st->temporary = cls != 2 && cls != 5;
}

void
smtpc_status_set(struct smtpc_status *st, int code, const char *status,
    int temporary, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	(void)strlcpy(st->status, status, sizeof(st->status));
	st->temporary = temporary;
	va_start(ap, fmt);
	(void)vsnprintf(st->text, sizeof(st->text), fmt, ap); /* cut is ok */
	va_end(ap);
}

void
smtpc_status_lost(
    const struct smtpc *c, const char *after, struct smtpc_status *st)
{
	smtpc_status_set(st, 0, "4.4.2", 1, "%s with %s %s: %s",
	    c->proto ? "protocol error" : "lost connection", c->peer, after,
	    c->why[0] != '\0' ? c->why : "connection unusable");
}
