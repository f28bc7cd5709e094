/*
 * procstat: parse /proc/PID/status and /proc/PID/stat.  The text comes
 * from the kernel, or from a fixture under --root; either way it is
 * parsed strictly (numbers checked, lines capped) and never trusted to be
 * NUL-terminated.  The process name (COMM) is chosen by the process.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

/* Up to 4 decimal ids separated by tabs or spaces. */
static int
parse_ids(const char *v, unsigned long out[4], size_t *n, size_t max)
{
	char *end;

	*n = 0;
	while (*v != '\0') {
		if (*v == ' ' || *v == '\t') {
			v++;
			continue;
		}
		if (*n == max)
			return max == PROCSTAT_NGROUPS ? -E2BIG : -EINVAL;
		if (!isdigit((unsigned char)*v))
			return -EINVAL;
		errno = 0;
		out[(*n)++] = strtoul(v, &end, 10);
		if (errno != 0 || out[*n - 1] > UINT32_MAX)
			return -EINVAL;
		v = end;
	}
	return 0;
}

static int
parse_hex64(const char *v, uint64_t *out)
{
	char *end;

	while (*v == ' ' || *v == '\t')
		v++;
	if (!isxdigit((unsigned char)*v))
		return -EINVAL;
	errno = 0;
	*out = strtoull(v, &end, 16);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	return 0;
}

static int
parse_line(const char *key, const char *v, struct procstat *ps)
{
	unsigned long ids[PROCSTAT_NGROUPS];
	struct {
		const char *key;
		uint64_t *dst;
	} caps[] = { { "CapInh", &ps->cap_inh }, { "CapPrm", &ps->cap_prm },
		{ "CapEff", &ps->cap_eff }, { "CapBnd", &ps->cap_bnd },
		{ "CapAmb", &ps->cap_amb } };
	size_t i, n;
	int r;

	if (strcmp(key, "Uid") == 0 || strcmp(key, "Gid") == 0) {
		if ((r = parse_ids(v, ids, &n, 4)) < 0 || n != 4)
			return r < 0 ? r : -EINVAL;
		for (i = 0; i < 4; i++)
			if (key[0] == 'U')
				ps->uid[i] = (uid_t)ids[i];
			else
				ps->gid[i] = (gid_t)ids[i];
		ps->have |= key[0] == 'U' ? PROCSTAT_UID : PROCSTAT_GID;
	} else if (strcmp(key, "Groups") == 0) {
		if ((r = parse_ids(v, ids, &n, PROCSTAT_NGROUPS)) < 0)
			return r;
		for (i = 0; i < n; i++)
			ps->groups[i] = (gid_t)ids[i];
		ps->ngroups = n;
		ps->have |= PROCSTAT_GROUPS;
	} else if (strcmp(key, "NoNewPrivs") == 0) {
		if (strcmp(v + strspn(v, " \t"), "0") != 0 &&
		    strcmp(v + strspn(v, " \t"), "1") != 0)
			return -EINVAL;
		ps->no_new_privs = v[strspn(v, " \t")] == '1';
		ps->have |= PROCSTAT_NNP;
	} else {
		for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
			if (strcmp(key, caps[i].key) == 0) {
				if (parse_hex64(v, caps[i].dst) < 0)
					return -EINVAL;
				/* One bit per Cap* line, folded below. */
				ps->have |= 0x100u << i;
				return 0;
			}
	}
	return 0;
}

int
procstat_parse_status(const char *text, size_t len, struct procstat *ps)
{
	char line[1024], *colon;
	const char *p = text, *end = text + len, *nl;
	size_t n;
	int r;

	memset(ps, 0, sizeof(*ps));
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		p = nl + 1;
		/* Long lines (Cpus_allowed_list ...) are none we read. */
		if (n >= sizeof(line))
			continue;
		memcpy(line, nl - n, n);
		line[n] = '\0';
		if (memchr(line, '\0', n) != NULL)
			return -EINVAL;
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		if ((r = parse_line(line, colon + 1, ps)) < 0)
			return r;
	}
	/* The five Cap* bits become one flag. */
	if ((ps->have & 0x1f00u) == 0x1f00u)
		ps->have |= PROCSTAT_CAPS;
	ps->have &= 0xffu;
	return 0;
}

int
procstat_parse_stat(const char *text, size_t len, struct procstat *ps)
{
	char buf[1024], *rp;
	unsigned long long v;
	long pid, ppid;
	char state;
	int i, off = 0;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (sscanf(buf, "%ld (", &pid) != 1 || pid <= 0 ||
	    (rp = strrchr(buf, ')')) == NULL)
		return -EINVAL;
	if (sscanf(rp + 1, " %c %ld%n", &state, &ppid, &off) != 2 || ppid < 0)
		return -EINVAL;
	/* Field 22 (starttime): skip fields 5..21. */
	rp += 1 + off;
	for (i = 5; i <= 22; i++) {
		if (sscanf(rp, " %llu%n", &v, &off) != 1 &&
		    sscanf(rp, " -%llu%n", &v, &off) != 1)
			return -EINVAL;
		rp += off;
	}
	ps->pid = (pid_t)pid;
	ps->ppid = (pid_t)ppid;
	ps->state = state;
	ps->starttime = v;
	return 0;
}

/* Whole small file PID/name under procfd, NUL-terminated. */
static int
read_small(
    int procfd, pid_t pid, const char *name, char *buf, size_t len, size_t *got)
{
	char rel[64];
	ssize_t n;
	size_t off = 0;
	int fd, saved;

	snprintf(rel, sizeof(rel), "%ld/%s", (long)pid, name);
	if ((fd = openat(procfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ESRCH ? -ENOENT : -errno;
	while (off < len - 1 && (n = read(fd, buf + off, len - 1 - off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			return saved == ESRCH ? -ENOENT : -saved;
		}
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*got = off;
	return 0;
}

int
procstat_read(int procfd, pid_t pid, struct procstat *ps)
{
	char *buf = NULL;
	size_t n;
	int r;

	if ((buf = malloc(PROCSTAT_TEXT_MAX)) == NULL)
		return -ENOMEM;
	if ((r = read_small(
		 procfd, pid, "status", buf, PROCSTAT_TEXT_MAX, &n)) < 0 ||
	    (r = procstat_parse_status(buf, n, ps)) < 0)
		goto out;
	if ((r = read_small(procfd, pid, "stat", buf, 1024, &n)) < 0 ||
	    (r = procstat_parse_stat(buf, n, ps)) < 0)
		goto out;
	if (ps->pid != pid)
		r = -EINVAL;
out:
	free(buf);
	return r;
}

int
procstat_cmdline(int procfd, pid_t pid, char *buf, size_t len)
{
	size_t n, i;
	int r;

	if (len < 2)
		return -ERANGE;
	if ((r = read_small(procfd, pid, "cmdline", buf, len, &n)) < 0)
		return r;
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	return 0;
}
