/*
 * Colon-separated account files: load every line with its raw bytes (lines
 * we do not change are written back byte for byte) and edit them in memory.
 * The files are root's, but their content is untrusted input: hard caps on
 * line and file size, no NUL, strict field counts.  dbcommit.c writes back.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"
#include "dbfile.h"
#include "readfile.h"

struct dupent {
	const char *name;
	size_t line;
};

int
dbfile_err(struct db_error *err, const char *name, size_t line, int r,
    const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return r;
	snprintf(err->file, sizeof(err->file), "etc/%s", name);
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return r;
}

/* Quote file content in a message without passing on control bytes. */
static const char *
vis(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < dstlen; i++)
		dst[i] = (s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	dst[i] = '\0';
	if (s[i] != '\0' && dstlen > 4)
		strlcpy(dst + i, "...", dstlen - i);
	return dst;
}

/* Decimal only, no sign, no spaces, 0..DBFILE_ID_MAX. */
int
dbfile_parse_id(const char *s, unsigned long *idp)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > DBFILE_ID_MAX)
			return -ERANGE;
	}
	*idp = v;
	return 0;
}

static void
line_clear(struct dbline *l)
{
	free(l->raw);
	free(l->buf);
	free(l->fields);
	free(l->lbuf);
	free(l->list);
	memset(l, 0, sizeof(*l));
}

static int
split(char *s, char sep, int skipempty, char ***vp, size_t *np)
{
	char **v, *p;
	size_t n = 1;

	for (p = s; *p != '\0'; p++)
		n += (*p == sep);
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	n = 0;
	for (p = s;; p++) {
		char *q = strchr(p, sep);

		if (q != NULL)
			*q = '\0';
		if (*p != '\0' || !skipempty)
			v[n++] = p;
		if (q == NULL)
			break;
		p = q;
	}
	*vp = v;
	*np = n;
	return 0;
}

/* Blank, comment and NIS compat lines are kept verbatim, never parsed. */
static int
line_parse(struct dbline *l, const struct dbfile_spec *spec)
{
	int r;

	if (l->len == 0 || strchr("#+-", l->raw[0]) != NULL)
		return 0;
	if ((l->buf = strdup(l->raw)) == NULL)
		return -ENOMEM;
	if ((r = split(l->buf, ':', 0, &l->fields, &l->nfields)) < 0)
		return r;
	if (spec->listfield < 0 || l->nfields <= (size_t)spec->listfield)
		return 0;
	if ((l->lbuf = strdup(l->fields[spec->listfield])) == NULL)
		return -ENOMEM;
	return split(l->lbuf, ',', 1, &l->list, &l->nlist);
}

static int
line_check(const struct dbline *l, const struct dbfile_spec *spec, char *msg,
    size_t msglen)
{
	unsigned long id;
	char v[40];
	int r;

	if (l->buf == NULL)
		return 0;
	if (l->nfields != spec->nfields) {
		snprintf(msg, msglen, "bad field count (%zu, want %zu)",
		    l->nfields, spec->nfields);
		return -EINVAL;
	}
	if (l->fields[0][0] == '\0') {
		snprintf(msg, msglen, "empty name");
		return -EINVAL;
	}
	if (spec->uidfield >= 0 &&
	    (r = dbfile_parse_id(l->fields[spec->uidfield], &id)) < 0) {
		snprintf(msg, msglen, "bad uid '%s' (want 0-%lu)",
		    vis(v, sizeof(v), l->fields[spec->uidfield]),
		    DBFILE_ID_MAX);
		return -EINVAL;
	}
	if (spec->gidfield >= 0 &&
	    (r = dbfile_parse_id(l->fields[spec->gidfield], &id)) < 0) {
		snprintf(msg, msglen, "bad gid '%s' (want 0-%lu)",
		    vis(v, sizeof(v), l->fields[spec->gidfield]),
		    DBFILE_ID_MAX);
		return -EINVAL;
	}
	return 0;
}

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 64;
	void *np;

	if (n < *cap)
		return 0;
	if ((np = reallocarray(*p, ncap, size)) == NULL)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

/* Insert a line before lines[at]; ent stays sorted. */
static int
line_push(struct dbfile *f, const char *raw, size_t len, size_t at)
{
	struct dbline l;
	size_t i, e;
	int r;

	if ((r = grow((void **)&f->lines, &f->linecap, f->nlines,
		 sizeof(*f->lines))) < 0 ||
	    (r = grow((void **)&f->ent, &f->entcap, f->nent, sizeof(*f->ent))) <
		0)
		return r;
	memset(&l, 0, sizeof(l));
	if ((l.raw = strndup(raw, len)) == NULL)
		return -ENOMEM;
	l.len = len;
	if ((r = line_parse(&l, f->spec)) < 0) {
		line_clear(&l);
		return r;
	}
	memmove(&f->lines[at + 1], &f->lines[at],
	    (f->nlines - at) * sizeof(*f->lines));
	f->lines[at] = l;
	f->nlines++;
	e = f->nent;
	if (at + 1 < f->nlines)
		for (e = 0; e < f->nent && f->ent[e] < at; e++)
			continue;
	for (i = e; i < f->nent; i++)
		f->ent[i]++;
	if (l.buf != NULL) {
		memmove(&f->ent[e + 1], &f->ent[e],
		    (f->nent - e) * sizeof(*f->ent));
		f->ent[e] = at;
		f->nent++;
	}
	return 0;
}

static int
dupcmp(const void *a, const void *b)
{
	const struct dupent *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/* Sorted, so a 100k-line passwd is not quadratic; report the first dup. */
static int
check_dups(struct dbfile *f, struct db_error *err)
{
	struct dupent *v;
	size_t i, bad = 0;
	char name[40];

	if (f->nent < 2)
		return 0;
	if ((v = calloc(f->nent, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < f->nent; i++) {
		v[i].name = f->lines[f->ent[i]].fields[0];
		v[i].line = f->ent[i] + 1;
	}
	qsort(v, f->nent, sizeof(*v), dupcmp);
	for (i = 1; i < f->nent; i++)
		if (strcmp(v[i].name, v[i - 1].name) == 0 &&
		    (bad == 0 || v[i].line < v[bad].line))
			bad = i;
	if (bad != 0) {
		for (i = bad; i > 0 && strcmp(v[i - 1].name, v[bad].name) == 0;)
			i--;
		dbfile_err(err, f->spec->name, v[bad].line, -EINVAL,
		    "duplicate name '%s' (first on line %zu)",
		    vis(name, sizeof(name), v[bad].name), v[i].line);
	}
	free(v);
	return bad != 0 ? -EINVAL : 0;
}

static int
split_lines(struct dbfile *f, struct db_error *err)
{
	const char *p = f->old, *end = f->old + f->oldlen, *nl;
	char msg[sizeof(err->msg)];
	size_t len;
	int r;

	f->final_nl = 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (len >= DBFILE_LINE_MAX)
			return dbfile_err(err, f->spec->name, f->nlines + 1,
			    -EINVAL, "line too long (over %d bytes)",
			    DBFILE_LINE_MAX);
		if (memchr(p, '\0', len) != NULL)
			return dbfile_err(err, f->spec->name, f->nlines + 1,
			    -EINVAL, "NUL byte in line");
		if ((r = line_push(f, p, len, f->nlines)) < 0)
			return dbfile_err(
			    err, f->spec->name, 0, r, "%s", strerror(-r));
		r = line_check(
		    &f->lines[f->nlines - 1], f->spec, msg, sizeof(msg));
		if (r < 0)
			return dbfile_err(
			    err, f->spec->name, f->nlines, r, "%s", msg);
		if (nl == NULL)
			f->final_nl = 0;
		p += len + 1;
	}
	return check_dups(f, err);
}

int
dbfile_open_ro(int etcfd, const char *name)
{
	/* O_NONBLOCK: a FIFO planted as etc/passwd must not hang us. */
	return openat(
	    etcfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
}

int
dbfile_load(int etcfd, const struct dbfile_spec *spec, int optional,
    struct dbfile *f, struct db_error *err)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->spec = spec;
	r = readfile_at(
	    etcfd, spec->name, DBFILE_SIZE_MAX, &f->old, &f->oldlen, &f->st);
	if (r == -ENOENT && optional)
		return 0;
	if (r == -ELOOP)
		return dbfile_err(err, spec->name, 0, r,
		    "is a symbolic link, refusing to follow it");
	if (r == -EINVAL)
		return dbfile_err(err, spec->name, 0, r, "not a regular file");
	if (r < 0)
		return dbfile_err(err, spec->name, 0, r, "cannot read: %s",
		    readfile_strerror(r));
	f->present = 1;
	return split_lines(f, err);
}

void
dbfile_free(struct dbfile *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nlines; i++)
		line_clear(&f->lines[i]);
	free(f->lines);
	free(f->ent);
	free(f->old);
	free(f->pending);
	memset(f, 0, sizeof(*f));
}

ssize_t
dbfile_find(const struct dbfile *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nent; i++)
		if (strcmp(f->lines[f->ent[i]].fields[0], name) == 0)
			return (ssize_t)f->ent[i];
	return -1;
}

/* fields[0..nfields-1] joined with ':'; no field may hold ':' or '\n'. */
static char *
join(const struct dbfile_spec *spec, const char *const *fields, size_t *lenp,
    int *rp)
{
	size_t i, len = 0;
	char *s, *p;

	for (i = 0; i < spec->nfields; i++) {
		if (strpbrk(fields[i], ":\n") != NULL) {
			*rp = -EINVAL;
			return NULL;
		}
		len += strlen(fields[i]) + 1;
	}
	if (len >= DBFILE_LINE_MAX) {
		*rp = -EINVAL;
		return NULL;
	}
	if ((s = malloc(len)) == NULL) {
		*rp = -ENOMEM;
		return NULL;
	}
	for (p = s, i = 0; i < spec->nfields; i++) {
		size_t n = strlen(fields[i]);

		memcpy(p, fields[i], n);
		p += n;
		*p++ = i + 1 < spec->nfields ? ':' : '\0';
	}
	*lenp = len - 1;
	return s;
}

/* New entries go before the first NIS line, as shadow-utils puts them. */
int
dbfile_append(struct dbfile *f, const char *const *fields)
{
	size_t len, at;
	char *raw;
	int r = 0;

	if ((raw = join(f->spec, fields, &len, &r)) == NULL)
		return r;
	for (at = 0; at < f->nlines; at++)
		if (f->lines[at].len > 0 &&
		    (f->lines[at].raw[0] == '+' || f->lines[at].raw[0] == '-'))
			break;
	r = line_push(f, raw, len, at);
	free(raw);
	if (r < 0)
		return r;
	/* A new last line: the old one gets its '\n' when written out. */
	if (at + 1 == f->nlines)
		f->final_nl = 1;
	f->dirty = 1;
	return 0;
}

int
dbfile_replace_line(struct dbfile *f, size_t li, const char *const *fields)
{
	struct dbline nl;
	int r = 0;

	memset(&nl, 0, sizeof(nl));
	if ((nl.raw = join(f->spec, fields, &nl.len, &r)) == NULL)
		return r;
	if ((r = line_parse(&nl, f->spec)) < 0 || nl.buf == NULL) {
		line_clear(&nl);
		return r < 0 ? r : -EINVAL;
	}
	line_clear(&f->lines[li]);
	f->lines[li] = nl;
	f->dirty = 1;
	return 0;
}

int
dbfile_set_field(struct dbfile *f, size_t li, size_t fi, const char *value)
{
	const char *v[16];
	struct dbline *l = &f->lines[li];
	size_t i;

	if (l->buf == NULL || l->nfields > 16 || fi >= l->nfields)
		return -EINVAL;
	for (i = 0; i < l->nfields; i++)
		v[i] = i == fi ? value : l->fields[i];
	return dbfile_replace_line(f, li, v);
}
