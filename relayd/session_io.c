/*
 * Buffered socket I/O for the smtp session.  Trust boundary: every octet
 * read is client data; a client that stops reading or writing is cut off
 * by the per-state timeout, and input lines have a hard cap.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session_io.h"

void
sio_init(struct sio *io, int fd)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
}

void
sio_free(struct sio *io)
{
	free(io->wbuf);
	io->wbuf = NULL;
	io->wlen = io->wcap = 0;
}

int
sio_reply(struct sio *io, const char *fmt, ...)
{
	va_list ap;
	char line[1024], *nb;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -EINVAL;
	memcpy(line + n, "\r\n", 2);
	if (io->wlen + (size_t)n + 2 > io->wcap) {
		if ((nb = realloc(io->wbuf, io->wcap + sizeof(line))) == NULL)
			return -ENOMEM;
		io->wbuf = nb;
		io->wcap += sizeof(line);
	}
	memcpy(io->wbuf + io->wlen, line, (size_t)n + 2);
	io->wlen += (size_t)n + 2;
	return 0;
}

/* Wait for events; 1 ready, -ETIMEDOUT, -errno. */
static int
wait_fd(int fd, short events, int ms)
{
	struct pollfd pfd = { fd, events, 0 };
	int r;

	while ((r = poll(&pfd, 1, ms)) == -1 && errno == EINTR)
		;
	if (r == -1)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 1;
}

int
sio_flush(struct sio *io, int ms)
{
	size_t off = 0;
	ssize_t n;
	int r = 0;

	while (off < io->wlen) {
		/* MSG_NOSIGNAL: a vanished client is an error, not SIGPIPE */
		n = send(io->fd, io->wbuf + off, io->wlen - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			r = -errno;
			break;
		}
		if (ms == 0 || (r = wait_fd(io->fd, POLLOUT, ms)) < 0) {
			r = ms == 0 ? -ETIMEDOUT : r;
			break;
		}
		r = 0;
	}
	memmove(io->wbuf, io->wbuf + off, io->wlen - off);
	io->wlen -= off;
	return r;
}

int
sio_fill(struct sio *io, int ms)
{
	ssize_t n;
	int r;

	if (io->rpos > 0) {
		memmove(io->rbuf, io->rbuf + io->rpos, io->rlen - io->rpos);
		io->rlen -= io->rpos;
		io->rpos = 0;
	}
	if (io->rlen == sizeof(io->rbuf))
		return -ENOBUFS; /* the caller must consume first */
	if ((r = sio_flush(io, ms)) < 0)
		return r;
	for (;;) {
		n = read(
		    io->fd, io->rbuf + io->rlen, sizeof(io->rbuf) - io->rlen);
		if (n >= 0) {
			io->rlen += (size_t)n;
			return (int)n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if ((r = wait_fd(io->fd, POLLIN, ms)) < 0)
			return r;
	}
}

int
sio_getline(struct sio *io, char *line, size_t cap, size_t *len, int ms)
{
	const char *p, *nl;
	size_t avail, n;
	int r;

	for (;;) {
		p = io->rbuf + io->rpos;
		avail = io->rlen - io->rpos;
		if ((nl = memchr(p, '\n', avail)) != NULL) {
			n = (size_t)(nl - p) + 1;
			io->rpos += n;
			if (io->discard || n > cap) {
				io->discard = 0;
				return -E2BIG;
			}
			memcpy(line, p, n);
			*len = n;
			return 1;
		}
		if (io->discard || avail >= cap) {
			io->discard = 1; /* too long already: drop it */
			io->rpos = io->rlen;
		}
		if ((r = sio_fill(io, ms)) <= 0)
			return r;
	}
}

const char *
sio_peek(const struct sio *io, size_t *avail)
{
	*avail = io->rlen - io->rpos;
	return io->rbuf + io->rpos;
}

void
sio_consume(struct sio *io, size_t n)
{
	io->rpos += n;
}
