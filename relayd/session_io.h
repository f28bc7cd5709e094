/*
 * Buffered, non-blocking socket I/O with poll() timeouts for the smtp
 * session: pipelined input is read in blocks, replies are queued and
 * flushed before any wait for input (RFC 2920).
 */
#ifndef RELAYD_SESSION_IO_H
#define RELAYD_SESSION_IO_H

#include <stddef.h>
#include <stdint.h>

#define SIO_RBUF 4096

struct ssl_ctx_st;
struct ssl_st;

/* Why the last wait ended in -ETIMEDOUT. */
enum sio_expiry {
	SIO_TIMEOUT = 1, /* the caller's timeout for one wait */
	SIO_RATE, /* the request was sent slower than min_data_rate */
	SIO_DEADLINE /* the whole session took too long */
};

struct sio {
	int fd;
	struct ssl_st *ssl; /* after sio_tls_accept(): all I/O through it */
	int discard; /* dropping the rest of an over-long line */
	size_t rpos, rlen;
	char rbuf[SIO_RBUF];
	char *wbuf;
	size_t wlen, wcap;
	/* Limits (sio_limits); times in CLOCK_MONOTONIC milliseconds. */
	int64_t session_end; /* 0: no session deadline */
	size_t rate; /* min bytes/s over a request; 0: per-read timeouts */
	int64_t request_end; /* the current request's deadline */
	int replied; /* a reply was queued: the next wait starts a request */
	enum sio_expiry expired;
};

void sio_init(struct sio *io, int fd);
void sio_free(struct sio *io);

/*
 * Bound the whole session to session_s seconds from now (0: no bound) and,
 * with min_rate > 0, make the ms of sio_fill() a per-request deadline: a
 * request starts with the first wait for input after a reply was queued,
 * may take ms in all, and earns 1/min_rate s for each octet it brings.
 */
void sio_limits(struct sio *io, unsigned session_s, size_t min_rate);

/* Queue one reply line; CRLF is added.  0 or -ENOMEM (or -EINVAL). */
int sio_reply(struct sio *io, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Write out queued replies, waiting at most ms per wait (0: one try) and
 * never past the session deadline.
 */
int sio_flush(struct sio *io, int ms);

/*
 * Flush, then wait at most ms for input (less if a sio_limits() deadline
 * is nearer) and read it.  Returns the octets read, 0 at end of file,
 * -ETIMEDOUT (io->expired says which limit) or -errno.
 */
int sio_fill(struct sio *io, int ms);

/*
 * One line up to and including its LF into line[0..cap).  Returns 1, 0 at
 * end of file (a partial line is dropped), -E2BIG for a line longer than
 * cap (consumed up to its LF), -ETIMEDOUT or -errno.
 */
int sio_getline(struct sio *io, char *line, size_t cap, size_t *len, int ms);

/*
 * Start TLS on the connection as its server (RFC 3207): flush the queued
 * replies, discard every octet of input buffered so far (what a client
 * pipelined after STARTTLS in the clear must not be read as if it came
 * through TLS: CVE-2011-0411), then handshake within ms per wait and the
 * sio_limits() deadlines.  From then on every read and write goes
 * through TLS.  0, -ETIMEDOUT, -EPROTO (handshake failed; why in err)
 * or -errno.
 */
int sio_tls_accept(
    struct sio *io, struct ssl_ctx_st *ctx, int ms, char *err, size_t errlen);

/* Send TLS close_notify, once, without waiting; nothing without TLS. */
void sio_tls_close(struct sio *io);

/* Buffered input not consumed yet. */
const char *sio_peek(const struct sio *io, size_t *avail);
void sio_consume(struct sio *io, size_t n);

#endif /* RELAYD_SESSION_IO_H */
