/*
 * A milter's changes at end of message, applied before the next milter
 * sees the message and before it is queued: recipients added or removed,
 * the sender changed, quarantine, header fields added, inserted, changed
 * or deleted and the body replaced (the message is then written anew to
 * an unnamed file in SPOOL/tmp).  Trust boundary: every name, value and
 * address from the filter is checked so the queue file stays well formed;
 * a bad one fails the milter (its default action).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "milter_int.h"

struct hfield {
	const char *p;
	size_t len;
	char *own; /* p when we made it */
};

struct hlist {
	struct hfield *f;
	size_t n;
};

/* Header field name: printable ASCII but ':' (RFC 5322 ftext). */
static int
name_ok(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~' || *p == ':')
			return 0;
	return p != s && p - s < 998;
}

/*
 * "Name: value\r\n" from a filter's name and value: LF line ends become
 * CRLF, a line after a fold starts with a blank; NULL if the name or a
 * bare CR or a NUL-free but otherwise broken value makes it unusable.
 */
static char *
field_make(const char *name, const char *value, int leadspc, size_t *len)
{
	size_t n = strlen(name), vlen = strlen(value), o = 0, i;
	char *f;

	if (!name_ok(name) || vlen > 65535 ||
	    (f = malloc(n + 2 + vlen * 3 + 3)) == NULL)
		return NULL;
	memcpy(f, name, n);
	o = n;
	f[o++] = ':';
	if (!leadspc)
		f[o++] = ' ';
	for (i = 0; i < vlen; i++) {
		if (value[i] == '\r' && value[i + 1] == '\n')
			continue;
		if (value[i] == '\r') {
			free(f);
			return NULL;
		}
		if (value[i] == '\n') {
			f[o++] = '\r';
			f[o++] = '\n';
			if (value[i + 1] != ' ' && value[i + 1] != '\t')
				f[o++] = '\t';
			continue;
		}
		f[o++] = value[i];
	}
	f[o++] = '\r';
	f[o++] = '\n';
	*len = o;
	return f;
}

static int
hlist_insert(struct hlist *h, size_t at, struct hfield *nf)
{
	struct hfield *f;

	if ((f = reallocarray(h->f, h->n + 1, sizeof(*f))) == NULL)
		return -ENOMEM;
	h->f = f;
	if (at > h->n)
		at = h->n;
	memmove(&h->f[at + 1], &h->f[at], (h->n - at) * sizeof(*f));
	h->f[at] = *nf;
	h->n++;
	return 0;
}

/* The index of the idx-th (1-based) field called name, or h->n. */
static size_t
hlist_find(const struct hlist *h, const char *name, uint32_t idx)
{
	size_t i, n = strlen(name);

	for (i = 0; i < h->n; i++)
		if (h->f[i].len > n && strncasecmp(h->f[i].p, name, n) == 0 &&
		    (h->f[i].p[n] == ':' || h->f[i].p[n] == ' ' ||
			h->f[i].p[n] == '\t') &&
		    --idx == 0)
			return i;
	return h->n;
}

/* One header change (ADDHEADER, INSHEADER, CHGHEADER). */
static int
header_mod(struct hlist *h, const struct milter_mod *m, int leadspc)
{
	struct hfield nf = { NULL, 0, NULL };
	size_t at;

	if (m->cmd == MILTER_R_CHGHEADER) {
		if (!name_ok(m->a))
			return -EINVAL;
		at = hlist_find(h, m->a, m->index == 0 ? 1 : m->index);
		if (m->b[0] == '\0') { /* delete */
			if (at < h->n) {
				free(h->f[at].own);
				memmove(&h->f[at], &h->f[at + 1],
				    (h->n - at - 1) * sizeof(h->f[0]));
				h->n--;
			}
			return 0;
		}
		if ((nf.own = field_make(m->a, m->b, leadspc, &nf.len)) == NULL)
			return -EINVAL;
		nf.p = nf.own;
		if (at == h->n)
			return hlist_insert(h, h->n, &nf);
		free(h->f[at].own);
		h->f[at] = nf;
		return 0;
	}
	if ((nf.own = field_make(m->a, m->b, leadspc, &nf.len)) == NULL)
		return -EINVAL;
	nf.p = nf.own;
	at = m->cmd == MILTER_R_INSHEADER ? m->index : h->n;
	if (hlist_insert(h, at, &nf) != 0) {
		free(nf.own);
		return -ENOMEM;
	}
	return 0;
}

/* Copy src[off..) to dst. */
static int
copy_from(struct queue_body *src, size_t off, struct queue_body *dst)
{
	char *buf;
	size_t got;
	int rv;

	if ((buf = malloc(MILTER_CHUNK)) == NULL)
		return -ENOMEM;
	while (
	    (rv = queue_body_pread(src, buf, MILTER_CHUNK, off, &got)) == 0 &&
	    got > 0) {
		if ((rv = queue_body_add(dst, buf, got)) != 0)
			break;
		off += got;
	}
	free(buf);
	return rv;
}

/* The new message: fields, the empty line, the old or the new body. */
static int
rewrite(const struct milter_env *env, const char *id, struct milter_conn *c,
    const struct milter_msg *m, const struct hlist *h, struct queue_body **qb)
{
	struct queue_body *nb = NULL;
	size_t i, nsize;
	char last[2];
	int rv;

	if ((rv = queue_body_open(env->spoolfd, id, &nb)) != 0)
		return rv;
	for (i = 0; i < h->n; i++)
		(void)queue_body_add(nb, h->f[i].p, h->f[i].len);
	nsize = c->newbody != NULL ? queue_body_size(c->newbody)
				   : queue_body_size(*qb) - m->bodyoff;
	if (m->seplen > 0 || nsize > 0)
		(void)queue_body_add(nb, "\r\n", 2);
	if (c->newbody != NULL)
		rv = copy_from(c->newbody, 0, nb);
	else
		rv = copy_from(*qb, m->bodyoff, nb);
	/* A replaced body ends with CRLF like a received one. */
	if (rv == 0 && c->newbody != NULL && nsize > 0 &&
	    queue_body_pread(
		c->newbody, last, 2, nsize - (nsize > 1 ? 2 : 1), &i) == 0 &&
	    !(i == 2 && last[0] == '\r' && last[1] == '\n'))
		rv = queue_body_add(nb, "\r\n", 2);
	if (rv == 0)
		rv = queue_body_error(nb);
	if (rv != 0) {
		queue_body_free(nb);
		return rv;
	}
	queue_body_free(*qb);
	*qb = nb;
	return 0;
}

/* The header changes, then the message written anew if anything changed. */
static int
content_mods(const struct milter_env *env, struct milter_conn *c,
    const char *id, struct queue_body **qb)
{
	struct milter_msg m;
	struct hlist h = { NULL, 0 };
	struct hfield nf;
	size_t i, changes = 0;
	int rv, leadspc = (c->protocol & MILTER_P_HDR_LEADSPC) != 0;

	for (i = 0; i < c->nmods; i++)
		changes += c->mods[i].cmd == MILTER_R_ADDHEADER ||
		    c->mods[i].cmd == MILTER_R_INSHEADER ||
		    c->mods[i].cmd == MILTER_R_CHGHEADER;
	if (changes == 0 && c->newbody == NULL)
		return 0;
	if ((rv = milter_msg_read(*qb, &m)) != 0)
		goto out;
	for (i = 0; i < m.nfield; i++) {
		nf.p = m.field[i];
		nf.len = m.flen[i];
		nf.own = NULL;
		if ((rv = hlist_insert(&h, h.n, &nf)) != 0)
			goto out;
	}
	for (i = 0; i < c->nmods; i++)
		if ((c->mods[i].cmd == MILTER_R_ADDHEADER ||
			c->mods[i].cmd == MILTER_R_INSHEADER ||
			c->mods[i].cmd == MILTER_R_CHGHEADER) &&
		    (rv = header_mod(&h, &c->mods[i], leadspc)) != 0)
			goto out;
	rv = rewrite(env, id, c, &m, &h, qb);
out:
	for (i = 0; i < h.n; i++)
		free(h.f[i].own);
	free(h.f);
	milter_msg_free(&m);
	return rv;
}

int
milter_msg_apply(const struct milter_env *env, struct milter_conn *c,
    struct queue_file *qf, size_t *rcap, struct queue_body **qb,
    struct milter_outcome *out)
{
	int rv;

	if ((rv = milter_envelope_mods(c, qf, rcap, out)) != 0) {
		log_warnx("%s: milter %s: bad envelope change", qf->id,
		    c->cm->socket);
		return rv;
	}
	if ((rv = content_mods(env, c, qf->id, qb)) != 0) {
		log_warnx("%s: milter %s: cannot change the message: %s",
		    qf->id, c->cm->socket, strerror(-rv));
		return rv;
	}
	return 0;
}
