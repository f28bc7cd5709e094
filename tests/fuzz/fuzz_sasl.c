/*
 * libFuzzer target for the SMTP AUTH decoder: arbitrary bytes through the
 * strict base64 decoder (what decodes must encode back to the same text:
 * one canonical form) and, decoded or raw, through the SASL PLAIN split
 * (fields NUL-terminated and within their caps).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
plain_check(const unsigned char *msg, size_t len)
{
	struct sasl_plain p;

	if (sasl_plain_parse(msg, len, &p) != 0) {
		if (p.authcid[0] != '\0' || p.passwd[0] != '\0')
			abort();
		return;
	}
	if (p.authcid[0] == '\0' || p.passwd[0] == '\0' ||
	    strlen(p.authzid) + strlen(p.authcid) + strlen(p.passwd) + 2 != len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char out[1024];
	char enc[1500];
	long n;

	n = sasl_b64_decode((const char *)data, size, out, sizeof(out));
	if (n >= 0) {
		if (sasl_b64_encode(out, (size_t)n, enc, sizeof(enc)) != 0 ||
		    strlen(enc) != size || memcmp(enc, data, size) != 0)
			abort();
		plain_check(out, (size_t)n);
	}
	plain_check(data, size);
	return 0;
}
