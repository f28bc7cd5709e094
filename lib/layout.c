/*
 * The manifest parser (the path matcher is layout_match.c).  The manifest
 * decides owners and modes that root applies, so parsing is strict: every
 * unknown, doubled or contradictory key is an error naming file, line and
 * key, never a guess.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "readfile.h"

#define MAXTOK 32
#define LAYOUT_MAX_RULES 512

struct parser {
	struct layout *l;
	struct layout_error *err;
	size_t line;
	size_t account_line; /* 0: no account line yet */
	size_t cap; /* allocated rules */
};

struct key {
	const char *name;
	int value; /* 1: key=VALUE, 0: bare flag */
};

static int perr(struct parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static int
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	p->err->line = p->line;
	va_start(ap, fmt);
	/* A diagnostic: truncating it is harmless. */
	(void)vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* shadow-utils' portable user name: [a-z_][a-z0-9_-]*[$]?, at most 32. */
static int
valid_name(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > 32 ||
	    !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] == '$' && i == len - 1)
			break;
		if (!(s[i] == '_' || s[i] == '-' ||
			(s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9')))
			return 0;
	}
	return 1;
}

/* Digits only, no sign, below the reserved (uid_t)-1. */
static int
parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 10 || s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || v >= UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* A passwd field: clean absolute path, and no ':' to corrupt the line. */
static int
parse_abspath(
    struct parser *p, const char *key, const char *s, char *dst, size_t len)
{
	struct layout_comps cp;

	if (layout_comps_split(s, &cp) != 0 || strchr(s, ':') != NULL)
		return perr(p, "%s: '%s' is not a clean absolute path", key, s);
	if (strlcpy(dst, s, len) >= len)
		return perr(p, "%s: path too long", key);
	return 0;
}

/*
 * Finds tok's key in keys and checks it is known, not doubled, and has a
 * value exactly when it takes one.  Returns its index, *val its value.
 */
static int
key_lookup(struct parser *p, const struct key *keys, size_t nkeys,
    const char *tok, unsigned int *seen, const char **val)
{
	const char *eq = strchr(tok, '=');
	size_t i, klen = eq != NULL ? (size_t)(eq - tok) : strlen(tok);

	for (i = 0; i < nkeys; i++)
		if (strlen(keys[i].name) == klen &&
		    strncmp(keys[i].name, tok, klen) == 0)
			break;
	if (i == nkeys)
		return perr(p, "%.*s: unknown key", (int)klen, tok);
	if (*seen & (1u << i))
		return perr(p, "%s: duplicate key", keys[i].name);
	*seen |= 1u << i;
	if (keys[i].value && (eq == NULL || eq[1] == '\0'))
		return perr(p, "%s: missing value", keys[i].name);
	if (!keys[i].value && eq != NULL)
		return perr(p, "%s: takes no value", keys[i].name);
	*val = eq != NULL ? eq + 1 : NULL;
	return (int)i;
}

enum { A_UID, A_GID, A_HOME, A_SHELL, A_LOCKED, A_NKEYS };
static const struct key account_keys[] = {
	{ "uid", 1 },
	{ "gid", 1 },
	{ "home", 1 },
	{ "shell", 1 },
	{ "locked", 0 },
};

static int
parse_account_key(struct parser *p, int k, const char *val)
{
	struct layout_account *a = &p->l->account;
	uint32_t id;

	switch (k) {
	case A_UID:
	case A_GID:
		if (parse_id(val, &id) != 0)
			return perr(p, "%s: bad number '%s'",
			    account_keys[k].name, val);
		/* The whole point is that the relay is not root. */
		if (id == 0)
			return perr(
			    p, "%s: must not be 0", account_keys[k].name);
		if (k == A_UID)
			a->uid = (uid_t)id;
		else
			a->gid = (gid_t)id;
		return 0;
	case A_HOME:
		return parse_abspath(p, "home", val, a->home, sizeof(a->home));
	case A_SHELL:
		return parse_abspath(
		    p, "shell", val, a->shell, sizeof(a->shell));
	default:
		a->locked = 1;
		return 0;
	}
}

static int
parse_account(struct parser *p, char **tok, size_t ntok)
{
	struct layout_account *a = &p->l->account;
	unsigned int seen = 0;
	const char *val;
	size_t i;
	int k, r;

	if (p->account_line != 0)
		return perr(p,
		    "account: more than one account line "
		    "(first on line %zu)",
		    p->account_line);
	if (ntok < 2 || !valid_name(tok[1]))
		return perr(p, "account: invalid user name '%s'",
		    ntok < 2 ? "" : tok[1]);
	if (strlcpy(a->name, tok[1], sizeof(a->name)) >= sizeof(a->name))
		return perr(p, "account: user name too long");
	for (i = 2; i < ntok; i++) {
		if ((k = key_lookup(
			 p, account_keys, A_NKEYS, tok[i], &seen, &val)) < 0)
			return k;
		if ((r = parse_account_key(p, k, val)) < 0)
			return r;
	}
	for (k = 0; k < A_LOCKED; k++)
		if (!(seen & (1u << k)))
			return perr(p, "%s: missing on the account line",
			    account_keys[k].name);
	p->account_line = p->line;
	return 0;
}

enum {
	P_OWNER,
	P_GROUP,
	P_MODE,
	P_REQUIRE,
	P_FORBID,
	P_SETGID,
	P_CREATE,
	P_OPTIONAL,
	P_STRICT,
	P_NOACL,
	P_SAMPLE,
	P_DEFACL,
	P_NKEYS
};
static const struct key path_keys[] = {
	{ "owner", 1 },
	{ "group", 1 },
	{ "mode", 1 },
	{ "require", 1 },
	{ "forbid", 1 },
	{ "setgid", 0 },
	{ "create", 0 },
	{ "optional", 0 },
	{ "strict", 0 },
	{ "noacl", 0 },
	{ "sample", 1 },
	{ "default-acl", 1 },
};

/* A file name inside DATADIR: no '/', no leading '.' or '-'. */
static int
valid_sample(const char *s)
{
	if (s[0] == '.' || s[0] == '-')
		return 0;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._+-") == strlen(s);
}

/* "@group:rX", "@user:rwx": each of r, w, x, X at most once. */
static int
valid_acl(const char *s)
{
	const char *perms;
	size_t i;

	if (strncmp(s, "@group:", 7) == 0)
		perms = s + 7;
	else if (strncmp(s, "@user:", 6) == 0)
		perms = s + 6;
	else
		return 0;
	if (*perms == '\0')
		return 0;
	for (i = 0; perms[i] != '\0'; i++)
		if (strchr("rwxX", perms[i]) == NULL ||
		    strchr(perms + i + 1, perms[i]) != NULL)
			return 0;
	return 1;
}

static int
copy_value(
    struct parser *p, const char *key, const char *val, char *dst, size_t len)
{
	if (strlcpy(dst, val, len) >= len)
		return perr(p, "%s: value too long", key);
	return 0;
}

static int
parse_path_key(struct parser *p, struct layout_rule *r, int k, const char *v)
{
	switch (k) {
	case P_OWNER:
		if (strcmp(v, "@user") != 0 && !valid_name(v))
			return perr(p, "owner: bad user name '%s'", v);
		return copy_value(p, "owner", v, r->owner, sizeof(r->owner));
	case P_GROUP:
		if (strcmp(v, "@group") != 0 && !valid_name(v))
			return perr(p, "group: bad group name '%s'", v);
		return copy_value(p, "group", v, r->group, sizeof(r->group));
	case P_MODE:
		r->mode.has_mode = 1;
		if (mode_parse_octal(v, &r->mode.mode) != 0)
			return perr(p, "mode: bad octal mode '%s'", v);
		return 0;
	case P_REQUIRE:
	case P_FORBID:
		if (mode_parse_symbolic(v,
			k == P_REQUIRE ? &r->mode.require : &r->mode.forbid) !=
		    0)
			return perr(p, "%s: bad symbolic mode '%s' (e.g. g+rx)",
			    path_keys[k].name, v);
		return 0;
	case P_SETGID:
		r->mode.setgid = 1;
		return 0;
	case P_CREATE:
		r->create = 1;
		return 0;
	case P_OPTIONAL:
		r->optional = 1;
		return 0;
	case P_STRICT:
		r->strict = 1;
		return 0;
	case P_NOACL:
		r->noacl = 1;
		return 0;
	case P_SAMPLE:
		if (!valid_sample(v))
			return perr(p, "sample: bad file name '%s'", v);
		return copy_value(p, "sample", v, r->sample, sizeof(r->sample));
	default:
		if (!valid_acl(v))
			return perr(p,
			    "default-acl: bad entry '%s' "
			    "(e.g. @group:rX)",
			    v);
		return copy_value(p, "default-acl", v, r->default_acl,
		    sizeof(r->default_acl));
	}
}

static int
pattern_literal(const char *pattern)
{
	struct layout_comps cp;
	size_t i;

	if (layout_comps_split(pattern, &cp) != 0)
		return 0;
	for (i = 0; i < cp.n; i++)
		if (!layout_is_literal_comp(cp.c[i]))
			return 0;
	return 1;
}

/* Keys that make no sense for the rule's type. */
static int
check_type(struct parser *p, const struct layout_rule *r, unsigned int seen)
{
	static const int dironly[] = { P_SETGID, P_CREATE, P_DEFACL };
	size_t i;

	if (r->type == LAYOUT_DIR) {
		if (seen & (1u << P_SAMPLE))
			return perr(p, "sample: only for files");
		return 0;
	}
	for (i = 0; i < sizeof(dironly) / sizeof(dironly[0]); i++)
		if (seen & (1u << dironly[i]))
			return perr(p, "%s: only for directories",
			    path_keys[dironly[i]].name);
	/* Never add x to files, never stamp set-id bits on them. */
	if (r->mode.has_mode && (r->mode.mode & MODE_FILE_NEVER))
		return perr(p, "mode: files never get execute or set-id bits");
	if (r->mode.require & MODE_FILE_NEVER)
		return perr(
		    p, "require: files never get execute or set-id bits");
	return 0;
}

/* Keys that contradict each other, or need a literal pattern. */
static int
check_rule(struct parser *p, const struct layout_rule *r, unsigned int seen)
{
	const struct moderule *m = &r->mode;
	int r2;

	if ((r2 = check_type(p, r, seen)) < 0)
		return r2;
	if (m->has_mode && (seen & (1u << P_REQUIRE)))
		return perr(p, "require: cannot be combined with mode");
	if (m->has_mode && (seen & (1u << P_FORBID)))
		return perr(p, "forbid: cannot be combined with mode");
	if (m->require & m->forbid)
		return perr(p, "forbid: overlaps require");
	if (m->setgid && (m->forbid & S_ISGID))
		return perr(p, "setgid: conflicts with forbid");
	if (r->noacl && r->default_acl[0] != '\0')
		return perr(p, "noacl: conflicts with default-acl");
	/* Only a named path can be created or installed. */
	if (r->create && !pattern_literal(r->pattern))
		return perr(p, "create: needs a pattern without globs");
	if (r->sample[0] != '\0' && !pattern_literal(r->pattern))
		return perr(p, "sample: needs a pattern without globs");
	return 0;
}

static int
check_pattern(struct parser *p, const char *s)
{
	struct layout_comps cp;
	size_t i;

	if (s[0] != '/')
		return perr(p, "path: pattern '%s' is not absolute", s);
	if (strlen(s) >= sizeof(((struct layout_rule *)NULL)->pattern))
		return perr(p, "path: pattern too long");
	for (i = 1; s[i] != '\0'; i++)
		if (s[i] == '/' && (s[i - 1] == '/' || s[i + 1] == '\0'))
			return perr(p, "path: empty component in '%s'", s);
	if (layout_comps_split(s, &cp) != 0)
		return perr(p, "path: '.' or '..' component in '%s'", s);
	return 0;
}

static int
parse_path(struct parser *p, char **tok, size_t ntok)
{
	struct layout *l = p->l;
	struct layout_rule *r, *nr;
	unsigned int seen = 0;
	const char *val;
	size_t i;
	int k, rc;

	if (p->account_line == 0)
		return perr(p, "path: the account line must come first");
	if (ntok < 3)
		return perr(
		    p, "path: expected 'path PATTERN dir|file [key...]'");
	if ((rc = check_pattern(p, tok[1])) < 0)
		return rc;
	if (strcmp(tok[2], "dir") != 0 && strcmp(tok[2], "file") != 0)
		return perr(
		    p, "path: type must be 'dir' or 'file', not '%s'", tok[2]);
	if (l->nrules == p->cap) {
		if (p->cap >= LAYOUT_MAX_RULES)
			return perr(
			    p, "path: more than %d rules", LAYOUT_MAX_RULES);
		nr = reallocarray(l->rules, p->cap + 16, sizeof(*nr));
		if (nr == NULL)
			return -ENOMEM;
		l->rules = nr;
		p->cap += 16;
	}
	r = &l->rules[l->nrules];
	memset(r, 0, sizeof(*r));
	r->line = p->line;
	r->type = tok[2][0] == 'd' ? LAYOUT_DIR : LAYOUT_FILE;
	if (strlcpy(r->pattern, tok[1], sizeof(r->pattern)) >=
	    sizeof(r->pattern))
		return perr(p, "path: pattern too long");
	for (i = 3; i < ntok; i++) {
		if ((k = key_lookup(
			 p, path_keys, P_NKEYS, tok[i], &seen, &val)) < 0)
			return k;
		if ((rc = parse_path_key(p, r, k, val)) < 0)
			return rc;
	}
	if ((rc = check_rule(p, r, seen)) < 0)
		return rc;
	/* Same pattern twice: one of them is a mistake; say which. */
	for (i = 0; i < l->nrules; i++)
		if (l->rules[i].type == r->type &&
		    strcmp(l->rules[i].pattern, r->pattern) == 0)
			return perr(
			    p, "path: duplicate of line %zu", l->rules[i].line);
	l->nrules++;
	return 0;
}

/* Splits s in place at blanks; a token starting with '#' ends the line. */
static size_t
tokenize(char *s, char **tok, size_t max)
{
	size_t n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '\0' || *s == '#')
			return n;
		if (n == max)
			return max + 1;
		tok[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
}

static int
parse_line(struct parser *p, const char *text, size_t len)
{
	char buf[LAYOUT_MAX_LINE + 1], *tok[MAXTOK];
	size_t i, ntok;

	if (len > LAYOUT_MAX_LINE)
		return perr(p, "line: longer than %d bytes", LAYOUT_MAX_LINE);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(p, "line: control character 0x%02x", c);
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if ((ntok = tokenize(buf, tok, MAXTOK)) > MAXTOK)
		return perr(p, "line: more than %d fields", MAXTOK);
	if (ntok == 0)
		return 0;
	if (strcmp(tok[0], "account") == 0)
		return parse_account(p, tok, ntok);
	if (strcmp(tok[0], "path") == 0)
		return parse_path(p, tok, ntok);
	return perr(p, "%s: unknown keyword", tok[0]);
}

int
layout_parse(const char *text, size_t len, const char *fname,
    struct layout **out, struct layout_error *err)
{
	struct parser p;
	const char *nl;
	size_t off, linelen;
	int r = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	/* A diagnostic: truncating the name is harmless. */
	(void)strlcpy(
	    err->file, fname != NULL ? fname : "(layout)", sizeof(err->file));
	memset(&p, 0, sizeof(p));
	p.err = err;
	if ((p.l = calloc(1, sizeof(*p.l))) == NULL)
		return -ENOMEM;
	for (off = 0; off < len && r == 0; off += linelen + 1) {
		p.line++;
		nl = memchr(text + off, '\n', len - off);
		linelen = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		r = parse_line(&p, text + off, linelen);
	}
	if (r == 0 && p.account_line == 0) {
		p.line = 0;
		r = perr(&p, "account: missing account line");
	}
	if (r == -ENOMEM)
		(void)snprintf(err->msg, sizeof(err->msg), "out of memory");
	if (r < 0) {
		layout_free(p.l);
		return r;
	}
	*out = p.l;
	return 0;
}

/*
 * Whoever can write the manifest, or replace it in its directory, chooses
 * the owners and modes root applies: like the relayd binary, it must be
 * root's (or ours) and writable by nobody else, its directory too.
 */
static int
layout_trusted(int dirfd, const struct stat *st, struct layout_error *err)
{
	struct stat dst;
	const char *what = NULL;

	if (st->st_mode & S_IWOTH)
		what = "world-writable, refusing it (chmod o-w)";
	else if (st->st_mode & S_IWGRP)
		what = "group-writable, refusing it (chmod g-w)";
	else if (st->st_uid != 0 && st->st_uid != geteuid())
		what = "owned by another user, refusing it (chown root)";
	else if (dirfd != AT_FDCWD && fstat(dirfd, &dst) == 0 &&
	    ((dst.st_mode & (S_IWGRP | S_IWOTH)) ||
		(dst.st_uid != 0 && dst.st_uid != geteuid())))
		what = "its directory is writable by others than its owner "
		       "or not root's, refusing it";
	if (what == NULL)
		return 0;
	(void)snprintf(err->msg, sizeof(err->msg), "%s", what);
	return -EPERM;
}

int
layout_load(
    int dirfd, const char *path, struct layout **out, struct layout_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	(void)strlcpy(err->file, path, sizeof(err->file)); /* diagnostic */
	r = readfile_at(dirfd, path, LAYOUT_MAX_SIZE, &buf, &len, &st);
	if (r == -EFBIG)
		(void)snprintf(err->msg, sizeof(err->msg),
		    "larger than %d bytes", LAYOUT_MAX_SIZE);
	else if (r == -EINVAL)
		(void)snprintf(
		    err->msg, sizeof(err->msg), "%s", readfile_strerror(r));
	else if (r < 0)
		(void)snprintf(err->msg, sizeof(err->msg), "cannot read: %s",
		    readfile_strerror(r));
	if (r < 0)
		goto out;
	if ((r = layout_trusted(dirfd, &st, err)) < 0)
		goto out;
	r = layout_parse(buf, len, path, out, err);
out:
	free(buf);
	return r;
}

void
layout_free(struct layout *l)
{
	if (l == NULL)
		return;
	free(l->rules);
	free(l);
}

void
layout_error_format(const struct layout_error *e, char *buf, size_t len)
{
	char line[32] = "";

	if (e->line > 0)
		(void)snprintf(line, sizeof(line), ":%zu", e->line);
	(void)snprintf(buf, len, "%s%s: %s", e->file, line, e->msg);
}
