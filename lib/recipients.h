/*
 * The relay recipient table (relay_recipients, Postfix's
 * relay_recipient_maps): the addresses and "@domain" wildcards a client
 * outside relay_from may send to in relay_domains, so that mail to an
 * unknown user is refused at RCPT instead of bounced later to a sender
 * that may be forged (backscatter).  The file is admin input read whole
 * by the master as root; lookups are pure and allocation-free.
 */
#ifndef RELAY_RECIPIENTS_H
#define RELAY_RECIPIENTS_H

#include <stddef.h>

#include "config.h" /* struct config_error */

#define RECIPIENTS_FILE_MAX (16 * 1024 * 1024) /* recipients_load refuses */
#define RECIPIENTS_LINE_MAX 1024 /* octets per line, LF included */

struct recipients; /* opaque */

/*
 * Parse table text buf[0..len) (need not be NUL-terminated).  One entry
 * per line: an address "local@domain" (RFC 5321 syntax, SMTPUTF8 allowed,
 * no routing, no address literal) or "@domain" for every local part at
 * exactly that domain; blanks around it are ignored, "#" starts a comment
 * (a line of its own, or after a blank), blank lines are ignored.
 * Entries are compared without quotes and ASCII case-insensitively; a
 * duplicate is an error.  Returns 0 with *out allocated (an empty table
 * if the text has no entry), or -EINVAL / -EFBIG / -ENOMEM with err
 * naming fname and the line.
 */
int recipients_parse(const char *buf, size_t len, const char *fname,
    struct recipients **out, struct config_error *err);

/*
 * Read path under rootfd (leading slashes ignored; as given if rootfd is
 * AT_FDCWD) through readfile_at, refuse a file not owned by root (or by
 * us) or writable by group or others (-EPERM), one that is not a regular
 * file, or one bigger than RECIPIENTS_FILE_MAX (-EFBIG), then
 * recipients_parse().  An empty path (the key unset) gives *out = NULL:
 * no table, every local part accepted.  Returns 0 or -errno; err says
 * what went wrong.
 */
int recipients_load(int rootfd, const char *path, struct recipients **out,
    struct config_error *err);

/*
 * 1 if local@domain is in t, by its exact address or its domain's
 * "@domain" entry; else 0.  local is the local part as sent (quotes and
 * backslashes kept, as struct smtp_path.local), domain lower case (as
 * struct smtp_path.domain).  A NULL t matches nothing.
 */
int recipients_match(
    const struct recipients *t, const char *local, const char *domain);

/* Number of entries (for logs at start and HUP). */
size_t recipients_count(const struct recipients *t);

void recipients_free(struct recipients *t);

#endif /* RELAY_RECIPIENTS_H */
