/*
 * Fixture shared by test_accountdb and test_dbcommit: a Debian-like
 * etc/ in a temporary root under /tmp, and helpers to write, read and
 * stat files in it.  Test-only; never touches the real /etc.
 */
#ifndef ACCOUNTDB_FIXTURE_H
#define ACCOUNTDB_FIXTURE_H

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
#include "tmptree.h"

#define SHADOW_GID 42

static const char passwd_deb[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
    "sys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
    "sync:x:4:65534:sync:/bin:/bin/sync\n"
    "games:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
    "man:x:6:12:man:/var/cache/man:/usr/sbin/nologin\n"
    "lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin\n"
    "mail:x:8:8:mail:/var/mail:/usr/sbin/nologin\n"
    "news:x:9:9:news:/var/spool/news:/usr/sbin/nologin\n"
    "uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin\n"
    "proxy:x:13:13:proxy:/bin:/usr/sbin/nologin\n"
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
    "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n"
    "list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin\n"
    "irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin\n"
    "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n";

static const char group_deb[] =
    "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:alice\n"
    "tty:x:5:\ndisk:x:6:\nlp:x:7:\nmail:x:8:alice,sendmail,bob\nnews:x:9:\n"
    "uucp:x:10:\nman:x:12:\nproxy:x:13:\nkmem:x:15:\ndialout:x:20:\n"
    "fax:x:21:\nvoice:x:22:\ncdrom:x:24:alice\nfloppy:x:25:alice\n"
    "tape:x:26:\nsudo:x:27:\naudio:x:29:\ndip:x:30:\nwww-data:x:33:\n"
    "backup:x:34:\noperator:x:37:\nlist:x:38:\nirc:x:39:\nsrc:x:40:\n"
    "shadow:x:42:\nutmp:x:43:\nvideo:x:44:\nsasl:x:45:\nplugdev:x:46:\n"
    "staff:x:50:\ngames:x:60:\nusers:x:100:\nnogroup:x:65534:\n"
    "alice:x:1000:\n";

static const char shadow_deb[] =
    "root:*:19500:0:99999:7:::\ndaemon:*:19500:0:99999:7:::\n"
    "bin:*:19500:0:99999:7:::\nsys:*:19500:0:99999:7:::\n"
    "sync:*:19500:0:99999:7:::\ngames:*:19500:0:99999:7:::\n"
    "man:*:19500:0:99999:7:::\nlp:*:19500:0:99999:7:::\n"
    "mail:*:19500:0:99999:7:::\nnews:*:19500:0:99999:7:::\n"
    "uucp:*:19500:0:99999:7:::\nproxy:*:19500:0:99999:7:::\n"
    "www-data:*:19500:0:99999:7:::\nbackup:*:19500:0:99999:7:::\n"
    "list:*:19500:0:99999:7:::\nirc:*:19500:0:99999:7:::\n"
    "_apt:*:19500:0:99999:7:::\nnobody:*:19500:0:99999:7:::\n"
    "alice:$y$j9T$abc$def:19600:0:99999:7:::\n";

static const char gshadow_deb[] =
    "root:*::\ndaemon:*::\nbin:*::\nsys:*::\nadm:*::alice\ntty:*::\n"
    "disk:*::\nlp:*::\nmail:*::alice,sendmail,bob\nnews:*::\nuucp:*::\n"
    "man:*::\nproxy:*::\nkmem:*::\ndialout:*::\nfax:*::\nvoice:*::\n"
    "cdrom:*::alice\nfloppy:*::alice\ntape:*::\nsudo:*::\naudio:*::\n"
    "dip:*::\nwww-data:*::\nbackup:*::\noperator:*::\nlist:*::\nirc:*::\n"
    "src:*::\nshadow:*::\nutmp:*::\nvideo:*::\nsasl:*::\nplugdev:*::\n"
    "staff:*::\ngames:*::\nusers:*::\nnogroup:*::\nalice:!::\n";

struct root {
	char path[64];
	int fd;
};

static inline void
put(struct root *r, const char *rel, const char *data, size_t len, mode_t mode,
    gid_t gid)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	(void)unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchown(fd, 0, gid), 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static inline void
puts_(struct root *r, const char *rel, const char *s)
{
	put(r, rel, s, strlen(s), 0644, 0);
}

static inline char *
get(struct root *r, const char *rel, size_t *lenp)
{
	char p[256], *buf;
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	if ((fd = open(p, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	assert_int_equal(fstat(fd, &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	if (lenp != NULL)
		*lenp = (size_t)st.st_size;
	return buf;
}

static inline void
stat_of(struct root *r, const char *rel, struct stat *st)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	assert_int_equal(lstat(p, st), 0);
}

static inline int
exists(struct root *r, const char *rel)
{
	struct stat st;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	return lstat(p, &st) == 0;
}

static inline void
debian(struct root *r)
{
	puts_(r, "etc/passwd", passwd_deb);
	puts_(r, "etc/group", group_deb);
	put(r, "etc/shadow", shadow_deb, strlen(shadow_deb), 0640, SHADOW_GID);
	put(r, "etc/gshadow", gshadow_deb, strlen(gshadow_deb), 0640,
	    SHADOW_GID);
}

static inline int
setup(void **state)
{
	struct root *r = calloc(1, sizeof(*r));
	char p[128];

	assert_non_null(r);
	strlcpy(r->path, "/tmp/acctdb.XXXXXX", sizeof(r->path));
	assert_non_null(mkdtemp(r->path));
	snprintf(p, sizeof(p), "%s/etc", r->path);
	assert_int_equal(mkdir(p, 0755), 0);
	r->fd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(r->fd >= 0);
	debian(r);
	*state = r;
	return 0;
}

static inline int
teardown(void **state)
{
	struct root *r = *state;

	close(r->fd);
	tmptree_remove(r->path);
	free(r);
	return 0;
}

static inline struct accountdb *
load_ok(struct root *r)
{
	struct accountdb *db = NULL;
	struct db_error err;
	int rc = accountdb_load(r->fd, &db, &err);

	if (rc != 0)
		print_error("load: %s:%zu: %s\n", err.file, err.line, err.msg);
	assert_int_equal(rc, 0);
	return db;
}

static inline void
commit_ok(struct accountdb *db)
{
	struct db_error err;
	int rc = accountdb_commit(db, &err);

	if (rc != 0)
		print_error(
		    "commit: %s:%zu: %s\n", err.file, err.line, err.msg);
	assert_int_equal(rc, 0);
}

static inline void
assert_file(struct root *r, const char *rel, const char *want)
{
	char *got = get(r, rel, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static inline void
add_sendmail(struct accountdb *db)
{
	assert_int_equal(accountdb_add_group(db, "sendmail", 24), -EEXIST);
	assert_int_equal(accountdb_add_group(db, "sendmail", 999), 0);
	assert_int_equal(accountdb_add_user(db, "sendmail", 999, 999, "",
			     "/var/spool/mqueue", "/usr/sbin/nologin"),
	    0);
	assert_true(accountdb_dirty(db));
}

static inline void
assert_owner_mode(struct root *r, const char *rel, gid_t gid, mode_t mode)
{
	struct stat st;

	stat_of(r, rel, &st);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, mode);
}

#endif /* ACCOUNTDB_FIXTURE_H */
