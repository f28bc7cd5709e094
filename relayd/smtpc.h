/*
 * SMTP client for one outgoing connection (RFC 5321, PIPELINING, SIZE,
 * 8BITMIME, SMTPUTF8, DSN parameters).  The next hop is an untrusted
 * server: every reply goes through the strict, capped parser of
 * smtpc_reply.h, every read and write has a deadline, and any protocol
 * error or timeout is a temporary failure, never a crash.
 */
#ifndef RELAYD_SMTPC_H
#define RELAYD_SMTPC_H

#include <stddef.h>

#include "route.h"

struct queue_file;
struct smtpc; /* opaque: one connection */
struct ssl_ctx_st;

/*
 * TLS and AUTH for one connection (relayd.conf(5), smtp_tls).  level is
 * an enum config_tlsc: none never says STARTTLS; may uses it when offered
 * without checking the certificate; encrypt requires it; verify requires
 * it and checks the chain against ctx's trust store and the hop's name
 * (its address for an address literal); wrapper is verify with TLS from
 * the first octet (port 465).  user/pass (NULL: none) are sent with AUTH
 * PLAIN or LOGIN, and only over TLS.
 */
struct smtpc_tls {
	struct ssl_ctx_st *ctx; /* from smtpc_tls_ctx; NULL: no TLS possible */
	int level;
	const char *user, *pass;
};

/* Seconds; 0 is replaced by the default. */
struct smtpc_timeouts {
	unsigned connect; /* TCP connect: 30 */
	unsigned greeting; /* 220 banner: 300 (RFC 5321 4.5.3.2.1) */
	unsigned helo; /* EHLO/HELO and RSET replies: 300 */
	unsigned mail; /* MAIL reply: 300 (4.5.3.2.2) */
	unsigned rcpt; /* RCPT reply: 300 (4.5.3.2.3) */
	unsigned data_init; /* DATA 354: 120 (4.5.3.2.4) */
	unsigned data_block; /* each write of the message: 180 (4.5.3.2.5) */
	unsigned data_term; /* reply to the final ".": 600 (4.5.3.2.6) */
};

/* The RFC 5321 4.5.3.2 client defaults above. */
void smtpc_timeouts_default(struct smtpc_timeouts *t);

/*
 * Result of a step, for one recipient or the whole message.
 * code: the server's reply code, or 0 for a local/connection failure
 * (timeout, protocol error, connect failure, lost connection), which is
 * always temporary.  status: the reply's enhanced status code if it had
 * one, else one we chose ("4.4.2", "5.6.3", "2.0.0" ...).  text: one
 * printable-ASCII line: the whole server reply ("550 5.1.1 <a@b>: no such
 * user", continuation lines joined with a space, other octets as '?') or
 * our own message ("lost connection / protocol error with
 * mx.example.com[192.0.2.1]:25: reply line too long").  Suitable for
 * logs and a DSN's Diagnostic-Code ("smtp; " + text when code != 0).
 */
struct smtpc_status {
	int code; /* 250, 550, ...; 0 = local/connection failure */
	char status[16]; /* "5.1.1" */
	char text[512];
	int temporary; /* 1: retry later (4xx or code 0); 0: 2xx or 5xx */
	int connected; /* smtpc_connect: 1 once the TCP connection was made */
	int tls_failed; /* smtpc_connect: the TLS handshake failed */
};

/*
 * Connect to hop (its address and port), read the greeting, say EHLO helo
 * (HELO on a 5xx EHLO reply) and record the extensions; then, as tls
 * (NULL: none) says, STARTTLS, the handshake and EHLO again, and AUTH.
 * Returns 0 with *out set, or -1 with *st describing the failure (code 0
 * for connect errors and timeouts; the server's code for a non-2xx
 * greeting or HELO reply, then temporary only for 4xx).  TLS that the
 * policy requires and that does not happen (not offered, handshake or
 * certificate failure) is a temporary 4.7.4/4.7.5, never clear text;
 * credentials without TLS are never sent (4.7.0); a refused AUTH is the
 * server's reply (4xx temporary, 5xx permanent).  Either way the caller
 * should try its next hop; the last hop's *st is what to record.
 */
int smtpc_connect(const struct route_hop *hop, const char *helo,
    const struct smtpc_timeouts *t, const struct smtpc_tls *tls,
    struct smtpc **out, struct smtpc_status *st);

/*
 * How the connection is protected, for the log: "" in clear, else
 * "TLSv1.3 with cipher ... (256/256 bits)".  *verified: 1 if the chain
 * and the name were checked.
 */
const char *smtpc_tls_info(const struct smtpc *c, int *verified);

/*
 * The client context, made once per queue runner: TLS 1.2 and later, the
 * trust store from cafile (PEM certificates, read under rootfd through the
 * one whole-file reader; public data, so after the drop) or, if cafile
 * is "", the system store.  0 with *ctxp, or -errno with a reason in err.
 */
int smtpc_tls_ctx(int rootfd, const char *cafile, struct ssl_ctx_st **ctxp,
    char *err, size_t errlen);

/*
 * One mail transaction for qf's recipients qf->rcpt[idx[0..n)] (RSET
 * first if the connection was used before).  Fills rcpt_st[i] for
 * qf->rcpt[idx[i]] with its final result: the RCPT reply if that was not
 * 2xx, else the reply to the end of DATA (2xx = delivered), or the
 * message-level failure that stopped the transaction (MAIL reply, DATA
 * reply, our own refusal, connection loss).  *msg_st summarises the
 * transaction (the final DATA reply, or what stopped it).
 * Refusals without sending anything: 8-bit body and no 8BITMIME ->
 * permanent 5.6.3; non-ASCII envelope and no SMTPUTF8 -> permanent 5.6.7;
 * message over the server's SIZE -> permanent 5.3.4.
 * Returns 0 if the connection can carry another transaction, -1 if it is
 * broken (timeout, protocol error, lost connection, 421): call
 * smtpc_quit() and, for more mail, smtpc_connect() again.
 */
int smtpc_send(struct smtpc *c, const struct queue_file *qf, const size_t *idx,
    size_t n, struct smtpc_status *rcpt_st, struct smtpc_status *msg_st);

/*
 * Before a connection kept open between jobs carries more mail: RSET and
 * its 2xx, so a connection the server has meanwhile closed or timed out
 * costs a new connection, not a deferral of the next message.  0 if c
 * is ready for smtpc_send(), -1 if it is not (then smtpc_quit() it).
 */
int smtpc_reuse(struct smtpc *c);

/* QUIT if the connection is healthy, close, free.  NULL is fine. */
void smtpc_quit(struct smtpc *c);

/* "host[ip]:port" of the peer, for logs ("relay=" field). */
const char *smtpc_peer(const struct smtpc *c);

/* SMTPC_EXT_* bits the server announced in its EHLO reply. */
#define SMTPC_EXT_PIPELINING 0x01
#define SMTPC_EXT_SIZE 0x02
#define SMTPC_EXT_8BITMIME 0x04
#define SMTPC_EXT_SMTPUTF8 0x08
#define SMTPC_EXT_DSN 0x10
#define SMTPC_EXT_STARTTLS 0x20
#define SMTPC_EXT_AUTH 0x40
unsigned smtpc_extensions(const struct smtpc *c);

#endif /* RELAYD_SMTPC_H */
