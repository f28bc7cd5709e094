/*
 * SASL for SMTP AUTH (sasl.h): a strict base64 codec and the PLAIN message
 * split.  Trust boundary: every octet comes from an unauthenticated client,
 * so lengths are checked before each write and nothing is taken that
 * another decoder would read differently (no blanks, no stray padding).
 */
#include <errno.h>
#include <string.h>

#include "sasl.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c, or -1. */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* One quad into out (1 to 3 octets); the count, or -EINVAL. */
static int
b64_quad(const unsigned char *q, int last, unsigned char *out)
{
	int v[4], i, pad = 0;
	unsigned long n = 0;

	for (i = 0; i < 4; i++) {
		if (q[i] == '=' && last && i >= 2) {
			v[i] = 0;
			pad++;
		} else if (pad > 0 || (v[i] = b64_value(q[i])) < 0) {
			return -EINVAL;
		}
		n = (n << 6) | (unsigned long)v[i];
	}
	if ((pad == 1 && (n & 0xff)) || (pad == 2 && (n & 0xffff)))
		return -EINVAL; /* non-zero pad bits: not canonical */
	out[0] = (unsigned char)(n >> 16);
	out[1] = (unsigned char)(n >> 8);
	out[2] = (unsigned char)n;
	return 3 - pad;
}

long
sasl_b64_decode(const char *in, size_t inlen, unsigned char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)in;
	unsigned char tmp[3];
	size_t i, o = 0;
	int n;

	if (inlen % 4 != 0)
		return -EINVAL;
	for (i = 0; i < inlen; i += 4) {
		if ((n = b64_quad(p + i, i + 4 == inlen, tmp)) < 0)
			return n;
		if ((size_t)n > cap - o)
			return -E2BIG;
		memcpy(out + o, tmp, (size_t)n);
		o += (size_t)n;
	}
	return (long)o;
}

int
sasl_b64_encode(const void *in, size_t inlen, char *out, size_t cap)
{
	const unsigned char *p = in;
	unsigned long n;
	size_t i, o = 0;

	if (cap == 0 || (inlen + 2) / 3 > (cap - 1) / 4)
		return -E2BIG;
	for (i = 0; i < inlen; i += 3) {
		n = (unsigned long)p[i] << 16;
		if (i + 1 < inlen)
			n |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < inlen)
			n |= p[i + 2];
		out[o++] = b64[(n >> 18) & 63];
		out[o++] = b64[(n >> 12) & 63];
		out[o++] = i + 1 < inlen ? b64[(n >> 6) & 63] : '=';
		out[o++] = i + 2 < inlen ? b64[n & 63] : '=';
	}
	out[o] = '\0';
	return 0;
}

/* Copy field f[0..len) into dst[cap] NUL-terminated; -EINVAL if too long. */
static int
field_copy(char *dst, size_t cap, const unsigned char *f, size_t len)
{
	if (len >= cap)
		return -EINVAL;
	memcpy(dst, f, len);
	dst[len] = '\0';
	return 0;
}

int
sasl_plain_parse(const unsigned char *msg, size_t len, struct sasl_plain *p)
{
	const unsigned char *n1, *n2, *end = msg + len;

	memset(p, 0, sizeof(*p));
	if (len == 0 || (n1 = memchr(msg, '\0', len)) == NULL ||
	    (n2 = memchr(n1 + 1, '\0', (size_t)(end - n1 - 1))) == NULL ||
	    memchr(n2 + 1, '\0', (size_t)(end - n2 - 1)) != NULL)
		return -EINVAL;
	if (n2 == n1 + 1 || n2 + 1 == end)
		return -EINVAL; /* empty login name or password */
	if (field_copy(
		p->authzid, sizeof(p->authzid), msg, (size_t)(n1 - msg)) < 0 ||
	    field_copy(p->authcid, sizeof(p->authcid), n1 + 1,
		(size_t)(n2 - n1 - 1)) < 0 ||
	    field_copy(p->passwd, sizeof(p->passwd), n2 + 1,
		(size_t)(end - n2 - 1)) < 0) {
		explicit_bzero(p, sizeof(*p));
		return -EINVAL;
	}
	return 0;
}
