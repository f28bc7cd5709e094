/*
 * STARTTLS (RFC 3207) and implicit TLS (RFC 8314) in the smtp child, after
 * the privilege drop.  The context comes from the master, which read the
 * key as root; this process never opens the key file.  Trust boundary:
 * anything the client sent in the clear after STARTTLS is discarded
 * (CVE-2011-0411) and the EHLO state is forgotten, so nothing from before
 * the handshake is taken as if it came through TLS.
 */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "session_int.h"
#include "tls.h"

/* STARTTLS may be used now: configured, and not in TLS yet. */
int
session_tls_offered(const struct session *s)
{
	return s->env->tls_ctx != NULL &&
	    (s->cfg->tls != CONFIG_TLS_NONE || s->env->require_tls) &&
	    s->io.ssl == NULL;
}

/* tls = encrypt or a /starttls listener: 1 if verb must wait (530). */
int
session_tls_required(const struct session *s, enum smtp_verb verb)
{
	if ((s->cfg->tls != CONFIG_TLS_ENCRYPT && !s->env->require_tls) ||
	    s->io.ssl != NULL)
		return 0;
	switch (verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
	case SMTP_VERB_STARTTLS:
	case SMTP_VERB_NOOP:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
		return 0;
	default:
		return 1;
	}
}

/* Handshake; 0, or -1 with the session over (nothing more in clear). */
static int
tls_start(struct session *s)
{
	char why[256] = "";
	int r;

	session_title(s, "tls handshake");
	r = sio_tls_accept(&s->io, s->env->tls_ctx,
	    (int)s->cfg->timeout_command * 1000, why, sizeof(why));
	if (r == 0) {
		tls_describe(s->io.ssl, s->tls, sizeof(s->tls));
		log_info("TLS connection established from [%s]: %s", s->addr,
		    s->tls);
		return 0;
	}
	if (r == -ETIMEDOUT)
		log_info("timeout in the TLS handshake from [%s]", s->addr);
	else
		log_info("TLS handshake failed from [%s]: %s", s->addr,
		    why[0] != '\0' ? why : strerror(-r));
	s->quit = 1;
	return -1;
}

void
session_starttls(struct session *s)
{
	if (s->io.ssl != NULL) {
		session_reply(s, "554 5.5.1 Error: TLS already active");
		(void)session_error(s);
		return;
	}
	if (!session_tls_offered(s)) {
		session_reply(s, "502 5.5.1 Command not implemented");
		(void)session_error(s);
		return;
	}
	if (s->in_mail) {
		session_reply(
		    s, "503 5.5.1 Error: MAIL transaction in progress");
		(void)session_error(s);
		return;
	}
	session_reply(s, "220 2.0.0 Ready to start TLS");
	if (tls_start(s) < 0)
		return;
	/* RFC 3207 4.2: forget what the client said before. */
	session_reset(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
}

/* A "/tls" listener: 1 to greet (over TLS), 0 if the session is over. */
int
session_tls_implicit(struct session *s)
{
	if (s->env->tls_ctx == NULL) {
		log_warnx("no TLS context for the TLS listener: closing [%s]",
		    s->addr);
		s->rc = 1;
		return 0;
	}
	return tls_start(s) == 0;
}
