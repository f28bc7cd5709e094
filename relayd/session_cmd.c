/*
 * SMTP command handlers of the smtp child: HELO/EHLO, MAIL, RCPT and the
 * small ones, with the sequence rules and the relay policy (doc/design.md,
 * Queue: relay_from, relay_domains, relay_recipients; a client that
 * passed AUTH is trusted like relay_from).
 * Trust boundary: commands arrive already parsed by smtp_parse; the
 * limits and the policy are enforced here, before anything is stored.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "authsenders.h"
#include "recipients.h"
#include "metrics.h"
#include "session_int.h"

static void
cmd_helo(struct session *s, const struct smtp_command *cmd)
{
	const char *host = s->cfg->hostname;

	if (strlcpy(s->helo, cmd->arg, sizeof(s->helo)) >= sizeof(s->helo)) {
		s->helo[0] = '\0';
		session_reply(s, "501 5.5.4 Syntax error: HELO name too long");
		(void)session_error(s);
		return;
	}
	session_reset(s);
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (!s->esmtp) {
		session_reply(s, "250 %s", host);
		return;
	}
	/* A local submitter learns its own address (relayd-sendmail). */
	if (s->env->submit != NULL)
		session_reply(s, "250-%s local submission from <%s>", host,
		    s->env->submit->own);
	else
		session_reply(s, "250-%s", host);
	session_reply(s, "250-PIPELINING");
	session_reply(s, "250-SIZE %zu", s->cfg->max_message_size);
	session_reply(s, "250-8BITMIME");
	session_reply(s, "250-ENHANCEDSTATUSCODES");
	if (session_tls_offered(s))
		session_reply(s, "250-STARTTLS");
	if (session_auth_offered(s)) /* over TLS only */
		session_reply(s, "250-AUTH PLAIN LOGIN");
	session_reply(s, "250-SMTPUTF8");
	session_reply(s, "250 CHUNKING");
}

/* "<mailbox>" into path[SMTP_PATH_MAX + 1]; -1 if too long. */
static int
path_form(char *path, const char *mailbox)
{
	int n = snprintf(path, SMTP_PATH_MAX + 1, "<%s>", mailbox);

	return n < 0 || n > SMTP_PATH_MAX ? -1 : 0;
}

/* NULL if MAIL may go on, else the refusal. */
static const char *
mail_refusal(const struct session *s, const struct smtp_command *cmd)
{
	const struct smtp_params *p = &cmd->params;

	if (s->helo[0] == '\0')
		return "503 5.5.1 Error: send HELO/EHLO first";
	if (s->in_mail)
		return "503 5.5.1 Error: nested MAIL command";
	if (p->present != 0 && !s->esmtp)
		return "555 5.5.4 MAIL FROM parameters need EHLO";
	if (p->body == SMTP_BODY_BINARYMIME)
		return "555 5.5.4 BODY=BINARYMIME not supported";
	if (p->present & SMTP_PARAM_SIZE &&
	    p->size > (uint64_t)s->cfg->max_message_size)
		return "552 5.3.4 Message size exceeds fixed maximum message "
		       "size";
	return NULL;
}

/*
 * auth_senders: a login may send only as its own addresses, so one
 * account cannot forge another user's mail.  The null sender names no
 * one and is allowed.
 */
static int
sender_not_owned(const struct session *s, const struct smtp_path *path)
{
	if (!session_auth_trusted(s) || s->env->senders == NULL || path->null)
		return 0;
	return !authsenders_match(
	    s->env->senders, s->auth_user, path->local, path->domain);
}

static void
cmd_mail(struct session *s, const struct smtp_command *cmd)
{
	const struct smtp_params *p = &cmd->params;
	struct queue_file *qf = &s->qf;
	const char *no;

	if ((no = mail_refusal(s, cmd)) == NULL &&
	    path_form(qf->sender, cmd->path.mailbox) == -1)
		no = "501 5.1.7 Path too long"; /* smtp_addr checked it */
	if (no != NULL) {
		metrics_inc(strncmp(no, "552", 3) == 0 ? METRICS_REJ_MESSAGE
						       : METRICS_REJ_PROTOCOL);
		session_reply(s, "%s", no);
		(void)session_error(s);
		return;
	}
	if (!session_submit_sender(s, &cmd->path))
		return;
	if (sender_not_owned(s, &cmd->path)) {
		session_reply(s,
		    "553 5.7.1 <%s>: Sender address rejected: not owned by "
		    "user %s",
		    cmd->path.mailbox, s->auth_user);
		metrics_inc(METRICS_REJ_SENDER);
		(void)session_error(s);
		return;
	}
	session_reset(s); /* keeps qf->sender */
	if (p->body == SMTP_BODY_8BITMIME)
		qf->flags |= QUEUE_F_8BITMIME;
	else if (p->body == SMTP_BODY_7BIT)
		qf->flags |= QUEUE_F_7BIT;
	if (p->present & SMTP_PARAM_SMTPUTF8)
		qf->flags |= QUEUE_F_SMTPUTF8;
	if (p->ret == SMTP_RET_FULL)
		qf->flags |= QUEUE_F_RET_FULL;
	else if (p->ret == SMTP_RET_HDRS)
		qf->flags |= QUEUE_F_RET_HDRS;
	/* Its bounces may quote the body: the sender cannot be forged. */
	if (session_auth_trusted(s) || s->env->submit != NULL ||
	    smtp_addr_client_trusted(
		&s->env->peer, s->nets, s->cfg->nrelay_from))
		qf->flags |= QUEUE_F_TRUSTED;
	(void)strlcpy(qf->envid, p->envid, sizeof(qf->envid));
	s->in_mail = 1;
	session_reply(s, "250 2.1.0 Ok");
}

static int
rcpt_add(struct session *s, const struct smtp_command *cmd)
{
	struct queue_file *qf = &s->qf;
	struct queue_rcpt *r;
	size_t ncap;

	if (qf->nrcpt == s->rcap) {
		ncap = s->rcap == 0 ? 8 : s->rcap * 2;
		if ((r = reallocarray(qf->rcpt, ncap, sizeof(*r))) == NULL)
			return -1;
		qf->rcpt = r;
		s->rcap = ncap;
	}
	r = &qf->rcpt[qf->nrcpt];
	memset(r, 0, sizeof(*r));
	if (path_form(r->path, cmd->path.mailbox) == -1)
		return -1;
	qf->nrcpt++;
	r->state = QUEUE_RCPT_PENDING;
	r->notify = cmd->params.notify;
	(void)strlcpy(r->orcpt, cmd->params.orcpt, sizeof(r->orcpt));
	return 0;
}

/*
 * Backscatter: a client outside relay_from may only send to the
 * relay_recipients of a relay domain, so mail to an unknown user is
 * refused now rather than bounced later to a sender it may have forged.
 */
static int
rcpt_unknown(const struct session *s, const struct smtp_path *path)
{
	const struct session_env *env = s->env;

	if (env->rcpts == NULL || session_auth_trusted(s) ||
	    env->submit != NULL ||
	    smtp_addr_client_trusted(&env->peer, s->nets, s->cfg->nrelay_from))
		return 0;
	return !recipients_match(env->rcpts, path->local, path->domain);
}

static void
cmd_rcpt(struct session *s, const struct smtp_command *cmd)
{
	const struct session_env *env = s->env;

	if (!s->in_mail) {
		session_reply(s, "503 5.5.1 Error: need MAIL command");
		(void)session_error(s);
	} else if (s->bdat) {
		session_reply(s, "503 5.5.1 Error: RCPT after BDAT");
		(void)session_error(s);
	} else if (s->qf.nrcpt >= s->cfg->max_recipients) {
		session_reply(s, "452 4.5.3 Too many recipients");
	} else if (!session_auth_trusted(s) && env->submit == NULL &&
	    smtp_addr_relay_check(&env->peer, s->nets, s->cfg->nrelay_from,
		s->domains, s->cfg->nrelay_domains,
		cmd->path.domain) != SMTP_ADDR_OK) {
		session_reply(
		    s, "554 5.7.1 <%s>: Relaying denied", cmd->path.mailbox);
		metrics_inc(METRICS_REJ_RELAY);
		(void)session_error(s);
	} else if (rcpt_unknown(s, &cmd->path)) {
		session_reply(s,
		    "550 5.1.1 <%s>: Recipient address rejected: User "
		    "unknown in relay recipient table",
		    cmd->path.mailbox);
		metrics_inc(METRICS_REJ_RECIPIENT);
		(void)session_error(s);
	} else if (rcpt_add(s, cmd) == -1) {
		session_reply(s, "452 4.3.1 Insufficient system storage");
	} else {
		session_reply(s, "250 2.1.5 Ok");
	}
}

static void
cmd_other(struct session *s, const struct smtp_command *cmd)
{
	switch (cmd->verb) {
	case SMTP_VERB_RSET:
		session_reset(s);
		session_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_NOOP:
		session_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_QUIT:
		session_quitting(s);
		session_reply(s, "221 2.0.0 Bye");
		s->quit = 1;
		break;
	case SMTP_VERB_HELP:
		session_reply(s,
		    "214 2.0.0 Commands: EHLO HELO MAIL RCPT DATA "
		    "BDAT RSET NOOP QUIT HELP; see RFC 5321");
		break;
	case SMTP_VERB_VRFY: /* no disclosure (doc/design.md, Queue) */
		session_reply(s,
		    "252 2.5.2 Cannot VRFY user; send mail to "
		    "attempt delivery");
		break;
	case SMTP_VERB_EXPN:
		session_reply(s, "502 5.5.1 EXPN not available");
		break;
	case SMTP_VERB_STARTTLS:
		session_starttls(s);
		break;
	case SMTP_VERB_XQUEUE:
		session_list(s);
		break;
	default: /* AUTH */
		session_auth(s, cmd);
		break;
	}
}

void
session_command(struct session *s, const char *line, size_t len)
{
	struct smtp_command cmd;
	enum smtp_parse_err e;
	unsigned int fl = 0;

	if (s->in_mail && s->qf.flags & QUEUE_F_SMTPUTF8)
		fl |= SMTP_PARSE_UTF8;
	if ((e = smtp_parse_command(line, len, fl, &cmd)) != SMTP_PARSE_OK) {
		session_reply(s, "%s", smtp_parse_reply(e, cmd.verb)->line);
		/*
		 * A bare LF may be a smuggling attempt; a bad BDAT leaves
		 * its chunk unread, so the stream cannot be trusted.
		 */
		if (e == SMTP_PARSE_EBARELF || cmd.verb == SMTP_VERB_BDAT)
			s->quit = 1;
		metrics_inc(METRICS_REJ_PROTOCOL);
		(void)session_error(s);
		return;
	}
	if (session_tls_required(s, cmd.verb)) {
		session_reply(
		    s, "530 5.7.0 Must issue a STARTTLS command first");
		metrics_inc(METRICS_REJ_PROTOCOL);
		(void)session_error(s);
		return;
	}
	switch (cmd.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		cmd_helo(s, &cmd);
		break;
	case SMTP_VERB_MAIL:
		cmd_mail(s, &cmd);
		break;
	case SMTP_VERB_RCPT:
		cmd_rcpt(s, &cmd);
		break;
	case SMTP_VERB_DATA:
		session_data(s);
		break;
	case SMTP_VERB_BDAT:
		session_bdat(s, &cmd);
		break;
	default:
		cmd_other(s, &cmd);
		break;
	}
}
