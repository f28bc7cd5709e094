/*
 * SMTP server command-line parser (RFC 5321 4.1, 4.5.3.1; ESMTP parameters
 * of RFC 1870, 6152, 3030, 3461, 6531).  Trust boundary: every octet comes
 * from an unauthenticated client; we only read within [line, line + len),
 * write only into the caller's struct and refuse rather than guess.
 */
#include <string.h>

#include "smtp_parse.h"

#define REPLY(c, st, txt)                     \
	{                                     \
		c, st, txt, #c " " st " " txt \
	}

/*
 * XXX 5.5.2, not 5.5.6, for "line too long": the
 * IANA registry gives X.5.6 to RFC 4954 (AUTH exchange line too long).
 */
static const struct smtp_reply parse_replies[] = {
	[SMTP_PARSE_ETOOLONG] = REPLY(500, "5.5.2", "Line too long"),
	[SMTP_PARSE_ENUL] = REPLY(500, "5.5.2", "NUL octet in command"),
	[SMTP_PARSE_EBARELF] = REPLY(500, "5.5.2", "Bare LF in command"),
	[SMTP_PARSE_EBARECR] = REPLY(500, "5.5.2", "Bare CR in command"),
	[SMTP_PARSE_ENOCRLF] = REPLY(500, "5.5.2", "Command must end in CRLF"),
	[SMTP_PARSE_EVERB] = REPLY(500, "5.5.1", "Command unrecognized"),
	[SMTP_PARSE_EARG] =
	    REPLY(501, "5.5.4", "Syntax error in parameters or arguments"),
	[SMTP_PARSE_EPARAM] =
	    REPLY(555, "5.5.4", "MAIL FROM/RCPT TO parameter not recognized"),
	[SMTP_PARSE_EPARAMVAL] =
	    REPLY(501, "5.5.4", "Invalid or duplicate parameter value"),
};

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_VERB_HELO },
	{ "EHLO", SMTP_VERB_EHLO },
	{ "MAIL", SMTP_VERB_MAIL },
	{ "RCPT", SMTP_VERB_RCPT },
	{ "DATA", SMTP_VERB_DATA },
	{ "BDAT", SMTP_VERB_BDAT },
	{ "RSET", SMTP_VERB_RSET },
	{ "NOOP", SMTP_VERB_NOOP },
	{ "QUIT", SMTP_VERB_QUIT },
	{ "HELP", SMTP_VERB_HELP },
	{ "VRFY", SMTP_VERB_VRFY },
	{ "EXPN", SMTP_VERB_EXPN },
	{ "STARTTLS", SMTP_VERB_STARTTLS },
	{ "AUTH", SMTP_VERB_AUTH },
	{ "XQUEUE", SMTP_VERB_XQUEUE },
};

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/* Locale-independent: s[0..n) equals the NUL-terminated word, any case. */
static int
word_eq(const char *s, size_t n, const char *word)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (word[i] == '\0' || lower(s[i]) != lower(word[i]))
			return 0;
	return word[n] == '\0';
}

static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(unsigned char c)
{
	return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
}

static int
is_hexu(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

const char *
smtp_parse_verb_name(enum smtp_verb verb)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (verbs[i].verb == verb)
			return verbs[i].name;
	return "";
}

const struct smtp_reply *
smtp_parse_reply(enum smtp_parse_err err, enum smtp_verb verb)
{
	enum smtp_addr_kind kind =
	    verb == SMTP_VERB_MAIL ? SMTP_ADDR_REVERSE : SMTP_ADDR_FORWARD;

	switch (err) {
	case SMTP_PARSE_OK:
		return NULL;
	case SMTP_PARSE_EPATH:
		return smtp_addr_reply(SMTP_ADDR_ESYNTAX, kind);
	case SMTP_PARSE_EPATHLEN:
		return smtp_addr_reply(SMTP_ADDR_EPATHLEN, kind);
	case SMTP_PARSE_EROUTING:
		return smtp_addr_reply(SMTP_ADDR_EROUTING, kind);
	case SMTP_PARSE_ENULLRCPT:
		return smtp_addr_reply(SMTP_ADDR_ENULL, kind);
	case SMTP_PARSE_EUTF8:
		return smtp_addr_reply(SMTP_ADDR_EUTF8, kind);
	default:
		if (err < 0 || err > SMTP_PARSE_EPARAMVAL)
			return NULL;
		return &parse_replies[err];
	}
}

/* The line is one command ending in its only CRLF, without NUL. */
static enum smtp_parse_err
line_check(const char *line, size_t len)
{
	size_t i;

	if (len > SMTP_LINE_MAX)
		return SMTP_PARSE_ETOOLONG;
	for (i = 0; i < len; i++) {
		if (line[i] == '\0')
			return SMTP_PARSE_ENUL;
		if (line[i] == '\r' && i + 1 < len && line[i + 1] != '\n')
			return SMTP_PARSE_EBARECR;
		if (line[i] == '\n') {
			if (i == 0 || line[i - 1] != '\r')
				return SMTP_PARSE_EBARELF;
			if (i != len - 1)
				return SMTP_PARSE_ENOCRLF; /* two lines */
		}
	}
	if (len < 2 || line[len - 1] != '\n')
		return SMTP_PARSE_ENOCRLF;
	return SMTP_PARSE_OK;
}

/* 1*20DIGIT; saturate (SIZE) or fail (BDAT) on overflow. */
static int
number_parse(const char *s, size_t n, int saturate, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20)
		return -1;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v > (UINT64_MAX - (s[i] - '0')) / 10) {
			if (!saturate)
				return -1;
			v = UINT64_MAX;
			continue;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* "BDAT" SP chunk-size [ SP "LAST" ] (RFC 3030 2) */
static enum smtp_parse_err
bdat_parse(struct smtp_command *cmd)
{
	const char *a = cmd->arg, *sp;
	size_t n;

	sp = strchr(a, ' ');
	n = sp != NULL ? (size_t)(sp - a) : strlen(a);
	if (number_parse(a, n, 0, &cmd->bdat_size) == -1)
		return SMTP_PARSE_EARG;
	if (sp == NULL)
		return SMTP_PARSE_OK;
	while (*sp == ' ')
		sp++;
	if (!word_eq(sp, strlen(sp), "LAST"))
		return SMTP_PARSE_EARG;
	cmd->bdat_last = 1;
	return SMTP_PARSE_OK;
}

/* Enforce each verb's argument shape (RFC 5321 4.1.1). */
static enum smtp_parse_err
plain_args(struct smtp_command *cmd)
{
	switch (cmd->verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		return cmd->arg[0] != '\0' && is_printable(cmd->arg)
		    ? SMTP_PARSE_OK
		    : SMTP_PARSE_EARG;
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
	case SMTP_VERB_XQUEUE:
		return cmd->arg[0] == '\0' ? SMTP_PARSE_OK : SMTP_PARSE_EARG;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
	case SMTP_VERB_AUTH:
		return cmd->arg[0] != '\0' ? SMTP_PARSE_OK : SMTP_PARSE_EARG;
	case SMTP_VERB_BDAT:
		return bdat_parse(cmd);
	default:
		return SMTP_PARSE_OK; /* NOOP, HELP: anything */
	}
}

/* With the ESMTP parameter code at the end of this file. */
static enum smtp_parse_err params_parse(
    struct smtp_command *cmd, const char *s);

/* "MAIL FROM:" / "RCPT TO:" [SP*] path *(SP param) */
static enum smtp_parse_err
path_args(struct smtp_command *cmd, unsigned int flags)
{
	const char *kw = cmd->verb == SMTP_VERB_MAIL ? "FROM:" : "TO:";
	enum smtp_addr_kind kind =
	    cmd->verb == SMTP_VERB_MAIL ? SMTP_ADDR_REVERSE : SMTP_ADDR_FORWARD;
	const char *s = cmd->arg;
	enum smtp_parse_err pe;
	enum smtp_addr_err ae;
	size_t used = 0, kwlen = strlen(kw);
	int utf8;

	if (strlen(s) < kwlen || !word_eq(s, kwlen, kw))
		return SMTP_PARSE_EARG;
	for (s += kwlen; *s == ' '; s++)
		;
	ae = smtp_addr_parse(s, strlen(s), kind, 1, &cmd->path, &used);
	switch (ae) {
	case SMTP_ADDR_OK:
		break;
	case SMTP_ADDR_EPATHLEN:
	case SMTP_ADDR_ELOCALLEN:
	case SMTP_ADDR_EDOMAINLEN:
		return SMTP_PARSE_EPATHLEN;
	case SMTP_ADDR_EROUTING:
		return SMTP_PARSE_EROUTING;
	case SMTP_ADDR_ENULL:
		return SMTP_PARSE_ENULLRCPT;
	default:
		return SMTP_PARSE_EPATH;
	}
	if ((pe = params_parse(cmd, s + used)) != SMTP_PARSE_OK)
		return pe;
	utf8 = cmd->verb == SMTP_VERB_MAIL
	    ? (cmd->params.present & SMTP_PARAM_SMTPUTF8) != 0
	    : (flags & SMTP_PARSE_UTF8) != 0;
	if (cmd->path.utf8 && !utf8)
		return SMTP_PARSE_EUTF8;
	return SMTP_PARSE_OK;
}

enum smtp_parse_err
smtp_parse_command(
    const char *line, size_t len, unsigned int flags, struct smtp_command *cmd)
{
	enum smtp_parse_err e;
	size_t i, n, vlen;

	memset(cmd, 0, sizeof(*cmd));
	if ((e = line_check(line, len)) != SMTP_PARSE_OK)
		return e;
	n = len - 2; /* without CRLF; < sizeof(cmd->arg) */
	for (vlen = 0; vlen < n && line[vlen] != ' '; vlen++)
		;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (word_eq(line, vlen, verbs[i].name))
			cmd->verb = verbs[i].verb;
	if (cmd->verb == SMTP_VERB_NONE)
		return SMTP_PARSE_EVERB;
	if (vlen < n) {
		memcpy(cmd->arg, line + vlen + 1, n - vlen - 1);
		for (i = n - vlen - 1; i > 0 && cmd->arg[i - 1] == ' '; i--)
			cmd->arg[i - 1] = '\0';
	}
	if (cmd->verb == SMTP_VERB_MAIL || cmd->verb == SMTP_VERB_RCPT)
		return path_args(cmd, flags);
	return plain_args(cmd);
}

/* --- ESMTP parameters ------------------------------------------------ */

/* xtext (RFC 3461 4): "!".."~" except "+" "=", or "+" 2 upper hex. */
static int
xtext_valid(const char *v)
{
	for (; *v; v++) {
		if (*v == '+') {
			if (!is_hexu(v[1]) || !is_hexu(v[2]))
				return 0;
			v += 2;
		} else if (*v < '!' || *v > '~' || *v == '=')
			return 0;
	}
	return 1;
}

/* NOTIFY=NEVER / NOTIFY=SUCCESS,FAILURE,DELAY (any order, no repeats) */
static int
notify_parse(const char *v, unsigned int *out)
{
	static const char *names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	unsigned int bits = 0, bit;
	size_t n, i;

	for (;;) {
		n = strcspn(v, ",");
		for (i = 0, bit = 0; i < 4 && !bit; i++)
			if (word_eq(v, n, names[i]))
				bit = 1u << i;
		if (bit == 0 || (bits & bit))
			return -1;
		bits |= bit;
		if (v[n] == '\0')
			break;
		v += n + 1;
	}
	if ((bits & SMTP_NOTIFY_NEVER) && bits != SMTP_NOTIFY_NEVER)
		return -1;
	*out = bits;
	return 0;
}

/* ORCPT=addr-type ";" xtext (RFC 3461 4.2) */
static int
orcpt_valid(const char *v)
{
	size_t n = strcspn(v, ";"), i;

	if (n == 0 || v[n] != ';' || v[n + 1] == '\0')
		return 0;
	for (i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
			    "YZ0123456789!#$%&'*+-/=?^_`{|}~",
			v[i]))
			return 0;
	return xtext_valid(v + n + 1);
}

/* Check and store one known parameter's value; -1 if invalid. */
static int
param_value(struct smtp_params *p, unsigned int bit, const char *v)
{
	if (bit == SMTP_PARAM_SMTPUTF8)
		return v == NULL ? 0 : -1;
	if (v == NULL)
		return -1;
	switch (bit) {
	case SMTP_PARAM_SIZE:
		return number_parse(v, strlen(v), 1, &p->size);
	case SMTP_PARAM_BODY:
		p->body = word_eq(v, strlen(v), "7BIT")   ? SMTP_BODY_7BIT
		    : word_eq(v, strlen(v), "8BITMIME")   ? SMTP_BODY_8BITMIME
		    : word_eq(v, strlen(v), "BINARYMIME") ? SMTP_BODY_BINARYMIME
							  : SMTP_BODY_NONE;
		return p->body == SMTP_BODY_NONE ? -1 : 0;
	case SMTP_PARAM_RET:
		p->ret = word_eq(v, strlen(v), "FULL") ? SMTP_RET_FULL
		    : word_eq(v, strlen(v), "HDRS")    ? SMTP_RET_HDRS
						       : SMTP_RET_NONE;
		return p->ret == SMTP_RET_NONE ? -1 : 0;
	case SMTP_PARAM_ENVID:
		if (!xtext_valid(v) ||
		    strlcpy(p->envid, v, sizeof(p->envid)) >= sizeof(p->envid))
			return -1;
		return 0;
	case SMTP_PARAM_NOTIFY:
		return notify_parse(v, &p->notify);
	case SMTP_PARAM_AUTH:
		/* "<>" or an xtext mailbox; we never pass it on, so as
		 * RFC 4954 5 allows, it is treated as AUTH=<>. */
		return strcmp(v, "<>") == 0 || xtext_valid(v) ? 0 : -1;
	case SMTP_PARAM_ORCPT:
		if (!orcpt_valid(v) ||
		    strlcpy(p->orcpt, v, sizeof(p->orcpt)) >= sizeof(p->orcpt))
			return -1;
		return 0;
	}
	return -1;
}

static const struct {
	const char *name;
	enum smtp_verb verb;
	unsigned int bit;
} params[] = {
	{ "SIZE", SMTP_VERB_MAIL, SMTP_PARAM_SIZE },
	{ "BODY", SMTP_VERB_MAIL, SMTP_PARAM_BODY },
	{ "SMTPUTF8", SMTP_VERB_MAIL, SMTP_PARAM_SMTPUTF8 },
	{ "RET", SMTP_VERB_MAIL, SMTP_PARAM_RET },
	{ "ENVID", SMTP_VERB_MAIL, SMTP_PARAM_ENVID },
	{ "AUTH", SMTP_VERB_MAIL, SMTP_PARAM_AUTH },
	{ "NOTIFY", SMTP_VERB_RCPT, SMTP_PARAM_NOTIFY },
	{ "ORCPT", SMTP_VERB_RCPT, SMTP_PARAM_ORCPT },
};

/* esmtp-param = esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2) */
static enum smtp_parse_err
param_one(struct smtp_command *cmd, char *tok)
{
	struct smtp_params *p = &cmd->params;
	char *v = strchr(tok, '=');
	size_t klen, i;

	if (v != NULL)
		*v++ = '\0';
	klen = strlen(tok);
	if (klen == 0)
		return SMTP_PARSE_EARG;
	for (i = 0; i < klen; i++)
		if (!is_alnum(tok[i]) && (tok[i] != '-' || i == 0))
			return SMTP_PARSE_EARG;
	/* esmtp-value = 1*(%d33-60 / %d62-126) */
	if (v != NULL && (*v == '\0' || !is_printable(v) || strchr(v, '=')))
		return SMTP_PARSE_EPARAMVAL;
	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		if (params[i].verb != cmd->verb ||
		    !word_eq(tok, klen, params[i].name))
			continue;
		if ((p->present & params[i].bit) ||
		    param_value(p, params[i].bit, v) == -1)
			return SMTP_PARSE_EPARAMVAL;
		p->present |= params[i].bit;
		return SMTP_PARSE_OK;
	}
	/* reported for logging only: truncation is harmless here */
	klen = klen < SMTP_KEYWORD_MAX ? klen : SMTP_KEYWORD_MAX;
	memcpy(p->unknown, tok, klen);
	p->unknown[klen] = '\0';
	return SMTP_PARSE_EPARAM;
}

/* s: what follows the path, inside cmd->arg (so trailing SP is gone). */
static enum smtp_parse_err
params_parse(struct smtp_command *cmd, const char *s)
{
	char tok[SMTP_LINE_MAX];
	enum smtp_parse_err e;
	size_t n;

	while (*s != '\0') {
		if (*s != ' ')
			return SMTP_PARSE_EARG; /* "<a@b>junk" */
		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		memcpy(tok, s, n);
		tok[n] = '\0';
		if ((e = param_one(cmd, tok)) != SMTP_PARSE_OK)
			return e;
		s += n;
	}
	return SMTP_PARSE_OK;
}
