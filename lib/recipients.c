/*
 * relay_recipients (recipients.h): a sorted array of canonical keys,
 * "local@domain" or "@domain", built from an admin file.  The file is read
 * by the master as root through the one safe reader and refused when
 * anyone but root may write it (whoever writes it decides which mail is
 * accepted); every entry goes through the SMTP address parser, so the
 * table and the RCPT command agree on what an address is.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tablefile.h"
#include "recipients.h"
#include "smtp_addr.h"

/* "local@domain" without quotes: 64 + 1 + 255 octets at most. */
#define KEY_MAX (SMTP_LOCAL_MAX + 1 + SMTP_DOMAIN_MAX)

struct recipient {
	const char *key; /* into the arena */
	size_t line; /* for duplicate reports */
};

struct recipients {
	struct recipient *e;
	size_t n;
	char *arena; /* the keys, NUL-terminated, one after another */
	size_t used; /* of arena */
};

static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

/*
 * The canonical key of local@domain into key[KEY_MAX + 1]: quotes and
 * backslash escapes of a quoted local part removed, ASCII lower case.
 * domain NULL: the "@domain" key of a wildcard.  -1 if it does not fit.
 */
static int
key_make(char *key, const char *local, const char *domain)
{
	const unsigned char *s = (const unsigned char *)local;
	size_t o = 0;
	int quoted = s[0] == '"';

	for (s += quoted; *s != '\0' && !(quoted && *s == '"'); s++) {
		if (quoted && *s == '\\' && s[1] != '\0')
			s++;
		if (o >= SMTP_LOCAL_MAX)
			return -1;
		key[o++] = (char)lower(*s);
	}
	key[o++] = '@';
	for (s = (const unsigned char *)domain; *s != '\0'; s++) {
		if (o >= KEY_MAX)
			return -1;
		key[o++] = (char)lower(*s);
	}
	key[o] = '\0';
	return 0;
}

/* The end of the entry that starts at s: a blank outside quotes. */
static size_t
entry_len(const char *s)
{
	size_t i;
	int quoted = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (quoted && s[i] == '\\' && s[i + 1] != '\0')
			i++;
		else if (s[i] == '"')
			quoted = !quoted;
		else if (!quoted && (s[i] == ' ' || s[i] == '\t'))
			break;
	}
	return i;
}

/* One entry (NUL-terminated, no blanks around it) to its key. */
static const char *
entry_key(const char *ent, char *key)
{
	char path[SMTP_PATH_MAX + 2];
	struct smtp_path p;
	enum smtp_addr_err e;
	size_t used = 0;
	int n, wild = ent[0] == '@';

	n = snprintf(path, sizeof(path), "<%s%s>", wild ? "x" : "", ent);
	if (n < 0 || (size_t)n >= sizeof(path))
		return "address too long";
	e = smtp_addr_parse(path, (size_t)n, SMTP_ADDR_FORWARD, 1, &p, &used);
	if (e == SMTP_ADDR_EROUTING)
		return "sender-specified routing in address";
	if (e != SMTP_ADDR_OK || used != (size_t)n)
		return "invalid address (want local@domain or @domain)";
	if (p.domain[0] == '\0')
		return "no domain (want local@domain or @domain)";
	if (p.literal)
		return "address literal (never a relay domain)";
	if (key_make(key, wild ? "" : p.local, p.domain) == -1)
		return "address too long";
	return NULL;
}

/* One line without its LF; appends its key, if any, to t. */
static int
line_parse(void *arg, char *line, size_t lineno, struct config_error *err)
{
	struct recipients *t = arg;
	char key[KEY_MAX + 1];
	const char *why;
	char *ent = line + strspn(line, " \t"), *rest;
	size_t n;

	if (*ent == '\0' || *ent == '#')
		return 0;
	n = entry_len(ent);
	rest = ent + n + strspn(ent + n, " \t");
	if (*rest != '\0' && *rest != '#')
		return tablefile_err(err, lineno, "one address per line");
	ent[n] = '\0';
	if ((why = entry_key(ent, key)) != NULL)
		return tablefile_err(err, lineno, "%s", why);
	n = strlen(key) + 1;
	memcpy(t->arena + t->used, key, n); /* keys are never longer */
	t->e[t->n].key = t->arena + t->used;
	t->e[t->n].line = lineno;
	t->n++;
	t->used += n;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct recipient *)a)->key,
	    ((const struct recipient *)b)->key);
}

/* Duplicates are found after sorting; report the later line. */
static int
dups_check(const struct recipients *t, struct config_error *err)
{
	const struct recipient *a, *b;
	size_t i;

	for (i = 1; i < t->n; i++) {
		a = &t->e[i - 1];
		b = &t->e[i];
		if (strcmp(a->key, b->key) != 0)
			continue;
		if (a->line > b->line) {
			a = b;
			b = &t->e[i - 1];
		}
		return tablefile_err(err, b->line,
		    "duplicate entry '%.64s' (first on "
		    "line %zu)",
		    b->key, a->line);
	}
	return 0;
}

int
recipients_parse(const char *buf, size_t len, const char *fname,
    struct recipients **out, struct config_error *err)
{
	struct recipients *t = NULL;
	size_t lines = 1, i;
	char *text;
	int rv = -ENOMEM;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	(void)strlcpy(err->file, fname, sizeof(err->file)); /* display only */
	if (len > RECIPIENTS_FILE_MAX) {
		(void)strlcpy(err->msg, "file too big", sizeof(err->msg));
		return -EFBIG;
	}
	for (i = 0; i < len; i++)
		lines += buf[i] == '\n';
	/* A key is at most as long as its line: len + one NUL per line. */
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->e = calloc(lines, sizeof(*t->e))) == NULL ||
	    (t->arena = malloc(len + lines)) == NULL) {
		(void)strlcpy(err->msg, "out of memory", sizeof(err->msg));
		goto out;
	}
	if ((text = malloc(len + 1)) == NULL) {
		rv = -ENOMEM;
		(void)strlcpy(err->msg, "out of memory", sizeof(err->msg));
		goto out;
	}
	memcpy(text, buf, len);
	rv =
	    tablefile_lines(text, len, RECIPIENTS_LINE_MAX, line_parse, t, err);
	free(text);
	if (rv != 0)
		goto out;
	qsort(t->e, t->n, sizeof(*t->e), entry_cmp);
	if ((rv = dups_check(t, err)) != 0)
		goto out;
	memset(err, 0, sizeof(*err));
	*out = t;
	t = NULL;
out:
	recipients_free(t);
	return rv;
}

/* Whoever can write the table chooses which mail is accepted. */
int
recipients_load(int rootfd, const char *path, struct recipients **out,
    struct config_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	rv = tablefile_read(rootfd, path, RECIPIENTS_FILE_MAX,
	    TABLEFILE_ROOT_WRITES, &buf, &len, err);
	if (rv == 0 && buf != NULL)
		rv = recipients_parse(buf, len, path, out, err);
	free(buf);
	return rv;
}

static int
has_key(const struct recipients *t, const char *key)
{
	struct recipient k = { key, 0 };

	return bsearch(&k, t->e, t->n, sizeof(*t->e), entry_cmp) != NULL;
}

int
recipients_match(
    const struct recipients *t, const char *local, const char *domain)
{
	char key[KEY_MAX + 1];

	if (t == NULL || t->n == 0)
		return 0;
	if (key_make(key, local, domain) == 0 && has_key(t, key))
		return 1;
	return key_make(key, "", domain) == 0 && has_key(t, key);
}

size_t
recipients_count(const struct recipients *t)
{
	return t == NULL ? 0 : t->n;
}

void
recipients_free(struct recipients *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->arena);
	free(t);
}
