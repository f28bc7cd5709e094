/*
 * check runtime: the relayd that runs now, found through its pidfile.
 * The master may keep its five capabilities and nothing else; every
 * process below it must be the relay account through and through (all
 * four uids and gids, no groups, no capability in any set, no_new_privs),
 * and only the master may hold the listening sockets.  Reads /proc (or
 * ROOT/proc, a fixture) and nothing else; process text is untrusted.
 */
#include <sys/capability.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "procstat.h"
#include "relayd_pid.h"

#define MASTER_KEEP                                              \
	((1ULL << CAP_NET_BIND_SERVICE) | (1ULL << CAP_SETUID) | \
	    (1ULL << CAP_SETGID) | (1ULL << CAP_SYS_CHROOT) |    \
	    (1ULL << CAP_KILL))
#define MAX_PROCS 65536
#define MAX_LISTEN 256
#define RECHECK_NS (200 * 1000 * 1000) /* a child may be mid-drop */

struct proc_pair {
	pid_t pid, ppid;
};

struct listener {
	int family;
	unsigned char addr[16];
	unsigned port;
	unsigned long inode;
};

static int
is_relayd_title(const char *t)
{
	return strncmp(t, "relayd:", 7) == 0;
}

static int
pid_finding(struct check *c, const char *id, enum check_sev sev, pid_t pid,
    const char *expected, const char *actual, const char *fix)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%ld", c->procdir, (long)pid);
	return check_add(c, id, sev, path, expected, actual, fix);
}

static int
check_master(struct check *c, const struct procstat *ps, const char *title)
{
	char actual[192];
	uint64_t extra =
	    (ps->cap_prm | ps->cap_eff | ps->cap_bnd) & ~(uint64_t)MASTER_KEEP;
	int r = 0;

	if (extra != 0 || ps->cap_inh != 0 || ps->cap_amb != 0 ||
	    !(ps->have & PROCSTAT_CAPS)) {
		snprintf(actual, sizeof(actual),
		    "CapPrm %016llx CapEff %016llx CapBnd %016llx CapInh "
		    "%016llx CapAmb %016llx",
		    (unsigned long long)ps->cap_prm,
		    (unsigned long long)ps->cap_eff,
		    (unsigned long long)ps->cap_bnd,
		    (unsigned long long)ps->cap_inh,
		    (unsigned long long)ps->cap_amb);
		r = pid_finding(c, "runtime.master-caps", SEV_UNSAFE, ps->pid,
		    "at most CapPrm/CapEff 00000000000404e0, CapBnd within "
		    "it, CapInh and CapAmb 0",
		    actual, "restart relayd ('relayctl restart')");
	}
	if (r == 0 && !is_relayd_title(title))
		r = pid_finding(c, "runtime.title", SEV_ADVICE, ps->pid,
		    "relayd: ...", title, "");
	return r;
}

/* All pids and parents under procfd. */
static int
list_procs(const struct check *c, struct proc_pair **out, size_t *n)
{
	struct procstat ps;
	struct dirent *de;
	struct proc_pair *v = NULL;
	DIR *d;
	int fd;

	*n = 0;
	if ((fd = openat(c->procfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) <
	    0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	if ((v = calloc(MAX_PROCS, sizeof(*v))) == NULL) {
		closedir(d);
		return -ENOMEM;
	}
	while ((de = readdir(d)) != NULL && *n < MAX_PROCS) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if (procstat_read(c->procfd, (pid_t)atol(de->d_name), &ps) < 0)
			continue; /* gone meanwhile */
		v[*n].pid = ps.pid;
		v[(*n)++].ppid = ps.ppid;
	}
	closedir(d);
	*out = v;
	return 0;
}

/* Descendants of root, breadth first, into kids (n of them). */
static size_t
descendants(
    const struct proc_pair *v, size_t n, pid_t root, pid_t *kids, size_t max)
{
	size_t head = 0, k = 0, i;
	pid_t cur = root;

	for (;;) {
		for (i = 0; i < n && k < max; i++)
			if (v[i].ppid == cur && v[i].pid != root)
				kids[k++] = v[i].pid;
		if (head == k)
			return k;
		cur = kids[head++];
	}
}

static int
bad_ids(const struct procstat *ps, uid_t uid, gid_t gid, int *bu, int *bg)
{
	int i;

	*bu = *bg = !(ps->have & PROCSTAT_UID) || !(ps->have & PROCSTAT_GID);
	for (i = 0; i < 4; i++) {
		*bu |= ps->uid[i] != uid;
		*bg |= ps->gid[i] != gid;
	}
	return *bu || *bg;
}

static int
child_bad(const struct check *c, const struct procstat *ps)
{
	int bu, bg;

	return bad_ids(ps, c->uid, c->gid, &bu, &bg) || ps->ngroups != 0 ||
	    !(ps->have & PROCSTAT_CAPS) ||
	    (ps->cap_inh | ps->cap_prm | ps->cap_eff | ps->cap_bnd |
		ps->cap_amb) != 0 ||
	    !ps->no_new_privs;
}

static int
child_findings(struct check *c, const struct procstat *ps)
{
	char exp[64], act[192];
	const char *fix = "stop relayd and find out why the drop did not "
			  "hold; privdrop must fail closed";
	int bu, bg, r = 0;

	bad_ids(ps, c->uid, c->gid, &bu, &bg);
	if (bu) {
		snprintf(exp, sizeof(exp), "%lu for all four",
		    (unsigned long)c->uid);
		snprintf(act, sizeof(act), "Uid %lu %lu %lu %lu",
		    (unsigned long)ps->uid[0], (unsigned long)ps->uid[1],
		    (unsigned long)ps->uid[2], (unsigned long)ps->uid[3]);
		r = pid_finding(
		    c, "runtime.child-uid", SEV_UNSAFE, ps->pid, exp, act, fix);
	}
	if (r == 0 && bg) {
		snprintf(exp, sizeof(exp), "%lu for all four",
		    (unsigned long)c->gid);
		snprintf(act, sizeof(act), "Gid %lu %lu %lu %lu",
		    (unsigned long)ps->gid[0], (unsigned long)ps->gid[1],
		    (unsigned long)ps->gid[2], (unsigned long)ps->gid[3]);
		r = pid_finding(
		    c, "runtime.child-gid", SEV_UNSAFE, ps->pid, exp, act, fix);
	}
	if (r == 0 && ps->ngroups != 0) {
		snprintf(act, sizeof(act),
		    "%zu supplementary groups, first %lu", ps->ngroups,
		    (unsigned long)ps->groups[0]);
		r = pid_finding(c, "runtime.child-groups", SEV_UNSAFE, ps->pid,
		    "none", act, fix);
	}
	if (r == 0 &&
	    (!(ps->have & PROCSTAT_CAPS) ||
		(ps->cap_inh | ps->cap_prm | ps->cap_eff | ps->cap_bnd |
		    ps->cap_amb) != 0)) {
		snprintf(act, sizeof(act),
		    "CapInh %016llx CapPrm %016llx CapEff %016llx CapBnd "
		    "%016llx CapAmb %016llx",
		    (unsigned long long)ps->cap_inh,
		    (unsigned long long)ps->cap_prm,
		    (unsigned long long)ps->cap_eff,
		    (unsigned long long)ps->cap_bnd,
		    (unsigned long long)ps->cap_amb);
		r = pid_finding(c, "runtime.child-caps", SEV_UNSAFE, ps->pid,
		    "all five sets 0", act, fix);
	}
	if (r == 0 && !ps->no_new_privs)
		r = pid_finding(c, "runtime.child-nnp", SEV_UNSAFE, ps->pid,
		    "NoNewPrivs 1", "NoNewPrivs 0", fix);
	return r;
}

/* One child: creds (re-read once if bad: it may be between fork and drop). */
static int
check_child(struct check *c, pid_t pid)
{
	struct timespec ts = { 0, RECHECK_NS };
	struct procstat ps, again;
	char title[256];
	int r;

	if (procstat_read(c->procfd, pid, &ps) < 0 || ps.state == 'Z')
		return 0;
	if (child_bad(c, &ps)) {
		(void)nanosleep(&ts, NULL);
		if (procstat_read(c->procfd, pid, &again) < 0 ||
		    again.starttime != ps.starttime || again.state == 'Z')
			return 0; /* gone: it was short-lived */
		if ((r = child_findings(c, &again)) < 0)
			return r;
	}
	if (procstat_cmdline(c->procfd, pid, title, sizeof(title)) == 0 &&
	    !is_relayd_title(title))
		return pid_finding(c, "runtime.title", SEV_ADVICE, pid,
		    "relayd: ...", title[0] ? title : "(none)", "");
	return 0;
}

/* LISTEN sockets of PID/net/tcp or tcp6 (the master's namespace). */
static size_t
read_listeners(const struct check *c, pid_t pid, int v6, struct listener *l,
    size_t n, size_t max)
{
	char rel[64], line[512], local[64];
	unsigned long inode;
	unsigned port, st, w[4];
	FILE *fp;
	int fd;

	snprintf(rel, sizeof(rel), "%ld/net/tcp%s", (long)pid, v6 ? "6" : "");
	if ((fd = openat(c->procfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return n;
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return n;
	}
	while (n < max && fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line,
			" %*s %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s "
			"%*s %*s %lu",
			local, &port, &st, &inode) != 4 ||
		    st != 0x0A)
			continue;
		memset(&l[n], 0, sizeof(l[n]));
		if (!v6 && sscanf(local, "%8x", &w[0]) == 1 &&
		    strlen(local) == 8)
			memcpy(l[n].addr, w, 4);
		else if (v6 && strlen(local) == 32 &&
		    sscanf(local, "%8x%8x%8x%8x", &w[0], &w[1], &w[2], &w[3]) ==
			4)
			memcpy(l[n].addr, w, 16);
		else
			continue;
		l[n].family = v6 ? AF_INET6 : AF_INET;
		l[n].port = port;
		l[n++].inode = inode;
	}
	fclose(fp);
	return n;
}

/* Index of a listener in l[0..n) that PID holds an fd of, or -1. */
static long
held(const struct check *c, pid_t pid, const struct listener *l, size_t n)
{
	char rel[64], link[64];
	struct dirent *de;
	unsigned long inode;
	long found = -1;
	size_t i;
	ssize_t len;
	DIR *d;
	int fd;

	snprintf(rel, sizeof(rel), "%ld/fd", (long)pid);
	fd = openat(c->procfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (found < 0 && (de = readdir(d)) != NULL) {
		len = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &inode) != 1)
			continue;
		for (i = 0; i < n && found < 0; i++)
			if (l[i].inode == inode)
				found = (long)i;
	}
	closedir(d);
	return found;
}

static int
same_addr(const struct listener *l, const struct config_listen *cl)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&cl->ss;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&cl->ss;

	if (l->family != cl->ss.ss_family)
		return 0;
	if (l->family == AF_INET)
		return l->port == ntohs(s4->sin_port) &&
		    memcmp(l->addr, &s4->sin_addr, 4) == 0;
	return l->port == ntohs(s6->sin6_port) &&
	    memcmp(l->addr, &s6->sin6_addr, 16) == 0;
}

/* Only the master holds listeners; each configured address is one. */
static int
check_sockets(struct check *c, const pid_t *kids, size_t nk)
{
	struct listener *l;
	char act[96];
	size_t n, i, j;
	long k;
	int r = 0;

	if ((l = calloc(MAX_LISTEN, sizeof(*l))) == NULL)
		return -ENOMEM;
	n = read_listeners(c, c->pid, 0, l, 0, MAX_LISTEN);
	n = read_listeners(c, c->pid, 1, l, n, MAX_LISTEN);
	for (i = 0; i < nk && r == 0; i++) {
		if ((k = held(c, kids[i], l, n)) < 0)
			continue;
		snprintf(act, sizeof(act), "holds listening socket inode %lu",
		    l[k].inode);
		r = pid_finding(c, "runtime.socket", SEV_UNSAFE, kids[i],
		    "no listening socket", act,
		    "restart relayd; children must close the listeners");
	}
	for (i = 0; i < c->cfg.nlisten && r == 0; i++) {
		for (j = 0; j < n && !same_addr(&l[j], &c->cfg.listen[i]); j++)
			;
		if (j < n && held(c, c->pid, &l[j], 1) == 0)
			continue;
		r = pid_finding(c, "runtime.listen", SEV_ADVICE, c->pid,
		    c->cfg.listen[i].text,
		    j < n ? "held by another process" : "not listening",
		    "relayctl restart");
	}
	free(l);
	return r;
}

int
check_descendants(struct check *c, pid_t root, pid_t **out, size_t *n)
{
	struct proc_pair *v = NULL;
	size_t nv;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = list_procs(c, &v, &nv)) < 0) {
		warnx("cannot list '%s': %s", c->procdir, strerror(-r));
		return r;
	}
	if ((*out = calloc(nv ? nv : 1, sizeof(**out))) == NULL) {
		free(v);
		return -ENOMEM;
	}
	*n = descendants(v, nv, root, *out, nv);
	free(v);
	return 0;
}

int
check_runtime(struct check *c)
{
	struct proc_pair *v = NULL;
	struct procstat ps;
	char title[256];
	pid_t *kids = NULL;
	size_t n, i;
	int r;

	/* No pidfile, or a stale one: nothing runs. */
	if (relayd_pid(c->rootfd, c->cfg.pidfile, c->procfd, &c->pid) != 0 ||
	    procstat_cmdline(c->procfd, c->pid, title, sizeof(title)) < 0 ||
	    procstat_read(c->procfd, c->pid, &ps) < 0) {
		c->pid = 0;
		return 0;
	}
	if ((r = check_master(c, &ps, title)) < 0)
		return r;
	if ((r = list_procs(c, &v, &n)) < 0) {
		warnx("cannot list '%s': %s", c->procdir, strerror(-r));
		return r;
	}
	if ((kids = calloc(n ? n : 1, sizeof(*kids))) == NULL) {
		free(v);
		return -ENOMEM;
	}
	c->nchildren = descendants(v, n, c->pid, kids, n);
	for (i = 0; i < c->nchildren && r == 0; i++)
		r = check_child(c, kids[i]);
	if (r == 0)
		r = check_sockets(c, kids, c->nchildren);
	free(kids);
	free(v);
	return r;
}
