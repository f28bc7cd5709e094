/*
 * relayd start-up as full root: the run_as account from the root's own
 * passwd file, the spool checked the way OpenSMTPD's ckdir() does (the
 * daemon refuses to start on a wrong owner or mode rather than fix it;
 * every directory from "/" down to queue/ is checked, since whoever may
 * write one of them can swap the spool for a directory of their own),
 * and the master's capability drop to the five it needs to run children.
 */
#include <sys/types.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"
#include "master_start.h"
#include "privdrop.h"
#include "spooldir.h"
#include "authfile.h"
#include "tls.h"

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

/* "run 'relayctl setup'", with --root when relayd has one. */
static const char *
setup_fix(const struct master *m, char *buf, size_t len)
{
	if (strcmp(m->root, "/") == 0)
		return "run 'relayctl setup'";
	(void)snprintf(buf, len, "run 'relayctl setup --root %s'", m->root);
	return buf;
}

/* One line: the directory, what is wrong with it and the fix. */
static int
spool_refuse(char *err, size_t errlen, const char *dir, int rv,
    const struct stat *st, const char *owner, const char *fix)
{
	if (rv == -EPERM)
		return start_err(err, errlen, EPERM,
		    "spool directory '%s' is unsafe: uid %lu mode %04o, must "
		    "be owned by %s and writable by nobody else (%s)",
		    dir, (unsigned long)st->st_uid,
		    (unsigned)(st->st_mode & 07777), owner, fix);
	if (rv == -ELOOP)
		return start_err(err, errlen, EPERM,
		    "spool directory '%s' is unsafe: a symbolic link (%s)", dir,
		    fix);
	return start_err(err, errlen, -rv, "spool directory '%s': %s (%s)", dir,
	    strerror(-rv), fix);
}

/* "/" and every directory above the spool: root's, nobody else's. */
static int
spool_parents(struct master *m, char *err, size_t errlen)
{
	char bad[PATH_MAX], shown[PATH_MAX];
	struct stat st;
	int rv;

	rv = spooldir_parents(m->rootfd, m->cfg.spool, bad, sizeof(bad), &st);
	if (rv == 0)
		return 0;
	if (master_path(m, bad, shown, sizeof(shown)) < 0)
		(void)strlcpy(shown, bad, sizeof(shown));
	return spool_refuse(err, errlen, shown, rv, &st, "root",
	    "chown root and chmod go-w it");
}

/*
 * tmp/ and queue/ (needed), hold/ and corrupt/ (checked when present:
 * relayctl and the runner make them), through the one spool opener.
 */
static int
spool_subdirs(struct master *m, int spoolfd, char *err, size_t errlen)
{
	static const char *const sub[] = { "tmp", "queue", "hold", "corrupt" };
	char dir[PATH_MAX + 16], fix[PATH_MAX + 32];
	struct stat st;
	size_t i;
	int fd, rv;

	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		memset(&st, 0, sizeof(st));
		rv = spooldir_sub(spoolfd, sub[i], &fd, &st);
		if (rv == 0) {
			(void)close(fd);
			continue;
		}
		if (rv == -ENOENT && i >= 2)
			continue;
		(void)snprintf(dir, sizeof(dir), "%s/%s", m->spooldir, sub[i]);
		return spool_refuse(err, errlen, dir, rv, &st, m->cfg.run_as,
		    setup_fix(m, fix, sizeof(fix)));
	}
	return 0;
}

/* The spool and its subdirectories; *fdp its O_RDONLY directory fd. */
static int
spool_open(struct master *m, int *fdp, char *err, size_t errlen)
{
	char fix[PATH_MAX + 32];
	struct stat st;
	int rv;

	memset(&st, 0, sizeof(st));
	rv = spooldir_open(m->rootfd, m->cfg.spool, m->uid, fdp, &st);
	if (rv < 0)
		return spool_refuse(err, errlen, m->spooldir, rv, &st,
		    m->cfg.run_as, setup_fix(m, fix, sizeof(fix)));
	/* ckdir(): the queue holds other people's mail. */
	if ((st.st_mode & 07777) != 0700) {
		rv = start_err(err, errlen, EINVAL,
		    "spool '%s': must be a directory owned by '%s' with mode "
		    "0700, is uid %lu mode %04o (%s)",
		    m->spooldir, m->cfg.run_as, (unsigned long)st.st_uid,
		    (unsigned)(st.st_mode & 07777),
		    setup_fix(m, fix, sizeof(fix)));
		goto out;
	}
	rv = spool_subdirs(m, *fdp, err, errlen);
out:
	if (rv < 0) {
		(void)close(*fdp);
		*fdp = -1;
	}
	return rv;
}

int
master_spool(struct master *m, char *err, size_t errlen)
{
	int rv;

	if (master_path(m, m->cfg.spool, m->spooldir, sizeof(m->spooldir)))
		return start_err(err, errlen, ENAMETOOLONG,
		    "spool '%s': path too long", m->cfg.spool);
	if ((rv = spool_parents(m, err, errlen)) < 0)
		return rv;
	return spool_open(m, &m->spoolfd, err, errlen);
}

/* In the checker child: spool_open as the relay; the same directory? */
static void __attribute__((noreturn)) recheck_child(struct master *m, int wfd)
{
	struct privdrop pd = { .uid = m->uid, .gid = m->gid };
	struct stat now, then;
	char err[512];
	int fd = -1, rv;

	master_detach(m);
	if ((rv = privdrop_apply(&pd, err, sizeof(err))) < 0)
		(void)start_err(err, sizeof(err), -rv,
		    "spool check: privilege drop failed: %s", err);
	else if ((rv = spool_open(m, &fd, err, sizeof(err))) == 0 &&
	    (fstat(fd, &now) == -1 || fstat(m->spoolfd, &then) == -1 ||
		now.st_dev != then.st_dev || now.st_ino != then.st_ino))
		rv = start_err(err, sizeof(err), EPERM,
		    "spool '%s' is not the directory relayd started with "
		    "(restart relayd)",
		    m->spooldir);
	if (rv < 0)
		(void)write(wfd, err, strlen(err));
	_exit(rv < 0 ? (rv == -EPERM ? 2 : 1) : 0);
}

/*
 * The master keeps no CAP_DAC_READ_SEARCH, so it cannot look inside the
 * relay's 0700 spool any more: a child that drops to the relay account
 * does (a few fstats), and the master waits for its verdict.
 */
int
master_spool_recheck(struct master *m, char *err, size_t errlen)
{
	ssize_t n;
	size_t len = 0;
	pid_t pid;
	int pfd[2], status, rv;

	if ((rv = spool_parents(m, err, errlen)) < 0)
		return rv;
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return start_err(err, errlen, errno, "spool check: pipe: %s",
		    strerror(errno));
	if ((pid = fork()) == -1) {
		rv = start_err(err, errlen, errno, "spool check: fork: %s",
		    strerror(errno));
		(void)close(pfd[0]);
		(void)close(pfd[1]);
		return rv;
	}
	if (pid == 0) {
		(void)close(pfd[0]);
		recheck_child(m, pfd[1]);
	}
	(void)close(pfd[1]);
	while (len + 1 < errlen &&
	    ((n = read(pfd[0], err + len, errlen - 1 - len)) > 0 ||
		(n == -1 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	if (errlen > 0)
		err[len] = '\0';
	(void)close(pfd[0]);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return start_err(err, errlen, errno,
			    "spool check: waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (len == 0)
		(void)start_err(err, errlen, EIO, "spool check: child failed");
	return WIFEXITED(status) && WEXITSTATUS(status) == 2 ? -EPERM : -EIO;
}

int
master_sauth(const struct master *m, const struct config *cfg,
    struct authfile **ap, char *err, size_t errlen)
{
	*ap = NULL;
	if (cfg->smarthost_auth[0] == '\0')
		return 0;
	return authfile_load(m->rootfd, cfg->smarthost_auth, ap, err, errlen);
}

int
master_tls(const struct master *m, const struct config *cfg,
    struct ssl_ctx_st **ctxp, char *err, size_t errlen)
{
	*ctxp = NULL;
	if (cfg->tls_cert[0] == '\0')
		return 0; /* config_parse: no key either, no TLS listener */
	return tls_ctx_load(m->rootfd, cfg, ctxp, err, errlen);
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
