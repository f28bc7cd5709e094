/*
 * auth_users (authtab.h): the SMTP AUTH logins and their crypt(3) hashes.
 * The file holds password hashes, so it must be root's and unreadable by
 * anyone else, the relay account included; the master reads it through
 * the one safe reader.  Verification does the same crypt(3) work whether
 * or not the login exists (timing must not enumerate users).
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authtab.h"
#include "tablefile.h"

/* Verified against when the login is unknown and the table is empty. */
#define DUMMY_HASH                                                           \
	"$y$j9T$zDiV1Nu2EWZVuHERbeJQX1$8EyS8FXFk9rz2V7bRlDwdU4R6/xlT0cXwAXf" \
	"UHZG6iA"

struct authent {
	char *user, *hash; /* into the table's copy of the text */
};

struct authtab {
	struct authent *e;
	size_t n;
	char *text;
};

int
authtab_valid_user(const char *name)
{
	size_t i;

	if (name[0] == '\0' || name[0] == '#')
		return 0;
	for (i = 0; name[i] != '\0'; i++)
		if (i >= AUTHTAB_USER_MAX || name[i] <= ' ' || name[i] > '~' ||
		    name[i] == ':')
			return 0;
	return 1;
}

int
authtab_valid_hash(const char *hash)
{
	size_t n;

	if (strncmp(hash, "$y$", 3) != 0 && strncmp(hash, "$6$", 3) != 0)
		return 0;
	n = strspn(hash,
	    "$./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz=");
	return hash[n] == '\0' && n < CRYPT_OUTPUT_SIZE &&
	    crypt_checksalt(hash) == CRYPT_SALT_OK;
}

/* The next line of buf[*pos..len) without its LF (and CR); NULL at end. */
static const char *
next_line(const char *buf, size_t len, size_t *pos, size_t *n, size_t *raw)
{
	const char *start = buf + *pos, *nl;

	if (*pos >= len)
		return NULL;
	nl = memchr(start, '\n', len - *pos);
	*raw = nl != NULL ? (size_t)(nl - start) + 1 : len - *pos;
	*pos += *raw;
	*n = nl != NULL ? (size_t)(nl - start) : *raw;
	if (*n > 0 && start[*n - 1] == '\r')
		(*n)--;
	return start;
}

/* Line l (NUL-terminated in place) into e; -EINVAL with err filled. */
static int
entry_parse(char *l, size_t line, struct authent *e, struct config_error *err)
{
	char *colon = strchr(l, ':');

	if (colon == NULL)
		return tablefile_err(err, line, "want 'user:hash'");
	*colon = '\0';
	if (!authtab_valid_user(l))
		return tablefile_err(err, line, "invalid user name");
	if (!authtab_valid_hash(colon + 1))
		return tablefile_err(err, line,
		    "invalid hash for '%s' (want crypt(3) yescrypt '$y$' or "
		    "SHA-512 '$6$'; use relayctl passwd)",
		    l);
	e->user = l;
	e->hash = colon + 1;
	return 0;
}

/* One entry line (tablefile_lines); duplicates are refused here. */
static int
entry_line(void *arg, char *l, size_t line, struct config_error *err)
{
	struct authtab *t = arg;
	size_t i;
	int rv;

	if ((rv = entry_parse(l, line, &t->e[t->n], err)) < 0)
		return rv;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->e[i].user, t->e[t->n].user) == 0)
			return tablefile_err(
			    err, line, "duplicate user '%s'", t->e[i].user);
	t->n++;
	return 0;
}

int
authtab_parse(const char *buf, size_t len, const char *fname,
    struct authtab **out, struct config_error *err)
{
	struct authtab *t = NULL;
	size_t lines = 1, i;
	int rv = -ENOMEM;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	(void)strlcpy(
	    err->file, fname != NULL ? fname : "-", sizeof(err->file));
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->e = calloc(lines, sizeof(*t->e))) == NULL ||
	    (t->text = malloc(len + 1)) == NULL)
		goto out;
	if (len > 0)
		memcpy(t->text, buf, len);
	t->text[len] = '\0';
	rv =
	    tablefile_lines(t->text, len, AUTHTAB_LINE_MAX, entry_line, t, err);
	if (rv == 0) {
		*out = t;
		t = NULL;
	}
out:
	if (rv == -ENOMEM)
		(void)strlcpy(err->msg, "out of memory", sizeof(err->msg));
	authtab_free(t);
	return rv;
}

int
authtab_load(int rootfd, const char *path, struct authtab **out,
    struct config_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	rv = tablefile_read(
	    rootfd, path, AUTHTAB_FILE_MAX, TABLEFILE_SECRET, &buf, &len, err);
	if (rv == 0 && buf != NULL)
		rv = authtab_parse(buf, len, path, out, err);
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	return rv;
}

/* Equal strings, in time that depends on the lengths only. */
static int
ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

int
authtab_verify(const struct authtab *t, const char *user, const char *pass)
{
	const struct authent *e = NULL;
	const char *hash = DUMMY_HASH, *h;
	struct crypt_data *cd;
	size_t i;
	int ok;

	for (i = 0; t != NULL && i < t->n; i++)
		if (strcmp(t->e[i].user, user) == 0)
			e = &t->e[i];
	/* Unknown: the same work against a real hash of the table. */
	if (e != NULL)
		hash = e->hash;
	else if (t != NULL && t->n > 0)
		hash = t->e[0].hash;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -ENOMEM;
	h = crypt_rn(pass, hash, cd, (int)sizeof(*cd));
	ok = h != NULL && h[0] != '*' && ct_streq(h, hash) && e != NULL;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

size_t
authtab_count(const struct authtab *t)
{
	return t == NULL ? 0 : t->n;
}

void
authtab_free(struct authtab *t)
{
	if (t == NULL)
		return;
	free(t->e);
	if (t->text != NULL)
		explicit_bzero(t->text, strlen(t->text));
	free(t->text);
	free(t);
}

/* 1 if line l[0..n) is user's entry. */
static int
line_is(const char *l, size_t n, const char *user)
{
	size_t ul = strlen(user);

	return n > ul && memcmp(l, user, ul) == 0 && l[ul] == ':';
}

int
authtab_edit(const char *buf, size_t len, const char *user, const char *hash,
    char **outp, size_t *outlenp)
{
	const char *l;
	size_t pos = 0, n, raw, o = 0, cap;
	char *out;
	int found = 0;

	*outp = NULL;
	*outlenp = 0;
	if (!authtab_valid_user(user) ||
	    (hash != NULL && !authtab_valid_hash(hash)))
		return -EINVAL;
	cap = len + strlen(user) + (hash != NULL ? strlen(hash) : 0) + 4;
	if ((out = malloc(cap)) == NULL)
		return -ENOMEM;
	while ((l = next_line(buf, len, &pos, &n, &raw)) != NULL) {
		if (!line_is(l, n, user)) {
			memcpy(out + o, l, raw);
			o += raw;
			if (l[raw - 1] != '\n')
				out[o++] = '\n';
			continue;
		}
		if (found++ == 0 && hash != NULL)
			o += (size_t)snprintf(
			    out + o, cap - o, "%s:%s\n", user, hash);
	}
	if (!found && hash != NULL)
		o += (size_t)snprintf(out + o, cap - o, "%s:%s\n", user, hash);
	if (!found && hash == NULL) {
		free(out);
		return -ENOENT;
	}
	*outp = out;
	*outlenp = o;
	return 0;
}
