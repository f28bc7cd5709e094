/*
 * libFuzzer target for the queue file parser (files the relay user wrote,
 * read by root): arbitrary bytes through queue_parse(); an accepted file
 * must format back to the same envelope and message.  The envelope-only
 * parser, given any prefix, accepts exactly the envelopes of the files
 * queue_parse accepts (or asks for more with -EAGAIN).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * queue_parse_envelope on data[0..cut) of a file of size octets: for a
 * file queue_parse accepted (whole), the same size, or -EAGAIN for a cut
 * inside the envelope; for any file, no message and nothing on failure.
 */
static void
envelope_agrees(const uint8_t *data, size_t size, size_t cut,
    const struct queue_file *whole)
{
	struct queue_file *qf = NULL;
	int rv = queue_parse_envelope((const char *)data, cut, size, &qf);

	if (rv != 0 && qf != NULL)
		abort();
	if (rv == 0 && qf->msg != NULL)
		abort();
	if (whole != NULL && rv != 0 && !(rv == -EAGAIN && cut < size))
		abort();
	if (whole != NULL && rv == 0 && qf->size != whole->size)
		abort();
	queue_free(qf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_file *qf = NULL;
	char *env = NULL;
	size_t len;

	if (queue_parse((const char *)data, size, &qf) != 0) {
		if (qf != NULL)
			abort();
		envelope_agrees(data, size, size, NULL);
		envelope_agrees(data, size, size / 2, NULL);
		return 0;
	}
	envelope_agrees(data, size, size, qf);
	envelope_agrees(data, size, size / 2, qf);
	/* The writer must accept all the reader does, byte for byte. */
	if (queue_envelope(qf, &env, &len) != 0 || len + qf->size != size ||
	    memcmp(env, data, len) != 0 ||
	    memcmp(qf->msg, data + len, qf->size) != 0)
		abort();
	free(env);
	queue_free(qf);
	return 0;
}
