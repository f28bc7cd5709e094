/*
 * SMTP addresses: reverse-path / forward-path parsing (RFC 5321 4.1.2,
 * SMTPUTF8 per RFC 6531) and the relay policy check.  Pure functions over
 * untrusted client bytes; no I/O, no allocation.
 */
#ifndef RELAY_SMTP_ADDR_H
#define RELAY_SMTP_ADDR_H

#include <sys/socket.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1: limits in octets. */
#define SMTP_PATH_MAX 256 /* whole path including "<" and ">" */
#define SMTP_LOCAL_MAX 64 /* local part as sent (quotes counted) */
#define SMTP_DOMAIN_MAX 255 /* domain or address literal incl. brackets */

/*
 * A reply the server sends: "code status text".  Shared by smtp_addr,
 * smtp_parse and smtp_data; `line` is the exact line without CRLF.
 */
struct smtp_reply {
	int code; /* 553 */
	const char *status; /* "5.1.3" (RFC 3463 enhanced status) */
	const char *text; /* "Routing not allowed" */
	const char *line; /* "553 5.1.3 Routing not allowed" */
};

enum smtp_addr_kind {
	SMTP_ADDR_REVERSE, /* MAIL FROM: "<>" allowed, "<postmaster>" not */
	SMTP_ADDR_FORWARD /* RCPT TO: "<postmaster>" allowed, "<>" not */
};

enum smtp_addr_err {
	SMTP_ADDR_OK = 0,
	SMTP_ADDR_ESYNTAX, /* not a Path per RFC 5321 4.1.2 */
	SMTP_ADDR_EPATHLEN, /* path longer than SMTP_PATH_MAX */
	SMTP_ADDR_ELOCALLEN, /* local part longer than SMTP_LOCAL_MAX */
	SMTP_ADDR_EDOMAINLEN, /* domain longer than SMTP_DOMAIN_MAX, label > 63 */
	SMTP_ADDR_EROUTING, /* source route, several or quoted "@", "%", "!" */
	SMTP_ADDR_ENULL, /* "<>" as a forward path */
	SMTP_ADDR_EUTF8, /* non-ASCII without SMTPUTF8 */
	SMTP_ADDR_EBADUTF8, /* octets >= 0x80 that are not valid UTF-8 */
	SMTP_ADDR_ERELAY /* smtp_addr_relay_check() said no */
};

struct smtp_path {
	int null; /* "<>" (reverse path only) */
	int postmaster; /* "<postmaster>" without domain (forward only) */
	int literal; /* domain is an address literal "[...]" */
	int utf8; /* the path holds non-ASCII (UTF-8) octets */
	/* local part exactly as sent, quotes and backslashes kept */
	char local[SMTP_LOCAL_MAX + 1];
	/* domain with ASCII letters lower-cased; literals keep brackets */
	char domain[SMTP_DOMAIN_MAX + 1];
	/* "local@domain" as sent (domain not lower-cased); "" for "<>" */
	char mailbox[SMTP_PATH_MAX + 1];
};

/*
 * Parse the path that starts at s[0] (which must be '<') within s[0..len).
 * The path ends at the first '>' outside a quoted string; *used is set to
 * the octets consumed including that '>' (on success only).  smtputf8:
 * non-ASCII UTF-8 is allowed in the local part and domain (RFC 6531).
 * Never interprets routes: <@a,@b:u@c>, <u@b@c>, <u%b@c>, <u!b@c> and
 * <"u@b"@c> ("%", "!" and "@" inside quotes too, and with SMTPUTF8
 * their fullwidth and small forms) give SMTP_ADDR_EROUTING.  General
 * address literals ("[tag:...]") are refused; "[IPv6:...]" and
 * "[1.2.3.4]" are checked with inet_pton.  On error *p is zeroed.
 */
enum smtp_addr_err smtp_addr_parse(const char *s, size_t len,
    enum smtp_addr_kind kind, int smtputf8, struct smtp_path *p, size_t *used);

/*
 * The reply for err given the kind of path (5.1.7 for senders, 5.1.3 for
 * recipients); NULL for SMTP_ADDR_OK.
 */
const struct smtp_reply *smtp_addr_reply(
    enum smtp_addr_err err, enum smtp_addr_kind kind);

/* A relay_from network; same layout as lib/config.h struct config_net. */
struct smtp_net {
	struct sockaddr_storage addr; /* AF_INET or AF_INET6 */
	int prefix; /* 0..32 or 0..128 */
};

/*
 * 1 if client is inside net/prefix, else 0 (also for a bad prefix or an
 * unknown family).  An IPv4-mapped IPv6 address (::ffff:a.b.c.d) on
 * either side is compared as IPv4 (a mapped network needs prefix >= 96).
 */
int smtp_addr_net_match(const struct sockaddr_storage *client,
    const struct sockaddr_storage *net, int prefix);

/*
 * 1 if domain matches a relay_domains entry, else 0.  Comparison is
 * ASCII case-insensitive.  "example.org" matches exactly example.org; a
 * leading dot ".example.org" matches every subdomain (a.example.org,
 * a.b.example.org) but NOT example.org itself: list both to get both.
 * An empty entry or an empty domain never matches; an address literal
 * never matches a domain entry.
 */
int smtp_addr_domain_match(const char *domain, const char *entry);

/*
 * 1 if client is inside one of nets[0..nnets) (relay_from): a trusted
 * client, which may relay anywhere and gets full-body bounces.
 */
int smtp_addr_client_trusted(const struct sockaddr_storage *client,
    const struct smtp_net *nets, size_t nnets);

/*
 * Relay policy (doc/design.md, Queue): SMTP_ADDR_OK if the client is
 * inside one of nets[0..nnets) or rcpt_domain (struct smtp_path.domain,
 * already lower case) matches one of domains[0..ndomains);
 * SMTP_ADDR_ERELAY otherwise (reply "554 5.7.1 Relaying denied").  NULL
 * arrays with a 0 count are fine.
 */
enum smtp_addr_err smtp_addr_relay_check(const struct sockaddr_storage *client,
    const struct smtp_net *nets, size_t nnets, const char *const *domains,
    size_t ndomains, const char *rcpt_domain);

/*
 * 1 if s[0..n) holds an octet above 0x7f: an address that needs
 * SMTPUTF8, a message that needs 8BITMIME.
 */
int smtp_addr_8bit(const char *s, size_t n);

#endif /* RELAY_SMTP_ADDR_H */
