/*
 * walk.c: safe walk over trees the unprivileged relay user can write to.
 * Trust boundary: we run as root, every name below the root fd may be
 * swapped for a symlink or a hard link at any moment (CVE-2017-18078,
 * CVE-2018-6954). Each object is opened once with O_PATH|O_NOFOLLOW relative
 * to its parent fd and everything else is done through that fd (a read or a
 * listing reopens it through /proc/self/fd/N, never by name).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "walk.h"

struct walk_ctx {
	const struct walk_ops *ops;
	char path[PATH_MAX];
	size_t len;
};

static int walk_dir(struct walk_ctx *, int, dev_t, int);

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Read all names of an open directory (without . and ..), sorted. */
static int
read_names(DIR *d, char ***namesp, size_t *np)
{
	struct dirent *de;
	char **names = NULL, **tmp;
	size_t n = 0, cap = 0;
	int r = 0;

	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			r = -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			tmp = reallocarray(names, cap, sizeof(*names));
			if (tmp == NULL) {
				r = -ENOMEM;
				break;
			}
			names = tmp;
		}
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	if (r < 0) {
		free_names(names, n);
		return r;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	*namesp = names;
	*np = n;
	return 0;
}

/*
 * Enter the directory we just visited through its O_PATH fd: "." relative to
 * it is the same inode whatever happened to its name since.
 */

/*
 * Open a directory for reading through fd.  O_NOATIME: 'check' promises
 * to change no time stamp, and reading a directory would set its atime.
 * It needs ownership or CAP_FOWNER, so fall back without it.
 */
static int
opendir_noatime(int fd)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dfd;

	if ((dfd = openat(fd, ".", flags | O_NOATIME)) == -1 && errno == EPERM)
		dfd = openat(fd, ".", flags);
	return dfd;
}

static int
enter_dir(struct walk_ctx *ctx, const struct walk_entry *e)
{
	struct stat st;
	int fd, r;

	if (e->depth >= WALK_MAX_DEPTH)
		return -ELOOP;
	fd = opendir_noatime(e->fd);
	if (fd == -1)
		return errno == ENOENT ? 0 : -errno; /* removed meanwhile */
	if (fstat(fd, &st) == -1) {
		r = -errno;
		close(fd);
		return r;
	}
	if (st.st_dev != e->st.st_dev || st.st_ino != e->st.st_ino) {
		close(fd);
		return -ESTALE;
	}
	return walk_dir(ctx, fd, st.st_dev, e->depth + 1);
}

/* A subtree too deep or too long to walk: the caller says whether to go on. */
static int
walk_skipped(struct walk_ctx *ctx, int err)
{
	if (ctx->ops->skipped == NULL)
		return err;
	return ctx->ops->skipped(ctx->path, err, ctx->ops->arg);
}

/* Open, stat, visit and maybe enter one entry of the directory dfd. */
static int
walk_one(struct walk_ctx *ctx, int dfd, dev_t pdev, int depth, const char *name)
{
	struct walk_entry e;
	size_t plen = ctx->len;
	int n, r, other_fs;

	n = snprintf(ctx->path + plen, sizeof(ctx->path) - plen, "/%s", name);
	if (n < 0 || (size_t)n >= sizeof(ctx->path) - plen) {
		ctx->path[plen] = '\0';
		return walk_skipped(ctx, -ENAMETOOLONG);
	}
	ctx->len = plen + (size_t)n;

	memset(&e, 0, sizeof(e));
	e.dirfd = dfd;
	e.path = ctx->path;
	e.name = ctx->path + plen + 1;
	e.depth = depth;
	e.fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (e.fd == -1) {
		r = errno == ENOENT ? 0 : -errno; /* vanished: skip */
		goto out;
	}
	if (fstat(e.fd, &e.st) == -1) {
		r = -errno;
		goto out;
	}
	if ((r = ctx->ops->visit(&e, ctx->ops->arg)) < 0)
		goto out;
	r = 0;
	if (!S_ISDIR(e.st.st_mode) || ctx->ops->descend == NULL)
		goto out;
	other_fs = e.st.st_dev != pdev;
	if (ctx->ops->descend(e.path, &e.st, other_fs, ctx->ops->arg) == 1 &&
	    (r = enter_dir(ctx, &e)) == -ELOOP && depth >= WALK_MAX_DEPTH)
		r = walk_skipped(ctx, r);
out:
	if (e.fd != -1)
		close(e.fd);
	ctx->len = plen;
	ctx->path[plen] = '\0';
	return r;
}

/* Walk the directory open for reading as dfd; takes ownership of dfd. */
static int
walk_dir(struct walk_ctx *ctx, int dfd, dev_t dev, int depth)
{
	DIR *d = NULL;
	char **names = NULL;
	size_t i, n = 0;
	int r;

	if ((d = fdopendir(dfd)) == NULL) {
		r = -errno;
		close(dfd);
		return r;
	}
	if ((r = read_names(d, &names, &n)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = walk_one(ctx, dirfd(d), dev, depth, names[i])) < 0)
			goto out;
	}
out:
	free_names(names, n);
	closedir(d);
	return r;
}

int
walk_tree(int rootfd, const struct walk_ops *ops)
{
	struct walk_ctx *ctx = NULL;
	struct stat st;
	int dfd = -1, r;

	if (ops == NULL || ops->visit == NULL)
		return -EINVAL;
	if ((dfd = opendir_noatime(rootfd)) == -1)
		return -errno;
	if (fstat(dfd, &st) == -1) {
		r = -errno;
		close(dfd);
		return r;
	}
	/* PATH_MAX is too large for every frame: one buffer per walk. */
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		close(dfd);
		return -ENOMEM;
	}
	ctx->ops = ops;
	r = walk_dir(ctx, dfd, st.st_dev, 1);
	free(ctx);
	return r;
}

/* Next component of *pp (skipping slashes) into comp; 0 at the end. */
static int
next_component(const char **pp, char *comp, size_t size)
{
	const char *p = *pp, *end;
	size_t len;

	while (*p == '/')
		p++;
	if (*p == '\0')
		return 0;
	end = strchrnul(p, '/');
	len = (size_t)(end - p);
	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(comp, p, len);
	comp[len] = '\0';
	*pp = end;
	if (strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0)
		return -EINVAL;
	return 1;
}

int
walk_open(int rootfd, const char *path, int *fdp, struct stat *stp)
{
	char comp[NAME_MAX + 1];
	struct stat st;
	const char *p = path;
	int fd = -1, nfd, r;

	*fdp = -1;
	if (path == NULL || path[0] != '/')
		return -EINVAL;
	if (strnlen(path, PATH_MAX) >= PATH_MAX)
		return -ENAMETOOLONG;
	fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (fstat(fd, &st) == -1)
		goto fail;
	while ((r = next_component(&p, comp, sizeof(comp))) == 1) {
		if (!S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			goto out;
		}
		nfd = openat(fd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd == -1)
			goto fail;
		close(fd);
		fd = nfd;
		if (fstat(fd, &st) == -1)
			goto fail;
		if (S_ISLNK(st.st_mode)) {
			r = -ELOOP;
			goto out;
		}
	}
	if (r < 0)
		goto out;
	if (stp != NULL)
		*stp = st;
	*fdp = fd;
	return 0;
fail:
	r = -errno;
out:
	close(fd);
	return r;
}

int
walk_fd_path(int fd, char *buf, size_t size)
{
	int n;

	n = snprintf(buf, size, "/proc/self/fd/%d", fd);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int
walk_reopen(int pathfd, int flags)
{
	char p[32];
	int fd, r;

	if ((r = walk_fd_path(pathfd, p, sizeof(p))) < 0)
		return r;
	fd = open(p, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		r = -errno;
		/* ENOENT for an fd we hold open means no /proc. */
		if (r == -ENOENT && fcntl(pathfd, F_GETFD) != -1)
			r = -ENOSYS;
	}
	return fd == -1 ? r : fd;
}

int
walk_open_io(int rootfd, const char *path, int flags, struct stat *stp)
{
	struct stat st;
	int pfd, fd;

	if ((fd = walk_open(rootfd, path, &pfd, &st)) < 0)
		return fd;
	if ((flags & O_DIRECTORY) != 0)
		fd = S_ISDIR(st.st_mode) ? walk_reopen(pfd, flags) : -ENOTDIR;
	else
		fd = S_ISREG(st.st_mode) ? walk_reopen(pfd, flags) : -EINVAL;
	(void)close(pfd);
	if (fd >= 0 && stp != NULL)
		*stp = st;
	return fd;
}
