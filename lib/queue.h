/*
 * The durable mail queue: queue ids, the queue file format of
 * relayd-queue(5), enqueue (tmp/ -> fsync -> rename into queue/ -> fsync
 * dir), stale tmp/ cleanup, and a strict reader for files the relay user
 * wrote (untrusted by root readers such as relayctl).
 */
#ifndef RELAY_QUEUE_H
#define RELAY_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "smtp_addr.h" /* SMTP_PATH_MAX, smtp_addr_parse() */
#include "smtp_param.h" /* SMTP_ENVID_MAX, SMTP_ORCPT_MAX, SMTP_NOTIFY_* */

#define QUEUE_ID_LEN 16 /* ids we make: 16 of [0-9A-Z] */
#define QUEUE_ID_MIN 12 /* ids we accept when reading: 12..32 */
#define QUEUE_ID_MAX 32
#define QUEUE_HELO_MAX 255
#define QUEUE_ADDR_MAX 46 /* INET6_ADDRSTRLEN */
#define QUEUE_LINE_MAX 1024 /* envelope line incl. LF */
#define QUEUE_RCPT_MAX 100000 /* config max_recipients' upper bound */
#define QUEUE_ATTEMPTS_MAX 1000000
#define QUEUE_READ_MAX ((size_t)1 << 30) /* queue_read() refuses bigger */
#define QUEUE_ERROR_MAX 512 /* last-error text: "X.Y.Z text" */

/* queue_file.flags */
#define QUEUE_F_8BITMIME 0x01 /* BODY=8BITMIME */
#define QUEUE_F_7BIT 0x02 /* BODY=7BIT given explicitly */
#define QUEUE_F_SMTPUTF8 0x04 /* SMTPUTF8 */
#define QUEUE_F_RET_FULL 0x08 /* RET=FULL */
#define QUEUE_F_RET_HDRS 0x10 /* RET=HDRS */

enum queue_rcpt_state {
	QUEUE_RCPT_PENDING = 0,
	QUEUE_RCPT_SENT,
	QUEUE_RCPT_FAILED
};

struct queue_rcpt {
	char path[SMTP_PATH_MAX +
	    1]; /* "<local@domain>" as the client sent it */
	enum queue_rcpt_state state;
	unsigned int notify; /* SMTP_NOTIFY_* bits, 0: not given */
	char orcpt[SMTP_ORCPT_MAX + 1]; /* "" or "type;xtext" (encoded) */
	/*
	 * "" or the last delivery error: an enhanced status ("4.4.2"), a
	 * space, then printable ASCII (spaces allowed), as
	 * queue_error_set() makes it.
	 */
	char error[QUEUE_ERROR_MAX + 1];
};

struct queue_file {
	char id[QUEUE_ID_MAX + 1];
	int64_t arrival; /* Unix time */
	char client[QUEUE_ADDR_MAX + 1]; /* numeric address or "unknown" */
	char helo[QUEUE_HELO_MAX + 1]; /* printable ASCII, no space */
	char sender[SMTP_PATH_MAX + 1]; /* "<>" or "<local@domain>" */
	unsigned int flags; /* QUEUE_F_* */
	char envid[SMTP_ENVID_MAX + 1]; /* "" or xtext (encoded) */
	struct queue_rcpt *rcpt;
	size_t nrcpt; /* >= 1 */
	unsigned int attempts;
	int64_t next_try; /* Unix time, 0: now */
	char *msg; /* message octets, CRLF line ends */
	size_t size;
};

/*
 * A new queue id into id[QUEUE_ID_LEN + 1]: microseconds since the epoch
 * (11 characters) and the pid (5), Crockford base32, so ids sort by time
 * and two live processes never make the same one.
 */
void queue_id_new(char *id);

/* 1 if s is 12..32 characters of [0-9A-Z] (also safe as a file name). */
int queue_id_valid(const char *s);

/*
 * The envelope of qf (everything before the message, including the empty
 * line) as relayd-queue(5) text into *buf (malloc'ed, *len octets, not
 * NUL-terminated).  Returns 0, -EINVAL if a field would break the format
 * (CR, LF, space or a length over its cap), or -ENOMEM.
 */
int queue_envelope(const struct queue_file *qf, char **buf, size_t *len);

/*
 * Store qf durably as SPOOL/queue/ID (ID = qf->id): create SPOOL/tmp/ID
 * (O_EXCL|O_NOFOLLOW, mode 0600), write envelope and message, fsync,
 * close, rename into queue/ (never replacing a file), fsync queue/.  On
 * any failure nothing is left in tmp/ or queue/ and -errno is returned
 * (-EEXIST if tmp/ID or queue/ID exists; tmp/ and queue/ are opened with
 * spooldir_sub(), so -ELOOP or -EPERM if one is not the spool's own
 * directory).  Only a 0 return lets the caller say "250".
 */
int queue_enqueue(int spoolfd, const struct queue_file *qf);

/*
 * Remove what a dead writer left in SPOOL/tmp: every entry that is not a
 * directory (symlinks are removed, never followed; directories are never
 * entered; tmp/ itself is opened with spooldir_sub()).  Call only while
 * no writer runs.  Returns the number of
 * entries removed or -errno.
 */
int queue_clean_tmp(int spoolfd);

/*
 * Parse a whole queue file in buf[0..len).  Strict: fixed line order,
 * every field checked as the writer would write it, size must match the
 * octets that follow.  Returns 0 with *out allocated, -EINVAL (bad
 * format), -EFBIG or -ENOMEM.
 */
int queue_parse(const char *buf, size_t len, struct queue_file **out);

/*
 * Read dirfd/name as untrusted input: name must be a queue id, the file
 * a regular file (O_NOFOLLOW, O_NONBLOCK) with one link and at most
 * QUEUE_READ_MAX octets (-EFBIG), and its id line must equal name.
 * Returns 0 with *out allocated (free with queue_free) or -errno
 * (-ELOOP for a symlink, -EPERM for a non-regular or linked file).
 */
int queue_read(int dirfd, const char *name, struct queue_file **out);

void queue_free(struct queue_file *qf);

/*
 * Set r->error to "STATUS TEXT".  status must be an enhanced status code
 * of class 2, 4 or 5 ("5.1.1"; -EINVAL otherwise, r unchanged).  text is
 * untrusted (a remote reply): every octet outside printable ASCII becomes
 * '?', runs of blanks one space, and it is cut to fit; an empty text
 * becomes "(no text)".  Returns 0 or -EINVAL.
 */
int queue_error_set(struct queue_rcpt *r, const char *status, const char *text);

/* 1 if s is a valid error field ("X.Y.Z text"), else 0. */
int queue_error_valid(const char *s);

#endif /* RELAY_QUEUE_H */
