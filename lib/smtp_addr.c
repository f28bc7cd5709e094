/*
 * SMTP reverse-path / forward-path parser and relay policy check.
 * Trust boundary: the path comes straight from an unauthenticated client in
 * the unprivileged smtp child.  We never interpret routes (source routes,
 * "%" and "!" hacks, several "@", a quoted "@"): they are refused, not
 * followed, from every client.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "smtp_addr.h"

#define LABEL_MAX 63 /* RFC 1035 2.3.4 */

#define REPLY(c, st, txt)                     \
	{                                     \
		c, st, txt, #c " " st " " txt \
	}

static const struct smtp_reply sender_replies[] = {
	[SMTP_ADDR_ESYNTAX] = REPLY(501, "5.1.7", "Bad sender address syntax"),
	[SMTP_ADDR_EPATHLEN] = REPLY(501, "5.1.7", "Path too long"),
	[SMTP_ADDR_ELOCALLEN] = REPLY(501, "5.1.7", "Local part too long"),
	[SMTP_ADDR_EDOMAINLEN] = REPLY(501, "5.1.7", "Domain too long"),
	[SMTP_ADDR_EROUTING] = REPLY(553, "5.1.7", "Routing not allowed"),
	[SMTP_ADDR_ENULL] = REPLY(501, "5.1.7", "Null address not allowed"),
	[SMTP_ADDR_EUTF8] =
	    REPLY(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"),
	[SMTP_ADDR_EBADUTF8] = REPLY(501, "5.1.7", "Invalid UTF-8 in address"),
	[SMTP_ADDR_ERELAY] = REPLY(554, "5.7.1", "Relaying denied"),
};

static const struct smtp_reply rcpt_replies[] = {
	[SMTP_ADDR_ESYNTAX] =
	    REPLY(501, "5.1.3", "Bad recipient address syntax"),
	[SMTP_ADDR_EPATHLEN] = REPLY(501, "5.1.3", "Path too long"),
	[SMTP_ADDR_ELOCALLEN] = REPLY(501, "5.1.3", "Local part too long"),
	[SMTP_ADDR_EDOMAINLEN] = REPLY(501, "5.1.3", "Domain too long"),
	[SMTP_ADDR_EROUTING] = REPLY(553, "5.1.3", "Routing not allowed"),
	[SMTP_ADDR_ENULL] = REPLY(501, "5.1.3", "Null recipient not allowed"),
	[SMTP_ADDR_EUTF8] =
	    REPLY(553, "5.6.7", "Non-ASCII address requires SMTPUTF8"),
	[SMTP_ADDR_EBADUTF8] = REPLY(501, "5.1.3", "Invalid UTF-8 in address"),
	[SMTP_ADDR_ERELAY] = REPLY(554, "5.7.1", "Relaying denied"),
};

const struct smtp_reply *
smtp_addr_reply(enum smtp_addr_err err, enum smtp_addr_kind kind)
{
	if (err <= SMTP_ADDR_OK || err > SMTP_ADDR_ERELAY)
		return NULL;
	return kind == SMTP_ADDR_REVERSE ? &sender_replies[err]
					 : &rcpt_replies[err];
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, <= U+10FFFF. */
static int
utf8_valid(const unsigned char *s, size_t len, int *nonascii)
{
	size_t i = 0, n, k;
	unsigned char lo, hi;

	*nonascii = 0;
	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		*nonascii = 1;
		lo = 0x80;
		hi = 0xbf;
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 1;
		else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			if (s[i] == 0xe0)
				lo = 0xa0; /* overlong */
			else if (s[i] == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			if (s[i] == 0xf0)
				lo = 0x90; /* overlong */
			else if (s[i] == 0xf4)
				hi = 0x8f; /* > U+10FFFF */
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if (s[i + k] < (k == 1 ? lo : 0x80) ||
			    s[i + k] > (k == 1 ? hi : 0xbf))
				return 0;
		}
		i += n + 1;
	}
	return 1;
}

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 5322 atext minus "%" and "!" (handled as routing) plus UTF-8. */
static int
is_atext(unsigned char c)
{
	/* c != 0: strchr() would find the terminating NUL */
	return is_alnum(c) || c >= 0x80 ||
	    (c != 0 && strchr("#$&'*+-/=?^_`{|}~", c) != NULL);
}

/* RFC 5321 qtextSMTP plus UTF-8 (RFC 6531). */
static int
is_qtext(unsigned char c)
{
	return (c >= 32 && c <= 126 && c != '"' && c != '\\') || c >= 0x80;
}

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Locale-independent strcasecmp / strncasecmp. */
static int
ascii_ncasecmp(const char *a, const char *b, size_t n)
{
	for (; n > 0 && *a && lower(*a) == lower(*b); a++, b++, n--)
		;
	return n == 0 ? 0 : lower(*a) - lower(*b);
}

static int
ascii_casecmp(const char *a, const char *b)
{
	return ascii_ncasecmp(a, b, (size_t)-1);
}

/*
 * Find the closing '>' outside quotes; refuse source routes and several
 * unquoted '@' before anything else looks at the path.
 */
static enum smtp_addr_err
path_scan(const char *s, size_t len, size_t *end)
{
	size_t i, ats = 0;
	int quoted = 0;

	if (len == 0 || s[0] != '<')
		return SMTP_ADDR_ESYNTAX;
	if (len > 1 && s[1] == '@')
		return SMTP_ADDR_EROUTING; /* <@a,@b:u@c> */
	for (i = 1; i < len; i++) {
		if (quoted) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				quoted = 0;
			continue;
		}
		if (s[i] == '"')
			quoted = 1;
		else if (s[i] == '@')
			ats++;
		else if (s[i] == '>')
			break;
	}
	if (i >= len)
		return SMTP_ADDR_ESYNTAX;
	if (ats > 1)
		return SMTP_ADDR_EROUTING;
	if (i + 1 > SMTP_PATH_MAX)
		return SMTP_ADDR_EPATHLEN;
	*end = i;
	return SMTP_ADDR_OK;
}

/*
 * Sender-specified routing inside a local part: "%" and "!" anywhere, "@"
 * inside quotes (a next hop that unquotes "u@other"@relay routes it to
 * other), and the compatibility characters that NFKC normalisation turns
 * into one of them (U+FF20 U+FE6B, U+FF05 U+FE6A, U+FF01 U+FE57).
 * Returns the octets of the routing character at u[i] (1 or 3), else 0.
 */
static size_t
routing_char(const unsigned char *u, size_t i, size_t n)
{
	static const unsigned char compat[][3] = {
		{ 0xef, 0xbc, 0xa0 }, { 0xef, 0xb9, 0xab }, /* @ */
		{ 0xef, 0xbc, 0x85 }, { 0xef, 0xb9, 0xaa }, /* % */
		{ 0xef, 0xbc, 0x81 }, { 0xef, 0xb9, 0x97 }, /* ! */
	};
	size_t k;

	if (u[i] == '%' || u[i] == '!' || u[i] == '@')
		return 1;
	if (u[i] != 0xef || n - i < 3)
		return 0;
	for (k = 0; k < sizeof(compat) / sizeof(compat[0]); k++)
		if (memcmp(u + i, compat[k], 3) == 0)
			return 3;
	return 0;
}

/* Local-part = Dot-string / Quoted-string; *l = its length. */
static enum smtp_addr_err
local_part(const char *in, size_t n, size_t *l)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t i;
	int dot = 1;

	if (u[0] == '"') {
		for (i = 1; i < n && u[i] != '"'; i++) {
			if (u[i] == '\\') {
				if (++i >= n || u[i] < 32 || u[i] > 126)
					return SMTP_ADDR_ESYNTAX;
			} else if (!is_qtext(u[i]))
				return SMTP_ADDR_ESYNTAX;
			if (routing_char(u, i, n) > 0)
				return SMTP_ADDR_EROUTING; /* quoted too */
		}
		if (i >= n)
			return SMTP_ADDR_ESYNTAX;
		*l = i + 1;
		return SMTP_ADDR_OK;
	}
	for (i = 0; i < n && u[i] != '@'; i++) {
		if (routing_char(u, i, n) > 0)
			return SMTP_ADDR_EROUTING;
		if (u[i] == '.') {
			if (dot)
				return SMTP_ADDR_ESYNTAX;
			dot = 1;
		} else if (is_atext(u[i]))
			dot = 0;
		else
			return SMTP_ADDR_ESYNTAX;
	}
	if (dot)
		return SMTP_ADDR_ESYNTAX; /* empty, or ends with '.' */
	*l = i;
	return SMTP_ADDR_OK;
}

/* Domain = sub-domain *("." sub-domain); U-labels allowed via UTF-8. */
static enum smtp_addr_err
domain_name(const char *d, size_t n)
{
	const unsigned char *u = (const unsigned char *)d;
	size_t i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && u[i] != '.') {
			if (!is_alnum(u[i]) && u[i] < 0x80 &&
			    (u[i] != '-' || i == start))
				return SMTP_ADDR_ESYNTAX;
			continue;
		}
		if (i == start || u[i - 1] == '-')
			return SMTP_ADDR_ESYNTAX; /* empty label, "-" end */
		/* XXX octets, not A-label length, for U-labels */
		if (i - start > LABEL_MAX)
			return SMTP_ADDR_EDOMAINLEN;
		start = i + 1;
	}
	return SMTP_ADDR_OK;
}

/* "[1.2.3.4]" or "[IPv6:...]"; general literals "[tag:...]" refused. */
static enum smtp_addr_err
address_literal(const char *d, size_t n)
{
	char buf[64];
	unsigned char a[16];

	if (n < 3 || d[n - 1] != ']' || n - 2 >= sizeof(buf))
		return SMTP_ADDR_ESYNTAX;
	memcpy(buf, d + 1, n - 2);
	buf[n - 2] = '\0';
	if (strlen(buf) != n - 2)
		return SMTP_ADDR_ESYNTAX;
	if (ascii_ncasecmp(buf, "IPv6:", 5) == 0)
		return inet_pton(AF_INET6, buf + 5, a) == 1 ? SMTP_ADDR_OK
							    : SMTP_ADDR_ESYNTAX;
	return inet_pton(AF_INET, buf, a) == 1 ? SMTP_ADDR_OK
					       : SMTP_ADDR_ESYNTAX;
}

static void
path_store(struct smtp_path *p, const char *in, size_t n, size_t l)
{
	size_t i;

	memcpy(p->local, in, l);
	p->local[l] = '\0';
	memcpy(p->mailbox, in, n);
	p->mailbox[n] = '\0';
	if (l < n) {
		for (i = l + 1; i < n; i++)
			p->domain[i - l - 1] = (char)lower(in[i]);
		p->domain[n - l - 1] = '\0';
	}
}

/* in[0..n) is the path between '<' and '>'. */
static enum smtp_addr_err
path_inner(const char *in, size_t n, enum smtp_addr_kind kind, int smtputf8,
    struct smtp_path *p)
{
	enum smtp_addr_err e;
	size_t l, dlen;

	if (n == 0) {
		if (kind != SMTP_ADDR_REVERSE)
			return SMTP_ADDR_ENULL;
		p->null = 1;
		return SMTP_ADDR_OK;
	}
	if (!utf8_valid((const unsigned char *)in, n, &p->utf8))
		return SMTP_ADDR_EBADUTF8;
	if (p->utf8 && !smtputf8)
		return SMTP_ADDR_EUTF8;
	if ((e = local_part(in, n, &l)) != SMTP_ADDR_OK)
		return e;
	if (l > SMTP_LOCAL_MAX)
		return SMTP_ADDR_ELOCALLEN;
	if (l == n) {
		/* RFC 5321 4.5.1: "<Postmaster>", any case, RCPT only */
		if (kind != SMTP_ADDR_FORWARD || l != 10 ||
		    ascii_ncasecmp(in, "postmaster", 10) != 0)
			return SMTP_ADDR_ESYNTAX;
		p->postmaster = 1;
		path_store(p, in, n, l);
		return SMTP_ADDR_OK;
	}
	if (in[l] != '@' || (dlen = n - l - 1) == 0)
		return SMTP_ADDR_ESYNTAX;
	if (dlen > SMTP_DOMAIN_MAX)
		return SMTP_ADDR_EDOMAINLEN;
	if (in[l + 1] == '[') {
		p->literal = 1;
		e = address_literal(in + l + 1, dlen);
	} else
		e = domain_name(in + l + 1, dlen);
	if (e != SMTP_ADDR_OK)
		return e;
	path_store(p, in, n, l);
	return SMTP_ADDR_OK;
}

enum smtp_addr_err
smtp_addr_parse(const char *s, size_t len, enum smtp_addr_kind kind,
    int smtputf8, struct smtp_path *p, size_t *used)
{
	enum smtp_addr_err e;
	size_t end = 0;

	memset(p, 0, sizeof(*p));
	if ((e = path_scan(s, len, &end)) == SMTP_ADDR_OK)
		e = path_inner(s + 1, end - 1, kind, smtputf8, p);
	if (e != SMTP_ADDR_OK) {
		memset(p, 0, sizeof(*p));
		return e;
	}
	*used = end + 1;
	return SMTP_ADDR_OK;
}

/* Address bytes and family; IPv4-mapped IPv6 becomes IPv4. */
static int
net_bytes(const struct sockaddr_storage *ss, unsigned char *b, int *prefix)
{
	const struct sockaddr_in6 *s6;

	if (ss->ss_family == AF_INET) {
		memcpy(b, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family != AF_INET6)
		return -1;
	s6 = (const struct sockaddr_in6 *)ss;
	if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		memcpy(b, &s6->sin6_addr, 16);
		return AF_INET6;
	}
	memcpy(b, &s6->sin6_addr.s6_addr[12], 4);
	if (prefix != NULL) {
		if (*prefix < 96)
			return -1; /* would span non-mapped space */
		*prefix -= 96;
	}
	return AF_INET;
}

int
smtp_addr_net_match(const struct sockaddr_storage *client,
    const struct sockaddr_storage *net, int prefix)
{
	unsigned char c[16], n[16], mask;
	int cf, nf, full;

	if (client == NULL || net == NULL)
		return 0;
	if (prefix < 0 || prefix > (net->ss_family == AF_INET ? 32 : 128))
		return 0;
	if ((cf = net_bytes(client, c, NULL)) < 0 ||
	    (nf = net_bytes(net, n, &prefix)) < 0 || cf != nf)
		return 0;
	full = prefix / 8;
	if (memcmp(c, n, full) != 0)
		return 0;
	if (prefix % 8 == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - prefix % 8));
	return (c[full] & mask) == (n[full] & mask);
}

int
smtp_addr_domain_match(const char *domain, const char *entry)
{
	size_t dl, el;

	if (domain == NULL || entry == NULL || *domain == '\0' ||
	    *entry == '\0' || *domain == '[')
		return 0;
	if (entry[0] != '.')
		return ascii_casecmp(domain, entry) == 0;
	dl = strlen(domain);
	el = strlen(entry);
	if (el < 2 || dl <= el)
		return 0; /* "." alone matches nothing */
	return ascii_casecmp(domain + dl - el, entry) == 0;
}

int
smtp_addr_client_trusted(const struct sockaddr_storage *client,
    const struct smtp_net *nets, size_t nnets)
{
	size_t i;

	for (i = 0; nets != NULL && i < nnets; i++)
		if (smtp_addr_net_match(client, &nets[i].addr, nets[i].prefix))
			return 1;
	return 0;
}

enum smtp_addr_err
smtp_addr_relay_check(const struct sockaddr_storage *client,
    const struct smtp_net *nets, size_t nnets, const char *const *domains,
    size_t ndomains, const char *rcpt_domain)
{
	size_t i;

	if (smtp_addr_client_trusted(client, nets, nnets))
		return SMTP_ADDR_OK;
	for (i = 0; domains != NULL && i < ndomains; i++)
		if (smtp_addr_domain_match(rcpt_domain, domains[i]))
			return SMTP_ADDR_OK;
	return SMTP_ADDR_ERELAY;
}

int
smtp_addr_8bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}
