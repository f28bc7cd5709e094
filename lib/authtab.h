/*
 * The SMTP AUTH credentials table (key auth_users): lines "user:hash", the
 * hash from crypt(3) (libxcrypt: yescrypt "$y$" or SHA-512 "$6$").  The
 * master reads the file as root before any child exists and refuses it
 * unless it is root's and nobody else may read it; children inherit the
 * parsed table and never open the file.  relayctl passwd edits it.
 */
#ifndef RELAY_AUTHTAB_H
#define RELAY_AUTHTAB_H

#include <stddef.h>

#include "config.h" /* struct config_error */

#define AUTHTAB_FILE_MAX (4 * 1024 * 1024) /* authtab_load refuses more */
#define AUTHTAB_LINE_MAX 1024 /* octets per line, LF included */
#define AUTHTAB_USER_MAX 255 /* login name, octets */

struct authtab; /* opaque */

/*
 * 1 if name may be a login: 1 to AUTHTAB_USER_MAX printable ASCII octets,
 * no blank, no ':' and no '#' first.
 */
int authtab_valid_user(const char *name);

/* 1 if hash is a crypt(3) hash we take: "$y$..." or "$6$...". */
int authtab_valid_hash(const char *hash);

/*
 * Parse buf[0..len): one "user:hash" per line, nothing around it; blank
 * lines and lines starting with '#' are ignored; a duplicate user is an
 * error.  0 with *out allocated, or -EINVAL / -ENOMEM with err naming
 * fname and the line.
 */
int authtab_parse(const char *buf, size_t len, const char *fname,
    struct authtab **out, struct config_error *err);

/*
 * Read path under rootfd (leading slashes ignored; as given if rootfd is
 * AT_FDCWD) with the one safe reader; refuse a file not owned by root or
 * that group or others may read or write (-EPERM), then authtab_parse().
 * An empty path gives *out = NULL (no AUTH).  0 or -errno; err says why.
 */
int authtab_load(int rootfd, const char *path, struct authtab **out,
    struct config_error *err);

/*
 * 1 if pass is user's password, else 0 (also for an unknown user, after
 * the same crypt(3) work against a table hash, so the time taken does not
 * tell whether the user exists), -ENOMEM.  A NULL table matches nothing.
 */
int authtab_verify(const struct authtab *t, const char *user, const char *pass);

size_t authtab_count(const struct authtab *t);
void authtab_free(struct authtab *t);

/*
 * The file text buf[0..len) with user's line replaced by "user:hash" (or
 * appended), or removed when hash is NULL; other lines are kept as they
 * are.  *outp is malloc'ed.  0, -ENOENT (removing a user not there),
 * -EINVAL (a bad user or hash), -ENOMEM.
 */
int authtab_edit(const char *buf, size_t len, const char *user,
    const char *hash, char **outp, size_t *outlenp);

#endif /* RELAY_AUTHTAB_H */
