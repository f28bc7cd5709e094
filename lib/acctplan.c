/*
 * acctplan: the account half of setup.  Creates the relay group and user,
 * fixes an existing account's drift (primary group, home, shell, lock,
 * stray supplementary groups) and reports IDs shared with other names,
 * which only a human can untangle.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acctplan.h"

static int
add_group(struct accountdb *db, const char *user, gid_t gid, struct plan *plan)
{
	char after[192];
	int r;

	if ((r = accountdb_add_group(db, user, gid)) < 0)
		return r;
	snprintf(after, sizeof(after), "%s:x:%lu:", user, (unsigned long)gid);
	return plan_add(
	    plan, PLAN_ACTION, "add-group", "/etc/group", "", after);
}

static int
add_user(struct accountdb *db, const char *user,
    const struct layout_account *want, const struct id_choice *ids,
    struct plan *plan)
{
	char after[192];
	int r;

	r = accountdb_add_user(
	    db, user, ids->uid, ids->gid, "", want->home, want->shell);
	if (r < 0)
		return r;
	if ((size_t)snprintf(after, sizeof(after), "%s:x:%lu:%lu::%s:%s", user,
		(unsigned long)ids->uid, (unsigned long)ids->gid, want->home,
		want->shell) >= sizeof(after))
		return -ENAMETOOLONG;
	return plan_add(
	    plan, PLAN_ACTION, "add-user", "/etc/passwd", "", after);
}

/* Change one passwd field when it differs, recording before and after. */
static int
fix_field(struct accountdb *db, const char *user, const char *field,
    const char *cur, const char *want, struct plan *plan)
{
	char action[32];
	int r;

	if (strcmp(cur, want) == 0)
		return 0;
	if ((r = accountdb_set_user(db, user, field, want)) < 0)
		return r;
	snprintf(action, sizeof(action), "set-%s", field);
	return plan_add(plan, PLAN_ACTION, action, "/etc/passwd", cur, want);
}

static int
fix_user(struct accountdb *db, const char *user,
    const struct layout_account *want, const struct id_choice *ids,
    struct plan *plan)
{
	struct account_user pw;
	char cur[32], gid[32], home[PATH_MAX], shell[PATH_MAX];
	int r;

	if ((r = accountdb_user_by_name(db, user, &pw)) < 0)
		return r;
	/* Copies: set_user may invalidate the pointers in pw. */
	snprintf(cur, sizeof(cur), "%lu", (unsigned long)pw.gid);
	snprintf(gid, sizeof(gid), "%lu", (unsigned long)ids->gid);
	if (strlcpy(home, pw.home, sizeof(home)) >= sizeof(home) ||
	    strlcpy(shell, pw.shell, sizeof(shell)) >= sizeof(shell))
		return -ENAMETOOLONG;
	if ((r = fix_field(db, user, "gid", cur, gid, plan)) < 0 ||
	    (r = fix_field(db, user, "home", home, want->home, plan)) < 0 ||
	    (r = fix_field(db, user, "shell", shell, want->shell, plan)) < 0)
		return r;
	return 0;
}

static int
lock_user(struct accountdb *db, const char *user, struct plan *plan)
{
	int r;

	r = accountdb_password_locked(db, user);
	if (r == 1)
		return 0;
	if ((r = accountdb_lock_password(db, user)) < 0)
		return r;
	return plan_add(plan, PLAN_ACTION, "lock-password",
	    accountdb_has_shadow(db) ? "/etc/shadow" : "/etc/passwd",
	    "unlocked", "locked");
}

/* A relay account belongs to its own group only. */
static int
drop_memberships(struct accountdb *db, const char *user, struct plan *plan)
{
	struct account_group gr;
	char name[64];
	size_t i, j;
	int r;

	for (i = 0; i < accountdb_ngroups(db); i++) {
		if (accountdb_group_at(db, i, &gr) < 0)
			continue;
		for (j = 0; j < gr.nmembers; j++)
			if (strcmp(gr.members[j], user) == 0)
				break;
		if (j == gr.nmembers)
			continue;
		if (strlcpy(name, gr.name, sizeof(name)) >= sizeof(name))
			return -ENAMETOOLONG;
		if ((r = accountdb_remove_member(db, name, user)) < 0)
			return r;
		r = plan_add(
		    plan, PLAN_ACTION, "remove-member", "/etc/group", name, "");
		if (r < 0)
			return r;
	}
	return 0;
}

/* Another name on our uid or gid: whatever it owns is ours too. */
static int
shared_ids(struct accountdb *db, const char *user, const struct id_choice *ids,
    struct plan *plan)
{
	struct account_user pw;
	struct account_group gr;
	char why[192];
	size_t i;
	int r;

	for (i = 0; i < accountdb_nusers(db); i++) {
		if (accountdb_user_at(db, i, &pw) < 0 || pw.uid != ids->uid ||
		    strcmp(pw.name, user) == 0)
			continue;
		snprintf(why, sizeof(why), "UID %lu is also user '%s'",
		    (unsigned long)ids->uid, pw.name);
		r = plan_add(plan, PLAN_UNSAFE, "account.shared-id",
		    "/etc/passwd", "", why);
		if (r < 0)
			return r;
	}
	for (i = 0; i < accountdb_ngroups(db); i++) {
		if (accountdb_group_at(db, i, &gr) < 0 || gr.gid != ids->gid ||
		    strcmp(gr.name, user) == 0)
			continue;
		snprintf(why, sizeof(why), "GID %lu is also group '%s'",
		    (unsigned long)ids->gid, gr.name);
		r = plan_add(plan, PLAN_UNSAFE, "account.shared-id",
		    "/etc/group", "", why);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Half-written accounts (killed between two renames) converge too. */
static int
complete(struct accountdb *db, const char *user, struct plan *plan)
{
	int r;

	if ((r = accountdb_complete_gshadow(db, user)) < 0)
		return r;
	if (r == 1 &&
	    (r = plan_add(
		 plan, PLAN_ACTION, "add-group", "/etc/gshadow", "", user)) < 0)
		return r;
	if ((r = accountdb_complete_shadow(db, user)) < 0)
		return r;
	if (r == 1 &&
	    (r = plan_add(
		 plan, PLAN_ACTION, "add-user", "/etc/shadow", "", user)) < 0)
		return r;
	return 0;
}

int
acctplan_build(struct accountdb *db, const char *user,
    const struct layout_account *want, const struct id_choice *ids,
    struct plan *plan)
{
	int r;

	if (!ids->group_exists && (r = add_group(db, user, ids->gid, plan)) < 0)
		return r;
	if (!ids->user_exists)
		r = add_user(db, user, want, ids, plan);
	else
		r = fix_user(db, user, want, ids, plan);
	if (r < 0)
		return r;
	if ((r = complete(db, user, plan)) < 0)
		return r;
	if (want->locked && (r = lock_user(db, user, plan)) < 0)
		return r;
	if ((r = drop_memberships(db, user, plan)) < 0)
		return r;
	return shared_ids(db, user, ids, plan);
}
