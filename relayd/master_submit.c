/*
 * relayd master: the local submission socket (submit_socket), a Unix
 * stream socket that relayd-sendmail(8) connects to.  Made by root at
 * start-up, inside a root-owned directory nobody else may write (so its
 * name cannot be swapped), bound through that directory's fd, mode 0666
 * or root:submit_group 0660.  Its connections go to the same dropping
 * smtp children as TCP; the master reads nothing from them.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"
#include "master_start.h"
#include "master_submit.h"

static int __attribute__((format(printf, 4, 5)))
submit_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -e;
}

/* submit_group's gid from ROOT/etc/group; (gid_t)0 when unset. */
static int
submit_gid(const struct master *m, gid_t *gid, char *err, size_t errlen)
{
	struct accountdb *db = NULL;
	struct account_group g;
	struct db_error de;
	int rv;

	*gid = 0;
	if (m->cfg.submit_group[0] == '\0')
		return 0;
	memset(&de, 0, sizeof(de));
	if ((rv = accountdb_load(m->rootfd, &db, &de)) < 0)
		return submit_err(err, errlen, -rv,
		    "cannot read the accounts: %s", strerror(-rv));
	if (accountdb_group_by_name(db, m->cfg.submit_group, &g) < 0)
		rv = submit_err(err, errlen, ENOENT,
		    "submit_group '%s' not found in etc/group",
		    m->cfg.submit_group);
	else
		*gid = g.gid;
	accountdb_free(db);
	return rv;
}

/*
 * The directory of the socket: made (root, 0755) if missing, like
 * systemd's RuntimeDirectory, and refused unless root's and writable by
 * root alone.  Returns an O_PATH fd or -errno.
 */
static int
submit_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 && errno == ENOENT && mkdir(dir, 0755) == 0)
		fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return submit_err(err, errlen, errno,
		    "submit_socket directory '%s': %s", dir, strerror(errno));
	if (fstat(fd, &st) == -1 || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		(void)close(fd);
		return submit_err(err, errlen, EPERM,
		    "submit_socket directory '%s' must be root's and writable "
		    "by root alone (chown root and chmod go-w it)",
		    dir);
	}
	return fd;
}

/* A socket left by a relayd that died; anything else is not ours. */
static int
submit_stale(struct master *m, const char *name, char *err, size_t errlen)
{
	struct stat st;

	if (fstatat(m->submitdir, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT
		    ? 0
		    : submit_err(err, errlen, errno, "'%s': %s", m->submitpath,
			  strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return submit_err(err, errlen, EEXIST,
		    "'%s' exists and is not a socket: remove it or change "
		    "submit_socket",
		    m->submitpath);
	if (unlinkat(m->submitdir, name, 0) == -1)
		return submit_err(err, errlen, errno,
		    "cannot remove stale socket '%s': %s", m->submitpath,
		    strerror(errno));
	return 0;
}

/* Bind name in the directory m->submitdir holds, never by full path. */
static int
submit_bind(
    struct master *m, const char *name, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd, n, rv;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "/proc/self/fd/%d/%s",
	    m->submitdir, name);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		return submit_err(err, errlen, ENAMETOOLONG,
		    "submit_socket '%s': name too long", m->submitpath);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return submit_err(
		    err, errlen, errno, "socket: %s", strerror(errno));
	old = umask(077); /* no moment with a wider mode */
	rv = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (rv == -1 ||
	    fchownat(m->submitdir, name, 0, gid, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fchmodat(m->submitdir, name, gid != 0 ? 0660 : 0666, 0) == -1 ||
	    fstatat(m->submitdir, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		rv = submit_err(err, errlen, errno, "cannot listen on '%s': %s",
		    m->submitpath, strerror(errno));
		(void)close(fd);
		return rv;
	}
	m->submitfd = fd;
	m->submitino = st.st_ino;
	return 0;
}

int
master_submit_open(struct master *m, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *name;
	gid_t gid;
	int rv;

	m->submitfd = m->submitdir = -1;
	if (m->cfg.submit_socket[0] == '\0')
		return 0;
	if (master_path(m, m->cfg.submit_socket, m->submitpath,
		sizeof(m->submitpath)) < 0)
		return submit_err(err, errlen, ENAMETOOLONG,
		    "submit_socket '%s': path too long", m->cfg.submit_socket);
	if ((rv = submit_gid(m, &gid, err, errlen)) < 0)
		return rv;
	(void)strlcpy(dir, m->submitpath, sizeof(dir));
	name = strrchr(m->submitpath, '/') + 1;
	dir[name - m->submitpath] = '\0';
	if (*name == '\0')
		return submit_err(err, errlen, EINVAL,
		    "submit_socket '%s' names a directory",
		    m->cfg.submit_socket);
	if ((m->submitdir = submit_dir(dir, err, errlen)) < 0) {
		rv = m->submitdir;
		m->submitdir = -1;
		return rv;
	}
	if ((rv = submit_stale(m, name, err, errlen)) < 0 ||
	    (rv = submit_bind(m, name, gid, err, errlen)) < 0) {
		(void)close(m->submitdir);
		m->submitdir = -1;
	}
	return rv;
}

void
master_submit_close(struct master *m, int unlink_it)
{
	const char *name = strrchr(m->submitpath, '/');
	struct stat st;

	if (m->submitfd != -1)
		(void)close(m->submitfd);
	/* Only the socket we made: not one a later relayd put there. */
	if (unlink_it && m->submitdir != -1 && name != NULL &&
	    fstatat(m->submitdir, name + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_ino == m->submitino)
		(void)unlinkat(m->submitdir, name + 1, 0);
	if (m->submitdir != -1)
		(void)close(m->submitdir);
	m->submitfd = m->submitdir = -1;
}
