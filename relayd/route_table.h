/*
 * The transport map: "domain nexthop" lines that override MX routing, and
 * the next-hop syntax shared with the smarthost setting.  The file is
 * admin-owned (under /etc/mail) but parsed strictly with capped lines;
 * lookups are pure and allocation-free.
 */
#ifndef RELAYD_ROUTE_TABLE_H
#define RELAYD_ROUTE_TABLE_H

#include <stddef.h>

#define ROUTE_TABLE_FILE_MAX (4 * 1024 * 1024) /* route_table_load refuses */
#define ROUTE_TABLE_LINE_MAX 1024 /* octets per line, LF included */
#define ROUTE_HOST_MAX 255 /* host name or IP literal, no brackets */
#define ROUTE_NEXTHOP_MAX 299 /* "[host]:port" text */
/* A delivery group's key: the next hop and, if the map sets one, " tls=N". */
#define ROUTE_HOPKEY_MAX (ROUTE_NEXTHOP_MAX + 16)

struct route_table; /* opaque */

/*
 * A parsed next hop: "[host]:port", "[host]", "host:port" or "host".
 * Brackets mean "no MX lookup": connect to host's A/AAAA (or the IP
 * literal inside them).  Without brackets host is a domain whose MX
 * records are looked up.  An IPv6 literal needs brackets.
 */
struct route_nexthop {
	char host[ROUTE_HOST_MAX + 1]; /* lower-case, no brackets, no dot end */
	unsigned short port; /* 25 unless given */
	int nomx; /* 1: written in brackets */
};

/*
 * 1 if s is a plain DNS name: dot-separated labels of 1..63 letters,
 * digits, '-' or '_', at most 253 octets, no trailing dot.
 */
int route_domain_valid(const char *s);

/*
 * Parse s (NUL-terminated) as a next hop.  Returns 0, or -EINVAL with
 * *why set to a static reason ("bad port", "bad host name", ...).
 */
int route_nexthop_parse(
    const char *s, struct route_nexthop *nh, const char **why);

/*
 * Parse transport map text buf[0..len) (need not be NUL-terminated).
 * Lines: "domain nexthop [tls=POLICY]" or ".sub.example nexthop ..." (a
 * leading dot matches every subdomain, not the domain itself), separated
 * by blanks; '#' starts a comment line; blank lines are ignored.  POLICY
 * is the TLS policy for the domain's mail whatever hop carries it (none,
 * may, encrypt, verify, wrapper, as smtp_tls); a nexthop of "-" keeps the
 * usual route (smarthost or MX) and needs a tls= (wrapper needs a real
 * next hop).  Domains are
 * case-insensitive.  A duplicate key is an error.  Returns 0 with *out
 * allocated, or -EINVAL with err = "FNAME:LINE: message" (or -ENOMEM,
 * -EFBIG).
 */
int route_table_parse(const char *buf, size_t len, const char *fname,
    struct route_table **out, char *err, size_t errlen);

/*
 * Read path under rootfd (leading slashes ignored; as given if rootfd is
 * AT_FDCWD) with O_NOFOLLOW, refuse a non-regular file, a file writable
 * by others (-EPERM) or bigger than ROUTE_TABLE_FILE_MAX (-EFBIG), then
 * route_table_parse().  An empty path ("" = no transport map) gives an
 * empty table.  Returns 0 or -errno; on error err says what went wrong
 * ("FILE:LINE: msg" or "FILE: reason").
 */
int route_table_load(int rootfd, const char *path, struct route_table **out,
    char *err, size_t errlen);

/*
 * Look domain up: the exact entry first, then ".parent" entries from the
 * most to the least specific (a.b.example.org tries .b.example.org, then
 * .example.org, then .org).  A trailing dot on domain is ignored.  On a
 * hit, copies the next hop as written in the file (normalised to lower
 * case) into nexthop and returns 1; returns 0 if nothing matches (or t is
 * NULL) or the entry's next hop is "-", -ENAMETOOLONG if nexthop is too
 * small.
 */
int route_table_lookup(
    const struct route_table *t, const char *domain, char *nexthop, size_t len);

/*
 * The tls= policy of the entry route_table_lookup() would use for domain
 * (an enum config_tlsc), or -1 if there is none or it sets no policy.  A
 * "-" entry has no next hop (lookup returns 0) but may have a policy.
 */
int route_table_tls(const struct route_table *t, const char *domain);

/* Number of entries (for logs at start and HUP). */
size_t route_table_count(const struct route_table *t);

void route_table_free(struct route_table *t);

#endif /* RELAYD_ROUTE_TABLE_H */
