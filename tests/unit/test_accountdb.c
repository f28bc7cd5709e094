/*
 * accountdb against real files in temporary roots under /tmp: parsing,
 * malformed input, byte-exact rewriting, owners and modes, locks, stale
 * files, and what pwck/grpck think of the result.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "accountdb.h"

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

static int
rm_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void
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

static void
puts_(struct root *r, const char *rel, const char *s)
{
	put(r, rel, s, strlen(s), 0644, 0);
}

static char *
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

static void
stat_of(struct root *r, const char *rel, struct stat *st)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	assert_int_equal(lstat(p, st), 0);
}

static int
exists(struct root *r, const char *rel)
{
	struct stat st;
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", r->path, rel);
	return lstat(p, &st) == 0;
}

static void
debian(struct root *r)
{
	puts_(r, "etc/passwd", passwd_deb);
	puts_(r, "etc/group", group_deb);
	put(r, "etc/shadow", shadow_deb, strlen(shadow_deb), 0640, SHADOW_GID);
	put(r, "etc/gshadow", gshadow_deb, strlen(gshadow_deb), 0640,
	    SHADOW_GID);
}

static int
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

static int
teardown(void **state)
{
	struct root *r = *state;

	close(r->fd);
	nftw(r->path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(r);
	return 0;
}

static struct accountdb *
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

/* Only the account files, their backups and .pwd.lock may be left. */
static void
assert_clean_etc(struct root *r)
{
	static const char *const ok[] = { ".", "..", "passwd", "group",
		"shadow", "gshadow", "passwd-", "group-", "shadow-", "gshadow-",
		".pwd.lock", "login.defs", NULL };
	struct dirent *de;
	char p[128];
	DIR *d;
	size_t i;

	snprintf(p, sizeof(p), "%s/etc", r->path);
	assert_non_null(d = opendir(p));
	while ((de = readdir(d)) != NULL) {
		for (i = 0; ok[i] != NULL; i++)
			if (strcmp(de->d_name, ok[i]) == 0)
				break;
		if (ok[i] == NULL)
			fail_msg("left behind: etc/%s", de->d_name);
	}
	closedir(d);
}

static void
t_parse_debian(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct account_user u;
	struct account_group g;

	assert_int_equal(accountdb_user_by_name(db, "root", &u), 0);
	assert_int_equal(u.uid, 0);
	assert_string_equal(u.shell, "/bin/bash");
	assert_int_equal(accountdb_user_by_name(db, "nobody", &u), 0);
	assert_int_equal(u.uid, 65534);
	assert_string_equal(u.home, "/nonexistent");
	assert_int_equal(accountdb_user_by_uid(db, 1000, &u), 0);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.gecos, "Alice,,,");
	assert_int_equal(accountdb_user_by_uid(db, 24, &u), -ENOENT);
	assert_int_equal(accountdb_user_by_name(db, "sendmail", &u), -ENOENT);
	assert_int_equal(accountdb_group_by_gid(db, 24, &g), 0);
	assert_string_equal(g.name, "cdrom");
	assert_int_equal(g.nmembers, 1);
	assert_string_equal(g.members[0], "alice");
	assert_int_equal(accountdb_group_by_name(db, "mail", &g), 0);
	assert_int_equal(g.nmembers, 3);
	assert_string_equal(g.members[1], "sendmail");
	assert_int_equal(accountdb_group_by_name(db, "floppy", &g), 0);
	assert_int_equal(g.gid, 25);
	assert_int_equal(accountdb_ngroups(db), 39);
	assert_int_equal(accountdb_nusers(db), 19);
	assert_int_equal(accountdb_group_at(db, 0, &g), 0);
	assert_string_equal(g.name, "root");
	assert_int_equal(accountdb_group_at(db, 39, &g), -ENOENT);
	assert_int_equal(accountdb_user_at(db, 18, &u), 0);
	assert_string_equal(u.name, "alice");
	assert_true(accountdb_has_shadow(db));
	assert_true(accountdb_has_gshadow(db));
	assert_int_equal(accountdb_password_locked(db, "root"), 1);
	assert_int_equal(accountdb_password_locked(db, "alice"), 0);
	assert_int_equal(accountdb_password_locked(db, "nosuch"), -ENOENT);
	assert_false(accountdb_dirty(db));
	accountdb_free(db);
}

static void
commit_ok(struct accountdb *db)
{
	struct db_error err;
	int rc = accountdb_commit(db, &err);

	if (rc != 0)
		print_error(
		    "commit: %s:%zu: %s\n", err.file, err.line, err.msg);
	assert_int_equal(rc, 0);
}

static void
assert_file(struct root *r, const char *rel, const char *want)
{
	char *got = get(r, rel, NULL);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

/* Comments, NIS lines and blank lines are kept and never parsed. */
static void
t_parse_verbatim(void **state)
{
	struct root *r = *state;
	struct accountdb *db;
	struct account_user u;

	puts_(r, "etc/passwd",
	    "# local users\n\nroot:x:0:0:root:/root:/bin/bash\n"
	    "+@netgroup::::::\n-baduser\n+\nbob:x:1001:1001::/home/bob:/bin/"
	    "sh");
	db = load_ok(r);
	assert_int_equal(accountdb_nusers(db), 2);
	assert_int_equal(accountdb_user_by_name(db, "bob", &u), 0);
	assert_string_equal(u.shell, "/bin/sh");
	assert_int_equal(accountdb_user_at(db, 1, &u), 0);
	assert_string_equal(u.name, "bob");
	/* New entries go before the first NIS line; no final '\n' added. */
	assert_int_equal(
	    accountdb_add_user(db, "sm", 900, 900, "", "/", "/x"), 0);
	assert_int_equal(accountdb_user_at(db, 1, &u), 0);
	assert_string_equal(u.name, "sm");
	assert_int_equal(accountdb_user_at(db, 2, &u), 0);
	assert_string_equal(u.name, "bob");
	assert_int_equal(accountdb_user_by_name(db, "bob", &u), 0);
	assert_string_equal(u.home, "/home/bob");
	commit_ok(db);
	accountdb_free(db);
	assert_file(r, "etc/passwd",
	    "# local users\n\nroot:x:0:0:root:/root:/bin/bash\n"
	    "sm:x:900:900::/:/x\n"
	    "+@netgroup::::::\n-baduser\n+\nbob:x:1001:1001::/home/bob:/bin/"
	    "sh");
}

struct bad {
	const char *file, *data;
	size_t len; /* 0: strlen */
	size_t line;
	const char *msg;
};

static void
t_malformed(void **state)
{
	static char longline[5000], nulbuf[64];
	struct bad cases[] = {
		{ "passwd", "root:x:0:0:root:/root\n", 0, 1,
		    "bad field count (6, want 7)" },
		{ "passwd", "root:x:0:0::/:/bin/sh\n:x:1:1::/:/bin/sh\n", 0, 2,
		    "empty name" },
		{ "passwd", "a:x:1:1::/:\nb:x:2:2::/:\n# c\na:x:3:3::/:\n", 0,
		    4, "duplicate name 'a' (first on line 1)" },
		{ "passwd", "a:x:abc:1::/:\n", 0, 1, "bad uid 'abc'" },
		{ "passwd", "a:x:-1:1::/:\n", 0, 1, "bad uid '-1'" },
		{ "passwd", "a:x: 1:1::/:\n", 0, 1, "bad uid ' 1'" },
		{ "passwd", "a:x:+1:1::/:\n", 0, 1, "bad uid '+1'" },
		{ "passwd", "a:x:0x10:1::/:\n", 0, 1, "bad uid '0x10'" },
		{ "passwd", "a:x:4294967295:1::/:\n", 0, 1, "bad uid" },
		{ "passwd", "a:x::1::/:\n", 0, 1, "bad uid ''" },
		{ "passwd", "a:x:1:99999999999::/:\n", 0, 1, "bad gid" },
		{ "passwd", longline, 0, 2, "line too long" },
		{ "passwd", nulbuf, 25, 2, "NUL byte" },
		{ "group", "root:x:0:\nwheel:x:ten:\n", 0, 2, "bad gid 'ten'" },
		{ "group", "root:x:0\n", 0, 1, "bad field count (3, want 4)" },
		{ "group", "root:x:0:\nroot:x:1:\n", 0, 2, "duplicate name" },
		{ "shadow", "root:*:1:0:99999:7::\n", 0, 1,
		    "bad field count (8, want 9)" },
		{ "gshadow", "root:*::\nroot:*::\n", 0, 2, "duplicate name" },
		{ "gshadow", "root:*:\n", 0, 1, "bad field count (3, want 4)" },
	};
	struct root *r = *state;
	struct accountdb *db = NULL;
	struct db_error err;
	char file[64];
	size_t i;

	memset(longline, 'a', sizeof(longline) - 1);
	memcpy(longline, "x:x:1:1::/:\n", 12); /* line 2 is 4988 bytes */
	memcpy(nulbuf, "x:x:1:1::/:\ny:x:2:2:\0:/:\n", 25);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		debian(r);
		snprintf(file, sizeof(file), "etc/%s", cases[i].file);
		put(r, file, cases[i].data,
		    cases[i].len ? cases[i].len : strlen(cases[i].data), 0644,
		    0);
		assert_int_equal(accountdb_load(r->fd, &db, &err), -EINVAL);
		assert_null(db);
		assert_string_equal(err.file, file);
		if (err.line != cases[i].line ||
		    strstr(err.msg, cases[i].msg) == NULL)
			fail_msg("case %zu: %s:%zu: %s", i, err.file, err.line,
			    err.msg);
	}
}

static void
t_missing_and_optional(void **state)
{
	struct root *r = *state;
	struct accountdb *db = NULL;
	struct db_error err;
	char p[128];

	snprintf(p, sizeof(p), "%s/etc/shadow", r->path);
	assert_int_equal(unlink(p), 0);
	snprintf(p, sizeof(p), "%s/etc/gshadow", r->path);
	assert_int_equal(unlink(p), 0);
	db = load_ok(r);
	assert_false(accountdb_has_shadow(db));
	assert_false(accountdb_has_gshadow(db));
	/* Without shadow the hash lives in passwd: "x" is not locked. */
	assert_int_equal(accountdb_password_locked(db, "root"), 0);
	accountdb_free(db);
	snprintf(p, sizeof(p), "%s/etc/group", r->path);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(accountdb_load(r->fd, &db, &err), -ENOENT);
	assert_string_equal(err.file, "etc/group");
	assert_int_equal(err.line, 0);
}

static void
t_symlink(void **state)
{
	struct root *r = *state;
	struct accountdb *db = NULL;
	struct db_error err;
	char p[128], t[128];

	snprintf(p, sizeof(p), "%s/etc/passwd", r->path);
	snprintf(t, sizeof(t), "%s/etc/passwd.real", r->path);
	assert_int_equal(rename(p, t), 0);
	assert_int_equal(symlink("passwd.real", p), 0);
	assert_int_equal(accountdb_load(r->fd, &db, &err), -ELOOP);
	assert_null(db);
	assert_string_equal(err.file, "etc/passwd");
	assert_int_equal(unlink(t), 0);
}

/* A FIFO as etc/group must not hang the load. */
static void
t_fifo(void **state)
{
	struct root *r = *state;
	struct accountdb *db = NULL;
	struct db_error err;
	char p[128];

	snprintf(p, sizeof(p), "%s/etc/group", r->path);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0644), 0);
	assert_int_equal(accountdb_load(r->fd, &db, &err), -EINVAL);
	assert_string_equal(err.msg, "not a regular file");
}

static void
add_sendmail(struct accountdb *db)
{
	assert_int_equal(accountdb_add_group(db, "sendmail", 24), -EEXIST);
	assert_int_equal(accountdb_add_group(db, "sendmail", 999), 0);
	assert_int_equal(accountdb_add_user(db, "sendmail", 999, 999, "",
			     "/var/spool/mqueue", "/usr/sbin/nologin"),
	    0);
	assert_true(accountdb_dirty(db));
}

static void
assert_owner_mode(struct root *r, const char *rel, gid_t gid, mode_t mode)
{
	struct stat st;

	stat_of(r, rel, &st);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, gid);
	assert_int_equal(st.st_mode & 07777, mode);
}

/* Odd lines survive byte for byte; new lines look like useradd -r's. */
static void
t_add_commit(void **state)
{
	static const char pw[] = "# odd  spacing kept\nroot:x:0:0:root  :/root:"
				 "/bin/bash\n\n"
				 "alice:x:1000:1000::/home/alice:/bin/sh";
	static const char gr[] = "root:x:0:\ncdrom:x:24:alice,,bob,\n"
				 "-nisgroup\n";
	struct root *r = *state;
	struct accountdb *db;
	struct account_user u;
	struct account_group g;
	char want[1024], days[32];

	puts_(r, "etc/passwd", pw);
	puts_(r, "etc/group", gr);
	put(r, "etc/shadow", "root:*:19500:0:99999:7:::", 25, 0640, SHADOW_GID);
	put(r, "etc/gshadow", "root:*::\n", 9, 0600, SHADOW_GID);
	db = load_ok(r);
	add_sendmail(db);
	snprintf(days, sizeof(days), "%lld", (long long)(time(NULL) / 86400));
	assert_int_equal(accountdb_user_by_name(db, "sendmail", &u), 0);
	assert_int_equal(u.uid, 999);
	assert_string_equal(u.home, "/var/spool/mqueue");
	assert_int_equal(accountdb_group_by_gid(db, 999, &g), 0);
	assert_int_equal(g.nmembers, 0);
	commit_ok(db);
	assert_false(accountdb_dirty(db));

	snprintf(want, sizeof(want), "%s\n%s", pw,
	    "sendmail:x:999:999::/var/spool/mqueue:/usr/sbin/nologin\n");
	assert_file(r, "etc/passwd", want);
	/* Before the NIS line, as shadow-utils inserts. */
	assert_file(r, "etc/group",
	    "root:x:0:\ncdrom:x:24:alice,,bob,\nsendmail:x:999:\n-nisgroup\n");
	snprintf(want, sizeof(want),
	    "root:*:19500:0:99999:7:::\n"
	    "sendmail:!:%s::::::\n",
	    days);
	assert_file(r, "etc/shadow", want);
	assert_file(r, "etc/gshadow", "root:*::\nsendmail:!::\n");
	/* Backups hold the old bytes, with the old owner and mode. */
	assert_file(r, "etc/passwd-", pw);
	assert_file(r, "etc/group-", gr);
	assert_file(r, "etc/shadow-", "root:*:19500:0:99999:7:::");
	assert_file(r, "etc/gshadow-", "root:*::\n");
	assert_owner_mode(r, "etc/passwd", 0, 0644);
	assert_owner_mode(r, "etc/group", 0, 0644);
	assert_owner_mode(r, "etc/shadow", SHADOW_GID, 0640);
	assert_owner_mode(r, "etc/gshadow", SHADOW_GID, 0600);
	assert_owner_mode(r, "etc/shadow-", SHADOW_GID, 0640);
	assert_owner_mode(r, "etc/gshadow-", SHADOW_GID, 0600);
	assert_clean_etc(r);
	assert_false(exists(r, "etc/passwd.lock"));

	/* The in-memory state is the new one: a further change commits. */
	assert_int_equal(
	    accountdb_set_user(db, "sendmail", "shell", "/bin/false"), 0);
	commit_ok(db);
	accountdb_free(db);
	db = load_ok(r);
	assert_int_equal(accountdb_user_by_name(db, "sendmail", &u), 0);
	assert_string_equal(u.shell, "/bin/false");
	accountdb_free(db);
	snprintf(want, sizeof(want), "%s\n%s", pw,
	    "sendmail:x:999:999::/var/spool/mqueue:/usr/sbin/nologin\n");
	assert_file(r, "etc/passwd-", want);
	/* group was not changed the second time: its backup is the first. */
	assert_file(r, "etc/group-", gr);
}

static void
t_nothing_dirty(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct stat before, after;

	stat_of(r, "etc/passwd", &before);
	/* No-op changes do not make the database dirty. */
	assert_int_equal(
	    accountdb_set_user(db, "root", "shell", "/bin/bash"), 0);
	assert_int_equal(accountdb_lock_password(db, "root"), 0);
	assert_int_equal(accountdb_remove_member(db, "mail", "nosuch"), 0);
	assert_false(accountdb_dirty(db));
	commit_ok(db);
	accountdb_free(db);
	stat_of(r, "etc/passwd", &after);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/.pwd.lock"));
	assert_false(exists(r, "etc/passwd.lock"));
}

static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void
t_stale_lock(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)dead_pid());
	puts_(r, "etc/passwd.lock", pid);
	add_sendmail(db);
	commit_ok(db);
	accountdb_free(db);
	assert_false(exists(r, "etc/passwd.lock"));
	assert_clean_etc(r);
}

static void
t_live_lock(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;
	struct stat before, after;
	char pid[32], want[128];
	char *s;

	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	puts_(r, "etc/passwd.lock", pid);
	stat_of(r, "etc/passwd", &before);
	add_sendmail(db);
	assert_int_equal(accountdb_commit(db, &err), -EBUSY);
	snprintf(want, sizeof(want), "is held by pid %ld", (long)getpid());
	assert_string_equal(err.file, "etc/passwd.lock");
	assert_string_equal(err.msg, want);
	assert_true(accountdb_dirty(db));
	accountdb_free(db);
	stat_of(r, "etc/passwd", &after);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_file(r, "etc/group", group_deb);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/group-"));
	/* Someone else's lock stays; ours (group.lock) is gone. */
	assert_non_null(s = get(r, "etc/passwd.lock", NULL));
	assert_string_equal(s, pid);
	free(s);
	assert_false(exists(r, "etc/group.lock"));
}

/* A child holds etc/.pwd.lock (fcntl locks are per process). */
static void
t_pwdlock_timeout(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;
	struct flock fl;
	int pfd[2], fd;
	char p[128], c;
	pid_t pid;

	snprintf(p, sizeof(p), "%s/etc/.pwd.lock", r->path);
	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &c, 1), 1);
	add_sendmail(db);
	accountdb_set_lock_timeout(db, 300);
	assert_int_equal(accountdb_commit(db, &err), -ETIMEDOUT);
	assert_string_equal(err.file, "etc/.pwd.lock");
	assert_non_null(strstr(err.msg, "is held by pid"));
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/group.lock"));
	/* Released: now it works. */
	commit_ok(db);
	accountdb_free(db);
}

static void
t_estale(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;
	char *changed;

	add_sendmail(db);
	/* Same size, different bytes: an edit made meanwhile. */
	changed = strdup(group_deb);
	changed[0] = 'R';
	put(r, "etc/group", changed, strlen(changed), 0644, 0);
	assert_int_equal(accountdb_commit(db, &err), -ESTALE);
	assert_string_equal(err.file, "etc/group");
	assert_string_equal(err.msg, "changed since it was read, run again");
	accountdb_free(db);
	assert_file(r, "etc/group", changed);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/group-"));
	assert_false(exists(r, "etc/group.lock"));
	assert_clean_etc(r);
	free(changed);
}

/* Only shadow changes: passwd and group stay untouched. */
static void
t_estale_untouched_file(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;

	assert_int_equal(accountdb_lock_password(db, "alice"), 0);
	puts_(r, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	assert_int_equal(accountdb_commit(db, &err), -ESTALE);
	assert_string_equal(err.file, "etc/passwd");
	accountdb_free(db);
	assert_file(r, "etc/shadow", shadow_deb);
}

static void
t_remove_member(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct account_group g;
	char *want;

	assert_int_equal(accountdb_remove_member(db, "nosuch", "x"), -ENOENT);
	assert_int_equal(accountdb_remove_member(db, "mail", "sendmail"), 0);
	assert_int_equal(accountdb_group_by_name(db, "mail", &g), 0);
	assert_int_equal(g.nmembers, 2);
	assert_string_equal(g.members[0], "alice");
	assert_string_equal(g.members[1], "bob");
	assert_int_equal(accountdb_remove_member(db, "cdrom", "alice"), 0);
	assert_int_equal(accountdb_group_by_gid(db, 24, &g), 0);
	assert_int_equal(g.nmembers, 0);
	commit_ok(db);
	accountdb_free(db);
	want = strdup(group_deb);
	*strstr(want, "alice,sendmail,bob") = '\0';
	assert_non_null(want = realloc(want, strlen(group_deb) + 1));
	strlcat(want, "alice,bob\nnews", strlen(group_deb) + 1);
	strlcat(want, strstr(group_deb, "news") + 4, strlen(group_deb) + 1);
	*strstr(want, "cdrom:x:24:alice") = '\0';
	strlcat(want, "cdrom:x:24:", strlen(group_deb) + 1);
	strlcat(want, strstr(group_deb, "cdrom:x:24:alice") + 16,
	    strlen(group_deb) + 1);
	assert_file(r, "etc/group", want);
	free(want);
	want = get(r, "etc/gshadow", NULL);
	assert_non_null(strstr(want, "\nmail:*::alice,bob\n"));
	assert_non_null(strstr(want, "\ncdrom:*::\nfloppy:*::alice\n"));
	assert_int_equal(strlen(want), strlen(gshadow_deb) - 14);
	free(want);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_false(exists(r, "etc/passwd-"));
}

static void
t_lock_password(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	char *s;

	assert_int_equal(accountdb_lock_password(db, "root"), 0);
	assert_false(accountdb_dirty(db));
	assert_int_equal(accountdb_lock_password(db, "nosuch"), -ENOENT);
	assert_int_equal(accountdb_lock_password(db, "alice"), 0);
	assert_int_equal(accountdb_password_locked(db, "alice"), 1);
	commit_ok(db);
	accountdb_free(db);
	s = get(r, "etc/shadow", NULL);
	assert_non_null(
	    strstr(s, "\nalice:!$y$j9T$abc$def:19600:0:99999:7:::\n"));
	free(s);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_owner_mode(r, "etc/shadow", SHADOW_GID, 0640);

	/* Without shadow the passwd field is locked the same way. */
	puts_(
	    r, "etc/passwd", "root:x:0:0::/root:/bin/sh\nbob:$1$xy:5:5::/:\n");
	put(r, "etc/shadow", "", 0, 0640, 0);
	assert_int_equal(unlinkat(r->fd, "etc/shadow", 0), 0);
	db = load_ok(r);
	assert_int_equal(accountdb_lock_password(db, "bob"), 0);
	assert_int_equal(accountdb_lock_password(db, "bob"), 0);
	commit_ok(db);
	accountdb_free(db);
	assert_file(
	    r, "etc/passwd", "root:x:0:0::/root:/bin/sh\nbob:!$1$xy:5:5::/:\n");
	assert_false(exists(r, "etc/shadow"));
}

static void
t_set_user(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct account_user u;
	char *s;

	assert_int_equal(
	    accountdb_set_user(db, "nosuch", "shell", "/x"), -ENOENT);
	assert_int_equal(accountdb_set_user(db, "news", "uid", "1"), -EINVAL);
	assert_int_equal(accountdb_set_user(db, "news", "gid", "-1"), -EINVAL);
	assert_int_equal(
	    accountdb_set_user(db, "news", "home", "/a:b"), -EINVAL);
	assert_int_equal(
	    accountdb_set_user(db, "news", "gecos", "a\nb"), -EINVAL);
	assert_false(accountdb_dirty(db));
	assert_int_equal(accountdb_set_user(db, "news", "gid", "24"), 0);
	assert_int_equal(
	    accountdb_set_user(db, "news", "home", "/srv/news"), 0);
	assert_int_equal(accountdb_set_user(db, "news", "gecos", "News,,,"), 0);
	assert_int_equal(accountdb_user_by_name(db, "news", &u), 0);
	assert_int_equal(u.gid, 24);
	assert_string_equal(u.home, "/srv/news");
	commit_ok(db);
	accountdb_free(db);
	s = get(r, "etc/passwd", NULL);
	assert_non_null(strstr(s,
	    "\nnews:x:9:24:News,,,:/srv/news:"
	    "/usr/sbin/nologin\nuucp:"));
	assert_int_equal(strlen(s), strlen(passwd_deb) - 2);
	free(s);
	assert_false(exists(r, "etc/shadow-"));
}

static void
t_add_validation(void **state)
{
	static const char *const badnames[] = { "", "Sendmail", "1mail",
		"-mail", "mail:x", "ma il", "a$b",
		"abcdefghijabcdefghijabcdefghijabc", NULL };
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	size_t i;

	for (i = 0; badnames[i] != NULL; i++) {
		assert_int_equal(
		    accountdb_add_group(db, badnames[i], 900), -EINVAL);
		assert_int_equal(accountdb_add_user(db, badnames[i], 900, 900,
				     "", "/", "/bin/sh"),
		    -EINVAL);
	}
	assert_true(accountdb_name_valid("_apt2"));
	assert_true(accountdb_name_valid("host$"));
	assert_true(accountdb_name_valid("abcdefghijabcdefghijabcdefghijab"));
	assert_int_equal(
	    accountdb_add_user(db, "sm", 900, 900, "a:b", "/", "/bin/sh"),
	    -EINVAL);
	assert_int_equal(
	    accountdb_add_user(db, "sm", 900, 900, "", "/\n", "/bin/sh"),
	    -EINVAL);
	assert_int_equal(
	    accountdb_add_user(db, "sm", (uid_t)-1, 900, "", "/", "/bin/sh"),
	    -EINVAL);
	assert_int_equal(
	    accountdb_add_user(db, "root", 900, 900, "", "/", "/bin/sh"),
	    -EEXIST);
	assert_int_equal(
	    accountdb_add_user(db, "sm", 1000, 900, "", "/", "/bin/sh"),
	    -EEXIST);
	assert_int_equal(accountdb_add_group(db, "cdrom", 900), -EEXIST);
	assert_int_equal(accountdb_add_group(db, "sm", 25), -EEXIST);
	assert_false(accountdb_dirty(db));
	accountdb_free(db);
}

/* A stale shadow/gshadow entry is replaced by the locked one. */
static void
t_stale_shadow_entry(void **state)
{
	struct root *r = *state;
	struct accountdb *db;
	char want[2048];

	snprintf(want, sizeof(want), "%ssendmail:$6$old:1:0:99999:7:::\n",
	    shadow_deb);
	put(r, "etc/shadow", want, strlen(want), 0640, SHADOW_GID);
	db = load_ok(r);
	add_sendmail(db);
	assert_int_equal(accountdb_password_locked(db, "sendmail"), 1);
	accountdb_free(db);
}

static int
run(const char *cmd, char *out, size_t outlen)
{
	size_t n = 0;
	FILE *fp;

	assert_non_null(fp = popen(cmd, "r"));
	while (n + 1 < outlen && fgets(out + n, (int)(outlen - n), fp) != NULL)
		n += strlen(out + n);
	out[n] = '\0';
	return pclose(fp);
}

/* mkdir -p root/path (and touch an executable when file is set). */
static void
populate(struct root *r, const char *path, int file)
{
	char p[512], *q;
	int fd;

	snprintf(p, sizeof(p), "%s%s", r->path, path);
	for (q = p + strlen(r->path) + 1; (q = strchr(q, '/')) != NULL; q++) {
		*q = '\0';
		(void)mkdir(p, 0755);
		*q = '/';
	}
	if (!file) {
		(void)mkdir(p, 0755);
		return;
	}
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0755)) != -1)
		close(fd);
}

/* What shadow-utils' own checkers say about a root we wrote. */
static void
t_pwck_grpck(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct account_user u;
	char cmd[256], out[16384];
	size_t i;
	int st;

	add_sendmail(db);
	assert_int_equal(accountdb_remove_member(db, "mail", "sendmail"), 0);
	/* The fixture lists a member with no account. */
	assert_int_equal(accountdb_remove_member(db, "mail", "bob"), 0);
	assert_int_equal(accountdb_lock_password(db, "alice"), 0);
	commit_ok(db);
	/* pwck also wants every home and shell to exist. */
	for (i = 0; accountdb_user_at(db, i, &u) == 0; i++) {
		populate(r, u.home, 0);
		populate(r, u.shell, 1);
	}
	accountdb_free(db);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/grpck -r -R %s 2>&1", r->path);
	st = run(cmd, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("grpck: %d: %s", st, out);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/pwck -r -R %s 2>&1", r->path);
	st = run(cmd, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("pwck: %d: %s", st, out);
	/* Not a missing binary: a bad line does make it complain. */
	puts_(r, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbad line\n");
	st = run(cmd, out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	assert_non_null(strstr(out, "invalid password file entry"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_parse_debian),
		T(t_parse_verbatim),
		T(t_malformed),
		T(t_missing_and_optional),
		T(t_symlink),
		T(t_fifo),
		T(t_add_commit),
		T(t_nothing_dirty),
		T(t_stale_lock),
		T(t_live_lock),
		T(t_pwdlock_timeout),
		T(t_estale),
		T(t_estale_untouched_file),
		T(t_remove_member),
		T(t_lock_password),
		T(t_set_user),
		T(t_add_validation),
		T(t_stale_shadow_entry),
		T(t_pwck_grpck),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
