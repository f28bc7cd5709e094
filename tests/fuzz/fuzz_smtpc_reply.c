/*
 * libFuzzer target for the SMTP reply parser (relayd/smtpc_reply): the
 * bytes a hostile next hop can send.  Replies are parsed back to back
 * like the client does, and each complete one is rendered and checked
 * against the parser's own limits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtpc_reply.h"

static struct smtpc_reply reply;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *why;
	char out[512];
	size_t used, left = size, i;
	int rc;

	while (left > 0) {
		used = 0;
		rc = smtpc_reply_parse(p, left, &reply, &used, &why);
		if (rc != SMTPC_REPLY_DONE)
			break;
		if (used == 0 || used > left || reply.nline == 0 ||
		    reply.nline > SMTPC_REPLY_LINES_MAX ||
		    reply.total > SMTPC_REPLY_MAX || reply.code < 200 ||
		    reply.code > 559)
			abort();
		for (i = 0; i < reply.nline; i++)
			if (strlen(smtpc_reply_text(&reply, i)) >
			    SMTPC_REPLY_LINE_MAX)
				abort();
		smtpc_reply_format(&reply, out, sizeof(out));
		for (i = 0; out[i] != '\0'; i++)
			if (out[i] < 0x20 || out[i] > 0x7e)
				abort();
		p += used;
		left -= used;
	}
	return 0;
}
