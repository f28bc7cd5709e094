/*
 * Internals shared by smtpc.c (connection), smtpc_io.c (deadline-bound
 * reads and writes) and smtpc_send.c (one mail transaction).  The peer
 * is untrusted: input is bounded by the in[] buffer and the reply
 * parser's limits, nothing it sends is ever allocated for.
 */
#ifndef RELAYD_SMTPC_INT_H
#define RELAYD_SMTPC_INT_H

#include "smtpc.h"
#include "smtpc_reply.h"

#define SMTPC_OUT_MAX 16384 /* write buffer; data is sent in such blocks */
#define SMTPC_CMD_MAX 2048 /* one command line (DSN params make them long) */

struct ssl_st;

#define SMTPC_AUTH_PLAIN 0x01 /* mechanisms in the AUTH keyword */
#define SMTPC_AUTH_LOGIN 0x02
#define SMTPC_AUTH_FIELD_MAX 255 /* octets of a user name or password */

struct smtpc {
	int fd;
	struct ssl_st *ssl; /* after STARTTLS or for wrapper: all I/O */
	int verified; /* the chain and the name were checked */
	unsigned auth; /* SMTPC_AUTH_* the server offers */
	char tlsinfo[160]; /* tls_describe(), "" in clear */
	int broken; /* no more commands: I/O error, timeout, 421 */
	int used; /* a transaction was started: RSET before the next */
	unsigned ext; /* SMTPC_EXT_* */
	unsigned long long size_max; /* SIZE value, 0 = none announced */
	struct smtpc_timeouts to;
	char peer[ROUTE_HOST_MAX + 80]; /* "host[ip]:port" */
	char why[128]; /* reason of the last I/O failure */
	int proto; /* 1: the last failure was a protocol error */
	size_t inlen;
	char in[SMTPC_REPLY_LINE_MAX * 2 + 8]; /* unparsed octets */
	size_t outlen;
	char out[SMTPC_OUT_MAX];
	struct smtpc_reply reply; /* the last reply read */
};

/* Append n octets to the write buffer, flushing (timeout s) when full. */
int smtpc_io_write(struct smtpc *c, const char *s, size_t n, unsigned timeout);
/* Write everything buffered within timeout seconds. */
int smtpc_io_flush(struct smtpc *c, unsigned timeout);
/* Read one complete reply into c->reply within timeout seconds. */
int smtpc_io_reply(struct smtpc *c, unsigned timeout);
/*
 * Send qf's message dot-stuffed, lines over SMTPC_LINE_FOLD octets folded
 * (CRLF and a space inserted, as Postfix's smtp_line_length_limit), and
 * terminated by CRLF "." CRLF.  It is read with queue_msg_read() (from
 * the locked queue file) SMTPC_DATA_CHUNK octets at a time, so memory
 * does not grow with it.  Returns 0, -1 if the connection failed, or
 * SMTPC_UNREAD if the message could not be read (the end of data was not
 * sent and c is broken); c->why says why.
 */
#define SMTPC_LINE_FOLD 998 /* RFC 5322 2.1.1: 998 octets + CRLF */
#define SMTPC_DATA_CHUNK 65536
#define SMTPC_UNREAD (-2)
int smtpc_io_data(struct smtpc *c, const struct queue_file *qf, unsigned block,
    unsigned timeout);
/*
 * One pass over qf's message before the transaction: *size, its size once
 * folded by smtpc_io_data (for SIZE=), and *eight, 1 if it holds an octet
 * over 127.  Returns 0 or a queue_msg_read() -errno.
 */
int smtpc_io_data_scan(const struct queue_file *qf, size_t *size, int *eight);
/*
 * on: a close, or the death of this process, resets the connection and
 * drops unsent octets (SO_LINGER 0), so a message whose end is still in
 * the send queue is never completed behind our back; off: a normal close.
 */
void smtpc_io_abort_on_close(struct smtpc *c, int on);
/* Append a command line (CRLF added); -1 if it holds CR/LF or is long. */
int smtpc_io_cmd(struct smtpc *c, const char *cmd, unsigned timeout);

/* Wait for events on c->fd until deadline (monotime_ms() based). */
int smtpc_io_wait(struct smtpc *c, short events, long long deadline);
/* Wipe the write buffer (it held credentials). */
void smtpc_io_wipe(struct smtpc *c);

/* TLS (smtpc_tls.c): handshake on c->fd, verified per level, host name. */
int smtpc_tls_start(struct smtpc *c, const struct smtpc_tls *tls,
    const char *host, unsigned timeout, struct smtpc_status *st);
/* AUTH PLAIN or LOGIN with tls->user, tls->pass (c is encrypted). */
int smtpc_tls_auth(
    struct smtpc *c, const struct smtpc_tls *tls, struct smtpc_status *st);
/* TLS shutdown and SSL free (before close). */
void smtpc_tls_end(struct smtpc *c);

/* st from c->reply. */
void smtpc_status_reply(const struct smtpc *c, struct smtpc_status *st);
/* st = our own failure: code 0 unless given, status and printf text. */
void smtpc_status_set(struct smtpc_status *st, int code, const char *status,
    int temporary, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* st = the last I/O failure of c while waiting for a reply to `after`. */
void smtpc_status_lost(
    const struct smtpc *c, const char *after, struct smtpc_status *st);

#endif /* RELAYD_SMTPC_INT_H */
