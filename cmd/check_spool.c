/*
 * check spool: a queue another user could change is unsafe, not drift.
 * Every directory from "/" down to the spool is root's and writable by
 * nobody else; the spool, tmp/, queue/, hold/ and corrupt/ are the
 * relay's (or root's, which setup fixes) and writable by nobody else; a
 * queue file is the relay's, has one link and is private.  The rule on
 * directories is spooldir's, the same relayd refuses to start on.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "queue.h"
#include "spooldir.h"
#include "walk.h"

static const char *const spool_subs[] = { "", "/tmp", "/queue", "/hold",
	"/corrupt" };

/* "uid N mode M" with the relay's or root's name where it is one. */
static void
describe(const struct check *c, const struct stat *st, char *buf, size_t len)
{
	const char *who = st->st_uid == 0 ? " (root)"
	    : st->st_uid == c->spool_uid  ? " (the relay account)"
					  : "";

	(void)snprintf(buf, len, "uid %lu%s, mode %04o",
	    (unsigned long)st->st_uid, who, (unsigned)(st->st_mode & 07777));
}

/* "/" and every directory above the spool: root's, nobody else's. */
static int
check_parents(struct check *c, const char *spool)
{
	char prefix[PATH_MAX], actual[128];
	struct stat st;
	size_t i, n = strlen(spool);
	int fd, r = 0, rv;

	for (i = 0; i < n && r == 0; i++) {
		if (i > 0 && (spool[i] != '/' || spool[i - 1] == '/'))
			continue;
		(void)snprintf(
		    prefix, sizeof(prefix), "%.*s", i == 0 ? 1 : (int)i, spool);
		if ((rv = walk_open(c->rootfd, prefix, &fd, &st)) == 0) {
			(void)close(fd);
			rv = spooldir_check(&st, 0);
		}
		if (rv == -ENOENT || rv == 0)
			continue;
		if (rv == -ELOOP)
			(void)strlcpy(
			    actual, "a symbolic link", sizeof(actual));
		else if (rv == -EPERM || rv == -ENOTDIR)
			describe(c, &st, actual, sizeof(actual));
		else
			(void)strlcpy(actual, strerror(-rv), sizeof(actual));
		r = check_add(c, "spool.unsafe_dir", SEV_UNSAFE, prefix,
		    "a directory owned by root, writable by nobody else",
		    actual, "chown root and chmod go-w it");
	}
	return r;
}

/* The spool or one of its directories; missing ones are path.missing. */
static int
check_dir(struct check *c, const char *path)
{
	char actual[128], expected[128], fix[PATH_MAX + 96];
	struct stat st;
	int fd;

	if (walk_open(c->rootfd, path, &fd, &st) < 0)
		return 0; /* missing, a symlink: setup's plan says so */
	(void)close(fd);
	if (!S_ISDIR(st.st_mode))
		return 0; /* path.type */
	/* Root's is drift (setup chowns it); another user's is unsafe. */
	if (spooldir_check(&st, st.st_uid) == 0 &&
	    (st.st_uid == 0 || st.st_uid == c->spool_uid))
		return 0;
	describe(c, &st, actual, sizeof(actual));
	(void)snprintf(expected, sizeof(expected),
	    "owned by '%s', writable by nobody else", c->user);
	if (st.st_uid != 0 && st.st_uid != c->spool_uid)
		(void)snprintf(fix, sizeof(fix),
		    "find out who changed it and chown it by hand; check "
		    "queued mail, then %s",
		    check_setup_fix(c));
	else
		(void)snprintf(fix, sizeof(fix),
		    "%s, then check queued mail for files you did not expect",
		    check_setup_fix(c));
	/* This finding says it all: no path.mode beside it. */
	check_supersede(c, path);
	return check_add(
	    c, "spool.unsafe_dir", SEV_UNSAFE, path, expected, actual, fix);
}

/* One entry of queue/ or hold/: 0, or a finding. */
static int
check_file(struct check *c, int dfd, const char *dir, const char *name)
{
	char path[PATH_MAX + NAME_MAX + 2], actual[NAME_MAX + 128],
	    expected[128];
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    S_ISDIR(st.st_mode))
		return 0;
	if (S_ISREG(st.st_mode) && st.st_uid == c->spool_uid &&
	    st.st_nlink == 1 && (st.st_mode & 077) == 0)
		return 0;
	(void)snprintf(path, sizeof(path), "%s/%s", dir, name);
	(void)snprintf(actual, sizeof(actual),
	    "queue id %s: %s, uid %lu, %lu links, mode %04o", name,
	    S_ISREG(st.st_mode) ? "a file" : "not a regular file",
	    (unsigned long)st.st_uid, (unsigned long)st.st_nlink,
	    (unsigned)(st.st_mode & 07777));
	(void)snprintf(expected, sizeof(expected),
	    "a file of '%s' with one link, mode 0600", c->user);
	check_supersede(c, path);
	return check_add(c, "spool.foreign_file", SEV_UNSAFE, path, expected,
	    actual,
	    "relayd moves it to corrupt/ and never delivers it; find out "
	    "who wrote it, then remove it");
}

/* Queue files (names that are queue ids) in SPOOL/queue or SPOOL/hold. */
static int
check_files(struct check *c, const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = walk_open_io(c->rootfd, dir, O_RDONLY | O_DIRECTORY, NULL);
	if (fd < 0)
		return 0; /* missing, a symlink: setup's plan says so */
	if ((d = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return 0;
	}
	while (r == 0 && (de = readdir(d)) != NULL)
		if (queue_id_valid(de->d_name))
			r = check_file(c, dirfd(d), dir, de->d_name);
	(void)closedir(d);
	return r;
}

int
check_spool(struct check *c)
{
	static struct config defaults;
	const char *spool = c->cfg.spool;
	struct account_user pw;
	char path[PATH_MAX];
	size_t i;
	int r;

	if (!c->cfg_ok) {
		config_defaults(&defaults);
		spool = defaults.spool;
	}
	if ((r = check_parents(c, spool)) != 0)
		return r;
	/*
	 * setup gives the spool to the layout's account, whatever run_as
	 * says (config.run-as is its own finding); without the account
	 * nobody owns it yet (account.missing).
	 */
	if (accountdb_user_by_name(c->db, c->user, &pw) < 0)
		return 0;
	c->spool_uid = pw.uid;
	for (i = 0; i < sizeof(spool_subs) / sizeof(spool_subs[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", spool,
			spool_subs[i]) >= (int)sizeof(path))
			return 0;
		if ((r = check_dir(c, path)) != 0)
			return r;
		if ((i == 2 || i == 3) && (r = check_files(c, path)) != 0)
			return r;
	}
	return 0;
}
