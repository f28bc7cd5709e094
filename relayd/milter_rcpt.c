/*
 * A milter's envelope changes at end of message: recipients added or
 * removed, the sender changed, quarantine asked for.  Trust boundary: an
 * address from the filter goes through smtp_addr_parse like one from a
 * client (no routes, no CR/LF), so the queue file stays well formed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "milter_int.h"

/* A filter's address ("a@b" or "<a@b>") as a checked "<a@b>". */
static int
path_of(const char *s, enum smtp_addr_kind kind, int utf8, char *path)
{
	char buf[SMTP_PATH_MAX + 3];
	struct smtp_path p;
	size_t used, n;
	int k;

	k = snprintf(buf, sizeof(buf), s[0] == '<' ? "%s" : "<%s>", s);
	if (k < 0 || (size_t)k >= sizeof(buf))
		return -EINVAL;
	n = (size_t)k;
	if (smtp_addr_parse(buf, n, kind, utf8, &p, &used) != SMTP_ADDR_OK ||
	    used != n)
		return -EINVAL;
	k = snprintf(path, SMTP_PATH_MAX + 1, "<%s>", p.mailbox);
	return k < 0 || k > SMTP_PATH_MAX ? -EINVAL : 0;
}

static int
rcpt_add(struct queue_file *qf, size_t *rcap, const char *path)
{
	struct queue_rcpt *r;
	size_t ncap;

	if (qf->nrcpt >= QUEUE_RCPT_MAX)
		return -EINVAL;
	if (qf->nrcpt == *rcap) {
		ncap = *rcap == 0 ? 8 : *rcap * 2;
		if ((r = reallocarray(qf->rcpt, ncap, sizeof(*r))) == NULL)
			return -ENOMEM;
		qf->rcpt = r;
		*rcap = ncap;
	}
	r = &qf->rcpt[qf->nrcpt++];
	memset(r, 0, sizeof(*r));
	(void)strlcpy(r->path, path, sizeof(r->path));
	r->state = QUEUE_RCPT_PENDING;
	return 0;
}

static void
rcpt_del(struct queue_file *qf, const char *path)
{
	size_t i, j = 0;

	for (i = 0; i < qf->nrcpt; i++)
		if (strcasecmp(qf->rcpt[i].path, path) != 0)
			qf->rcpt[j++] = qf->rcpt[i];
	qf->nrcpt = j;
}

/* The quarantine reason, printable ASCII only, for the log. */
static void
quarantine(struct milter_outcome *out, const char *why)
{
	size_t i;

	out->quarantine = 1;
	(void)strlcpy(out->reason, why, sizeof(out->reason));
	for (i = 0; out->reason[i] != '\0'; i++)
		if (out->reason[i] < ' ' || out->reason[i] > '~')
			out->reason[i] = '?';
}

int
milter_envelope_mods(struct milter_conn *c, struct queue_file *qf, size_t *rcap,
    struct milter_outcome *out)
{
	int utf8 = (qf->flags & QUEUE_F_SMTPUTF8) != 0, rv = 0;
	char path[SMTP_PATH_MAX + 1];
	const struct milter_mod *m;
	size_t i;

	for (i = 0; i < c->nmods && rv == 0; i++) {
		m = &c->mods[i];
		switch (m->cmd) {
		case MILTER_R_ADDRCPT:
		case MILTER_R_ADDRCPT_PAR:
			if ((rv = path_of(
				 m->a, SMTP_ADDR_FORWARD, utf8, path)) == 0)
				rv = rcpt_add(qf, rcap, path);
			if (rv == 0)
				log_info("%s: milter %s added %s", qf->id,
				    c->cm->socket, path);
			break;
		case MILTER_R_DELRCPT:
			if ((rv = path_of(
				 m->a, SMTP_ADDR_FORWARD, utf8, path)) == 0)
				rcpt_del(qf, path);
			break;
		case MILTER_R_CHGFROM:
			if ((rv = path_of(
				 m->a, SMTP_ADDR_REVERSE, utf8, path)) == 0)
				(void)strlcpy(
				    qf->sender, path, sizeof(qf->sender));
			break;
		case MILTER_R_QUARANTINE:
			quarantine(out, m->a);
			break;
		}
	}
	if (rv == 0 && qf->nrcpt == 0) {
		log_info("%s: milter %s removed every recipient: discarded",
		    qf->id, c->cm->socket);
		milter_outcome_set(out, MILTER_DISCARD, NULL);
	}
	return rv;
}
