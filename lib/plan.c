/*
 * plan: an append-only list of changes and unsafe findings.  setup prints
 * it before applying; check (later) reports the same items as findings.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* Length of s (NULL: ""), or -1 if it does not fit cap with its NUL. */
static ssize_t
field_len(const char *s, size_t cap)
{
	size_t n = s != NULL ? strnlen(s, cap) : 0;

	return n < cap ? (ssize_t)n : -1;
}

/* s (NULL: "") with its NUL at *at; returns where it starts. */
static const char *
put(char **at, const char *s, size_t n)
{
	char *start = *at;

	if (n > 0)
		memcpy(start, s, n);
	start[n] = '\0';
	*at += n + 1;
	return start;
}

int
plan_add(struct plan *p, enum plan_kind kind, const char *action,
    const char *path, const char *before, const char *after)
{
	struct plan_item *it;
	ssize_t na, np, nb, nf;
	char *at;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;

		it = reallocarray(p->items, cap, sizeof(*it));
		if (it == NULL)
			return -ENOMEM;
		p->items = it;
		p->cap = cap;
	}
	na = field_len(action, PLAN_ACTION_MAX);
	np = field_len(path, PLAN_PATH_MAX);
	nb = field_len(before, PLAN_TEXT_MAX);
	nf = field_len(after, PLAN_TEXT_MAX);
	if (na < 0 || np < 0 || nb < 0 || nf < 0)
		return -ENAMETOOLONG;
	it = &p->items[p->n];
	if ((it->text = malloc((size_t)(na + np + nb + nf) + 4)) == NULL)
		return -ENOMEM;
	at = it->text;
	it->kind = kind;
	it->action = put(&at, action, (size_t)na);
	it->path = put(&at, path, (size_t)np);
	it->before = put(&at, before, (size_t)nb);
	it->after = put(&at, after, (size_t)nf);
	p->n++;
	if (kind == PLAN_ACTION)
		p->nactions++;
	else
		p->nunsafe++;
	return 0;
}

void
plan_free(struct plan *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->items[i].text);
	free(p->items);
	memset(p, 0, sizeof(*p));
}
