/*
 * Local submission in the smtp child (a session on submit_socket, whose
 * submitter's uid and login were taken before the drop): the sender
 * policy (local_senders), and the Date, Message-ID and From fields added
 * to a message that lacks them, at the end of its header section, as
 * Postfix's cleanup does for local mail.  Trust boundary: the message is
 * the (local, unprivileged) client's; only the fields we add are ours.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "session_int.h"

#define SUBMIT_HDR_DATE 0x1
#define SUBMIT_HDR_MSGID 0x2
#define SUBMIT_HDR_FROM 0x4

/*
 * local_senders = own: a user (not root) may send only as its own
 * address, LOGIN@DOMAIN, or with the null sender, which names no one.
 * 1 if MAIL may go on, else 0 with the refusal sent.
 */
int
session_submit_sender(struct session *s, const struct smtp_path *path)
{
	const struct session_submit *sub = s->env->submit;
	const char *at;
	size_t n;

	if (sub == NULL || sub->any_sender || path->null)
		return 1;
	at = strrchr(sub->own, '@');
	n = (size_t)(at - sub->own);
	if (strlen(path->local) == n &&
	    strncmp(path->local, sub->own, n) == 0 &&
	    strcasecmp(path->domain, at + 1) == 0)
		return 1;
	log_info("[local]: uid=%lu (%s): sender <%s> refused (local_senders "
		 "= own)",
	    (unsigned long)sub->uid, sub->login, path->mailbox);
	session_reply(s,
	    "553 5.7.1 <%s>: Sender address rejected: not owned by user %s",
	    path->mailbox, sub->login);
	metrics_inc(METRICS_REJ_SENDER);
	(void)session_error(s);
	return 0;
}

void
session_submit_start(struct session *s)
{
	memset(&s->sh, 0, sizeof(s->sh));
	s->sh.active = s->env->submit != NULL;
}

/* The missing fields; the header section ends after them. */
static void
add_fields(struct session *s)
{
	const struct session_submit *sub = s->env->submit;
	struct submit_hdr *h = &s->sh;
	const char *sender = s->qf.sender;
	char buf[1024], date[64], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t len;
	int n = 0;

	h->active = 0;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) ==
		0 ||
	    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm) == 0)
		date[0] = stamp[0] = '\0';
	buf[0] = '\0';
	if (!(h->seen & SUBMIT_HDR_DATE) && date[0] != '\0')
		n = snprintf(buf, sizeof(buf), "Date: %s\r\n", date);
	len = n > 0 ? (size_t)n : 0;
	if (!(h->seen & SUBMIT_HDR_MSGID) && stamp[0] != '\0' &&
	    (n = snprintf(buf + len, sizeof(buf) - len,
		 "Message-ID: <%s.%s@%s>\r\n", stamp, s->qf.id,
		 s->cfg->hostname)) > 0)
		len += (size_t)n;
	/* The envelope sender (<x> already), else the user's own address. */
	if (!(h->seen & SUBMIT_HDR_FROM) && len < sizeof(buf) &&
	    (n = snprintf(buf + len, sizeof(buf) - len, "From: %s%s%s\r\n",
		 strcmp(sender, "<>") != 0 ? "" : "<",
		 strcmp(sender, "<>") != 0 ? sender : sub->own,
		 strcmp(sender, "<>") != 0 ? "" : ">")) > 0)
		len += (size_t)n;
	if (len < sizeof(buf))
		(void)queue_body_add(s->qb, buf, len);
}

/* Is pend[0..n) (the text before ':') a field we add when missing? */
static unsigned int
field_of(const char *name, size_t n)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} f[] = { { "date", SUBMIT_HDR_DATE },
		{ "message-id", SUBMIT_HDR_MSGID },
		{ "from", SUBMIT_HDR_FROM } };
	size_t i;

	while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
		n--;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strlen(f[i].name) == n &&
		    strncasecmp(name, f[i].name, n) == 0)
			return f[i].bit;
	return 0;
}

/*
 * One octet at the start of a line, held back in pend.  Returns 1 when
 * the line is decided: a field or continuation (in_line set) or the end
 * of the header section (active cleared); pend is then flushed.
 */
static int
line_start(struct session *s, unsigned char c)
{
	struct submit_hdr *h = &s->sh;

	h->pend[h->npend++] = (char)c;
	if (h->npend == 1 && (c == ' ' || c == '\t')) {
		h->in_line = 1; /* a continuation line */
		return 1;
	}
	if (h->npend == 1 && c == '\r')
		return 0; /* an empty line, unless a bare CR */
	if (h->npend == 2 && h->pend[0] == '\r' && c == '\n') {
		add_fields(s); /* the empty line: the body follows */
		return 1;
	}
	if (c == ':' && h->npend > 1) {
		h->seen |= field_of(h->pend, h->npend - 1);
		h->in_line = 1;
		return 1;
	}
	if (c == ' ' || c == '\t') {
		h->wsp = 1;
		return 0;
	}
	/* Not a field name: the body starts here, after an empty line. */
	if (c < 33 || c > 126 || h->wsp) {
		add_fields(s);
		(void)queue_body_add(s->qb, "\r\n", 2);
		return 1;
	}
	if (h->npend == sizeof(h->pend)) { /* a very long name: a field */
		h->in_line = 1;
		return 1;
	}
	return 0;
}

void
session_submit_add(struct session *s, const char *buf, size_t len)
{
	struct submit_hdr *h = &s->sh;
	const char *nl;
	size_t i = 0, n;

	while (i < len && h->active) {
		if (h->in_line) {
			nl = memchr(buf + i, '\n', len - i);
			n = nl != NULL ? (size_t)(nl - (buf + i)) + 1 : len - i;
			(void)queue_body_add(s->qb, buf + i, n);
			i += n;
			if (nl != NULL)
				h->in_line = h->wsp = 0;
			continue;
		}
		if (line_start(s, (unsigned char)buf[i++])) {
			(void)queue_body_add(s->qb, h->pend, h->npend);
			h->npend = 0;
		}
	}
	if (i < len)
		(void)queue_body_add(s->qb, buf + i, len - i);
}

/* At the end of the message: a header section that never ended. */
void
session_submit_end(struct session *s)
{
	struct submit_hdr *h = &s->sh;

	if (!h->active)
		return;
	if (h->npend > 0) /* cannot happen after DATA: it ends in CRLF */
		(void)queue_body_add(s->qb, h->pend, h->npend);
	h->npend = 0;
	add_fields(s);
}
