/*
 * fsfix.c: owner/mode changes and file creation as root, through fds only.
 * Trust boundary: the objects and their parent directories may belong to
 * (or be writable by) the relay user, who can swap names at any time; we act
 * only on fds opened without following symlinks and refuse hard links.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsfix.h"
#include "readfile.h"
#include "walk.h"

#define TEMP_SUFFIX_LEN 6
#define TEMP_TRIES 64

/* A single path component we may create or open relative to a dir fd. */
static int
check_name(const char *name)
{
	if (name == NULL || name[0] == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	if (strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* A hard-linked non-directory may be someone else's file (CVE-2017-18078). */
static int
check_target(int fd, struct stat *st)
{
	if (fstat(fd, st) == -1)
		return -errno;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1)
		return -EMLINK;
	return 0;
}

/* fsync a directory given by a possibly O_PATH fd. */
static int
sync_dir(int dirfd)
{
	int fd, r = 0;

	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (fsync(fd) == -1)
		r = -errno;
	close(fd);
	return r;
}

int
fsfix_chown(int fd, uid_t uid, gid_t gid)
{
	struct stat st;
	int r;

	if ((r = check_target(fd, &st)) < 0)
		return r;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ==
	    -1)
		return -errno;
	return 0;
}

/* chmod of the object fd names (O_PATH too), whose type was checked. */
static int
chmod_fd(int fd, mode_t mode)
{
	char p[64];
	int r;

	if ((r = walk_fd_path(fd, p, sizeof(p))) < 0)
		return r;
	if (fchmodat(AT_FDCWD, p, mode & 07777, 0) == -1)
		/* fd is valid (fstat worked): ENOENT means no /proc. */
		return errno == ENOENT ? -ENOSYS : -errno;
	return 0;
}

int
fsfix_chmod(int fd, mode_t mode)
{
	struct stat st;
	int r;

	if ((r = check_target(fd, &st)) < 0)
		return r;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return chmod_fd(fd, mode);
}

/*
 * One fstat for the checks: what fd names (its inode, type and links)
 * cannot change under us; only its owner and mode can, and those we set.
 * A setup of a million files spends its time in system calls, so none
 * is repeated (doc/design.md, Filesystem changes done as root).
 */
int
fsfix_owner_mode(
    int fd, const struct stat *cur, uid_t uid, gid_t gid, mode_t want)
{
	struct stat now;
	mode_t narrow;
	int r, chown_needed;

	if (fstat(fd, &now) == -1)
		return -errno;
	if (cur != NULL &&
	    (cur->st_dev != now.st_dev || cur->st_ino != now.st_ino))
		return -ESTALE;
	if (S_ISLNK(now.st_mode))
		return -ELOOP;
	want &= 07777;
	chown_needed = (uid != (uid_t)-1 && uid != now.st_uid) ||
	    (gid != (gid_t)-1 && gid != now.st_gid);
	if (!chown_needed && (now.st_mode & 07777) == want)
		return 0;
	/* A hard-linked non-directory may be someone else's file. */
	if (!S_ISDIR(now.st_mode) && now.st_nlink > 1)
		return -EMLINK;
	if (!chown_needed)
		return chmod_fd(fd, want);
	/*
	 * Never let the new owner or group inherit bits it should not have,
	 * not even for a moment: a set-id bit or write access granted by the
	 * old owner's mode.
	 */
	narrow = now.st_mode & want & 0777;
	if ((now.st_mode & 07777) != narrow && (r = chmod_fd(fd, narrow)) < 0)
		return r;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) ==
	    -1)
		return -errno;
	/* chown keeps the permission bits; the set-id and sticky bits
	 * are set last, on the new owner's object. */
	return want == narrow ? 0 : chmod_fd(fd, want);
}

int
fsfix_mkdir(
    int dirfd, const char *name, uid_t uid, gid_t gid, mode_t mode, int *fdp)
{
	struct stat st;
	int fd = -1, r;

	if (fdp != NULL)
		*fdp = -1;
	if ((r = check_name(name)) < 0)
		return r;
	if (mkdirat(dirfd, name, 0700) == -1)
		return -errno;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		r = errno == ENOTDIR || errno == ELOOP ? -ESTALE : -errno;
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		r = -errno;
		goto out;
	}
	/* Swapped after mkdirat by whoever can write the parent? */
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		r = -ESTALE;
		goto out;
	}
	if ((r = fsfix_owner_mode(fd, &st, uid, gid, mode)) < 0)
		goto out;
	if ((r = sync_dir(dirfd)) < 0)
		goto out;
	if (fdp != NULL) {
		*fdp = fd;
		fd = -1;
	}
out:
	if (fd != -1)
		close(fd);
	return r;
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create ".name.XXXXXX" exclusively; its name goes to tmp. */
static int
create_temp(int dirfd, const char *name, char *tmp, size_t size)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789";
	char sfx[TEMP_SUFFIX_LEN + 1];
	int fd, i, j, n;

	for (i = 0; i < TEMP_TRIES; i++) {
		for (j = 0; j < TEMP_SUFFIX_LEN; j++)
			sfx[j] = chars[arc4random_uniform(sizeof(chars) - 1)];
		sfx[TEMP_SUFFIX_LEN] = '\0';
		n = snprintf(tmp, size, ".%s.%s", name, sfx);
		if (n < 0 || (size_t)n >= size || (size_t)n > NAME_MAX)
			return -ENAMETOOLONG;
		fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Move tmp to name unless name exists; fall back to link for old fs. */
static int
rename_noreplace(int dirfd, const char *tmp, const char *name)
{
	if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (linkat(dirfd, tmp, dirfd, name, 0) == -1)
		return -errno;
	(void)unlinkat(dirfd, tmp, 0);
	return 0;
}

int
fsfix_install(int dirfd, const char *name, const void *buf, size_t len,
    uid_t uid, gid_t gid, mode_t mode)
{
	char tmp[NAME_MAX + 2];
	int fd = -1, r, saved;

	if ((r = check_name(name)) < 0)
		return r;
	if ((fd = create_temp(dirfd, name, tmp, sizeof(tmp))) < 0)
		return fd;
	if ((r = write_all(fd, buf, len)) < 0)
		goto fail;
	/* chown first: it clears set-id bits the final mode may want. */
	if (fchown(fd, uid, gid) == -1 || fchmod(fd, mode & 07777) == -1 ||
	    fsync(fd) == -1) {
		r = -errno;
		goto fail;
	}
	close(fd);
	fd = -1;
	if ((r = rename_noreplace(dirfd, tmp, name)) < 0)
		goto fail;
	return sync_dir(dirfd);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return r;
}

/* A temp file with buf, st's owner and mode, synced, renamed to name. */
static int
write_over(int dirfd, const char *name, const void *buf, size_t len,
    const struct stat *st)
{
	char tmp[NAME_MAX + 2];
	int fd = -1, r, saved;

	if ((fd = create_temp(dirfd, name, tmp, sizeof(tmp))) < 0)
		return fd;
	if ((r = write_all(fd, buf, len)) < 0)
		goto fail;
	if (fchown(fd, st->st_uid, st->st_gid) == -1 ||
	    fchmod(fd, st->st_mode & 07777) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1) {
		fd = -1;
		r = -errno;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1) {
		r = -errno;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(dirfd, tmp, 0);
	errno = saved;
	return r;
}

int
fsfix_replace(int dirfd, const char *name, const struct stat *old,
    const void *old_buf, size_t old_len, const void *buf, size_t len,
    const char *backup)
{
	struct stat now;
	int r;

	if ((r = check_name(name)) < 0 || (r = check_name(backup)) < 0)
		return r;
	if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) == -1)
		return -errno;
	if (!S_ISREG(now.st_mode) || now.st_dev != old->st_dev ||
	    now.st_ino != old->st_ino || now.st_size != old->st_size ||
	    now.st_mtim.tv_sec != old->st_mtim.tv_sec ||
	    now.st_mtim.tv_nsec != old->st_mtim.tv_nsec)
		return -ESTALE;
	if (now.st_nlink > 1)
		return -EMLINK;
	if ((r = write_over(dirfd, backup, old_buf, old_len, &now)) < 0 ||
	    (r = write_over(dirfd, name, buf, len, &now)) < 0)
		return r;
	return sync_dir(dirfd);
}

int
fsfix_read_file(
    int dirfd, const char *name, size_t max, char **bufp, size_t *lenp)
{
	struct stat st;
	int r;

	*bufp = NULL;
	*lenp = 0;
	if ((r = check_name(name)) < 0)
		return r;
	r = readfile_at(dirfd, name, max, bufp, lenp, &st);
	return r == -EINVAL && S_ISDIR(st.st_mode) ? -EISDIR : r;
}
