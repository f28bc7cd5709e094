/*
 * Strict parser for SMTP replies received from an untrusted server
 * (RFC 5321 4.2): "DDD-text" continuation lines and one "DDD text" (or
 * "DDD") last line, all with the same code.  Every limit is hard: line
 * length, line count, total size; anything else is a protocol error.
 * No I/O, no allocation (CVE-2020-8794 was a reply parser).
 */
#ifndef RELAYD_SMTPC_REPLY_H
#define RELAYD_SMTPC_REPLY_H

#include <stddef.h>

#define SMTPC_REPLY_LINE_MAX 2048 /* octets of one line, without CRLF */
#define SMTPC_REPLY_LINES_MAX 100 /* lines of one reply */
#define SMTPC_REPLY_MAX 65536 /* octets of one reply, line ends included */

#define SMTPC_REPLY_MORE 0 /* feed the next line */
#define SMTPC_REPLY_DONE 1 /* the reply is complete */

struct smtpc_reply {
	int code; /* 200..559, same on every line */
	char status[16]; /* enhanced status of the first line, or "" */
	size_t nline;
	/* text of line i (after "DDD-"), NUL-terminated, at buf + off[i] */
	size_t off[SMTPC_REPLY_LINES_MAX];
	size_t total; /* octets fed, line ends counted as 2 */
	size_t used; /* octets of buf in use */
	int done;
	char buf[SMTPC_REPLY_MAX];
};

void smtpc_reply_init(struct smtpc_reply *r);

/*
 * Feed one line (without its CRLF or LF) of a reply being received.
 * Returns SMTPC_REPLY_MORE, SMTPC_REPLY_DONE, or -EPROTO with *why a
 * static reason ("reply line too long", "bad reply code", "mixed reply
 * codes", "too many reply lines", "reply too long", "control character
 * in reply").  After DONE or an error, call smtpc_reply_init() first.
 */
int smtpc_reply_line(
    struct smtpc_reply *r, const char *line, size_t len, const char **why);

/*
 * Parse one reply from buf[0..len): lines end with LF (an optional CR
 * before it is removed).  Returns SMTPC_REPLY_DONE with *used = octets
 * consumed, SMTPC_REPLY_MORE if buf ends before the reply does (and is
 * not yet over a limit), or -EPROTO with *why.
 */
int smtpc_reply_parse(const char *buf, size_t len, struct smtpc_reply *r,
    size_t *used, const char **why);

/* Text of line i (i < r->nline), after "DDD-"/"DDD ". */
const char *smtpc_reply_text(const struct smtpc_reply *r, size_t i);

/*
 * The whole reply as one printable-ASCII line into out: "550 5.1.1 text
 * of line 1 text of line 2"; the enhanced status repeated at the start of
 * later lines is dropped; octets outside 0x20..0x7e become '?'.  Always
 * NUL-terminates (len > 0); cut at len - 1 octets.
 */
void smtpc_reply_format(const struct smtpc_reply *r, char *out, size_t len);

#endif /* RELAYD_SMTPC_REPLY_H */
