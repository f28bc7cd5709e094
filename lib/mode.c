/*
 * Permission-bit rules of the manifest.  Pure functions over mode_t: the
 * strings come from the manifest (trusted, root-owned) but are still
 * validated strictly, since a typo here would change modes as root.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mode.h"

int
mode_parse_octal(const char *s, mode_t *out)
{
	mode_t m = 0;
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 4 || s[i] < '0' || s[i] > '7')
			return -EINVAL;
		m = (m << 3) | (mode_t)(s[i] - '0');
	}
	if (i == 0)
		return -EINVAL;
	*out = m;
	return 0;
}

/* The bits one clause "who+perms" sets; -EINVAL for anything else. */
static int
parse_clause(const char *s, size_t len, mode_t *out)
{
	int u = 0, g = 0, o = 0;
	mode_t rwx = 0, m = 0;
	size_t i = 0;

	for (; i < len && strchr("ugoa", s[i]) != NULL; i++) {
		u |= s[i] == 'u' || s[i] == 'a';
		g |= s[i] == 'g' || s[i] == 'a';
		o |= s[i] == 'o' || s[i] == 'a';
	}
	if (i == 0 || i >= len || s[i] != '+' || ++i == len)
		return -EINVAL;
	for (; i < len; i++) {
		switch (s[i]) {
		case 'r':
			rwx |= 4;
			break;
		case 'w':
			rwx |= 2;
			break;
		case 'x':
			rwx |= 1;
			break;
		case 's':
			/* "o+s" sets nothing in chmod: refuse the no-op. */
			if (!u && !g)
				return -EINVAL;
			m |= (u ? S_ISUID : 0) | (g ? S_ISGID : 0);
			break;
		case 't':
			m |= S_ISVTX;
			break;
		default:
			return -EINVAL;
		}
	}
	m |= (u ? rwx << 6 : 0) | (g ? rwx << 3 : 0) | (o ? rwx : 0);
	*out = m;
	return 0;
}

int
mode_parse_symbolic(const char *s, mode_t *out)
{
	mode_t m = 0, part;
	const char *comma;
	size_t len;
	int r;

	for (;;) {
		comma = strchr(s, ',');
		len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if ((r = parse_clause(s, len, &part)) < 0)
			return r;
		m |= part;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	*out = m;
	return 0;
}

mode_t
mode_desired(const struct moderule *r, mode_t cur, int isdir)
{
	mode_t m, require = r->require;

	if (r->has_mode)
		m = r->mode;
	else {
		/* chmod -R g+rX: files never gain x or set-id bits. */
		if (!isdir)
			require &= ~MODE_FILE_NEVER;
		m = (cur | require) & ~r->forbid;
	}
	if (isdir && r->setgid)
		m |= S_ISGID;
	return m & 07777;
}

int
mode_format(mode_t m, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%04o", (unsigned int)(m & 07777));
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int
mode_format_symbolic(mode_t m, int isdir, char *buf, size_t len)
{
	static const char rwx[] = "rwxrwxrwx";
	char s[11];
	int i;

	if (len < sizeof(s))
		return -ENAMETOOLONG;
	s[0] = isdir ? 'd' : '-';
	for (i = 0; i < 9; i++)
		s[i + 1] = (m & (0400 >> i)) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = (m & S_IXUSR) ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = (m & S_IXGRP) ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = (m & S_IXOTH) ? 't' : 'T';
	s[10] = '\0';
	memcpy(buf, s, sizeof(s));
	return 0;
}

int
mode_format_plus(mode_t m, char *buf, size_t len)
{
	static const char who[] = "ugo";
	static const mode_t special[] = { S_ISUID, S_ISGID, S_ISVTX };
	char s[32];
	size_t n = 0;
	mode_t bits;
	int i;

	for (i = 0; i < 3; i++) {
		bits = (m >> (6 - 3 * i)) & 7;
		if (bits == 0 && !(m & special[i]))
			continue;
		if (n > 0)
			s[n++] = ',';
		s[n++] = who[i];
		s[n++] = '+';
		if (bits & 4)
			s[n++] = 'r';
		if (bits & 2)
			s[n++] = 'w';
		if (bits & 1)
			s[n++] = 'x';
		if (m & special[i])
			s[n++] = i == 2 ? 't' : 's';
	}
	s[n] = '\0';
	if (strlcpy(buf, s, len) >= len)
		return -ENAMETOOLONG;
	return 0;
}
