/*
 * relayd.conf: one [relayd] section of "key = value" lines (INI, parsed
 * with libinih), validated into a fixed-size struct config. Every error
 * names file, line and key; see relayd.conf(5).
 */
#ifndef RELAY_CONFIG_H
#define RELAY_CONFIG_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>

#define CONFIG_FILE_MAX (1024 * 1024) /* config_load() refuses bigger */
#define CONFIG_LINE_MAX 8190 /* bytes per line, newline included */

#define CONFIG_LISTEN_MAX 16
#define CONFIG_NET_MAX 64
#define CONFIG_DOMAIN_MAX 64
#define CONFIG_MILTER_MAX 8
#define CONFIG_WORKERS_MAX 20 /* delivery workers at once: max_per_hop's cap */

/* "0.0.0.0:25", "[::1]:10025": numeric, normalised by inet_ntop. */
/* A listener's TLS: the "tls" key's, implicit (handshake before the 220)
 * or STARTTLS required whatever "tls" says. */
#define CONFIG_LISTEN_PLAIN 0
#define CONFIG_LISTEN_IMPLICIT 1 /* "ADDR:PORT/tls" */
#define CONFIG_LISTEN_STARTTLS 2 /* "ADDR:PORT/starttls" */

struct config_listen {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[64];
	int tls; /* CONFIG_LISTEN_PLAIN, _IMPLICIT ("/tls"), _STARTTLS */
};

/* Key "tls": STARTTLS on the plain listeners (relayd.conf(5), TLS). */
enum config_tls {
	CONFIG_TLS_NONE = 0, /* no STARTTLS */
	CONFIG_TLS_MAY, /* offered, not required */
	CONFIG_TLS_ENCRYPT /* required before MAIL, RCPT, DATA, ... */
};

/* Keys smtp_tls, smarthost_tls: TLS to the next hop (relayd.conf(5)). */
enum config_tlsc {
	CONFIG_TLSC_NONE = 0, /* never STARTTLS */
	CONFIG_TLSC_MAY, /* STARTTLS if offered, certificate not checked */
	CONFIG_TLSC_ENCRYPT, /* STARTTLS required, certificate not checked */
	CONFIG_TLSC_VERIFY, /* STARTTLS required, chain and host name */
	CONFIG_TLSC_WRAPPER /* smarthost only: implicit TLS, as VERIFY */
};

/* What a milter's failure (unreachable, timeout, garbage) turns into. */
enum config_milter_action {
	CONFIG_MILTER_TEMPFAIL = 0, /* 451 4.7.1, the default */
	CONFIG_MILTER_ACCEPT, /* go on without that milter */
	CONFIG_MILTER_REJECT /* 550 5.7.1 */
};

/*
 * A milter (relayd.conf(5), MILTERS): "unix:/path" or "inet:PORT@ADDR"
 * and its options; unset options take the milter_* keys at the end.
 */
struct config_milter {
	char socket[4096]; /* as written, without the {options} */
	int action; /* enum config_milter_action; -1: milter_default_action */
	/* Seconds; 0: milter_*_timeout. */
	unsigned connect_timeout, command_timeout, eom_timeout;
};

/* A relay_from network: address with host bits clear, prefix length. */
struct config_net {
	struct sockaddr_storage addr; /* sin_port / sin6_port are 0 */
	int prefix;
};

struct config {
	char hostname[256]; /* greeting and HELO name */
	char run_as[33]; /* relay user name (never "root") */
	char spool[4096]; /* absolute */
	struct config_listen listen[CONFIG_LISTEN_MAX];
	size_t nlisten; /* >= 1 */
	struct config_net relay_from[CONFIG_NET_MAX];
	size_t nrelay_from;
	/* Fixed array: lower-case, no trailing dot, exact-match domains. */
	char relay_domains[CONFIG_DOMAIN_MAX][256];
	size_t nrelay_domains;
	/* Key relay_recipients: "" none (any local part); absolute path. */
	char relay_recipients[4096];
	char smarthost[300]; /* "" none; "host[:port]", "[host][:port]" */
	char resolver[64]; /* "" system resolver; numeric address */
	char transport_file[4096]; /* key "transport"; "" none; absolute */
	size_t max_message_size, max_recipients, max_children, max_per_ip,
	    max_hops;
	/* Sessions an SMTP child serves (1: one per child); seconds a pooled
	 * child may wait for its next one. */
	size_t max_use;
	unsigned max_idle;
	/* DATA/BDAT line cap in octets incl. CRLF; longer lines: 552 */
	size_t max_line_length;
	/* Seconds; RFC 5321 4.5.3.2 defaults: 300, 300, 120, 180, 600. */
	unsigned timeout_greeting, timeout_command, timeout_data_init,
	    timeout_data_block, timeout_data_term;
	unsigned greet_pause; /* seconds before 220; 0: only check at once */
	/* Slow and many clients; 0 turns each off (relayd.conf(5)). */
	unsigned session_deadline; /* seconds a session may last */
	size_t min_data_rate; /* bytes/s a request must keep up */
	size_t max_conn_rate; /* connections a minute per client (IPv6 /64) */
	unsigned stress_timeout; /* seconds, the timeouts near max_children */
	unsigned queue_lifetime, retry_min, retry_max; /* seconds */
	size_t max_per_hop; /* delivery workers busy with one next hop */
	int chroot; /* 1: smtp children chroot into the spool */
	char pidfile[4096];
	struct config_milter milter[CONFIG_MILTER_MAX];
	size_t nmilter;
	int milter_default_action; /* enum config_milter_action */
	unsigned milter_connect_timeout, milter_command_timeout,
	    milter_eom_timeout; /* seconds */
	/* TLS: PEM files the master (root) reads; "" none; absolute. */
	char tls_cert[4096]; /* certificate, then its chain */
	char tls_key[4096]; /* private key, root's alone */
	enum config_tls tls; /* default: may with cert and key, else none */
	int tls_min_version; /* 12 (default) or 13: TLSv1.2 / TLSv1.3 */
	char tls_ciphers[512]; /* TLS 1.2 cipher list; "" OpenSSL's default */
	/* SMTP AUTH: "" none; absolute; root:root 0600 (authtab.h). */
	char auth_users[4096];
	size_t auth_max_failures; /* failed AUTH per client, then 421 */
	unsigned auth_failure_window; /* seconds they count; 0: a session */
	char auth_senders[4096]; /* "" any sender; absolute (authsenders.h) */
	/* Delivery TLS and AUTH: policies, CA file, credentials file. */
	enum config_tlsc smtp_tls; /* MX, transport map: default may */
	enum config_tlsc smarthost_tls; /* default: smtp_tls */
	char smtp_tls_ca_file[4096]; /* "" system store; absolute, PEM */
	char smarthost_auth[4096]; /* "" none; "user password", root's */
	/* Local submission (relayd-sendmail(8)): "" off; absolute. */
	char submit_socket[4096];
	char submit_group[33]; /* "" mode 0666, else root:GROUP 0660 */
	int local_senders_any; /* local_senders: 0 own, 1 any */
	char masquerade_domain[256]; /* "" hostname: USER@DOMAIN */
};

/* Rendered by callers as "FILE:LINE: KEY: MSG" (line 0 / key "": absent). */
struct config_error {
	char file[256];
	size_t line;
	char key[64];
	char msg[160];
};

/*
 * The one way an error is shown: "FILE:LINE: KEY: MSG" (no ":LINE" when
 * line is 0, no "KEY:" when key is empty).  Truncated output keeps the
 * file and line, which matter most.
 */
void config_error_format(const struct config_error *e, char *buf, size_t len);

/* Built-in defaults; see relayd.conf(5) and share/relayd.conf.sample. */
void config_defaults(struct config *c);

/*
 * Parse len bytes of text (need not be NUL-terminated) on top of what c
 * holds (normally config_defaults()). A key replaces its default; lists are
 * replaced, not appended to. Returns 0, or -EINVAL with err filled and c
 * left untouched (so a bad reload keeps the running config), or -ENOMEM.
 * Uses libinih's global dialect settings for the call and restores them:
 * not thread-safe.
 */
int config_parse(const char *text, size_t len, const char *fname,
    struct config *c, struct config_error *err);

/*
 * Open path under rootfd (leading slashes ignored; as given if rootfd is
 * AT_FDCWD) with O_NOFOLLOW, refuse anything but a regular file owned by
 * root (or by us) and not writable by group or others (-EPERM), or bigger
 * than CONFIG_FILE_MAX (-EFBIG), then config_parse(). Returns 0 or -errno;
 * err always says what went wrong.
 */
int config_load(
    int rootfd, const char *path, struct config *c, struct config_error *err);

#endif
