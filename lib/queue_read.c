/*
 * Strict queue file reader (relayd-queue(5)).  Trust boundary: the files
 * are written by the unprivileged relay user and read by root (relayctl)
 * and the delivery side, so every octet is untrusted: no symlinks, no
 * hard links, no holes, size caps, each line checked against what the
 * writer makes.  Files are read through readfile (one reader); listing
 * and scheduling read the envelope only, delivery streams the message
 * from the open file (queue_msg.c).
 */
#include <sys/stat.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "readfile.h"

struct cursor {
	const char *p, *end;
};

/* Next line without its LF; no CR, no NUL, within QUEUE_LINE_MAX. */
static int
line_next(struct cursor *c, const char **line, size_t *len)
{
	const char *s = c->p;
	size_t n;

	for (n = 0; s + n < c->end && s[n] != '\n'; n++)
		if (n + 1 >= QUEUE_LINE_MAX || s[n] == '\r' || s[n] == '\0')
			return -1;
	if (s + n == c->end)
		return -1;
	*line = s;
	*len = n;
	c->p = s + n + 1;
	return 0;
}

/* "key value" with the value copied into v (cap octets incl. NUL). */
static int
field(struct cursor *c, const char *key, char *v, size_t cap)
{
	const char *l;
	size_t n, k = strlen(key);

	if (line_next(c, &l, &n) == -1 || n <= k + 1 ||
	    memcmp(l, key, k) != 0 || l[k] != ' ' || n - k - 1 >= cap)
		return -1;
	memcpy(v, l + k + 1, n - k - 1);
	v[n - k - 1] = '\0';
	return 0;
}

/* Decimal without sign or leading zeros, <= max. */
static int
num_parse(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (max - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
num_field(struct cursor *c, const char *key, uint64_t max, uint64_t *out)
{
	char v[24];

	return field(c, key, v, sizeof(v)) == -1 ? -1 : num_parse(v, max, out);
}

/* 1..max octets of printable ASCII without space. */
static int
token_ok(const char *s, size_t n, size_t max)
{
	size_t i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

/* A path at s, copied to out; *s advanced past it. */
static int
path_take(const char **s, enum smtp_addr_kind kind, char *out)
{
	struct smtp_path p;
	size_t used = 0;

	if (smtp_addr_parse(*s, strlen(*s), kind, 1, &p, &used) !=
		SMTP_ADDR_OK ||
	    used > SMTP_PATH_MAX)
		return -1;
	memcpy(out, *s, used);
	out[used] = '\0';
	*s += used;
	return p.utf8;
}

/* Take " KEY=" + token (or " KEY" alone when max is 0) if it is next. */
static int
param_take(const char **s, const char *key, char *v, size_t max)
{
	size_t k = strlen(key), n;

	if ((*s)[0] != ' ' || strncmp(*s + 1, key, k) != 0)
		return 0;
	n = strcspn(*s + 1 + k, " ");
	if (max == 0 ? n != 0 : !token_ok(*s + 1 + k, n, max))
		return -1;
	if (v != NULL) {
		memcpy(v, *s + 1 + k, n);
		v[n] = '\0';
	}
	*s += 1 + k + n;
	return 1;
}

int
queue_client_local(const char *client, uid_t *uid)
{
	unsigned long long v = 0;
	const char *p;

	if (strncmp(client, "local:", 6) != 0)
		return 0;
	p = client + 6;
	if (*p == '\0' || (p[0] == '0' && p[1] != '\0') || strlen(p) > 10)
		return 0;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (*p != '\0' || v >= (uid_t)-1)
		return 0;
	*uid = (uid_t)v;
	return 1;
}

/* "ADDR HELO" or "ADDR HELO trusted" (older files have no marker). */
static int
client_parse(const char *v, struct queue_file *qf)
{
	unsigned char a[16];
	const char *sp = strchr(v, ' '), *mark;
	uid_t uid;
	size_t n;

	if (sp == NULL || (n = (size_t)(sp - v)) > QUEUE_ADDR_MAX)
		return -1;
	memcpy(qf->client, v, n);
	qf->client[n] = '\0';
	/* "local:UID": a local submission (submit_socket); "local" older */
	if (strcmp(qf->client, "unknown") != 0 &&
	    strcmp(qf->client, "local") != 0 &&
	    !queue_client_local(qf->client, &uid) &&
	    inet_pton(AF_INET, qf->client, a) != 1 &&
	    inet_pton(AF_INET6, qf->client, a) != 1)
		return -1;
	if ((mark = strchr(sp + 1, ' ')) != NULL) {
		if (strcmp(mark, " trusted") != 0)
			return -1;
		qf->flags |= QUEUE_F_TRUSTED;
	}
	n = mark != NULL ? (size_t)(mark - sp - 1) : strlen(sp + 1);
	if (!token_ok(sp + 1, n, QUEUE_HELO_MAX))
		return -1;
	memcpy(qf->helo, sp + 1, n);
	qf->helo[n] = '\0';
	return 0;
}

static int
sender_parse(const char *s, struct queue_file *qf)
{
	char v[16];
	int utf8, r;

	if ((utf8 = path_take(&s, SMTP_ADDR_REVERSE, qf->sender)) == -1)
		return -1;
	if ((r = param_take(&s, "BODY=", v, 8)) == -1)
		return -1;
	if (r == 1 && strcmp(v, "8BITMIME") == 0)
		qf->flags |= QUEUE_F_8BITMIME;
	else if (r == 1 && strcmp(v, "7BIT") == 0)
		qf->flags |= QUEUE_F_7BIT;
	else if (r == 1)
		return -1;
	if ((r = param_take(&s, "SMTPUTF8", NULL, 0)) == -1)
		return -1;
	if (r == 1)
		qf->flags |= QUEUE_F_SMTPUTF8;
	if ((r = param_take(&s, "RET=", v, 4)) == -1)
		return -1;
	if (r == 1 && strcmp(v, "FULL") == 0)
		qf->flags |= QUEUE_F_RET_FULL;
	else if (r == 1 && strcmp(v, "HDRS") == 0)
		qf->flags |= QUEUE_F_RET_HDRS;
	else if (r == 1)
		return -1;
	if (param_take(&s, "ENVID=", qf->envid, SMTP_ENVID_MAX) == -1)
		return -1;
	if (*s != '\0' || (utf8 && !(qf->flags & QUEUE_F_SMTPUTF8)))
		return -1;
	return 0;
}

/* NOTIFY=: "NEVER" or SUCCESS,FAILURE,DELAY (a subset, in this order). */
static int
notify_parse(const char *v, unsigned int *out)
{
	static const char *const names[] = { "SUCCESS", "FAILURE", "DELAY" };
	static const unsigned int bits[] = { SMTP_NOTIFY_SUCCESS,
		SMTP_NOTIFY_FAILURE, SMTP_NOTIFY_DELAY };
	size_t i, k;

	*out = 0;
	if (strcmp(v, "NEVER") == 0) {
		*out = SMTP_NOTIFY_NEVER;
		return 0;
	}
	for (i = 0; i < 3 && *v != '\0'; i++) {
		k = strlen(names[i]);
		if (strncmp(v, names[i], k) != 0 ||
		    (v[k] != ',' && v[k] != '\0'))
			continue;
		*out |= bits[i];
		v += k;
		if (*v == ',' && *++v == '\0')
			return -1;
	}
	return *v == '\0' && *out != 0 ? 0 : -1;
}

static int
rcpt_parse(const char *s, const struct queue_file *qf, struct queue_rcpt *r)
{
	static const char *const states[] = { "pending", "sent", "failed" };
	char v[SMTP_ORCPT_MAX + 1];
	size_t i, n;
	int utf8, got;

	memset(r, 0, sizeof(*r));
	if ((utf8 = path_take(&s, SMTP_ADDR_FORWARD, r->path)) == -1 ||
	    (utf8 && !(qf->flags & QUEUE_F_SMTPUTF8)) || *s++ != ' ')
		return -1;
	n = strcspn(s, " ");
	for (i = 0; i < 3; i++)
		if (strlen(states[i]) == n && strncmp(s, states[i], n) == 0)
			break;
	if (i == 3)
		return -1;
	r->state = (enum queue_rcpt_state)i;
	s += n;
	if ((got = param_take(&s, "NOTIFY=", v, 32)) == -1 ||
	    (got == 1 && notify_parse(v, &r->notify) == -1))
		return -1;
	if (param_take(&s, "ORCPT=", r->orcpt, SMTP_ORCPT_MAX) == -1 ||
	    (r->orcpt[0] != '\0' && strchr(r->orcpt, ';') == NULL))
		return -1;
	return *s == '\0' ? 0 : -1;
}

static int
rcpts_parse(struct cursor *c, struct queue_file *qf)
{
	char v[QUEUE_LINE_MAX];
	struct queue_rcpt *nr;
	struct cursor save;
	size_t cap = 0;

	for (;;) {
		save = *c;
		if (field(c, "rcpt", v, sizeof(v)) == -1) {
			*c = save;
			return qf->nrcpt > 0 ? 0 : -EINVAL;
		}
		if (qf->nrcpt == QUEUE_RCPT_MAX)
			return -EINVAL;
		if (qf->nrcpt == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			if ((nr = reallocarray(qf->rcpt, cap, sizeof(*nr))) ==
			    NULL)
				return -ENOMEM;
			qf->rcpt = nr;
		}
		if (rcpt_parse(v, qf, &qf->rcpt[qf->nrcpt]) == -1)
			return -EINVAL;
		/* Optional (newer files): the recipient's last error. */
		save = *c;
		if (field(c, "last-error", qf->rcpt[qf->nrcpt].error,
			sizeof(qf->rcpt[qf->nrcpt].error)) == -1)
			*c = save;
		else if (!queue_error_valid(qf->rcpt[qf->nrcpt].error))
			return -EINVAL;
		qf->nrcpt++;
	}
}

/* The envelope, through its empty line; *size from the size field. */
static int
parse_env(struct cursor *c, struct queue_file *qf, uint64_t *size)
{
	char v[QUEUE_LINE_MAX];
	uint64_t n;
	const char *l;
	size_t len;
	int rv;

	if (line_next(c, &l, &len) == -1 || len != 14 ||
	    memcmp(l, "relayd-queue 1", 14) != 0)
		return -EINVAL;
	if (field(c, "id", qf->id, sizeof(qf->id)) == -1 ||
	    !queue_id_valid(qf->id) || num_field(c, "arrival", INT64_MAX, &n))
		return -EINVAL;
	qf->arrival = (int64_t)n;
	if (field(c, "client", v, sizeof(v)) == -1 || client_parse(v, qf) ||
	    field(c, "sender", v, sizeof(v)) == -1 || sender_parse(v, qf))
		return -EINVAL;
	if ((rv = rcpts_parse(c, qf)) != 0)
		return rv;
	if (num_field(c, "attempts", QUEUE_ATTEMPTS_MAX, &n))
		return -EINVAL;
	qf->attempts = (unsigned int)n;
	if (num_field(c, "next-try", INT64_MAX, &n))
		return -EINVAL;
	qf->next_try = (int64_t)n;
	if (num_field(c, "size", QUEUE_MSG_MAX, size) ||
	    line_next(c, &l, &len) == -1 || len != 0)
		return -EINVAL;
	return 0;
}

/*
 * The envelope of buf[0..len), a prefix of a file of total octets: it
 * ends at the first empty line (no envelope line is empty) and its size
 * field must be the rest of the file.  *envlen: the envelope's octets.
 */
static int
envelope(const char *buf, size_t len, size_t total, struct queue_file **out,
    size_t *envlen)
{
	const char *e = memmem(buf, len, "\n\n", 2);
	struct queue_file *qf;
	struct cursor c;
	uint64_t n;
	int rv;

	*out = NULL;
	if (total > QUEUE_READ_MAX)
		return -EFBIG;
	if (e == NULL)
		return len < total && len < QUEUE_ENV_MAX ? -EAGAIN : -EINVAL;
	c.p = buf;
	c.end = e + 2;
	*envlen = (size_t)(c.end - buf);
	if ((qf = calloc(1, sizeof(*qf))) == NULL)
		return -ENOMEM;
	if ((rv = parse_env(&c, qf, &n)) == 0 &&
	    (c.p != c.end || n != (uint64_t)(total - *envlen)))
		rv = -EINVAL;
	if (rv != 0) {
		queue_free(qf);
		return rv;
	}
	qf->size = (size_t)n;
	qf->msgoff = (off_t)*envlen;
	qf->msgfd = -1;
	*out = qf;
	return 0;
}

int
queue_parse_envelope(
    const char *buf, size_t len, size_t total, struct queue_file **out)
{
	size_t envlen;

	return envelope(buf, len, total, out, &envlen);
}

int
queue_parse(const char *buf, size_t len, struct queue_file **out)
{
	struct queue_file *qf;
	size_t envlen;
	int rv;

	if ((rv = envelope(buf, len, len, &qf, &envlen)) != 0)
		return rv == -EAGAIN ? -EINVAL : rv;
	if ((qf->msg = malloc(qf->size > 0 ? qf->size : 1)) == NULL) {
		queue_free(qf);
		return -ENOMEM;
	}
	memcpy(qf->msg, buf + envlen, qf->size);
	if ((rv = queue_msg_check(qf, NULL, 0)) != 0) {
		queue_free(qf);
		return rv;
	}
	*out = qf;
	return 0;
}

/*
 * A file with holes: fewer blocks than its size needs, and (compression
 * also saves blocks) SEEK_HOLE finds a hole before the end.  Our writer
 * never makes one; a planted one would cost readers time and memory.
 */
static int
sparse(int fd, const struct stat *st)
{
	off_t h;

	if ((uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size)
		return 0;
	h = lseek(fd, 0, SEEK_HOLE);
	return h != -1 && h < st->st_size;
}

/*
 * fd (open in dirfd) as a candidate queue file: plain, 1 link, owned by
 * the directory's owner (only the spool's owner writes queue files:
 * another's was planted), within the caps, no holes.
 */
static int
qcheck(int dirfd, int fd, struct stat *st)
{
	struct stat dst;

	if (fstat(fd, st) == -1 || fstat(dirfd, &dst) == -1)
		return -errno;
	if (!S_ISREG(st->st_mode) || st->st_nlink != 1)
		return -EPERM; /* a device, fifo or hard link is never ours */
	if (st->st_uid != dst.st_uid)
		return -EPERM;
	if ((uint64_t)st->st_size > QUEUE_READ_MAX)
		return -EFBIG;
	if (sparse(fd, st))
		return -EINVAL;
	return 0;
}

/* Open name in dirfd as a candidate queue file (an id, qcheck). */
static int
qopen(int dirfd, const char *name, struct stat *st)
{
	int fd, rv;

	if (!queue_id_valid(name))
		return -EINVAL;
	if ((fd = readfile_open(dirfd, name)) < 0)
		return fd;
	if ((rv = qcheck(dirfd, fd, st)) == 0)
		return fd;
	(void)close(fd);
	return rv;
}

/* The id line must equal the file name. */
static int
id_check(const char *name, struct queue_file **out, int rv)
{
	if (rv == 0 && strcmp((*out)->id, name) != 0) {
		queue_free(*out);
		*out = NULL;
		rv = -EINVAL;
	}
	return rv;
}

int
queue_read(int dirfd, const char *name, struct queue_file **out)
{
	struct stat st;
	char *buf = NULL;
	size_t len;
	int fd, rv;

	*out = NULL;
	if ((fd = qopen(dirfd, name, &st)) < 0)
		return fd;
	if ((rv = readfile_fd(fd, QUEUE_READ_MAX, &buf, &len, &st)) == 0)
		rv = id_check(name, out, queue_parse(buf, len, out));
	free(buf);
	(void)close(fd);
	return rv;
}

/*
 * The envelope of the checked file fd: a prefix of QUEUE_ENV_HEAD octets,
 * or, for a longer envelope, once more up to QUEUE_ENV_MAX.  *st: the
 * file after the read.
 */
static int
envelope_fd(int fd, const char *name, struct queue_file **out, struct stat *st)
{
	char *buf = NULL;
	size_t len, max = QUEUE_ENV_HEAD;
	int rv;

	for (;;) {
		rv = readfile_head_fd(fd, max, &buf, &len, st);
		if (rv == 0)
			rv = queue_parse_envelope(
			    buf, len, (size_t)st->st_size, out);
		free(buf);
		buf = NULL;
		if (rv != -EAGAIN || max == QUEUE_ENV_MAX)
			break;
		max = QUEUE_ENV_MAX; /* a long envelope: once more, all of it */
	}
	return id_check(name, out, rv == -EAGAIN ? -EINVAL : rv);
}

int
queue_read_envelope(int dirfd, const char *name, struct queue_file **out)
{
	struct stat st;
	int fd, rv;

	*out = NULL;
	if ((fd = qopen(dirfd, name, &st)) < 0)
		return fd;
	rv = envelope_fd(fd, name, out, &st);
	(void)close(fd);
	return rv;
}

/* The message of qf (in the file fd), checked; fd unchanged since *st. */
static int
message_fd(struct queue_file *qf, int fd, const struct stat *st)
{
	struct stat after;
	char *buf;
	int rv;

	qf->msgfd = fd;
	if ((buf = malloc(QUEUE_MSG_CHUNK)) == NULL)
		return -ENOMEM;
	rv = queue_msg_check(qf, buf, QUEUE_MSG_CHUNK);
	free(buf);
	if (rv != 0)
		return rv;
	if (fstat(fd, &after) == -1)
		return -errno;
	if (after.st_size != st->st_size ||
	    after.st_mtim.tv_sec != st->st_mtim.tv_sec ||
	    after.st_mtim.tv_nsec != st->st_mtim.tv_nsec)
		return -ESTALE; /* written while we read it */
	return 0;
}

int
queue_read_fd(int dirfd, const char *name, int fd, struct queue_file **out)
{
	struct stat st;
	int rv;

	*out = NULL;
	if (!queue_id_valid(name))
		return -EINVAL;
	if ((rv = qcheck(dirfd, fd, &st)) != 0 ||
	    (rv = envelope_fd(fd, name, out, &st)) != 0)
		return rv;
	if ((rv = message_fd(*out, fd, &st)) != 0) {
		queue_free(*out);
		*out = NULL;
	}
	return rv;
}

void
queue_free(struct queue_file *qf)
{
	if (qf == NULL)
		return;
	free(qf->rcpt);
	free(qf->msg);
	free(qf);
}
