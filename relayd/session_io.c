/*
 * Buffered socket I/O for the smtp session.  Trust boundary: every octet
 * read is client data; a client that stops reading or writing is cut off
 * by the per-state timeout, one that trickles by the per-request deadline
 * (min_data_rate) and, whatever it does, by the session deadline.  Input
 * lines have a hard cap.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "session_io.h"

void
sio_init(struct sio *io, int fd)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
sio_limits(struct sio *io, unsigned session_s, size_t min_rate)
{
	io->session_end = 0;
	if (session_s > 0)
		io->session_end = now_ms() + (int64_t)session_s * 1000;
	io->rate = min_rate;
	io->replied = 1; /* the first wait starts a request */
}

/* -ETIMEDOUT (and why) once a deadline has passed, else 0. */
static int
expired(struct sio *io, int reading)
{
	int64_t t = now_ms();

	if (io->session_end != 0 && t >= io->session_end) {
		io->expired = SIO_DEADLINE;
		return -ETIMEDOUT;
	}
	if (reading && io->rate > 0 && t >= io->request_end) {
		io->expired = SIO_RATE;
		return -ETIMEDOUT;
	}
	return 0;
}

/* The caller's ms, cut to the nearest deadline; *why names the bound. */
static int
wait_ms(const struct sio *io, int ms, int reading, enum sio_expiry *why)
{
	int64_t t = now_ms(), w = ms;

	*why = SIO_TIMEOUT;
	if (reading && io->rate > 0 && io->request_end - t < w) {
		w = io->request_end - t;
		*why = SIO_RATE;
	}
	if (io->session_end != 0 && io->session_end - t < w) {
		w = io->session_end - t;
		*why = SIO_DEADLINE;
	}
	return w > 0 ? (int)w : 0;
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
	io->replied = 1;
	return 0;
}

/* Wait for events within ms and the deadlines; 1 ready, -ETIMEDOUT, -errno. */
static int
wait_fd(struct sio *io, short events, int ms, int reading)
{
	struct pollfd pfd = { io->fd, events, 0 };
	enum sio_expiry why;
	int r;

	while ((r = poll(&pfd, 1, wait_ms(io, ms, reading, &why))) == -1 &&
	    errno == EINTR)
		;
	if (r == -1)
		return -errno;
	if (r == 0)
		io->expired = why;
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
		if (ms == 0 || (r = expired(io, 0)) < 0 ||
		    (r = wait_fd(io, POLLOUT, ms, 0)) < 0) {
			if (ms == 0)
				io->expired = SIO_TIMEOUT;
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
	if (io->replied) {
		io->replied = 0;
		io->request_end = now_ms() + ms;
	}
	for (;;) {
		/* Checked before reading: a fast client has deadlines too. */
		if ((r = expired(io, 1)) < 0)
			return r;
		n = read(
		    io->fd, io->rbuf + io->rlen, sizeof(io->rbuf) - io->rlen);
		if (n >= 0) {
			io->rlen += (size_t)n;
			if (io->rate > 0) /* earned: n / rate seconds */
				io->request_end +=
				    (int64_t)n * 1000 / (int64_t)io->rate;
			return (int)n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if ((r = wait_fd(io, POLLIN, ms, 1)) < 0)
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
