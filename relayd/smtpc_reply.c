/*
 * Strict SMTP reply parser (smtpc_reply.h).  Input is whatever the next
 * hop sent us: bounded copies only, every limit checked before a byte is
 * stored, any deviation from RFC 5321 4.2 is a protocol error.
 */
#include <errno.h>
#include <string.h>

#include "smtpc_reply.h"

void
smtpc_reply_init(struct smtpc_reply *r)
{
	r->code = 0;
	r->status[0] = '\0';
	r->nline = 0;
	r->total = 0;
	r->used = 0;
	r->done = 0;
}

static int
smtpc_reply_code(const char *s)
{
	if (s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    s[2] < '0' || s[2] > '9')
		return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/* Length of an RFC 3463 "C.SSS.DDD" at s whose class matches code, or 0. */
static size_t
smtpc_reply_enhanced(const char *s, size_t len, int code)
{
	size_t i = 2, n, part;

	if (len < 5 || s[0] != '0' + code / 100 || s[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		for (n = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			n++;
		if (n == 0 || n > 3)
			return 0;
		if (part == 0 && (i >= len || s[i++] != '.'))
			return 0;
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

int
smtpc_reply_line(
    struct smtpc_reply *r, const char *line, size_t len, const char **why)
{
	size_t i, tlen, st;
	int code;

	*why = NULL;
	if (r->done) {
		*why = "reply already complete";
		return -EPROTO;
	}
	if (len > SMTPC_REPLY_LINE_MAX) {
		*why = "reply line too long";
		return -EPROTO;
	}
	if (r->nline >= SMTPC_REPLY_LINES_MAX) {
		*why = "too many reply lines";
		return -EPROTO;
	}
	if (r->total + len + 2 > SMTPC_REPLY_MAX) {
		*why = "reply too long";
		return -EPROTO;
	}
	if (len < 3 || (code = smtpc_reply_code(line)) < 0 ||
	    (len > 3 && line[3] != ' ' && line[3] != '-')) {
		*why = "bad reply code";
		return -EPROTO;
	}
	if (r->nline > 0 && code != r->code) {
		*why = "mixed reply codes";
		return -EPROTO;
	}
	for (i = 3; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
			*why = "control character in reply";
			return -EPROTO;
		}
	}
	tlen = len > 4 ? len - 4 : 0;
	/* total + len + 2 <= SMTPC_REPLY_MAX and used <= total: fits. */
	r->off[r->nline] = r->used;
	memcpy(r->buf + r->used, line + 4, tlen);
	r->buf[r->used + tlen] = '\0';
	r->used += tlen + 1;
	r->total += len + 2;
	if (r->nline++ == 0) {
		r->code = code;
		st = smtpc_reply_enhanced(line + 4, tlen, code);
		if (st > 0 && st < sizeof(r->status)) {
			memcpy(r->status, line + 4, st);
			r->status[st] = '\0';
		}
	}
	if (len == 3 || line[3] == ' ') {
		r->done = 1;
		return SMTPC_REPLY_DONE;
	}
	return SMTPC_REPLY_MORE;
}

int
smtpc_reply_parse(const char *buf, size_t len, struct smtpc_reply *r,
    size_t *used, const char **why)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t n;
	int rc;

	*why = NULL;
	smtpc_reply_init(r);
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			/* A partial line already over the cap is an error. */
			if ((size_t)(end - p) > SMTPC_REPLY_LINE_MAX + 1) {
				*why = "reply line too long";
				return -EPROTO;
			}
			return SMTPC_REPLY_MORE;
		}
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if ((rc = smtpc_reply_line(r, p, n, why)) < 0)
			return rc;
		p = nl + 1;
		if (rc == SMTPC_REPLY_DONE) {
			*used = (size_t)(p - buf);
			return SMTPC_REPLY_DONE;
		}
	}
	return SMTPC_REPLY_MORE;
}

const char *
smtpc_reply_text(const struct smtpc_reply *r, size_t i)
{
	if (i >= r->nline)
		return "";
	return r->buf + r->off[i];
}

/* Append s (sanitised) to out[*o..len-1); returns 0 once out is full. */
static int
smtpc_reply_put(char *out, size_t len, size_t *o, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*o + 1 >= len)
			return 0;
		out[(*o)++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	}
	return 1;
}

void
smtpc_reply_format(const struct smtpc_reply *r, char *out, size_t len)
{
	char code[8];
	const char *t;
	size_t o = 0, i, sl = strlen(r->status);

	if (len == 0)
		return;
	code[0] = (char)('0' + (r->code / 100) % 10);
	code[1] = (char)('0' + (r->code / 10) % 10);
	code[2] = (char)('0' + r->code % 10);
	code[3] = '\0';
	(void)smtpc_reply_put(out, len, &o, code);
	for (i = 0; i < r->nline; i++) {
		t = smtpc_reply_text(r, i);
		if (i > 0 && sl > 0 && strncmp(t, r->status, sl) == 0 &&
		    (t[sl] == ' ' || t[sl] == '\0'))
			t += sl + (t[sl] == ' ');
		if (*t == '\0')
			continue;
		if (!smtpc_reply_put(out, len, &o, " ") ||
		    !smtpc_reply_put(out, len, &o, t))
			break;
	}
	out[o] = '\0';
}
