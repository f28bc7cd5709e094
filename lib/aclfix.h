/*
 * aclfix.h: inspect, strip and set POSIX ACLs through O_PATH fds (via
 * /proc/self/fd/N, never a name). libacl owns the acl_ prefix.
 */
#ifndef RELAY_ACLFIX_H
#define RELAY_ACLFIX_H

#include <sys/types.h>
#include <stddef.h>

struct aclfix_state {
	int supported; /* 0 when the filesystem does not support ACLs
				(EOPNOTSUPP) */
	int access_extended; /* access ACL has named user/group entries or a
				mask */
	int has_default; /* directory has a default ACL */
	int default_group_ok; /* only meaningful with aclfix_inspect_group:
				 default ACL grants gid the wanted perms */
};

/*
 * Fill *st for fd (O_PATH is fine). Returns 0 with supported = 0 on a
 * filesystem without ACLs, -ELOOP for a symlink.
 */
int aclfix_inspect(int fd, struct aclfix_state *st);

/*
 * aclfix_inspect plus default_group_ok: the default ACL has a group:gid entry
 * with exactly perms (bits 4/2/1 = r/w/x) and its mask does not hide any of
 * them. A wider grant is not ok: it is drift like any other.
 */
int aclfix_inspect_group(
    int fd, gid_t gid, mode_t perms, struct aclfix_state *st);

/*
 * Make the access ACL minimal (user::, group::, other:: from mode & 0777,
 * which also sets those mode bits; set-id and sticky bits are kept) and
 * remove any default ACL. -EOPNOTSUPP without ACL support, -EMLINK for a
 * hard-linked non-directory, -ELOOP for a symlink.
 */
int aclfix_strip(int fd, mode_t mode);

/*
 * Replace the default ACL of a directory with: user::, group::, other:: from
 * dirmode, group:gid:perms and mask:: (the union of the group entries).
 * -ENOTDIR for a non-directory, -EOPNOTSUPP without ACL support.
 *
 * What files created later get (we tested it, see test_aclfix.c): with a
 * default ACL the umask is NOT applied; the new file's access ACL is the
 * default ACL with user::, mask:: and other:: ANDed with the mode passed to
 * open()/mkdir(). So group:gid keeps its entry but its effective rights are
 * entry & (create-mode group bits): open(..., 0640) or 0666 -> mask r--, gid
 * can read; open(..., 0600) (mkstemp, many spool writers) -> mask ---, gid
 * gets nothing, whatever this ACL says. A later chmod g-r on the file does the
 * same. Subdirectories made with mkdir 0777/0755 get mask r-x (so "rX", i.e.
 * perms r|x, lets gid list and enter them) and inherit the default ACL.
 */
int aclfix_set_default_group(int fd, gid_t gid, mode_t perms, mode_t dirmode);

/*
 * Parse "r", "rx", "rX", "rw", "rwx", ... (each letter at most once, x and X
 * exclusive) into *perms (4/2/1). X sets x in *perms and *cap_x = 1: x only
 * for directories (files are created without x anyway, the mask follows their
 * mode). -EINVAL on anything else.
 */
int aclfix_parse_perms(const char *s, mode_t *perms, int *cap_x);

/*
 * Text of the access (type_default = 0) or default ACL with numeric ids,
 * entries joined by ',': "user::rwx,group::r-x,group:999:r-x,mask::r-x,
 * other::---". "" when a directory has no default ACL or fd is not a
 * directory. -ERANGE if len is too small, -EOPNOTSUPP without ACL support.
 */
int aclfix_format(int fd, int type_default, char *buf, size_t len);

#endif /* RELAY_ACLFIX_H */
