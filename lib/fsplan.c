/*
 * fsplan: compare the managed paths under a root with the layout and fix
 * them.  Runs as root over trees the relay user can write, so every object
 * is reached through walk.c's no-follow fds and changed only through that
 * fd; symlinks, hard links, foreign owners and odd file types are reported
 * as unsafe and left alone (CVE-2017-18078, CVE-2018-6954).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aclfix.h"
#include "fsfix.h"
#include "fsplan.h"
#include "mode.h"
#include "walk.h"

/* Record what failed for the caller's message; returns r. */
int
fsplan_fail(struct fsplan *f, int r, const char *what, const char *path)
{
	snprintf(
	    f->err, sizeof(f->err), "%s '%s': %s", what, path, strerror(-r));
	return r;
}

static int
unsafe(struct fsplan *f, const char *id, const char *path, const char *why)
{
	return plan_add(f->plan, PLAN_UNSAFE, id, path, "", why);
}

/* "" keeps the current id; "@user"/"@group" is the relay account. */
static int
want_uid(const struct fsplan *f, const char *name, uid_t cur, uid_t *out)
{
	struct account_user pw;

	if (name[0] == '\0')
		*out = cur;
	else if (strcmp(name, "@user") == 0)
		*out = f->uid;
	else if (accountdb_user_by_name(f->db, name, &pw) == 0)
		*out = pw.uid;
	else if (strcmp(name, "root") == 0)
		*out = 0;
	else
		return -ENOENT;
	return 0;
}

static int
want_gid(const struct fsplan *f, const char *name, gid_t cur, gid_t *out)
{
	struct account_group gr;

	if (name[0] == '\0')
		*out = cur;
	else if (strcmp(name, "@group") == 0)
		*out = f->gid;
	else if (accountdb_group_by_name(f->db, name, &gr) == 0)
		*out = gr.gid;
	else if (strcmp(name, "root") == 0)
		*out = 0;
	else
		return -ENOENT;
	return 0;
}

void
fsplan_owner_text(
    const struct fsplan *f, uid_t uid, gid_t gid, char *buf, size_t len)
{
	struct account_user pw;
	struct account_group gr;
	char u[64], g[64];

	if (accountdb_user_by_uid(f->db, uid, &pw) == 0)
		snprintf(u, sizeof(u), "%s", pw.name);
	else
		snprintf(u, sizeof(u), "%lu", (unsigned long)uid);
	if (accountdb_group_by_gid(f->db, gid, &gr) == 0)
		snprintf(g, sizeof(g), "%s", gr.name);
	else
		snprintf(g, sizeof(g), "%lu", (unsigned long)gid);
	snprintf(buf, len, "%s:%s", u, g);
}

int
fsplan_rule_ids(struct fsplan *f, const struct layout_rule *r, uid_t cu,
    gid_t cg, uid_t *uid, gid_t *gid)
{
	char what[64];

	if (want_uid(f, r->owner, cu, uid) < 0) {
		snprintf(
		    what, sizeof(what), "unknown owner '%s' for", r->owner);
		return fsplan_fail(f, -ENOENT, what, r->pattern);
	}
	if (want_gid(f, r->group, cg, gid) < 0) {
		snprintf(
		    what, sizeof(what), "unknown group '%s' for", r->group);
		return fsplan_fail(f, -ENOENT, what, r->pattern);
	}
	return 0;
}

/* The default ACL a rule asks for: "@group:rX" or "NAME:perms". */
static int
rule_acl(struct fsplan *f, const struct layout_rule *r, gid_t *gid,
    mode_t *perms, const char **permtext)
{
	char name[64], *colon;
	int capx;

	if (strlcpy(name, r->default_acl, sizeof(name)) >= sizeof(name) ||
	    (colon = strrchr(name, ':')) == NULL)
		return fsplan_fail(
		    f, -EINVAL, "bad default-acl for", r->pattern);
	*colon = '\0';
	if (want_gid(f, name, 0, gid) < 0 ||
	    aclfix_parse_perms(colon + 1, perms, &capx) < 0)
		return fsplan_fail(
		    f, -EINVAL, "bad default-acl for", r->pattern);
	*permtext = r->default_acl + (colon + 1 - name);
	return 0;
}

static int
fix_acl(struct fsplan *f, const struct walk_entry *e,
    const struct layout_rule *r, mode_t mode)
{
	struct aclfix_state as;
	char after[192], who[96];
	const char *permtext;
	mode_t perms;
	gid_t gid;
	int rc;

	if (r->noacl) {
		if ((rc = aclfix_inspect(e->fd, &as)) < 0)
			return fsplan_fail(
			    f, rc, "cannot read ACL of", e->path);
		if (as.supported && (as.access_extended || as.has_default)) {
			rc = plan_add(f->plan, PLAN_ACTION, "acl", e->path,
			    "extended", "none");
			if (rc < 0)
				return rc;
			if (f->apply && (rc = aclfix_strip(e->fd, mode)) < 0)
				return fsplan_fail(
				    f, rc, "cannot strip ACL of", e->path);
		}
	}
	if (r->default_acl[0] == '\0' || !S_ISDIR(e->st.st_mode))
		return 0;
	if ((rc = rule_acl(f, r, &gid, &perms, &permtext)) < 0)
		return rc;
	if ((rc = aclfix_inspect_group(e->fd, gid, perms, &as)) < 0)
		return fsplan_fail(f, rc, "cannot read ACL of", e->path);
	if (!as.supported || as.default_group_ok)
		return 0;
	fsplan_owner_text(f, 0, gid, who, sizeof(who));
	snprintf(after, sizeof(after), "default:group:%s:%s",
	    strchr(who, ':') + 1, permtext);
	rc = plan_add(f->plan, PLAN_ACTION, "acl", e->path,
	    as.has_default ? "default other" : "none", after);
	if (rc < 0)
		return rc;
	if (f->apply &&
	    (rc = aclfix_set_default_group(e->fd, gid, perms, mode)) < 0)
		return fsplan_fail(f, rc, "cannot set default ACL on", e->path);
	return 0;
}

static int
fix_object(
    struct fsplan *f, const struct walk_entry *e, const struct layout_rule *r)
{
	char before[96], after[96], why[192];
	mode_t cur = e->st.st_mode & 07777, want;
	uid_t uid;
	gid_t gid;
	int rc;

	if ((rc = fsplan_rule_ids(
		 f, r, e->st.st_uid, e->st.st_gid, &uid, &gid)) < 0)
		return rc;
	/* Someone else's file where root or the relay expects its own. */
	if (e->st.st_uid != uid && e->st.st_uid != 0) {
		snprintf(why, sizeof(why),
		    "owned by UID %lu, expected %lu; "
		    "not changed",
		    (unsigned long)e->st.st_uid, (unsigned long)uid);
		return unsafe(f, "path.owner", e->path, why);
	}
	want = mode_desired(&r->mode, cur, S_ISDIR(e->st.st_mode));
	if (e->st.st_uid != uid || e->st.st_gid != gid) {
		fsplan_owner_text(
		    f, e->st.st_uid, e->st.st_gid, before, sizeof(before));
		fsplan_owner_text(f, uid, gid, after, sizeof(after));
		rc = plan_add(
		    f->plan, PLAN_ACTION, "chown", e->path, before, after);
		if (rc < 0)
			return rc;
	}
	if (want != cur) {
		mode_format(cur, before, sizeof(before));
		mode_format(want, after, sizeof(after));
		rc = plan_add(
		    f->plan, PLAN_ACTION, "chmod", e->path, before, after);
		if (rc < 0)
			return rc;
	}
	if (f->apply &&
	    (want != cur || e->st.st_uid != uid || e->st.st_gid != gid) &&
	    (rc = fsfix_owner_mode(e->fd, &e->st, uid, gid, want)) < 0)
		return fsplan_fail(f, rc, "cannot change", e->path);
	return fix_acl(f, e, r, want);
}

/* Symlinks and odd types are never followed; in strict areas, unsafe. */
static int
odd_object(
    struct fsplan *f, const struct walk_entry *e, const struct layout_rule *r)
{
	if (!r->strict)
		return 0;
	/* The target is the relay's text: not followed, not printed. */
	if (S_ISLNK(e->st.st_mode))
		return unsafe(
		    f, "path.symlink", e->path, "symlink, not followed");
	return unsafe(f, "path.type", e->path,
	    S_ISFIFO(e->st.st_mode)       ? "fifo, not changed"
		: S_ISSOCK(e->st.st_mode) ? "socket, not changed"
					  : "device node, not changed");
}

static int
visit(const struct walk_entry *e, void *arg)
{
	struct fsplan *f = arg;
	const struct layout_rule *r;
	char why[64];

	if (S_ISDIR(e->st.st_mode))
		r = layout_match(f->layout, e->path, LAYOUT_DIR);
	else if (S_ISREG(e->st.st_mode))
		r = layout_match(f->layout, e->path, LAYOUT_FILE);
	else if ((r = layout_match(f->layout, e->path, LAYOUT_FILE)) == NULL)
		r = layout_match(f->layout, e->path, LAYOUT_DIR);
	if (r == NULL)
		return 0;
	if (!S_ISDIR(e->st.st_mode) && !S_ISREG(e->st.st_mode))
		return odd_object(f, e, r);
	/* A second name for a file: changing it changes something else. */
	if (!S_ISDIR(e->st.st_mode) && e->st.st_nlink > 1) {
		snprintf(why, sizeof(why), "%lu hard links, not changed",
		    (unsigned long)e->st.st_nlink);
		return unsafe(f, "path.hardlink", e->path, why);
	}
	return fix_object(f, e, r);
}

static int
descend(const char *path, const struct stat *st, int other_fs, void *arg)
{
	struct fsplan *f = arg;

	(void)st;
	if (!layout_may_descend(f->layout, path))
		return 0;
	/* Mount points are crossed only where the layout names them. */
	if (other_fs && !layout_is_literal(f->layout, path)) {
		unsafe(
		    f, "path.other-fs", path, "other filesystem, not walked");
		return 0;
	}
	return 1;
}

/* A subtree nobody could have made for us: report it, walk the rest. */
static int
skipped(const char *path, int err, void *arg)
{
	return unsafe(arg, "path.too-deep", path,
	    err == -ELOOP ? "more than 64 levels deep, not walked"
			  : "names longer than PATH_MAX inside, not walked");
}

int
fsplan_run(struct fsplan *f)
{
	struct walk_ops ops = { descend, visit, f, skipped };
	int r;

	f->err[0] = '\0';
	if ((r = fsplan_create(f)) < 0)
		return r;
	if ((r = walk_tree(f->rootfd, &ops)) < 0 && f->err[0] == '\0')
		fsplan_fail(f, r, "cannot walk", "/");
	return r;
}
