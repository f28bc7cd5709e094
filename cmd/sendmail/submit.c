/*
 * relayd-sendmail: the SMTP dialogue with relayd on its submit_socket.
 * relayd knows who we are from the socket (SO_PEERCRED) and tells us our
 * own address in its EHLO reply; we only say what the options ask for.
 * Every outcome is one sysexits(3) code: the caller always knows whether
 * relayd took the message.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail.h"

#define REPLY_MAX 4096

struct conn {
	const struct sm_opts *o;
	int fd;
	char buf[REPLY_MAX];
	size_t len;
	char last[REPLY_MAX]; /* the last line of the last reply */
	char first[REPLY_MAX]; /* its first line */
	char own[SM_ADDR_MAX]; /* the user's address, from EHLO's reply */
};

void
sm_err(const struct sm_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o != NULL && o->quiet)
		return;
	(void)fputs("relayd-sendmail: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
}

int
sm_connect(
    const char *path, const struct sm_opts *o, int *code, const char *what)
{
	struct sockaddr_un sun;
	int fd, e;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		sm_err(o, "socket path too long: '%s'", path);
		*code = EX_CONFIG;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		sm_err(o, "socket: %s", strerror(errno));
		*code = EX_OSERR;
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	e = errno;
	(void)close(fd);
	if (e == EACCES || e == EPERM) {
		sm_err(o, "not allowed to talk to relayd: '%s': %s: %s", path,
		    strerror(e), what);
		*code = EX_NOPERM;
	} else {
		sm_err(o, "relayd is not running: %s (%s: %s)", what, path,
		    strerror(e));
		*code = EX_TEMPFAIL;
	}
	return -1;
}

static int
conn_write(struct conn *c, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
conn_cmd(struct conn *c, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	if (c->o->verbose)
		(void)fprintf(stderr, ">>> %s\n", line);
	memcpy(line + n, "\r\n", 3);
	return conn_write(c, line, (size_t)n + 2);
}

/* One line (CRLF cut) into out; -1 at EOF, error or an overlong line. */
static int
conn_line(struct conn *c, char *out, size_t cap)
{
	char *nl;
	ssize_t r;
	size_t n;

	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof(c->buf))
			return -1;
		r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
	n = (size_t)(nl - c->buf);
	if (n >= cap)
		return -1;
	memcpy(out, c->buf, n);
	out[n > 0 && out[n - 1] == '\r' ? n - 1 : n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, nl + 1, c->len);
	return 0;
}

/* A whole reply: its code (last and first lines kept), -1 if lost. */
static int
conn_reply(struct conn *c)
{
	int first = 1;

	for (;;) {
		if (conn_line(c, c->last, sizeof(c->last)) < 0 ||
		    strlen(c->last) < 3)
			return -1;
		if (c->o->verbose)
			(void)fprintf(stderr, "<<< %s\n", c->last);
		if (first)
			memcpy(c->first, c->last, sizeof(c->first));
		first = 0;
		if (c->last[3] != '-')
			return atoi(c->last);
	}
}

/* Exit code of a failed step; 5xx gives code5 (or EX_NOPERM for 5.7). */
static int
fail(struct conn *c, int reply, int code5, const char *what)
{
	if (reply < 0) {
		sm_err(c->o, "connection to relayd lost %s: message not sent",
		    what);
		return EX_TEMPFAIL;
	}
	sm_err(c->o, "%s: %s: message not sent", what, c->last);
	if (reply >= 400 && reply < 500)
		return EX_TEMPFAIL;
	if (strncmp(c->last + 3, " 5.7.", 5) == 0)
		return EX_NOPERM;
	return code5;
}

/* "<own>" from "250-HOST local submission from <own>". */
static int
own_address(struct conn *c, char *own, size_t cap)
{
	const char *lt = strrchr(c->first, '<'), *gt = strrchr(c->first, '>');

	if (lt == NULL || gt == NULL || gt < lt || (size_t)(gt - lt) >= cap)
		return -1;
	memcpy(own, lt + 1, (size_t)(gt - lt - 1));
	own[gt - lt - 1] = '\0';
	return 0;
}

/* addr, qualified with own's domain when it has none, into out. */
static int
qualify(const char *addr, const char *own, char *out, size_t cap)
{
	int n;

	if (addr[0] == '\0' || strcmp(addr, "<>") == 0)
		n = snprintf(out, cap, "%s", "");
	else if (strchr(addr, '@') != NULL)
		n = snprintf(out, cap, "%s", addr);
	else
		n = snprintf(out, cap, "%s%s", addr, strrchr(own, '@'));
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int
send_envelope(
    struct conn *c, struct sm_opts *o, const char *sender, int eightbit)
{
	char addr[SM_ADDR_MAX], *own = c->own;
	size_t i;
	int r;

	if (own_address(c, own, sizeof(c->own)) < 0) {
		sm_err(o, "relayd did not say who we are: %s", c->first);
		return EX_PROTOCOL;
	}
	if (qualify(sender != NULL ? sender : own, own, addr, sizeof(addr)) < 0)
		return fail(c, 500, EX_DATAERR, "sender too long");
	r = conn_cmd(c, "MAIL FROM:<%s>%s%s%s%s%s%s", addr,
	    o->body != NULL ? " BODY="
		: eightbit  ? " BODY=8BITMIME"
			    : "",
	    o->body != NULL ? o->body : "", o->ret ? " RET=" : "",
	    o->ret ? o->ret : "", o->envid[0] ? " ENVID=" : "", o->envid);
	if (r < 0 || (r = conn_reply(c)) / 100 != 2)
		return fail(
		    c, r < 0 ? -1 : r, EX_UNAVAILABLE, "sender refused");
	for (i = 0; i < o->rcpts.n; i++) {
		if (qualify(o->rcpts.v[i], own, addr, sizeof(addr)) < 0 ||
		    addr[0] == '\0') {
			sm_err(o, "bad recipient '%s': message not sent",
			    o->rcpts.v[i]);
			return EX_NOUSER;
		}
		r = conn_cmd(c, "RCPT TO:<%s>%s%s", addr,
		    o->notify[0] ? " NOTIFY=" : "", o->notify);
		if (r < 0 || (r = conn_reply(c)) / 100 != 2)
			return fail(
			    c, r < 0 ? -1 : r, EX_NOUSER, "recipient refused");
	}
	return EX_OK;
}

/* The message, dot-stuffed, with a From field for -F when it has none. */
static int
send_body(struct conn *c, const struct sm_opts *o, const struct sm_buf *msg,
    int has_from)
{
	const char *p = msg->p, *end = msg->p + msg->len, *nl;
	char from[600];
	int n;

	if (o->fullname != NULL && !has_from) {
		char addr[SM_ADDR_MAX];

		if (qualify(o->sender ? o->sender : c->own, c->own, addr,
			sizeof(addr)) < 0)
			return -1;
		n = snprintf(from, sizeof(from), "From: \"%s\" <%s>\r\n",
		    o->fullname, addr);
		if (n < 0 || (size_t)n >= sizeof(from) ||
		    conn_write(c, from, (size_t)n) < 0)
			return -1;
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl != NULL ? nl + 1 : end;
		if (*p == '.' && conn_write(c, ".", 1) < 0)
			return -1;
		if (conn_write(c, p, (size_t)(nl - p)) < 0)
			return -1;
		p = nl;
	}
	return conn_write(c, ".\r\n", 3);
}

static int
dialogue(struct conn *c, struct sm_opts *o, struct sm_buf *msg, int has_from,
    int eightbit)
{
	int r, code;

	if ((r = conn_reply(c)) != 220)
		return fail(c, r, EX_UNAVAILABLE, "relayd refused the session");
	if (conn_cmd(c, "EHLO localhost") < 0 || (r = conn_reply(c)) != 250)
		return fail(c, r, EX_PROTOCOL, "EHLO refused");
	if ((code = send_envelope(c, o, o->sender, eightbit)) != EX_OK)
		return code;
	if (conn_cmd(c, "DATA") < 0 || (r = conn_reply(c)) != 354)
		return fail(c, r, EX_DATAERR, "DATA refused");
	if (send_body(c, o, msg, has_from) < 0)
		return fail(c, -1, EX_DATAERR, "while sending the message");
	if ((r = conn_reply(c)) / 100 != 2)
		return fail(c, r, EX_DATAERR, "message refused");
	if (o->verbose)
		sm_err(o, "%s", c->last);
	return EX_OK;
}

int
sm_submit(const char *path, struct sm_opts *o, struct sm_buf *msg, int has_from,
    int eightbit)
{
	struct conn c;
	int code;

	memset(&c, 0, sizeof(c));
	c.o = o;
	if ((c.fd = sm_connect(path, o, &code, "message not sent")) < 0)
		return code;
	code = dialogue(&c, o, msg, has_from, eightbit);
	/* A polite end; the verdict is already known. */
	if (conn_cmd(&c, "QUIT") == 0)
		(void)conn_reply(&c);
	(void)close(c.fd);
	return code;
}

/* A listing line from relayd, printed with '?' for anything odd. */
static void
print_safe(const char *p)
{
	for (; *p != '\0'; p++)
		(void)putchar(*p >= 0x20 && *p < 0x7f ? *p : '?');
	(void)putchar('\n');
}

/*
 * -bp for a user: relayd lists the caller's messages (XQUEUE, local
 * submissions only); we print the text of each reply line.
 */
int
sm_list(const char *path, const struct sm_opts *o)
{
	struct conn c;
	int code, r;

	memset(&c, 0, sizeof(c));
	c.o = o;
	if ((c.fd = sm_connect(path, o, &code, "no queue listing")) < 0)
		return code;
	code = EX_OK;
	if ((r = conn_reply(&c)) != 220 || conn_cmd(&c, "XQUEUE") < 0) {
		code = EX_UNAVAILABLE;
		goto out;
	}
	do {
		if (conn_line(&c, c.last, sizeof(c.last)) < 0 ||
		    strlen(c.last) < 4 || strncmp(c.last, "250", 3) != 0) {
			code = EX_UNAVAILABLE;
			goto out;
		}
		/* The last line: "250 2.0.0 N messages in the queue ..." */
		print_safe(c.last[3] == '-' ? c.last + 4 : c.last + 10);
	} while (c.last[3] == '-');
out:
	if (code != EX_OK)
		sm_err(o, "relayd gave no queue listing%s%s",
		    c.last[0] != '\0' ? ": " : "", c.last);
	if (conn_cmd(&c, "QUIT") == 0)
		(void)conn_reply(&c);
	(void)close(c.fd);
	return code;
}

/* Copy what is readable on from to to; -bs turns bare LF into CRLF. */
static int
pump(int from, int to, int crlf, int *prev_cr)
{
	char in[8192], out[16384];
	size_t i, n = 0;
	ssize_t r;

	if ((r = read(from, in, sizeof(in))) <= 0)
		return -1;
	for (i = 0; i < (size_t)r; i++) {
		if (crlf && in[i] == '\n' && !*prev_cr)
			out[n++] = '\r';
		*prev_cr = in[i] == '\r';
		out[n++] = in[i];
	}
	for (i = 0; i < n;) {
		if ((r = write(to, out + i, n - i)) <= 0)
			return -1;
		i += (size_t)r;
	}
	return 0;
}

int
sm_relay_stdio(const char *path, const struct sm_opts *o)
{
	struct pollfd pfd[2];
	int fd, code, prev_cr = 0, out_cr = 0, in_open = 1;

	if ((fd = sm_connect(path, o, &code, "no session")) < 0)
		return code;
	pfd[0].fd = fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = STDIN_FILENO;
	for (;;) {
		/* relayd speaks first (its 220); our input waits for it. */
		pfd[1].events = in_open ? POLLIN : 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (pump(fd, STDOUT_FILENO, 0, &out_cr) < 0)
				break;
			pfd[0].events = POLLIN;
		}
		if (in_open && pfd[1].revents & (POLLIN | POLLHUP)) {
			if (pump(STDIN_FILENO, fd, 1, &prev_cr) < 0) {
				(void)shutdown(fd, SHUT_WR);
				in_open = 0;
			}
		}
	}
	(void)close(fd);
	return EX_OK;
}
