/*
 * One SMTP mail transaction over an open smtpc connection: MAIL with the
 * parameters the server offers, RCPT (pipelined in bounded batches),
 * DATA, per-recipient results.  The message comes from our own queue
 * file; replies come from an untrusted server and only their code class
 * decides what happens next.
 */
#include <stdio.h>
#include <string.h>

#include "queue.h"
#include "smtp_addr.h"
#include "smtp_parse.h"
#include "smtpc_int.h"

#define SMTPC_PIPE_MAX 50 /* RCPTs in flight: bounds both socket buffers */
#define SMTPC_UNSET (-1) /* rcpt_st[i].code before its reply */

struct smtpc_txn {
	struct smtpc *c;
	const struct queue_file *qf;
	const size_t *idx;
	size_t n;
	struct smtpc_status *rst, *mst;
	size_t size; /* the message once folded: SIZE= */
};

static int
smtpc_utf8_env(const struct smtpc_txn *x)
{
	size_t i;
	const char *p;

	if (smtp_addr_8bit(x->qf->sender, strlen(x->qf->sender)))
		return 1;
	for (i = 0; i < x->n; i++) {
		p = x->qf->rcpt[x->idx[i]].path;
		if (smtp_addr_8bit(p, strlen(p)))
			return 1;
	}
	return 0;
}

/* Every recipient without a final answer gets st; so does the message. */
static void
smtpc_txn_settle(
    struct smtpc_txn *x, const struct smtpc_status *st, int keep_5xx)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		if (!keep_5xx || x->rst[i].code == SMTPC_UNSET ||
		    x->rst[i].code / 100 == 2)
			x->rst[i] = *st;
	*x->mst = *st;
}

/* Connection lost or protocol error while waiting for `after`. */
static int
smtpc_txn_lost(struct smtpc_txn *x, const char *after)
{
	struct smtpc_status st;

	smtpc_status_lost(x->c, after, &st);
	smtpc_txn_settle(x, &st, 1);
	return -1;
}

/* Read a reply to `after`; a reply class outside 2/4/5 breaks c. */
static int
smtpc_txn_reply(struct smtpc_txn *x, unsigned timeout, const char *after,
    struct smtpc_status *st)
{
	struct smtpc *c = x->c;
	int cls;

	if (smtpc_io_reply(c, timeout) != 0) {
		smtpc_status_lost(c, after, st);
		return -1;
	}
	smtpc_status_reply(c, st);
	cls = c->reply.code / 100;
	if (cls != 2 && cls != 4 && cls != 5) {
		c->broken = 1;
		c->proto = 1;
		(void)snprintf(c->why, sizeof(c->why), "unexpected reply %d",
		    c->reply.code);
		smtpc_status_lost(c, after, st);
		return -1;
	}
	if (c->reply.code == 421)
		c->broken = 1;
	return 0;
}

static int
smtpc_txn_mail(struct smtpc_txn *x, int eight, int utf8)
{
	const struct queue_file *qf = x->qf;
	unsigned ext = x->c->ext;
	char cmd[SMTPC_CMD_MAX];
	int n;

	n = snprintf(cmd, sizeof(cmd), "MAIL FROM:%s", qf->sender);
	if (ext & SMTPC_EXT_SIZE && n > 0 && (size_t)n < sizeof(cmd))
		n += snprintf(
		    cmd + n, sizeof(cmd) - (size_t)n, " SIZE=%zu", x->size);
	if (ext & SMTPC_EXT_8BITMIME &&
	    (eight || qf->flags & QUEUE_F_8BITMIME) && n > 0 &&
	    (size_t)n < sizeof(cmd))
		n += snprintf(
		    cmd + n, sizeof(cmd) - (size_t)n, " BODY=8BITMIME");
	if (ext & SMTPC_EXT_SMTPUTF8 &&
	    (utf8 || qf->flags & QUEUE_F_SMTPUTF8) && n > 0 &&
	    (size_t)n < sizeof(cmd))
		n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " SMTPUTF8");
	if (ext & SMTPC_EXT_DSN &&
	    qf->flags & (QUEUE_F_RET_FULL | QUEUE_F_RET_HDRS) && n > 0 &&
	    (size_t)n < sizeof(cmd))
		n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " RET=%s",
		    qf->flags & QUEUE_F_RET_FULL ? "FULL" : "HDRS");
	if (ext & SMTPC_EXT_DSN && qf->envid[0] != '\0' && n > 0 &&
	    (size_t)n < sizeof(cmd))
		n += snprintf(
		    cmd + n, sizeof(cmd) - (size_t)n, " ENVID=%s", qf->envid);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return smtpc_io_cmd(x->c, cmd, x->c->to.mail);
}

static int
smtpc_txn_rcpt(struct smtpc_txn *x, size_t i)
{
	const struct queue_rcpt *r = &x->qf->rcpt[x->idx[i]];
	unsigned nt = r->notify;
	char cmd[SMTPC_CMD_MAX];
	int n, dsn = (x->c->ext & SMTPC_EXT_DSN) != 0;

	n = snprintf(cmd, sizeof(cmd), "RCPT TO:%s", r->path);
	if (dsn && nt != 0 && n > 0 && (size_t)n < sizeof(cmd))
		n += snprintf(cmd + n, sizeof(cmd) - (size_t)n,
		    " NOTIFY=%s%s%s%s", nt & SMTP_NOTIFY_NEVER ? "NEVER" : "",
		    nt & SMTP_NOTIFY_SUCCESS ? "SUCCESS," : "",
		    nt & SMTP_NOTIFY_FAILURE ? "FAILURE," : "",
		    nt & SMTP_NOTIFY_DELAY ? "DELAY," : "");
	if (n > 0 && (size_t)n < sizeof(cmd) && cmd[n - 1] == ',')
		cmd[--n] = '\0';
	if (dsn && r->orcpt[0] != '\0' && n > 0 && (size_t)n < sizeof(cmd))
		n += snprintf(
		    cmd + n, sizeof(cmd) - (size_t)n, " ORCPT=%s", r->orcpt);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return smtpc_io_cmd(x->c, cmd, x->c->to.rcpt);
}

/* MAIL and the RCPTs; returns -1 if the connection broke. */
static int
smtpc_txn_envelope(
    struct smtpc_txn *x, int eight, int utf8, struct smtpc_status *mail)
{
	struct smtpc *c = x->c;
	int pipe = (c->ext & SMTPC_EXT_PIPELINING) != 0, mail_read = 0, rc;
	size_t b, e, i;

	if ((rc = smtpc_txn_mail(x, eight, utf8)) != 0)
		return rc == -1 ? -2 : smtpc_txn_lost(x, "after MAIL FROM");
	if (!pipe) {
		if (smtpc_io_flush(c, c->to.mail) != 0)
			return smtpc_txn_lost(x, "after MAIL FROM");
		if (smtpc_txn_reply(x, c->to.mail, "after MAIL FROM", mail))
			return smtpc_txn_lost(x, "after MAIL FROM");
		mail_read = 1;
		if (mail->code / 100 != 2)
			return 0;
	}
	for (b = 0; b < x->n; b = e) {
		e = pipe ? b + SMTPC_PIPE_MAX : b + 1;
		if (e > x->n)
			e = x->n;
		for (i = b; i < e; i++)
			if ((rc = smtpc_txn_rcpt(x, i)) != 0)
				return rc == -1
				    ? -2
				    : smtpc_txn_lost(x, "after RCPT TO");
		if (smtpc_io_flush(c, c->to.rcpt) != 0)
			return smtpc_txn_lost(x, "after RCPT TO");
		if (!mail_read) {
			if (smtpc_txn_reply(
				x, c->to.mail, "after MAIL FROM", mail))
				return smtpc_txn_lost(x, "after MAIL FROM");
			mail_read = 1;
			if (c->broken) /* 421 */
				return 0;
		}
		for (i = b; i < e; i++) {
			if (smtpc_txn_reply(x, c->to.rcpt, "after RCPT TO",
				&x->rst[i]) != 0)
				return smtpc_txn_lost(x, "after RCPT TO");
			if (c->broken) { /* 421: the server is going away */
				smtpc_txn_settle(x, &x->rst[i], 1);
				return -1;
			}
		}
		if (mail->code / 100 != 2)
			break;
	}
	return 0;
}

/* DATA, the message, the final reply; accepted recipients get it. */
static int
smtpc_txn_data(struct smtpc_txn *x)
{
	struct smtpc *c = x->c;
	struct smtpc_status st;
	int rc;

	if (smtpc_io_cmd(c, "DATA", c->to.data_init) != 0 ||
	    smtpc_io_flush(c, c->to.data_init) != 0)
		return smtpc_txn_lost(x, "after DATA");
	if (smtpc_io_reply(c, c->to.data_init) != 0)
		return smtpc_txn_lost(x, "after DATA");
	smtpc_status_reply(c, &st);
	if (c->reply.code != 354) {
		if (c->reply.code / 100 != 4 && c->reply.code / 100 != 5) {
			c->broken = 1;
			c->proto = 1;
			(void)snprintf(c->why, sizeof(c->why),
			    "unexpected reply %d", c->reply.code);
			return smtpc_txn_lost(x, "after DATA");
		}
		if (c->reply.code == 421)
			c->broken = 1;
		smtpc_txn_settle(x, &st, 1);
		return c->broken ? -1 : 0;
	}
	/* Until the final reply, dying must not let the message complete. */
	smtpc_io_abort_on_close(c, 1);
	rc = smtpc_io_data(c, x->qf, c->to.data_block, c->to.data_block);
	if (rc == SMTPC_UNREAD) {
		smtpc_status_set(&st, 0, "4.3.0", 1, "%s", c->why);
		smtpc_txn_settle(x, &st, 1);
		return -1;
	}
	if (rc != 0)
		return smtpc_txn_lost(x, "while sending the message");
	if (smtpc_txn_reply(x, c->to.data_term, "after end of data", &st))
		return smtpc_txn_lost(x, "after end of data");
	smtpc_io_abort_on_close(c, 0);
	smtpc_txn_settle(x, &st, 1);
	return c->broken ? -1 : 0;
}

/* Refusals that need no command; 1 if the transaction must not start. */
static int
smtpc_txn_refuse(struct smtpc_txn *x, int eight, int utf8)
{
	struct smtpc *c = x->c;
	struct smtpc_status st;
	size_t size = x->size;

	if (eight && !(c->ext & SMTPC_EXT_8BITMIME))
		smtpc_status_set(&st, 0, "5.6.3", 0,
		    "8-bit message and the server does not support 8BITMIME "
		    "(%s)",
		    c->peer);
	else if (utf8 && !(c->ext & SMTPC_EXT_SMTPUTF8))
		smtpc_status_set(&st, 0, "5.6.7", 0,
		    "SMTPUTF8 is required, but was not offered by %s", c->peer);
	else if (c->size_max > 0 && size > c->size_max)
		smtpc_status_set(&st, 0, "5.3.4", 0,
		    "message size %zu exceeds the size limit %llu of %s", size,
		    c->size_max, c->peer);
	else
		return 0;
	smtpc_txn_settle(x, &st, 0);
	return 1;
}

int
smtpc_send(struct smtpc *c, const struct queue_file *qf, const size_t *idx,
    size_t n, struct smtpc_status *rcpt_st, struct smtpc_status *msg_st)
{
	struct smtpc_txn x = { c, qf, idx, n, rcpt_st, msg_st, 0 };
	struct smtpc_status mail, st;
	int eight, utf8, rc;
	size_t i, ok = 0;

	for (i = 0; i < n; i++)
		rcpt_st[i].code = SMTPC_UNSET;
	smtpc_status_set(msg_st, 0, "4.3.0", 1, "no recipients");
	if (n == 0)
		return c->broken ? -1 : 0;
	if (c->broken)
		return smtpc_txn_lost(&x, "before MAIL FROM");
	/* One read of the message first: MAIL says its size and body. */
	if ((rc = smtpc_io_data_scan(qf, &x.size, &eight)) != 0) {
		smtpc_status_set(&st, 0, "4.3.0", 1,
		    "cannot read the message: %s", strerror(-rc));
		smtpc_txn_settle(&x, &st, 0);
		return 0;
	}
	utf8 = smtpc_utf8_env(&x);
	if (smtpc_txn_refuse(&x, eight, utf8))
		return 0;
	if (c->used) {
		if (smtpc_io_cmd(c, "RSET", c->to.helo) != 0 ||
		    smtpc_io_flush(c, c->to.helo) != 0 ||
		    smtpc_txn_reply(&x, c->to.helo, "after RSET", &st) != 0)
			return smtpc_txn_lost(&x, "after RSET");
		if (st.code / 100 != 2) {
			c->broken = 1; /* a server that refuses RSET is lost */
			smtpc_txn_settle(&x, &st, 0);
			for (i = 0; i < n; i++)
				rcpt_st[i].temporary = 1;
			msg_st->temporary = 1;
			return -1;
		}
	}
	c->used = 1;
	smtpc_status_set(&mail, 0, "4.3.0", 1, "no reply to MAIL FROM");
	if ((rc = smtpc_txn_envelope(&x, eight, utf8, &mail)) != 0) {
		if (rc == -2) {
			smtpc_status_set(&st, 0, "5.3.0", 0,
			    "queue file field does not fit an SMTP command");
			smtpc_txn_settle(&x, &st, 0);
			c->broken = 1; /* half a command may be buffered */
		}
		return -1;
	}
	if (mail.code / 100 != 2) {
		smtpc_txn_settle(&x, &mail, 0);
		return c->broken ? -1 : 0;
	}
	for (i = 0; i < n; i++)
		ok += rcpt_st[i].code / 100 == 2;
	if (ok == 0) {
		*msg_st = rcpt_st[0];
		return c->broken ? -1 : 0;
	}
	return smtpc_txn_data(&x);
}
