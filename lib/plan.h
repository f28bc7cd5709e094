/*
 * plan: the ordered list of changes setup would make (or made) and the
 * unsafe objects it leaves for a human.  Pure data, no I/O.
 */
#ifndef RELAY_PLAN_H
#define RELAY_PLAN_H

#include <limits.h>
#include <stddef.h>

enum plan_kind {
	PLAN_ACTION, /* a change: action is "chmod", "add-user", ... */
	PLAN_UNSAFE /* left alone: action is a finding id, after the reason */
};

struct plan_item {
	enum plan_kind kind;
	char action[32];
	char path[PATH_MAX];
	char before[192];
	char after[192];
};

struct plan {
	struct plan_item *items;
	size_t n, cap;
	size_t nactions, nunsafe;
};

int plan_add(struct plan *p, enum plan_kind kind, const char *action,
    const char *path, const char *before, const char *after);
void plan_free(struct plan *p);

#endif
