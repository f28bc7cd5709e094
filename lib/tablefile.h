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

/*
 * Fill err (line, message) and return -EINVAL: for the table parsers'
 * "FILE:LINE: message" errors (err->file is theirs to set).
 */
int tablefile_err(struct config_error *err, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Called for each entry line, NUL-terminated in place (see below). */
typedef int (*tablefile_line_fn)(
    void *arg, char *line, size_t lineno, struct config_error *err);

/*
 * The lines of text[0..len) one by one, cut in place: text must have room
 * for len + 1 octets, and each line's LF (and a CR before it) becomes a
 * NUL, so an entry may keep pointers into text.  A line longer than max
 * octets with its LF, or holding a NUL, is an error naming its number;
 * lines that are blank or whose first non-blank is '#' are skipped; every
 * other goes to fn.  Returns 0, fn's non-zero return, or -EINVAL.
 */
int tablefile_lines(char *text, size_t len, size_t max, tablefile_line_fn fn,
    void *arg, struct config_error *err);

#endif
