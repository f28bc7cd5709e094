/*
 * readfile.c: whole-file reads of files we do not trust to hold still.
 * Trust boundary: the file, or the directory it is in, may be writable by
 * the relay user, who can plant a FIFO to hang root in open(2), a symlink to
 * make root read another file, or rewrite the file while we read it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "readfile.h"
#include "walk.h"

/* Up to size bytes from offset 0; fewer only at end of file. */
static int
read_upto(int fd, char *buf, size_t size, size_t *lenp)
{
	size_t len = 0;
	ssize_t n;

	while (len < size) {
		n = pread(fd, buf + len, size - len, (off_t)len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*lenp = len;
	return 0;
}

/* Same length and same last write: no write landed between a and b. */
static int
unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/*
 * The one read: fstat, read up to want octets (one more than st_size for
 * a whole read, so growth shows), fstat again; size and mtime unchanged.
 */
static int
read_stable(
    int fd, size_t max, int whole, char **bufp, size_t *lenp, struct stat *stp)
{
	struct stat st, after;
	char *buf = NULL;
	size_t len = 0, want; /* read_upto sets it only on success */
	int r;

	*bufp = NULL;
	*lenp = 0;
	if (stp != NULL)
		memset(stp, 0, sizeof(*stp));
	if (fstat(fd, &st) == -1)
		return -errno;
	if (stp != NULL)
		*stp = st;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((uintmax_t)st.st_size >= SIZE_MAX)
		return -EFBIG;
	if ((uintmax_t)st.st_size > max && whole)
		return -EFBIG;
	want = (uintmax_t)st.st_size > max ? max : (size_t)st.st_size + 1;
	if ((buf = malloc(want + 1)) == NULL)
		return -ENOMEM;
	if ((r = read_upto(fd, buf, want, &len)) < 0)
		goto fail;
	if (fstat(fd, &after) == -1) {
		r = -errno;
		goto fail;
	}
	if (stp != NULL)
		*stp = after;
	r = -ESTALE;
	if (!unchanged(&st, &after) ||
	    len != (want < (size_t)st.st_size ? want : (size_t)st.st_size))
		goto fail;
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	return r;
}

int
readfile_fd(int fd, size_t max, char **bufp, size_t *lenp, struct stat *stp)
{
	return read_stable(fd, max, 1, bufp, lenp, stp);
}

int
readfile_head_fd(
    int fd, size_t max, char **bufp, size_t *lenp, struct stat *stp)
{
	return read_stable(fd, max, 0, bufp, lenp, stp);
}

int
readfile_open(int dirfd, const char *path)
{
	int fd;

	if (dirfd != AT_FDCWD)
		path += strspn(path, "/");
	/* O_NONBLOCK: open(2) of a planted FIFO must not wait for a writer. */
	do
		fd = openat(dirfd, path,
		    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	while (fd == -1 && errno == EINTR);
	return fd == -1 ? -errno : fd;
}

int
readfile_at(int dirfd, const char *path, size_t max, char **bufp, size_t *lenp,
    struct stat *st)
{
	int fd, r, saved;

	*bufp = NULL;
	*lenp = 0;
	if (st != NULL)
		memset(st, 0, sizeof(*st));
	if ((fd = readfile_open(dirfd, path)) < 0)
		return fd;
	r = readfile_fd(fd, max, bufp, lenp, st);
	saved = errno;
	(void)close(fd);
	errno = saved;
	return r;
}

const char *
readfile_strerror(int r)
{
	if (r == -EINVAL)
		return "not a regular file";
	if (r == -ESTALE)
		return "changed while it was read";
	if (r == -EPERM)
		return "a symlink or directory on the way is not root's alone "
		       "(another owner, or writable by group or others)";
	return strerror(-r);
}

int
readfile_trusted(int rootfd, const char *path, size_t max, char **bufp,
    size_t *lenp, struct stat *st)
{
	int fd, rv;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = walk_open_trusted(rootfd, path, O_RDONLY, NULL)) < 0)
		return fd;
	rv = readfile_fd(fd, max, bufp, lenp, st);
	(void)close(fd);
	return rv;
}
