/*
 * The account database of a root directory: lookups and the few changes
 * relayctl makes (add a system user and group, fix passwd fields, lock a
 * password, drop group memberships), committed all at once.  File content
 * is untrusted input parsed by dbfile.c; names we write are validated here.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accountdb.h"
#include "dbfile.h"

enum { F_PASSWD, F_GROUP, F_SHADOW, F_GSHADOW, F_COUNT };

static const struct dbfile_spec specs[F_COUNT] = {
	[F_PASSWD] = { "passwd", 7, 2, 3, -1 },
	[F_GROUP] = { "group", 4, -1, 2, 3 },
	[F_SHADOW] = { "shadow", 9, -1, -1, -1 },
	[F_GSHADOW] = { "gshadow", 4, -1, -1, 3 },
};

struct accountdb {
	int etcfd;
	unsigned int lock_timeout_ms;
	struct dbfile f[F_COUNT];
};

static unsigned long
line_id(const struct dbline *l, int field)
{
	unsigned long id = 0;

	/* Validated at load or when written, so this cannot fail. */
	(void)dbfile_parse_id(l->fields[field], &id);
	return id;
}

static void
fill_user(const struct dbline *l, struct account_user *out)
{
	out->name = l->fields[0];
	out->uid = (uid_t)line_id(l, 2);
	out->gid = (gid_t)line_id(l, 3);
	out->gecos = l->fields[4];
	out->home = l->fields[5];
	out->shell = l->fields[6];
}

static void
fill_group(const struct dbline *l, struct account_group *out)
{
	out->name = l->fields[0];
	out->gid = (gid_t)line_id(l, 2);
	out->members = (const char *const *)l->list;
	out->nmembers = l->nlist;
}

int
accountdb_load(int rootfd, struct accountdb **dbp, struct db_error *err)
{
	struct db_error dummy;
	struct accountdb *db;
	int i, r;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	*dbp = NULL;
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return -ENOMEM;
	db->lock_timeout_ms = 15000;
	/* A real fd, not O_PATH: commit fsyncs the directory. */
	db->etcfd = openat(
	    rootfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (db->etcfd == -1) {
		r = -errno;
		strlcpy(err->file, "etc", sizeof(err->file));
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s",
		    strerror(-r));
		free(db);
		return r;
	}
	for (i = 0; i < F_COUNT; i++) {
		r = dbfile_load(
		    db->etcfd, &specs[i], i >= F_SHADOW, &db->f[i], err);
		if (r < 0) {
			accountdb_free(db);
			return r;
		}
	}
	*dbp = db;
	return 0;
}

void
accountdb_free(struct accountdb *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < F_COUNT; i++)
		dbfile_free(&db->f[i]);
	if (db->etcfd != -1)
		close(db->etcfd);
	free(db);
}

int
accountdb_user_by_name(
    const struct accountdb *db, const char *name, struct account_user *out)
{
	ssize_t li = dbfile_find(&db->f[F_PASSWD], name);

	if (li < 0)
		return -ENOENT;
	fill_user(&db->f[F_PASSWD].lines[li], out);
	return 0;
}

/* The first line with that id, as getpwuid(3) does. */
int
accountdb_user_by_uid(
    const struct accountdb *db, uid_t uid, struct account_user *out)
{
	const struct dbfile *f = &db->f[F_PASSWD];
	size_t i;

	for (i = 0; i < f->nent; i++)
		if (line_id(&f->lines[f->ent[i]], 2) == uid) {
			fill_user(&f->lines[f->ent[i]], out);
			return 0;
		}
	return -ENOENT;
}

int
accountdb_group_by_name(
    const struct accountdb *db, const char *name, struct account_group *out)
{
	ssize_t li = dbfile_find(&db->f[F_GROUP], name);

	if (li < 0)
		return -ENOENT;
	fill_group(&db->f[F_GROUP].lines[li], out);
	return 0;
}

int
accountdb_group_by_gid(
    const struct accountdb *db, gid_t gid, struct account_group *out)
{
	const struct dbfile *f = &db->f[F_GROUP];
	size_t i;

	for (i = 0; i < f->nent; i++)
		if (line_id(&f->lines[f->ent[i]], 2) == gid) {
			fill_group(&f->lines[f->ent[i]], out);
			return 0;
		}
	return -ENOENT;
}

size_t
accountdb_ngroups(const struct accountdb *db)
{
	return db->f[F_GROUP].nent;
}

int
accountdb_group_at(
    const struct accountdb *db, size_t i, struct account_group *out)
{
	if (i >= db->f[F_GROUP].nent)
		return -ENOENT;
	fill_group(&db->f[F_GROUP].lines[db->f[F_GROUP].ent[i]], out);
	return 0;
}

size_t
accountdb_nusers(const struct accountdb *db)
{
	return db->f[F_PASSWD].nent;
}

int
accountdb_user_at(
    const struct accountdb *db, size_t i, struct account_user *out)
{
	if (i >= db->f[F_PASSWD].nent)
		return -ENOENT;
	fill_user(&db->f[F_PASSWD].lines[db->f[F_PASSWD].ent[i]], out);
	return 0;
}

int
accountdb_has_shadow(const struct accountdb *db)
{
	return db->f[F_SHADOW].present;
}

int
accountdb_has_gshadow(const struct accountdb *db)
{
	return db->f[F_GSHADOW].present;
}

/* Where the password hash lives: shadow when there is one, else passwd. */
static int
pwfield(const struct accountdb *db, const char *user, int *fp, ssize_t *lip)
{
	*fp = db->f[F_SHADOW].present ? F_SHADOW : F_PASSWD;
	*lip = dbfile_find(&db->f[*fp], user);
	return *lip < 0 ? -ENOENT : 0;
}

static int
is_locked(const char *pw)
{
	return pw[0] == '!' || pw[0] == '*';
}

int
accountdb_password_locked(const struct accountdb *db, const char *user)
{
	ssize_t li;
	int f, r;

	if ((r = pwfield(db, user, &f, &li)) < 0)
		return r;
	return is_locked(db->f[f].lines[li].fields[1]);
}

int
accountdb_name_valid(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > 32)
		return 0;
	if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z')))
		return 0;
	for (i = 1; i < len; i++) {
		char c = name[i];

		if (c == '$' && i == len - 1)
			break;
		if (!(c == '_' || c == '-' || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* Nothing we write may break the line structure. */
static int
field_ok(const char *s)
{
	return strpbrk(s, ":\n") == NULL;
}

int
accountdb_add_group(struct accountdb *db, const char *name, gid_t gid)
{
	struct dbfile *gs = &db->f[F_GSHADOW];
	struct account_group g;
	char id[16];
	const char *grline[] = { name, "x", id, "" };
	const char *gsline[] = { name, "!", "", "" };
	ssize_t li;
	int r;

	if (!accountdb_name_valid(name) || gid == (gid_t)-1)
		return -EINVAL;
	if (accountdb_group_by_name(db, name, &g) == 0 ||
	    accountdb_group_by_gid(db, gid, &g) == 0)
		return -EEXIST;
	snprintf(id, sizeof(id), "%lu", (unsigned long)gid);
	if ((r = dbfile_append(&db->f[F_GROUP], grline)) < 0)
		return r;
	if (!gs->present)
		return 0;
	/* A stale gshadow entry is replaced, as groupadd does. */
	if ((li = dbfile_find(gs, name)) >= 0)
		return dbfile_replace_line(gs, (size_t)li, gsline);
	return dbfile_append(gs, gsline);
}

int
accountdb_add_user(struct accountdb *db, const char *name, uid_t uid, gid_t gid,
    const char *gecos, const char *home, const char *shell)
{
	struct dbfile *sh = &db->f[F_SHADOW];
	struct account_user u;
	char ustr[16], gstr[16], days[24];
	const char *pwline[] = { name, "x", ustr, gstr, gecos, home, shell };
	/* What useradd -r writes: locked, no ageing. */
	const char *shline[] = { name, "!", days, "", "", "", "", "", "" };
	ssize_t li;
	int r;

	if (!accountdb_name_valid(name) || uid == (uid_t)-1 ||
	    gid == (gid_t)-1 || !field_ok(gecos) || !field_ok(home) ||
	    !field_ok(shell))
		return -EINVAL;
	if (accountdb_user_by_name(db, name, &u) == 0 ||
	    accountdb_user_by_uid(db, uid, &u) == 0)
		return -EEXIST;
	snprintf(ustr, sizeof(ustr), "%lu", (unsigned long)uid);
	snprintf(gstr, sizeof(gstr), "%lu", (unsigned long)gid);
	snprintf(days, sizeof(days), "%lld", (long long)(time(NULL) / 86400));
	if ((r = dbfile_append(&db->f[F_PASSWD], pwline)) < 0)
		return r;
	if (!sh->present)
		return 0;
	if ((li = dbfile_find(sh, name)) >= 0)
		return dbfile_replace_line(sh, (size_t)li, shline);
	return dbfile_append(sh, shline);
}

/*
 * A user or group whose shadow or gshadow line is missing (a run killed
 * between two renames, or a hand-made account): add the locked line that
 * add_user/add_group would have written.  1 added, 0 nothing to do.
 */
int
accountdb_complete_shadow(struct accountdb *db, const char *name)
{
	struct dbfile *sh = &db->f[F_SHADOW];
	struct account_user u;
	char days[24];
	const char *shline[] = { name, "!", days, "", "", "", "", "", "" };
	int r;

	if (accountdb_user_by_name(db, name, &u) < 0)
		return -ENOENT;
	if (!sh->present || dbfile_find(sh, name) >= 0)
		return 0;
	snprintf(days, sizeof(days), "%lld", (long long)(time(NULL) / 86400));
	return (r = dbfile_append(sh, shline)) < 0 ? r : 1;
}

int
accountdb_complete_gshadow(struct accountdb *db, const char *name)
{
	struct dbfile *gs = &db->f[F_GSHADOW];
	struct account_group g;
	const char *gsline[] = { name, "!", "", "" };
	int r;

	if (accountdb_group_by_name(db, name, &g) < 0)
		return -ENOENT;
	if (!gs->present || dbfile_find(gs, name) >= 0)
		return 0;
	return (r = dbfile_append(gs, gsline)) < 0 ? r : 1;
}

int
accountdb_set_user(struct accountdb *db, const char *name, const char *field,
    const char *value)
{
	static const char *const names[] = { "gid", "gecos", "home", "shell" };
	struct dbfile *pw = &db->f[F_PASSWD];
	unsigned long id;
	size_t fi;
	ssize_t li;

	for (fi = 0; fi < 4; fi++)
		if (strcmp(field, names[fi]) == 0)
			break;
	if (fi == 4 || !field_ok(value))
		return -EINVAL;
	if (fi == 0 && dbfile_parse_id(value, &id) < 0)
		return -EINVAL;
	if ((li = dbfile_find(pw, name)) < 0)
		return -ENOENT;
	if (strcmp(pw->lines[li].fields[fi + 3], value) == 0)
		return 0;
	return dbfile_set_field(pw, (size_t)li, fi + 3, value);
}

int
accountdb_lock_password(struct accountdb *db, const char *name)
{
	const char *pw;
	char *locked;
	ssize_t li;
	int f, r;

	if ((r = pwfield(db, name, &f, &li)) < 0)
		return r;
	pw = db->f[f].lines[li].fields[1];
	if (is_locked(pw))
		return 0;
	if (asprintf(&locked, "!%s", pw) == -1)
		return -ENOMEM;
	r = dbfile_set_field(&db->f[f], (size_t)li, 1, locked);
	free(locked);
	return r;
}

/* Drop user from the member list (4th field) of group's line in f. */
static int
drop_member(struct dbfile *f, const char *group, const char *user)
{
	struct dbline *l;
	size_t i, len = 1;
	char *s, *p;
	ssize_t li;
	int found = 0, r;

	if (!f->present || (li = dbfile_find(f, group)) < 0)
		return 0;
	l = &f->lines[li];
	for (i = 0; i < l->nlist; i++) {
		len += strlen(l->list[i]) + 1;
		found |= strcmp(l->list[i], user) == 0;
	}
	if (!found)
		return 0;
	if ((s = p = malloc(len)) == NULL)
		return -ENOMEM;
	for (i = 0; i < l->nlist; i++) {
		if (strcmp(l->list[i], user) == 0)
			continue;
		if (p != s)
			*p++ = ',';
		memcpy(p, l->list[i], strlen(l->list[i]));
		p += strlen(l->list[i]);
	}
	*p = '\0';
	r = dbfile_set_field(f, (size_t)li, 3, s);
	free(s);
	return r;
}

int
accountdb_remove_member(
    struct accountdb *db, const char *group, const char *user)
{
	int r;

	if (dbfile_find(&db->f[F_GROUP], group) < 0)
		return -ENOENT;
	if ((r = drop_member(&db->f[F_GROUP], group, user)) < 0)
		return r;
	return drop_member(&db->f[F_GSHADOW], group, user);
}

int
accountdb_dirty(const struct accountdb *db)
{
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (db->f[i].dirty)
			return 1;
	return 0;
}

void
accountdb_set_lock_timeout(struct accountdb *db, unsigned int ms)
{
	db->lock_timeout_ms = ms;
}

/*
 * lckpwdf lock, <file>.lock for each changed file, re-check every file,
 * then replace the changed ones: group, gshadow, passwd, shadow.
 */
int
accountdb_commit(struct accountdb *db, struct db_error *err)
{
	static const int order[] = { F_GROUP, F_GSHADOW, F_PASSWD, F_SHADOW };
	struct db_error dummy;
	int locked[F_COUNT] = { 0 };
	int i, lockfd = -1, r = 0, saved;

	if (err == NULL)
		err = &dummy;
	memset(err, 0, sizeof(*err));
	if (!accountdb_dirty(db))
		return 0; /* a second run writes nothing at all */
	r = dbfile_pwdlock(db->etcfd, db->lock_timeout_ms, &lockfd, err);
	if (r < 0)
		goto out;
	for (i = 0; i < F_COUNT; i++) {
		if (!db->f[order[i]].dirty)
			continue;
		if ((r = dbfile_lock(db->etcfd, &db->f[order[i]], err)) < 0)
			goto out;
		locked[order[i]] = 1;
	}
	for (i = 0; i < F_COUNT; i++)
		if ((r = dbfile_check(db->etcfd, &db->f[i], err)) < 0)
			goto out;
	/* Every new file is written before any is renamed: ENOSPC changes
	 * nothing.  Only a crash between two renames leaves a mix, which the
	 * next setup run completes. */
	for (i = 0; i < F_COUNT; i++) {
		if (!db->f[order[i]].dirty)
			continue;
		if ((r = dbfile_prepare(db->etcfd, &db->f[order[i]], err)) < 0)
			goto out;
	}
	for (i = 0; i < F_COUNT; i++)
		if ((r = dbfile_install(db->etcfd, &db->f[order[i]], err)) < 0)
			goto out;
out:
	saved = errno;
	for (i = 0; i < F_COUNT; i++)
		dbfile_discard(db->etcfd, &db->f[i]);
	for (i = 0; i < F_COUNT; i++)
		if (locked[i])
			dbfile_unlock(db->etcfd, &db->f[i]);
	if (lockfd != -1)
		close(lockfd);
	errno = saved;
	return r;
}

void
accountdb_error_format(const struct db_error *e, int r, char *buf, size_t len)
{
	const char *msg = e->msg[0] != '\0' ? e->msg : strerror(-r);

	if (e->file[0] == '\0')
		(void)snprintf(buf, len, "%s", msg);
	else if (e->line > 0)
		(void)snprintf(buf, len, "%s:%zu: %s", e->file, e->line, msg);
	else
		(void)snprintf(buf, len, "%s: %s", e->file, msg);
}
