/*
 * readfile.h: the one way to read a whole file the relay user (or anyone
 * but root) may have planted or may be changing: no symlink, no FIFO or
 * device, a size cap, and a consistent snapshot or an error.
 */
#ifndef RELAY_READFILE_H
#define RELAY_READFILE_H

#include <sys/stat.h>
#include <stddef.h>

/*
 * Open path relative to dirfd (AT_FDCWD: as given; otherwise leading '/' are
 * skipped, so "/etc/x" stays under the root fd) with
 * O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY|O_CLOEXEC and read it with
 * readfile_fd. Only the last component is not followed; walk_open_io (walk.h)
 * then readfile_fd refuses a symlink anywhere. -ELOOP for a symlink, other
 * open(2) errors as -errno.
 */
int readfile_at(int dirfd, const char *path, size_t max, char **bufp,
    size_t *lenp, struct stat *st);

/*
 * The open of readfile_at alone (same flags, same path rule): an fd or
 * -errno.  For a caller that reads the file in more than one step.
 */
int readfile_open(int dirfd, const char *path);

/*
 * Read the whole regular file behind fd (from offset 0, whatever fd's offset)
 * into a malloc'ed buffer NUL-terminated after *lenp bytes; the caller frees
 * *bufp. The bytes may hold NULs: text parsers that stop at one check
 * memchr(buf, '\0', len) themselves. Errors, with *bufp NULL and *lenp 0:
 * -EINVAL  not a regular file (directory, FIFO, device, socket);
 * -EFBIG   st_size is more than max;
 * -ESTALE  the file changed while we read it: read(2) gave more or fewer
 *          bytes than st_size, or a second fstat shows another st_size or
 *          st_mtim (a pseudo-file whose st_size is not its length, like
 *          /proc/self/status, always fails so); reading again may succeed;
 * -ENOMEM, or a read(2)/fstat(2) -errno (EINTR is retried).
 * XXX a rewrite in place during the read that keeps the size is missed when
 * it leaves st_mtim as it was (the file's previous write fell in the same
 * tick of the timestamp clock); only a lock the writer honours catches that.
 * st, when not NULL, receives the fstat taken after the read (owner, mode,
 * st_nlink for the caller's own checks); it is zeroed first and filled as
 * soon as fstat works, so it also tells a directory from a FIFO on -EINVAL.
 */
int readfile_fd(int fd, size_t max, char **bufp, size_t *lenp, struct stat *st);

/*
 * readfile_fd for a prefix: the first min(st_size, max) octets, with the
 * same checks (regular file, unchanged while read: -ESTALE) except that a
 * file longer than max is not an error; compare *lenp with st->st_size
 * to know whether the whole file was read.  For formats whose header says
 * how to use the rest (queue envelopes) without reading it.
 */
int readfile_head_fd(
    int fd, size_t max, char **bufp, size_t *lenp, struct stat *st);

/*
 * readfile_fd of walk_open_trusted(rootfd, path, O_RDONLY) (walk.h): an
 * absolute path that may go through symlinks root alone controls, such
 * as certbot's live/ links to TLS certificates and keys.  Errors as both;
 * -EPERM for a link or directory on the way that is not root's alone.
 */
int readfile_trusted(int rootfd, const char *path, size_t max, char **bufp,
    size_t *lenp, struct stat *st);

/* What a readfile_* error means, for messages: "not a regular file" for
 * -EINVAL, "changed while it was read" for -ESTALE, what readfile_trusted
 * refused for -EPERM, else strerror. */
const char *readfile_strerror(int r);

#endif /* RELAY_READFILE_H */
