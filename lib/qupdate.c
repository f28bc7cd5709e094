/*
 * Crash-safe rewrite, removal and move of committed queue files, for the
 * delivery workers (relay user, spool fd only) and relayctl (root).  The
 * flock(2) on the current file is what keeps two writers, or a worker and
 * "relayctl queue hold", from undoing each other's work.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "qupdate.h"

/* "dir/id" into buf; the id is checked so no other path can be built. */
static int
entry_path(
    char *buf, size_t len, const char *dir, const char *id, const char *suffix)
{
	int n;

	if (!queue_id_valid(id))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%s%s", dir, id, suffix);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void
qupdate_unlock(int *lockfd)
{
	if (*lockfd != -1)
		(void)close(*lockfd);
	*lockfd = -1;
}

int
qupdate_lock(int spoolfd, const char *dir, const char *id, int *lockfd,
    struct queue_file **qf)
{
	char path[64];
	struct stat a, b;
	int fd = -1, dfd = -1, rv;

	*lockfd = -1;
	if (qf != NULL)
		*qf = NULL;
	if ((rv = entry_path(path, sizeof(path), dir, id, "")) != 0)
		return rv;
	fd = openat(spoolfd, path,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rv = -errno;
		goto out;
	}
	/* The holder before us may have replaced or moved it. */
	if (fstat(fd, &a) == -1 ||
	    fstatat(spoolfd, path, &b, AT_SYMLINK_NOFOLLOW) == -1) {
		rv = errno == ENOENT ? -ENOENT : -errno;
		goto out;
	}
	rv = -ENOENT;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		goto out;
	rv = -EPERM;
	if (!S_ISREG(a.st_mode) || a.st_nlink != 1)
		goto out;
	rv = 0;
	if (qf != NULL) {
		dfd = openat(spoolfd, dir,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dfd == -1)
			rv = -errno;
		else
			rv = queue_read(dfd, id, qf);
	}
out:
	if (dfd != -1)
		(void)close(dfd);
	if (rv != 0)
		(void)close(fd);
	else
		*lockfd = fd;
	return rv;
}

/* Write qf to the new file fd: envelope, message, fsync. */
static int
write_file(int fd, const struct queue_file *qf)
{
	char *env = NULL;
	size_t envlen;
	int rv;

	if ((rv = queue_envelope(qf, &env, &envlen)) != 0)
		return rv;
	if ((rv = fdio_write_all(fd, env, envlen)) == 0 &&
	    (rv = fdio_write_all(fd, qf->msg, qf->size)) == 0 &&
	    fsync(fd) == -1)
		rv = -errno;
	free(env);
	return rv;
}

int
qupdate_write(int spoolfd, const struct queue_file *qf, int *lockfd)
{
	char tmp[64], dst[64];
	int fd = -1, rv, made = 0;

	if ((rv = entry_path(tmp, sizeof(tmp), "tmp", qf->id, ".update")) ||
	    (rv = entry_path(dst, sizeof(dst), "queue", qf->id, "")))
		return rv;
	/* A worker killed mid-update left it; we hold the message lock. */
	if (unlinkat(spoolfd, tmp, 0) == -1 && errno != ENOENT)
		return -errno;
	fd = openat(spoolfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	made = 1;
	/* Locked before anyone can see it under queue/. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rv = -errno;
		goto out;
	}
	if ((rv = write_file(fd, qf)) != 0)
		goto out;
	if (renameat(spoolfd, tmp, spoolfd, dst) == -1) {
		rv = -errno;
		goto out;
	}
	made = 0;
	qupdate_unlock(lockfd);
	*lockfd = fd;
	fd = -1;
	rv = fdio_sync_dir(spoolfd, "queue");
out:
	if (made)
		(void)unlinkat(spoolfd, tmp, 0);
	if (fd != -1)
		(void)close(fd);
	return rv;
}

int
qupdate_remove(int spoolfd, const char *dir, const char *id, int *lockfd)
{
	char path[64];
	int rv;

	if ((rv = entry_path(path, sizeof(path), dir, id, "")) != 0)
		return rv;
	if (unlinkat(spoolfd, path, 0) == -1)
		rv = -errno;
	else
		rv = fdio_sync_dir(spoolfd, dir);
	qupdate_unlock(lockfd);
	return rv;
}

int
qupdate_move(
    int spoolfd, const char *from, const char *to, const char *id, int *lockfd)
{
	char src[64], dst[64];
	int rv;

	if ((rv = entry_path(src, sizeof(src), from, id, "")) != 0 ||
	    (rv = entry_path(dst, sizeof(dst), to, id, "")) != 0)
		goto out;
	if (renameat2(spoolfd, src, spoolfd, dst, RENAME_NOREPLACE) == -1) {
		rv = -errno;
		goto out;
	}
	if ((rv = fdio_sync_dir(spoolfd, to)) == 0)
		rv = fdio_sync_dir(spoolfd, from);
out:
	qupdate_unlock(lockfd);
	return rv;
}
