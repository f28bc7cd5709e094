/*
 * Unit tests for relayd/smtp_parse: every verb, every error, ESMTP
 * parameters, the 512-octet boundary and the reply table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_parse.h"

#define V(x) SMTP_VERB_##x
#define E(x) SMTP_PARSE_##x

static const struct pcase {
	const char *line;
	enum smtp_parse_err err;
	enum smtp_verb verb;
	const char *arg; /* expected cmd.arg when not NULL */
} pcases[] = {
	/* every verb, case-insensitive */
	{ "HELO mx.example.org\r\n", E(OK), V(HELO), "mx.example.org" },
	{ "helo x\r\n", E(OK), V(HELO), "x" },
	{ "HELO\r\n", E(EARG), V(HELO), "" },
	{ "HELO a b\r\n", E(EARG), V(HELO), "a b" },
	{ "EHLO mx.example.org\r\n", E(OK), V(EHLO), "mx.example.org" },
	{ "EhLo [192.0.2.1]\r\n", E(OK), V(EHLO), "[192.0.2.1]" },
	{ "EHLO x  \r\n", E(OK), V(EHLO), "x" },
	{ "EHLO\r\n", E(EARG), V(EHLO), "" },
	{ "EHLO \r\n", E(EARG), V(EHLO), "" },
	{ "EHLO x\x01y\r\n", E(EARG), V(EHLO), NULL },
	{ "EHLO h\xc3\xa9\r\n", E(EARG), V(EHLO), NULL },
	{ "MAIL FROM:<a@b.c>\r\n", E(OK), V(MAIL), "FROM:<a@b.c>" },
	{ "RCPT TO:<a@b.c>\r\n", E(OK), V(RCPT), "TO:<a@b.c>" },
	{ "DATA\r\n", E(OK), V(DATA), "" },
	{ "data\r\n", E(OK), V(DATA), "" },
	{ "DATA \r\n", E(OK), V(DATA), "" },
	{ "DATA x\r\n", E(EARG), V(DATA), "x" },
	{ "BDAT 100\r\n", E(OK), V(BDAT), "100" },
	{ "RSET\r\n", E(OK), V(RSET), "" },
	{ "RSET x\r\n", E(EARG), V(RSET), "x" },
	{ "NOOP\r\n", E(OK), V(NOOP), "" },
	{ "noop anything at all\r\n", E(OK), V(NOOP), "anything at all" },
	{ "QUIT\r\n", E(OK), V(QUIT), "" },
	{ "QUIT now\r\n", E(EARG), V(QUIT), "now" },
	{ "HELP\r\n", E(OK), V(HELP), "" },
	{ "HELP MAIL\r\n", E(OK), V(HELP), "MAIL" },
	{ "VRFY user\r\n", E(OK), V(VRFY), "user" },
	{ "VRFY\r\n", E(EARG), V(VRFY), "" },
	{ "EXPN list\r\n", E(OK), V(EXPN), "list" },
	{ "expn\r\n", E(EARG), V(EXPN), "" },
	{ "STARTTLS\r\n", E(OK), V(STARTTLS), "" },
	{ "StartTLS\r\n", E(OK), V(STARTTLS), "" },
	{ "STARTTLS x\r\n", E(EARG), V(STARTTLS), "x" },
	{ "XQUEUE\r\n", E(OK), V(XQUEUE), "" },
	{ "xqueue\r\n", E(OK), V(XQUEUE), "" },
	{ "XQUEUE all\r\n", E(EARG), V(XQUEUE), "all" },
	{ "AUTH PLAIN AGZvbwBiYXI=\r\n", E(OK), V(AUTH), "PLAIN AGZvbwBiYXI=" },
	{ "AUTH\r\n", E(EARG), V(AUTH), "" },
	/* unknown verbs */
	{ "FOO\r\n", E(EVERB), V(NONE), "" },
	{ "MAILX FROM:<a@b>\r\n", E(EVERB), V(NONE), "" },
	{ "HEL\r\n", E(EVERB), V(NONE), "" },
	{ "\r\n", E(EVERB), V(NONE), "" },
	{ " HELO x\r\n", E(EVERB), V(NONE), "" },
	{ "HELO\tx\r\n", E(EVERB), V(NONE), "" },
	{ "STARTTLSX\r\n", E(EVERB), V(NONE), "" },
	/* line errors */
	{ "NOOP\n", E(EBARELF), V(NONE), "" },
	{ "\n", E(EBARELF), V(NONE), "" },
	{ "NO\nOP\r\n", E(EBARELF), V(NONE), "" },
	{ "NO\rOP\r\n", E(EBARECR), V(NONE), "" },
	{ "NOOP\r\r\n", E(EBARECR), V(NONE), "" },
	{ "NOOP\r", E(ENOCRLF), V(NONE), "" },
	{ "NOOP", E(ENOCRLF), V(NONE), "" },
	{ "", E(ENOCRLF), V(NONE), "" },
	{ "NOOP\r\nQUIT\r\n", E(ENOCRLF), V(NONE), "" },
	/* MAIL / RCPT shapes */
	{ "mail from:<a@b.c>\r\n", E(OK), V(MAIL), NULL },
	{ "MAIL FROM: <a@b.c>\r\n", E(OK), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> \r\n", E(OK), V(MAIL), NULL },
	{ "MAIL FROM:<>\r\n", E(OK), V(MAIL), NULL },
	{ "MAIL FROM:a@b.c\r\n", E(EPATH), V(MAIL), NULL },
	{ "MAIL FROM:\r\n", E(EPATH), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c\r\n", E(EPATH), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c>x\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL TO:<a@b.c>\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL FROM <a@b.c>\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL  FROM:<a@b.c>\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL FROM:<postmaster>\r\n", E(EPATH), V(MAIL), NULL },
	{ "MAIL FROM:<@a,@b:c@d>\r\n", E(EROUTING), V(MAIL), NULL },
	{ "rcpt to:<a@b.c>\r\n", E(OK), V(RCPT), NULL },
	{ "RCPT TO:<>\r\n", E(ENULLRCPT), V(RCPT), NULL },
	{ "RCPT TO:<postmaster>\r\n", E(OK), V(RCPT), NULL },
	{ "RCPT TO:<Postmaster>\r\n", E(OK), V(RCPT), NULL },
	{ "RCPT TO:<a@b@c>\r\n", E(EROUTING), V(RCPT), NULL },
	{ "RCPT TO:<u%v@c>\r\n", E(EROUTING), V(RCPT), NULL },
	{ "RCPT TO:<v!u@c>\r\n", E(EROUTING), V(RCPT), NULL },
	{ "RCPT TO:<\"u@v\"@c>\r\n", E(EROUTING), V(RCPT), NULL },
	{ "RCPT TO:<\"u\\@v\"@c>\r\n", E(EROUTING), V(RCPT), NULL },
	{ "MAIL FROM:<\"u@v\"@c>\r\n", E(EROUTING), V(MAIL), NULL },
	{ "RCPT FROM:<a@b.c>\r\n", E(EARG), V(RCPT), NULL },
	/* parameters */
	{ "MAIL FROM:<a@b.c> SIZE=\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE=abc\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE=-1\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE=123456789012345678901\r\n", E(EPARAMVAL),
	    V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1 SIZE=2\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE=1=2\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> BODY=9BIT\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> BODY\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SMTPUTF8=yes\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> RET=ALL\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> ENVID=a+2bb\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> ENVID=a+\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> ENVID=a+4\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> SIZE=\xc3\xa9\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> NOTIFY=NEVER\r\n", E(EPARAM), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> XFOO=1\r\n", E(EPARAM), V(MAIL), NULL },
	/* AUTH= (RFC 4954 5): a server that offers AUTH must take it. */
	{ "MAIL FROM:<a@b.c> AUTH=<>\r\n", E(OK), V(MAIL),
	    "FROM:<a@b.c> AUTH=<>" },
	{ "MAIL FROM:<a@b.c> AUTH=u+2Bx@b.c\r\n", E(OK), V(MAIL),
	    "FROM:<a@b.c> AUTH=u+2Bx@b.c" },
	{ "MAIL FROM:<a@b.c> AUTH=u+zz\r\n", E(EPARAMVAL), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> AUTH=<> AUTH=<>\r\n", E(EPARAMVAL), V(MAIL),
	    NULL },
	{ "RCPT TO:<a@b.c> AUTH=<>\r\n", E(EPARAM), V(RCPT), NULL },
	{ "MAIL FROM:<a@b.c> =1\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> -X=1\r\n", E(EARG), V(MAIL), NULL },
	{ "MAIL FROM:<a@b.c> X_Y=1\r\n", E(EARG), V(MAIL), NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS\r\n", E(EPARAMVAL), V(RCPT),
	    NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=DELAY,DELAY\r\n", E(EPARAMVAL), V(RCPT),
	    NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=,\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=SUCCESS,\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> NOTIFY=SOMETIMES\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> ORCPT=;a@b\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc822;\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> ORCPT=rfc 822;a\r\n", E(EPARAMVAL), V(RCPT), NULL },
	{ "RCPT TO:<a@b.c> SIZE=10\r\n", E(EPARAM), V(RCPT), NULL },
	/* SMTPUTF8 */
	{ "MAIL FROM:<j\xc3\xb6rg@b.c>\r\n", E(EUTF8), V(MAIL), NULL },
	{ "MAIL FROM:<j\xc3\xb6rg@b.c> SMTPUTF8\r\n", E(OK), V(MAIL), NULL },
	{ "MAIL FROM:<j\xc3\xb6rg@b.c> smtputf8 BODY=8BITMIME\r\n", E(OK),
	    V(MAIL), NULL },
	{ "MAIL FROM:<j\xc3(@b.c> SMTPUTF8\r\n", E(EPATH), V(MAIL), NULL },
	{ "RCPT TO:<j\xc3\xb6rg@b.c>\r\n", E(EUTF8), V(RCPT), NULL },
	/* BDAT */
	{ "BDAT 0 LAST\r\n", E(OK), V(BDAT), "0 LAST" },
	{ "bdat 5 last\r\n", E(OK), V(BDAT), "5 last" },
	{ "BDAT 5  LAST \r\n", E(OK), V(BDAT), NULL },
	{ "BDAT\r\n", E(EARG), V(BDAT), "" },
	{ "BDAT x\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT -1\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT +1\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 1x\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 10 LASTX\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 10 LAST x\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 10 FIRST\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 18446744073709551615\r\n", E(OK), V(BDAT), NULL },
	{ "BDAT 18446744073709551616\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 99999999999999999999\r\n", E(EARG), V(BDAT), NULL },
	{ "BDAT 000000000000000000001\r\n", E(EARG), V(BDAT), NULL },
};

static void
test_table(void **state)
{
	struct smtp_command cmd;
	enum smtp_parse_err e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++) {
		const struct pcase *c = &pcases[i];

		e = smtp_parse_command(c->line, strlen(c->line), 0, &cmd);
		if (e != c->err || cmd.verb != c->verb)
			fail_msg("'%s': got err %d verb %d, want %d %d",
			    c->line, e, cmd.verb, c->err, c->verb);
		if (c->arg != NULL)
			assert_string_equal(cmd.arg, c->arg);
		if (e == SMTP_PARSE_OK)
			assert_null(smtp_parse_reply(e, cmd.verb));
		else
			assert_non_null(smtp_parse_reply(e, cmd.verb));
	}
}

static void
test_nul(void **state)
{
	static const char l1[] = "NO\0OP\r\n";
	static const char l2[] = "MAIL FROM:<a@b\0c>\r\n";
	static const char l3[] = "\0\r\n";
	struct smtp_command cmd;

	(void)state;
	assert_int_equal(
	    smtp_parse_command(l1, sizeof(l1) - 1, 0, &cmd), SMTP_PARSE_ENUL);
	assert_int_equal(
	    smtp_parse_command(l2, sizeof(l2) - 1, 0, &cmd), SMTP_PARSE_ENUL);
	assert_int_equal(
	    smtp_parse_command(l3, sizeof(l3) - 1, 0, &cmd), SMTP_PARSE_ENUL);
	assert_int_equal(cmd.verb, SMTP_VERB_NONE);
	assert_string_equal(smtp_parse_reply(SMTP_PARSE_ENUL, 0)->line,
	    "500 5.5.2 NUL octet in command");
}

/* 512 octets including CRLF is the longest line; 513 is too long. */
static void
test_line_limit(void **state)
{
	char line[1024], path[300];
	struct smtp_command cmd;
	size_t n;

	(void)state;
	memcpy(line, "NOOP ", 5);
	memset(line + 5, 'x', 505);
	memcpy(line + 510, "\r\n", 2);
	assert_int_equal(smtp_parse_command(line, 512, 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.arg), 505);
	memset(line + 5, 'x', 506);
	memcpy(line + 511, "\r\n", 2);
	assert_int_equal(
	    smtp_parse_command(line, 513, 0, &cmd), SMTP_PARSE_ETOOLONG);
	assert_int_equal(cmd.verb, SMTP_VERB_NONE);
	/* too long wins over what is inside */
	line[20] = '\n';
	assert_int_equal(
	    smtp_parse_command(line, 513, 0, &cmd), SMTP_PARSE_ETOOLONG);

	/* a 256-octet path fits, 257 does not */
	memset(path, 0, sizeof(path));
	path[0] = '<';
	memset(path + 1, 'l', 64);
	path[65] = '@';
	memset(path + 66, 'd', 63);
	path[129] = '.';
	memset(path + 130, 'd', 63);
	path[193] = '.';
	memset(path + 194, 'd', 61);
	path[255] = '>';
	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:%s\r\n", path);
	assert_int_equal(smtp_parse_command(line, n, 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.path.mailbox), 254);
	path[255] = 'd';
	path[256] = '>';
	n = (size_t)snprintf(line, sizeof(line), "RCPT TO:%s\r\n", path);
	assert_int_equal(
	    smtp_parse_command(line, n, 0, &cmd), SMTP_PARSE_EPATHLEN);
	/* local part 65 */
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<%065d@x>\r\n", 0);
	assert_int_equal(
	    smtp_parse_command(line, n, 0, &cmd), SMTP_PARSE_EPATHLEN);
	n = (size_t)snprintf(line, sizeof(line), "MAIL FROM:<%064d@x>\r\n", 0);
	assert_int_equal(smtp_parse_command(line, n, 0, &cmd), SMTP_PARSE_OK);
}

static void
test_mail_params(void **state)
{
	static const char l1[] = "MAIL FROM:<Who@Example.ORG> SIZE=1000 "
				 "BODY=8BITMIME RET=HDRS ENVID=QQ314159+2B1 "
				 "SMTPUTF8\r\n";
	static const char l2[] = "mail from:<> size=0 body=binarymime "
				 "ret=full\r\n";
	static const char l3[] = "MAIL FROM:<a@b> SIZE=99999999999999999999 "
				 "BODY=7bit\r\n";
	struct smtp_command cmd;

	(void)state;
	assert_int_equal(
	    smtp_parse_command(l1, strlen(l1), 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_string_equal(cmd.path.mailbox, "Who@Example.ORG");
	assert_string_equal(cmd.path.domain, "example.org");
	assert_int_equal(cmd.params.present,
	    SMTP_PARAM_SIZE | SMTP_PARAM_BODY | SMTP_PARAM_RET |
		SMTP_PARAM_ENVID | SMTP_PARAM_SMTPUTF8);
	assert_int_equal(cmd.params.size, 1000);
	assert_int_equal(cmd.params.body, SMTP_BODY_8BITMIME);
	assert_int_equal(cmd.params.ret, SMTP_RET_HDRS);
	assert_string_equal(cmd.params.envid, "QQ314159+2B1");

	assert_int_equal(
	    smtp_parse_command(l2, strlen(l2), 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.path.null, 1);
	assert_int_equal(cmd.params.size, 0);
	assert_int_equal(cmd.params.body, SMTP_BODY_BINARYMIME);
	assert_int_equal(cmd.params.ret, SMTP_RET_FULL);

	/* 20 digits is legal (RFC 1870) and saturates */
	assert_int_equal(
	    smtp_parse_command(l3, strlen(l3), 0, &cmd), SMTP_PARSE_OK);
	assert_true(cmd.params.size == UINT64_MAX);
	assert_int_equal(cmd.params.body, SMTP_BODY_7BIT);
}

static void
test_envid_length(void **state)
{
	char line[600];
	struct smtp_command cmd;
	int n;

	(void)state;
	n = snprintf(line, sizeof(line), "MAIL FROM:<a@b> ENVID=%0100d\r\n", 7);
	assert_int_equal(
	    smtp_parse_command(line, (size_t)n, 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.params.envid), 100);
	n = snprintf(line, sizeof(line), "MAIL FROM:<a@b> ENVID=%0101d\r\n", 7);
	assert_int_equal(
	    smtp_parse_command(line, (size_t)n, 0, &cmd), SMTP_PARSE_EPARAMVAL);
	/* ORCPT up to 500 octets; the line limit comes first */
	n = snprintf(
	    line, sizeof(line), "RCPT TO:<a@b> ORCPT=rfc822;%0483d\r\n", 7);
	assert_int_equal(n, 512);
	assert_int_equal(
	    smtp_parse_command(line, (size_t)n, 0, &cmd), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.params.orcpt), 490);
}

static void
test_rcpt_params(void **state)
{
	static const struct {
		const char *line;
		unsigned int notify;
		const char *orcpt;
	} t[] = {
		{ "RCPT TO:<a@b> NOTIFY=NEVER\r\n", SMTP_NOTIFY_NEVER, "" },
		{ "RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE\r\n",
		    SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE, "" },
		{ "RCPT TO:<a@b> notify=delay,success,failure\r\n",
		    SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE |
			SMTP_NOTIFY_DELAY,
		    "" },
		{ "RCPT TO:<a@b> ORCPT=rfc822;a+40b.example NOTIFY=DELAY\r\n",
		    SMTP_NOTIFY_DELAY, "rfc822;a+40b.example" },
		{ "RCPT TO:<a@b>   ORCPT=utf-8;x\r\n", 0, "utf-8;x" },
	};
	struct smtp_command cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(
		    smtp_parse_command(t[i].line, strlen(t[i].line), 0, &cmd),
		    SMTP_PARSE_OK);
		assert_int_equal(cmd.params.notify, t[i].notify);
		assert_string_equal(cmd.params.orcpt, t[i].orcpt);
		assert_int_equal(!!(cmd.params.present & SMTP_PARAM_NOTIFY),
		    t[i].notify != 0);
	}
}

static void
test_unknown_param(void **state)
{
	static const char l1[] = "MAIL FROM:<a@b> SIZE=1 X-Custom=1\r\n";
	static const char l2[] = "MAIL FROM:<a@b> "
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n";
	struct smtp_command cmd;

	(void)state;
	assert_int_equal(
	    smtp_parse_command(l1, strlen(l1), 0, &cmd), SMTP_PARSE_EPARAM);
	assert_string_equal(cmd.params.unknown, "X-Custom");
	assert_string_equal(smtp_parse_reply(SMTP_PARSE_EPARAM, cmd.verb)->line,
	    "555 5.5.4 MAIL FROM/RCPT TO parameter not recognized");
	assert_int_equal(
	    smtp_parse_command(l2, strlen(l2), 0, &cmd), SMTP_PARSE_EPARAM);
	assert_int_equal(strlen(cmd.params.unknown), SMTP_KEYWORD_MAX);
}

static void
test_smtputf8_rcpt(void **state)
{
	static const char l[] = "RCPT TO:<j\xc3\xb6rg@b\xc3\xbc"
				"cher.de>\r\n";
	struct smtp_command cmd;

	(void)state;
	assert_int_equal(
	    smtp_parse_command(l, strlen(l), 0, &cmd), SMTP_PARSE_EUTF8);
	assert_int_equal(
	    smtp_parse_command(l, strlen(l), SMTP_PARSE_UTF8, &cmd),
	    SMTP_PARSE_OK);
	assert_int_equal(cmd.path.utf8, 1);
	assert_string_equal(cmd.path.domain,
	    "b\xc3\xbc"
	    "cher.de");
	assert_string_equal(
	    smtp_parse_reply(SMTP_PARSE_EUTF8, SMTP_VERB_RCPT)->line,
	    "553 5.6.7 Non-ASCII address requires SMTPUTF8");
}

static void
test_bdat(void **state)
{
	static const struct {
		const char *line;
		uint64_t size;
		int last;
	} t[] = {
		{ "BDAT 0 LAST\r\n", 0, 1 },
		{ "BDAT 1048576\r\n", 1048576, 0 },
		{ "bdat 5 last\r\n", 5, 1 },
		{ "BDAT 007\r\n", 7, 0 },
		{ "BDAT 18446744073709551615 LAST\r\n", UINT64_MAX, 1 },
	};
	struct smtp_command cmd;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_int_equal(
		    smtp_parse_command(t[i].line, strlen(t[i].line), 0, &cmd),
		    SMTP_PARSE_OK);
		assert_true(cmd.bdat_size == t[i].size);
		assert_int_equal(cmd.bdat_last, t[i].last);
	}
}

static void
test_replies(void **state)
{
	static const struct {
		enum smtp_parse_err err;
		enum smtp_verb verb;
		const char *line;
	} t[] = {
		{ E(ETOOLONG), V(NONE), "500 5.5.2 Line too long" },
		{ E(EBARELF), V(NONE), "500 5.5.2 Bare LF in command" },
		{ E(EBARECR), V(NONE), "500 5.5.2 Bare CR in command" },
		{ E(ENUL), V(NONE), "500 5.5.2 NUL octet in command" },
		{ E(ENOCRLF), V(NONE), "500 5.5.2 Command must end in CRLF" },
		{ E(EVERB), V(NONE), "500 5.5.1 Command unrecognized" },
		{ E(EARG), V(DATA),
		    "501 5.5.4 Syntax error in parameters or arguments" },
		{ E(EPATH), V(MAIL), "501 5.1.7 Bad sender address syntax" },
		{ E(EPATH), V(RCPT), "501 5.1.3 Bad recipient address syntax" },
		{ E(EPATHLEN), V(RCPT), "501 5.1.3 Path too long" },
		{ E(EROUTING), V(RCPT), "553 5.1.3 Routing not allowed" },
		{ E(EROUTING), V(MAIL), "553 5.1.7 Routing not allowed" },
		{ E(ENULLRCPT), V(RCPT),
		    "501 5.1.3 Null recipient not allowed" },
		{ E(EUTF8), V(MAIL),
		    "553 5.6.7 Non-ASCII address requires SMTPUTF8" },
		{ E(EPARAMVAL), V(MAIL),
		    "501 5.5.4 Invalid or duplicate parameter value" },
	};
	const struct smtp_reply *r;
	char want[256];
	int e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(
		    smtp_parse_reply(t[i].err, t[i].verb)->line, t[i].line);
	assert_null(smtp_parse_reply(SMTP_PARSE_OK, SMTP_VERB_MAIL));
	assert_null(smtp_parse_reply((enum smtp_parse_err)99, 0));
	for (e = E(ETOOLONG); e <= E(EPARAMVAL); e++) {
		r = smtp_parse_reply(e, SMTP_VERB_RCPT);
		assert_non_null(r);
		snprintf(want, sizeof(want), "%d %s %s", r->code, r->status,
		    r->text);
		assert_string_equal(r->line, want);
		assert_int_equal(r->status[0], '5');
		assert_int_equal(r->code / 100, 5);
	}
}

static void
test_verb_names(void **state)
{
	struct smtp_command cmd;
	char line[64];
	int v;
	int n;

	(void)state;
	assert_string_equal(smtp_parse_verb_name(SMTP_VERB_NONE), "");
	/* every name parses back to its verb */
	for (v = SMTP_VERB_HELO; v <= SMTP_VERB_AUTH; v++) {
		n = snprintf(
		    line, sizeof(line), "%s\r\n", smtp_parse_verb_name(v));
		smtp_parse_command(line, (size_t)n, 0, &cmd);
		assert_int_equal(cmd.verb, v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_envid_length),
		cmocka_unit_test(test_rcpt_params),
		cmocka_unit_test(test_unknown_param),
		cmocka_unit_test(test_smtputf8_rcpt),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_verb_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
