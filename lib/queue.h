/*
 * The durable mail queue: queue ids, the queue file format of
 * relayd-queue(5), enqueue (tmp/ -> fsync -> rename into queue/ -> fsync
 * dir), stale tmp/ cleanup, and a strict reader for files the relay user
 * wrote (untrusted by root readers such as relayctl).
 */
#ifndef RELAY_QUEUE_H
#define RELAY_QUEUE_H

#include <sys/types.h>

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
/*
 * Size caps.  QUEUE_MSG_MAX is the biggest message a reader accepts:
 * max_message_size's upper bound (1 GiB, relayd.conf(5)) plus room for
 * our Received: field.  QUEUE_ENV_MAX bounds the envelope: the biggest
 * one the writer can make (QUEUE_RCPT_MAX recipients, each a rcpt and a
 * last-error line of QUEUE_LINE_MAX, and the fixed lines).
 */
#define QUEUE_MSG_SIZE_MAX ((size_t)1 << 30) /* max_message_size's cap */
#define QUEUE_MSG_MAX (QUEUE_MSG_SIZE_MAX + 65536)
#define QUEUE_ENV_MAX (((size_t)QUEUE_RCPT_MAX * 2 + 16) * QUEUE_LINE_MAX)
#define QUEUE_READ_MAX (QUEUE_ENV_MAX + QUEUE_MSG_MAX) /* whole file */
#define QUEUE_ENV_HEAD 65536 /* envelope read: first try this prefix */
#define QUEUE_MSG_CHUNK 65536 /* a message is streamed this much at a time */
#define QUEUE_ERROR_MAX 512 /* last-error text: "X.Y.Z text" */

/* queue_file.flags */
#define QUEUE_F_8BITMIME 0x01 /* BODY=8BITMIME */
#define QUEUE_F_7BIT 0x02 /* BODY=7BIT given explicitly */
#define QUEUE_F_SMTPUTF8 0x04 /* SMTPUTF8 */
#define QUEUE_F_RET_FULL 0x08 /* RET=FULL */
#define QUEUE_F_RET_HDRS 0x10 /* RET=HDRS */
/* The client was inside relay_from (written on the client line). */
#define QUEUE_F_TRUSTED 0x20

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
	/* numeric, "unknown", or "local:UID" (older files: "local") */
	char client[QUEUE_ADDR_MAX + 1];
	char helo[QUEUE_HELO_MAX + 1]; /* printable ASCII, no space */
	char sender[SMTP_PATH_MAX + 1]; /* "<>" or "<local@domain>" */
	unsigned int flags; /* QUEUE_F_* */
	char envid[SMTP_ENVID_MAX + 1]; /* "" or xtext (encoded) */
	struct queue_rcpt *rcpt;
	size_t nrcpt; /* >= 1 */
	unsigned int attempts;
	int64_t next_try; /* Unix time, 0: now */
	char *msg; /* message octets, CRLF line ends; NULL: not in memory */
	size_t size; /* the message's octets, wherever they are */
	/*
	 * Where the message starts in the file that was read (the
	 * envelope's length; 0: not read from a file) and, from
	 * queue_read_fd() (qupdate_lock()), that open file, so the message
	 * can be read from it (queue_msg_read()) instead of being held; -1
	 * from the other readers.  Only msgoff > 0 makes msgfd mean
	 * anything (a zeroed qf is in no file).  msgfd is the caller's (the
	 * lock's), not qf's: queue_free() leaves it open.
	 */
	off_t msgoff;
	int msgfd;
};

/*
 * A message body being received (queue_body.c): octets go to an unnamed
 * file in SPOOL/tmp as they arrive, through a fixed buffer, so the writer's
 * memory does not grow with the message.
 */
struct queue_body;

/*
 * A new queue id into id[QUEUE_ID_LEN + 1]: microseconds since the epoch
 * (11 characters) and the pid (5), Crockford base32, so ids sort by time
 * and two live processes never make the same one.
 */
void queue_id_new(char *id);

/* 1 if s is 12..32 characters of [0-9A-Z] (also safe as a file name). */
int queue_id_valid(const char *s);

/*
 * Sorted names in the directory dfd: queue ids only (other names are not
 * ours), or with all every name but "." and "..".  Each name and the
 * array are malloc'ed; NULL with *n 0 if the directory cannot be read
 * (on running out of memory, the names read so far).
 */
char **queue_dir_names(int dfd, int all, size_t *n);

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
 * Start a body: an unnamed file in SPOOL/tmp (O_TMPFILE, mode 0600; where
 * the filesystem lacks it, tmp/ID.body made O_EXCL|O_NOFOLLOW and unlinked
 * at once), so that nothing is left in tmp/ whatever happens to the
 * writer.  Returns 0 with *bp allocated or -errno.
 */
int queue_body_open(int spoolfd, const char *id, struct queue_body **bp);

/*
 * Append len octets.  The first error sticks: it is returned by this and
 * every later call and by queue_enqueue_body(); nothing more is written.
 * Returns 0, -EFBIG past QUEUE_MSG_MAX, or a write(2) -errno (-ENOSPC).
 */
int queue_body_add(struct queue_body *b, const void *buf, size_t len);

/* Octets added so far, and the sticky error (0 if none). */
size_t queue_body_size(const struct queue_body *b);
int queue_body_error(const struct queue_body *b);

/*
 * Append the whole body to fd (copy_file_range(2), else read and write
 * through the body's buffer).  For queue_enqueue_body().
 */
int queue_body_copy(struct queue_body *b, int fd);

/*
 * Read up to len octets of the body from offset off into buf (*got, 0 at
 * the end): for a reader of the message before it is queued (milters).
 * Returns 0 or -errno (the sticky error first).
 */
int queue_body_pread(
    struct queue_body *b, void *buf, size_t len, size_t off, size_t *got);

/* Close the body (its file goes with it); NULL is fine. */
void queue_body_free(struct queue_body *b);

/*
 * queue_enqueue() with the message taken from b (qf->msg is not used and
 * qf->size is set to the body's size): the same durability, the same
 * cleanup, and a sticky body error comes back as the result.
 */
int queue_enqueue_body(
    int spoolfd, struct queue_file *qf, struct queue_body *b);

/*
 * queue_enqueue_body() into dir: "queue", or "hold" for a message that
 * must wait for "relayctl queue release" (a milter's quarantine).
 */
int queue_enqueue_body_to(
    int spoolfd, const char *dir, struct queue_file *qf, struct queue_body *b);

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
 * Parse the envelope at the start of buf[0..len), which may stop anywhere
 * after it; total is the whole file's length, which must be the envelope
 * plus the size field.  The message is not looked at: qf->msg is NULL,
 * qf->msgoff is where it would start (the envelope's length), msgfd -1.
 * Returns 0 with *out allocated, -EAGAIN if buf ends before the envelope
 * does (and len < total), -EINVAL, -EFBIG or -ENOMEM.
 */
int queue_parse_envelope(
    const char *buf, size_t len, size_t total, struct queue_file **out);

/*
 * Read dirfd/name as untrusted input (readfile_at): name must be a queue
 * id, the file a regular file (O_NOFOLLOW, O_NONBLOCK) with one link,
 * owned by the owner of dirfd, at most QUEUE_READ_MAX octets (-EFBIG) and not sparse (-EINVAL: fewer
 * blocks than its size needs; our writer never makes one), and its id
 * line must equal name.  Returns 0 with *out allocated (free with
 * queue_free) or -errno (-ELOOP for a symlink, -EPERM for a non-regular,
 * linked or foreign file, -ESTALE if it changed while being read).
 */
int queue_read(int dirfd, const char *name, struct queue_file **out);

/*
 * queue_read() for the envelope only (qf->msg NULL, qf->size from the size
 * field, checked against the file's length): the same checks, but only a
 * prefix of the file is read (QUEUE_ENV_HEAD octets, or up to
 * QUEUE_ENV_MAX for a very long envelope), so listing a queue costs
 * nothing per message octet.
 */
int queue_read_envelope(int dirfd, const char *name, struct queue_file **out);

/*
 * queue_read() of the file already open as fd (qupdate_lock's locked fd,
 * named name in dirfd), without holding the message: the same checks on
 * the file (fd's own fstat), the envelope read as queue_read_envelope()
 * does, then the message checked as queue_parse() checks it, streamed
 * through a QUEUE_MSG_CHUNK buffer, and the file unchanged meanwhile
 * (-ESTALE).  *out has msg NULL, msgfd fd and msgoff set: read the
 * message with queue_msg_read() while fd stays open.
 */
int queue_read_fd(int dirfd, const char *name, int fd, struct queue_file **out);

/*
 * Up to len octets of qf's message from offset off into buf: from qf->msg,
 * or with pread(2) from qf->msgfd.  *got is min(len, what is left): 0
 * only at the end.  Returns 0, -EIO if the file ends before its size
 * field says (it shrank after it was checked), -EINVAL if the message is
 * neither in memory nor in a file, or a pread(2) -errno.
 */
int queue_msg_read(const struct queue_file *qf, size_t off, void *buf,
    size_t len, size_t *got);

/*
 * Check qf's message as queue_parse() does (CRLF line ends only, no bare
 * CR or LF, a non-empty message ends in CRLF): in place when it is in
 * memory, else read into buf[0..len) a piece at a time.  Returns 0,
 * -EINVAL for a bad message, or a queue_msg_read() error.
 */
int queue_msg_check(const struct queue_file *qf, char *buf, size_t len);

/*
 * Append qf's message to fd (at fd's offset): written from memory, or
 * copied from qf->msgfd with copy_file_range(2) (else pread and write).
 * Returns 0, -EIO if the file is shorter than it should be, or -errno.
 */
int queue_msg_copy(const struct queue_file *qf, int fd);

void queue_free(struct queue_file *qf);

/*
 * 1 with *uid if client is "local:UID" (a local submission, by the
 * SO_PEERCRED uid: UID is decimal, no leading zero, below (uid_t)-1),
 * else 0.
 */
int queue_client_local(const char *client, uid_t *uid);

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
