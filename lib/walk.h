/*
 * walk.h: no-follow walk over a tree the relay user may write to, and
 * component-by-component resolution of literal paths under a root fd.
 */
#ifndef RELAY_WALK_H
#define RELAY_WALK_H

#include <sys/stat.h>
#include <stddef.h>

#define WALK_MAX_DEPTH 64 /* deeper trees fail with -ELOOP */

struct walk_entry {
	int fd; /* O_PATH|O_NOFOLLOW|O_CLOEXEC fd of this object
			     (valid during visit only) */
	int dirfd; /* O_RDONLY|O_DIRECTORY fd of the parent */
	const char
	    *path; /* absolute path relative to the root: "/etc/mail/x" */
	const char *name; /* last component */
	struct stat st; /* fstat(fd) — the only stat taken for this entry */
	int depth; /* 1 for entries directly under the root */
};

struct walk_ops {
	/* 1 = walk into this directory. other_fs: st_dev differs from its
	 * parent's. NULL = never descend. */
	int (*descend)(
	    const char *path, const struct stat *st, int other_fs, void *arg);
	/* <0 stops the walk and is returned by walk_tree. */
	int (*visit)(const struct walk_entry *e, void *arg);
	void *arg;
	/* A directory deeper than WALK_MAX_DEPTH (err -ELOOP), or one whose
	 * entries' paths are longer than PATH_MAX (-ENAMETOOLONG): 0 leaves
	 * that subtree unwalked and goes on with the rest, <0 stops the walk.
	 * NULL: the walk fails with err. */
	int (*skipped)(const char *path, int err, void *arg);
};

/*
 * Pre-order walk of the entries below rootfd (an O_PATH|O_DIRECTORY fd; the
 * root itself is not visited), sorted by name inside each directory.
 * Directories are entered through the visited O_PATH fd, never by name, and
 * symlinks are never followed. Entries that vanish before they are opened
 * are skipped. Returns 0, a negative visit() or skipped() result,
 * -ENAMETOOLONG (path longer than PATH_MAX) or -ELOOP (deeper than
 * WALK_MAX_DEPTH) when there is no skipped(), -ESTALE (the directory opened
 * for reading is not the one visited) or another -errno.
 */
int walk_tree(int rootfd, const struct walk_ops *ops);

/*
 * Resolve an absolute path ("/etc/mail/aliases") under rootfd, one component
 * at a time with O_PATH|O_NOFOLLOW. A symlink at any component (the last one
 * included) gives -ELOOP, a missing one -ENOENT, a non-directory in the middle
 * -ENOTDIR, "." or ".." or a relative path -EINVAL. "/" gives a new fd for
 * the root itself. On success *fdp is an O_PATH|O_CLOEXEC fd the caller
 * closes and *st (if not NULL) its fstat.
 */
int walk_open(int rootfd, const char *path, int *fdp, struct stat *st);

/*
 * "/proc/self/fd/N" for fd into buf: the name of the object fd holds that
 * never resolves another path, for calls that take only a name (fchmodat,
 * acl_get_file). -ENAMETOOLONG if buf is too small.
 */
int walk_fd_path(int fd, char *buf, size_t size);

/*
 * Open the object behind pathfd (an O_PATH fd, walk_open's) for I/O through
 * /proc/self/fd/N with flags | O_NONBLOCK|O_NOCTTY|O_CLOEXEC. Returns the new
 * fd, or -errno (-ENOSYS when /proc is not mounted).
 */
int walk_reopen(int pathfd, int flags);

/*
 * walk_open then walk_reopen: an fd for I/O on path under rootfd with no
 * symlink anywhere on the way. A directory when flags has O_DIRECTORY
 * (-ENOTDIR otherwise), else a regular file (-EINVAL otherwise). *st (if not
 * NULL) is the object's fstat. Returns the fd or -errno.
 */
int walk_open_io(int rootfd, const char *path, int flags, struct stat *st);

/*
 * Open the file at the absolute path under rootfd for I/O (flags |
 * O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC), following a symlink only when
 * root owns it and every directory on the way (the root fd's included) is
 * root's and not writable by group or others, as certbot's live/ links
 * into archive/ are (walk_trusted.c).  Absolute link targets resolve under
 * rootfd; ".." stops at it.  *st (if not NULL) is the file's stat.
 * Returns the fd or -errno: -EPERM for an untrusted link or directory,
 * -ELOOP after 40 links, -EISDIR for the root itself, -EINVAL for a
 * relative path, -ESTALE if a component changed while it was opened.
 */
int walk_open_trusted(int rootfd, const char *path, int flags, struct stat *st);

#endif /* RELAY_WALK_H */
