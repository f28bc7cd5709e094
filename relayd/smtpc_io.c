/*
 * Deadline-bound I/O for the SMTP client: every write and every reply
 * has an absolute deadline (a server dribbling one octet at a time does
 * not extend it), reads never buffer more than two reply lines, and the
 * message body is dot-stuffed on the way out.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "smtpc_int.h"

static int64_t
smtpc_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
smtpc_fail(struct smtpc *c, int proto, const char *why)
{
	c->broken = 1;
	c->proto = proto;
	(void)strlcpy(c->why, why, sizeof(c->why)); /* a cut reason is fine */
	return -1;
}

/* Wait for events on c->fd until deadline: 1 ready, 0 timeout, -1 error. */
static int
smtpc_wait(struct smtpc *c, short events, int64_t deadline)
{
	struct pollfd pfd;
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - smtpc_now_ms()) <= 0)
			return 0;
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

int
smtpc_io_flush(struct smtpc *c, unsigned timeout)
{
	int64_t deadline = smtpc_now_ms() + (int64_t)timeout * 1000;
	size_t off = 0;
	ssize_t w;
	int r;

	if (c->broken)
		return -1;
	while (off < c->outlen) {
		w = send(c->fd, c->out + off, c->outlen - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return smtpc_fail(c, 0, strerror(errno));
		if ((r = smtpc_wait(c, POLLOUT, deadline)) == 0)
			return smtpc_fail(c, 0, "timeout while sending");
		if (r < 0)
			return smtpc_fail(c, 0, strerror(errno));
	}
	c->outlen = 0;
	return 0;
}

int
smtpc_io_write(struct smtpc *c, const char *s, size_t n, unsigned timeout)
{
	size_t k;

	while (n > 0) {
		if (c->outlen == sizeof(c->out) && smtpc_io_flush(c, timeout))
			return -1;
		k = sizeof(c->out) - c->outlen;
		if (k > n)
			k = n;
		memcpy(c->out + c->outlen, s, k);
		c->outlen += k;
		s += k;
		n -= k;
	}
	return 0;
}

int
smtpc_io_cmd(struct smtpc *c, const char *cmd, unsigned timeout)
{
	size_t n = strlen(cmd);

	/* Our queue file is checked, but never let a field end a command. */
	if (n + 2 > SMTPC_CMD_MAX || strpbrk(cmd, "\r\n") != NULL)
		return -1;
	if (smtpc_io_write(c, cmd, n, timeout) != 0 ||
	    smtpc_io_write(c, "\r\n", 2, timeout) != 0)
		return -2;
	return 0;
}

/* Feed complete lines of c->in to the parser: 1 done, 0 more, -1 error. */
static int
smtpc_io_lines(struct smtpc *c)
{
	const char *why;
	char *nl;
	size_t n, llen;
	int rc;

	while ((nl = memchr(c->in, '\n', c->inlen)) != NULL) {
		n = (size_t)(nl - c->in);
		llen = n > 0 && c->in[n - 1] == '\r' ? n - 1 : n;
		rc = smtpc_reply_line(&c->reply, c->in, llen, &why);
		memmove(c->in, nl + 1, c->inlen - n - 1);
		c->inlen -= n + 1;
		if (rc < 0)
			return smtpc_fail(c, 1, why);
		if (rc == SMTPC_REPLY_DONE)
			return 1;
	}
	/* A line without its LF that is already over the cap. */
	if (c->inlen > SMTPC_REPLY_LINE_MAX + 1)
		return smtpc_fail(c, 1, "reply line too long");
	return 0;
}

int
smtpc_io_reply(struct smtpc *c, unsigned timeout)
{
	int64_t deadline = smtpc_now_ms() + (int64_t)timeout * 1000;
	ssize_t r;
	int rc;

	smtpc_reply_init(&c->reply);
	if (c->broken)
		return -1;
	for (;;) {
		if ((rc = smtpc_io_lines(c)) != 0)
			return rc > 0 ? 0 : -1;
		r = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r > 0) {
			c->inlen += (size_t)r;
			continue;
		}
		if (r == 0)
			return smtpc_fail(c, 0, "connection closed by server");
		if (errno != EAGAIN && errno != EINTR)
			return smtpc_fail(c, 0, strerror(errno));
		if ((rc = smtpc_wait(c, POLLIN, deadline)) == 0)
			return smtpc_fail(c, 0, "timeout waiting for reply");
		if (rc < 0)
			return smtpc_fail(c, 0, strerror(errno));
	}
}

/*
 * A '.' starting a line gets another one (RFC 5321 4.5.2).  A line starts
 * after any LF and after a bare CR too, so a receiver that splits lines
 * differently than we do still cannot see an early end of data.
 */
void
smtpc_io_abort_on_close(struct smtpc *c, int on)
{
	struct linger l = { .l_onoff = on, .l_linger = 0 };

	/* Best effort: without it a killed worker may cause a duplicate. */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

int
smtpc_io_data(struct smtpc *c, const char *msg, size_t len, unsigned block,
    unsigned timeout)
{
	size_t i, start = 0;
	int bol = 1;

	for (i = 0; i < len; i++) {
		if (bol && msg[i] == '.') {
			if (smtpc_io_write(c, msg + start, i - start, block) ||
			    smtpc_io_write(c, ".", 1, block))
				return -1;
			start = i;
		}
		bol = msg[i] == '\n' ||
		    (msg[i] == '\r' && (i + 1 == len || msg[i + 1] != '\n'));
	}
	if (smtpc_io_write(c, msg + start, len - start, block) != 0)
		return -1;
	if (len > 0 &&
	    (len < 2 || msg[len - 2] != '\r' || msg[len - 1] != '\n'))
		if (smtpc_io_write(c, "\r\n", 2, block) != 0)
			return -1;
	if (smtpc_io_write(c, ".\r\n", 3, block) != 0)
		return -1;
	return smtpc_io_flush(c, timeout);
}

void
smtpc_status_reply(const struct smtpc *c, struct smtpc_status *st)
{
	int cls = c->reply.code / 100;

	st->code = c->reply.code;
	if (c->reply.status[0] != '\0')
		(void)strlcpy(st->status, c->reply.status, sizeof(st->status));
	else
		(void)snprintf(st->status, sizeof(st->status), "%d.0.0", cls);
	smtpc_reply_format(&c->reply, st->text, sizeof(st->text));
	st->temporary = cls != 2 && cls != 5;
}

void
smtpc_status_set(struct smtpc_status *st, int code, const char *status,
    int temporary, const char *fmt, ...)
{
	va_list ap;

	st->code = code;
	(void)strlcpy(st->status, status, sizeof(st->status));
	st->temporary = temporary;
	va_start(ap, fmt);
	(void)vsnprintf(st->text, sizeof(st->text), fmt, ap); /* cut is ok */
	va_end(ap);
}

void
smtpc_status_lost(
    const struct smtpc *c, const char *after, struct smtpc_status *st)
{
	smtpc_status_set(st, 0, "4.4.2", 1, "%s with %s %s: %s",
	    c->proto ? "protocol error" : "lost connection", c->peer, after,
	    c->why[0] != '\0' ? c->why : "connection unusable");
}
