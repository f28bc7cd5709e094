/*
 * The socket to one milter, in the smtp child as the relay account:
 * connect (unix: or inet:, non-blocking, bounded by connect_timeout),
 * send a packet and read one reply, each bounded by a timeout.  Trust
 * boundary: the length field of a reply is checked before any payload is
 * read (milter_frame_len), so a filter cannot make us wait for or keep
 * more than one packet's worth.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milter_int.h"
#include "monotime.h"

#define MILTER_PROGRESS_MAX 1000 /* PROGRESS replies in a row */

/* Wait for ev on fd until deadline; 0, -ETIMEDOUT or -errno. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd pfd = { fd, ev, 0 };
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - monotime_ms()) <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, left > 3600000 ? 3600000 : (int)left);
		if (r == 1)
			return 0;
		if (r == -1 && errno != EINTR)
			return -errno;
	}
}

/* The socket address of a milter item (the config checked its form). */
static int
milter_addr(const struct milter_env *env, const char *spec,
    struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	const char *at;
	int n;

	memset(ss, 0, sizeof(*ss));
	if (strncmp(spec, "unix:", 5) == 0) {
		sun->sun_family = AF_UNIX;
		n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s%s",
		    env->root, spec + 5);
		if (n < 0 || (size_t)n >= sizeof(sun->sun_path))
			return -ENAMETOOLONG;
		*len = sizeof(*sun);
		return 0;
	}
	if ((at = strchr(spec, '@')) == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, at + 1, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)atoi(spec + 5));
		*len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, at + 1, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)atoi(spec + 5));
		*len = sizeof(*sin6);
	} else
		return -EINVAL;
	return 0;
}

int
milter_io_connect(const struct milter_env *env, struct milter_conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len, elen = sizeof(int);
	int fd, rv, e = 0;

	if ((rv = milter_addr(env, c->cm->socket, &ss, &len)) != 0)
		return rv;
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, len) == -1) {
		if (errno != EINPROGRESS) {
			rv = -errno;
			goto fail;
		}
		rv = wait_fd(fd, POLLOUT,
		    monotime_ms() + (int64_t)c->cm->connect_timeout * 1000);
		if (rv == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			rv = -errno;
		else if (rv == 0 && e != 0)
			rv = -e;
		if (rv != 0)
			goto fail;
	}
	c->fd = fd;
	return 0;
fail:
	(void)close(fd);
	return rv;
}

int
milter_io_send(struct milter_conn *c)
{
	int64_t deadline =
	    monotime_ms() + (int64_t)c->cm->command_timeout * 1000;
	size_t off = 0;
	ssize_t n;
	int rv;

	if ((rv = milter_pkt_finish(&c->pkt)) != 0)
		return rv;
	while (off < c->pkt.len) {
		n = send(
		    c->fd, c->pkt.buf + off, c->pkt.len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((rv = wait_fd(c->fd, POLLOUT, deadline)) != 0)
			return rv;
	}
	return 0;
}

/* Exactly len octets into buf by deadline; -EPIPE if the filter closes. */
static int
read_full(int fd, unsigned char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;
	ssize_t n;
	int rv;

	while (off < len) {
		n = read(fd, buf + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0)
			return -EPIPE;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if ((rv = wait_fd(fd, POLLIN, deadline)) != 0)
			return rv;
	}
	return 0;
}

/*
 * One reply into c->r (not PROGRESS: that only restarts the clock).
 * Returns 0, -ETIMEDOUT, -EPIPE, -EMSGSIZE or -EPROTO.
 */
int
milter_io_recv(struct milter_conn *c, unsigned timeout)
{
	unsigned char hdr[4];
	size_t len, progress;
	int rv;

	/* PROGRESS restarts the clock, but not for ever. */
	for (progress = 0; progress < MILTER_PROGRESS_MAX; progress++) {
		int64_t deadline = monotime_ms() + (int64_t)timeout * 1000;

		if ((rv = read_full(c->fd, hdr, sizeof(hdr), deadline)) != 0 ||
		    (rv = milter_frame_len(hdr, &len)) != 0 ||
		    (rv = read_full(c->fd, c->rbuf, len, deadline)) != 0 ||
		    (rv = milter_reply_decode(c->rbuf, len, &c->r)) != 0)
			return rv;
		if (c->r.cmd != MILTER_R_PROGRESS)
			return 0;
	}
	return -ETIMEDOUT;
}
