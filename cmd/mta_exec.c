/*
 * mta_exec: the two programs 'setup --mta sendmail' runs as root: m4 over
 * sendmail.mc (root's own configuration, checked by the caller: m4 runs
 * whatever it says) and diff -u for --plan.  Fixed absolute paths, a
 * clean environment, input and output in memory files, never a shell.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "mta.h"
#include "readfile.h"

#define M4_PATH "/usr/bin/m4"
#define DIFF_PATH "/usr/bin/diff"
#define CF_MAX (8 * 1024 * 1024)

static char *const clean_env[] = { "PATH=/usr/bin:/bin", "LC_ALL=C", NULL };

/* A memory file holding the concatenation of a and b, at offset 0. */
static int
memfile(const char *name, unsigned flags, const char *a, size_t alen,
    const char *b, size_t blen)
{
	int fd, r;

	if ((fd = memfd_create(name, flags)) < 0)
		return -errno;
	if ((r = fdio_write_all(fd, a, alen)) < 0 ||
	    (r = fdio_write_all(fd, b, blen)) < 0 ||
	    (lseek(fd, 0, SEEK_SET) < 0 && (r = -errno) < 0)) {
		close(fd);
		return r;
	}
	return fd;
}

/* Wait for pid; its exit status, or -1 when a signal ended it. */
static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
mta_exec_m4(int etcfd, const char *prologue, const char *in, size_t inlen,
    char **out, size_t *outlen, char *err, size_t errlen)
{
	char *const argv[] = { "m4", NULL };
	int ifd = -1, ofd = -1, r, st;
	pid_t pid;

	*out = NULL;
	if (access(M4_PATH, X_OK) != 0) {
		(void)snprintf(err, errlen, "cannot run '%s': %s (install m4)",
		    M4_PATH, strerror(errno));
		return -ENOENT;
	}
	ifd = memfile(
	    "relayctl-mc", MFD_CLOEXEC, prologue, strlen(prologue), in, inlen);
	ofd = memfd_create("relayctl-cf", MFD_CLOEXEC);
	if (ifd < 0 || ofd < 0) {
		r = ifd < 0 ? ifd : -errno;
		(void)snprintf(err, errlen, "memfd: %s", strerror(-r));
		goto out;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		r = -errno;
		(void)snprintf(err, errlen, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Relative includes resolve in /etc/mail, as under make. */
		if (dup2(ifd, 0) < 0 || dup2(ofd, 1) < 0 || fchdir(etcfd) < 0)
			_exit(126);
		execve(M4_PATH, argv, clean_env);
		_exit(127);
	}
	if ((st = reap(pid)) != 0) {
		(void)snprintf(err, errlen,
		    "m4 failed on sendmail.mc (%s %d); sendmail.cf left as it "
		    "was",
		    st < 0 ? "killed, status" : "exit", st);
		r = -EIO;
		goto out;
	}
	if ((r = readfile_fd(ofd, CF_MAX, out, outlen, NULL)) < 0)
		(void)snprintf(err, errlen, "reading m4's output: %s",
		    readfile_strerror(r));
out:
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	return r;
}

int
mta_exec_diff(FILE *fp, const char *label, const char *a, size_t alen,
    const char *b, size_t blen)
{
	char la[PATH_MAX + 8], lb[PATH_MAX + 8], pa[32], pb[32];
	int fa = -1, fb = -1, r = -1, st;
	pid_t pid;

	(void)snprintf(la, sizeof(la), "a%s", label);
	(void)snprintf(lb, sizeof(lb), "b%s", label);
	/* Not close-on-exec: diff opens them as /proc/self/fd/N. */
	if ((fa = memfile("relayctl-a", 0, a, alen, "", 0)) < 0 ||
	    (fb = memfile("relayctl-b", 0, b, blen, "", 0)) < 0)
		goto out;
	(void)snprintf(pa, sizeof(pa), "/proc/self/fd/%d", fa);
	(void)snprintf(pb, sizeof(pb), "/proc/self/fd/%d", fb);
	fflush(NULL);
	if ((pid = fork()) < 0)
		goto out;
	if (pid == 0) {
		char *const argv[] = { "diff", "-u", "--label", la, "--label",
			lb, pa, pb, NULL };

		if (dup2(fileno(fp), 1) < 0)
			_exit(126);
		execve(DIFF_PATH, argv, clean_env);
		_exit(127);
	}
	st = reap(pid);
	r = st == 0 || st == 1 ? 0 : -EIO; /* 1: they differ */
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return r;
}
