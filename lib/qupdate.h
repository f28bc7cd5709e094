/*
 * Rewriting a committed queue file in place, crash-safely: a new file in
 * tmp/, fsync, rename over queue/ID, fsync the directory, so a crash
 * leaves the old file or the new one, never a mix.  Writers (delivery
 * workers, relayctl queue hold/delete) serialise on an flock(2) of the
 * file, taken before reading it and moved to each new version.  dir is a
 * name under the spool ("queue", "hold", "tmp"), opened and checked with
 * spooldir_sub() on every call (-ELOOP, -ENOTDIR or -EPERM if it is not the
 * spool's own directory); files are then named by id inside it only.
 */
#ifndef RELAY_QUPDATE_H
#define RELAY_QUPDATE_H

#include "queue.h"

/*
 * Lock SPOOL/dir/id (dir "queue" or "hold") for an update: open it
 * (O_NOFOLLOW), flock(LOCK_EX|LOCK_NB), check that the locked file is
 * still the one named dir/id, then read it with queue_read_fd(): every
 * check of queue_read(), but the message stays in the file, read from
 * *lockfd with queue_msg_read() (qf->msgfd is *lockfd; it is valid until
 * the lock is released).  Returns 0 with *lockfd and *qf set (qf may be
 * NULL: lock only), -EWOULDBLOCK if another writer holds it, -ENOENT if
 * it is gone, or another -errno.
 */
int qupdate_lock(int spoolfd, const char *dir, const char *id, int *lockfd,
    struct queue_file **qf);

/*
 * Replace SPOOL/queue/ID (ID = qf->id) with qf: write tmp/ID.update
 * (O_EXCL|O_NOFOLLOW, 0600; a stale one is removed first), lock it, write
 * the envelope and the message (from qf->msg, or copied from the locked
 * file, qf->msgfd), fsync, rename over queue/ID, fsync queue/.  The
 * caller must hold the lock (*lockfd from qupdate_lock); on success it
 * is moved to the new file (*lockfd replaced, the old fd closed), and so
 * are qf->msgfd and qf->msgoff.  On failure queue/ID is the old file (or,
 * if only the final directory fsync failed, the new one, and the lock
 * and qf have moved to it: the caller cannot tell, so it must treat both
 * as possible) and tmp/ is clean.  Returns 0 or -errno (-EIO if the old
 * file is shorter than its size field says).
 */
int qupdate_write(int spoolfd, struct queue_file *qf, int *lockfd);

/*
 * Remove SPOOL/dir/id (all recipients done, or relayctl queue delete)
 * and fsync dir; the lock (*lockfd) is released and set to -1.  Returns
 * 0 or -errno.
 */
int qupdate_remove(int spoolfd, const char *dir, const char *id, int *lockfd);

/*
 * Move SPOOL/from/id to SPOOL/to/id (hold/release) without replacing an
 * existing file (-EEXIST), fsync both directories; *lockfd released.
 */
int qupdate_move(
    int spoolfd, const char *from, const char *to, const char *id, int *lockfd);

/* Release a lock from qupdate_lock (fd closed, *lockfd = -1); -1 is ok. */
void qupdate_unlock(int *lockfd);

#endif /* RELAY_QUPDATE_H */
