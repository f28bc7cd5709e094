/*
 * fsplan: the filesystem half of setup.  Walks the managed paths of a root
 * through no-follow fds, compares each object with its layout rule and
 * records (and, when asked, applies) the changes; unsafe objects are
 * reported and never changed.
 */
#ifndef RELAY_FSPLAN_H
#define RELAY_FSPLAN_H

#include <sys/types.h>

#include <limits.h>

#include "accountdb.h"
#include "layout.h"
#include "plan.h"

struct fsplan {
	int rootfd; /* O_PATH directory fd of the root */
	int datafd; /* directory holding the samples */
	int dataerr; /* -errno of opening it when datafd < 0, or 0 */
	const char *datadir; /* its name, for messages */
	const struct layout *layout;
	const struct accountdb *db; /* the root's own accounts, for names */
	const char *user; /* relay account and group name */
	uid_t uid;
	gid_t gid;
	int apply; /* 0: plan only */
	struct plan *plan;
	/* What failed (with a whole path), when fsplan_run fails. */
	char err[PATH_MAX + 256];
};

int fsplan_run(struct fsplan *f);

/* Shared by fsplan.c and fscreate.c (one module in two files). */
int fsplan_create(struct fsplan *f);
int fsplan_fail(struct fsplan *f, int r, const char *what, const char *path);
int fsplan_rule_ids(struct fsplan *f, const struct layout_rule *r, uid_t cu,
    gid_t cg, uid_t *uid, gid_t *gid);
void fsplan_owner_text(
    const struct fsplan *f, uid_t uid, gid_t gid, char *buf, size_t len);

#endif
