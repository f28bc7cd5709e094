/*
 * Buffered socket I/O for the smtp session.  Trust boundary: every octet
 * read is client data; a client that stops reading or writing is cut off
 * by the per-state timeout, one that trickles by the per-request deadline
 * (min_data_rate) and, whatever it does, by the session deadline.  Input
 * lines have a hard cap.  After STARTTLS every octet goes through
 * OpenSSL, under the same timeouts and caps, and what the client sent in
 * the clear before the handshake is thrown away.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "monotime.h"
#include "session_io.h"

void
sio_init(struct sio *io, int fd)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
}

void
sio_limits(struct sio *io, unsigned session_s, size_t min_rate)
{
	io->session_end = 0;
	if (session_s > 0)
		io->session_end = monotime_ms() + (int64_t)session_s * 1000;
	io->rate = min_rate;
	io->replied = 1; /* the first wait starts a request */
}

/* -ETIMEDOUT (and why) once a deadline has passed, else 0. */
static int
expired(struct sio *io, int reading)
{
	int64_t t = monotime_ms();

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
	int64_t t = monotime_ms(), w = ms;

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
	SSL_free(io->ssl);
	io->ssl = NULL;
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

/*
 * An SSL_* result r <= 0: -EAGAIN with *ev what to wait for, 0 for the
 * peer's close_notify (or a plain end of file), else -errno.
 */
static ssize_t
tls_result(struct sio *io, int r, short *ev)
{
	int e = errno;

	switch (SSL_get_error(io->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		*ev = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		*ev = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		return e == EINTR ? -EINTR : e != 0 ? -e : -ECONNRESET;
	default:
		return -EPROTO;
	}
}

/* One write: octets written, -EAGAIN (wait for *ev) or -errno. */
static ssize_t
io_write(struct sio *io, const char *p, size_t n, short *ev)
{
	ssize_t r;

	*ev = POLLOUT;
	if (io->ssl != NULL) {
		ERR_clear_error();
		r = SSL_write(io->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		if (r > 0)
			return r;
		r = tls_result(io, (int)r, ev);
		return r == 0 ? -EPIPE : r;
	}
	/* MSG_NOSIGNAL: a vanished client is an error, not SIGPIPE */
	if ((r = send(io->fd, p, n, MSG_NOSIGNAL)) >= 0)
		return r;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

/* One read: octets read, 0 at end of file, -EAGAIN (wait) or -errno. */
static ssize_t
io_read(struct sio *io, char *p, size_t n, short *ev)
{
	ssize_t r;

	*ev = POLLIN;
	if (io->ssl != NULL) {
		ERR_clear_error();
		r = SSL_read(io->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		return r > 0 ? r : tls_result(io, (int)r, ev);
	}
	if ((r = read(io->fd, p, n)) >= 0)
		return r;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int
sio_flush(struct sio *io, int ms)
{
	size_t off = 0;
	ssize_t n;
	short ev;
	int r = 0;

	while (off < io->wlen) {
		n = io_write(io, io->wbuf + off, io->wlen - off, &ev);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -EINTR)
			continue;
		if (n != -EAGAIN) {
			r = (int)n;
			break;
		}
		if (ms == 0 || (r = expired(io, 0)) < 0 ||
		    (r = wait_fd(io, ev, ms, 0)) < 0) {
			if (ms == 0)
				io->expired = SIO_TIMEOUT;
			r = ms == 0 ? -ETIMEDOUT : r;
			break;
		}
		r = 0;
	}
	if (off > 0) /* wbuf is NULL until the first reply */
		memmove(io->wbuf, io->wbuf + off, io->wlen - off);
	io->wlen -= off;
	return r;
}

int
sio_fill(struct sio *io, int ms)
{
	ssize_t n;
	short ev;
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
		io->request_end = monotime_ms() + ms;
	}
	for (;;) {
		/* Checked before reading: a fast client has deadlines too. */
		if ((r = expired(io, 1)) < 0)
			return r;
		n = io_read(
		    io, io->rbuf + io->rlen, sizeof(io->rbuf) - io->rlen, &ev);
		if (n >= 0) {
			io->rlen += (size_t)n;
			if (io->rate > 0) /* earned: n / rate seconds */
				io->request_end +=
				    (int64_t)n * 1000 / (int64_t)io->rate;
			return (int)n;
		}
		if (n == -EINTR)
			continue;
		if (n != -EAGAIN)
			return (int)n;
		if ((r = wait_fd(io, ev, ms, 1)) < 0)
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

/* OpenSSL's reason for the failed handshake into err. */
static void
tls_reason(char *err, size_t errlen, ssize_t r)
{
	unsigned long code = ERR_peek_last_error();

	if (code != 0)
		ERR_error_string_n(code, err, errlen);
	else
		(void)snprintf(err, errlen, "%s",
		    r == 0 ? "connection closed" : strerror((int)-r));
	ERR_clear_error();
}

int
sio_tls_accept(
    struct sio *io, struct ssl_ctx_st *ctx, int ms, char *err, size_t errlen)
{
	int64_t end;
	ssize_t n;
	short ev;
	int r;

	if ((r = sio_flush(io, ms)) < 0)
		return r;
	io->rpos = io->rlen = 0; /* CVE-2011-0411: not one octet more */
	io->discard = 0;
	ERR_clear_error();
	if ((io->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(io->ssl, io->fd) != 1) {
		tls_reason(err, errlen, -ENOMEM);
		return -ENOMEM;
	}
	end = monotime_ms() + ms; /* the handshake as a whole, not per wait */
	for (;;) {
		if ((r = expired(io, 0)) < 0)
			return r;
		ERR_clear_error();
		if ((r = SSL_accept(io->ssl)) == 1)
			return 0;
		if ((n = tls_result(io, r, &ev)) == -EINTR)
			continue;
		if (n != -EAGAIN) {
			tls_reason(err, errlen, n);
			return -EPROTO;
		}
		if (monotime_ms() >= end) {
			io->expired = SIO_TIMEOUT;
			return -ETIMEDOUT;
		}
		if ((r = wait_fd(io, ev, (int)(end - monotime_ms()), 0)) < 0)
			return r;
	}
}

void
sio_tls_close(struct sio *io)
{
	if (io->ssl == NULL)
		return;
	ERR_clear_error();
	/* Best effort and never a wait: the client may be gone. */
	(void)SSL_shutdown(io->ssl);
	ERR_clear_error();
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
