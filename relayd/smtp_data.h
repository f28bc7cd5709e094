/*
 * SMTP DATA stream decoder: incremental, I/O-free state machine that
 * un-dot-stuffs the message, finds the real end of data and flags the
 * message-smuggling tricks (CVE-2023-51764/51765/51766).
 */
#ifndef RELAYD_SMTP_DATA_H
#define RELAYD_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "smtp_addr.h" /* struct smtp_reply */

/*
 * RFC 5321 4.5.3.1.6's text line limit incl. CRLF, stuffing dot not
 * counted: smtp_data_init's default for max_line.  relayd accepts longer
 * lines (max_line_length, relayd.conf(5)) and folds them on delivery.
 */
#define SMTP_DATA_LINE_MAX 1000

/* smtp_data.flags: why the message must be refused after end-of-data */
#define SMTP_DATA_BARE_LF 0x01 /* LF without CR before it */
#define SMTP_DATA_BARE_CR 0x02 /* CR without LF after it */
#define SMTP_DATA_LONG_LINE 0x04 /* a line > max_line octets */
#define SMTP_DATA_TOO_BIG 0x08 /* size > max_size */
#define SMTP_DATA_HOPS 0x10 /* more than max_hops Received: fields */
#define SMTP_DATA_NUL 0x20 /* a NUL octet */

/*
 * Output callback: len > 0 message octets, in order.  Return 0 to go on or
 * a negative value (say -errno) to stop: smtp_data_feed() returns it.
 */
typedef int smtp_data_out_fn(void *arg, const char *buf, size_t len);

struct smtp_data {
	/* set by smtp_data_init(); read-only afterwards */
	uint64_t max_size; /* 0: no limit */
	unsigned int max_hops; /* 0: no limit */
	uint64_t max_line; /* SMTP_DATA_LINE_MAX; may be changed; 0: none */
	smtp_data_out_fn *out; /* may be NULL: count and check only */
	void *arg;

	/* results, valid at any time */
	uint64_t size; /* message octets after un-stuffing */
	unsigned int hops; /* Received: fields in the header section */
	unsigned int flags; /* SMTP_DATA_* */
	int done; /* end-of-data seen */

	/* private state */
	int state;
	int err; /* sticky callback error */
	int in_header; /* still in the header section */
	int hdr_pos; /* matched octets of "received", -1 no match */
	uint64_t line_len; /* octets of the current line so far */
};

/*
 * Start decoding right after the 354 reply: the CRLF that ended "DATA"
 * counts as the one before a first "." line, so ".\r\n" at once is the
 * empty message.  max_line starts as SMTP_DATA_LINE_MAX; set it after
 * this call for another limit.
 */
void smtp_data_init(struct smtp_data *d, uint64_t max_size,
    unsigned int max_hops, smtp_data_out_fn *out, void *arg);

/*
 * Feed buf[0..len) from the wire, split anywhere.  Returns 1 at the end
 * of data, with *used the octets consumed up to and including the final
 * LF of <CRLF>.<CRLF> (what follows is the next command, pipelining);
 * 0 if more is needed (*used = len); or the callback's negative value.
 * After the end, or after an error, it consumes nothing and returns the
 * same value again.
 *
 * End of data is ONLY <CRLF>.<CRLF> where the first CRLF ends a line:
 * <LF>.<LF>, <CR>.<CR>, <LF>.<CRLF> and <CRLF>.<LF> are not.  A line
 * starting with "." loses that dot (RFC 5321 4.5.2).  Bare CR, bare LF,
 * a NUL, a line over max_line, a size over max_size or too many Received:
 * fields set a flag; decoding goes on to the real end but, from the octet that set
 * the first flag, nothing more is passed to out (the output is the same
 * whatever the split).  The header section ends at the first empty line;
 * "Received" is matched case-insensitively at the start of a line (so
 * folded continuation lines never count), optional WSP, then ":".
 */
int smtp_data_feed(
    struct smtp_data *d, const char *buf, size_t len, size_t *used);

/*
 * The reply after end-of-data for a flagged message (the caller discards
 * it), most important flag first: bare CR/LF "550 5.6.11", NUL
 * "554 5.6.0", too big "552 5.3.4", long line "552 5.6.0" (552 is in RFC
 * 5321 4.3.2's list for DATA; 500 would not be), hops "554 5.4.6".  NULL
 * if no flag.
 */
const struct smtp_reply *smtp_data_reply(const struct smtp_data *d);

#endif /* RELAYD_SMTP_DATA_H */
