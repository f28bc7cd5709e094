/*
 * Message bodies on their way into the queue (the smtp child, as the relay
 * user): DATA/BDAT octets go to an unnamed file in SPOOL/tmp as they
 * arrive, through one fixed buffer, and are copied behind the envelope at
 * enqueue (queue.c).  The file has no name, so a refused message or a
 * killed child leaves nothing in tmp/; it is never fsync'ed, the copy is.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "queue.h"
#include "queue_int.h"
#include "spooldir.h"

#define BODY_BUF 65536

struct queue_body {
	int fd;
	int err; /* first error, sticky */
	size_t size; /* octets added */
	size_t n; /* octets in buf not yet written */
	char buf[BODY_BUF];
};

/* An unnamed file in tmp/: O_TMPFILE, else a name unlinked at once. */
static int
body_file(int tfd, const char *id)
{
	char name[QUEUE_ID_MAX + 8];
	int fd, e;

	fd = openat(tfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
	e = errno;
	if (e != EOPNOTSUPP && e != EISDIR && e != EINVAL)
		return -e;
	if (!queue_id_valid(id))
		return -EINVAL;
	(void)snprintf(name, sizeof(name), "%s.body", id);
	fd = openat(tfd, name,
	    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	if (unlinkat(tfd, name, 0) == -1) {
		e = errno;
		(void)close(fd);
		return -e;
	}
	return fd;
}

int
queue_body_open(int spoolfd, const char *id, struct queue_body **bp)
{
	struct queue_body *b;
	int tfd = -1, rv;

	*bp = NULL;
	if ((b = malloc(sizeof(*b))) == NULL)
		return -ENOMEM;
	b->err = 0;
	b->size = 0;
	b->n = 0;
	if ((rv = spooldir_sub(spoolfd, "tmp", &tfd, NULL)) != 0) {
		free(b);
		return rv;
	}
	b->fd = body_file(tfd, id);
	(void)close(tfd);
	if (b->fd < 0) {
		rv = b->fd;
		free(b);
		return rv;
	}
	*bp = b;
	return 0;
}

static void
body_flush(struct queue_body *b)
{
	int rv;

	if (b->err == 0 && b->n > 0 &&
	    (rv = fdio_write_all(b->fd, b->buf, b->n)) != 0)
		b->err = rv;
	b->n = 0;
}

int
queue_body_add(struct queue_body *b, const void *buf, size_t len)
{
	const char *p = buf;
	size_t k;

	if (b->err != 0)
		return b->err;
	if (len > QUEUE_MSG_MAX - b->size) {
		b->err = -EFBIG;
		return b->err;
	}
	b->size += len;
	while (len > 0 && b->err == 0) {
		k = sizeof(b->buf) - b->n < len ? sizeof(b->buf) - b->n : len;
		memcpy(b->buf + b->n, p, k);
		b->n += k;
		p += k;
		len -= k;
		if (b->n == sizeof(b->buf))
			body_flush(b);
	}
	return b->err;
}

size_t
queue_body_size(const struct queue_body *b)
{
	return b->size;
}

int
queue_body_error(const struct queue_body *b)
{
	return b->err;
}

int
queue_body_copy(struct queue_body *b, int fd)
{
	body_flush(b);
	if (b->err != 0)
		return b->err;
	return queue_copy_range(b->fd, 0, b->size, fd, b->buf, sizeof(b->buf));
}

int
queue_body_pread(
    struct queue_body *b, void *buf, size_t len, size_t off, size_t *got)
{
	ssize_t n;

	*got = 0;
	body_flush(b);
	if (b->err != 0)
		return b->err;
	if (off >= b->size)
		return 0;
	if (len > b->size - off)
		len = b->size - off;
	while ((n = pread(b->fd, buf, len, (off_t)off)) == -1 && errno == EINTR)
		;
	if (n == -1)
		return -errno;
	*got = (size_t)n;
	return 0;
}

void
queue_body_free(struct queue_body *b)
{
	if (b == NULL)
		return;
	(void)close(b->fd);
	free(b);
}
