/*
 * accountdb: etc/passwd, etc/group, etc/shadow and etc/gshadow under a
 * root directory, read and changed in memory, committed the shadow-utils
 * way (lckpwdf lock, <file>.lock, <file>- backup, <file>+ renamed over).
 */
#ifndef RELAY_ACCOUNTDB_H
#define RELAY_ACCOUNTDB_H

#include <sys/types.h>
#include <stddef.h>

struct accountdb; /* opaque */

struct db_error {
	char file[64]; /* "etc/passwd" (relative to the root) */
	size_t line; /* 1-based; 0 when not about one line */
	char msg
	    [192]; /* lower-case, no full stop: "bad field count (6, want 7)" */
};

struct account_user {
	const char *name;
	uid_t uid;
	gid_t gid;
	const char *gecos, *home, *shell;
};

struct account_group {
	const char *name;
	gid_t gid;
	const char *const *members;
	size_t nmembers;
};

/*
 * Lookups return 0 and fill out (pointers valid until the db is freed or
 * changed) or -ENOENT.  rootfd is a directory fd (O_PATH is fine) of the
 * root; files are opened below it with O_NOFOLLOW.  A line may hold at most
 * 4095 bytes plus its '\n'; a file at most 64 MiB.
 */
int accountdb_load(int rootfd, struct accountdb **dbp, struct db_error *err);
void accountdb_free(struct accountdb *db);
int accountdb_user_by_name(
    const struct accountdb *db, const char *name, struct account_user *out);
int accountdb_user_by_uid(
    const struct accountdb *db, uid_t uid, struct account_user *out);
int accountdb_group_by_name(
    const struct accountdb *db, const char *name, struct account_group *out);
int accountdb_group_by_gid(
    const struct accountdb *db, gid_t gid, struct account_group *out);
size_t accountdb_ngroups(const struct accountdb *db);
int accountdb_group_at(
    const struct accountdb *db, size_t i, struct account_group *out);
size_t accountdb_nusers(const struct accountdb *db);
int accountdb_user_at(
    const struct accountdb *db, size_t i, struct account_user *out);
int accountdb_has_shadow(const struct accountdb *db); /* etc/shadow exists */
int accountdb_has_gshadow(const struct accountdb *db);
/* 1 locked, 0 not, -ENOENT no entry */
int accountdb_password_locked(const struct accountdb *db, const char *user);
/* 1 when name matches [a-z_][a-z0-9_-]*[$]? and is at most 32 bytes. */
int accountdb_name_valid(const char *name);

/* Changes stay in memory until accountdb_commit(). */
int accountdb_add_group(struct accountdb *db, const char *name, gid_t gid);
int accountdb_add_user(struct accountdb *db, const char *name, uid_t uid,
    gid_t gid, const char *gecos, const char *home, const char *shell);
/* field: "gid", "gecos", "home", "shell" */
int accountdb_set_user(struct accountdb *db, const char *name,
    const char *field, const char *value);
int accountdb_lock_password(struct accountdb *db, const char *name);
/* Add a missing shadow/gshadow line for an existing user/group: 1 added. */
int accountdb_complete_shadow(struct accountdb *db, const char *name);
int accountdb_complete_gshadow(struct accountdb *db, const char *name);
int accountdb_remove_member(
    struct accountdb *db, const char *group, const char *user);
int accountdb_dirty(const struct accountdb *db);
/* How long commit waits for etc/.pwd.lock (default 15000 ms). */
void accountdb_set_lock_timeout(struct accountdb *db, unsigned int ms);
int accountdb_commit(struct accountdb *db, struct db_error *err);
/*
 * The one way an error from accountdb_load() or accountdb_commit() (which
 * returned r) is shown: "FILE:LINE: MSG", "FILE: MSG" when it is not about
 * one line, strerror(-r) for a MSG or FILE the error does not hold.
 */
void accountdb_error_format(
    const struct db_error *e, int r, char *buf, size_t len);

#endif
