/*
 * The server's side of the SASL exchanges of SMTP AUTH (RFC 4954): base64
 * (RFC 4648, no line breaks, padding required) and the PLAIN message
 * (RFC 4616).  Input is the untrusted client's; nothing here allocates.
 */
#ifndef RELAY_SASL_H
#define RELAY_SASL_H

#include <stddef.h>

#define SASL_NAME_MAX 255 /* authcid and authzid, octets */
#define SASL_PASS_MAX 255 /* password, octets */

/*
 * Decode base64 in[0..inlen) into out[0..cap).  Only the canonical form is
 * taken: a length that is a multiple of 4, '=' only as one or two final
 * pads, pad bits zero, no blanks or line breaks.  Returns the decoded
 * length, or -EINVAL (not base64) or -E2BIG (more than cap octets).  out is
 * not NUL-terminated.
 */
long sasl_b64_decode(
    const char *in, size_t inlen, unsigned char *out, size_t cap);

/*
 * Encode in[0..inlen) into out[0..cap) as NUL-terminated base64 (the 334
 * prompts).  0, or -E2BIG if it does not fit.
 */
int sasl_b64_encode(const void *in, size_t inlen, char *out, size_t cap);

struct sasl_plain {
	char authzid[SASL_NAME_MAX + 1]; /* "" when not given */
	char authcid[SASL_NAME_MAX + 1]; /* the login name */
	char passwd[SASL_PASS_MAX + 1];
};

/*
 * Split a decoded PLAIN message "[authzid] NUL authcid NUL passwd": exactly
 * two NULs, a non-empty authcid and password, no field over its cap.
 * 0 or -EINVAL (p is zeroed either way first).
 */
int sasl_plain_parse(
    const unsigned char *msg, size_t len, struct sasl_plain *p);

#endif /* RELAY_SASL_H */
