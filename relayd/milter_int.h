/*
 * Shared by milter.c (the conversation), milter_io.c (the socket) and
 * milter_msg.c (reading and rewriting the message); not an API for
 * anything else (the public one is milter.h).
 */
#ifndef RELAYD_MILTER_INT_H
#define RELAYD_MILTER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "milter.h"
#include "milter_proto.h"

#define MILTER_HDR_MAX (1024 * 1024) /* header section we read */
#define MILTER_MODS_MAX 4096 /* changes one milter may ask for */
#define MILTER_MODS_BYTES (4 * 1024 * 1024)

/* A change asked for at end of message, kept until it is applied. */
struct milter_mod {
	char cmd; /* MILTER_R_* */
	uint32_t index;
	char *a, *b; /* name, value; an address; NULL if absent */
};

struct milter_conn {
	const struct config_milter *cm;
	int fd;
	uint32_t actions, protocol; /* as negotiated */
	struct milter_pkt pkt;
	unsigned char rbuf[MILTER_PKT_MAX];
	struct milter_reply r;
	/* end of message */
	struct milter_mod *mods;
	size_t nmods, mod_bytes;
	struct queue_body *newbody; /* REPLBODY chunks so far, NULL none */
	int newbody_cr; /* the last REPLBODY octet was CR */
};

/* The message as it stands: its header fields split, the body's place. */
struct milter_msg {
	char *hdr; /* the header section, CRLFs and all, NUL-terminated */
	size_t hdrlen;
	char **field; /* each field's start within hdr */
	size_t *flen; /* each field's length, CRLF included */
	size_t nfield;
	size_t bodyoff; /* where the body starts in the queue body */
	size_t seplen; /* 2 if an empty line ends the header, else 0 */
};

/* Step results of the conversation. */
#define STEP_GO 0 /* continue */
#define STEP_ACCEPT 1 /* this milter accepts: no more of it */
#define STEP_SKIP 2 /* body chunk: no more body */
#define STEP_VERDICT 3 /* out holds a reject, tempfail or discard */
#define STEP_RCPT_NO 4 /* this recipient is refused */
#define STEP_FAIL (-1) /* default action */

/* milter.c */
int milter_step_of(struct milter_conn *c, char cmd, struct milter_outcome *out);
void milter_outcome_set(
    struct milter_outcome *out, enum milter_verdict v, const char *line);

/* milter_eom.c: end of message, the changes collected; STEP_*. */
int milter_eom(const struct milter_env *env, struct milter_conn *c,
    const char *id, struct milter_outcome *out);

/* milter_io.c */
int milter_io_connect(const struct milter_env *env, struct milter_conn *c);
int milter_io_send(struct milter_conn *c);
int milter_io_recv(struct milter_conn *c, unsigned timeout);

/* milter_rcpt.c: recipients, sender, quarantine; 0 or -EINVAL. */
int milter_envelope_mods(struct milter_conn *c, struct queue_file *qf,
    size_t *rcap, struct milter_outcome *out);

/* milter_msg.c, milter_edit.c (milter_msg_apply) */
int milter_msg_read(struct queue_body *qb, struct milter_msg *m);
void milter_msg_free(struct milter_msg *m);
/* Field i's name (len) and value for a filter (LF line ends) into pkt. */
int milter_msg_header(
    const struct milter_msg *m, size_t i, int leadspc, struct milter_pkt *pkt);
int milter_msg_apply(const struct milter_env *env, struct milter_conn *c,
    struct queue_file *qf, size_t *rcap, struct queue_body **qb,
    struct milter_outcome *out);

#endif /* RELAYD_MILTER_INT_H */
