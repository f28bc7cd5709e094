/*
 * fsfix.h: change owners, modes and files through fds only. Every function
 * works on an fd obtained without following symlinks (walk.h); none takes
 * a path to an existing object. Names are single components (no '/').
 */
#ifndef RELAY_FSFIX_H
#define RELAY_FSFIX_H

#include <sys/stat.h>
#include <sys/types.h>
#include <stddef.h>

/*
 * fchownat(fd, "", uid, gid, AT_EMPTY_PATH|AT_SYMLINK_NOFOLLOW); (uid_t)-1 /
 * (gid_t)-1 keep. -EMLINK for a non-directory with st_nlink > 1.
 */
int fsfix_chown(int fd, uid_t uid, gid_t gid);

/*
 * Mode (07777 bits) through /proc/self/fd/N so fd may be O_PATH. -ELOOP for
 * a symlink, -EMLINK for a non-directory with st_nlink > 1, -ENOSYS when
 * /proc is not mounted.
 */
int fsfix_chmod(int fd, mode_t mode);

/*
 * Set owner and mode safely. If the owner or group changes, first narrow the
 * mode to (current & want & 0777) (no set-id, no sticky), then chown, then
 * set want (chown clears set-id bits). cur is the caller's fstat of fd, only
 * used to check it is the same inode (-ESTALE otherwise); may be NULL. The
 * current mode and owner are taken from a fresh fstat. -ELOOP for a symlink.
 */
int fsfix_owner_mode(
    int fd, const struct stat *cur, uid_t uid, gid_t gid, mode_t want);

/*
 * mkdirat(dirfd, name, 0700), open it O_PATH|O_NOFOLLOW, check it is the
 * directory we made (a root-owned 0700 empty directory), fsfix_owner_mode,
 * fsync the parent. -EEXIST if name exists. On success *fdp (if not NULL)
 * is the new directory's O_PATH fd. dirfd may be O_PATH.
 */
int fsfix_mkdir(
    int dirfd, const char *name, uid_t uid, gid_t gid, mode_t mode, int *fdp);

/*
 * Create name holding buf atomically: write a ".name.XXXXXX" temp file
 * (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), fchown/fchmod it, fsync, then rename it
 * into place without replacing anything (-EEXIST if name exists), fsync the
 * directory. The temp file is removed on any error. dirfd may be O_PATH.
 */
int fsfix_install(int dirfd, const char *name, const void *buf, size_t len,
    uid_t uid, gid_t gid, mode_t mode);

/*
 * Replace the regular file name in dirfd with buf, keeping its owner and
 * mode: the old bytes go to backup (written and renamed the same way, so
 * it is always a whole file), the new ones to a ".name.XXXXXX" temp file
 * that is fsynced and renamed over name; the directory is fsynced.  old is
 * the caller's fstat of the file it read: -ESTALE when name is no longer
 * that file (replaced or changed meanwhile), -EMLINK when it has other
 * links.  old_buf/old_len are the bytes the caller read.
 */
int fsfix_replace(int dirfd, const char *name, const struct stat *old,
    const void *old_buf, size_t old_len, const void *buf, size_t len,
    const char *backup);

/*
 * readfile_at (readfile.h) of the single component name: a regular file
 * (O_NOFOLLOW; a FIFO or device never blocks us: -EINVAL, a directory
 * -EISDIR) of at most max bytes (-EFBIG), -ESTALE if it changed while read.
 * *bufp is malloc'ed and NUL-terminated (not counted in *lenp); the caller
 * frees it.
 */
int fsfix_read_file(
    int dirfd, const char *name, size_t max, char **bufp, size_t *lenp);

#endif /* RELAY_FSFIX_H */
