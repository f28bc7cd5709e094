/*
 * Opening the spool and its subdirectories for root (relayctl queue,
 * relayd's master) and the relay account alike.  Trust boundary: the
 * relay account owns every directory here; a symlink or a foreign
 * directory in place of queue/ would make root create, move or unlink
 * files outside the spool, so nothing is followed and what was opened is
 * checked on its fd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "spooldir.h"
#include "walk.h"

/* A directory of owner's that nobody else can write to. */
static int
dir_check(const struct stat *st, uid_t owner)
{
	if (!S_ISDIR(st->st_mode))
		return -ENOTDIR;
	if (st->st_uid != owner || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return -EPERM;
	return 0;
}

int
spooldir_open(
    int rootfd, const char *path, uid_t owner, int *fdp, struct stat *stp)
{
	struct stat st;
	int pfd = -1, fd = -1, rv;

	*fdp = -1;
	if ((rv = walk_open(rootfd, path, &pfd, &st)) < 0)
		return rv;
	if (stp != NULL)
		*stp = st;
	if ((rv = dir_check(&st, owner)) < 0)
		goto out;
	/* "." of the O_PATH fd: the directory checked, not a new lookup. */
	if ((fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		rv = -errno;
	else
		*fdp = fd;
out:
	(void)close(pfd);
	return rv;
}

int
spooldir_sub(int spoolfd, const char *name, int *fdp, struct stat *stp)
{
	struct stat sp, st;
	int fd = -1, rv;

	*fdp = -1;
	if (name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (fstat(spoolfd, &sp) == -1)
		return -errno;
	fd = openat(
	    spoolfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		rv = -errno;
		/* O_DIRECTORY may win over O_NOFOLLOW: say which it was. */
		if (rv == -ENOTDIR &&
		    fstatat(spoolfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode))
			rv = -ELOOP;
		return rv;
	}
	if (fstat(fd, &st) == -1) {
		rv = -errno;
		goto out;
	}
	if (stp != NULL)
		*stp = st;
	rv = dir_check(&st, sp.st_uid);
out:
	if (rv == 0)
		*fdp = fd;
	else
		(void)close(fd);
	return rv;
}
