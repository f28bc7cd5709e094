/*
 * idpolicy and logindefs_read against account files in temporary roots:
 * preferred 24/24, Debian's cdrom/floppy, forced and strict ids, reuse of
 * our own account, smmsp, login.defs ranges and a full range.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "accountdb.h"
#include "idpolicy.h"
#include "tmptree.h"

static const char passwd_deb[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
    "sys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
    "sync:x:4:65534:sync:/bin:/bin/sync\n"
    "mail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n"
    "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char group_deb[] =
    "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\nmail:x:8:\n"
    "cdrom:x:24:\nfloppy:x:25:\nshadow:x:42:\nusers:x:100:\n"
    "nogroup:x:65534:\n";

struct root {
	char path[64];
	int fd;
};

static void
put(struct root *r, const char *rel, const char *s)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	(void)unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	assert_int_equal(close(fd), 0);
}

static int
setup(void **state)
{
	struct root *r = calloc(1, sizeof(*r));
	char p[128];

	assert_non_null(r);
	strlcpy(r->path, "/tmp/idpol.XXXXXX", sizeof(r->path));
	assert_non_null(mkdtemp(r->path));
	snprintf(p, sizeof(p), "%s/etc", r->path);
	assert_int_equal(mkdir(p, 0755), 0);
	r->fd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(r->fd >= 0);
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct root *r = *state;

	close(r->fd);
	tmptree_remove(r->path);
	free(r);
	return 0;
}

static const struct id_range sysrange = { 100, 999, 100, 999 };

/* Choose for "sendmail" with 24/24 preferred over the given files. */
static int
choose(struct root *r, const char *pw, const char *gr,
    const struct id_request *req, const struct id_range *range,
    struct id_choice *out, char *errbuf, size_t errlen)
{
	struct accountdb *db = NULL;
	struct db_error err;
	int rc;

	put(r, "etc/passwd", pw);
	put(r, "etc/group", gr);
	assert_int_equal(accountdb_load(r->fd, &db, &err), 0);
	rc = idpolicy_choose(
	    db, req, range != NULL ? range : &sysrange, out, errbuf, errlen);
	accountdb_free(db);
	return rc;
}

static struct id_request
pref(void)
{
	struct id_request q = { "sendmail", 24, 24, 0, 0, 0 };

	return q;
}

static void
t_clean_root(void **state)
{
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	assert_int_equal(choose(*state, "root:x:0:0::/root:/bin/sh\n",
			     "root:x:0:\n", &q, NULL, &c, e, sizeof(e)),
	    0);
	assert_int_equal(c.uid, 24);
	assert_int_equal(c.gid, 24);
	assert_false(c.user_exists);
	assert_false(c.group_exists);
	assert_string_equal(c.why, "");
}

static void
t_debian_cdrom(void **state)
{
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    0);
	assert_int_equal(c.uid, 999);
	assert_int_equal(c.gid, 999);
	assert_string_equal(c.why,
	    "GID 24 belongs to group 'cdrom'; using 999 (use --gid to choose, "
	    "--strict-ids to refuse)");
	q.strict = 1;
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    -EEXIST);
	assert_string_equal(e, "GID 24 belongs to group 'cdrom'");
}

/* Like useradd -r: the highest number free as both uid and gid. */
static void
t_same_number_from_top(void **state)
{
	char pw[1024], gr[1024];
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	snprintf(pw, sizeof(pw),
	    "%sfoo:x:24:24::/:\n"
	    "systemd-network:x:998:998::/:\ndnsmasq:x:997:65534::/:\n",
	    passwd_deb);
	snprintf(gr, sizeof(gr),
	    "%ssystemd-journal:x:999:\n"
	    "systemd-network:x:998:\nfoo:x:996:\n",
	    group_deb);
	assert_int_equal(choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 995);
	assert_int_equal(c.gid, 995);
	assert_string_equal(c.why,
	    "UID 24 belongs to user 'foo' and GID 24 belongs to group 'cdrom'; "
	    "using 995 (use --uid/--gid to choose, --strict-ids to refuse)");
}

static void
t_forced(void **state)
{
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	q.gid = 25;
	q.gid_forced = 1;
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    -EEXIST);
	assert_string_equal(e, "GID 25 belongs to group 'floppy'");
	q = pref();
	q.uid = 42;
	q.uid_forced = 1;
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    -EEXIST);
	assert_string_equal(e, "UID 42 belongs to user '_apt'");
	/* Forced and free: used, even outside the system range. */
	q.uid = q.gid = 30;
	q.uid_forced = q.gid_forced = 1;
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    0);
	assert_int_equal(c.uid, 30);
	assert_int_equal(c.gid, 30);
	assert_string_equal(c.why, "");
	/* Forced uid, preferred gid taken: the gid follows the uid. */
	q = pref();
	q.uid = 31;
	q.uid_forced = 1;
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    0);
	assert_int_equal(c.uid, 31);
	assert_int_equal(c.gid, 31);
	assert_string_equal(c.why,
	    "GID 24 belongs to group 'cdrom'; using 31 (use --gid to choose, "
	    "--strict-ids to refuse)");
}

static void
t_reuse_existing(void **state)
{
	char pw[1024], gr[1024];
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	snprintf(pw, sizeof(pw), "%ssendmail:x:115:120::/:\n", passwd_deb);
	snprintf(gr, sizeof(gr), "%ssendmail:x:120:\n", group_deb);
	assert_int_equal(choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 115);
	assert_int_equal(c.gid, 120);
	assert_true(c.user_exists);
	assert_true(c.group_exists);
	assert_string_equal(c.why, "");
	q.uid_forced = 1;
	assert_int_equal(
	    choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), -EEXIST);
	assert_string_equal(e, "user 'sendmail' exists with UID 115, not 24");
	q = pref();
	q.gid = 120;
	q.gid_forced = 1;
	assert_int_equal(choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), 0);
	assert_int_equal(c.gid, 120);
}

/* Only the group is new: preferred when free, else the user's uid. */
static void
t_user_exists_group_new(void **state)
{
	char pw[1024];
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	snprintf(pw, sizeof(pw), "%ssendmail:x:130:130::/:\n", passwd_deb);
	assert_int_equal(
	    choose(*state, pw, group_deb, &q, NULL, &c, e, sizeof(e)), 0);
	assert_true(c.user_exists);
	assert_false(c.group_exists);
	/* The missing half takes the existing half's number: no conflict. */
	assert_int_equal(c.uid, 130);
	assert_int_equal(c.gid, 130);
	assert_string_equal(c.why, "");
	/* ...unless that number is taken: then the usual fallback. */
	snprintf(pw, sizeof(pw), "%ssendmail:x:130:130::/:\n", passwd_deb);
	{
		char gr[1024];

		snprintf(gr, sizeof(gr), "%sother:x:130:\n", group_deb);
		assert_int_equal(
		    choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), 0);
		assert_int_equal(c.uid, 130);
		assert_int_equal(c.gid, 999);
		assert_string_equal(c.why,
		    "GID 24 belongs to group 'cdrom'; using 999 (use --gid to "
		    "choose, --strict-ids to refuse)");
	}
}

static void
t_group_exists_user_new(void **state)
{
	char pw[1024], gr[1024];
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	snprintf(gr, sizeof(gr), "%ssendmail:x:140:\n", group_deb);
	assert_int_equal(
	    choose(*state, passwd_deb, gr, &q, NULL, &c, e, sizeof(e)), 0);
	/* Same number as the existing group, not the preferred 24. */
	assert_int_equal(c.uid, 140);
	assert_int_equal(c.gid, 140);
	assert_true(c.group_exists);
	assert_string_equal(c.why, "");
	/* UID 140 taken: the preferred 24 when free... */
	snprintf(pw, sizeof(pw), "%sbar:x:140:140::/:\n", passwd_deb);
	assert_int_equal(choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 24);
	assert_int_equal(c.gid, 140);
	/* ...and a fallback from the top when 24 is taken too. */
	snprintf(pw, sizeof(pw), "%sbar:x:140:140::/:\nfoo:x:24:24::/:\n",
	    passwd_deb);
	assert_int_equal(choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 999);
	assert_int_equal(c.gid, 140);
	assert_string_equal(c.why,
	    "UID 24 belongs to user 'foo'; using 999 (use --uid to choose, "
	    "--strict-ids to refuse)");
}

static void
t_smmsp(void **state)
{
	char pw[1024], gr[1024];
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	q.user = "smmsp";
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    -EINVAL);
	assert_string_equal(e,
	    "refusing to use the 'smmsp' account: it "
	    "belongs to sendmail's submission program");
	q.user = "Sendmail";
	assert_int_equal(
	    choose(*state, passwd_deb, group_deb, &q, NULL, &c, e, sizeof(e)),
	    -EINVAL);
	q.user = "sendmail";
	/* smmsp holds 999 and (as primary gid only) 998: neither is used. */
	snprintf(pw, sizeof(pw), "%ssmmsp:x:999:998::/:\n", passwd_deb);
	assert_int_equal(
	    choose(*state, pw, group_deb, &q, NULL, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 997);
	assert_int_equal(c.gid, 997);
	snprintf(gr, sizeof(gr), "%ssmmsp:x:24:\n", "root:x:0:\n");
	q.gid_forced = 1;
	assert_int_equal(
	    choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), -EEXIST);
	assert_string_equal(e, "GID 24 belongs to group 'smmsp'");
	q.gid = 998;
	assert_int_equal(
	    choose(*state, pw, gr, &q, NULL, &c, e, sizeof(e)), -EEXIST);
	assert_string_equal(e, "GID 998 is the primary group of user 'smmsp'");
}

static void
t_range_and_full(void **state)
{
	static const struct id_range small = { 200, 202, 200, 202 };
	char pw[1024], gr[1024];
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	snprintf(
	    pw, sizeof(pw), "%sa:x:200:0::/:\nb:x:201:0::/:\n", passwd_deb);
	snprintf(gr, sizeof(gr), "%sc:x:202:\n", group_deb);
	/* No number is free as both: uid and gid apart, each from the top. */
	assert_int_equal(
	    choose(*state, pw, gr, &q, &small, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 202);
	assert_int_equal(c.gid, 201);
	assert_string_equal(c.why,
	    "GID 24 belongs to group 'cdrom'; using UID 202 and GID 201 (use "
	    "--gid to choose, --strict-ids to refuse)");
	snprintf(pw, sizeof(pw),
	    "%sa:x:200:0::/:\nb:x:201:0::/:\n"
	    "d:x:202:0::/:\n",
	    passwd_deb);
	assert_int_equal(
	    choose(*state, pw, gr, &q, &small, &c, e, sizeof(e)), -ENOSPC);
	assert_string_equal(e, "no free system UID in 200-202");
}

static void
t_dangling_primary_gid(void **state)
{
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	assert_int_equal(choose(*state, "root:x:0:0::/:\nfoo:x:500:24::/:\n",
			     "root:x:0:\n", &q, NULL, &c, e, sizeof(e)),
	    0);
	assert_int_equal(c.uid, 999);
	assert_int_equal(c.gid, 999);
	assert_string_equal(c.why,
	    "GID 24 is the primary group of user 'foo'; using 999 (use --gid "
	    "to choose, --strict-ids to refuse)");
}

static void
t_logindefs(void **state)
{
	struct root *r = *state;
	struct id_range rg;
	char pw[1024], gr[1024];
	struct accountdb *db = NULL;
	struct db_error err;
	struct id_request q = pref();
	struct id_choice c;
	char e[256];

	assert_int_equal(logindefs_read(r->fd, &rg), 0);
	assert_int_equal(rg.uid_min, 100);
	assert_int_equal(rg.uid_max, 999);
	assert_int_equal(rg.gid_min, 100);
	assert_int_equal(rg.gid_max, 999);
	put(r, "etc/login.defs",
	    "# comment SYS_UID_MIN 5\n"
	    "UID_MIN 1000\nSYS_UID_MIN\t\t 150\nSYS_UID_MIN 200\n"
	    "  SYS_UID_MAX 300 \nSYS_GID_MAX \"400\"\n");
	assert_int_equal(logindefs_read(r->fd, &rg), 0);
	assert_int_equal(rg.uid_min, 200);
	assert_int_equal(rg.uid_max, 300);
	assert_int_equal(rg.gid_min, 100);
	assert_int_equal(rg.gid_max, 400);
	snprintf(pw, sizeof(pw), "%sx:x:300:0::/:\n", passwd_deb);
	snprintf(gr, sizeof(gr), "%sy:x:400:\n", group_deb);
	put(r, "etc/passwd", pw);
	put(r, "etc/group", gr);
	assert_int_equal(accountdb_load(r->fd, &db, &err), 0);
	assert_int_equal(idpolicy_choose(db, &q, &rg, &c, e, sizeof(e)), 0);
	assert_int_equal(c.uid, 299);
	assert_int_equal(c.gid, 299);
	accountdb_free(db);
	put(r, "etc/login.defs", "SYS_UID_MIN abc\n");
	assert_int_equal(logindefs_read(r->fd, &rg), -EINVAL);
	put(r, "etc/login.defs", "SYS_GID_MIN -5\n");
	assert_int_equal(logindefs_read(r->fd, &rg), -EINVAL);
	put(r, "etc/login.defs", "SYS_GID_MAX 0x10\n");
	assert_int_equal(logindefs_read(r->fd, &rg), -EINVAL);
	put(r, "etc/login.defs", "SYS_UID_MIN 500\nSYS_UID_MAX 400\n");
	assert_int_equal(logindefs_read(r->fd, &rg), -EINVAL);
	put(r, "etc/login.defs", "SYS_UID_MIN\n");
	assert_int_equal(logindefs_read(r->fd, &rg), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_clean_root),
		T(t_debian_cdrom),
		T(t_same_number_from_top),
		T(t_forced),
		T(t_reuse_existing),
		T(t_user_exists_group_new),
		T(t_group_exists_user_new),
		T(t_smmsp),
		T(t_range_and_full),
		T(t_dangling_primary_gid),
		T(t_logindefs),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
