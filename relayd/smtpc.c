/*
 * SMTP client connection (smtpc.h): connect with a timeout, greeting,
 * EHLO with HELO fallback, extension list, QUIT.  The server is
 * untrusted: its replies go through smtpc_io/smtpc_reply (bounded), and
 * only known extension keywords are looked at.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "smtpc_int.h"

#define SMTPC_QUIT_TIMEOUT 10 /* seconds we wait for the reply to QUIT */

void
smtpc_timeouts_default(struct smtpc_timeouts *t)
{
	t->connect = 30;
	t->greeting = 300;
	t->helo = 300;
	t->mail = 300;
	t->rcpt = 300;
	t->data_init = 120;
	t->data_block = 180;
	t->data_term = 600;
}

static void
smtpc_timeouts_merge(struct smtpc_timeouts *to, const struct smtpc_timeouts *t)
{
	smtpc_timeouts_default(to);
	if (t == NULL)
		return;
#define SMTPC_TO(f)    \
	if (t->f != 0) \
		to->f = t->f;
	SMTPC_TO(connect)
	SMTPC_TO(greeting)
	SMTPC_TO(helo)
	SMTPC_TO(mail)
	SMTPC_TO(rcpt)
	SMTPC_TO(data_init)
	SMTPC_TO(data_block)
	SMTPC_TO(data_term)
#undef SMTPC_TO
}

/* Non-blocking connect bounded by the connect timeout. */
static int
smtpc_tcp(struct smtpc *c, const struct route_hop *hop, struct smtpc_status *st)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int err = 0, r;

	c->fd = socket(
	    hop->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = errno;
		goto fail;
	}
	if (connect(c->fd, (const struct sockaddr *)&hop->addr, hop->addrlen) ==
	    0)
		return 0;
	if (errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	pfd.fd = c->fd;
	pfd.events = POLLOUT;
	do
		r = poll(&pfd, 1,
		    (int)(c->to.connect > 86400 ? 86400000
						: c->to.connect * 1000));
	while (r < 0 && errno == EINTR);
	if (r == 0)
		err = ETIMEDOUT;
	else if (r < 0 ||
	    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
		err = errno;
	if (err == 0)
		return 0;
fail:
	smtpc_status_set(
	    st, 0, "4.4.1", 1, "connect to %s: %s", c->peer, strerror(err));
	return -1;
}

/* Read a reply for `after`; st gets it.  0 if its class is want. */
static int
smtpc_expect(struct smtpc *c, unsigned timeout, int want, const char *after,
    struct smtpc_status *st)
{
	if (smtpc_io_reply(c, timeout) != 0) {
		smtpc_status_lost(c, after, st);
		return -1;
	}
	smtpc_status_reply(c, st);
	if (c->reply.code == 421)
		c->broken = 1;
	return c->reply.code / 100 == want ? 0 : -1;
}

/* "AUTH PLAIN LOGIN" or the old "AUTH=PLAIN LOGIN": the ones we have. */
static void
smtpc_ehlo_auth(struct smtpc *c, const char *t)
{
	size_t n;

	c->ext |= SMTPC_EXT_AUTH;
	for (t += 5; *t != '\0'; t += n) {
		t += strspn(t, " ");
		n = strcspn(t, " ");
		if (n == 5 && strncasecmp(t, "PLAIN", 5) == 0)
			c->auth |= SMTPC_AUTH_PLAIN;
		else if (n == 5 && strncasecmp(t, "LOGIN", 5) == 0)
			c->auth |= SMTPC_AUTH_LOGIN;
	}
}

static void
smtpc_ehlo_ext(struct smtpc *c)
{
	const char *t, *p;
	size_t i;

	c->ext = 0; /* the EHLO after STARTTLS replaces the first */
	c->auth = 0;
	c->size_max = 0;
	for (i = 1; i < c->reply.nline; i++) {
		t = smtpc_reply_text(&c->reply, i);
		if (strcasecmp(t, "STARTTLS") == 0)
			c->ext |= SMTPC_EXT_STARTTLS;
		else if (strncasecmp(t, "AUTH", 4) == 0 &&
		    (t[4] == ' ' || t[4] == '='))
			smtpc_ehlo_auth(c, t);
		else if (strcasecmp(t, "PIPELINING") == 0)
			c->ext |= SMTPC_EXT_PIPELINING;
		else if (strcasecmp(t, "8BITMIME") == 0)
			c->ext |= SMTPC_EXT_8BITMIME;
		else if (strcasecmp(t, "SMTPUTF8") == 0)
			c->ext |= SMTPC_EXT_SMTPUTF8;
		else if (strcasecmp(t, "DSN") == 0)
			c->ext |= SMTPC_EXT_DSN;
		else if (strncasecmp(t, "SIZE", 4) == 0 &&
		    (t[4] == '\0' || t[4] == ' ')) {
			c->ext |= SMTPC_EXT_SIZE;
			c->size_max = 0;
			for (p = t + 4 + (t[4] == ' '); *p >= '0' && *p <= '9';
			     p++)
				if (c->size_max < (1ULL << 50))
					c->size_max = c->size_max * 10 +
					    (unsigned long long)(*p - '0');
		}
	}
}

static int
smtpc_hello(struct smtpc *c, const char *helo, struct smtpc_status *st)
{
	char cmd[SMTPC_CMD_MAX];

	if (snprintf(cmd, sizeof(cmd), "EHLO %s", helo) >= (int)sizeof(cmd) ||
	    strpbrk(helo, " \t\r\n") != NULL || helo[0] == '\0') {
		smtpc_status_set(st, 0, "4.3.5", 1, "bad HELO name");
		return -1;
	}
	if (smtpc_io_cmd(c, cmd, c->to.helo) != 0 ||
	    smtpc_io_flush(c, c->to.helo) != 0) {
		smtpc_status_lost(c, "after the greeting", st);
		return -1;
	}
	if (smtpc_expect(c, c->to.helo, 2, "after EHLO", st) == 0) {
		smtpc_ehlo_ext(c);
		return 0;
	}
	if (c->broken || c->reply.code / 100 != 5)
		return -1;
	cmd[0] = 'H'; /* "HELO name": 5xx to EHLO, an RFC 821 server */
	cmd[1] = 'E';
	if (smtpc_io_cmd(c, cmd, c->to.helo) != 0 ||
	    smtpc_io_flush(c, c->to.helo) != 0) {
		smtpc_status_lost(c, "after EHLO", st);
		return -1;
	}
	return smtpc_expect(c, c->to.helo, 2, "after HELO", st);
}

/*
 * STARTTLS as tls->level says, then EHLO again.  Anything the server sent
 * after its 220 came before TLS and is refused (the STARTTLS response
 * injection class, CVE-2011-0411 on the client side).
 */
static int
smtpc_starttls(struct smtpc *c, const struct smtpc_tls *tls,
    const struct route_hop *hop, const char *helo, struct smtpc_status *st)
{
	int need = tls->level >= CONFIG_TLSC_ENCRYPT;

	if (!(c->ext & SMTPC_EXT_STARTTLS)) {
		if (!need)
			return 0;
		smtpc_status_set(st, 0, "4.7.4", 1,
		    "TLS is required, but was not offered by %s", c->peer);
		return -1;
	}
	if (smtpc_io_cmd(c, "STARTTLS", c->to.helo) != 0 ||
	    smtpc_io_flush(c, c->to.helo) != 0) {
		smtpc_status_lost(c, "after EHLO", st);
		return -1;
	}
	if (smtpc_expect(c, c->to.helo, 2, "after STARTTLS", st) != 0) {
		if (c->broken || !need)
			return c->broken ? -1 : 0; /* may: on in clear */
		smtpc_status_set(st, st->code, "4.7.4", 1,
		    "TLS is required, but %s refused STARTTLS: %s", c->peer,
		    st->text);
		return -1;
	}
	if (c->inlen != 0) {
		c->broken = 1;
		smtpc_status_set(st, 0, "4.7.5", 1,
		    "protocol error with %s: data after the reply to STARTTLS",
		    c->peer);
		return -1;
	}
	if (smtpc_tls_start(c, tls, hop->host, c->to.helo, st) != 0)
		return -1;
	return smtpc_hello(c, helo, st);
}

/* Greeting, EHLO, STARTTLS and AUTH on the connected c. */
static int
smtpc_dialogue(struct smtpc *c, const struct route_hop *hop, const char *helo,
    const struct smtpc_tls *tls, struct smtpc_status *st)
{
	if (tls->level == CONFIG_TLSC_WRAPPER &&
	    smtpc_tls_start(c, tls, hop->host, c->to.greeting, st) != 0)
		return -1;
	if (smtpc_expect(c, c->to.greeting, 2, "before the greeting", st) != 0)
		return -1;
	if (c->reply.code != 220) {
		smtpc_status_set(st, 0, "4.4.2", 1,
		    "protocol error with %s: greeting is not 220", c->peer);
		c->broken = 1;
		return -1;
	}
	if (smtpc_hello(c, helo, st) != 0)
		return -1;
	if (c->ssl == NULL && tls->level != CONFIG_TLSC_NONE &&
	    smtpc_starttls(c, tls, hop, helo, st) != 0)
		return -1;
	if (tls->user != NULL && smtpc_tls_auth(c, tls, st) != 0)
		return -1;
	return 0;
}

int
smtpc_connect(const struct route_hop *hop, const char *helo,
    const struct smtpc_timeouts *t, const struct smtpc_tls *tls,
    struct smtpc **out, struct smtpc_status *st)
{
	static const struct smtpc_tls clear = { NULL, CONFIG_TLSC_NONE, NULL,
		NULL };
	struct smtpc *c;

	*out = NULL;
	st->connected = 0;
	st->tls_failed = 0;
	if (tls == NULL)
		tls = &clear;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		smtpc_status_set(st, 0, "4.3.0", 1, "out of memory");
		return -1;
	}
	c->fd = -1;
	smtpc_timeouts_merge(&c->to, t);
	route_hop_format(hop, c->peer, sizeof(c->peer));
	if (smtpc_tcp(c, hop, st) != 0)
		goto fail;
	st->connected = 1;
	if (smtpc_dialogue(c, hop, helo, tls, st) != 0)
		goto fail;
	*out = c;
	return 0;
fail:
	smtpc_quit(c);
	return -1;
}

int
smtpc_reuse(struct smtpc *c)
{
	if (c->broken)
		return -1;
	if (!c->used)
		return 0;
	if (smtpc_io_cmd(c, "RSET", c->to.helo) != 0 ||
	    smtpc_io_flush(c, c->to.helo) != 0 ||
	    smtpc_io_reply(c, c->to.helo) != 0 || c->reply.code / 100 != 2) {
		c->broken = 1;
		return -1;
	}
	c->used = 0; /* as after EHLO: smtpc_send needs no RSET of its own */
	return 0;
}

void
smtpc_quit(struct smtpc *c)
{
	int saved = errno;

	if (c == NULL)
		return;
	if (c->fd >= 0 && !c->broken) {
		/* Best effort: the outcome does not change anything. */
		if (smtpc_io_cmd(c, "QUIT", SMTPC_QUIT_TIMEOUT) == 0 &&
		    smtpc_io_flush(c, SMTPC_QUIT_TIMEOUT) == 0)
			(void)smtpc_io_reply(c, SMTPC_QUIT_TIMEOUT);
	}
	smtpc_tls_end(c);
	if (c->fd >= 0)
		(void)close(c->fd);
	free(c);
	errno = saved;
}

const char *
smtpc_peer(const struct smtpc *c)
{
	return c->peer;
}

unsigned
smtpc_extensions(const struct smtpc *c)
{
	return c->ext;
}
