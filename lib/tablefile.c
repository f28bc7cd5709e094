/*
 * Root-read tables (tablefile.h). Whoever can write such a file decides
 * who may relay or log in; whoever can read a secret one may guess the
 * passwords offline. So the owner and mode are checked on the fd that was
 * read, never by name afterwards.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"
#include "tablefile.h"

static const char *
untrusted(const struct stat *st, enum tablefile_kind kind)
{
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return kind == TABLEFILE_SECRET
		    ? "not owned by root (want root:root 0600)"
		    : "not owned by root";
	if (kind == TABLEFILE_SECRET && (st->st_mode & (S_IRWXG | S_IRWXO)))
		return "group or others may access it (want root:root 0600)";
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return "writable by group or others (chmod go-w)";
	return NULL;
}

int
tablefile_read(int rootfd, const char *path, size_t max,
    enum tablefile_kind kind, char **bufp, size_t *lenp,
    struct config_error *err)
{
	const char *why;
	struct stat st;
	int rv;

	*bufp = NULL;
	*lenp = 0;
	memset(err, 0, sizeof(*err));
	if (path[0] == '\0')
		return 0;
	(void)strlcpy(err->file, path, sizeof(err->file)); /* display only */
	rv = readfile_at(rootfd, path, max, bufp, lenp, &st);
	if (rv == -EFBIG && max >= 1024 * 1024)
		(void)snprintf(err->msg, sizeof(err->msg),
		    "bigger than %zu MiB", max >> 20);
	else if (rv == -EFBIG)
		(void)snprintf(
		    err->msg, sizeof(err->msg), "bigger than %zu octets", max);
	else if (rv < 0)
		(void)snprintf(
		    err->msg, sizeof(err->msg), "%s", readfile_strerror(rv));
	else if ((why = untrusted(&st, kind)) != NULL) {
		(void)strlcpy(err->msg, why, sizeof(err->msg));
		rv = -EPERM;
	}
	if (rv < 0 && *bufp != NULL) {
		explicit_bzero(*bufp, *lenp);
		free(*bufp);
		*bufp = NULL;
		*lenp = 0;
	}
	return rv;
}

int
tablefile_err(struct config_error *err, size_t line, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap); /* cut is fine */
	va_end(ap);
	return -EINVAL;
}

int
tablefile_lines(char *text, size_t len, size_t max, tablefile_line_fn fn,
    void *arg, struct config_error *err)
{
	char *l = text, *end = text + len, *nl, *first;
	size_t lineno = 0, raw, n;
	int rv;

	for (; l < end; l += raw) {
		lineno++;
		nl = memchr(l, '\n', (size_t)(end - l));
		raw = nl != NULL ? (size_t)(nl - l) + 1 : (size_t)(end - l);
		if (raw > max)
			return tablefile_err(err, lineno,
			    "line too long (max %zu bytes)", max - 1);
		n = nl != NULL ? raw - 1 : raw;
		if (memchr(l, '\0', n) != NULL)
			return tablefile_err(err, lineno, "NUL byte in line");
		if (n > 0 && l[n - 1] == '\r')
			n--;
		l[n] = '\0'; /* the LF, the CR, or text[len] */
		first = l + strspn(l, " \t");
		if (*first == '\0' || *first == '#')
			continue;
		if ((rv = fn(arg, l, lineno, err)) != 0)
			return rv;
	}
	return 0;
}
