/*
 * Milter protocol packets: building what the MTA sends and decoding what
 * a filter answers (milter_proto.h).  Trust boundary: reply payloads are
 * untrusted; the decoder reads nothing outside buf[0..len) and accepts
 * only the exact form of each reply.
 */
#include <errno.h>
#include <string.h>

#include "milter_proto.h"

void
milter_pkt_start(struct milter_pkt *p, char cmd)
{
	p->err = 0;
	p->len = 4;
	p->buf[p->len++] = (unsigned char)cmd;
}

void
milter_pkt_add(struct milter_pkt *p, const void *data, size_t len)
{
	if (p->err != 0)
		return;
	if (len > sizeof(p->buf) - p->len) {
		p->err = -E2BIG;
		return;
	}
	memcpy(p->buf + p->len, data, len);
	p->len += len;
}

void
milter_pkt_str(struct milter_pkt *p, const char *s)
{
	milter_pkt_add(p, s, strlen(s) + 1);
}

void
milter_pkt_u32(struct milter_pkt *p, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24),
		(unsigned char)(v >> 16), (unsigned char)(v >> 8),
		(unsigned char)v };

	milter_pkt_add(p, b, sizeof(b));
}

void
milter_pkt_u16(struct milter_pkt *p, uint16_t v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	milter_pkt_add(p, b, sizeof(b));
}

int
milter_pkt_finish(struct milter_pkt *p)
{
	uint32_t n = (uint32_t)(p->len - 4);

	if (p->err != 0)
		return p->err;
	p->buf[0] = (unsigned char)(n >> 24);
	p->buf[1] = (unsigned char)(n >> 16);
	p->buf[2] = (unsigned char)(n >> 8);
	p->buf[3] = (unsigned char)n;
	return 0;
}

static uint32_t
get_u32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

int
milter_frame_len(const unsigned char hdr[4], size_t *len)
{
	uint32_t n = get_u32(hdr);

	if (n == 0 || n > MILTER_PKT_MAX)
		return -EMSGSIZE;
	*len = n;
	return 0;
}

/*
 * The next NUL-terminated string at *off in d[0..len); NULL if it runs
 * past the end.
 */
static const char *
take_str(const unsigned char *d, size_t len, size_t *off)
{
	const unsigned char *nul;
	const char *s;

	if (*off >= len || (nul = memchr(d + *off, '\0', len - *off)) == NULL)
		return NULL;
	s = (const char *)d + *off;
	*off = (size_t)(nul - d) + 1;
	return s;
}

/*
 * An SMTP reply a filter wants given: "4xx"/"5xx", then a space or a dash,
 * printable ASCII, lines joined by CRLF each starting with the same code.
 */
static int
reply_code_valid(const char *s, int *code)
{
	const char *p = s;

	if (s[0] != '4' && s[0] != '5')
		return 0;
	for (;;) {
		if (strncmp(p, s, 3) != 0 || p[1] < '0' || p[1] > '9' ||
		    p[2] < '0' || p[2] > '9' ||
		    (p[3] != ' ' && p[3] != '-' && p[3] != '\0'))
			return 0;
		for (p += 3; *p >= ' ' && *p <= '~'; p++)
			;
		if (*p == '\0')
			break;
		if (p[0] != '\r' || p[1] != '\n')
			return 0;
		p += 2;
	}
	*code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return 1;
}

/* The strings of a reply: want of them, then nothing may follow. */
static int
take_strings(const unsigned char *d, size_t len, size_t off, int want,
    int optional, struct milter_reply *r)
{
	if ((r->s1 = take_str(d, len, &off)) == NULL)
		return -EPROTO;
	if (want == 2 && (r->s2 = take_str(d, len, &off)) == NULL && !optional)
		return -EPROTO;
	/* CHGFROM and ADDRCPT_PAR: ESMTP arguments may come as one more. */
	return off == len ? 0 : -EPROTO;
}

static int
decode_data(
    char cmd, const unsigned char *d, size_t len, struct milter_reply *r)
{
	switch (cmd) {
	case MILTER_R_OPTNEG:
		/* Symbol lists (SETSYMLIST) may follow; we send ours. */
		if (len < 12)
			return -EPROTO;
		r->version = get_u32(d);
		r->actions = get_u32(d + 4);
		r->protocol = get_u32(d + 8);
		return 0;
	case MILTER_R_REPLBODY:
		r->data = d;
		r->len = len;
		return 0;
	case MILTER_R_INSHEADER:
	case MILTER_R_CHGHEADER:
		if (len < 4)
			return -EPROTO;
		r->index = get_u32(d);
		return take_strings(d, len, 4, 2, 0, r);
	case MILTER_R_ADDHEADER:
		return take_strings(d, len, 0, 2, 0, r);
	case MILTER_R_ADDRCPT:
	case MILTER_R_DELRCPT:
	case MILTER_R_QUARANTINE:
		return take_strings(d, len, 0, 1, 0, r);
	case MILTER_R_ADDRCPT_PAR:
	case MILTER_R_CHGFROM:
		return take_strings(d, len, 0, 2, 1, r);
	case MILTER_R_REPLYCODE:
		if (take_strings(d, len, 0, 1, 0, r) != 0 ||
		    !reply_code_valid(r->s1, &r->code))
			return -EPROTO;
		return 0;
	case MILTER_R_ACCEPT:
	case MILTER_R_CONTINUE:
	case MILTER_R_DISCARD:
	case MILTER_R_REJECT:
	case MILTER_R_TEMPFAIL:
	case MILTER_R_PROGRESS:
	case MILTER_R_SKIP:
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		return len == 0 ? 0 : -EPROTO;
	default:
		return -EPROTO;
	}
}

int
milter_reply_decode(
    const unsigned char *buf, size_t len, struct milter_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (len == 0 || len > MILTER_PKT_MAX)
		return -EPROTO;
	r->cmd = (char)buf[0];
	return decode_data(r->cmd, buf + 1, len - 1, r);
}
