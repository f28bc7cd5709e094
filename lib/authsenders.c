/*
 * auth_senders (authsenders.h): a sorted array of (login, sender key)
 * pairs, the key "local@domain" or "@domain" in ASCII lower case.  The
 * file is read by the master as root and refused when anyone but root may
 * write it (whoever writes it decides who may send as whom); every
 * address goes through the SMTP address parser.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authsenders.h"
#include "authtab.h"
#include "tablefile.h"
#include "smtp_addr.h"

#define KEY_MAX (SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX)

struct sender {
	const char *login, *key; /* into the table's text */
};

struct authsenders {
	struct sender *e;
	size_t n, cap;
	char *text; /* logins and keys, rewritten in place */
};

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Check ent (NUL-terminated, in place) and lower-case it; why or NULL. */
static const char *
sender_check(char *ent)
{
	char path[SMTP_PATH_MAX + 2];
	struct smtp_path p;
	size_t used = 0;
	int n, wild = ent[0] == '@';

	n = snprintf(path, sizeof(path), "<%s%s>", wild ? "x" : "", ent);
	if (n < 0 || (size_t)n >= sizeof(path) || strlen(ent) > KEY_MAX)
		return "address too long";
	if (smtp_addr_parse(path, (size_t)n, SMTP_ADDR_FORWARD, 1, &p, &used) !=
		SMTP_ADDR_OK ||
	    used != (size_t)n || p.domain[0] == '\0' || p.literal ||
	    p.local[0] == '"')
		return "invalid sender (want local@domain or @domain)";
	lower(ent);
	return NULL;
}

static int
add(struct authsenders *t, const char *login, const char *key)
{
	struct sender *e;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 16;
		if ((e = reallocarray(t->e, cap, sizeof(*e))) == NULL)
			return -ENOMEM;
		t->e = e;
		t->cap = cap;
	}
	t->e[t->n].login = login;
	t->e[t->n++].key = key;
	return 0;
}

/* One line (NUL-terminated, in t->text); its pairs appended to t. */
static int
line_parse(void *arg, char *l, size_t line, struct config_error *err)
{
	struct authsenders *t = arg;
	char *colon, *ent, *save = NULL;
	const char *why;
	size_t i, first = t->n;
	int rv;

	if ((colon = strchr(l, ':')) == NULL)
		return tablefile_err(err, line, "want 'login: sender, ...'");
	*colon = '\0';
	if (!authtab_valid_user(l))
		return tablefile_err(err, line, "invalid login");
	for (i = 0; i < first; i++)
		if (strcmp(t->e[i].login, l) == 0)
			return tablefile_err(
			    err, line, "login '%s' listed twice", l);
	for (ent = strtok_r(colon + 1, ", \t", &save); ent != NULL;
	     ent = strtok_r(NULL, ", \t", &save)) {
		if ((why = sender_check(ent)) != NULL)
			return tablefile_err(err, line, "%s", why);
		if ((rv = add(t, l, ent)) < 0)
			return rv;
	}
	if (t->n == first)
		return tablefile_err(err, line, "no sender for '%s'", l);
	return 0;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct sender *x = a, *y = b;
	int c = strcmp(x->login, y->login);

	return c != 0 ? c : strcmp(x->key, y->key);
}

int
authsenders_parse(const char *buf, size_t len, const char *fname,
    struct authsenders **out, struct config_error *err)
{
	struct authsenders *t;
	int rv = -ENOMEM;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	(void)strlcpy(
	    err->file, fname != NULL ? fname : "-", sizeof(err->file));
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->text = malloc(len + 1)) == NULL)
		goto out;
	if (len > 0)
		memcpy(t->text, buf, len);
	t->text[len] = '\0';
	rv = tablefile_lines(
	    t->text, len, AUTHSENDERS_LINE_MAX, line_parse, t, err);
	if (rv == 0) {
		if (t->n > 0)
			qsort(t->e, t->n, sizeof(*t->e), pair_cmp);
		*out = t;
		t = NULL;
	}
out:
	if (rv == -ENOMEM)
		(void)strlcpy(err->msg, "out of memory", sizeof(err->msg));
	authsenders_free(t);
	return rv;
}

int
authsenders_load(int rootfd, const char *path, struct authsenders **out,
    struct config_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	rv = tablefile_read(rootfd, path, AUTHSENDERS_FILE_MAX,
	    TABLEFILE_ROOT_WRITES, &buf, &len, err);
	if (rv == 0 && buf != NULL)
		rv = authsenders_parse(buf, len, path, out, err);
	free(buf);
	return rv;
}

static int
has(const struct authsenders *t, const char *login, const char *key)
{
	struct sender k = { login, key };

	return bsearch(&k, t->e, t->n, sizeof(*t->e), pair_cmp) != NULL;
}

int
authsenders_match(const struct authsenders *t, const char *login,
    const char *local, const char *domain)
{
	char key[KEY_MAX + 2];
	int n;

	if (t == NULL || t->n == 0)
		return 0;
	n = snprintf(key, sizeof(key), "%s@%s", local, domain);
	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	lower(key);
	if (has(t, login, key))
		return 1;
	n = snprintf(key, sizeof(key), "@%s", domain);
	if (n < 0 || (size_t)n >= sizeof(key))
		return 0;
	lower(key);
	return has(t, login, key);
}

size_t
authsenders_count(const struct authsenders *t)
{
	return t == NULL ? 0 : t->n;
}

void
authsenders_free(struct authsenders *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->text);
	free(t);
}
