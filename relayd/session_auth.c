/*
 * SMTP AUTH (RFC 4954) in the smtp child: PLAIN (RFC 4616) and LOGIN,
 * offered only over TLS, checked against the auth_users table the master
 * read as root (this process never opens the file).  Trust boundary: the
 * client's SASL lines are decoded by lib/sasl; a success makes the session
 * trusted for relaying.  Failures cost the same crypt(3) work whether or
 * not the login exists, and auth_max_failures of them end the guessing.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authtab.h"
#include "log.h"
#include "metrics.h"
#include "sasl.h"
#include "session_int.h"

#define SASL_LINE_MAX 2048 /* a 334 answer, CRLF included */

/* What the client sent, decoded (NUL-terminated for LOGIN's fields). */
struct sasl_in {
	unsigned char buf[SASL_LINE_MAX];
	size_t len;
};

int
session_auth_offered(const struct session *s)
{
	return s->env->auth != NULL && s->io.ssl != NULL;
}

int
session_auth_trusted(const struct session *s)
{
	return s->auth_user[0] != '\0';
}

/* Decode b64[0..n) into in; 0, or -1 with the 501 sent. */
static int
decode(struct session *s, const char *b64, size_t n, struct sasl_in *in)
{
	long r;

	if (n == 1 && b64[0] == '=') { /* an empty initial response */
		in->len = 0;
		return 0;
	}
	if ((r = sasl_b64_decode(b64, n, in->buf, sizeof(in->buf) - 1)) < 0) {
		session_reply(s, "501 5.5.2 Cannot decode response");
		(void)session_error(s);
		return -1;
	}
	in->len = (size_t)r;
	in->buf[in->len] = '\0';
	return 0;
}

/*
 * Send "334 prompt", read the answer and decode it.  0, or -1 when the
 * exchange is over (cancelled, undecodable, timeout, client gone).
 */
static int
challenge(struct session *s, const char *prompt, struct sasl_in *in)
{
	char line[SASL_LINE_MAX];
	size_t len;
	int r;

	session_reply(s, "334 %s", prompt);
	session_title(s, "auth read");
	r = sio_getline(&s->io, line, sizeof(line), &len,
	    (int)s->cfg->timeout_command * 1000);
	if (r == -ETIMEDOUT) {
		session_timeout(s);
		return -1;
	}
	if (r == -E2BIG || (r == 1 && (len < 2 || line[len - 2] != '\r'))) {
		session_reply(s,
		    "500 5.5.6 Authentication exchange line is "
		    "too long or malformed");
		(void)session_error(s);
		return -1;
	}
	if (r != 1) {
		session_lost(s, "after AUTH");
		return -1;
	}
	len -= 2;
	if (len == 1 && line[0] == '*') {
		session_reply(s, "501 5.7.0 Authentication aborted");
		(void)session_error(s);
		return -1;
	}
	r = decode(s, line, len, in);
	explicit_bzero(line, sizeof(line));
	return r;
}

/* PLAIN: the initial response or one 334; 0 with p filled, else -1. */
static int
mech_plain(struct session *s, const char *ir, struct sasl_plain *p)
{
	struct sasl_in in;
	int r;

	if (ir != NULL)
		r = decode(s, ir, strlen(ir), &in);
	else
		r = challenge(s, "", &in);
	if (r == 0 && sasl_plain_parse(in.buf, in.len, p) < 0)
		p->authcid[0] = '\0'; /* malformed: fails as bad credentials */
	explicit_bzero(&in, sizeof(in));
	return r;
}

/* Copy a decoded LOGIN field; -1 (a failed login) if it cannot be one. */
static int
login_field(const struct sasl_in *in, char *dst, size_t cap)
{
	if (in->len == 0 || in->len >= cap ||
	    memchr(in->buf, '\0', in->len) != NULL)
		return -1;
	memcpy(dst, in->buf, in->len + 1);
	return 0;
}

/* LOGIN: "Username:" (unless given) and "Password:" prompts. */
static int
mech_login(struct session *s, const char *ir, struct sasl_plain *p)
{
	struct sasl_in in;
	int r, bad = 0;

	if (ir != NULL)
		r = decode(s, ir, strlen(ir), &in);
	else
		r = challenge(s, "VXNlcm5hbWU6", &in);
	if (r == 0) {
		bad |= login_field(&in, p->authcid, sizeof(p->authcid));
		r = challenge(s, "UGFzc3dvcmQ6", &in);
	}
	if (r == 0)
		bad |= login_field(&in, p->passwd, sizeof(p->passwd));
	if (r == 0 && bad)
		p->authcid[0] = '\0';
	explicit_bzero(&in, sizeof(in));
	return r;
}

/* NULL if AUTH may start now, else the refusal. */
static const char *
auth_refusal(const struct session *s)
{
	if (s->env->auth == NULL)
		return "502 5.5.1 Command not implemented";
	/* Never a password in clear text (RFC 4954 4, 14). */
	if (s->io.ssl == NULL)
		return "538 5.7.11 Encryption required for requested "
		       "authentication mechanism";
	if (!s->esmtp)
		return "503 5.5.1 Error: send EHLO first";
	if (session_auth_trusted(s))
		return "503 5.5.1 Error: already authenticated";
	if (s->in_mail)
		return "503 5.5.1 Error: MAIL transaction in progress";
	return NULL;
}

/* Verify p; the 235, 535 or 421 reply and the log line. */
static void
auth_finish(struct session *s, const char *mech, const struct sasl_plain *p)
{
	int ok = 0;

	/* Unknown logins and malformed messages cost a crypt(3) too. */
	if (p->authzid[0] == '\0' || strcmp(p->authzid, p->authcid) == 0)
		ok = authtab_verify(s->env->auth, p->authcid, p->passwd);
	if (ok == 1 && p->authcid[0] != '\0' &&
	    strlcpy(s->auth_user, p->authcid, sizeof(s->auth_user)) <
		sizeof(s->auth_user)) {
		log_info("[%s]: AUTH %s: sasl_username=%s", s->addr, mech,
		    s->auth_user);
		s->passed = 1;
		session_reply(s, "235 2.7.0 Authentication successful");
		return;
	}
	s->auth_user[0] = '\0';
	if (ok < 0)
		log_warnx("[%s]: AUTH %s: out of memory", s->addr, mech);
	s->auth_failures++;
	log_info("[%s]: AUTH %s authentication failed (%u of %zu)", s->addr,
	    mech, s->auth_failures, s->cfg->auth_max_failures);
	metrics_inc(METRICS_REJ_AUTH);
	session_reply(s, "535 5.7.8 Authentication credentials invalid");
}

void
session_auth(struct session *s, const struct smtp_command *cmd)
{
	struct sasl_plain p;
	const char *no, *ir;
	char mech[16];
	size_t n;
	int r;

	if ((no = auth_refusal(s)) != NULL) {
		session_reply(s, "%s", no);
		(void)session_error(s);
		return;
	}
	/* auth_max_failures guesses, then the connection goes. */
	if (s->auth_failures >= s->cfg->auth_max_failures) {
		log_info("[%s]: too many AUTH failures", s->addr);
		session_reply(s,
		    "421 4.7.0 %s Error: too many authentication failures",
		    s->cfg->hostname);
		s->quit = 1;
		return;
	}
	n = strcspn(cmd->arg, " ");
	ir = cmd->arg[n] == ' ' ? cmd->arg + n + 1 : NULL;
	if (n >= sizeof(mech) || (ir != NULL && *ir == '\0')) {
		n = 0;
		mech[0] = '\0';
	} else {
		memcpy(mech, cmd->arg, n);
		mech[n] = '\0';
	}
	memset(&p, 0, sizeof(p));
	if (strcasecmp(mech, "PLAIN") == 0)
		r = mech_plain(s, ir, &p);
	else if (strcasecmp(mech, "LOGIN") == 0)
		r = mech_login(s, ir, &p);
	else {
		session_reply(s, "504 5.5.4 Unrecognized authentication type");
		(void)session_error(s);
		return;
	}
	if (r == 0)
		auth_finish(
		    s, strcasecmp(mech, "PLAIN") == 0 ? "PLAIN" : "LOGIN", &p);
	explicit_bzero(&p, sizeof(p));
}
