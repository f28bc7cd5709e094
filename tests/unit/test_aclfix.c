/*
 * test_aclfix.c: aclfix on real files under a fresh mkdtemp directory (ext4
 * /tmp with ACLs; checked, not assumed) and on a ramfs we mount (no ACLs).
 * What files created under a default ACL really get is checked with libacl
 * and with an open() by a process of uid 65534 in group G only.
 */
#include <sys/acl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <acl/libacl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aclfix.h"
#include "tmptree.h"

#define G 4242 /* the group we grant; need not exist, ids are numeric */
#define NOBODY 65534

struct fx {
	char dir[64];
	char mnt[PATH_MAX];
	int dirfd; /* O_PATH */
};

static int
setup(void **state)
{
	struct fx *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL)
		return -1;
	strlcpy(fx->dir, "/tmp/relaytest.XXXXXX", sizeof(fx->dir));
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	fx->dirfd = open(fx->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fx->dirfd == -1)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->mnt[0] != '\0')
		umount2(fx->mnt, MNT_DETACH);
	close(fx->dirfd);
	(void)tmptree_remove(fx->dir);
	free(fx);
	return 0;
}

static char *
path_of(struct fx *fx, const char *rel)
{
	static char p[PATH_MAX];

	assert_true(
	    snprintf(p, sizeof(p), "%s/%s", fx->dir, rel) < (int)sizeof(p));
	return p;
}

/* O_PATH|O_NOFOLLOW fd of a new file or directory (mode exact). */
static int
make(struct fx *fx, const char *rel, int dir, mode_t mode)
{
	int fd;

	if (dir) {
		assert_int_equal(mkdirat(fx->dirfd, rel, mode), 0);
	} else {
		fd = openat(fx->dirfd, rel, O_WRONLY | O_CREAT | O_EXCL, mode);
		assert_int_not_equal(fd, -1);
		assert_int_equal(write(fd, "secret\n", 7), 7);
		close(fd);
	}
	fd = openat(fx->dirfd, rel, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_int_not_equal(fd, -1);
	assert_int_equal(fchmodat(fx->dirfd, rel, mode, 0), 0);
	return fd;
}

static void
set_text(struct fx *fx, const char *rel, acl_type_t type, const char *text)
{
	acl_t acl;

	acl = acl_from_text(text);
	assert_non_null(acl);
	if (acl_set_file(path_of(fx, rel), type, acl) == -1)
		fail_msg("acl_set_file %s: %s", rel, strerror(errno));
	acl_free(acl);
}

/* Effective perms of group:gid in the access ACL of rel (entry & mask). */
static int
effective_group(struct fx *fx, const char *rel, gid_t gid)
{
	acl_t acl;
	acl_entry_t e;
	acl_tag_t tag;
	acl_permset_t ps;
	int r, perms = -1, mask = 7, m;
	gid_t *q;

	acl = acl_get_file(path_of(fx, rel), ACL_TYPE_ACCESS);
	assert_non_null(acl);
	for (r = acl_get_entry(acl, ACL_FIRST_ENTRY, &e); r == 1;
	     r = acl_get_entry(acl, ACL_NEXT_ENTRY, &e)) {
		assert_int_equal(acl_get_tag_type(e, &tag), 0);
		assert_int_equal(acl_get_permset(e, &ps), 0);
		m = (acl_get_perm(ps, ACL_READ) ? 4 : 0) |
		    (acl_get_perm(ps, ACL_WRITE) ? 2 : 0) |
		    (acl_get_perm(ps, ACL_EXECUTE) ? 1 : 0);
		if (tag == ACL_MASK)
			mask = m;
		if (tag == ACL_GROUP) {
			q = acl_get_qualifier(e);
			if (*q == gid)
				perms = m;
			acl_free(q);
		}
	}
	acl_free(acl);
	return perms == -1 ? -1 : perms & mask;
}

/* Can uid 65534 with only group G open rel for reading? 0 or errno. */
static int
open_as_g(struct fx *fx, const char *rel)
{
	gid_t g = G;
	pid_t pid;
	int status, fd;
	char *p = path_of(fx, rel);

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (setgroups(1, &g) == -1 || setgid(G) == -1 ||
		    setuid(NOBODY) == -1)
			_exit(100);
		fd = open(p, O_RDONLY);
		_exit(fd == -1 ? errno : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 100);
	return WEXITSTATUS(status);
}

/* The test file system must support ACLs: fail loudly, never skip. */
static void
test_fs_has_acls(void **state)
{
	struct fx *fx = *state;
	struct aclfix_state st;
	int fd;

	fd = make(fx, "f", 0, 0644);
	assert_int_equal(aclfix_inspect(fd, &st), 0);
	if (!st.supported)
		fail_msg("%s does not support POSIX ACLs", fx->dir);
	set_text(fx, "f", ACL_TYPE_ACCESS, "u::rw-,g::r--,o::r--");
	close(fd);
}

static void
test_inspect_and_strip(void **state)
{
	struct fx *fx = *state;
	struct aclfix_state st;
	struct stat sb;
	char buf[16];
	int fd, dfd;

	fd = make(fx, "f", 0, 0640);
	assert_int_equal(aclfix_inspect(fd, &st), 0);
	assert_int_equal(st.supported, 1);
	assert_int_equal(st.access_extended, 0);
	assert_int_equal(st.has_default, 0);

	set_text(fx, "f", ACL_TYPE_ACCESS,
	    "u::rw-,g::r--,g:4242:rw-,m::rw-,"
	    "o::---");
	assert_int_equal(aclfix_inspect(fd, &st), 0);
	assert_int_equal(st.access_extended, 1);
	assert_int_equal(aclfix_strip(fd, 0640), 0);
	assert_int_equal(aclfix_inspect(fd, &st), 0);
	assert_int_equal(st.supported, 1);
	assert_int_equal(st.access_extended, 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
	/* The xattr is really gone, not just made equivalent. */
	assert_int_equal(getxattr(path_of(fx, "f"), "system.posix_acl_access",
			     buf, sizeof(buf)),
	    -1);
	assert_int_equal(errno, ENODATA);
	close(fd);

	/* A directory: access entries and the default ACL both go. */
	dfd = make(fx, "d", 1, 02750);
	set_text(fx, "d", ACL_TYPE_ACCESS,
	    "u::rwx,g::r-x,g:4242:r-x,m::r-x,"
	    "o::---");
	set_text(fx, "d", ACL_TYPE_DEFAULT,
	    "u::rwx,g::r-x,g:4242:r-x,m::r-x,"
	    "o::---");
	assert_int_equal(aclfix_inspect(dfd, &st), 0);
	assert_int_equal(st.access_extended, 1);
	assert_int_equal(st.has_default, 1);
	assert_int_equal(aclfix_strip(dfd, 0750), 0);
	assert_int_equal(aclfix_inspect(dfd, &st), 0);
	assert_int_equal(st.access_extended, 0);
	assert_int_equal(st.has_default, 0);
	assert_int_equal(fstat(dfd, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 02750); /* setgid kept */
	/* Stripping what is already plain is fine. */
	assert_int_equal(aclfix_strip(dfd, 0750), 0);
	close(dfd);
}

static void
test_refuses_links(void **state)
{
	struct fx *fx = *state;
	struct aclfix_state st;
	char buf[64];
	int fd, lfd;

	fd = make(fx, "f", 0, 0600);
	assert_int_equal(symlinkat("f", fx->dirfd, "ln"), 0);
	lfd = openat(fx->dirfd, "ln", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_int_not_equal(lfd, -1);
	assert_int_equal(aclfix_inspect(lfd, &st), -ELOOP);
	assert_int_equal(aclfix_strip(lfd, 0644), -ELOOP);
	assert_int_equal(aclfix_set_default_group(lfd, G, 5, 0750), -ELOOP);
	assert_int_equal(aclfix_format(lfd, 0, buf, sizeof(buf)), -ELOOP);
	close(lfd);

	assert_int_equal(linkat(fx->dirfd, "f", fx->dirfd, "hard", 0), 0);
	assert_int_equal(aclfix_strip(fd, 0644), -EMLINK);
	assert_int_equal(aclfix_set_default_group(fd, G, 5, 0750), -ENOTDIR);
	close(fd);
}

static void
test_default_group_mask(void **state)
{
	struct fx *fx = *state;
	struct aclfix_state st;
	struct stat sb;
	mode_t old;
	int dfd, fd;

	/* The test dir itself must be traversable by uid 65534. */
	assert_int_equal(fchmodat(AT_FDCWD, fx->dir, 0711, 0), 0);
	dfd = make(fx, "d", 1, 0750);
	set_text(fx, "d", ACL_TYPE_ACCESS,
	    "u::rwx,g::r-x,g:4242:r-x,m::r-x,"
	    "o::---");
	assert_int_equal(aclfix_set_default_group(dfd, G, 5, 0750), 0);
	assert_int_equal(aclfix_inspect_group(dfd, G, 5, &st), 0);
	assert_int_equal(st.has_default, 1);
	assert_int_equal(st.default_group_ok, 1);
	assert_int_equal(aclfix_inspect_group(dfd, G, 7, &st), 0);
	assert_int_equal(st.default_group_ok, 0);
	assert_int_equal(aclfix_inspect_group(dfd, G, 4, &st), 0);
	assert_int_equal(st.default_group_ok, 0); /* wider grant: drift */
	assert_int_equal(aclfix_inspect_group(dfd, G + 1, 5, &st), 0);
	assert_int_equal(st.default_group_ok, 0);

	old = umask(077);
	/* 0640: umask is ignored under a default ACL, mask = r-- */
	fd = openat(fx->dirfd, "d/f640", O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_int_not_equal(fd, -1);
	close(fd);
	/* 0600 (mkstemp style): mask = ---, G gets nothing */
	fd = openat(fx->dirfd, "d/f600", O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_int_not_equal(fd, -1);
	close(fd);
	assert_int_equal(mkdirat(fx->dirfd, "d/sub", 0777), 0);
	umask(old);

	assert_int_equal(fstatat(fx->dirfd, "d/f640", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 0777, 0640); /* not 0600 */
	assert_int_equal(effective_group(fx, "d/f640", G), 4);
	assert_int_equal(open_as_g(fx, "d/f640"), 0);

	assert_int_equal(fstatat(fx->dirfd, "d/f600", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(effective_group(fx, "d/f600", G), 0);
	assert_int_equal(open_as_g(fx, "d/f600"), EACCES);

	/* mkdir 0777: mask r-x, G can enter; the default is inherited. */
	assert_int_equal(fstatat(fx->dirfd, "d/sub", &sb, 0), 0);
	assert_int_equal(sb.st_mode & 0777, 0750);
	assert_int_equal(effective_group(fx, "d/sub", G), 5);
	assert_int_equal(open_as_g(fx, "d/sub"), 0);
	fd = openat(fx->dirfd, "d/sub", O_PATH | O_NOFOLLOW | O_CLOEXEC);
	assert_int_equal(aclfix_inspect_group(fd, G, 5, &st), 0);
	assert_int_equal(st.default_group_ok, 1);
	close(fd);

	/* Replacing: a second call leaves exactly one default ACL. */
	assert_int_equal(aclfix_set_default_group(dfd, G + 1, 4, 0700), 0);
	assert_int_equal(aclfix_inspect_group(dfd, G, 5, &st), 0);
	assert_int_equal(st.default_group_ok, 0);
	assert_int_equal(aclfix_inspect_group(dfd, G + 1, 4, &st), 0);
	assert_int_equal(st.default_group_ok, 1);
	close(dfd);
}

static void
test_format(void **state)
{
	struct fx *fx = *state;
	char buf[256], small[8];
	int fd, dfd;

	fd = make(fx, "f", 0, 0644);
	assert_int_equal(aclfix_format(fd, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "user::rw-,group::r--,other::r--");
	assert_int_equal(aclfix_format(fd, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(aclfix_format(fd, 0, small, sizeof(small)), -ERANGE);
	assert_string_equal(small, "");

	dfd = make(fx, "d", 1, 02750);
	assert_int_equal(aclfix_format(dfd, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(aclfix_set_default_group(dfd, 999, 5, 02750), 0);
	assert_int_equal(aclfix_format(dfd, 1, buf, sizeof(buf)), 0);
	assert_string_equal(buf,
	    "user::rwx,group::r-x,group:999:r-x,"
	    "mask::r-x,other::---");
	/* The access ACL is untouched. */
	assert_int_equal(aclfix_format(dfd, 0, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "user::rwx,group::r-x,other::---");
	close(dfd);
	close(fd);
}

static void
test_parse_perms(void **state)
{
	mode_t p;
	int x;

	(void)state;
	assert_int_equal(aclfix_parse_perms("r", &p, &x), 0);
	assert_int_equal(p, 4);
	assert_int_equal(x, 0);
	assert_int_equal(aclfix_parse_perms("rx", &p, &x), 0);
	assert_int_equal(p, 5);
	assert_int_equal(x, 0);
	assert_int_equal(aclfix_parse_perms("rX", &p, &x), 0);
	assert_int_equal(p, 5);
	assert_int_equal(x, 1);
	assert_int_equal(aclfix_parse_perms("rwx", &p, &x), 0);
	assert_int_equal(p, 7);
	assert_int_equal(aclfix_parse_perms("rw", &p, NULL), 0);
	assert_int_equal(p, 6);
	assert_int_equal(aclfix_parse_perms("", &p, &x), -EINVAL);
	assert_int_equal(aclfix_parse_perms(NULL, &p, &x), -EINVAL);
	assert_int_equal(aclfix_parse_perms("rr", &p, &x), -EINVAL);
	assert_int_equal(aclfix_parse_perms("rxX", &p, &x), -EINVAL);
	assert_int_equal(aclfix_parse_perms("r-x", &p, &x), -EINVAL);
	assert_int_equal(aclfix_parse_perms("R", &p, &x), -EINVAL);
}

/* ramfs has no xattrs at all: inspect says so, changes fail. */
static void
test_unsupported_fs(void **state)
{
	struct fx *fx = *state;
	struct aclfix_state st;
	char buf[64];
	int fd, dfd;

	assert_int_equal(mkdirat(fx->dirfd, "ram", 0755), 0);
	snprintf(fx->mnt, sizeof(fx->mnt), "%s/ram", fx->dir);
	if (mount("relaytest", fx->mnt, "ramfs", 0, NULL) == -1) {
		fx->mnt[0] = '\0';
		fail_msg("mount ramfs: %s", strerror(errno));
	}
	dfd = make(fx, "ram/d", 1, 0755);
	fd = make(fx, "ram/f", 0, 0644);
	st.supported = 1;
	assert_int_equal(aclfix_inspect(fd, &st), 0);
	assert_int_equal(st.supported, 0);
	assert_int_equal(st.access_extended, 0);
	assert_int_equal(aclfix_inspect_group(dfd, G, 5, &st), 0);
	assert_int_equal(st.supported, 0);
	assert_int_equal(st.has_default, 0);
	assert_int_equal(aclfix_strip(fd, 0644), -EOPNOTSUPP);
	assert_int_equal(aclfix_strip(dfd, 0755), -EOPNOTSUPP);
	assert_int_equal(
	    aclfix_set_default_group(dfd, G, 5, 0755), -EOPNOTSUPP);
	assert_int_equal(aclfix_format(fd, 0, buf, sizeof(buf)), -EOPNOTSUPP);
	close(fd);
	close(dfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_fs_has_acls, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_inspect_and_strip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_links, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_default_group_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test(test_parse_perms),
		cmocka_unit_test_setup_teardown(
		    test_unsupported_fs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
