/*
 * aclfix.c: POSIX ACLs on objects reached through no-follow O_PATH fds.
 * Trust boundary: the object may sit in a tree the relay user can write to;
 * we never resolve its name again, only /proc/self/fd/N of our own fd, and
 * refuse symlinks (whose "ACL" would be the target's) and hard links.
 */
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/xattr.h>

#include <acl/libacl.h>
#include <errno.h>
#include <string.h>

#include "aclfix.h"
#include "walk.h"

#define PERM_MASK 07
#define ACL_XATTR_ACCESS "system.posix_acl_access"

/* /proc/self/fd/N for fd into p, after refusing a symlink. */
static int
proc_path(int fd, char *p, size_t size, struct stat *st)
{
	if (fstat(fd, st) == -1)
		return -errno;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	return walk_fd_path(fd, p, size);
}

static int
unsupported(int e)
{
	return e == EOPNOTSUPP || e == ENOTSUP;
}

static mode_t
entry_perms(acl_entry_t e)
{
	acl_permset_t ps;
	mode_t m = 0;

	if (acl_get_permset(e, &ps) == -1)
		return 0;
	if (acl_get_perm(ps, ACL_READ) == 1)
		m |= 4;
	if (acl_get_perm(ps, ACL_WRITE) == 1)
		m |= 2;
	if (acl_get_perm(ps, ACL_EXECUTE) == 1)
		m |= 1;
	return m;
}

static int
is_extended(acl_t acl)
{
	acl_entry_t e;
	acl_tag_t tag;
	int r;

	for (r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1;
	     r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
		if (acl_get_tag_type(e, &tag) == -1)
			return -errno;
		if (tag == ACL_USER || tag == ACL_GROUP || tag == ACL_MASK)
			return 1;
	}
	return r == -1 ? -errno : 0;
}

/* group:gid has exactly perms and the mask (if any) lets them through. */
static int
grants_group(acl_t acl, gid_t gid, mode_t perms)
{
	acl_entry_t e;
	acl_tag_t tag;
	gid_t *q;
	mode_t mask = PERM_MASK;
	int r, found = 0;

	for (r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1;
	     r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
		if (acl_get_tag_type(e, &tag) == -1)
			return -errno;
		if (tag == ACL_MASK)
			mask = entry_perms(e);
		if (tag != ACL_GROUP)
			continue;
		if ((q = acl_get_qualifier(e)) == NULL)
			return -errno;
		if (*q == gid)
			found = entry_perms(e) == perms;
		acl_free(q);
	}
	if (r == -1)
		return -errno;
	return found && (mask & perms) == perms;
}

static int
inspect(
    int fd, gid_t gid, mode_t perms, int want_group, struct aclfix_state *st)
{
	struct stat sb;
	char p[64];
	acl_t acl = NULL;
	int r;

	memset(st, 0, sizeof(*st));
	if ((r = proc_path(fd, p, sizeof(p), &sb)) < 0)
		return r;
	/*
	 * No access ACL attribute: the ACL is the mode bits, nothing to
	 * parse (libacl would stat the file to build it; on a big spool
	 * every system call counts).  As acl_extended_file() checks.
	 */
	if (getxattr(p, ACL_XATTR_ACCESS, NULL, 0) == -1 && errno == ENODATA)
		st->supported = 1;
	else if ((acl = acl_get_file(p, ACL_TYPE_ACCESS)) == NULL)
		return unsupported(errno) ? 0 : -errno;
	else {
		st->supported = 1;
		if ((r = is_extended(acl)) < 0)
			goto out;
		st->access_extended = r;
		r = 0;
	}
	if (!S_ISDIR(sb.st_mode))
		goto out;
	if (acl != NULL)
		acl_free(acl);
	if ((acl = acl_get_file(p, ACL_TYPE_DEFAULT)) == NULL) {
		r = -errno;
		goto out;
	}
	st->has_default = acl_entries(acl) > 0;
	if (want_group && st->has_default) {
		if ((r = grants_group(acl, gid, perms)) < 0)
			goto out;
		st->default_group_ok = r;
		r = 0;
	}
out:
	if (acl != NULL)
		acl_free(acl);
	return r;
}

int
aclfix_inspect(int fd, struct aclfix_state *st)
{
	return inspect(fd, 0, 0, 0, st);
}

int
aclfix_inspect_group(int fd, gid_t gid, mode_t perms, struct aclfix_state *st)
{
	if ((perms & ~(mode_t)PERM_MASK) != 0) {
		memset(st, 0, sizeof(*st));
		return -EINVAL;
	}
	return inspect(fd, gid, perms, 1, st);
}

int
aclfix_strip(int fd, mode_t mode)
{
	struct stat sb;
	char p[64];
	acl_t acl = NULL;
	int r;

	if ((r = proc_path(fd, p, sizeof(p), &sb)) < 0)
		return r;
	if (!S_ISDIR(sb.st_mode) && sb.st_nlink > 1)
		return -EMLINK;
	/* A minimal access ACL: the kernel drops the xattr, sets ugo bits. */
	if ((acl = acl_from_mode(mode & 0777)) == NULL)
		return -errno;
	if (acl_set_file(p, ACL_TYPE_ACCESS, acl) == -1) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(sb.st_mode) && acl_delete_def_file(p) == -1)
		r = -errno;
out:
	acl_free(acl);
	return r;
}

static int
add_entry(acl_t *acl, acl_tag_t tag, const gid_t *gid, mode_t perms)
{
	acl_entry_t e;
	acl_permset_t ps;

	if (acl_create_entry(acl, &e) == -1 || acl_set_tag_type(e, tag) == -1)
		return -errno;
	if (gid != NULL && acl_set_qualifier(e, gid) == -1)
		return -errno;
	if (acl_get_permset(e, &ps) == -1 || acl_clear_perms(ps) == -1)
		return -errno;
	if (((perms & 4) && acl_add_perm(ps, ACL_READ) == -1) ||
	    ((perms & 2) && acl_add_perm(ps, ACL_WRITE) == -1) ||
	    ((perms & 1) && acl_add_perm(ps, ACL_EXECUTE) == -1))
		return -errno;
	return acl_set_permset(e, ps) == -1 ? -errno : 0;
}

int
aclfix_set_default_group(int fd, gid_t gid, mode_t perms, mode_t dirmode)
{
	struct stat sb;
	char p[64];
	acl_t acl = NULL;
	int r;

	if ((r = proc_path(fd, p, sizeof(p), &sb)) < 0)
		return r;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if ((perms & ~(mode_t)PERM_MASK) != 0)
		return -EINVAL;
	if ((acl = acl_init(5)) == NULL)
		return -errno;
	if ((r = add_entry(&acl, ACL_USER_OBJ, NULL, (dirmode >> 6) & 7)) < 0 ||
	    (r = add_entry(&acl, ACL_GROUP_OBJ, NULL, (dirmode >> 3) & 7)) <
		0 ||
	    (r = add_entry(&acl, ACL_OTHER, NULL, dirmode & 7)) < 0 ||
	    (r = add_entry(&acl, ACL_GROUP, &gid, perms)) < 0)
		goto out;
	if (acl_calc_mask(&acl) == -1 || acl_valid(acl) == -1) {
		r = -errno;
		goto out;
	}
	if (acl_set_file(p, ACL_TYPE_DEFAULT, acl) == -1)
		r = -errno;
out:
	acl_free(acl);
	return r;
}

int
aclfix_parse_perms(const char *s, mode_t *perms, int *cap_x)
{
	mode_t m = 0, bit;
	int capx = 0;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	for (; *s != '\0'; s++) {
		switch (*s) {
		case 'r':
			bit = 4;
			break;
		case 'w':
			bit = 2;
			break;
		case 'x':
		case 'X':
			bit = 1;
			break;
		default:
			return -EINVAL;
		}
		if (m & bit)
			return -EINVAL; /* "rr", "xX" */
		m |= bit;
		if (*s == 'X')
			capx = 1;
	}
	*perms = m;
	if (cap_x != NULL)
		*cap_x = capx;
	return 0;
}

int
aclfix_format(int fd, int type_default, char *buf, size_t len)
{
	struct stat sb;
	char p[64], *text = NULL;
	acl_t acl = NULL;
	int r;

	if (len == 0)
		return -ERANGE;
	buf[0] = '\0';
	if ((r = proc_path(fd, p, sizeof(p), &sb)) < 0)
		return r;
	if (type_default && !S_ISDIR(sb.st_mode))
		return 0;
	acl =
	    acl_get_file(p, type_default ? ACL_TYPE_DEFAULT : ACL_TYPE_ACCESS);
	if (acl == NULL)
		return -errno;
	if ((text = acl_to_any_text(acl, NULL, ',', TEXT_NUMERIC_IDS)) ==
	    NULL) {
		r = -errno;
		goto out;
	}
	if (strlcpy(buf, text, len) >= len) {
		buf[0] = '\0';
		r = -ERANGE;
	}
out:
	if (text != NULL)
		acl_free(text);
	acl_free(acl);
	return r;
}
