/*
 * The manifest's path matcher: rule patterns against clean absolute paths,
 * component by component with fnmatch(3) and "**".  Paths come from the
 * tree being walked (possibly hostile names), so "." and ".." never match
 * and "**" runs as an NFA, never exponential backtracking.
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "layout.h"

/*
 * Splits an absolute path into components.  Refuses relative paths, empty
 * components ("//", trailing '/') and "." or "..": a rule about /etc/mail
 * must never be matched by /etc/mail/../shadow.
 */
int
layout_comps_split(const char *path, struct layout_comps *cp)
{
	char *s, *slash;

	cp->n = 0;
	if (path[0] != '/')
		return -EINVAL;
	if (strlcpy(cp->buf, path, sizeof(cp->buf)) >= sizeof(cp->buf))
		return -ENAMETOOLONG;
	if (path[1] == '\0')
		return 0;
	for (s = cp->buf + 1; s != NULL; s = slash) {
		if ((slash = strchr(s, '/')) != NULL)
			*slash++ = '\0';
		if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
			return -EINVAL;
		cp->c[cp->n++] = s;
	}
	return 0;
}

static int
is_globstar(const char *c)
{
	return strcmp(c, "**") == 0;
}

/* Glob-free: no fnmatch(3) special character (a '\\' counts as one). */
int
layout_is_literal_comp(const char *c)
{
	return strpbrk(c, "*?[\\") == NULL;
}

/* A "**" at a reachable position may also match zero components. */
static void
nfa_close(const struct layout_comps *pat, unsigned char *st)
{
	size_t i;

	for (i = 0; i < pat->n; i++)
		if (st[i] && is_globstar(pat->c[i]))
			st[i + 1] = 1;
}

/*
 * Runs pattern pat over path as a set of positions (an NFA), so "**"
 * costs O(components^2) at worst, never exponential backtracking.  st
 * (pat->n + 1 entries) ends holding the positions reached; returns 0 when
 * none is.
 */
static int
nfa_run(const struct layout_comps *pat, const struct layout_comps *path,
    unsigned char *st)
{
	unsigned char next[LAYOUT_MAXCOMP + 1];
	size_t i, j;
	int any;

	memset(st, 0, pat->n + 1);
	st[0] = 1;
	nfa_close(pat, st);
	for (j = 0; j < path->n; j++) {
		memset(next, 0, pat->n + 1);
		any = 0;
		for (i = 0; i < pat->n; i++) {
			if (!st[i])
				continue;
			if (is_globstar(pat->c[i]))
				next[i] = any = 1;
			else if (fnmatch(pat->c[i], path->c[j], 0) == 0)
				next[i + 1] = any = 1;
		}
		if (!any)
			return 0;
		nfa_close(pat, next);
		memcpy(st, next, pat->n + 1);
	}
	return 1;
}

const struct layout_rule *
layout_match(const struct layout *l, const char *path, enum layout_type type)
{
	struct layout_comps pc, rc;
	unsigned char st[LAYOUT_MAXCOMP + 1];
	size_t i;

	if (layout_comps_split(path, &pc) != 0)
		return NULL;
	for (i = l->nrules; i-- > 0;) {
		if (l->rules[i].type != type ||
		    layout_comps_split(l->rules[i].pattern, &rc) != 0)
			continue;
		if (nfa_run(&rc, &pc, st) && st[rc.n])
			return &l->rules[i];
	}
	return NULL;
}

int
layout_may_descend(const struct layout *l, const char *dirpath)
{
	struct layout_comps pc, rc;
	unsigned char st[LAYOUT_MAXCOMP + 1];
	size_t i, k;

	if (layout_comps_split(dirpath, &pc) != 0)
		return 0;
	for (i = 0; i < l->nrules; i++) {
		if (layout_comps_split(l->rules[i].pattern, &rc) != 0 ||
		    !nfa_run(&rc, &pc, st))
			continue;
		/* A position short of the end can consume one more. */
		for (k = 0; k < rc.n; k++)
			if (st[k])
				return 1;
	}
	return 0;
}

int
layout_is_literal(const struct layout *l, const char *path)
{
	struct layout_comps pc, rc;
	size_t i, k;

	if (layout_comps_split(path, &pc) != 0)
		return 0;
	for (i = 0; i < l->nrules; i++) {
		if (strcmp(l->rules[i].pattern, path) == 0)
			return 1;
		if (layout_comps_split(l->rules[i].pattern, &rc) != 0 ||
		    pc.n > rc.n)
			continue;
		for (k = 0; k < pc.n; k++)
			if (!layout_is_literal_comp(rc.c[k]) ||
			    strcmp(rc.c[k], pc.c[k]) != 0)
				break;
		if (k == pc.n)
			return 1;
	}
	return 0;
}
