/*
 * libFuzzer target for the queue file parser (files the relay user wrote,
 * read by root): arbitrary bytes through queue_parse(); an accepted file
 * must format back to the same envelope and message.  The envelope-only
 * parser, given any prefix, accepts exactly the envelopes of the files
 * queue_parse accepts (or asks for more with -EAGAIN) and says where the
 * message starts; the message then checked and read from a file a piece
 * at a time (as delivery reads it, pieces of 1..16 octets here so that
 * every octet is on a boundary once) gives the same verdict and octets,
 * and the same verdict as the octet-by-octet check (queue_msg_ref.h).
 */
#include <sys/mman.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "../unit/queue_msg_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * queue_parse_envelope on data[0..cut) of a file of size octets: for a
 * file queue_parse accepted (whole), the same size and offset, or
 * -EAGAIN for a cut inside the envelope; for any file, no message and
 * nothing on failure.
 */
static void
envelope_agrees(const uint8_t *data, size_t size, size_t cut,
    const struct queue_file *whole)
{
	struct queue_file *qf = NULL;
	int rv = queue_parse_envelope((const char *)data, cut, size, &qf);

	if (rv != 0 && qf != NULL)
		abort();
	if (rv == 0 &&
	    (qf->msg != NULL || qf->msgfd != -1 || qf->msgoff <= 0 ||
		(size_t)qf->msgoff > cut ||
		(size_t)qf->msgoff + qf->size != size))
		abort();
	if (whole != NULL && rv != 0 && !(rv == -EAGAIN && cut < size))
		abort();
	if (whole != NULL && rv == 0 &&
	    (qf->size != whole->size || qf->msgoff != whole->msgoff))
		abort();
	queue_free(qf);
}

/* The file behind queue_read_fd: data in a memfd, made once. */
static int
memfd(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd == -1 && (fd = memfd_create("fuzz_queue_read", 0)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	return fd;
}

/*
 * The envelope, then the message streamed from the file in pieces of
 * 1..16 octets: accepted exactly when queue_parse accepts (whole), and
 * read back, the same octets.
 */
static void
stream_agrees(const uint8_t *data, size_t size, const struct queue_file *whole)
{
	struct queue_file *qf = NULL;
	size_t piece = size > 0 ? 1 + data[size - 1] % 16 : 1, off, got;
	char buf[16];
	int rv;

	if (queue_parse_envelope((const char *)data, size, size, &qf) != 0) {
		if (whole != NULL)
			abort();
		return;
	}
	qf->msgfd = memfd(data, size);
	rv = queue_msg_check(qf, buf, piece);
	if ((rv == 0) != (whole != NULL) || (rv != 0 && rv != -EINVAL) ||
	    rv != ref_queue_msg_check(qf, buf, piece))
		abort();
	for (off = 0; rv == 0 && off < qf->size; off += got)
		if (queue_msg_read(qf, off, buf, piece, &got) != 0 ||
		    got == 0 || memcmp(buf, data + qf->msgoff + off, got) != 0)
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
		stream_agrees(data, size, NULL);
		return 0;
	}
	envelope_agrees(data, size, size, qf);
	envelope_agrees(data, size, size / 2, qf);
	stream_agrees(data, size, qf);
	/* The writer must accept all the reader does, byte for byte. */
	if (queue_envelope(qf, &env, &len) != 0 || len + qf->size != size ||
	    (size_t)qf->msgoff != len || memcmp(env, data, len) != 0 ||
	    memcmp(qf->msg, data + len, qf->size) != 0)
		abort();
	free(env);
	queue_free(qf);
	return 0;
}
