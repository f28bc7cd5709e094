/*
 * The one privilege drop every relayd child performs before it reads or
 * writes a byte of network data: chroot, groups, ids, capabilities,
 * no_new_privs, then a verification that the drop cannot be undone.
 */
#ifndef RELAY_PRIVDROP_H
#define RELAY_PRIVDROP_H

#include <sys/types.h>
#include <stddef.h>

/* Most supplementary groups a drop may keep (relayd keeps none). */
#define PRIVDROP_NGROUPS_MAX 16

struct privdrop {
	uid_t uid; /* target uid: never 0, never (uid_t)-1 */
	gid_t gid; /* target gid: never 0, never (gid_t)-1 */
	const gid_t *groups; /* supplementary groups to keep (usually none) */
	size_t ngroups; /* <= PRIVDROP_NGROUPS_MAX; none may be 0 */
	const char *chroot_dir; /* NULL: no chroot; else chroot + chdir("/") */
};

/*
 * Drop for good, then privdrop_verify(). Call as root (or with
 * CAP_SETUID, CAP_SETGID, CAP_SETPCAP and, for chroot, CAP_SYS_CHROOT) in
 * a single-threaded process (a freshly forked child): capability changes
 * are per thread. Returns 0 or -errno; errbuf (if errlen > 0) gets one
 * line naming the failed step ("setgroups: Operation not permitted").
 * Any failure leaves the process half-dropped: the caller must exit.
 */
int privdrop_apply(const struct privdrop *p, char *errbuf, size_t errlen);

/*
 * Re-check everything privdrop_apply() promises: real/effective/saved
 * uid and gid, the group list, setuid(0)/setgid(0) refused, capability
 * sets, bounding and ambient sets empty, no_new_privs set, not dumpable.
 * Returns 0 or -errno (-EPERM for a drop that did not happen or stick).
 */
int privdrop_verify(const struct privdrop *p, char *errbuf, size_t errlen);

#endif
