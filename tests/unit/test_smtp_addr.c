/*
 * Unit tests for lib/smtp_addr: path syntax, routing refusal, length
 * limits at their exact boundaries, SMTPUTF8, and the relay policy.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "smtp_addr.h"

#define R SMTP_ADDR_REVERSE
#define F SMTP_ADDR_FORWARD

static const struct acase {
	const char *in;
	enum smtp_addr_kind kind;
	int utf8; /* SMTPUTF8 given */
	enum smtp_addr_err err;
	const char *local; /* expected on success */
	const char *domain; /* expected on success */
} acases[] = {
	{ "<user@example.org>", F, 0, SMTP_ADDR_OK, "user", "example.org" },
	{ "<User@Example.ORG>", R, 0, SMTP_ADDR_OK, "User", "example.org" },
	{ "<a.b.c@d.e>", F, 0, SMTP_ADDR_OK, "a.b.c", "d.e" },
	{ "<a+tag@x-y.example>", F, 0, SMTP_ADDR_OK, "a+tag", "x-y.example" },
	{ "<#$&'*+-/=?^_`{|}~@x>", F, 0, SMTP_ADDR_OK, "#$&'*+-/=?^_`{|}~",
	    "x" },
	{ "<u@localhost>", F, 0, SMTP_ADDR_OK, "u", "localhost" },
	{ "<u@1.example>", F, 0, SMTP_ADDR_OK, "u", "1.example" },
	{ "<\"john doe\"@x.org>", F, 0, SMTP_ADDR_OK, "\"john doe\"", "x.org" },
	{ "<\"a\\\"b\"@x.org>", F, 0, SMTP_ADDR_OK, "\"a\\\"b\"", "x.org" },
	{ "<\"a>b\"@c.org>", F, 0, SMTP_ADDR_OK, "\"a>b\"", "c.org" },
	{ "<\"\"@c.org>", F, 0, SMTP_ADDR_OK, "\"\"", "c.org" },
	{ "<u@[192.0.2.1]>", F, 0, SMTP_ADDR_OK, "u", "[192.0.2.1]" },
	{ "<u@[IPv6:2001:DB8::1]>", F, 0, SMTP_ADDR_OK, "u",
	    "[ipv6:2001:db8::1]" },
	{ "<u@[ipv6:::ffff:192.0.2.1]>", F, 0, SMTP_ADDR_OK, "u",
	    "[ipv6:::ffff:192.0.2.1]" },
	/* null path and postmaster */
	{ "<>", R, 0, SMTP_ADDR_OK, "", "" },
	{ "<>", F, 0, SMTP_ADDR_ENULL, NULL, NULL },
	{ "<postmaster>", F, 0, SMTP_ADDR_OK, "postmaster", "" },
	{ "<PostMaster>", F, 0, SMTP_ADDR_OK, "PostMaster", "" },
	{ "<postmaster>", R, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<postmaster2>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	/* routing: refused, never followed */
	{ "<@a,@b:user@c>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<@a:user@c>", R, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<a@b@c>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<user%host@relay.example>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<host!user@relay.example>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"u%h\"@relay.example>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"u\\!h\"@relay.example>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<user%host>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<@>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	/* a quoted "@" routes like an unquoted one at the next hop */
	{ "<\"a@b\"@c.org>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"a@b\"@c.org>", R, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"a\\@b\"@c.org>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"@\"@c.org>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"u@other.example\">", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"u@o\"@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	/* compatibility forms NFKC turns into "@", "%", "!" */
	{ "<u\xef\xbc\xa0o@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<u\xef\xb9\xabo@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<u\xef\xbc\x85o@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<u\xef\xb9\xaao@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<u\xef\xbc\x81o@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<u\xef\xb9\x97o@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<\"u\xef\xbc\xa0o\"@c.org>", F, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<u\xef\xbc\xa0o@c.org>", R, 1, SMTP_ADDR_EROUTING, NULL, NULL },
	/* other fullwidth letters are just UTF-8 */
	{ "<u\xef\xbc\xa1@c.org>", F, 1, SMTP_ADDR_OK, "u\xef\xbc\xa1",
	    "c.org" },
	{ "<\"a:b\"@c.org>", F, 0, SMTP_ADDR_OK, "\"a:b\"", "c.org" },
	/* syntax */
	{ "", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "user@x.org", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@x.org", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<", R, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<.user@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user.@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<us..er@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<@x>", F, 0, SMTP_ADDR_EROUTING, NULL, NULL },
	{ "<user@.x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@x.>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@x..y>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@-x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@x->", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@x_y>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<user@x y>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<us er@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<us\ter@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<us(er@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<\"unterminated@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<\"a\"b@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<\"a\tb\"@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<\"a\\\x01\"@x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[300.1.1.1]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[1.2.3]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[IPv6:1.2.3.4]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[2001:db8::1]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[IPv6:fe80::1%eth0]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[tag:content]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[1.2.3.4>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[]>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	{ "<u@[1.2.3.4].x>", F, 0, SMTP_ADDR_ESYNTAX, NULL, NULL },
	/* SMTPUTF8 */
	{ "<j\xc3\xb6rg@example.org>", R, 0, SMTP_ADDR_EUTF8, NULL, NULL },
	{ "<j\xc3\xb6rg@example.org>", R, 1, SMTP_ADDR_OK, "j\xc3\xb6rg",
	    "example.org" },
	{ "<u@B\xc3\xbc"
	  "cher.de>",
	    F, 0, SMTP_ADDR_EUTF8, NULL, NULL },
	{ "<u@B\xc3\xbc"
	  "cher.de>",
	    F, 1, SMTP_ADDR_OK, "u",
	    "b\xc3\xbc"
	    "cher.de" },
	{ "<\xf0\x9f\x98\x80@x>", F, 1, SMTP_ADDR_OK, "\xf0\x9f\x98\x80", "x" },
	{ "<\"\xc3\xa9 x\"@x>", F, 1, SMTP_ADDR_OK, "\"\xc3\xa9 x\"", "x" },
	{ "<\xc3(@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xc3(@x>", F, 0, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xc0\xaf@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xe0\x80\xaf@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xed\xa0\x80@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xf4\x90\x80\x80@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xf8\x88\x80\x80\x80@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<u@x\xe2\x82>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
	{ "<\xff@x>", F, 1, SMTP_ADDR_EBADUTF8, NULL, NULL },
};

static int
has_high(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static void
test_parse_table(void **state)
{
	struct smtp_path p;
	size_t i, used;
	enum smtp_addr_err e;

	(void)state;
	for (i = 0; i < sizeof(acases) / sizeof(acases[0]); i++) {
		const struct acase *c = &acases[i];

		used = 12345;
		e = smtp_addr_parse(
		    c->in, strlen(c->in), c->kind, c->utf8, &p, &used);
		if (e != c->err)
			fail_msg("'%s': got %d want %d", c->in, e, c->err);
		if (e != SMTP_ADDR_OK) {
			assert_int_equal(used, 12345);
			assert_string_equal(p.mailbox, "");
			continue;
		}
		assert_int_equal(used, strlen(c->in));
		assert_string_equal(p.local, c->local);
		assert_string_equal(p.domain, c->domain);
		assert_int_equal(p.literal, c->domain[0] == '[');
		assert_int_equal(p.utf8, has_high(c->in));
		assert_int_equal(p.null, strcmp(c->in, "<>") == 0);
		assert_int_equal(
		    p.postmaster, c->domain[0] == '\0' && c->local[0] != '\0');
		/* mailbox is the path without brackets, case kept */
		assert_int_equal(strlen(p.mailbox), strlen(c->in) - 2);
		assert_memory_equal(p.mailbox, c->in + 1, strlen(c->in) - 2);
	}
}

/* The path ends at its '>': parameters after it are left alone. */
static void
test_parse_used(void **state)
{
	static const char s[] = "<a@b.c> SIZE=10";
	static const char q[] = "<\"x>y\"@b.c> BODY=8BITMIME";
	struct smtp_path p;
	size_t used;

	(void)state;
	assert_int_equal(
	    smtp_addr_parse(s, strlen(s), F, 0, &p, &used), SMTP_ADDR_OK);
	assert_int_equal(used, 7);
	assert_int_equal(
	    smtp_addr_parse(q, strlen(q), F, 0, &p, &used), SMTP_ADDR_OK);
	assert_int_equal(used, 11);
	/* len bounds the scan: no '>' inside it */
	assert_int_equal(
	    smtp_addr_parse(s, 6, F, 0, &p, &used), SMTP_ADDR_ESYNTAX);
	/* a NUL inside the length is just a bad octet */
	assert_int_equal(
	    smtp_addr_parse("<a\0b@c>", 7, F, 0, &p, &used), SMTP_ADDR_ESYNTAX);
	assert_int_equal(
	    smtp_addr_parse("<a@c\0d>", 7, F, 0, &p, &used), SMTP_ADDR_ESYNTAX);
	assert_int_equal(
	    smtp_addr_parse("<a@[1.2.3.4\0]>", 14, F, 0, &p, &used),
	    SMTP_ADDR_ESYNTAX);
}

/* "<" local "@" domain ">" with the given sizes (labels of <= 63). */
static size_t
make_path(char *buf, size_t size, size_t local, size_t domain, size_t label)
{
	size_t n = 0, i, inlabel = 0;

	assert_true(local + domain + 3 < size);
	buf[n++] = '<';
	memset(buf + n, 'l', local);
	n += local;
	buf[n++] = '@';
	for (i = 0; i < domain; i++) {
		/* a dot every `label` octets, never first or last */
		if (inlabel == label && i + 1 < domain) {
			buf[n++] = '.';
			inlabel = 0;
		} else {
			buf[n++] = 'd';
			inlabel++;
		}
	}
	buf[n++] = '>';
	buf[n] = '\0';
	return n;
}

static void
test_lengths(void **state)
{
	static const struct {
		size_t local, domain, label;
		enum smtp_addr_err err;
	} t[] = {
		{ 64, 189, 63, SMTP_ADDR_OK }, /* path = 256 */
		{ 64, 190, 63, SMTP_ADDR_EPATHLEN }, /* path = 257 */
		{ 1, 252, 63, SMTP_ADDR_OK }, /* path = 256 */
		{ 1, 253, 63, SMTP_ADDR_EPATHLEN }, /* domain 253 */
		{ 64, 10, 63, SMTP_ADDR_OK },
		{ 65, 10, 63, SMTP_ADDR_ELOCALLEN },
		{ 1, 63, 63, SMTP_ADDR_OK }, /* label = 63 */
		{ 1, 64, 64, SMTP_ADDR_EDOMAINLEN }, /* label = 64 */
		{ 1, 200, 100, SMTP_ADDR_EDOMAINLEN },
	};
	char buf[400];
	struct smtp_path p;
	size_t i, n, used;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = make_path(
		    buf, sizeof(buf), t[i].local, t[i].domain, t[i].label);
		assert_int_equal(n, t[i].local + t[i].domain + 3);
		assert_int_equal(
		    smtp_addr_parse(buf, n, F, 0, &p, &used), t[i].err);
		if (t[i].err == SMTP_ADDR_OK) {
			assert_int_equal(strlen(p.local), t[i].local);
			assert_int_equal(strlen(p.domain), t[i].domain);
		}
	}
	/* a quoted local part counts its quotes: "x*62" is 64 octets */
	memset(buf, 0, sizeof(buf));
	buf[0] = '<';
	buf[1] = '"';
	memset(buf + 2, 'q', 62);
	memcpy(buf + 64, "\"@x>", 4);
	assert_int_equal(
	    smtp_addr_parse(buf, strlen(buf), F, 0, &p, &used), SMTP_ADDR_OK);
	memset(buf + 2, 'q', 63);
	memcpy(buf + 65, "\"@x>", 4);
	assert_int_equal(smtp_addr_parse(buf, strlen(buf), F, 0, &p, &used),
	    SMTP_ADDR_ELOCALLEN);
}

static void
test_replies(void **state)
{
	enum smtp_addr_err e;
	const struct smtp_reply *r;
	char want[256];

	(void)state;
	assert_null(smtp_addr_reply(SMTP_ADDR_OK, R));
	assert_null(smtp_addr_reply(SMTP_ADDR_ERELAY + 1, R));
	for (e = SMTP_ADDR_ESYNTAX; e <= SMTP_ADDR_ERELAY; e++) {
		for (int k = R; k <= F; k++) {
			r = smtp_addr_reply(e, k);
			assert_non_null(r);
			assert_true(r->code >= 500 && r->code <= 555);
			snprintf(want, sizeof(want), "%d %s %s", r->code,
			    r->status, r->text);
			assert_string_equal(r->line, want);
		}
	}
	assert_string_equal(smtp_addr_reply(SMTP_ADDR_EROUTING, F)->line,
	    "553 5.1.3 Routing not allowed");
	assert_string_equal(smtp_addr_reply(SMTP_ADDR_EROUTING, R)->line,
	    "553 5.1.7 Routing not allowed");
	assert_string_equal(smtp_addr_reply(SMTP_ADDR_ERELAY, F)->line,
	    "554 5.7.1 Relaying denied");
	assert_string_equal(
	    smtp_addr_reply(SMTP_ADDR_EUTF8, F)->status, "5.6.7");
	assert_string_equal(
	    smtp_addr_reply(SMTP_ADDR_ESYNTAX, R)->status, "5.1.7");
	assert_string_equal(
	    smtp_addr_reply(SMTP_ADDR_ESYNTAX, F)->status, "5.1.3");
}

static struct sockaddr_storage
ss(const char *a)
{
	struct sockaddr_storage s;

	memset(&s, 0, sizeof(s));
	if (strchr(a, ':') != NULL) {
		s.ss_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, a,
				     &((struct sockaddr_in6 *)&s)->sin6_addr),
		    1);
	} else {
		s.ss_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, a,
				     &((struct sockaddr_in *)&s)->sin_addr),
		    1);
	}
	return s;
}

static void
test_net_match(void **state)
{
	static const struct {
		const char *client, *net;
		int prefix, match;
	} t[] = {
		{ "10.1.2.3", "10.0.0.0", 8, 1 },
		{ "11.0.0.1", "10.0.0.0", 8, 0 },
		{ "10.127.255.255", "10.128.0.0", 9, 0 },
		{ "10.128.0.1", "10.128.0.0", 9, 1 },
		{ "192.0.2.7", "192.0.2.7", 32, 1 },
		{ "192.0.2.8", "192.0.2.7", 32, 0 },
		{ "203.0.113.9", "0.0.0.0", 0, 1 },
		{ "192.0.2.7", "192.0.2.7", 33, 0 }, /* bad prefix */
		{ "192.0.2.7", "192.0.2.7", -1, 0 }, /* bad prefix */
		{ "2001:db8:1::1", "2001:db8::", 32, 1 },
		{ "2001:db9::1", "2001:db8::", 32, 0 },
		{ "2001:db8::1", "2001:db8::1", 128, 1 },
		{ "2001:db8::2", "2001:db8::1", 128, 0 },
		{ "2001:db8::1", "2001:db8::1", 129, 0 },
		{ "2001:db8::1", "::", 0, 1 },
		{ "2001:db8::1", "10.0.0.0", 8, 0 }, /* family mismatch */
		{ "10.0.0.1", "2001:db8::", 32, 0 },
		/* IPv4-mapped IPv6 clients match IPv4 networks */
		{ "::ffff:127.0.0.1", "127.0.0.0", 8, 1 },
		{ "::ffff:10.1.2.3", "10.0.0.0", 8, 1 },
		{ "::ffff:11.1.2.3", "10.0.0.0", 8, 0 },
		{ "::ffff:127.0.0.1", "::", 0, 0 }, /* it is IPv4 now */
		/* and mapped networks match IPv4 clients */
		{ "127.0.0.1", "::ffff:127.0.0.0", 104, 1 },
		{ "::ffff:127.0.0.1", "::ffff:127.0.0.0", 104, 1 },
		{ "128.0.0.1", "::ffff:127.0.0.0", 104, 0 },
		{ "127.0.0.1", "::ffff:0.0.0.0", 95, 0 },
	};
	struct sockaddr_storage c, n, u;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		c = ss(t[i].client);
		n = ss(t[i].net);
		if (smtp_addr_net_match(&c, &n, t[i].prefix) != t[i].match)
			fail_msg("%s in %s/%d: want %d", t[i].client, t[i].net,
			    t[i].prefix, t[i].match);
	}
	memset(&u, 0, sizeof(u));
	u.ss_family = AF_UNIX;
	assert_int_equal(smtp_addr_net_match(&u, &n, 0), 0);
	assert_int_equal(smtp_addr_net_match(&c, &u, 0), 0);
	assert_int_equal(smtp_addr_net_match(NULL, &n, 0), 0);
}

static void
test_domain_match(void **state)
{
	static const struct {
		const char *domain, *entry;
		int match;
	} t[] = {
		{ "example.org", "example.org", 1 },
		{ "example.org", "EXAMPLE.Org", 1 },
		{ "a.example.org", "example.org", 0 },
		{ "xexample.org", "example.org", 0 },
		{ "example.org", "example.org.", 0 },
		{ "a.example.org", ".example.org", 1 },
		{ "a.b.example.org", ".EXAMPLE.org", 1 },
		{ "example.org", ".example.org", 0 },
		{ "badexample.org", ".example.org", 0 },
		{ "example.org.evil", ".example.org", 0 },
		{ "a.org", ".", 0 },
		{ "", ".x", 0 },
		{ "", "", 0 },
		{ "x", "", 0 },
		{ "[192.0.2.1]", "[192.0.2.1]", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (smtp_addr_domain_match(t[i].domain, t[i].entry) !=
		    t[i].match)
			fail_msg("'%s' vs '%s': want %d", t[i].domain,
			    t[i].entry, t[i].match);
	assert_int_equal(smtp_addr_domain_match(NULL, "x"), 0);
	assert_int_equal(smtp_addr_domain_match("x", NULL), 0);
}

static void
test_relay_check(void **state)
{
	struct smtp_net nets[2];
	const char *const domains[] = { "relay.example", ".sub.example" };
	struct sockaddr_storage in, out6, mapped;

	(void)state;
	nets[0].addr = ss("192.0.2.0");
	nets[0].prefix = 24;
	nets[1].addr = ss("2001:db8::");
	nets[1].prefix = 48;
	in = ss("192.0.2.55");
	out6 = ss("2001:db9::1");
	mapped = ss("::ffff:192.0.2.9");

	/* trusted client: any domain */
	assert_int_equal(
	    smtp_addr_relay_check(&in, nets, 2, domains, 2, "anywhere.example"),
	    SMTP_ADDR_OK);
	assert_int_equal(smtp_addr_relay_check(
			     &mapped, nets, 2, domains, 2, "anywhere.example"),
	    SMTP_ADDR_OK);
	assert_int_equal(smtp_addr_client_trusted(&in, nets, 2), 1);
	assert_int_equal(smtp_addr_client_trusted(&mapped, nets, 2), 1);
	assert_int_equal(smtp_addr_client_trusted(&out6, nets, 2), 0);
	assert_int_equal(smtp_addr_client_trusted(&in, nets, 0), 0);
	assert_int_equal(smtp_addr_client_trusted(&in, NULL, 0), 0);
	/* untrusted client: only relay domains */
	assert_int_equal(
	    smtp_addr_relay_check(&out6, nets, 2, domains, 2, "relay.example"),
	    SMTP_ADDR_OK);
	assert_int_equal(
	    smtp_addr_relay_check(&out6, nets, 2, domains, 2, "mx.sub.example"),
	    SMTP_ADDR_OK);
	assert_int_equal(
	    smtp_addr_relay_check(&out6, nets, 2, domains, 2, "sub.example"),
	    SMTP_ADDR_ERELAY);
	assert_int_equal(smtp_addr_relay_check(
			     &out6, nets, 2, domains, 2, "anywhere.example"),
	    SMTP_ADDR_ERELAY);
	assert_int_equal(smtp_addr_relay_check(&out6, nets, 2, domains, 2, ""),
	    SMTP_ADDR_ERELAY);
	/* counts bound the arrays */
	assert_int_equal(
	    smtp_addr_relay_check(&in, nets, 0, domains, 1, "mx.sub.example"),
	    SMTP_ADDR_ERELAY);
	/* empty policy: nothing is relayed */
	assert_int_equal(
	    smtp_addr_relay_check(&in, NULL, 0, NULL, 0, "relay.example"),
	    SMTP_ADDR_ERELAY);
}

/* Any octet above 0x7f, anywhere in the given length, and only there. */
static void
test_8bit(void **state)
{
	(void)state;
	assert_int_equal(smtp_addr_8bit("", 0), 0);
	assert_int_equal(smtp_addr_8bit("plain ascii\x7f", 12), 0);
	assert_int_equal(smtp_addr_8bit("caf\xc3\xa9", 5), 1);
	assert_int_equal(smtp_addr_8bit("\x80", 1), 1);
	assert_int_equal(smtp_addr_8bit("ab\xff", 2), 0); /* beyond n */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_table),
		cmocka_unit_test(test_parse_used),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_net_match),
		cmocka_unit_test(test_domain_match),
		cmocka_unit_test(test_relay_check),
		cmocka_unit_test(test_8bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
