/*
 * XQUEUE: the queue listing of sendmail -bp / mailq for a local user
 * (doc/design.md, Local submission).  The spool is the relay account's
 * and 0700, so a user cannot read it; the smtp child serving the
 * submit_socket runs as that account and lists, as a multi-line 250
 * reply, the messages whose client field is "local:UID" with the
 * submitter's SO_PEERCRED uid (every message for root).  What a user
 * sees is its own envelope and the delivery errors of its own messages,
 * which queue_error_set() made printable.  Not offered over TCP.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "session_int.h"
#include "spooldir.h"

#define LIST_MSG_MAX 1000 /* messages listed; the count says the rest */
#define LIST_RCPT_MAX 50 /* recipients listed per message */

static void
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, len, "%" PRId64, t);
}

static const char *
state_name(enum queue_rcpt_state st)
{
	return st == QUEUE_RCPT_SENT  ? "sent"
	    : st == QUEUE_RCPT_FAILED ? "failed"
				      : "pending";
}

/* One message as 250- lines (the layout of relayctl queue list). */
static void
list_one(struct session *s, const struct queue_file *qf, int held)
{
	char when[64];
	size_t i;

	fmt_time(qf->arrival, when, sizeof(when));
	session_reply(s, "250-%-16s %9zu  %s  %s%s", qf->id, qf->size, when,
	    qf->sender, held ? "  (held)" : "");
	if (qf->attempts > 0) {
		fmt_time(qf->next_try, when, sizeof(when));
		session_reply(s, "250-    attempts %u, next try %s",
		    qf->attempts, qf->next_try > 0 ? when : "now");
	}
	for (i = 0; i < qf->nrcpt && i < LIST_RCPT_MAX; i++) {
		session_reply(s, "250-    %-8s %s",
		    state_name(qf->rcpt[i].state), qf->rcpt[i].path);
		if (qf->rcpt[i].error[0] != '\0')
			session_reply(s, "250-             last error: %s",
			    qf->rcpt[i].error);
	}
	if (qf->nrcpt > LIST_RCPT_MAX)
		session_reply(s, "250-    and %zu more recipients",
		    qf->nrcpt - LIST_RCPT_MAX);
}

/* 1 if the submitter may see qf: its own, or root. */
static int
visible(const struct session_submit *sub, const struct queue_file *qf)
{
	uid_t uid;

	return sub->uid == 0 ||
	    (queue_client_local(qf->client, &uid) && uid == sub->uid);
}

/* The submitter's messages in SPOOL/sub; *shown and *total count them. */
static void
list_dir(struct session *s, const char *sub, size_t *shown, size_t *total)
{
	struct queue_file *qf;
	char **ids;
	size_t i, n;
	int dfd;

	if (spooldir_sub(s->env->spoolfd, sub, &dfd, NULL) != 0)
		return; /* no hold/: nothing held */
	ids = queue_dir_names(dfd, 0, &n);
	for (i = 0; i < n; i++) {
		/* Gone (delivered) since readdir, or unreadable: not listed. */
		if (queue_read_envelope(dfd, ids[i], &qf) == 0) {
			if (visible(s->env->submit, qf) &&
			    (*total)++ < LIST_MSG_MAX) {
				list_one(s, qf, strcmp(sub, "hold") == 0);
				(*shown)++;
				(void)sio_flush(&s->io,
				    (int)s->cfg->timeout_command * 1000);
			}
			queue_free(qf);
		}
		free(ids[i]);
	}
	free(ids);
	(void)close(dfd);
}

void
session_list(struct session *s)
{
	const struct session_submit *sub = s->env->submit;
	size_t shown = 0, total = 0;

	if (sub == NULL) { /* TCP: as any unknown command */
		session_reply(s, "%s",
		    smtp_parse_reply(SMTP_PARSE_EVERB, SMTP_VERB_NONE)->line);
		(void)session_error(s);
		return;
	}
	list_dir(s, "queue", &shown, &total);
	list_dir(s, "hold", &shown, &total);
	log_info("[local]: uid=%lu (%s): queue listed, %zu messages",
	    (unsigned long)sub->uid, sub->login, total);
	if (total > shown)
		session_reply(s, "250-and %zu more messages", total - shown);
	session_reply(s, "250 2.0.0 %zu %s in the queue%s", total,
	    total == 1 ? "message" : "messages",
	    sub->uid == 0 ? "" : " from you");
}
