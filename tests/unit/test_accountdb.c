/*
 * accountdb against real files in temporary roots under /tmp: parsing,
 * malformed input, lookups and in-memory changes (members, passwords,
 * user fields, name validation).  Commits, locks, backups and the stale
 * check are in test_dbcommit.c.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountdb_fixture.h"

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
		T(t_remove_member),
		T(t_lock_password),
		T(t_set_user),
		T(t_add_validation),
		T(t_stale_shadow_entry),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
