/*
 * relayd_pid: read relayd's pidfile under a root and decide whether the pid
 * in it is a live relayd master (the rules are in relayd_pid.h).  The
 * pidfile is root's, but the pid in it may long since belong to another
 * process: only what /proc says about that process now is believed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"
#include "readfile.h"
#include "relayd_pid.h"
#include "walk.h"

#define PIDFILE_MAX 32 /* "2147483647\n" and then some */

int
relayd_pid_parse(const char *text, size_t len, pid_t *pid)
{
	long long v = 0;
	size_t i;

	*pid = 0;
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len == 0 || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -EINVAL;
		v = v * 10 + (text[i] - '0');
	}
	if (v <= 1 || v > INT_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

/* "relayd: ..." (a title), "relayd" or ".../relayd" (argv[0]). */
static int
relayd_title(const char *t)
{
	size_t n = strcspn(t, " ");
	const char *base;

	if (strncmp(t, "relayd:", 7) == 0)
		return 1;
	for (base = t + n; base > t && base[-1] != '/'; base--)
		;
	return t + n - base == 6 && strncmp(base, "relayd", 6) == 0;
}

int
relayd_pid_is_master(int procfd, pid_t pid)
{
	struct procstat ps;
	char title[256];
	int r;

	if ((r = procstat_read(procfd, pid, &ps)) < 0)
		return r == -ENOENT || r == -EINVAL ? -ESRCH : r;
	if (ps.state == 'Z' || !(ps.have & PROCSTAT_UID) || ps.uid[0] != 0)
		return -ESRCH;
	if ((r = procstat_cmdline(procfd, pid, title, sizeof(title))) < 0)
		return r == -ENOENT ? -ESRCH : r;
	return relayd_title(title) ? 0 : -ESRCH;
}

/* The pidfile's bytes into buf (NUL-terminated), *len of them. */
static int
pidfile_read(int rootfd, const char *pidfile, char *buf, size_t *len)
{
	char *data = NULL;
	size_t n = 0;
	int fd, r;

	*len = 0;
	/* No symlink on the way, a regular file, never a hang on a FIFO. */
	if ((fd = walk_open_io(rootfd, pidfile, O_RDONLY, NULL)) < 0)
		return fd;
	r = readfile_fd(fd, PIDFILE_MAX - 1, &data, &n, NULL);
	(void)close(fd);
	if (r == -EFBIG)
		r = -EINVAL; /* more than any pid: garbage */
	else if (r == -ESTALE)
		r = 0; /* relayd is writing it right now: read as empty */
	else if (r == 0) {
		memcpy(buf, data, n);
		*len = n;
	}
	buf[*len] = '\0';
	free(data);
	return r;
}

int
relayd_pid(int rootfd, const char *pidfile, int procfd, pid_t *pid)
{
	char buf[PIDFILE_MAX + 1];
	size_t len;
	pid_t p;
	int r;

	*pid = 0;
	if ((r = pidfile_read(rootfd, pidfile, buf, &len)) < 0)
		return r;
	if (len == 0)
		return -ENOENT; /* relayd is writing it right now */
	if ((r = relayd_pid_parse(buf, len, &p)) < 0)
		return r;
	*pid = p;
	if ((r = relayd_pid_is_master(procfd, p)) < 0 && r != -ESRCH)
		*pid = 0;
	return r;
}
