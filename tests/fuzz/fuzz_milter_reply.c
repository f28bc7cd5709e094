/*
 * libFuzzer target for the milter reply decoder (lib/milter_proto): the
 * bytes a hostile or broken filter can send.  Packets are framed back to
 * back as the smtp child reads them; every decoded reply is checked
 * against the decoder's promises (strings end inside the packet, lengths
 * within the cap, reply codes of class 4 or 5).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "milter_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const char *s, const uint8_t *pkt, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;

	if (s == NULL)
		return;
	if (p < pkt || p >= pkt + len ||
	    memchr(p, '\0', len - (size_t)(p - pkt)) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct milter_reply r;
	size_t off = 0, len;
	uint8_t *pkt;

	while (size - off >= 4) {
		if (milter_frame_len(data + off, &len) != 0)
			break;
		if (len == 0 || len > MILTER_PKT_MAX)
			abort();
		off += 4;
		if (len > size - off)
			break;
		/* A copy of exactly the packet: ASan sees any overread. */
		if ((pkt = malloc(len)) == NULL)
			return 0;
		memcpy(pkt, data + off, len);
		if (milter_reply_decode(pkt, len, &r) == 0) {
			inside(r.s1, pkt, len);
			inside(r.s2, pkt, len);
			if (r.data != NULL &&
			    (r.data < pkt || r.data + r.len > pkt + len))
				abort();
			if (r.cmd == MILTER_R_REPLYCODE &&
			    (r.code < 400 || r.code > 599 ||
				(r.s1[0] != '4' && r.s1[0] != '5')))
				abort();
		}
		free(pkt);
		off += len;
	}
	return 0;
}
