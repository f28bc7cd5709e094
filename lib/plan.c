/*
 * plan: an append-only list of changes and unsafe findings.  setup prints
 * it before applying; check (later) reports the same items as findings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static int
copy(char *dst, size_t len, const char *src)
{
	if (strlcpy(dst, src ? src : "", len) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int
plan_add(struct plan *p, enum plan_kind kind, const char *action,
    const char *path, const char *before, const char *after)
{
	struct plan_item *it;

	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;

		it = reallocarray(p->items, cap, sizeof(*it));
		if (it == NULL)
			return -ENOMEM;
		p->items = it;
		p->cap = cap;
	}
	it = &p->items[p->n];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	if (copy(it->action, sizeof(it->action), action) < 0 ||
	    copy(it->path, sizeof(it->path), path) < 0 ||
	    copy(it->before, sizeof(it->before), before) < 0 ||
	    copy(it->after, sizeof(it->after), after) < 0)
		return -ENAMETOOLONG;
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
	if (p == NULL)
		return;
	free(p->items);
	memset(p, 0, sizeof(*p));
}
