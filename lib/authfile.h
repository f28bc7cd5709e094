/*
 * The smarthost credentials file (relayd.conf(5), smarthost_auth): one
 * line "user password" or "user:password".  The file is root's alone
 * (root:root 0600); relayd's master reads it before any child exists, and
 * the delivery workers inherit the parsed copy, never the file.
 */
#ifndef RELAY_AUTHFILE_H
#define RELAY_AUTHFILE_H

#include <stddef.h>

#define AUTHFILE_FIELD_MAX 255 /* octets of a user name or a password */
#define AUTHFILE_FILE_MAX 4096 /* bigger files are refused */

struct authfile {
	char user[AUTHFILE_FIELD_MAX + 1];
	char pass[AUTHFILE_FIELD_MAX + 1];
};

/*
 * Parse len octets of text: blank lines and lines starting with '#' are
 * skipped, exactly one other line must remain.  Returns 0 with *a filled,
 * or -EINVAL with a reason in err (never the password).
 */
int authfile_parse(
    const char *text, size_t len, struct authfile *a, char *err, size_t errlen);

/*
 * Read path under rootfd through the one whole-file reader and parse it.
 * Refuses (-EPERM) a file not owned by root or by us, or one that group or
 * others may read or write.  0 with *ap (free with authfile_free), or
 * -errno with a one-line reason in err.
 */
int authfile_load(int rootfd, const char *path, struct authfile **ap, char *err,
    size_t errlen);

/* Wipe and free; NULL is fine. */
void authfile_free(struct authfile *a);

#endif /* RELAY_AUTHFILE_H */
