/*
 * Milters for the smtp child (relayd.conf(5), milter): after a message is
 * received and before it is queued, each configured milter in turn sees
 * the whole transaction and may refuse it or change it.  Runs after the
 * privilege drop, as the relay account.
 */
#ifndef RELAYD_MILTER_H
#define RELAYD_MILTER_H

#include <sys/socket.h>

#include "config.h"
#include "queue.h"

/* What the session knows about the connection. */
struct milter_env {
	const struct config *cfg;
	const char *root; /* "" or relayd's --root, for unix: paths */
	int spoolfd; /* for a rewritten message (SPOOL/tmp) */
	const struct sockaddr_storage *peer;
	const char *addr; /* numeric client address */
	const char *helo;
	const char *auth_user; /* "" none */
};

enum milter_verdict {
	MILTER_CONTINUE = 0, /* queue the message */
	MILTER_REJECT, /* the reply is 5xx */
	MILTER_TEMPFAIL, /* the reply is 4xx */
	MILTER_DISCARD /* 250, and drop it */
};

#define MILTER_REPLY_LINES 8

struct milter_outcome {
	enum milter_verdict verdict;
	/* For REJECT and TEMPFAIL: complete reply lines, last one final. */
	char reply[MILTER_REPLY_LINES][512];
	size_t nreply;
	int quarantine; /* queue it in hold/ */
	char reason[256]; /* the quarantine reason, printable */
};

/*
 * Pass the message to every milter of env->cfg in order.  qf is the
 * envelope (its recipients array has *rcap slots and may be grown), *qb
 * the message; both may be changed (*qb replaced by a rewritten message)
 * before this returns.  Never fails: a milter that cannot be used gets
 * its default action, which is part of *out.
 */
void milter_message(const struct milter_env *env, struct queue_file *qf,
    size_t *rcap, struct queue_body **qb, struct milter_outcome *out);

#endif /* RELAYD_MILTER_H */
