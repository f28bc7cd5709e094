/*
 * relayd_pid: which running relayd master, if any, a pidfile names.  The
 * one answer relayctl's start, stop, status, queue flush and check share,
 * so that a stale pidfile never makes one of them signal a stranger.
 */
#ifndef RELAY_RELAYD_PID_H
#define RELAY_RELAYD_PID_H

#include <sys/types.h>
#include <stddef.h>

/*
 * The text of a pidfile: decimal digits, optionally one '\n', nothing
 * else; a pid from 2 to INT_MAX (1 is init).  0 or -EINVAL.
 */
int relayd_pid_parse(const char *text, size_t len, pid_t *pid);

/*
 * Whether pid, as procfd (the real /proc or a fixture standing in for it)
 * shows it, is a live relayd master:
 *   - it exists and is not a zombie;
 *   - its real uid is 0 (the master never drops; its children, which
 *     carry relayd titles too, run as the relay account, and nobody
 *     else can be uid 0);
 *   - its title is "relayd: ..." (setproctitle), or, before the master has
 *     set one, its argv[0] is "relayd" or ends in "/relayd".
 * 0 when it is; -ESRCH when it is not (or is gone); another -errno when
 * procfd could not be read.
 */
int relayd_pid_is_master(int procfd, pid_t pid);

/*
 * Read the pidfile (an absolute path under rootfd, resolved without
 * following any symlink; a regular file of at most 31 bytes) and check what
 * it names.  Returns 0 with *pid set when a live relayd master runs;
 * -ESRCH with *pid set to the pid the file holds when that process is gone
 * or is not relayd (a stale pidfile); -ENOENT when there is no pidfile or
 * it is empty (relayd has not written it yet); -EINVAL when it holds
 * anything but a pid or is not a regular file; -ELOOP for a symlink on the
 * way; another -errno when it cannot be read.  *pid is 0 unless said.
 * The pidfile lock is not tested: taking it, even for a moment, could make
 * a relayd that starts at that moment fail, and a fixture has none.
 */
int relayd_pid(int rootfd, const char *pidfile, int procfd, pid_t *pid);

#endif
