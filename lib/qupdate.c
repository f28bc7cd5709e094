/*
 * Crash-safe rewrite, removal and move of committed queue files, for the
 * delivery workers (relay user, spool fd only) and relayctl (root).  The
 * flock(2) on the current file is what keeps two writers, or a worker and
 * "relayctl queue hold", from undoing each other's work.  Each directory
 * is opened once per call with spooldir_sub() and used only by name.
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
#include "spooldir.h"

/*
 * SPOOL/dir opened and checked (spooldir_sub), and id checked, so that
 * everything after acts by one name inside that directory fd: a symlink
 * in place of queue/ or hold/ never leads root out of the spool.
 */
static int
entry_dir(int spoolfd, const char *dir, const char *id, int *dfd)
{
	*dfd = -1;
	if (!queue_id_valid(id))
		return -EINVAL;
	return spooldir_sub(spoolfd, dir, dfd, NULL);
}

static void
close_fd(int fd)
{
	if (fd != -1)
		(void)close(fd);
}

static int
sync_fd(int fd)
{
	return fsync(fd) == -1 ? -errno : 0;
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
	struct stat a, b;
	int fd = -1, dfd = -1, rv;

	*lockfd = -1;
	if (qf != NULL)
		*qf = NULL;
	if ((rv = entry_dir(spoolfd, dir, id, &dfd)) != 0)
		return rv;
	fd = openat(
	    dfd, id, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		rv = -errno;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rv = -errno;
		goto out;
	}
	/* The holder before us may have replaced or moved it. */
	if (fstat(fd, &a) == -1 ||
	    fstatat(dfd, id, &b, AT_SYMLINK_NOFOLLOW) == -1) {
		rv = errno == ENOENT ? -ENOENT : -errno;
		goto out;
	}
	rv = -ENOENT;
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		goto out;
	rv = -EPERM;
	if (!S_ISREG(a.st_mode) || a.st_nlink != 1)
		goto out;
	rv = qf != NULL ? queue_read_fd(dfd, id, fd, qf) : 0;
out:
	close_fd(dfd);
	if (rv != 0)
		close_fd(fd);
	else
		*lockfd = fd;
	return rv;
}

/*
 * Write qf to the new file fd: envelope, the message (copied from the
 * old file when it is not in memory), fsync.  *envlen: where it starts.
 */
static int
write_file(int fd, const struct queue_file *qf, size_t *envlen)
{
	char *env = NULL;
	int rv;

	if ((rv = queue_envelope(qf, &env, envlen)) != 0)
		return rv;
	if ((rv = fdio_write_all(fd, env, *envlen)) == 0 &&
	    (rv = queue_msg_copy(qf, fd)) == 0 && fsync(fd) == -1)
		rv = -errno;
	free(env);
	return rv;
}

int
qupdate_write(int spoolfd, struct queue_file *qf, int *lockfd)
{
	char tmp[QUEUE_ID_MAX + 8];
	int tfd = -1, qfd = -1, fd = -1, rv, made = 0;
	size_t envlen = 0;

	if ((rv = entry_dir(spoolfd, "tmp", qf->id, &tfd)) != 0 ||
	    (rv = entry_dir(spoolfd, "queue", qf->id, &qfd)) != 0)
		goto out;
	(void)snprintf(tmp, sizeof(tmp), "%s.update", qf->id);
	/* A worker killed mid-update left it; we hold the message lock. */
	if (unlinkat(tfd, tmp, 0) == -1 && errno != ENOENT) {
		rv = -errno;
		goto out;
	}
	/* Readable: the message is read from the lock's file (qf->msgfd). */
	fd = openat(
	    tfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		rv = -errno;
		goto out;
	}
	made = 1;
	/* Locked before anyone can see it under queue/. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		rv = -errno;
		goto out;
	}
	if ((rv = write_file(fd, qf, &envlen)) != 0)
		goto out;
	if (renameat(tfd, tmp, qfd, qf->id) == -1) {
		rv = -errno;
		goto out;
	}
	made = 0;
	qupdate_unlock(lockfd);
	*lockfd = fd;
	if (qf->msg == NULL) { /* the old file is closed: use the new one */
		qf->msgfd = fd;
		qf->msgoff = (off_t)envlen;
	}
	fd = -1;
	rv = sync_fd(qfd);
out:
	if (made)
		(void)unlinkat(tfd, tmp, 0);
	close_fd(fd);
	close_fd(tfd);
	close_fd(qfd);
	return rv;
}

int
qupdate_remove(int spoolfd, const char *dir, const char *id, int *lockfd)
{
	int dfd = -1, rv;

	if ((rv = entry_dir(spoolfd, dir, id, &dfd)) == 0) {
		if (unlinkat(dfd, id, 0) == -1)
			rv = -errno;
		else
			rv = sync_fd(dfd);
	}
	close_fd(dfd);
	qupdate_unlock(lockfd);
	return rv;
}

int
qupdate_move(
    int spoolfd, const char *from, const char *to, const char *id, int *lockfd)
{
	int ffd = -1, tfd = -1, rv;

	if ((rv = entry_dir(spoolfd, from, id, &ffd)) != 0 ||
	    (rv = entry_dir(spoolfd, to, id, &tfd)) != 0)
		goto out;
	if (renameat2(ffd, id, tfd, id, RENAME_NOREPLACE) == -1) {
		rv = -errno;
		goto out;
	}
	if ((rv = sync_fd(tfd)) == 0)
		rv = sync_fd(ffd);
out:
	close_fd(ffd);
	close_fd(tfd);
	qupdate_unlock(lockfd);
	return rv;
}
