/*
 * State shared by the session_*.c files of the smtp child; not an API for
 * anything else (the public one is session.h).
 */
#ifndef RELAYD_SESSION_INT_H
#define RELAYD_SESSION_INT_H

#include "config.h"
#include "queue.h"
#include "session.h"
#include "session_io.h"
#include "smtp_addr.h"
#include "smtp_parse.h"

#define SESSION_ERRORS_MAX 20 /* 5xx for bad commands, then 421 (Postfix) */

/* BDAT chunks are raw octets: the checks smtp_data does for DATA. */
struct bdat_check {
	unsigned int flags; /* SMTP_DATA_* */
	int prev_cr; /* last octet was CR */
	int in_header;
	int hdr_pos; /* matched octets of "received", -1 none */
	size_t line_len;
	unsigned int hops;
};

/*
 * A local submission's header section as it streams by (session_submit.c):
 * which of Date, Message-ID and From it has, and the start of the current
 * line, held back until it shows whether the header section ends there.
 */
struct submit_hdr {
	int active; /* a local message still in its header section */
	unsigned int seen; /* SUBMIT_HDR_* */
	int in_line; /* inside a field: copy to the LF */
	int wsp; /* blanks after the name: only ':' may follow */
	size_t npend;
	char pend[80];
};

struct session {
	const struct session_env *env;
	const struct config *cfg;
	struct sio io;
	char addr[QUEUE_ADDR_MAX + 1]; /* numeric client address */
	char helo[QUEUE_HELO_MAX + 1]; /* "" before HELO/EHLO */
	int esmtp; /* EHLO, not HELO */
	char tls[128]; /* "" in the clear, else tls_describe() */
	char auth_user[256]; /* "" until AUTH succeeds: then trusted */
	unsigned int auth_failures; /* failed AUTH exchanges */
	int passed; /* waited out greet_pause or logged in (session_report) */
	int quit; /* flush and close */
	int rc; /* session_run() result */
	unsigned int errors;

	/* the transaction */
	int in_mail;
	int bdat; /* BDAT chunks seen: no DATA, no RCPT */
	struct queue_file qf; /* rcpt[rcap]; no msg: the body is in qb */
	size_t rcap;
	struct queue_body *qb; /* DATA/BDAT octets so far, in SPOOL/tmp */
	uint64_t body; /* client octets so far (no Received:) */
	struct bdat_check bc;
	struct submit_hdr sh;

	struct smtp_net nets[CONFIG_NET_MAX];
	const char *domains[CONFIG_DOMAIN_MAX];
};

/* session.c */
void session_title(struct session *s, const char *state);
void session_reset(struct session *s);
/* At QUIT: env->quitting, if set, learns the session's status. */
void session_quitting(struct session *s);
void session_reply(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void session_timeout(struct session *s);
void session_lost(struct session *s, const char *when);
int session_error(struct session *s);

/* session_cmd.c */
void session_command(struct session *s, const char *line, size_t len);

/* session_tls.c */
int session_tls_offered(const struct session *s);
int session_tls_required(const struct session *s, enum smtp_verb verb);
void session_starttls(struct session *s);
int session_tls_implicit(struct session *s);

/* session_auth.c */
int session_auth_offered(const struct session *s);
int session_auth_trusted(const struct session *s);
void session_auth(struct session *s, const struct smtp_command *cmd);

/* session_submit.c */
int session_submit_sender(struct session *s, const struct smtp_path *path);
void session_submit_start(struct session *s);
void session_submit_add(struct session *s, const char *buf, size_t len);
void session_submit_end(struct session *s);

/* session_list.c: XQUEUE (sendmail -bp), local submissions only */
void session_list(struct session *s);

/* session_data.c */
void session_data(struct session *s);
void session_bdat(struct session *s, const struct smtp_command *cmd);

#endif /* RELAYD_SESSION_INT_H */
