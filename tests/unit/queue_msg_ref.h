/*
 * The reference for lib/queue_msg's message check: crlf_ok() and
 * queue_msg_check() as of 5a72155, octet by octet, renamed, for
 * test_queue_msg_diff and fuzz_queue_read to compare the real one with.
 * Tests only; static, one copy per including file.
 */
#ifndef QUEUE_MSG_REF_H
#define QUEUE_MSG_REF_H

#include <errno.h>
#include <stddef.h>

#include "queue.h"

static int
ref_crlf_ok(const char *p, size_t n, char *prev)
{
	char c, last = *prev;
	size_t i;

	for (i = 0; i < n; i++) {
		c = p[i];
		if (last == '\r' ? c != '\n' : c == '\n')
			return 0;
		last = c;
	}
	*prev = last;
	return 1;
}

static int
ref_queue_msg_check(const struct queue_file *qf, char *buf, size_t len)
{
	size_t off, got;
	char prev = '\0';
	int rv;

	if (qf->msg != NULL) {
		if (!ref_crlf_ok(qf->msg, qf->size, &prev))
			return -EINVAL;
	} else {
		if (len == 0)
			return -EINVAL;
		for (off = 0; off < qf->size; off += got) {
			if ((rv = queue_msg_read(qf, off, buf, len, &got)) != 0)
				return rv;
			if (!ref_crlf_ok(buf, got, &prev))
				return -EINVAL;
		}
	}
	return qf->size == 0 || prev == '\n' ? 0 : -EINVAL;
}

#endif /* QUEUE_MSG_REF_H */
