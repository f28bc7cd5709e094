/*
 * The message as milters see it and change it: the header section read
 * from the queue body and split into fields, one field as a HEADER packet,
 * and a milter's changes applied (header fields, body, recipients,
 * sender, quarantine) by writing a new unnamed body in SPOOL/tmp.
 * Trust boundary: names, values and addresses from a filter are checked
 * before they reach the message or the envelope (a queue file must stay
 * well formed); a bad one fails the milter.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "milter_int.h"

static int
field_add(struct milter_msg *m, size_t start, size_t len)
{
	char **f;
	size_t *l;

	if ((f = reallocarray(m->field, m->nfield + 1, sizeof(*f))) == NULL)
		return -ENOMEM;
	m->field = f;
	if ((l = reallocarray(m->flen, m->nfield + 1, sizeof(*l))) == NULL)
		return -ENOMEM;
	m->flen = l;
	m->field[m->nfield] = m->hdr + start;
	m->flen[m->nfield++] = len;
	return 0;
}

/* Does the line at p (len octets, no CRLF) start a field? */
static int
field_start(const char *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && p[i] > ' ' && p[i] <= '~' && p[i] != ':'; i++)
		;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i > 0 && i < len && p[i] == ':';
}

/* Split m->hdr[0..n) into fields; total: the whole message's size. */
static int
split(struct milter_msg *m, size_t n, size_t total)
{
	size_t pos = 0, eol, next;
	char *crlf;
	int rv;

	for (; pos < n; pos = next) {
		crlf = memmem(m->hdr + pos, n - pos, "\r\n", 2);
		if (crlf == NULL && n < total)
			return -EFBIG; /* a header section over our cap */
		eol = crlf != NULL ? (size_t)(crlf - m->hdr) : n;
		next = crlf != NULL ? eol + 2 : n;
		if (eol == pos) {
			m->seplen = 2;
			break;
		}
		if ((m->hdr[pos] == ' ' || m->hdr[pos] == '\t') &&
		    m->nfield > 0)
			m->flen[m->nfield - 1] += next - pos;
		else if (field_start(m->hdr + pos, eol - pos)) {
			if ((rv = field_add(m, pos, next - pos)) != 0)
				return rv;
		} else
			break; /* not a field: the body starts here */
	}
	if (pos >= n && n < total)
		return -EFBIG;
	m->hdrlen = pos;
	m->bodyoff = pos + m->seplen;
	return 0;
}

int
milter_msg_read(struct queue_body *qb, struct milter_msg *m)
{
	size_t total = queue_body_size(qb), want, got;
	int rv;

	memset(m, 0, sizeof(*m));
	want = total < MILTER_HDR_MAX ? total : MILTER_HDR_MAX;
	if ((m->hdr = malloc(want + 1)) == NULL)
		return -ENOMEM;
	if ((rv = queue_body_pread(qb, m->hdr, want, 0, &got)) != 0)
		return rv;
	if (got != want)
		return -EIO;
	m->hdr[want] = '\0';
	return split(m, want, total);
}

void
milter_msg_free(struct milter_msg *m)
{
	free(m->hdr);
	free(m->field);
	free(m->flen);
	memset(m, 0, sizeof(*m));
}

int
milter_msg_header(
    const struct milter_msg *m, size_t i, int leadspc, struct milter_pkt *pkt)
{
	const char *f = m->field[i], *colon, *v, *end = f + m->flen[i];
	size_t nlen;

	colon = memchr(f, ':', m->flen[i]);
	for (nlen = (size_t)(colon - f);
	     nlen > 0 && (f[nlen - 1] == ' ' || f[nlen - 1] == '\t'); nlen--)
		;
	if (end - f >= 2 && end[-2] == '\r' && end[-1] == '\n')
		end -= 2;
	v = colon + 1;
	/* Without HDR_LEADSPC the MTA strips one space, never a tab. */
	if (!leadspc && v < end && *v == ' ')
		v++;
	milter_pkt_start(pkt, MILTER_C_HEADER);
	milter_pkt_add(pkt, f, nlen);
	milter_pkt_add(pkt, "", 1);
	/* Folded lines go with LF alone, as sendmail and Postfix send them. */
	for (; v < end; v++)
		if (!(v[0] == '\r' && v + 1 < end && v[1] == '\n'))
			milter_pkt_add(pkt, v, 1);
	milter_pkt_add(pkt, "", 1);
	return pkt->err;
}
