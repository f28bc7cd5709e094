/*
 * The queue runner's corrupt/ queue (relay user, spool fd only). A queue
 * file that is not the relay's own (another owner, more than one link,
 * not a regular file) or not well-formed is never delivered and never
 * retried: it moves to SPOOL/corrupt/ (relayd-queue(5)).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "runner_corrupt.h"
#include "spooldir.h"

/* What queue_read() said, for the one log line. */
static void
corrupt_reason(int qfd, const char *id, int rv, char *buf, size_t len)
{
	struct stat st;

	if (rv == -EINVAL)
		(void)strlcpy(buf, "malformed", len);
	else if (rv == -EFBIG)
		(void)strlcpy(buf, "too big", len);
	else if (fstatat(qfd, id, &st, AT_SYMLINK_NOFOLLOW) == 0)
		(void)snprintf(buf, len,
		    "%s (%s, uid %lu, %lu links, mode %04o)",
		    rv == -EACCES ? "not ours" : "foreign or linked",
		    S_ISLNK(st.st_mode)       ? "symbolic link"
			: S_ISREG(st.st_mode) ? "file"
					      : "not a file",
		    (unsigned long)st.st_uid, (unsigned long)st.st_nlink,
		    (unsigned)(st.st_mode & 07777));
	else
		(void)strlcpy(buf, strerror(-rv), len);
}

/* 1 the first time id fails to move aside, 0 after (log it once). */
static int
corrupt_first(struct runner_corrupt *c, const char *id)
{
	size_t i;

	for (i = 0; i < RUNNER_STUCK_MAX; i++)
		if (strcmp(c->stuck[i], id) == 0)
			return 0;
	(void)strlcpy(
	    c->stuck[c->nstuck++ % RUNNER_STUCK_MAX], id, sizeof(c->stuck[0]));
	return 1;
}

/* SPOOL/corrupt, made by the relay itself when setup has not. */
static int
corrupt_dir(int spoolfd, int *fdp)
{
	int rv;

	rv = spooldir_sub(spoolfd, "corrupt", fdp, NULL);
	if (rv != -ENOENT)
		return rv;
	if (mkdirat(spoolfd, "corrupt", 0700) == -1 && errno != EEXIST)
		return -errno;
	return spooldir_sub(spoolfd, "corrupt", fdp, NULL);
}

void
runner_corrupt_set_aside(struct runner_corrupt *c, int spoolfd, int qfd,
    const char *spooldir, const char *id, int why)
{
	char reason[160], name[QUEUE_ID_MAX + 8];
	int cfd = -1, i, rv;

	corrupt_reason(qfd, id, why, reason, sizeof(reason));
	if ((rv = corrupt_dir(spoolfd, &cfd)) == 0)
		for (i = 0; i < 100; i++) {
			(void)snprintf(
			    name, sizeof(name), i == 0 ? "%s" : "%s.%d", id, i);
			rv = 0;
			if (renameat2(qfd, id, cfd, name, RENAME_NOREPLACE) ==
			    0)
				break;
			if ((rv = -errno) != -EEXIST)
				break;
		}
	if (cfd != -1)
		(void)close(cfd);
	if (rv == 0)
		log_warnx("%s: %s queue file moved to '%s/corrupt/%s'; "
			  "never delivered",
		    id, reason, spooldir, name);
	else if (rv != -ENOENT && corrupt_first(c, id))
		log_warnx("%s: %s queue file; cannot move it to '%s/corrupt': "
			  "%s; not delivered",
		    id, reason, spooldir, strerror(-rv));
}
