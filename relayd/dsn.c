/*
 * RFC 3464 bounces.  Input: a queue file (written by the relay user, read
 * back strictly; the message is read from the file, and only the part
 * that is quoted) and error texts that came from remote servers and were
 * sanitised to printable ASCII by queue_error_set().  The original
 * message is quoted inside a MIME part whose boundary is checked not to
 * occur in it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsn.h"
#include "smtp_addr.h"

struct dbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void db_printf(struct dbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
db_grow(struct dbuf *b, size_t need)
{
	char *np;
	size_t cap;

	if (b->err || b->cap - b->len > need)
		return;
	cap = b->cap + need + 4096;
	if (cap < b->cap || (np = realloc(b->p, cap)) == NULL) {
		b->err = -ENOMEM;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void
db_put(struct dbuf *b, const char *s, size_t n)
{
	db_grow(b, n);
	if (b->err)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
db_printf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->err = -EINVAL;
		return;
	}
	db_grow(b, (size_t)n + 1);
	if (b->err)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int
dsn_wanted(const struct queue_file *qf, const struct queue_rcpt *r)
{
	if (strcmp(qf->sender, "<>") == 0)
		return 0;
	return r->notify == 0 || (r->notify & SMTP_NOTIFY_FAILURE) != 0;
}

/* RFC 5322 date-time in UTC. */
static void
rfc5322_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		(void)strlcpy(buf, "Thu, 01 Jan 1970 00:00:00 +0000", len);
}

/* "<a@b>" -> "a@b" as a header value (the path parser vetted it). */
static void
put_mailbox(struct dbuf *b, const char *path)
{
	size_t n = strlen(path);

	if (n >= 2 && path[0] == '<' && path[n - 1] == '>')
		db_put(b, path + 1, n - 2);
	else
		db_put(b, path, n);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* xtext (RFC 3461 4) decoded; octets that are not printable become '?'. */
static void
put_xtext(struct dbuf *b, const char *s)
{
	int v;
	char c;

	for (; *s != '\0'; s++) {
		c = *s;
		if (c == '+' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
			v = hexval(s[1]) * 16 + hexval(s[2]);
			c = v >= 0x20 && v < 0x7f ? (char)v : '?';
			s += 2;
		}
		db_put(b, &c, 1);
	}
}

static int
path_utf8(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* The header block of msg (up to and including the empty line's CRLF). */
static size_t
header_len(const char *msg, size_t size)
{
	size_t i;

	if (size >= 2 && msg[0] == '\r' && msg[1] == '\n')
		return 0;
	for (i = 0; i + 3 < size; i++)
		if (memcmp(msg + i, "\r\n\r\n", 4) == 0)
			return i + 2;
	return size;
}

static void
put_text_part(struct dbuf *b, const struct queue_file *qf, const size_t *idx,
    size_t n, const char *hostname)
{
	size_t i;

	db_printf(b,
	    "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=%s\r\n\r\n"
	    "This is the mail system at host %s.\r\n\r\n"
	    "I'm sorry to have to inform you that your message could not\r\n"
	    "be delivered to one or more recipients. It's attached below.\r\n"
	    "\r\n",
	    qf->flags & QUEUE_F_SMTPUTF8 ? "utf-8" : "us-ascii", hostname);
	for (i = 0; i < n; i++) {
		const struct queue_rcpt *r = &qf->rcpt[idx[i]];
		const char *sp = strchr(r->error, ' ');

		db_printf(b, "%s: %s\r\n", r->path,
		    sp != NULL ? sp + 1 : "delivery failed");
	}
}

static void
put_rcpt_fields(struct dbuf *b, const struct queue_rcpt *r, int64_t now)
{
	const char *sp = strchr(r->error, ' ');
	const char *text = sp != NULL ? sp + 1 : "delivery failed";
	char date[64];
	int smtp;

	rfc5322_date(now, date, sizeof(date));
	db_printf(b, "\r\nFinal-Recipient: %s; ",
	    path_utf8(r->path) ? "utf-8" : "rfc822");
	put_mailbox(b, r->path);
	if (r->orcpt[0] != '\0') {
		db_printf(b, "\r\nOriginal-Recipient: ");
		put_xtext(b, r->orcpt);
	}
	db_printf(b, "\r\nAction: failed\r\nStatus: ");
	if (sp != NULL)
		db_put(b, r->error, (size_t)(sp - r->error));
	else
		db_printf(b, "5.0.0");
	smtp = text[0] >= '2' && text[0] <= '5' && text[1] >= '0' &&
	    text[1] <= '9' && text[2] >= '0' && text[2] <= '9' &&
	    (text[3] == ' ' || text[3] == '\0');
	db_printf(b, "\r\nDiagnostic-Code: %s; %s\r\nLast-Attempt-Date: %s\r\n",
	    smtp ? "smtp" : "X-Relayd", text, date);
}

static void
put_status_part(struct dbuf *b, const struct queue_file *qf, const size_t *idx,
    size_t n, const char *hostname, int64_t now)
{
	char date[64];
	size_t i;

	rfc5322_date(qf->arrival, date, sizeof(date));
	db_printf(b,
	    "Content-Description: Delivery report\r\n"
	    "Content-Type: message/%sdelivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\n"
	    "X-Relayd-Queue-ID: %s\r\n",
	    qf->flags & QUEUE_F_SMTPUTF8 ? "global-" : "", hostname, qf->id);
	if (qf->envid[0] != '\0') {
		db_printf(b, "Original-Envelope-Id: ");
		put_xtext(b, qf->envid);
		db_printf(b, "\r\n");
	}
	db_printf(b, "Arrival-Date: %s\r\n", date);
	for (i = 0; i < n; i++)
		put_rcpt_fields(b, &qf->rcpt[idx[i]], now);
}

/* n octets of qf's message from off, read into the end of b. */
static void
put_msg(struct dbuf *b, const struct queue_file *qf, size_t off, size_t n)
{
	size_t got;
	int rv;

	db_grow(b, n);
	if (b->err)
		return;
	if ((rv = queue_msg_read(qf, off, b->p + b->len, n, &got)) != 0)
		b->err = rv;
	else
		b->len += got;
}

/*
 * The header section: up to the first empty line, at most DSN_HDRS_MAX
 * octets, cut after the last line end within them (a message with no
 * empty line and no bigger than that is quoted whole, as it is).
 */
static void
put_headers(struct dbuf *b, const struct queue_file *qf)
{
	size_t max = qf->size < DSN_HDRS_MAX ? qf->size : DSN_HDRS_MAX, n;
	const char *h, *nl;

	put_msg(b, qf, 0, max);
	if (b->err)
		return;
	h = b->p + b->len - max;
	n = header_len(h, max);
	if (n == max && max < qf->size) {
		nl = memrchr(h, '\n', max);
		n = nl != NULL ? (size_t)(nl - h) + 1 : 0;
	}
	b->len -= max - n;
}

/* The original, quoted; *qoff and *qlen: where it is in b. */
static void
put_original(
    struct dbuf *b, const struct queue_file *qf, size_t *qoff, size_t *qlen)
{
	/* A client outside relay_from may have forged the sender. */
	int full = (qf->flags & QUEUE_F_RET_FULL) &&
	    (qf->flags & QUEUE_F_TRUSTED) && qf->size <= DSN_FULL_MAX;
	int utf8 = (qf->flags & QUEUE_F_SMTPUTF8) != 0;

	/* RFC 6522 3: text/rfc822-headers; RFC 6533 6.4: global-headers */
	db_printf(b,
	    "Content-Description: Undelivered Message%s\r\n"
	    "Content-Type: %s\r\n\r\n",
	    full ? "" : " Headers",
	    full ? (utf8 ? "message/global" : "message/rfc822")
		 : (utf8 ? "message/global-headers" : "text/rfc822-headers"));
	*qoff = b->len;
	if (full)
		put_msg(b, qf, 0, qf->size);
	else
		put_headers(b, qf);
	*qlen = b->err ? 0 : b->len - *qoff;
	if (*qlen > 0 && b->p[b->len - 1] != '\n')
		db_printf(b, "\r\n");
}

/*
 * The bounce into b, with a boundary made of the queue id (at most
 * QUEUE_ID_MAX) and 64 random bits: at most 49 characters, within RFC
 * 2046's 70 whatever the host name.  It must occur nowhere in the quoted
 * original: 0, or 1 to try again with another.
 */
static int
put_message(struct dbuf *b, const struct queue_file *qf, const size_t *idx,
    size_t n, const char *id, const char *hostname, int64_t now)
{
	char date[64], bnd[400];
	size_t qoff, qlen;

	rfc5322_date(now, date, sizeof(date));
	(void)snprintf(bnd, sizeof(bnd), "%s/%08" PRIx32 "%08" PRIx32, id,
	    arc4random(), arc4random());
	db_printf(b,
	    "Date: %s\r\nFrom: MAILER-DAEMON@%s "
	    "(Mail Delivery System)\r\nTo: ",
	    date, hostname);
	put_mailbox(b, qf->sender);
	db_printf(b,
	    "\r\nSubject: Undelivered Mail Returned to Sender\r\n"
	    "Message-ID: <%s@%s>\r\n"
	    "Auto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n--%s\r\n",
	    id, hostname, bnd, bnd);
	put_text_part(b, qf, idx, n, hostname);
	db_printf(b, "\r\n--%s\r\n", bnd);
	put_status_part(b, qf, idx, n, hostname, now);
	db_printf(b, "\r\n--%s\r\n", bnd);
	put_original(b, qf, &qoff, &qlen);
	db_printf(b, "\r\n--%s--\r\n", bnd);
	return !b->err && memmem(b->p + qoff, qlen, bnd, strlen(bnd)) != NULL;
}

/* The DSN's envelope: from <>, to the original sender. */
static struct queue_file *
dsn_envelope(const struct queue_file *qf, const char *hostname, int64_t now)
{
	struct queue_file *d;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->rcpt = calloc(1, sizeof(*d->rcpt))) == NULL) {
		free(d);
		return NULL;
	}
	queue_id_new(d->id);
	d->arrival = now;
	(void)strlcpy(d->client, "unknown", sizeof(d->client));
	if (strlcpy(d->helo, hostname, sizeof(d->helo)) >= sizeof(d->helo))
		d->helo[0] = '\0'; /* queue_envelope() refuses it later */
	(void)strlcpy(d->sender, "<>", sizeof(d->sender));
	(void)strlcpy(d->rcpt[0].path, qf->sender, sizeof(d->rcpt[0].path));
	d->nrcpt = 1;
	if (qf->flags & QUEUE_F_SMTPUTF8)
		d->flags |= QUEUE_F_SMTPUTF8;
	return d;
}

int
dsn_build(const struct queue_file *qf, const size_t *idx, size_t n,
    const char *hostname, int64_t now, struct queue_file **out)
{
	struct dbuf b = { NULL, 0, 0, 0 };
	struct queue_file *d = NULL;
	size_t *want = NULL, nwant = 0, i;
	int rv = 0;

	*out = NULL;
	if (n == 0 || strcmp(qf->sender, "<>") == 0)
		return 0;
	if ((want = calloc(n, sizeof(*want))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (idx[i] >= qf->nrcpt)
			rv = -EINVAL;
		else if (dsn_wanted(qf, &qf->rcpt[idx[i]]))
			want[nwant++] = idx[i];
	}
	if (rv != 0 || nwant == 0)
		goto out;
	rv = -ENOMEM;
	if ((d = dsn_envelope(qf, hostname, now)) == NULL)
		goto out;
	while (put_message(&b, qf, want, nwant, d->id, hostname, now))
		b.len = 0;
	if ((rv = b.err) != 0)
		goto out;
	d->msg = b.p;
	d->size = b.len;
	b.p = NULL;
	if (smtp_addr_8bit(d->msg, d->size))
		d->flags |= QUEUE_F_8BITMIME;
	*out = d;
	d = NULL;
out:
	queue_free(d);
	free(b.p);
	free(want);
	return rv;
}
