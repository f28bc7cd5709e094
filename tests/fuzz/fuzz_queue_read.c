/*
 * libFuzzer target for the queue file parser (files the relay user wrote,
 * read by root): arbitrary bytes through queue_parse(); an accepted file
 * must format back to the same envelope and message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_file *qf = NULL;
	char *env = NULL;
	size_t len;

	if (queue_parse((const char *)data, size, &qf) != 0) {
		if (qf != NULL)
			abort();
		return 0;
	}
	/* The writer must accept all the reader does, byte for byte. */
	if (queue_envelope(qf, &env, &len) != 0 || len + qf->size != size ||
	    memcmp(env, data, len) != 0 ||
	    memcmp(qf->msg, data + len, qf->size) != 0)
		abort();
	free(env);
	queue_free(qf);
	return 0;
}
