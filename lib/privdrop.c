/*
 * The single, verified, permanent privilege drop (OpenSSH's
 * permanently_set_uid() and OpenSMTPD's children are the models). It runs
 * in a child that is still root and is about to touch hostile network
 * input: every step is checked, the result re-verified, and any failure
 * must be fatal to the caller (fail closed).
 */
#include <sys/types.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

/*
 * One line into errbuf, returns -e. Truncating the message is accepted
 * here: the error itself is what matters and errbuf is the caller's size.
 */
static int __attribute__((format(printf, 4, 5)))
drop_err(char *errbuf, size_t errlen, int e, const char *fmt, ...)
{
	va_list ap;

	if (errbuf != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(errbuf, errlen, fmt, ap);
		va_end(ap);
	}
	return -e;
}

/* errno of a failed call, never 0 (a failure must not read as success). */
static int
errno_or_eperm(void)
{
	return errno != 0 ? errno : EPERM;
}

static int
step_err(char *errbuf, size_t errlen, const char *step)
{
	int e = errno_or_eperm();

	return drop_err(errbuf, errlen, e, "%s: %s", step, strerror(e));
}

static int
check_target(const struct privdrop *p, char *errbuf, size_t errlen)
{
	size_t i;

	if (p == NULL)
		return drop_err(errbuf, errlen, EINVAL, "privdrop: no target");
	/* (uid_t)-1 means "unchanged" to setresuid(): it would stay root. */
	if (p->uid == 0 || p->uid == (uid_t)-1)
		return drop_err(errbuf, errlen, EINVAL,
		    "privdrop: refusing target uid %lu", (unsigned long)p->uid);
	if (p->gid == 0 || p->gid == (gid_t)-1)
		return drop_err(errbuf, errlen, EINVAL,
		    "privdrop: refusing target gid %lu", (unsigned long)p->gid);
	if (p->ngroups > PRIVDROP_NGROUPS_MAX ||
	    (p->ngroups > 0 && p->groups == NULL))
		return drop_err(errbuf, errlen, EINVAL,
		    "privdrop: bad supplementary group list (%zu groups)",
		    p->ngroups);
	for (i = 0; i < p->ngroups; i++)
		if (p->groups[i] == 0 || p->groups[i] == (gid_t)-1)
			return drop_err(errbuf, errlen, EINVAL,
			    "privdrop: refusing supplementary group %lu",
			    (unsigned long)p->groups[i]);
	return 0;
}

/*
 * chroot into exactly the directory we opened (no symlink as the last
 * component, no second path lookup), then make sure "/" is that directory.
 * The fd is closed before returning: a directory fd from outside the new
 * root would be a way back out (fchdir).
 */
static int
drop_chroot(const char *dir, char *errbuf, size_t errlen)
{
	struct stat want, root;
	int fd = -1, rv = 0, saved;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &want) == -1 || fchdir(fd) == -1 ||
	    chroot(".") == -1 || chdir("/") == -1 || stat("/", &root) == -1) {
		saved = errno_or_eperm();
		rv = drop_err(errbuf, errlen, saved, "chroot '%s': %s", dir,
		    strerror(saved));
		goto out;
	}
	if (want.st_dev != root.st_dev || want.st_ino != root.st_ino)
		rv = drop_err(errbuf, errlen, EPERM,
		    "chroot '%s': new root is not that directory", dir);
out:
	saved = errno;
	if (fd != -1)
		(void)close(fd);
	errno = saved;
	return rv;
}

/*
 * The bounding set limits what an execve() could ever grant. Dropping from
 * it needs CAP_SETPCAP, so this runs while we are still root, before
 * setresuid() empties the permitted set.
 */
static int
drop_bounding(char *errbuf, size_t errlen)
{
	cap_value_t cap, max = cap_max_bits();
	int r;

	for (cap = 0; cap < max; cap++) {
		errno = 0;
		if ((r = cap_get_bound(cap)) < 0)
			return drop_err(errbuf, errlen, errno_or_eperm(),
			    "capbset read %d: %s", (int)cap,
			    strerror(errno_or_eperm()));
		if (r == 0)
			continue;
		errno = 0;
		if (cap_drop_bound(cap) == -1)
			return drop_err(errbuf, errlen, errno_or_eperm(),
			    "capbset drop %d: %s", (int)cap,
			    strerror(errno_or_eperm()));
	}
	return 0;
}

static int
drop_caps(char *errbuf, size_t errlen)
{
	cap_t none = NULL;
	int rv = 0, saved;

	errno = 0;
	if ((none = cap_init()) == NULL || cap_set_proc(none) == -1)
		rv = step_err(errbuf, errlen, "cap_set_proc");
	saved = errno;
	if (none != NULL)
		(void)cap_free(none);
	errno = saved;
	return rv;
}

int
privdrop_apply(const struct privdrop *p, char *errbuf, size_t errlen)
{
	int rv;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if ((rv = check_target(p, errbuf, errlen)) != 0)
		return rv;
	if (p->chroot_dir != NULL &&
	    (rv = drop_chroot(p->chroot_dir, errbuf, errlen)) != 0)
		return rv;
	if ((rv = drop_bounding(errbuf, errlen)) != 0)
		return rv;
	errno = 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1)
		return step_err(errbuf, errlen, "ambient clear");
	/* With keepcaps the uid change below would not empty P and E. */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1)
		return step_err(errbuf, errlen, "keepcaps");
	if (setgroups(p->ngroups, p->ngroups > 0 ? p->groups : NULL) == -1)
		return step_err(errbuf, errlen, "setgroups");
	if (setresgid(p->gid, p->gid, p->gid) == -1)
		return step_err(errbuf, errlen, "setresgid");
	if (setresuid(p->uid, p->uid, p->uid) == -1)
		return step_err(errbuf, errlen, "setresuid");
	/* setresuid() leaves the inheritable set alone; clear all three. */
	if ((rv = drop_caps(errbuf, errlen)) != 0)
		return rv;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return step_err(errbuf, errlen, "no_new_privs");
	/*
	 * Not dumpable: every child runs as the same relay user, so without
	 * this one compromised child could ptrace a sibling and read another
	 * session's mail; it also keeps mail out of core files. The kernel
	 * already does this on the uid change unless fs.suid_dumpable says
	 * otherwise, so we do not leave it to the sysctl.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return step_err(errbuf, errlen, "dumpable");
	return privdrop_verify(p, errbuf, errlen);
}

static int
verify_ids(const struct privdrop *p, char *errbuf, size_t errlen)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1)
		return step_err(errbuf, errlen, "getresuid");
	if (getresgid(&rg, &eg, &sg) == -1)
		return step_err(errbuf, errlen, "getresgid");
	if (ru != p->uid || eu != p->uid || su != p->uid)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: uid %lu/%lu/%lu, want %lu", (unsigned long)ru,
		    (unsigned long)eu, (unsigned long)su,
		    (unsigned long)p->uid);
	if (rg != p->gid || eg != p->gid || sg != p->gid)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: gid %lu/%lu/%lu, want %lu", (unsigned long)rg,
		    (unsigned long)eg, (unsigned long)sg,
		    (unsigned long)p->gid);
	return 0;
}

static int
gid_cmp(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static int
verify_groups(const struct privdrop *p, char *errbuf, size_t errlen)
{
	gid_t have[PRIVDROP_NGROUPS_MAX], want[PRIVDROP_NGROUPS_MAX];
	int n;

	if ((n = getgroups(0, NULL)) == -1)
		return step_err(errbuf, errlen, "getgroups");
	if ((size_t)n != p->ngroups)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: %d supplementary groups, want %zu", n, p->ngroups);
	if (n == 0)
		return 0;
	if (getgroups(n, have) != n)
		return step_err(errbuf, errlen, "getgroups");
	memcpy(want, p->groups, p->ngroups * sizeof(want[0]));
	/* The kernel keeps the list sorted; compare as sets. */
	qsort(have, (size_t)n, sizeof(have[0]), gid_cmp);
	qsort(want, (size_t)n, sizeof(want[0]), gid_cmp);
	if (memcmp(have, want, (size_t)n * sizeof(have[0])) != 0)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: supplementary groups differ from the wanted list");
	return 0;
}

/* OpenSSH's test: if we can get root back, the drop did not happen. */
static int
verify_sticks(char *errbuf, size_t errlen)
{
	if (setgid(0) != -1)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: setgid(0) succeeded: privilege drop did not "
		    "stick");
	if (setuid(0) != -1)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: setuid(0) succeeded: privilege drop did not "
		    "stick");
	return 0;
}

static int
verify_capsets(char *errbuf, size_t errlen)
{
	cap_t cur = NULL, none = NULL;
	int rv = 0, saved;

	errno = 0;
	if ((cur = cap_get_proc()) == NULL || (none = cap_init()) == NULL) {
		rv = step_err(errbuf, errlen, "cap_get_proc");
		goto out;
	}
	if (cap_compare(cur, none) != 0)
		rv = drop_err(errbuf, errlen, EPERM,
		    "verify: effective, permitted or inheritable capabilities "
		    "remain");
out:
	saved = errno;
	if (cur != NULL)
		(void)cap_free(cur);
	if (none != NULL)
		(void)cap_free(none);
	errno = saved;
	return rv;
}

static int
verify_caps(char *errbuf, size_t errlen)
{
	cap_value_t cap, max = cap_max_bits();
	int rv;

	if ((rv = verify_capsets(errbuf, errlen)) != 0)
		return rv;
	for (cap = 0; cap < max; cap++) {
		if (cap_get_bound(cap) != 0)
			return drop_err(errbuf, errlen, EPERM,
			    "verify: bounding capability %d still set",
			    (int)cap);
		if (cap_get_ambient(cap) != 0)
			return drop_err(errbuf, errlen, EPERM,
			    "verify: ambient capability %d still set",
			    (int)cap);
	}
	/* A capability the kernel has and libcap does not know about. */
	if (prctl(PR_CAPBSET_READ, (unsigned long)max, 0, 0, 0) != -1)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: kernel has capabilities beyond %d", (int)max - 1);
	return 0;
}

static int
verify_prctl(const struct privdrop *p, char *errbuf, size_t errlen)
{
	char cwd[PATH_MAX];

	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return drop_err(
		    errbuf, errlen, EPERM, "verify: no_new_privs not set");
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		return drop_err(
		    errbuf, errlen, EPERM, "verify: still dumpable");
	if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return drop_err(errbuf, errlen, EPERM, "verify: keepcaps set");
	if (p->chroot_dir == NULL)
		return 0;
	/* getcwd() is relative to our root, needs no search permission. */
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return step_err(errbuf, errlen, "verify: getcwd");
	if (strcmp(cwd, "/") != 0)
		return drop_err(errbuf, errlen, EPERM,
		    "verify: working directory is not the new root");
	return 0;
}

int
privdrop_verify(const struct privdrop *p, char *errbuf, size_t errlen)
{
	int rv;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if ((rv = check_target(p, errbuf, errlen)) != 0 ||
	    (rv = verify_ids(p, errbuf, errlen)) != 0 ||
	    (rv = verify_groups(p, errbuf, errlen)) != 0 ||
	    (rv = verify_sticks(errbuf, errlen)) != 0 ||
	    (rv = verify_caps(errbuf, errlen)) != 0 ||
	    (rv = verify_prctl(p, errbuf, errlen)) != 0)
		return rv;
	return 0;
}
