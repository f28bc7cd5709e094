/*
 * relayd-sendmail: the message from stdin.  Lines become CRLF lines, a
 * lone "." ends the input unless -i, Bcc fields are removed (their
 * recipients are reached, the others do not see them), and -t takes the
 * recipients from To, Cc and Bcc.  The input is the caller's own: this
 * runs with the caller's rights and relayd checks the result again.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sendmail.h"

#define SM_MESSAGE_MAX (1024UL * 1024 * 1024) /* relayd caps it anyway */

int
sm_buf_add(struct sm_buf *b, const void *p, size_t n)
{
	size_t cap;
	char *np;

	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 8192 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL)
			return -ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int
sm_list_add(struct sm_list *l, const char *s, size_t n)
{
	char **nv;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		if ((nv = reallocarray(l->v, l->cap, sizeof(*nv))) == NULL)
			return -ENOMEM;
		l->v = nv;
	}
	if ((l->v[l->n] = strndup(s, n)) == NULL)
		return -ENOMEM;
	l->n++;
	return 0;
}

/* stdin, whole; -EFBIG past SM_MESSAGE_MAX. */
static int
read_all(struct sm_buf *raw)
{
	char chunk[65536];
	ssize_t r;

	for (;;) {
		r = read(STDIN_FILENO, chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -errno;
		if (r == 0)
			return 0;
		if (raw->len + (size_t)r > SM_MESSAGE_MAX)
			return -EFBIG;
		if (sm_buf_add(raw, chunk, (size_t)r) < 0)
			return -ENOMEM;
	}
}

/* raw's lines as CRLF lines into out; a "." line ends it without -i. */
static int
normalise(const struct sm_opts *o, const struct sm_buf *raw, struct sm_buf *out)
{
	const char *p = raw->p, *end = raw->p + raw->len, *nl;
	size_t n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (o->dot_ends && n == 1 && p[0] == '.')
			break;
		if (sm_buf_add(out, p, n) < 0 || sm_buf_add(out, "\r\n", 2) < 0)
			return -ENOMEM;
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}

/* Length of the field name if line[0..n) starts a field, else 0. */
static size_t
field_name(const char *line, size_t n)
{
	size_t i;

	for (i = 0; i < n && line[i] > 32 && line[i] < 127 && line[i] != ':';
	     i++)
		;
	if (i == 0 || i == n || line[i] != ':')
		return 0;
	return i;
}

static int
name_is(const char *line, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(line, name, n) == 0;
}

/* One field (its continuation lines included) of the header section. */
static int
header_field(struct sm_opts *o, const char *f, size_t len, size_t nlen,
    int *has_from, struct sm_buf *out)
{
	int bcc = name_is(f, nlen, "bcc");

	if (name_is(f, nlen, "from"))
		*has_from = 1;
	if (o->from_headers &&
	    (bcc || name_is(f, nlen, "to") || name_is(f, nlen, "cc")) &&
	    sm_addr_list(&o->rcpts, f + nlen + 1, len - nlen - 1) < 0)
		return -ENOMEM;
	return bcc ? 0 : sm_buf_add(out, f, len);
}

/* The header section of msg (CRLF lines), rewritten into out. */
static int
headers(struct sm_opts *o, const struct sm_buf *msg, int *has_from,
    struct sm_buf *out)
{
	const char *p = msg->p, *end = msg->p + msg->len, *f, *nl;
	size_t nlen;
	int rv;

	while (p < end && (nlen = field_name(p, (size_t)(end - p))) > 0) {
		f = p;
		do { /* the field and its continuation lines */
			nl = memchr(p, '\n', (size_t)(end - p));
			p = nl != NULL ? nl + 1 : end;
		} while (p < end && (*p == ' ' || *p == '\t'));
		if ((rv = header_field(
			 o, f, (size_t)(p - f), nlen, has_from, out)) < 0)
			return rv;
	}
	return sm_buf_add(out, p, (size_t)(end - p));
}

int
sm_read_message(
    struct sm_opts *o, struct sm_buf *msg, int *has_from, int *eightbit)
{
	struct sm_buf raw = { 0 }, lines = { 0 };
	size_t i;
	int rv;

	*has_from = *eightbit = 0;
	if ((rv = read_all(&raw)) < 0 || (rv = normalise(o, &raw, &lines)) < 0)
		goto out;
	if (lines.p == NULL && (rv = sm_buf_add(&lines, "", 0)) < 0)
		goto out;
	if ((rv = headers(o, &lines, has_from, msg)) < 0)
		goto out;
	for (i = 0; i < msg->len; i++)
		if ((unsigned char)msg->p[i] >= 0x80)
			*eightbit = 1;
out:
	free(raw.p);
	free(lines.p);
	return rv;
}

/* RFC 5322 address lists, enough for To/Cc/Bcc: "Name <a@b>, c@d (x)". */
struct alist {
	struct sm_list *l;
	char bare[SM_ADDR_MAX], angle[SM_ADDR_MAX];
	size_t nb, na;
	int in_angle, has_angle;
};

static int
alist_end(struct alist *a)
{
	int rv = 0;

	if (a->has_angle && a->na > 0)
		rv = sm_list_add(a->l, a->angle, a->na);
	else if (!a->has_angle && a->nb > 0)
		rv = sm_list_add(a->l, a->bare, a->nb);
	a->nb = a->na = 0;
	a->in_angle = a->has_angle = 0;
	return rv;
}

static void
alist_put(struct alist *a, char c)
{
	if (a->in_angle && a->na < sizeof(a->angle))
		a->angle[a->na++] = c;
	else if (!a->in_angle && a->nb < sizeof(a->bare))
		a->bare[a->nb++] = c;
}

int
sm_addr_list(struct sm_list *l, const char *v, size_t n)
{
	struct alist a = { .l = l };
	size_t i;
	int depth = 0, quoted = 0;

	for (i = 0; i < n; i++) {
		char c = v[i];

		if (quoted) {
			if (c == '\\' && i + 1 < n)
				alist_put(&a, v[++i]);
			else if (c == '"')
				quoted = 0;
			else if (a.in_angle)
				alist_put(&a, c);
		} else if (depth > 0) { /* a comment */
			if (c == '\\' && i + 1 < n)
				i++;
			else
				depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		} else if (c == '(') {
			depth = 1;
		} else if (c == '"') {
			quoted = 1;
		} else if (c == '<') {
			a.in_angle = a.has_angle = 1;
			a.na = 0;
		} else if (c == '>') {
			a.in_angle = 0;
		} else if (c == ':' && !a.in_angle) {
			a.nb = 0; /* "group:" */
		} else if ((c == ',' || c == ';') && !a.in_angle) {
			if (alist_end(&a) < 0)
				return -ENOMEM;
		} else if (!isspace((unsigned char)c)) {
			alist_put(&a, c);
		}
	}
	return alist_end(&a);
}
