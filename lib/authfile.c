/*
 * Smarthost credentials file.  Trust boundary: the file holds a password
 * for another system, so only root may read it; the reader refuses any
 * looser mode rather than use a secret others may have seen.  Every copy
 * of the text is wiped before it is freed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authfile.h"
#include "tablefile.h"

static int __attribute__((format(printf, 4, 5)))
af_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap); /* a cut message is fine */
	va_end(ap);
	return -e;
}

/* A field: 1..AUTHFILE_FIELD_MAX octets, no control character. */
static int
af_field(const char *s, size_t n, char *dst)
{
	size_t i;

	if (n == 0 || n > AUTHFILE_FIELD_MAX)
		return -1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* One "user password" or "user:password" line (no line end). */
static int
af_line(const char *s, size_t n, struct authfile *a)
{
	size_t u = 0, p;

	while (u < n && s[u] != ' ' && s[u] != '\t' && s[u] != ':')
		u++;
	if (u >= n)
		return -1;
	p = u + 1;
	if (s[u] != ':')
		while (p < n && (s[p] == ' ' || s[p] == '\t'))
			p++;
	while (n > p && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (af_field(s, u, a->user) != 0 || af_field(s + p, n - p, a->pass))
		return -1;
	return 0;
}

/* Empty, only blanks, or a comment. */
static int
af_blank(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == n || s[0] == '#';
}

int
authfile_parse(
    const char *text, size_t len, struct authfile *a, char *err, size_t errlen)
{
	const char *s = text, *end = text + len, *nl;
	size_t n, line = 0, found = 0;

	memset(a, 0, sizeof(*a));
	if (memchr(text, '\0', len) != NULL)
		return af_err(err, errlen, EINVAL, "NUL byte in the file");
	for (; s < end; s = nl + 1) {
		line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		n = (size_t)(nl - s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		if (af_blank(s, n))
			continue;
		if (found != 0) {
			explicit_bzero(a, sizeof(*a)); /* no half result */
			return af_err(err, errlen, EINVAL,
			    "line %zu: a second credentials line (line %zu "
			    "was the first)",
			    line, found);
		}
		if (af_line(s, n, a) != 0) {
			explicit_bzero(a, sizeof(*a));
			return af_err(err, errlen, EINVAL,
			    "line %zu: want 'user password' or "
			    "'user:password'",
			    line);
		}
		found = line;
	}
	if (found == 0)
		return af_err(err, errlen, EINVAL, "no credentials line");
	return 0;
}

int
authfile_load(int rootfd, const char *path, struct authfile **ap, char *err,
    size_t errlen)
{
	struct authfile *a = NULL;
	struct config_error ce;
	char *buf = NULL, why[200];
	size_t len = 0;
	int rv;

	*ap = NULL;
	rv = tablefile_read(
	    rootfd, path, AUTHFILE_FILE_MAX, TABLEFILE_SECRET, &buf, &len, &ce);
	if (rv < 0)
		return af_err(
		    err, errlen, -rv, "smarthost_auth '%s': %s", path, ce.msg);
	if ((a = malloc(sizeof(*a))) == NULL) {
		rv = af_err(err, errlen, ENOMEM, "out of memory");
		goto out;
	}
	if ((rv = authfile_parse(buf, len, a, why, sizeof(why))) < 0) {
		(void)af_err(
		    err, errlen, -rv, "smarthost_auth '%s': %s", path, why);
		goto out;
	}
	*ap = a;
	a = NULL;
out:
	authfile_free(a);
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	return rv;
}

void
authfile_free(struct authfile *a)
{
	if (a == NULL)
		return;
	explicit_bzero(a, sizeof(*a));
	free(a);
}
