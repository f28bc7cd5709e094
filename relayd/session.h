/*
 * The SMTP server session of one connection: runs in the smtp child after
 * privdrop_apply(), talks to the untrusted client and enqueues accepted
 * messages in the spool.
 */
#ifndef RELAYD_SESSION_H
#define RELAYD_SESSION_H

#include <sys/types.h>
#include <sys/socket.h>

#include "config.h"

struct recipients;
struct ssl_ctx_st;
struct authtab;
struct authsenders;

/*
 * A local submission (submit_socket): who is on the other end, from
 * SO_PEERCRED and ROOT/etc/passwd, read before the drop.
 */
struct session_submit {
	uid_t uid;
	char login[33];
	char own[300]; /* LOGIN@(masquerade_domain or hostname) */
	int any_sender; /* root, or local_senders = any */
};

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
	/* Failed AUTH by this client in auth_failure_window before this
	 * session (counted by the master from earlier exit statuses). */
	unsigned auth_failures;
	/* The client passed before (greet_pause waited out, or a login):
	 * no greet_pause for it. */
	int passed;
	/* NULL for TCP; the submitter for a local submission. */
	const struct session_submit *submit;
	/* If set: called once, at QUIT and before the 221, with the status
	 * session_run() will return, so that the master counts the session
	 * ended before the client can connect again (a pooled server). */
	void (*quitting)(void *arg, int status);
	void *quitting_arg;
	/* With quitting set: input on this fd (the next connection passed
	 * to a pooled server, or the master letting go) ends the lingering
	 * close after the 221 at once, so that client does not wait. */
	int quitting_wake;
};

/*
 * What a session tells the master about its client, in its exit status
 * (the master never reads the network): SESSION_EXIT_REPORT, plus
 * SESSION_EXIT_PASSED if the client waited out a greet_pause or logged
 * in, plus the failed AUTH exchanges of the session (at most
 * SESSION_AUTH_MAX, which bounds auth_max_failures).
 */
#define SESSION_EXIT_REPORT 64
#define SESSION_EXIT_PASSED 32
#define SESSION_AUTH_MAX 31

/*
 * Run the whole dialogue on the connected socket fd (made non-blocking;
 * closed on return): pre-greeting check, greeting, commands, DATA/BDAT,
 * enqueue.  Returns the child's exit code: 0 when the session ended (QUIT,
 * client gone, timeout, protocol error), 1 on an internal error (no
 * memory, socket error), or a report (SESSION_EXIT_REPORT ...) when
 * there is one, whatever else happened.
 */
int session_run(int fd, const struct session_env *env);

#endif /* RELAYD_SESSION_H */
