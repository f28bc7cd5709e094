/*
 * spooldir: the one way to open the mail spool and its subdirectories
 * (tmp/, queue/, hold/).  The relay account owns the spool and may plant
 * anything in it, so a caller acts only by single names inside the
 * directory fds these return, never by a path through the spool.
 */
#ifndef RELAY_SPOOLDIR_H
#define RELAY_SPOOLDIR_H

#include <sys/types.h>
#include <sys/stat.h>

/*
 * Open the spool at path (absolute, under rootfd) without following a
 * symlink at any component (walk_open), and check it: a directory owned
 * by owner and not writable by group or others (an ACL granting write
 * shows in the group bits).  Returns 0 with *fdp an O_RDONLY|O_DIRECTORY
 * fd, or -ELOOP (a symlink on the way), -ENOTDIR, -EPERM (wrong owner or
 * mode: *st, if not NULL, says what was found) or another -errno.
 */
int spooldir_open(
    int rootfd, const char *path, uid_t owner, int *fdp, struct stat *st);

/*
 * Open the subdirectory name (one component: no '/', not "." or "..";
 * -EINVAL otherwise) of the spool spoolfd with O_NOFOLLOW, and check it:
 * a directory owned by the spool's owner and not writable by group or
 * others.  Returns 0 with *fdp an O_RDONLY|O_DIRECTORY fd, or -ELOOP (a
 * symlink), -ENOTDIR, -ENOENT, -EPERM (*st, if not NULL, says what was
 * found) or another -errno.
 */
int spooldir_sub(int spoolfd, const char *name, int *fdp, struct stat *st);

#endif /* RELAY_SPOOLDIR_H */
