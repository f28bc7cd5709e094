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

/* Field caps (with the NUL), as plan_add() enforces them. */
#define PLAN_ACTION_MAX 32
#define PLAN_PATH_MAX PATH_MAX
#define PLAN_TEXT_MAX 192 /* before, after */

/*
 * The four strings live in one allocation per item, only as long as they
 * are: a plan of a million files costs its text, not a million PATH_MAX
 * buffers (doc/design.md, Filesystem changes done as root).
 */
struct plan_item {
	enum plan_kind kind;
	const char *action, *path, *before, *after; /* never NULL */
	char *text; /* the allocation they point into */
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
