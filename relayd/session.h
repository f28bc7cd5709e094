/*
 * The SMTP server session of one connection: runs in the smtp child after
 * privdrop_apply(), talks to the untrusted client and enqueues accepted
 * messages in the spool.
 */
#ifndef RELAYD_SESSION_H
#define RELAYD_SESSION_H

#include <sys/socket.h>

#include "config.h"

struct recipients;
struct ssl_ctx_st;
struct authtab;
struct authsenders;

struct session_env {
	const struct config *cfg;
	const char *root; /* "/" or --root DIR: where unix: milters are */
	/* relay_recipients (read by the master), NULL: any local part */
	const struct recipients *rcpts;
	int spoolfd; /* the spool directory (tmp/, queue/, hold/) */
	struct sockaddr_storage peer; /* the client, for relay_from */
	socklen_t peerlen;
	struct sockaddr_storage local;
	socklen_t locallen;
	/* The master's TLS context (tls_cert, tls_key), NULL: no TLS. */
	struct ssl_ctx_st *tls_ctx;
	int implicit_tls; /* a "/tls" listener: handshake before the 220 */
	int require_tls; /* a "/starttls" listener: as tls = encrypt */
	/* auth_users (read by the master), NULL: no AUTH. */
	const struct authtab *auth;
	/* auth_senders (read by the master), NULL: a login may use any. */
	const struct authsenders *senders;
};

/*
 * Run the whole dialogue on the connected socket fd (made non-blocking;
 * closed on return): pre-greeting check, greeting, commands, DATA/BDAT,
 * enqueue.  Returns the child's exit code: 0 when the session ended (QUIT,
 * client gone, timeout, protocol error), 1 on an internal error (no
 * memory, socket error).
 */
int session_run(int fd, const struct session_env *env);

#endif /* RELAYD_SESSION_H */
