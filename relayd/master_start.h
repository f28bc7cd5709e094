/*
 * relayd start-up steps run as full root before the master drops its
 * capabilities: account lookup, spool check (OpenSMTPD ckdir()), pidfile
 * path, and the capability drop itself. Each returns 0 or -errno with a
 * one-line reason in err; main decides the exit status.
 */
#ifndef RELAYD_MASTER_START_H
#define RELAYD_MASTER_START_H

#include <stddef.h>

#include "master.h"

/* Path p (absolute) under m->root into out; -ENAMETOOLONG on overflow. */
int master_path(const struct master *m, const char *p, char *out, size_t len);

/* cfg.run_as in ROOT/etc/passwd into m->uid/gid (never getpwnam). */
int master_account(struct master *m, char *err, size_t errlen);

/*
 * Open cfg.spool under the root through spooldir without following
 * symlinks; refuse it unless "/" and every directory above it are root's
 * and writable by nobody else, it is run_as's with mode 0700, and its
 * tmp/ and queue/ (and hold/ and corrupt/ when present) are run_as's
 * directories writable by nobody else.  Sets m->spoolfd and m->spooldir.
 * Returns 0, -EPERM (unsafe: another user could change the queue),
 * -EINVAL (safe but not mode 0700) or another -errno.
 */
int master_spool(struct master *m, char *err, size_t errlen);

/*
 * On reload: the same checks again, and the spool must still be the
 * directory m->spoolfd holds.  0 or -errno with the reason in err.
 */
int master_spool_recheck(struct master *m, char *err, size_t errlen);

/*
 * cfg's tls_cert and tls_key under m->root, read now (as root) into a new
 * server context for the children to inherit: *ctxp NULL when cfg has no
 * TLS.  0 or -errno with the reason in err.
 */
/*
 * cfg->smarthost_auth (if set) read as root into *ap (NULL if unset):
 * the workers inherit the copy and never open the file.  0 or -errno.
 */
int master_sauth(const struct master *m, const struct config *cfg,
    struct authfile **ap, char *err, size_t errlen);

int master_tls(const struct master *m, const struct config *cfg,
    struct ssl_ctx_st **ctxp, char *err, size_t errlen);

/*
 * Empty the bounding and ambient sets, then keep exactly
 * CAP_NET_BIND_SERVICE, CAP_SETUID, CAP_SETGID, CAP_SYS_CHROOT and
 * CAP_KILL permitted and effective (inheritable empty). uid stays 0.
 */
int master_caps(char *err, size_t errlen);

#endif
