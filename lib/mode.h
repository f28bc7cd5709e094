/*
 * Permission-bit rules of the manifest: absolute modes, "require"/"forbid"
 * sets in chmod's symbolic '+' form, and the desired bits they imply.
 */
#ifndef RELAY_MODE_H
#define RELAY_MODE_H

#include <sys/types.h>
#include <stddef.h>

struct moderule {
	int has_mode; /* absolute mode= given */
	mode_t mode; /* permission bits incl. set-id bits, <= 07777 */
	mode_t require; /* bits that must be set   (require=g+r) */
	mode_t forbid; /* bits that must be clear (forbid=o+w)  */
	int setgid; /* directories: S_ISGID must be set */
};

/* Bits a regular file never gains from a rule: execute, set-id, sticky. */
#define MODE_FILE_NEVER ((mode_t)(0111 | 04000 | 02000 | 01000))

/* "0640", "2750": 1-4 octal digits; -EINVAL otherwise. */
int mode_parse_octal(const char *s, mode_t *out);
/*
 * "g+rx", "go+w", "u+s,g+s,o+rwx", "a+r": comma-separated clauses of the
 * '+' form only; who in [ugoa]+ (a = ugo), perms in [rwxst]+; u+s is
 * S_ISUID, g+s is S_ISGID, +t is S_ISVTX; -EINVAL otherwise (also for
 * "o+s", which sets nothing).
 */
int mode_parse_symbolic(const char *s, mode_t *out);
/* Desired permission bits (07777) for an object whose current bits are cur. */
mode_t mode_desired(const struct moderule *r, mode_t cur, int isdir);
/* "0750", "2750" (always 4 digits); -ENAMETOOLONG if len is too small. */
int mode_format(mode_t m, char *buf, size_t len);
/* "drwxr-s---" ls-style (needs 11 bytes); -ENAMETOOLONG if len is too small. */
int mode_format_symbolic(mode_t m, int isdir, char *buf, size_t len);
/* "g+rx,o+w" for a set of bits ("" for none); -ENAMETOOLONG if too small. */
int mode_format_plus(mode_t m, char *buf, size_t len);

#endif
