/*
 * The transport map (route_table.h): a sorted array of "domain nexthop"
 * entries and the next-hop syntax.  The file is admin input read by the
 * unprivileged runner: opened without following links, refused when
 * others may write it, parsed with a line cap; errors name FILE:LINE.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "readfile.h"
#include "route_table.h"

struct route_entry {
	char key[ROUTE_HOST_MAX + 2]; /* "example.org" or ".example.org" */
	char nexthop[ROUTE_NEXTHOP_MAX + 1]; /* "-": the usual route */
	int tls; /* enum config_tlsc from "tls=", -1 if not given */
	size_t line; /* for duplicate reports */
};

struct route_table {
	struct route_entry *e;
	size_t n;
};

int
route_domain_valid(const char *s)
{
	size_t n = strlen(s), label = 0, i;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

static int
route_parse_port(const char *s, unsigned short *port)
{
	unsigned long v = 0;

	if (*s == '\0' || strlen(s) > 5)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

static int
route_is_ip(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

int
route_nexthop_parse(const char *s, struct route_nexthop *nh, const char **why)
{
	char buf[ROUTE_NEXTHOP_MAX + 1], *host = buf, *p, *port = NULL;
	size_t i;

	memset(nh, 0, sizeof(*nh));
	nh->port = 25;
	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf)) {
		*why = "next hop too long";
		return -EINVAL;
	}
	if (buf[0] == '[') {
		if ((p = strchr(buf, ']')) == NULL) {
			*why = "missing ']'";
			return -EINVAL;
		}
		*p++ = '\0';
		host = buf + 1;
		nh->nomx = 1;
		if (*p == ':')
			port = p + 1;
		else if (*p != '\0') {
			*why = "junk after ']'";
			return -EINVAL;
		}
		if (strncasecmp(host, "ipv6:", 5) == 0)
			host += 5;
	} else if ((p = strchr(buf, ':')) != NULL) {
		*p = '\0';
		port = p + 1;
	}
	if (port != NULL && route_parse_port(port, &nh->port) != 0) {
		*why = "bad port";
		return -EINVAL;
	}
	for (i = 0; host[i] != '\0'; i++)
		host[i] = (char)tolower((unsigned char)host[i]);
	if (i > 0 && host[i - 1] == '.' && !route_is_ip(host))
		host[i - 1] = '\0';
	if (route_is_ip(host))
		nh->nomx = 1; /* an address has no MX; "10.0.0.1:25" means it */
	else if (!route_domain_valid(host) || (nh->nomx && strchr(host, ':'))) {
		*why = "bad host name";
		return -EINVAL;
	}
	if (strlcpy(nh->host, host, sizeof(nh->host)) >= sizeof(nh->host)) {
		*why = "host name too long";
		return -EINVAL;
	}
	return 0;
}

static int
route_entry_cmp(const void *a, const void *b)
{
	const struct route_entry *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static void route_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
route_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap); /* truncation is fine here */
	va_end(ap);
}

/* "tls=POLICY": the policy as an enum config_tlsc, or -1. */
static int
route_table_policy(const char *s)
{
	static const char *const names[] = { "none", "may", "encrypt", "verify",
		"wrapper" };
	size_t i;

	if (strncmp(s, "tls=", 4) != 0)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(s + 4, names[i]) == 0)
			return (int)i;
	return -1;
}

/* The optional third column; 0 or -EINVAL with *why. */
static int
route_table_options(
    struct route_entry *e, const char *opt, const char *more, const char **why)
{
	e->tls = -1;
	if (opt != NULL && opt[0] != '#') {
		if ((e->tls = route_table_policy(opt)) < 0) {
			*why = "want tls=none, may, encrypt, verify or wrapper";
			return -EINVAL;
		}
		if (more != NULL && more[0] != '#') {
			*why = "expected \"domain nexthop [tls=POLICY]\"";
			return -EINVAL;
		}
	}
	if (strcmp(e->nexthop, "-") == 0 && e->tls < 0) {
		*why = "a '-' next hop needs tls=POLICY";
		return -EINVAL;
	}
	if (strcmp(e->nexthop, "-") == 0 && e->tls == CONFIG_TLSC_WRAPPER) {
		*why = "tls=wrapper needs a next hop (\"[host]:465\")";
		return -EINVAL;
	}
	return 0;
}

/* One line without its LF, NUL-terminated, lower-cased in place. */
static int
route_table_line(struct route_table *t, size_t cap, char *line, size_t lineno,
    const char **why)
{
	char *key, *hop, *opt, *more, *save = NULL;
	struct route_nexthop nh;
	struct route_entry *e;
	size_t i;

	for (i = 0; line[i] != '\0'; i++)
		line[i] = (char)tolower((unsigned char)line[i]);
	if ((key = strtok_r(line, " \t", &save)) == NULL || key[0] == '#')
		return 0;
	hop = strtok_r(NULL, " \t", &save);
	opt = strtok_r(NULL, " \t", &save);
	more = opt != NULL ? strtok_r(NULL, " \t", &save) : NULL;
	if (hop == NULL || hop[0] == '#') {
		*why = "expected \"domain nexthop [tls=POLICY]\"";
		return -EINVAL;
	}
	if (!route_domain_valid(key[0] == '.' ? key + 1 : key)) {
		*why = "bad domain";
		return -EINVAL;
	}
	if (strcmp(hop, "-") != 0 && route_nexthop_parse(hop, &nh, why) != 0)
		return -EINVAL;
	if (t->n >= cap)
		return -ENOMEM; /* cap counts lines, cannot happen */
	e = &t->e[t->n];
	if (strlcpy(e->key, key, sizeof(e->key)) >= sizeof(e->key) ||
	    strlcpy(e->nexthop, hop, sizeof(e->nexthop)) >=
		sizeof(e->nexthop)) {
		*why = "entry too long";
		return -EINVAL;
	}
	if (route_table_options(e, opt, more, why) != 0)
		return -EINVAL;
	e->line = lineno;
	t->n++;
	return 0;
}

/* Duplicates are found after sorting; report the later line. */
static int
route_table_dups(
    const struct route_table *t, char *err, size_t errlen, const char *fname)
{
	const struct route_entry *a, *b;
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
		route_err(err, errlen,
		    "%s:%zu: duplicate entry for '%s' (first on line %zu)",
		    fname, b->line, b->key, a->line);
		return -EINVAL;
	}
	return 0;
}

int
route_table_parse(const char *buf, size_t len, const char *fname,
    struct route_table **out, char *err, size_t errlen)
{
	struct route_table *t = NULL;
	char line[ROUTE_TABLE_LINE_MAX + 1];
	const char *p = buf, *end = buf + len, *nl, *why = NULL;
	size_t cap = 1, lineno = 0, n;
	int rc = -ENOMEM;

	*out = NULL;
	route_err(err, errlen, "%s", "");
	if (len > ROUTE_TABLE_FILE_MAX)
		return -EFBIG;
	for (n = 0; n < len; n++)
		cap += buf[n] == '\n';
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->e = calloc(cap, sizeof(*t->e))) == NULL)
		goto out;
	for (; p < end; p = nl + 1) {
		lineno++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		rc = -EINVAL;
		if (n >= ROUTE_TABLE_LINE_MAX) {
			route_err(err, errlen, "%s:%zu: line too long", fname,
			    lineno);
			goto out;
		}
		if (memchr(p, '\0', n) != NULL) {
			route_err(
			    err, errlen, "%s:%zu: NUL octet", fname, lineno);
			goto out;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		if ((rc = route_table_line(t, cap, line, lineno, &why)) != 0) {
			route_err(err, errlen, "%s:%zu: %s", fname, lineno,
			    why != NULL ? why : "out of memory");
			goto out;
		}
	}
	qsort(t->e, t->n, sizeof(*t->e), route_entry_cmp);
	if ((rc = route_table_dups(t, err, errlen, fname)) != 0)
		goto out;
	*out = t;
	t = NULL;
	rc = 0;
out:
	route_table_free(t);
	return rc;
}

/* Whoever can write the table chooses where mail goes. */
static int
route_table_trusted(
    const struct stat *st, const char *path, char *err, size_t errlen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		route_err(err, errlen, "%s: not owned by root", path);
		return -EPERM;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		route_err(err, errlen,
		    "%s: writable by group or others (chmod go-w)", path);
		return -EPERM;
	}
	return 0;
}

/* The whole file, or -errno with err saying why. */
static int
route_table_read(int rootfd, const char *path, char **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	int rc;

	rc = readfile_at(rootfd, path, ROUTE_TABLE_FILE_MAX, buf, len, &st);
	if (rc == -EINVAL) {
		route_err(err, errlen, "%s: not a regular file", path);
		return -EPERM;
	}
	if (rc == -EFBIG)
		route_err(err, errlen, "%s: bigger than %d octets", path,
		    ROUTE_TABLE_FILE_MAX);
	else if (rc < 0)
		route_err(err, errlen, "%s: %s", path, readfile_strerror(rc));
	if (rc == 0 && (rc = route_table_trusted(&st, path, err, errlen)) < 0) {
		free(*buf);
		*buf = NULL;
	}
	return rc;
}

int
route_table_load(int rootfd, const char *path, struct route_table **out,
    char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	route_err(err, errlen, "%s", "");
	if (path[0] == '\0') {
		if ((*out = calloc(1, sizeof(**out))) == NULL)
			return -ENOMEM;
		return 0;
	}
	if ((rc = route_table_read(rootfd, path, &buf, &len, err, errlen)) != 0)
		goto out;
	rc = route_table_parse(buf, len, path, out, err, errlen);
	if (rc != 0 && errlen > 0 && err[0] == '\0')
		route_err(err, errlen, "%s: %s", path, strerror(-rc));
out:
	free(buf);
	return rc;
}

static const struct route_entry *
route_table_find(const struct route_table *t, const char *key)
{
	struct route_entry k = { 0 };

	if (strlcpy(k.key, key, sizeof(k.key)) >= sizeof(k.key))
		return NULL;
	return bsearch(&k, t->e, t->n, sizeof(*t->e), route_entry_cmp);
}

/* The most specific entry for domain, or NULL. */
static const struct route_entry *
route_table_match(const struct route_table *t, const char *domain)
{
	char d[ROUTE_HOST_MAX + 2];
	const struct route_entry *e;
	const char *p;
	size_t i, n;

	if (t == NULL || t->n == 0)
		return NULL;
	if ((n = strlcpy(d, domain, sizeof(d))) >= sizeof(d) || n == 0)
		return NULL;
	if (d[n - 1] == '.')
		d[--n] = '\0';
	for (i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)d[i]);
	e = n > 0 && d[0] != '.' ? route_table_find(t, d) : NULL;
	for (p = strchr(d, '.'); e == NULL && p != NULL; p = strchr(p + 1, '.'))
		e = route_table_find(t, p);
	return e;
}

int
route_table_lookup(
    const struct route_table *t, const char *domain, char *nexthop, size_t len)
{
	const struct route_entry *e = route_table_match(t, domain);

	if (e == NULL || strcmp(e->nexthop, "-") == 0)
		return 0;
	if (strlcpy(nexthop, e->nexthop, len) >= len)
		return -ENAMETOOLONG;
	return 1;
}

int
route_table_tls(const struct route_table *t, const char *domain)
{
	const struct route_entry *e = route_table_match(t, domain);

	return e == NULL ? -1 : e->tls;
}

size_t
route_table_count(const struct route_table *t)
{
	return t == NULL ? 0 : t->n;
}

void
route_table_free(struct route_table *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t);
}
