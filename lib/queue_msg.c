/*
 * The message of a queue file, wherever it is: in memory, or left in the
 * locked queue file and read from it a piece at a time (delivery), so a
 * reader's memory does not grow with the message.  The file is untrusted
 * (the relay user may change it under us): every read is bounded by the
 * size field, a file that ends early is an error, never a short message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "plain.h"
#include "queue.h"
#include "queue_int.h"

int
queue_msg_read(
    const struct queue_file *qf, size_t off, void *buf, size_t len, size_t *got)
{
	size_t n = 0;
	ssize_t r;

	*got = 0;
	if (off >= qf->size)
		return 0;
	if (len > qf->size - off)
		len = qf->size - off;
	if (qf->msg != NULL) {
		memcpy(buf, qf->msg + off, len);
		*got = len;
		return 0;
	}
	if (qf->msgfd < 0 || qf->msgoff <= 0)
		return -EINVAL;
	while (n < len) {
		r = pread(qf->msgfd, (char *)buf + n, len - n,
		    qf->msgoff + (off_t)(off + n));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/*
 * p[0..n) keeps to CRLF line ends: a CR is followed by LF, an LF follows
 * a CR.  *prev is the octet before p ('\0' at the start), updated.  Runs
 * of other octets are fine unless a CR comes before them: taken whole.
 */
static int
crlf_ok(const char *p, size_t n, char *prev)
{
	char c, last = *prev;
	size_t i = 0, k;

	while (i < n) {
		if (last != '\r' && p[i] != '\r' && p[i] != '\n' &&
		    (k = plain_len(p + i, n - i)) > 0) {
			i += k;
			last = p[i - 1];
			continue;
		}
		c = p[i++];
		if (last == '\r' ? c != '\n' : c == '\n')
			return 0;
		last = c;
	}
	*prev = last;
	return 1;
}

int
queue_msg_check(const struct queue_file *qf, char *buf, size_t len)
{
	size_t off, got;
	char prev = '\0';
	int rv;

	if (qf->msg != NULL) {
		if (!crlf_ok(qf->msg, qf->size, &prev))
			return -EINVAL;
	} else {
		if (len == 0)
			return -EINVAL;
		for (off = 0; off < qf->size; off += got) {
			if ((rv = queue_msg_read(qf, off, buf, len, &got)) != 0)
				return rv;
			if (!crlf_ok(buf, got, &prev))
				return -EINVAL;
		}
	}
	return qf->size == 0 || prev == '\n' ? 0 : -EINVAL;
}

/* The copy without copy_file_range: pread and write through buf. */
static int
copy_rw(int in, off_t off, size_t len, int out, char *buf, size_t buflen)
{
	size_t done = 0;
	ssize_t n;
	int rv;

	while (done < len) {
		n = pread(in, buf, len - done < buflen ? len - done : buflen,
		    off + (off_t)done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
		if ((rv = fdio_write_all(out, buf, (size_t)n)) != 0)
			return rv;
		done += (size_t)n;
	}
	return 0;
}

int
queue_copy_range(
    int in, off_t off, size_t len, int out, char *buf, size_t buflen)
{
	off_t pos = off, end = off + (off_t)len;
	char *own = NULL;
	ssize_t n;
	int rv;

	while (pos < end) {
		n = copy_file_range(
		    in, &pos, out, NULL, (size_t)(end - pos), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && pos == off &&
		    (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
			errno == EOPNOTSUPP))
			break; /* nothing copied yet: read and write instead */
		if (n == -1)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank under us */
	}
	if (pos == end)
		return 0;
	if (buf == NULL) {
		if ((own = malloc(QUEUE_MSG_CHUNK)) == NULL)
			return -ENOMEM;
		buf = own;
		buflen = QUEUE_MSG_CHUNK;
	}
	rv = copy_rw(in, off, len, out, buf, buflen);
	free(own);
	return rv;
}

int
queue_msg_copy(const struct queue_file *qf, int fd)
{
	if (qf->msg != NULL)
		return fdio_write_all(fd, qf->msg, qf->size);
	if (qf->size == 0)
		return 0;
	if (qf->msgfd < 0 || qf->msgoff <= 0)
		return -EINVAL;
	return queue_copy_range(qf->msgfd, qf->msgoff, qf->size, fd, NULL, 0);
}
