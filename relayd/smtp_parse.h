/*
 * SMTP server command parser: one client command line (RFC 5321 4.1) to a
 * struct smtp_command, plus the reply for each error.  Pure: no I/O, no
 * allocation, no globals; input is untrusted.
 */
#ifndef RELAYD_SMTP_PARSE_H
#define RELAYD_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_addr.h"
#include "smtp_param.h" /* SMTP_ENVID_MAX, SMTP_ORCPT_MAX, SMTP_NOTIFY_* */

#define SMTP_LINE_MAX 512 /* command line incl. CRLF (RFC 5321 4.5.3.1.4) */
#define SMTP_KEYWORD_MAX 32 /* longest unknown keyword we report */

enum smtp_verb {
	SMTP_VERB_NONE = 0, /* only with an error */
	SMTP_VERB_HELO, /* arg: domain, required */
	SMTP_VERB_EHLO, /* arg: domain or address literal, required */
	SMTP_VERB_MAIL, /* path + params */
	SMTP_VERB_RCPT, /* path + params */
	SMTP_VERB_DATA, /* no argument */
	SMTP_VERB_BDAT, /* bdat_size, bdat_last (RFC 3030) */
	SMTP_VERB_RSET, /* no argument */
	SMTP_VERB_NOOP, /* optional argument, ignored */
	SMTP_VERB_QUIT, /* no argument */
	SMTP_VERB_HELP, /* optional argument */
	SMTP_VERB_VRFY, /* argument required */
	SMTP_VERB_EXPN, /* argument required */
	SMTP_VERB_STARTTLS, /* no argument (RFC 3207) */
	SMTP_VERB_AUTH, /* argument required (RFC 4954) */
	/* no argument; ours, on local submissions only (sendmail -bp) */
	SMTP_VERB_XQUEUE
};

/*
 * Errors, in the order they are checked.  Line-level errors (TOOLONG, NUL,
 * BARELF, BARECR, NOCRLF) leave cmd->verb at SMTP_VERB_NONE; for the others
 * cmd->verb is set so that smtp_parse_reply() can pick 5.1.7 vs 5.1.3.
 */
enum smtp_parse_err {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_ETOOLONG, /* > SMTP_LINE_MAX octets incl. CRLF */
	SMTP_PARSE_ENUL, /* NUL octet */
	SMTP_PARSE_EBARELF, /* LF not preceded by CR (may close: smuggling) */
	SMTP_PARSE_EBARECR, /* CR not followed by LF */
	SMTP_PARSE_ENOCRLF, /* the line does not end in LF (incomplete) */
	SMTP_PARSE_EVERB, /* unknown command */
	SMTP_PARSE_EARG, /* argument missing, unexpected or malformed */
	SMTP_PARSE_EPATH, /* path syntax (incl. invalid UTF-8) */
	SMTP_PARSE_EPATHLEN, /* path, local part or domain too long */
	SMTP_PARSE_EROUTING, /* source route, "%", "!", several or quoted "@" */
	SMTP_PARSE_ENULLRCPT, /* RCPT TO:<> */
	SMTP_PARSE_EUTF8, /* non-ASCII address without SMTPUTF8 */
	SMTP_PARSE_EPARAM, /* unknown ESMTP parameter (cmd->params.unknown) */
	SMTP_PARSE_EPARAMVAL /* bad, duplicate or missing parameter value */
};

enum smtp_body {
	SMTP_BODY_NONE = 0, /* BODY= not given */
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
	SMTP_BODY_BINARYMIME
};

enum smtp_ret { SMTP_RET_NONE = 0, SMTP_RET_FULL, SMTP_RET_HDRS };

/* smtp_params.present bits */
#define SMTP_PARAM_SIZE 0x01
#define SMTP_PARAM_BODY 0x02
#define SMTP_PARAM_SMTPUTF8 0x04
#define SMTP_PARAM_RET 0x08
#define SMTP_PARAM_ENVID 0x10
#define SMTP_PARAM_NOTIFY 0x20
#define SMTP_PARAM_ORCPT 0x40
#define SMTP_PARAM_AUTH 0x80 /* MAIL AUTH= (RFC 4954 5): checked, not kept */

/*
 * ESMTP parameters.  MAIL takes SIZE BODY SMTPUTF8 RET ENVID; RCPT takes
 * NOTIFY ORCPT; anything else (also a RCPT parameter on MAIL) is unknown.
 * Keywords and enumerated values are case-insensitive.
 */
struct smtp_params {
	unsigned int present; /* SMTP_PARAM_* */
	uint64_t size; /* SIZE= (1*20DIGIT); saturates at UINT64_MAX */
	enum smtp_body body;
	enum smtp_ret ret;
	unsigned int notify; /* SMTP_NOTIFY_* */
	char envid[SMTP_ENVID_MAX + 1]; /* still xtext-encoded */
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "addr-type;xtext", encoded */
	char unknown[SMTP_KEYWORD_MAX + 1]; /* EPARAM: keyword (truncated) */
};

struct smtp_command {
	enum smtp_verb verb;
	/* text after "VERB ", without CRLF and trailing SP; "" if none */
	char arg[SMTP_LINE_MAX];
	struct smtp_path path; /* MAIL / RCPT */
	struct smtp_params params; /* MAIL / RCPT */
	uint64_t bdat_size; /* BDAT chunk size (no overflow: EARG) */
	int bdat_last; /* BDAT ... LAST */
};

/* smtp_parse_command() flags */
#define SMTP_PARSE_UTF8 0x01 /* RCPT: the transaction's MAIL had SMTPUTF8 */

/*
 * Parse one command line: line[0..len) must be exactly one line including
 * its CRLF.  Verbs are case-insensitive; "MAIL FROM:" / "RCPT TO:" too,
 * and SP between the colon and "<" is tolerated (common client bug).
 * Parameters are separated by one or more SP; trailing SP is ignored.
 * For MAIL the line's own SMTPUTF8 parameter allows a UTF-8 path; for RCPT
 * the caller passes SMTP_PARSE_UTF8 when the MAIL had it.  cmd is always
 * fully written (zeroed first).
 */
enum smtp_parse_err smtp_parse_command(
    const char *line, size_t len, unsigned int flags, struct smtp_command *cmd);

/*
 * The reply line for err (verb picks sender/recipient status codes for
 * address errors); NULL for SMTP_PARSE_OK.  After EBARELF the caller may
 * also close the connection.
 */
const struct smtp_reply *smtp_parse_reply(
    enum smtp_parse_err err, enum smtp_verb verb);

/* Upper-case name of a verb ("EHLO"), "" for SMTP_VERB_NONE. */
const char *smtp_parse_verb_name(enum smtp_verb verb);

#endif /* RELAYD_SMTP_PARSE_H */
