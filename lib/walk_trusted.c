/*
 * Root-trusted path resolution (walk.h, walk_open_trusted): for files only
 * root may change, such as certbot's /etc/letsencrypt/live/NAME/ files,
 * symlinks into ../../archive/NAME/.  A symlink is followed when it is
 * root's and every directory on the way is root's and not writable by
 * group or others: then nobody but root chose where it points.  Absolute
 * link targets stay under the root fd, as in a chroot.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "walk.h"

#define TRUSTED_HOPS 40 /* symlinks followed at most, as Linux's MAXSYMLINKS */

static int
trusted_dir(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && st->st_uid == 0 &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/* "/a/./b//../c" to "/a/c" in place; ".." stops at the root. */
static void
normalize(char *path)
{
	char out[PATH_MAX];
	const char *p = path, *c;
	size_t n = 0, len;

	while (*p != '\0') {
		p += strspn(p, "/");
		c = p;
		len = strcspn(p, "/");
		p += len;
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			while (n > 0 && out[n - 1] != '/')
				n--;
			n -= n > 0;
			continue;
		}
		out[n++] = '/';
		memcpy(out + n, c, len); /* out is never longer than path */
		n += len;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	memcpy(path, out, n + 1);
}

/* cur with its component at [at, at+len), link name, replaced by its target. */
static int
link_splice(int dfd, const char *name, char *cur, size_t at, size_t len)
{
	char link[PATH_MAX], next[PATH_MAX];
	ssize_t n;
	int w;

	if ((n = readlinkat(dfd, name, link, sizeof(link) - 1)) < 0)
		return -errno;
	link[n] = '\0';
	if (link[0] == '/')
		w = snprintf(next, sizeof(next), "%s%s", link, cur + at + len);
	else
		w = snprintf(next, sizeof(next), "%.*s%s%s", (int)at, cur, link,
		    cur + at + len);
	if (w < 0 || (size_t)w >= sizeof(next))
		return -ENAMETOOLONG;
	memcpy(cur, next, (size_t)w + 1);
	return 0;
}

/* Open name in dfd: a directory (O_PATH) or the file, as stat'ed in *st. */
static int
step(int dfd, const char *name, int last, int flags, const struct stat *st)
{
	struct stat got;
	int fd;

	if (!last && !trusted_dir(st))
		return -EPERM;
	fd = openat(dfd, name,
	    last ? flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
		 : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &got) < 0 || got.st_dev != st->st_dev ||
	    got.st_ino != st->st_ino) {
		(void)close(fd);
		return -ESTALE; /* changed between the stat and the open */
	}
	return fd;
}

/*
 * The component of cur at [at, at+len) under dfd: an fd (a directory to go
 * on in, or the file when last), -EAGAIN once a trusted symlink has been
 * spliced into cur, or -errno.
 */
static int
component(int dfd, char *cur, size_t at, size_t len, int last, int flags,
    int *hops, struct stat *st)
{
	char name[NAME_MAX + 1];
	int rv;

	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(name, cur + at, len);
	name[len] = '\0';
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (!S_ISLNK(st->st_mode))
		return step(dfd, name, last, flags, st);
	if (st->st_uid != 0)
		return -EPERM;
	if (++*hops > TRUSTED_HOPS)
		return -ELOOP;
	return (rv = link_splice(dfd, name, cur, at, len)) < 0 ? rv : -EAGAIN;
}

/* One walk of cur from the root: the fd, -EAGAIN after a splice, -errno. */
static int
walk_once(int rootfd, char *cur, int flags, int *hops, struct stat *st)
{
	size_t at = 1, len;
	int dfd, fd, last;

	if ((dfd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if (fstat(dfd, st) < 0 || !trusted_dir(st)) {
		(void)close(dfd);
		return -EPERM;
	}
	for (;;) {
		len = strcspn(cur + at, "/");
		last = cur[at + len] == '\0';
		fd = component(dfd, cur, at, len, last, flags, hops, st);
		(void)close(dfd);
		if (fd < 0 || last)
			return fd;
		dfd = fd;
		at += len + 1;
	}
}

int
walk_open_trusted(int rootfd, const char *path, int flags, struct stat *st)
{
	char cur[PATH_MAX];
	struct stat tmp;
	int hops = 0, fd;

	if (st == NULL)
		st = &tmp;
	if (path[0] != '/')
		return -EINVAL;
	if (strlcpy(cur, path, sizeof(cur)) >= sizeof(cur))
		return -ENAMETOOLONG;
	do {
		normalize(cur);
		if (strcmp(cur, "/") == 0)
			return -EISDIR;
		fd = walk_once(rootfd, cur, flags, &hops, st);
	} while (fd == -EAGAIN);
	return fd;
}
