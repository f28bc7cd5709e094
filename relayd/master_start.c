/*
 * relayd start-up as full root: the run_as account from the root's own
 * passwd file, the spool checked the way OpenSMTPD's ckdir() does (the
 * daemon refuses to start on a wrong owner or mode rather than fix it),
 * and the master's capability drop to the five it needs to run children.
 */
#include <sys/types.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"
#include "master_start.h"
#include "walk.h"

static int start_err(char *err, size_t errlen, int e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
start_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* A truncated reason is still the right reason. */
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -e;
}

int
master_path(const struct master *m, const char *p, char *out, size_t len)
{
	const char *root = strcmp(m->root, "/") == 0 ? "" : m->root;
	int n;

	while (*p == '/')
		p++;
	n = snprintf(out, len, "%s/%s", root, p);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int
master_account(struct master *m, char *err, size_t errlen)
{
	struct accountdb *db = NULL;
	struct account_user u;
	struct db_error de;
	int rv;

	memset(&de, 0, sizeof(de));
	if ((rv = accountdb_load(m->rootfd, &db, &de)) < 0) {
		if (de.line > 0)
			return start_err(err, errlen, -rv, "%s:%zu: %s",
			    de.file, de.line, de.msg);
		return start_err(err, errlen, -rv, "cannot read '%s': %s",
		    de.file[0] ? de.file : "etc/passwd",
		    de.msg[0] ? de.msg : strerror(-rv));
	}
	rv = accountdb_user_by_name(db, m->cfg.run_as, &u);
	if (rv < 0) {
		rv = start_err(err, errlen, ENOENT,
		    "run_as account '%s' not found in %s%setc/passwd",
		    m->cfg.run_as, m->root,
		    m->root[strlen(m->root) - 1] == '/' ? "" : "/");
		goto out;
	}
	if (u.uid == 0 || u.gid == 0) {
		rv = start_err(err, errlen, EPERM,
		    "run_as account '%s' has uid %lu gid %lu: never root",
		    m->cfg.run_as, (unsigned long)u.uid, (unsigned long)u.gid);
		goto out;
	}
	m->uid = u.uid;
	m->gid = u.gid;
out:
	accountdb_free(db);
	return rv;
}

/* A directory the children write to: subdir of the spool, no symlink. */
static int
spool_subdir(struct master *m, const char *name, char *err, size_t errlen)
{
	struct stat st;

	if (fstatat(m->spoolfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return start_err(err, errlen, errno,
		    "spool '%s/%s': %s (run 'relayctl setup')", m->spooldir,
		    name, strerror(errno));
	if (!S_ISDIR(st.st_mode) || st.st_uid != m->uid)
		return start_err(err, errlen, EPERM,
		    "spool '%s/%s': not a directory owned by '%s' "
		    "(run 'relayctl setup')",
		    m->spooldir, name, m->cfg.run_as);
	return 0;
}

int
master_spool(struct master *m, char *err, size_t errlen)
{
	struct stat st;
	int fd = -1, rv;

	if (master_path(m, m->cfg.spool, m->spooldir, sizeof(m->spooldir)))
		return start_err(err, errlen, ENAMETOOLONG,
		    "spool '%s': path too long", m->cfg.spool);
	if ((rv = walk_open(m->rootfd, m->cfg.spool, &fd, &st)) < 0)
		return start_err(err, errlen, -rv, "spool '%s': %s",
		    m->spooldir, strerror(-rv));
	/* ckdir(): the queue holds other people's mail. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != m->uid ||
	    (st.st_mode & 07777) != 0700) {
		rv = start_err(err, errlen, EPERM,
		    "spool '%s': must be a directory owned by '%s' with mode "
		    "0700, is uid %lu mode %04o (run 'relayctl setup')",
		    m->spooldir, m->cfg.run_as, (unsigned long)st.st_uid,
		    (unsigned)(st.st_mode & 07777));
		goto out;
	}
	m->spoolfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->spoolfd == -1) {
		rv = start_err(err, errlen, errno, "spool '%s': %s",
		    m->spooldir, strerror(errno));
		goto out;
	}
	if ((rv = spool_subdir(m, "tmp", err, errlen)) == 0)
		rv = spool_subdir(m, "queue", err, errlen);
out:
	if (fd != -1)
		(void)close(fd);
	return rv;
}

static const cap_value_t master_keep[] = { CAP_NET_BIND_SERVICE, CAP_SETUID,
	CAP_SETGID, CAP_SYS_CHROOT, CAP_KILL };

int
master_caps(char *err, size_t errlen)
{
	cap_value_t cap, max = cap_max_bits();
	cap_t caps = NULL;
	int n = (int)(sizeof(master_keep) / sizeof(master_keep[0])), rv = 0;

	/* Children then have nothing to drop here (no CAP_SETPCAP). */
	for (cap = 0; cap < max; cap++)
		if (cap_get_bound(cap) == 1 && cap_drop_bound(cap) == -1)
			return start_err(err, errlen, errno,
			    "cannot drop capability %d from the bounding set: "
			    "%s",
			    (int)cap, strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return start_err(err, errlen, errno,
		    "cannot clear ambient capabilities: %s", strerror(errno));
	if ((caps = cap_init()) == NULL ||
	    cap_set_flag(caps, CAP_PERMITTED, n, master_keep, CAP_SET) == -1 ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, master_keep, CAP_SET) == -1 ||
	    cap_set_proc(caps) == -1)
		rv = start_err(err, errlen, errno,
		    "cannot drop capabilities: %s", strerror(errno));
	if (caps != NULL)
		(void)cap_free(caps);
	return rv;
}
