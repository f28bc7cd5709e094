/*
 * Unit tests for lib/layout.c: the shipped manifest and its built-in copy,
 * match semantics ("**", globs, last rule wins), may_descend, is_literal,
 * layout_load's refusals, and every validation error with line and key.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "layout.h"

#define SHARE_LAYOUT SRCDIR "/share/layout"
#define ACC                                                      \
	"account sendmail uid=24 gid=24 home=/var/spool/mqueue " \
	"shell=/usr/sbin/nologin locked\n"

static struct layout *
parse_ok(const char *text)
{
	struct layout *l = NULL;
	struct layout_error err;
	int r;

	r = layout_parse(text, strlen(text), "test", &l, &err);
	if (r != 0)
		fail_msg("parse failed (%d): %s:%zu: %s", r, err.file, err.line,
		    err.msg);
	assert_non_null(l);
	return l;
}

static void
expect_error_len(const char *text, size_t len, size_t line, const char *msg)
{
	struct layout *l = (struct layout *)&l; /* must be reset to NULL */
	struct layout_error err;
	int r;

	r = layout_parse(text, len, "test", &l, &err);
	if (r != -EINVAL || err.line != line || strcmp(err.msg, msg) != 0)
		fail_msg("for \"%s\": got %d, line %zu \"%s\"; want line %zu "
			 "\"%s\"",
		    text, r, err.line, err.msg, line, msg);
	assert_null(l);
	assert_string_equal(err.file, "test");
}

static void
expect_error(const char *text, size_t line, const char *msg)
{
	expect_error_len(text, strlen(text), line, msg);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f;
	char *buf;

	assert_non_null(f = fopen(path, "rb"));
	assert_non_null(buf = malloc(LAYOUT_MAX_SIZE + 1));
	*len = fread(buf, 1, LAYOUT_MAX_SIZE, f);
	assert_int_equal(ferror(f), 0);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

static void
test_builtin_matches_share(void **state)
{
	size_t len;
	char *text = slurp(SHARE_LAYOUT, &len);

	(void)state;
	if (len != strlen(layout_builtin) ||
	    memcmp(text, layout_builtin, len) != 0)
		fail_msg("lib/layout_builtin.c differs from share/layout: "
			 "update lib/layout_builtin.c to match it byte for "
			 "byte");
	free(text);
}

/* The shipped manifest's account and the rules the recipe relies on. */
static void
check_shipped(const struct layout *l)
{
	const struct layout_rule *r;

	assert_string_equal(l->account.name, "sendmail");
	assert_int_equal(l->account.uid, 24);
	assert_int_equal(l->account.gid, 24);
	assert_string_equal(l->account.home, "/var/spool/mqueue");
	assert_string_equal(l->account.shell, "/usr/sbin/nologin");
	assert_int_equal(l->account.locked, 1);

	assert_non_null(r = layout_match(l, "/var/spool/mqueue", LAYOUT_DIR));
	assert_string_equal(r->pattern, "/var/spool/mqueue");
	assert_string_equal(r->owner, "@user");
	assert_string_equal(r->group, "@group");
	assert_true(r->mode.has_mode && r->mode.mode == 0700);
	assert_true(r->create && r->strict && r->noacl && !r->optional);

	assert_non_null(r = layout_match(l, "/etc/mail", LAYOUT_DIR));
	assert_string_equal(r->pattern, "/etc/mail");
	assert_string_equal(r->owner, "root");
	assert_false(r->mode.has_mode);
	assert_int_equal(r->mode.require, 050);
	assert_int_equal(r->mode.forbid, 022);
	assert_true(r->mode.setgid && r->create && !r->noacl);
	assert_string_equal(r->default_acl, "@group:rX");

	assert_non_null(
	    r = layout_match(l, "/etc/mail/relayd.conf", LAYOUT_FILE));
	assert_true(r->mode.has_mode && r->mode.mode == 0640);
	assert_string_equal(r->sample, "relayd.conf.sample");
}

static void
test_shipped_parses(void **state)
{
	struct layout *l = NULL;
	struct layout_error err;
	int r;

	(void)state;
	r = layout_load(AT_FDCWD, SHARE_LAYOUT, &l, &err);
	if (r != 0)
		fail_msg("%s:%zu: %s", err.file, err.line, err.msg);
	check_shipped(l);
	layout_free(l);

	l = parse_ok(layout_builtin);
	check_shipped(l);
	layout_free(l);
	layout_free(NULL);
}

static const char *
pat(const struct layout *l, const char *path, enum layout_type t)
{
	const struct layout_rule *r = layout_match(l, path, t);

	return r != NULL ? r->pattern : "(none)";
}

static void
test_match_shipped(void **state)
{
	struct layout *l = parse_ok(layout_builtin);
	const struct layout_rule *r;

	(void)state;
	/* Named spool dirs beat the "**" rule, which still covers the rest. */
	assert_string_equal(pat(l, "/var/spool/mqueue/tmp", LAYOUT_DIR),
	    "/var/spool/mqueue/tmp");
	assert_string_equal(pat(l, "/var/spool/mqueue/queue/x", LAYOUT_DIR),
	    "/var/spool/mqueue/**");
	assert_string_equal(pat(l, "/var/spool/mqueue/qfAB12", LAYOUT_FILE),
	    "/var/spool/mqueue/**");
	assert_string_equal(pat(l, "/var/spool/mqueue/a/b/.c", LAYOUT_FILE),
	    "/var/spool/mqueue/**");
	r = layout_match(l, "/var/spool/mqueue/queue/x", LAYOUT_DIR);
	assert_false(r->create);
	assert_true(r->strict);
	r = layout_match(l, "/var/spool/mqueue/tmp/df1", LAYOUT_FILE);
	assert_int_equal(r->mode.mode, 0600);

	/* The key rule beats the general file rule, at any depth. */
	assert_string_equal(
	    pat(l, "/etc/mail/relay.key", LAYOUT_FILE), "/etc/mail/**/*.key");
	assert_string_equal(pat(l, "/etc/mail/tls/a/relay.key", LAYOUT_FILE),
	    "/etc/mail/**/*.key");
	/* The relay never reads a key: root's group, no ACL (relayd.8, TLS). */
	r = layout_match(l, "/etc/mail/tls/relay.key", LAYOUT_FILE);
	assert_string_equal(r->owner, "root");
	assert_string_equal(r->group, "root");
	assert_int_equal(r->mode.mode, 0600);
	assert_true(r->noacl);
	assert_string_equal(
	    pat(l, "/etc/mail/access.db", LAYOUT_FILE), "/etc/mail/**");
	assert_string_equal(
	    pat(l, "/etc/mail/relay.key.bak", LAYOUT_FILE), "/etc/mail/**");
	assert_string_equal(
	    pat(l, "/etc/mail/tls", LAYOUT_DIR), "/etc/mail/**");
	/* The type decides: a directory named relayd.conf is no config file. */
	assert_string_equal(
	    pat(l, "/etc/mail/relayd.conf", LAYOUT_DIR), "/etc/mail/**");

	assert_string_equal(
	    pat(l, "/etc/aliases", LAYOUT_FILE), "/etc/aliases*");
	assert_string_equal(
	    pat(l, "/etc/aliases.db", LAYOUT_FILE), "/etc/aliases*");
	assert_string_equal(pat(l, "/etc/aliasesdir/x", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/etc/aliases", LAYOUT_DIR), "(none)");
	assert_string_equal(pat(l, "/etc/passwd", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/etc", LAYOUT_DIR), "(none)");
	assert_string_equal(pat(l, "/", LAYOUT_DIR), "(none)");

	/* Unclean paths never match, so ".." cannot smuggle a rule. */
	assert_string_equal(
	    pat(l, "/etc/mail/../passwd", LAYOUT_FILE), "(none)");
	assert_string_equal(
	    pat(l, "/etc/mail/./relayd.conf", LAYOUT_FILE), "(none)");
	assert_string_equal(
	    pat(l, "etc/mail/relayd.conf", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/etc/mail/", LAYOUT_DIR), "(none)");
	assert_string_equal(pat(l, "//etc/mail", LAYOUT_DIR), "(none)");
	assert_string_equal(pat(l, "", LAYOUT_DIR), "(none)");
	layout_free(l);
}

static void
test_match_semantics(void **state)
{
	struct layout *l;

	(void)state;
	l = parse_ok(ACC "path /a/*/c file mode=0600\n"
			 "path /a/**/z file mode=0644\n"
			 "path /b/** dir mode=0700\n"
			 "path /b/x dir mode=0750\n"
			 "path /b/** file\n"
			 "path /b/x/** file mode=0640\n"
			 "path /c/**/**/e file\n"
			 "path /d/[ab]?.txt file\n"
			 "path / dir\n");
	/* A glob matches one component only, and dot files too. */
	assert_string_equal(pat(l, "/a/b/c", LAYOUT_FILE), "/a/*/c");
	assert_string_equal(pat(l, "/a/.hid/c", LAYOUT_FILE), "/a/*/c");
	assert_string_equal(pat(l, "/a/b/x/c", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/a/c", LAYOUT_FILE), "(none)");
	/* "**" is zero or more components. */
	assert_string_equal(pat(l, "/a/z", LAYOUT_FILE), "/a/**/z");
	assert_string_equal(pat(l, "/a/b/z", LAYOUT_FILE), "/a/**/z");
	assert_string_equal(pat(l, "/a/b/c/d/z", LAYOUT_FILE), "/a/**/z");
	assert_string_equal(pat(l, "/a/b/z/y", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/b", LAYOUT_DIR), "/b/**");
	assert_string_equal(pat(l, "/b/q/r/s", LAYOUT_DIR), "/b/**");
	assert_string_equal(pat(l, "/c/e", LAYOUT_FILE), "/c/**/**/e");
	assert_string_equal(pat(l, "/c/1/2/3/e", LAYOUT_FILE), "/c/**/**/e");
	assert_string_equal(pat(l, "/d/a1.txt", LAYOUT_FILE), "/d/[ab]?.txt");
	assert_string_equal(pat(l, "/d/c1.txt", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/d/a12.txt", LAYOUT_FILE), "(none)");
	assert_string_equal(pat(l, "/", LAYOUT_DIR), "/");
	/* The last matching rule of the type wins, wherever it is. */
	assert_string_equal(pat(l, "/b/x", LAYOUT_DIR), "/b/x");
	assert_string_equal(pat(l, "/b/x/y", LAYOUT_DIR), "/b/**");
	assert_string_equal(pat(l, "/b/x/y", LAYOUT_FILE), "/b/x/**");
	assert_string_equal(pat(l, "/b/y", LAYOUT_FILE), "/b/**");
	assert_int_equal(layout_match(l, "/b/x/f", LAYOUT_FILE)->line, 7);
	layout_free(l);

	/* The earlier rule loses when both match. */
	l = parse_ok(ACC "path /e/f.conf file mode=0600\n"
			 "path /e/* file mode=0644\n");
	assert_int_equal(
	    layout_match(l, "/e/f.conf", LAYOUT_FILE)->mode.mode, 0644);
	layout_free(l);
}

/* Many "**" against a deep path: no exponential backtracking. */
static void
test_match_globstar_cost(void **state)
{
	static char text[LAYOUT_MAX_LINE * 2], path[PATH_MAX];
	struct layout *l;
	size_t n, i;

	(void)state;
	n = (size_t)snprintf(text, sizeof(text), "%spath /", ACC);
	for (i = 0; i < 200; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "**/");
	(void)snprintf(text + n, sizeof(text) - n, "nomatch dir\n");
	l = parse_ok(text);
	n = 0;
	for (i = 0; i < 1000; i++)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "/d");
	assert_null(layout_match(l, path, LAYOUT_DIR));
	assert_int_equal(layout_may_descend(l, path), 1);
	(void)snprintf(path + n, sizeof(path) - n, "/nomatch");
	assert_non_null(layout_match(l, path, LAYOUT_DIR));
	layout_free(l);
}

static void
test_may_descend(void **state)
{
	struct layout *l = parse_ok(layout_builtin);
	static const char *yes[] = { "/", "/etc", "/var", "/var/spool",
		"/var/spool/mqueue", "/var/spool/mqueue/queue", "/etc/mail",
		"/etc/mail/sub", "/etc/mail/a/b/c" };
	static const char *no[] = { "/usr", "/etc/ssh", "/var/lib",
		"/var/spool/cron", "/etc/aliases", "/etc/aliases.d",
		"/etc/mail/../ssh", "etc", "/etc/", "" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (layout_may_descend(l, yes[i]) != 1)
			fail_msg("may_descend(%s) should be 1", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (layout_may_descend(l, no[i]) != 0)
			fail_msg("may_descend(%s) should be 0", no[i]);
	layout_free(l);

	/* A one-level glob lets one descend into /a but not below /a/b. */
	l = parse_ok(ACC "path /a/* file\n");
	assert_int_equal(layout_may_descend(l, "/a"), 1);
	assert_int_equal(layout_may_descend(l, "/a/b"), 0);
	layout_free(l);
}

static void
test_is_literal(void **state)
{
	struct layout *l = parse_ok(layout_builtin);
	static const char *yes[] = { "/", "/var", "/var/spool",
		"/var/spool/mqueue", "/var/spool/mqueue/hold", "/etc",
		"/etc/mail", "/etc/mail/relayd.conf", "/etc/aliases*",
		"/etc/mail/**/*.key" };
	static const char *no[] = { "/etc/mail/x", "/etc/aliases",
		"/etc/aliases.db", "/usr", "/var/spool/mqueue/x",
		"/var/spool/mqueue/**/x", "/etc/mail/", "etc", "/etc/mail/.." };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (layout_is_literal(l, yes[i]) != 1)
			fail_msg("is_literal(%s) should be 1", yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (layout_is_literal(l, no[i]) != 0)
			fail_msg("is_literal(%s) should be 0", no[i]);
	layout_free(l);
}

static void
test_syntax_accepted(void **state)
{
	char text[2048];
	struct layout *l;
	int n;

	(void)state;
	/* '#' comments only at a field start; tabs; no final newline. */
	l = parse_ok("\n  # header\n" ACC "\n"
		     "path\t/a#b\tdir  # trailing comment\n"
		     "path /c file group=wheel owner=_svc-1$ optional noacl");
	assert_int_equal(l->nrules, 2);
	assert_string_equal(l->rules[0].pattern, "/a#b");
	assert_int_equal(l->rules[0].line, 5);
	assert_string_equal(l->rules[1].owner, "_svc-1$");
	assert_string_equal(l->rules[1].group, "wheel");
	assert_true(l->rules[1].optional && l->rules[1].noacl);
	assert_false(l->rules[1].strict || l->rules[1].create);
	layout_free(l);

	/* Without "locked"; a line of exactly 1024 bytes. */
	n = snprintf(text, sizeof(text),
	    "account relay uid=4294967294 gid=1 home=/ shell=/bin/false\n"
	    "path /a dir");
	memset(text + n, ' ', 1024 - 11);
	(void)strlcpy(text + n + 1024 - 11, "\n", 2);
	l = parse_ok(text);
	assert_int_equal(l->account.locked, 0);
	assert_int_equal(l->account.uid, 4294967294u);
	assert_int_equal(l->nrules, 1);
	layout_free(l);

	/* A dir may ask for set-id bits; the same pattern may be both. */
	l = parse_ok(ACC "path /x dir mode=2750 setgid\n"
			 "path /x file mode=0640\n"
			 "path /y dir default-acl=@user:rwX require=u+rwx "
			 "forbid=o+rwx\n");
	assert_int_equal(l->rules[0].mode.mode, 02750);
	assert_int_equal(l->rules[2].mode.forbid, 07);
	layout_free(l);
}

static void
test_errors_account(void **state)
{
	(void)state;
	expect_error("", 0, "account: missing account line");
	expect_error("# nothing\n\n", 0, "account: missing account line");
	expect_error(ACC "\n" ACC, 3,
	    "account: more than one account line (first on line 1)");
	expect_error(
	    "path /a dir\n" ACC, 1, "path: the account line must come first");
	expect_error("account\n", 1, "account: invalid user name ''");
	expect_error("account Sendmail uid=1 gid=1 home=/ shell=/s\n", 1,
	    "account: invalid user name 'Sendmail'");
	expect_error("account 1mail uid=1 gid=1 home=/ shell=/s\n", 1,
	    "account: invalid user name '1mail'");
	expect_error("account aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa uid=1\n", 1,
	    "account: invalid user name "
	    "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
	expect_error("account mail uid=1 gid=1 home=/ shell=/s frob=1\n", 1,
	    "frob: unknown key");
	expect_error("account mail uid=1 uid=2 gid=1 home=/ shell=/s\n", 1,
	    "uid: duplicate key");
	expect_error("account mail uid=24x gid=1 home=/ shell=/s\n", 1,
	    "uid: bad number '24x'");
	expect_error("account mail uid=1 gid=-1 home=/ shell=/s\n", 1,
	    "gid: bad number '-1'");
	expect_error("account mail uid=4294967295 gid=1 home=/ shell=/s\n", 1,
	    "uid: bad number '4294967295'");
	expect_error("account mail uid=99999999999 gid=1 home=/ shell=/s\n", 1,
	    "uid: bad number '99999999999'");
	expect_error("account mail uid=0 gid=1 home=/ shell=/s\n", 1,
	    "uid: must not be 0");
	expect_error("account mail uid=1 gid=0 home=/ shell=/s\n", 1,
	    "gid: must not be 0");
	expect_error("account mail uid= gid=1 home=/ shell=/s\n", 1,
	    "uid: missing value");
	expect_error("account mail uid gid=1 home=/ shell=/s\n", 1,
	    "uid: missing value");
	expect_error("account mail uid=1 gid=1 home=/ shell=/s locked=yes\n", 1,
	    "locked: takes no value");
	expect_error("account mail uid=1 gid=1 home=/ locked\n", 1,
	    "shell: missing on the account line");
	expect_error("account mail gid=1 home=/ shell=/s\n", 1,
	    "uid: missing on the account line");
	expect_error("account mail uid=1 gid=1 home=var shell=/s\n", 1,
	    "home: 'var' is not a clean absolute path");
	expect_error("account mail uid=1 gid=1 home=/a:b shell=/s\n", 1,
	    "home: '/a:b' is not a clean absolute path");
	expect_error("account mail uid=1 gid=1 home=/ shell=/a/../sh\n", 1,
	    "shell: '/a/../sh' is not a clean absolute path");
}

static void
test_errors_path(void **state)
{
	(void)state;
	expect_error(ACC "frob x\n", 2, "frob: unknown keyword");
	expect_error(ACC "path /a dir colour=red\n", 2, "colour: unknown key");
	expect_error(
	    ACC "path /a dir mode=0700 mode=0700\n", 2, "mode: duplicate key");
	expect_error(
	    ACC "path /a dir create create\n", 2, "create: duplicate key");
	expect_error(
	    ACC "path a/b dir\n", 2, "path: pattern 'a/b' is not absolute");
	expect_error(ACC "path /a/./b dir\n", 2,
	    "path: '.' or '..' component in '/a/./b'");
	expect_error(ACC "path /a/.. dir\n", 2,
	    "path: '.' or '..' component in '/a/..'");
	expect_error(
	    ACC "path /a//b dir\n", 2, "path: empty component in '/a//b'");
	expect_error(ACC "path /a/ dir\n", 2, "path: empty component in '/a/'");
	expect_error(ACC "path /a\n", 2,
	    "path: expected 'path PATTERN dir|file [key...]'");
	expect_error(ACC "path /a link\n", 2,
	    "path: type must be 'dir' or 'file', not 'link'");
	expect_error(ACC "path /a file mode=0750\n", 2,
	    "mode: files never get execute or set-id bits");
	expect_error(ACC "path /a file mode=2640\n", 2,
	    "mode: files never get execute or set-id bits");
	expect_error(ACC "path /a file mode=1640\n", 2,
	    "mode: files never get execute or set-id bits");
	expect_error(ACC "path /a file require=g+rx\n", 2,
	    "require: files never get execute or set-id bits");
	expect_error(
	    ACC "path /a file setgid\n", 2, "setgid: only for directories");
	expect_error(
	    ACC "path /a file create\n", 2, "create: only for directories");
	expect_error(ACC "path /a file default-acl=@group:r\n", 2,
	    "default-acl: only for directories");
	expect_error(
	    ACC "path /a dir sample=x.sample\n", 2, "sample: only for files");
	expect_error(ACC "path /a dir mode=0750 require=g+r\n", 2,
	    "require: cannot be combined with mode");
	expect_error(ACC "path /a dir forbid=o+w mode=0750\n", 2,
	    "forbid: cannot be combined with mode");
	expect_error(ACC "path /a dir require=g+rw forbid=g+w\n", 2,
	    "forbid: overlaps require");
	expect_error(ACC "path /a dir setgid forbid=g+s\n", 2,
	    "setgid: conflicts with forbid");
	expect_error(ACC "path /a dir noacl default-acl=@group:rX\n", 2,
	    "noacl: conflicts with default-acl");
	expect_error(
	    ACC "path /a dir mode=999\n", 2, "mode: bad octal mode '999'");
	expect_error(ACC "path /a dir require=g-w\n", 2,
	    "require: bad symbolic mode 'g-w' (e.g. g+rx)");
	expect_error(ACC "path /a dir forbid=o+s\n", 2,
	    "forbid: bad symbolic mode 'o+s' (e.g. g+rx)");
	expect_error(ACC "path /a dir mode=\n", 2, "mode: missing value");
	expect_error(ACC "path /a dir strict=1\n", 2, "strict: takes no value");
	expect_error(
	    ACC "path /a dir owner=Root\n", 2, "owner: bad user name 'Root'");
	expect_error(ACC "path /a dir owner=@group\n", 2,
	    "owner: bad user name '@group'");
	expect_error(ACC "path /a dir group=@user\n", 2,
	    "group: bad group name '@user'");
	expect_error(ACC "path /a/* dir create\n", 2,
	    "create: needs a pattern without globs");
	expect_error(ACC "path /a/** dir create\n", 2,
	    "create: needs a pattern without globs");
	expect_error(ACC "path /a/*.conf file sample=a.sample\n", 2,
	    "sample: needs a pattern without globs");
	expect_error(ACC "path /a file sample=../etc/shadow\n", 2,
	    "sample: bad file name '../etc/shadow'");
	expect_error(ACC "path /a file sample=.hidden\n", 2,
	    "sample: bad file name '.hidden'");
	expect_error(ACC "path /a dir default-acl=@group:rz\n", 2,
	    "default-acl: bad entry '@group:rz' (e.g. @group:rX)");
	expect_error(ACC "path /a dir default-acl=group:r\n", 2,
	    "default-acl: bad entry 'group:r' (e.g. @group:rX)");
	expect_error(ACC "path /a dir default-acl=@group:rr\n", 2,
	    "default-acl: bad entry '@group:rr' (e.g. @group:rX)");
	expect_error(ACC "path /a dir default-acl=@group:\n", 2,
	    "default-acl: bad entry '@group:' (e.g. @group:rX)");
	expect_error(ACC "path /a dir\n# x\npath /a dir mode=0700\n", 4,
	    "path: duplicate of line 2");
}

static void
test_errors_lines(void **state)
{
	static char text[4096];
	size_t i, n;

	(void)state;
	/* Line numbers count blank and comment lines. */
	expect_error(
	    "\n# c\n" ACC "\n  path /a dir frob\n", 5, "frob: unknown key");
	expect_error(ACC "path /a dir\r\n", 2, "line: control character 0x0d");
	expect_error_len(ACC "path /a\0 dir\n",
	    sizeof(ACC "path /a\0 dir\n") - 1, 2,
	    "line: control character 0x00");

	n = (size_t)snprintf(text, sizeof(text), ACC "path /a dir");
	memset(text + n, ' ', 1025 - 11);
	text[n + 1025 - 11] = '\0';
	expect_error(text, 2, "line: longer than 1024 bytes");

	n = (size_t)snprintf(text, sizeof(text), ACC "path /a dir");
	for (i = 0; i < 30; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, " strict");
	expect_error(text, 2, "line: more than 32 fields");
}

static void
test_errors_too_many_rules(void **state)
{
	char *text;
	size_t i, n = 0, cap = 512 * 32 + 256;

	(void)state;
	assert_non_null(text = malloc(cap));
	n += (size_t)snprintf(text + n, cap - n, ACC);
	for (i = 0; i <= 512; i++)
		n += (size_t)snprintf(text + n, cap - n, "path /r%zu dir\n", i);
	expect_error(text, 514, "path: more than 512 rules");
	free(text);
}

struct tmpdir {
	char path[64];
	int fd;
};

static void
write_file(int dfd, const char *name, const char *text, mode_t mode)
{
	int fd;

	assert_true(
	    (fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_load(void **state)
{
	static const char *names[] = { "good", "ww", "bad", "link" };
	struct layout_error err;
	struct layout *l = NULL;
	char dir[] = "/tmp/test_layout.XXXXXX";
	size_t i;
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0);
	write_file(dfd, "good", ACC "path /a dir\n", 0644);
	write_file(dfd, "ww", ACC, 0646);
	write_file(dfd, "bad", ACC "path /a dir\npath b dir\n", 0644);
	assert_int_equal(symlinkat("good", dfd, "link"), 0);
	assert_int_equal(mkdirat(dfd, "sub", 0755), 0);

	assert_int_equal(layout_load(dfd, "good", &l, &err), 0);
	assert_int_equal(l->nrules, 1);
	layout_free(l);

	assert_int_equal(layout_load(dfd, "link", &l, &err), -ELOOP);
	assert_null(l);
	assert_string_equal(err.file, "link");
	assert_int_equal(layout_load(dfd, "missing", &l, &err), -ENOENT);
	assert_int_equal(layout_load(dfd, "sub", &l, &err), -EINVAL);
	assert_string_equal(err.msg, "not a regular file");
	assert_int_equal(layout_load(dfd, "ww", &l, &err), -EPERM);
	assert_string_equal(err.msg, "world-writable, refusing it (chmod o-w)");
	/* Group-writable (the relay group, say): refused too. */
	write_file(dfd, "gw", ACC, 0664);
	assert_int_equal(layout_load(dfd, "gw", &l, &err), -EPERM);
	assert_string_equal(err.msg, "group-writable, refusing it (chmod g-w)");
	assert_int_equal(unlinkat(dfd, "gw", 0), 0);
	/* Another user's file, or a directory others may write: refused. */
	assert_int_equal(fchownat(dfd, "good", 24, 0, 0), 0);
	assert_int_equal(layout_load(dfd, "good", &l, &err), -EPERM);
	assert_non_null(strstr(err.msg, "owned by another user"));
	assert_int_equal(fchownat(dfd, "good", 0, 0, 0), 0);
	assert_int_equal(fchmod(dfd, 0775), 0);
	assert_int_equal(layout_load(dfd, "good", &l, &err), -EPERM);
	assert_non_null(strstr(err.msg, "its directory"));
	assert_int_equal(fchmod(dfd, 0700), 0);
	assert_int_equal(layout_load(dfd, "good", &l, &err), 0);
	layout_free(l);
	l = NULL;
	assert_int_equal(layout_load(dfd, "bad", &l, &err), -EINVAL);
	assert_string_equal(err.file, "bad");
	assert_int_equal(err.line, 3);
	assert_string_equal(err.msg, "path: pattern 'b' is not absolute");
	assert_null(l);

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(unlinkat(dfd, names[i], 0), 0);
	assert_int_equal(unlinkat(dfd, "sub", AT_REMOVEDIR), 0);
	assert_int_equal(close(dfd), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_matches_share),
		cmocka_unit_test(test_shipped_parses),
		cmocka_unit_test(test_match_shipped),
		cmocka_unit_test(test_match_semantics),
		cmocka_unit_test(test_match_globstar_cost),
		cmocka_unit_test(test_may_descend),
		cmocka_unit_test(test_is_literal),
		cmocka_unit_test(test_syntax_accepted),
		cmocka_unit_test(test_errors_account),
		cmocka_unit_test(test_errors_path),
		cmocka_unit_test(test_errors_lines),
		cmocka_unit_test(test_errors_too_many_rules),
		cmocka_unit_test(test_load),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
