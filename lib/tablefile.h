/*
 * The one loader of the tables relayd's master reads as root before any
 * child exists (relay_recipients, auth_users, auth_senders): read under
 * the root with the safe reader, then refuse a file whoever is not root
 * could have written (or, for secrets, read).
 */
#ifndef RELAY_TABLEFILE_H
#define RELAY_TABLEFILE_H

#include <stddef.h>

#include "config.h"

enum tablefile_kind {
	TABLEFILE_ROOT_WRITES, /* root's (or ours), not group/other writable */
	TABLEFILE_SECRET /* root's (or ours), no group/other access at all */
};

/*
 * path ("" means no table: 0 with *bufp NULL) under rootfd, at most max
 * octets. Returns 0 with *bufp (NUL-terminated, *lenp octets; the caller
 * frees it, after explicit_bzero for a secret) or -errno with err->file
 * and err->msg set (-EPERM for a file with the wrong owner or mode).
 */
int tablefile_read(int rootfd, const char *path, size_t max,
    enum tablefile_kind kind, char **bufp, size_t *lenp,
    struct config_error *err);

#endif
