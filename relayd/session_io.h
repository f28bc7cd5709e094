/*
 * Buffered, non-blocking socket I/O with poll() timeouts for the smtp
 * session: pipelined input is read in blocks, replies are queued and
 * flushed before any wait for input (RFC 2920).
 */
#ifndef RELAYD_SESSION_IO_H
#define RELAYD_SESSION_IO_H

#include <stddef.h>

#define SIO_RBUF 4096

struct sio {
	int fd;
	int discard; /* dropping the rest of an over-long line */
	size_t rpos, rlen;
	char rbuf[SIO_RBUF];
	char *wbuf;
	size_t wlen, wcap;
};

void sio_init(struct sio *io, int fd);
void sio_free(struct sio *io);

/* Queue one reply line; CRLF is added.  0 or -ENOMEM (or -EINVAL). */
int sio_reply(struct sio *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Write out queued replies, waiting at most ms per wait (0: one try). */
int sio_flush(struct sio *io, int ms);

/*
 * Flush, then wait at most ms for input and read it.  Returns the octets
 * read, 0 at end of file, -ETIMEDOUT or -errno.
 */
int sio_fill(struct sio *io, int ms);

/*
 * One line up to and including its LF into line[0..cap).  Returns 1, 0 at
 * end of file (a partial line is dropped), -E2BIG for a line longer than
 * cap (consumed up to its LF), -ETIMEDOUT or -errno.
 */
int sio_getline(struct sio *io, char *line, size_t cap, size_t *len, int ms);

/* Buffered input not consumed yet. */
const char *sio_peek(const struct sio *io, size_t *avail);
void sio_consume(struct sio *io, size_t n);

#endif /* RELAYD_SESSION_IO_H */
