/*
 * Queue writer for the smtp child (runs as the relay user, maybe chrooted;
 * only the spool fd is used): queue ids, envelope text, durable enqueue and
 * the start-up cleanup of tmp/ (by relayd's master, as root).  tmp/ and
 * queue/ are opened with spooldir_sub() and used by single names only.
 * The reader is in queue_read.c.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "queue.h"
#include "spooldir.h"

/* Crockford's base32: [0-9A-Z] without I L O U. */
static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static void
b32_put(char *out, uint64_t v, int n)
{
	while (n-- > 0) {
		out[n] = b32[v & 31];
		v >>= 5;
	}
}

void
queue_id_new(char *id)
{
	static uint64_t last;
	struct timeval tv;
	uint64_t us;

	(void)gettimeofday(&tv, NULL);
	us = (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
	if (us <= last)
		us = last + 1; /* two ids in one microsecond */
	last = us;
	b32_put(id, us, 11);
	b32_put(id + 11, (uint64_t)getpid(), 5);
	id[QUEUE_ID_LEN] = '\0';
}

int
queue_id_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= QUEUE_ID_MAX || strchr(b32, s[n]) == NULL)
			return 0;
	return n >= QUEUE_ID_MIN;
}

/* A growing output buffer; the first failure sticks. */
struct qbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void qb_printf(struct qbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
qb_printf(struct qbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *np;
	int n;

	if (b->err)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		if ((np = realloc(b->p, b->cap * 2 + (size_t)n)) == NULL) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + (size_t)n;
	}
}

/* 1..max octets of printable ASCII without space. */
static int
token_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (n >= max || (unsigned char)s[n] < 0x21 ||
		    (unsigned char)s[n] > 0x7e)
			return 0;
	return n > 0;
}

/* The path is what the reader will accept: one whole SMTP path. */
static int
path_ok(const char *s, enum smtp_addr_kind kind, int utf8)
{
	struct smtp_path p;
	size_t used = 0, n = strlen(s);

	return n > 0 && n <= SMTP_PATH_MAX && s[0] == '<' &&
	    smtp_addr_parse(s, n, kind, utf8, &p, &used) == SMTP_ADDR_OK &&
	    used == n;
}

static void
notify_put(struct qbuf *b, unsigned int notify)
{
	const char *sep = "";

	if (notify == 0)
		return;
	qb_printf(b, " NOTIFY=");
	if (notify & SMTP_NOTIFY_NEVER) {
		qb_printf(b, "NEVER");
		return;
	}
	if (notify & SMTP_NOTIFY_SUCCESS) {
		qb_printf(b, "SUCCESS");
		sep = ",";
	}
	if (notify & SMTP_NOTIFY_FAILURE) {
		qb_printf(b, "%sFAILURE", sep);
		sep = ",";
	}
	if (notify & SMTP_NOTIFY_DELAY)
		qb_printf(b, "%sDELAY", sep);
}

/* "X.Y.Z" with class 2, 4 or 5 and 1..3 digits per part; its length. */
static size_t
status_len(const char *s)
{
	size_t i = 0, part, d;

	if (s[0] != '2' && s[0] != '4' && s[0] != '5')
		return 0;
	for (part = 0; part < 3; part++) {
		for (d = 0; s[i] >= '0' && s[i] <= '9'; i++)
			d++;
		if (d == 0 || d > 3 || (part == 0 && d != 1))
			return 0;
		if (part < 2 && s[i++] != '.')
			return 0;
	}
	return i;
}

int
queue_error_valid(const char *s)
{
	size_t i, n = status_len(s);

	if (n == 0 || s[n] != ' ' || s[n + 1] == '\0')
		return 0;
	for (i = n + 1; s[i] != '\0'; i++)
		if (i >= QUEUE_ERROR_MAX || (unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
queue_error_set(struct queue_rcpt *r, const char *status, const char *text)
{
	size_t n = status_len(status), o, i;

	if (n == 0 || status[n] != '\0')
		return -EINVAL;
	memcpy(r->error, status, n);
	o = n;
	r->error[o++] = ' ';
	for (i = 0; text[i] != '\0' && o < QUEUE_ERROR_MAX; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			if (r->error[o - 1] != ' ')
				r->error[o++] = ' ';
			continue;
		}
		r->error[o++] = c < 0x20 || c > 0x7e ? '?' : (char)c;
	}
	while (o > n + 1 && r->error[o - 1] == ' ')
		o--;
	r->error[o] = '\0';
	if (o == n + 1)
		(void)strlcpy(r->error + o, "(no text)", sizeof(r->error) - o);
	return 0;
}

static int
envelope_check(const struct queue_file *qf)
{
	int utf8 = (qf->flags & QUEUE_F_SMTPUTF8) != 0;
	size_t i;

	if (!queue_id_valid(qf->id) || !token_ok(qf->client, QUEUE_ADDR_MAX) ||
	    !token_ok(qf->helo, QUEUE_HELO_MAX) ||
	    !path_ok(qf->sender, SMTP_ADDR_REVERSE, utf8) || qf->nrcpt == 0 ||
	    qf->nrcpt > QUEUE_RCPT_MAX || qf->arrival < 0 || qf->next_try < 0 ||
	    qf->attempts > QUEUE_ATTEMPTS_MAX ||
	    (qf->envid[0] != '\0' && !token_ok(qf->envid, SMTP_ENVID_MAX)) ||
	    (qf->flags & QUEUE_F_8BITMIME && qf->flags & QUEUE_F_7BIT) ||
	    (qf->flags & QUEUE_F_RET_FULL && qf->flags & QUEUE_F_RET_HDRS))
		return -EINVAL;
	for (i = 0; i < qf->nrcpt; i++) {
		const struct queue_rcpt *r = &qf->rcpt[i];

		if (!path_ok(r->path, SMTP_ADDR_FORWARD, utf8) ||
		    r->state > QUEUE_RCPT_FAILED || r->notify > 0x0f ||
		    (r->notify & SMTP_NOTIFY_NEVER && r->notify != 1) ||
		    (r->orcpt[0] != '\0' &&
			(!token_ok(r->orcpt, SMTP_ORCPT_MAX) ||
			    strchr(r->orcpt, ';') == NULL)) ||
		    (r->error[0] != '\0' && !queue_error_valid(r->error)))
			return -EINVAL;
	}
	return 0;
}

int
queue_envelope(const struct queue_file *qf, char **buf, size_t *len)
{
	static const char *const states[] = { "pending", "sent", "failed" };
	struct qbuf b = { NULL, 0, 1024, 0 };
	size_t i;
	int rv;

	*buf = NULL;
	*len = 0;
	if ((rv = envelope_check(qf)) != 0)
		return rv;
	if ((b.p = malloc(b.cap)) == NULL)
		return -ENOMEM;
	qb_printf(&b, "relayd-queue 1\nid %s\narrival %" PRId64 "\n", qf->id,
	    qf->arrival);
	qb_printf(&b, "client %s %s%s\nsender %s", qf->client, qf->helo,
	    qf->flags & QUEUE_F_TRUSTED ? " trusted" : "", qf->sender);
	if (qf->flags & (QUEUE_F_8BITMIME | QUEUE_F_7BIT))
		qb_printf(&b, " BODY=%s",
		    qf->flags & QUEUE_F_7BIT ? "7BIT" : "8BITMIME");
	if (qf->flags & QUEUE_F_SMTPUTF8)
		qb_printf(&b, " SMTPUTF8");
	if (qf->flags & (QUEUE_F_RET_FULL | QUEUE_F_RET_HDRS))
		qb_printf(&b, " RET=%s",
		    qf->flags & QUEUE_F_RET_FULL ? "FULL" : "HDRS");
	if (qf->envid[0] != '\0')
		qb_printf(&b, " ENVID=%s", qf->envid);
	qb_printf(&b, "\n");
	for (i = 0; i < qf->nrcpt; i++) {
		qb_printf(&b, "rcpt %s %s", qf->rcpt[i].path,
		    states[qf->rcpt[i].state]);
		notify_put(&b, qf->rcpt[i].notify);
		if (qf->rcpt[i].orcpt[0] != '\0')
			qb_printf(&b, " ORCPT=%s", qf->rcpt[i].orcpt);
		qb_printf(&b, "\n");
		if (qf->rcpt[i].error[0] != '\0')
			qb_printf(&b, "last-error %s\n", qf->rcpt[i].error);
	}
	qb_printf(&b, "attempts %u\nnext-try %" PRId64 "\nsize %zu\n\n",
	    qf->attempts, qf->next_try, qf->size);
	if (b.err != 0) {
		free(b.p);
		return b.err;
	}
	*buf = b.p;
	*len = b.len;
	return 0;
}

/*
 * tmp/ID: envelope, then the message from qf->msg or from b; fsync.  The
 * file stays open in *fdp with an exclusive flock(2), the lock delivery
 * workers take (qupdate), so that none can start on it between the rename
 * into queue/ and a failed fsync of queue/ that takes it back.  *made
 * says whether tmp/ID is ours (to remove on failure).
 */
static int
write_tmp(int tfd, const struct queue_file *qf, struct queue_body *b, int *fdp,
    int *made)
{
	char *env = NULL;
	size_t envlen;
	int fd, rv;

	if ((rv = queue_envelope(qf, &env, &envlen)) != 0)
		return rv;
	rv = -EFBIG;
	if (envlen > QUEUE_ENV_MAX || qf->size > QUEUE_MSG_MAX)
		goto out;
	fd = openat(tfd, qf->id,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		rv = -errno;
		goto out;
	}
	*fdp = fd;
	*made = 1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rv = -errno;
		goto out;
	}
	if ((rv = fdio_write_all(fd, env, envlen)) != 0)
		goto out;
	if (b != NULL)
		rv = queue_body_copy(b, fd);
	else
		rv = fdio_write_all(fd, qf->msg, qf->size);
	if (rv == 0 && fsync(fd) == -1)
		rv = -errno;
out:
	free(env);
	return rv;
}

static int
enqueue(int spoolfd, const char *dir, const struct queue_file *qf,
    struct queue_body *b)
{
	int tfd = -1, qfd = -1, fd = -1, rv, made = 0, moved = 0;

	if ((rv = spooldir_sub(spoolfd, "tmp", &tfd, NULL)) != 0 ||
	    (rv = spooldir_sub(spoolfd, dir, &qfd, NULL)) != 0)
		goto out;
	if ((rv = write_tmp(tfd, qf, b, &fd, &made)) != 0)
		goto out;
	/* Never replace a committed message, even with an id clash. */
	if (renameat2(tfd, qf->id, qfd, qf->id, RENAME_NOREPLACE) == -1) {
		rv = -errno;
		goto out;
	}
	made = 0;
	moved = 1;
	if (fsync(qfd) == -1)
		rv = -errno;
out:
	/*
	 * Failed after the rename: the client hears 4xx, so no delivery; we
	 * still hold the lock, and a worker that gets it next finds the
	 * file gone from queue/ and leaves it.
	 */
	if (rv != 0 && moved)
		(void)unlinkat(qfd, qf->id, 0);
	if (rv != 0 && made)
		(void)unlinkat(tfd, qf->id, 0);
	if (fd != -1)
		(void)close(fd); /* fsync'ed: a late error changes nothing */
	if (tfd != -1)
		(void)close(tfd);
	if (qfd != -1)
		(void)close(qfd);
	return rv;
}

int
queue_enqueue(int spoolfd, const struct queue_file *qf)
{
	return enqueue(spoolfd, "queue", qf, NULL);
}

int
queue_enqueue_body_to(
    int spoolfd, const char *dir, struct queue_file *qf, struct queue_body *b)
{
	int rv;

	if (strcmp(dir, "queue") != 0 && strcmp(dir, "hold") != 0)
		return -EINVAL;
	if ((rv = queue_body_error(b)) != 0)
		return rv;
	qf->msg = NULL;
	qf->size = queue_body_size(b);
	return enqueue(spoolfd, dir, qf, b);
}

int
queue_enqueue_body(int spoolfd, struct queue_file *qf, struct queue_body *b)
{
	return queue_enqueue_body_to(spoolfd, "queue", qf, b);
}

int
queue_clean_tmp(int spoolfd)
{
	struct dirent *de;
	struct stat st;
	DIR *d = NULL;
	int fd, n = 0, rv = 0;

	if ((rv = spooldir_sub(spoolfd, "tmp", &fd, NULL)) != 0)
		return rv;
	if ((d = fdopendir(fd)) == NULL) {
		rv = -errno;
		(void)close(fd);
		return rv;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			rv = -errno;
			break;
		}
		if (S_ISDIR(st.st_mode))
			continue; /* not ours to judge; never descend */
		if (unlinkat(fd, de->d_name, 0) == -1) {
			if (errno == ENOENT)
				continue;
			rv = -errno;
			break;
		}
		n++;
	}
	if (rv == 0 && errno != 0)
		rv = -errno;
	(void)closedir(d);
	return rv != 0 ? rv : n;
}
