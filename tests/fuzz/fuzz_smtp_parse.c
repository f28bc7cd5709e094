/*
 * libFuzzer target for relayd/smtp_parse and smtp_addr: arbitrary command
 * lines (first octet: flags) and paths.  Checks that results stay inside
 * their bounds, every error has a reply, and an accepted path parses back
 * to the same mailbox and domain.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                 \
	do {                     \
		if (!(x))        \
			abort(); \
	} while (0)

static void
check_path(const struct smtp_path *p, enum smtp_addr_kind kind)
{
	char buf[SMTP_PATH_MAX + 2];
	struct smtp_path q;
	size_t n = strlen(p->mailbox), used = 0;

	CHECK(strlen(p->local) <= SMTP_LOCAL_MAX);
	CHECK(strlen(p->domain) <= SMTP_DOMAIN_MAX);
	CHECK(n + 2 <= SMTP_PATH_MAX);
	CHECK(!p->null || (kind == SMTP_ADDR_REVERSE && n == 0));
	CHECK(!p->postmaster || kind == SMTP_ADDR_FORWARD);
	CHECK(p->null || p->postmaster || strchr(p->mailbox, '@') != NULL);
	/* never a route: no unquoted '%' or '!' can survive */
	CHECK(p->local[0] == '"' || strpbrk(p->local, "%!@") == NULL);
	/* round trip */
	buf[0] = '<';
	memcpy(buf + 1, p->mailbox, n);
	buf[n + 1] = '>';
	CHECK(smtp_addr_parse(buf, n + 2, kind, 1, &q, &used) == SMTP_ADDR_OK);
	CHECK(used == n + 2);
	CHECK(strcmp(q.domain, p->domain) == 0);
	CHECK(strcmp(q.local, p->local) == 0);
}

static void
fuzz_command(const char *line, size_t len, unsigned int flags)
{
	struct smtp_command cmd;
	enum smtp_parse_err e;
	const struct smtp_reply *r;

	e = smtp_parse_command(line, len, flags, &cmd);
	r = smtp_parse_reply(e, cmd.verb);
	CHECK((e == SMTP_PARSE_OK) == (r == NULL));
	CHECK(r == NULL || (r->code >= 500 && r->code < 600));
	CHECK(memchr(cmd.arg, '\0', sizeof(cmd.arg)) != NULL);
	CHECK(e != SMTP_PARSE_OK || cmd.verb != SMTP_VERB_NONE);
	CHECK(strlen(cmd.params.unknown) <= SMTP_KEYWORD_MAX);
	CHECK(len <= SMTP_LINE_MAX || e == SMTP_PARSE_ETOOLONG);
	if (e != SMTP_PARSE_OK)
		return;
	/* an accepted line is one CRLF-terminated line without NUL */
	CHECK(len >= 2 && line[len - 2] == '\r' && line[len - 1] == '\n');
	CHECK(memchr(line, '\0', len) == NULL);
	CHECK(memchr(line, '\n', len - 1) == NULL);
	if (cmd.verb == SMTP_VERB_MAIL)
		check_path(&cmd.path, SMTP_ADDR_REVERSE);
	if (cmd.verb == SMTP_VERB_RCPT)
		check_path(&cmd.path, SMTP_ADDR_FORWARD);
	if (cmd.path.utf8)
		CHECK((cmd.params.present & SMTP_PARAM_SMTPUTF8) ||
		    (cmd.verb == SMTP_VERB_RCPT && (flags & SMTP_PARSE_UTF8)));
}

static void
fuzz_path(const char *s, size_t len, unsigned int k)
{
	struct smtp_path p;
	enum smtp_addr_kind kind =
	    (k & 1) ? SMTP_ADDR_FORWARD : SMTP_ADDR_REVERSE;
	size_t used = 0;
	enum smtp_addr_err e;

	e = smtp_addr_parse(s, len, kind, (k & 2) != 0, &p, &used);
	CHECK((e == SMTP_ADDR_OK) == (smtp_addr_reply(e, kind) == NULL));
	if (e != SMTP_ADDR_OK)
		return;
	CHECK(used >= 2 && used <= len && used <= SMTP_PATH_MAX);
	CHECK(s[0] == '<' && s[used - 1] == '>');
	CHECK(!p.utf8 || (k & 2));
	check_path(&p, kind);
	(void)smtp_addr_domain_match(p.domain, ".example.org");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size < 1)
		return 0;
	/* an exact-size heap copy so ASan sees any over-read */
	copy = malloc(size > 1 ? size - 1 : 1);
	CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	fuzz_command(copy, size - 1, data[0] & SMTP_PARSE_UTF8);
	fuzz_path(copy, size - 1, data[0] >> 1);
	free(copy);
	return 0;
}
