/*
 * The per-login sender map (key auth_senders): which envelope senders a
 * client that passed SMTP AUTH may use, so one login cannot send as
 * another user (Postfix's smtpd_sender_login_maps with
 * reject_sender_login_mismatch).  Admin input read whole by the master as
 * root; lookups are pure and allocation-free.
 */
#ifndef RELAY_AUTHSENDERS_H
#define RELAY_AUTHSENDERS_H

#include <stddef.h>

#include "config.h" /* struct config_error */

#define AUTHSENDERS_FILE_MAX (4 * 1024 * 1024) /* authsenders_load refuses */
#define AUTHSENDERS_LINE_MAX 4096 /* octets per line, LF included */

struct authsenders; /* opaque */

/*
 * Parse buf[0..len): lines "login: sender[, sender ...]", a sender being
 * "local@domain" or "@domain" (every local part at exactly that domain),
 * separated by commas or blanks; blank lines and lines starting with '#'
 * are ignored.  Addresses go through the SMTP address parser (no
 * routing, no address literal, no quoted local part) and are compared
 * ASCII case-insensitively.  A login on two lines is an error.  0 with
 * *out allocated, or -EINVAL / -ENOMEM with err naming fname and line.
 */
int authsenders_parse(const char *buf, size_t len, const char *fname,
    struct authsenders **out, struct config_error *err);

/*
 * Read path under rootfd (leading slashes ignored; as given if rootfd is
 * AT_FDCWD) with the one safe reader, refuse a file not owned by root or
 * writable by group or others (-EPERM), then authsenders_parse().  An
 * empty path gives *out = NULL (no restriction).  0 or -errno.
 */
int authsenders_load(int rootfd, const char *path, struct authsenders **out,
    struct config_error *err);

/*
 * 1 if login may use local@domain as its sender (local as sent, quotes
 * kept; domain lower case, as struct smtp_path), by the exact address or
 * its "@domain" entry; 0 otherwise, also for a login not in the map.
 */
int authsenders_match(const struct authsenders *t, const char *login,
    const char *local, const char *domain);

size_t authsenders_count(const struct authsenders *t); /* entries */
void authsenders_free(struct authsenders *t);

#endif /* RELAY_AUTHSENDERS_H */
