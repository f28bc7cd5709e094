/*
 * Root-only tests of the privilege drop against real processes: each case
 * forks a child that drops (or fails to), reports what the kernel says
 * about it (/proc/self/status, setuid(0), prctl) through a pipe, and the
 * parent asserts on that report.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "privdrop.h"

#define REPORT_MAX 8192

struct report {
	char buf[REPORT_MAX];
	size_t len;
};

/* Child side: append a formatted line to the report. */
static void __attribute__((format(printf, 2, 3)))
rep(struct report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->buf + r->len, sizeof(r->buf) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(r->buf) - r->len)
		r->len += (size_t)n;
}

/* Child side: what the kernel says about us, from an already-open fd. */
static void
rep_status(struct report *r, int statusfd)
{
	ssize_t n;

	if (statusfd == -1)
		return;
	n = pread(statusfd, r->buf + r->len, sizeof(r->buf) - r->len - 1, 0);
	if (n > 0)
		r->len += (size_t)n;
}

static void
rep_drop(struct report *r, const struct privdrop *p, int statusfd)
{
	char eb[256] = "";
	int rv, e;

	rv = privdrop_apply(p, eb, sizeof(eb));
	rep(r, "rv:\t%d\nerr:\t%s\n", rv, eb);
	if (rv != 0) {
		rep(r, "euid:\t%lu\n", (unsigned long)geteuid());
		return;
	}
	rv = privdrop_verify(p, eb, sizeof(eb));
	rep(r, "verify:\t%d\n", rv);
	errno = 0;
	rv = setuid(0);
	e = errno;
	rep(r, "setuid0:\t%d %d\n", rv, e);
	rv = setgid(0);
	rep(r, "setgid0:\t%d\n", rv);
	rep(r, "dumpable:\t%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
	rep_status(r, statusfd);
}

typedef void (*child_fn)(struct report *, void *);

/* Fork, run fn in the child, collect its report; the child always exits. */
static void
run_child(child_fn fn, void *arg, struct report *out)
{
	struct report *r;
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		(void)close(fds[0]);
		if ((r = calloc(1, sizeof(*r))) == NULL)
			_exit(3);
		fn(r, arg);
		if (write(fds[1], r->buf, r->len) != (ssize_t)r->len)
			_exit(2);
		_exit(0);
	}
	(void)close(fds[1]);
	memset(out, 0, sizeof(*out));
	while ((n = read(fds[0], out->buf + out->len,
		    sizeof(out->buf) - 1 - out->len)) > 0)
		out->len += (size_t)n;
	(void)close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Value of "Key:\t..." in the report, tabs and trailing blanks kept out. */
static const char *
field(const struct report *r, const char *key, char *val, size_t len)
{
	const char *p = r->buf, *e;
	size_t klen = strlen(key);

	val[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			p += klen + 1;
			while (*p == '\t' || *p == ' ')
				p++;
			e = strchrnul(p, '\n');
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			assert_true((size_t)(e - p) < len);
			memcpy(val, p, (size_t)(e - p));
			val[e - p] = '\0';
			return val;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	fail_msg("no '%s' in child report:\n%s", key, r->buf);
	return NULL;
}

static void
assert_field(const struct report *r, const char *key, const char *want)
{
	char val[256];

	field(r, key, val, sizeof(val));
	if (strcmp(val, want) != 0)
		fail_msg("%s: got '%s', want '%s'\n%s", key, val, want, r->buf);
}

struct dropcase {
	struct privdrop pd;
	int userns; /* 0 none, 1 unmapped, 2 mapped with setgroups deny */
	int sfd; /* /proc/self/status opened before the drop */
};

static int
write_file(const char *path, const char *s)
{
	int fd, rv = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		rv = -1;
	(void)close(fd);
	return rv;
}

static void
child_drop(struct report *r, void *arg)
{
	struct dropcase *dc = arg;

	if (dc->userns) {
		if (unshare(CLONE_NEWUSER) == -1) {
			rep(r, "rv:\tunshare %d\n", errno);
			return;
		}
		if (dc->userns == 2 &&
		    (write_file("/proc/self/setgroups", "deny") == -1 ||
			write_file("/proc/self/uid_map", "0 0 1\n") == -1 ||
			write_file("/proc/self/gid_map", "0 0 1\n") == -1)) {
			rep(r, "rv:\tmap %d\n", errno);
			return;
		}
	}
	dc->sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	rep_drop(r, &dc->pd, dc->sfd);
}

static void
check_dropped(const struct report *r, const char *ids, const char *groups)
{
	assert_field(r, "rv", "0");
	assert_field(r, "err", "");
	assert_field(r, "verify", "0");
	assert_field(r, "setuid0", "-1 1"); /* EPERM */
	assert_field(r, "setgid0", "-1");
	assert_field(r, "dumpable", "0");
	assert_field(r, "Uid", ids);
	assert_field(r, "Gid", ids);
	assert_field(r, "Groups", groups);
	assert_field(r, "CapInh", "0000000000000000");
	assert_field(r, "CapPrm", "0000000000000000");
	assert_field(r, "CapEff", "0000000000000000");
	assert_field(r, "CapBnd", "0000000000000000");
	assert_field(r, "CapAmb", "0000000000000000");
	assert_field(r, "NoNewPrivs", "1");
}

static void
test_drop_4242(void **state)
{
	struct dropcase dc = { .pd = { .uid = 4242, .gid = 4242 } };
	struct report r;

	(void)state;
	run_child(child_drop, &dc, &r);
	check_dropped(&r, "4242\t4242\t4242\t4242", "");
}

static void
test_drop_nobody_split_ids(void **state)
{
	struct dropcase dc = { .pd = { .uid = 65534, .gid = 4243 } };
	struct report r;

	(void)state;
	run_child(child_drop, &dc, &r);
	assert_field(&r, "rv", "0");
	assert_field(&r, "Uid", "65534\t65534\t65534\t65534");
	assert_field(&r, "Gid", "4243\t4243\t4243\t4243");
	assert_field(&r, "Groups", "");
	assert_field(&r, "CapBnd", "0000000000000000");
}

static void
test_drop_keeps_groups(void **state)
{
	static const gid_t keep[] = { 4301, 4300 };
	struct dropcase dc = {
		.pd = { .uid = 4242, .gid = 4242, .groups = keep, .ngroups = 2 }
	};
	struct report r;

	(void)state;
	run_child(child_drop, &dc, &r);
	check_dropped(&r, "4242\t4242\t4242\t4242", "4300 4301");
}

static void
child_refuse(struct report *r, void *arg)
{
	static const gid_t rootgrp[] = { 0 };
	const struct privdrop bad[] = {
		{ .uid = 0, .gid = 4242 },
		{ .uid = 4242, .gid = 0 },
		{ .uid = (uid_t)-1, .gid = 4242 },
		{ .uid = 4242, .gid = (gid_t)-1 },
		{ .uid = 4242, .gid = 4242, .groups = rootgrp, .ngroups = 1 },
		{ .uid = 4242, .gid = 4242, .groups = NULL, .ngroups = 1 },
		{ .uid = 4242,
		    .gid = 4242,
		    .groups = rootgrp,
		    .ngroups = PRIVDROP_NGROUPS_MAX + 1 },
	};
	char eb[256];
	size_t i;

	(void)arg;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		eb[0] = 'x';
		rep(r, "case%zu:\t%d %s\n", i,
		    privdrop_apply(&bad[i], eb, sizeof(eb)), eb);
	}
	rep(r, "null:\t%d\n", privdrop_apply(NULL, eb, sizeof(eb)));
	/* Nothing was changed by the refusals. */
	rep(r, "euid:\t%lu\n", (unsigned long)geteuid());
	rep(r, "capeff:\t%d\n", prctl(PR_CAPBSET_READ, 0, 0, 0, 0));
}

static void
test_refuse_root_targets(void **state)
{
	struct report r;

	(void)state;
	run_child(child_refuse, NULL, &r);
	assert_field(&r, "case0", "-22 privdrop: refusing target uid 0");
	assert_field(&r, "case1", "-22 privdrop: refusing target gid 0");
	assert_field(
	    &r, "case2", "-22 privdrop: refusing target uid 4294967295");
	assert_field(
	    &r, "case3", "-22 privdrop: refusing target gid 4294967295");
	assert_field(
	    &r, "case4", "-22 privdrop: refusing supplementary group 0");
	assert_field(&r, "case5",
	    "-22 privdrop: bad supplementary group list (1 groups)");
	assert_field(&r, "case6",
	    "-22 privdrop: bad supplementary group list (17 groups)");
	assert_field(&r, "null", "-22");
	assert_field(&r, "euid", "0");
	assert_field(&r, "capeff", "1");
}

static void
test_userns_unmapped_setgroups(void **state)
{
	struct dropcase dc = { .pd = { .uid = 4242, .gid = 4242 },
		.userns = 1 };
	struct report r;

	(void)state;
	run_child(child_drop, &dc, &r);
	assert_field(&r, "rv", "-1");
	assert_field(&r, "err", "setgroups: Operation not permitted");
}

static void
test_userns_setgroups_deny(void **state)
{
	struct dropcase dc = { .pd = { .uid = 4242, .gid = 4242 },
		.userns = 2 };
	struct report r;

	(void)state;
	run_child(child_drop, &dc, &r);
	assert_field(&r, "rv", "-1");
	assert_field(&r, "err", "setgroups: Operation not permitted");
	assert_field(&r, "euid", "0"); /* ns root: nothing after it ran */
}

struct chrootcase {
	const char *dir;
	struct stat want;
};

static void
child_chroot(struct report *r, void *arg)
{
	struct chrootcase *cc = arg;
	struct privdrop pd = {
		.uid = 4242, .gid = 4242, .chroot_dir = cc->dir
	};
	struct stat st;
	char cwd[64];
	int sfd, rv;

	sfd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	rep_drop(r, &pd, sfd);
	if (stat("/", &st) == 0)
		rep(r, "root:\t%d\n",
		    st.st_dev == cc->want.st_dev &&
			st.st_ino == cc->want.st_ino);
	rep(r, "cwd:\t%s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	errno = 0;
	rv = access("/etc/passwd", F_OK);
	rep(r, "outside:\t%d %d\n", rv, errno);
	rep(r, "dotdot:\t%d\n",
	    chdir("../..") == 0 && stat(".", &st) == 0 &&
		st.st_ino == cc->want.st_ino);
}

static void
test_chroot_ok(void **state)
{
	char dir[] = "/tmp/privdrop-test.XXXXXX";
	struct chrootcase cc = { .dir = dir };
	struct report r;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* Searchable by the relay user, like the spool is for it. */
	assert_true((fd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(fchmod(fd, 0711), 0);
	assert_int_equal(fstat(fd, &cc.want), 0);
	assert_int_equal(close(fd), 0);
	run_child(child_chroot, &cc, &r);
	assert_int_equal(rmdir(dir), 0);
	check_dropped(&r, "4242\t4242\t4242\t4242", "");
	assert_field(&r, "root", "1");
	assert_field(&r, "cwd", "/");
	assert_field(&r, "outside", "-1 2"); /* ENOENT */
	assert_field(&r, "dotdot", "1");
}

static void
test_chroot_missing_and_symlink(void **state)
{
	char dir[] = "/tmp/privdrop-test.XXXXXX", missing[128], link[128];
	char want[300];
	struct dropcase dc = { .pd = { .uid = 4242, .gid = 4242 } };
	struct report r;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(missing, sizeof(missing), "%s/missing", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	assert_int_equal(symlink(dir, link), 0);

	dc.pd.chroot_dir = missing;
	run_child(child_drop, &dc, &r);
	assert_field(&r, "rv", "-2");
	snprintf(want, sizeof(want), "chroot '%s': No such file or directory",
	    missing);
	assert_field(&r, "err", want);
	assert_field(&r, "euid", "0");

	/* The last component must not be a symlink. */
	dc.pd.chroot_dir = link;
	run_child(child_drop, &dc, &r);
	assert_field(&r, "rv", "-20"); /* O_NOFOLLOW|O_DIRECTORY: ENOTDIR */
	assert_field(&r, "euid", "0");

	assert_int_equal(unlink(link), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void
child_verify_only(struct report *r, void *arg)
{
	struct privdrop pd = { .uid = 4242, .gid = 4242 };
	char eb[256] = "";
	int rv;

	(void)arg;
	rv = privdrop_verify(&pd, eb, sizeof(eb));
	rep(r, "rv:\t%d\nerr:\t%s\n", rv, eb);
	/* Right ids but nothing else dropped: caps and prctl must fail it. */
	if (setresgid(4242, 4242, 4242) == 0 &&
	    prctl(PR_SET_KEEPCAPS, 1) == 0 &&
	    setresuid(4242, 4242, 4242) == 0) {
		rv = privdrop_verify(&pd, eb, sizeof(eb));
		rep(r, "rv2:\t%d\nerr2:\t%s\n", rv, eb);
	}
}

static void
test_verify_undropped(void **state)
{
	struct report r;

	(void)state;
	run_child(child_verify_only, NULL, &r);
	assert_field(&r, "rv", "-1");
	assert_field(&r, "err", "verify: uid 0/0/0, want 4242");
	assert_field(&r, "rv2", "-1");
	assert_field(&r, "err2",
	    "verify: effective, permitted or inheritable capabilities remain");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_4242),
		cmocka_unit_test(test_drop_nobody_split_ids),
		cmocka_unit_test(test_drop_keeps_groups),
		cmocka_unit_test(test_refuse_root_targets),
		cmocka_unit_test(test_userns_unmapped_setgroups),
		cmocka_unit_test(test_userns_setgroups_deny),
		cmocka_unit_test(test_chroot_ok),
		cmocka_unit_test(test_chroot_missing_and_symlink),
		cmocka_unit_test(test_verify_undropped),
	};

	if (geteuid() != 0) {
		fprintf(stderr, "test_privdrop must run as root\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
