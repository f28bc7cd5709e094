/*
 * DATA and BDAT for the smtp child: the message is decoded (smtp_data for
 * DATA, the same checks done here for raw BDAT chunks), prefixed with our
 * Received: field and written to an unnamed file in SPOOL/tmp as it
 * arrives (queue_body), so the child's memory does not grow with the
 * message; then enqueued.  Trust boundary: message octets are client
 * data; a flagged message is refused whole and nothing of it is kept.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "milter.h"
#include "session_int.h"
#include "smtp_data.h"

/*
 * smtp_data output callback.  A write error (ENOSPC) sticks in the body
 * and is answered at the end of data: decoding goes on, so we never lose
 * our place in the stream.
 */
static int
data_out(void *arg, const char *buf, size_t len)
{
	struct session *s = arg;

	session_submit_add(s, buf, len);
	return 0;
}

/* A new id and our Received: field (RFC 5321 4.4) as the first octets. */
static int
message_start(struct session *s)
{
	struct queue_file *qf = &s->qf;
	const char *proto, *v6 = "", *tls = s->tls[0] != '\0' ? "S" : "";
	const struct session_submit *sub = s->env->submit;
	/* RFC 3848 ESMTPSA; the login itself stays out of the header. */
	const char *auth = session_auth_trusted(s) ? "A" : "";
	char date[64], hdr[1400], from[80];
	struct tm tm;
	time_t now = time(NULL);
	int n, rv;

	queue_id_new(qf->id);
	qf->arrival = (int64_t)now;
	qf->attempts = 0;
	qf->next_try = 0;
	qf->size = 0;
	if (sub != NULL) /* "local:UID": whose it is, for sendmail -bp */
		(void)snprintf(qf->client, sizeof(qf->client), "local:%lu",
		    (unsigned long)sub->uid);
	else
		(void)strlcpy(qf->client, s->addr, sizeof(qf->client));
	(void)strlcpy(qf->helo, s->helo, sizeof(qf->helo));
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) ==
		0)
		return -EINVAL;
	proto = qf->flags & QUEUE_F_SMTPUTF8 ? "UTF8SMTP"
	    : s->esmtp                       ? "ESMTP"
					     : "SMTP";
	if (strchr(s->addr, ':') != NULL)
		v6 = "IPv6:";
	/* A local submission is named by its uid, as Postfix's pickup. */
	if (sub != NULL)
		n = snprintf(
		    from, sizeof(from), "uid %lu", (unsigned long)sub->uid);
	else
		n = snprintf(from, sizeof(from), "[%s%s]", v6, s->addr);
	if (n < 0 || (size_t)n >= sizeof(from))
		return -EINVAL;
	/* RFC 3848: ESMTPS, UTF8SMTPS; the TLS in use as Postfix says it. */
	n = snprintf(hdr, sizeof(hdr),
	    "Received: from %s (%s)\r\n"
	    "%s%s%s%s"
	    "\tby %s (relayd) with %s%s%s id %s%s%s;\r\n"
	    "\t%s\r\n",
	    s->helo, from, *tls ? "\t(using " : "", s->tls, *tls ? ")\r\n" : "",
	    *auth ? "\t(authenticated)\r\n" : "", s->cfg->hostname, proto,
	    s->esmtp ? tls : "", s->esmtp ? auth : "", qf->id,
	    qf->nrcpt == 1 ? "\r\n\tfor " : "",
	    qf->nrcpt == 1 ? qf->rcpt[0].path : "", date);
	if (n < 0 || (size_t)n >= sizeof(hdr))
		return -EINVAL;
	queue_body_free(s->qb);
	s->qb = NULL;
	if ((rv = queue_body_open(s->env->spoolfd, qf->id, &s->qb)) != 0) {
		log_warnx(
		    "%s: cannot start queue file: %s", qf->id, strerror(-rv));
		return rv;
	}
	session_submit_start(s);
	return queue_body_add(s->qb, hdr, (size_t)n);
}

/*
 * The milters (relayd.conf(5), milter) see the message and may change it
 * before it is queued.  Returns 1 if that answered the client.
 */
static int
message_milters(struct session *s, struct milter_outcome *out)
{
	const char *root = s->env->root;
	struct milter_env me = { .cfg = s->cfg,
		.root = root == NULL || strcmp(root, "/") == 0 ? "" : root,
		.spoolfd = s->env->spoolfd,
		.peer = &s->env->peer,
		.addr = s->addr,
		.helo = s->helo,
		.auth_user = s->auth_user };
	size_t i;

	if (s->cfg->nmilter == 0)
		return 0;
	session_title(s, "milter");
	milter_message(&me, &s->qf, &s->rcap, &s->qb, out);
	if (out->verdict == MILTER_CONTINUE)
		return 0;
	if (out->verdict == MILTER_DISCARD) {
		log_info("%s: discarded by a milter", s->qf.id);
		session_reply(s, "250 2.0.0 Ok: queued as %s", s->qf.id);
	} else {
		log_info("%s: milter reject from [%s]: %s", s->qf.id, s->addr,
		    out->reply[out->nreply - 1]);
		metrics_inc(METRICS_REJ_MILTER);
		for (i = 0; i < out->nreply; i++)
			session_reply(s, "%s", out->reply[i]);
	}
	session_reset(s);
	return 1;
}

/* Store the message and answer; the transaction is over either way. */
static void
message_commit(struct session *s)
{
	struct queue_file *qf = &s->qf;
	struct milter_outcome mo;
	char uid[32] = "";
	int rv;

	if (s->env->submit != NULL)
		(void)snprintf(uid, sizeof(uid), "%lu, ",
		    (unsigned long)s->env->submit->uid);
	/* Date, Message-ID, From if missing: milters see them (DKIM). */
	session_submit_end(s);
	memset(&mo, 0, sizeof(mo));
	if (message_milters(s, &mo))
		return;
	session_title(s, "enqueue");
	/* A milter's quarantine: hold/, until relayctl queue release. */
	rv = queue_enqueue_body_to(
	    s->env->spoolfd, mo.quarantine ? "hold" : "queue", qf, s->qb);
	if (rv != 0) {
		log_warnx(
		    "%s: queue file write error: %s", qf->id, strerror(-rv));
		if (rv == -ENOSPC || rv == -EDQUOT)
			session_reply(
			    s, "452 4.3.1 Insufficient system storage");
		else
			session_reply(
			    s, "451 4.3.0 Error: queue file write error");
	} else {
		/* The login (never the password) names who sent it. */
		log_info("%s: client=[%s], helo=%s, %s%s%s%s%sfrom=%s, "
			 "nrcpt=%zu, size=%zu",
		    qf->id, s->addr, s->helo,
		    *s->auth_user ? "sasl_username=" : "", s->auth_user,
		    *s->auth_user ? ", " : "", s->env->submit ? "uid=" : "",
		    s->env->submit ? uid : "", qf->sender, qf->nrcpt, qf->size);
		if (mo.quarantine)
			log_info("%s: held: quarantined by a milter: %s",
			    qf->id, mo.reason);
		metrics_inc(METRICS_ACCEPTED);
		session_reply(s, "250 2.0.0 Ok: queued as %s", qf->id);
	}
	session_reset(s);
}

/* The reply for a refused message, and the log line. */
static void
message_refuse(struct session *s, const struct smtp_reply *r)
{
	log_info("%s: reject from [%s]: %s", s->qf.id, s->addr, r->line);
	metrics_inc(METRICS_REJ_MESSAGE);
	session_reply(s, "%s", r->line);
	session_reset(s);
}

static const char *
data_refusal(const struct session *s)
{
	if (!s->in_mail)
		return "503 5.5.1 Error: need MAIL command";
	if (s->qf.nrcpt == 0)
		return "503 5.5.1 Error: need RCPT command";
	if (s->bdat)
		return "503 5.5.1 Error: DATA after BDAT";
	return NULL;
}

void
session_data(struct session *s)
{
	const struct smtp_reply *rep;
	struct smtp_data d;
	const char *p, *no;
	size_t avail, used;
	int r;

	if ((no = data_refusal(s)) != NULL) {
		session_reply(s, "%s", no);
		(void)session_error(s);
		return;
	}
	if (message_start(s) != 0) {
		session_reply(s, "451 4.3.0 Error: local error");
		session_reset(s);
		return;
	}
	session_reply(s, "354 End data with <CR><LF>.<CR><LF>");
	session_title(s, "data");
	smtp_data_init(&d, s->cfg->max_message_size, (unsigned)s->cfg->max_hops,
	    data_out, s);
	d.max_line = s->cfg->max_line_length;
	for (;;) {
		p = sio_peek(&s->io, &avail);
		r = smtp_data_feed(&d, p, avail, &used);
		sio_consume(&s->io, used);
		if (r == 1)
			break;
		r = sio_fill(&s->io, (int)s->cfg->timeout_data_block * 1000);
		if (r == -ETIMEDOUT) {
			session_timeout(s);
			return;
		}
		if (r <= 0) {
			session_lost(s, "during DATA");
			return;
		}
	}
	if ((rep = smtp_data_reply(&d)) != NULL)
		message_refuse(s, rep);
	else
		message_commit(s);
}

/* One BDAT octet through the checks smtp_data does for DATA lines. */
static void
bdat_octet(struct bdat_check *b, unsigned char c, const struct config *cfg)
{
	static const char name[] = "received";

	if (b->prev_cr && c != '\n')
		b->flags |= SMTP_DATA_BARE_CR;
	if (c == '\n' && !b->prev_cr)
		b->flags |= SMTP_DATA_BARE_LF;
	if (c == '\0')
		b->flags |= SMTP_DATA_NUL;
	b->prev_cr = c == '\r';
	if (++b->line_len > cfg->max_line_length)
		b->flags |= SMTP_DATA_LONG_LINE;
	if (c == '\n') {
		if (b->line_len == 2)
			b->in_header = 0;
		b->line_len = 0;
		b->hdr_pos = 0;
		return;
	}
	if (!b->in_header || b->hdr_pos < 0)
		return;
	if (b->hdr_pos < (int)sizeof(name) - 1) {
		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		b->hdr_pos =
		    c == (unsigned char)name[b->hdr_pos] ? b->hdr_pos + 1 : -1;
	} else if (c != ' ' && c != '\t') {
		if (c == ':' && ++b->hops > cfg->max_hops)
			b->flags |= SMTP_DATA_HOPS;
		b->hdr_pos = -1;
	}
}

/*
 * Check and keep len chunk octets (nothing is kept once flagged; a write
 * error sticks in the body and is answered after the last chunk).
 */
static void
bdat_take(struct session *s, const char *p, size_t len)
{
	struct bdat_check *b = &s->bc;
	size_t i;

	for (i = 0; i < len; i++)
		bdat_octet(b, (unsigned char)p[i], s->cfg);
	s->body += len;
	if (s->body > (uint64_t)s->cfg->max_message_size)
		b->flags |= SMTP_DATA_TOO_BIG;
	if (b->flags == 0)
		session_submit_add(s, p, len);
}

/* Read and pass on (or drop, with no) size octets; -1 if the session ends. */
static int
bdat_read(struct session *s, uint64_t size, const char *no)
{
	const char *p;
	size_t avail, n;
	int r;

	while (size > 0) {
		p = sio_peek(&s->io, &avail);
		if (avail == 0) {
			r = sio_fill(
			    &s->io, (int)s->cfg->timeout_data_block * 1000);
			if (r == -ETIMEDOUT)
				session_timeout(s);
			else if (r <= 0)
				session_lost(s, "during BDAT");
			if (r <= 0)
				return -1;
			continue;
		}
		n = avail < size ? avail : (size_t)size;
		if (no == NULL)
			bdat_take(s, p, n);
		sio_consume(&s->io, n);
		size -= n;
	}
	return 0;
}

static void
bdat_last(struct session *s)
{
	const struct smtp_reply *rep;
	struct smtp_data flagged;

	if (s->bc.prev_cr)
		s->bc.flags |= SMTP_DATA_BARE_CR; /* CR as the last octet */
	/* A last line without CRLF gets one, as for DATA's final CRLF. */
	if (s->bc.flags == 0 && s->body > 0 && s->bc.line_len > 0)
		session_submit_add(s, "\r\n", 2);
	memset(&flagged, 0, sizeof(flagged));
	flagged.flags = s->bc.flags;
	if ((rep = smtp_data_reply(&flagged)) != NULL)
		message_refuse(s, rep);
	else
		message_commit(s);
}

void
session_bdat(struct session *s, const struct smtp_command *cmd)
{
	const char *no = NULL;
	int local = 0;

	if (!s->in_mail)
		no = "503 5.5.1 Error: need MAIL command";
	else if (s->qf.nrcpt == 0)
		no = "503 5.5.1 Error: need RCPT command";
	else if (!s->bdat && message_start(s) != 0) {
		no = "451 4.3.0 Error: local error";
		local = 1;
	} else if (!s->bdat) {
		s->bdat = 1;
		s->bc.in_header = 1;
	}
	session_title(s, "data");
	/* The chunk is read even when refused: it is never a command. */
	if (bdat_read(s, cmd->bdat_size, no) == -1)
		return;
	if (local) {
		session_reply(
		    s, "%s", no); /* our fault: the transaction ends */
		session_reset(s);
	} else if (no != NULL) {
		session_reply(s, "%s", no);
		(void)session_error(s);
	} else if (cmd->bdat_last)
		bdat_last(s);
	else
		session_reply(s, "250 2.0.0 Ok: %" PRIu64 " octets received",
		    cmd->bdat_size);
}
