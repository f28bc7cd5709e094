/*
 * check --mta sendmail: what 'setup --mta sendmail' would change
 * (confRUN_AS_USER in sendmail.mc, RunAsUser in the compiled sendmail.cf)
 * as drift, what it refuses as unsafe, and at runtime the article's
 * "telnet and ps" test: the children of the running sendmail that serve an
 * SMTP client must be the relay account with no root credentials.  Reads
 * /proc (or ROOT/proc, a fixture); process text is untrusted.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fsfix.h"
#include "mta.h"
#include "procstat.h"
#include "walk.h"

#define PID_DEFAULT "/run/sendmail/mta/sendmail.pid" /* Debian's */
#define RECHECK_NS (200 * 1000 * 1000) /* a child may be mid-drop */

static const char *
plan_id(const struct plan_item *it)
{
	if (it->kind == PLAN_UNSAFE)
		return it->action;
	if (strcmp(it->action, "edit") == 0 && strstr(it->path, ".mc") != NULL)
		return "mta.mc-run-as";
	return "mta.cf-run-as";
}

static int
static_findings(struct check *c, const struct mta *m, const struct plan *p)
{
	char fix[PATH_MAX + 64];
	const struct plan_item *it;
	size_t i;
	int r = 0;

	if (strcmp(c->root, "/") == 0)
		(void)strlcpy(
		    fix, "run 'relayctl setup --mta sendmail'", sizeof(fix));
	else
		(void)snprintf(fix, sizeof(fix),
		    "run 'relayctl setup --mta sendmail --root %s'", c->root);
	for (i = 0; i < p->n && r == 0; i++) {
		it = &p->items[i];
		if (it->kind == PLAN_UNSAFE)
			r = check_add(c, it->action, SEV_UNSAFE, it->path, "",
			    it->after, "decide by hand, then run setup again");
		else
			r = check_add(c, plan_id(it), SEV_DRIFT, it->path,
			    it->after, it->before, fix);
	}
	if (r == 0 && m->debian)
		r = check_add(c, "mta.debian-scripts", SEV_ADVICE,
		    MTA_ETC "/sendmail.conf", "",
		    "HANDS_OFF=\"No\": update_sys puts /var/spool/mqueue and "
		    "/etc/mail back to smmta:smmsp",
		    "run relayctl setup --mta sendmail after sendmailconfig "
		    "and upgrades");
	return r;
}

/* The master's pid from PidFile (first line), under the root. */
static pid_t
read_pidfile(const struct check *c, const struct mta *m)
{
	char path[PATH_MAX], *slash, *text = NULL;
	size_t len;
	long pid = 0;
	int dfd = -1;

	if (m->cf.text == NULL ||
	    !sendmailcf_cf_option(
		m->cf.text, m->cf.len, "PidFile", path, sizeof(path)))
		(void)strlcpy(path, PID_DEFAULT, sizeof(path));
	/* /var/run is a symlink to /run on Debian; we follow none. */
	if (strncmp(path, "/var/run/", 9) == 0)
		memmove(path, path + 4, strlen(path + 4) + 1);
	if (path[0] != '/' || (slash = strrchr(path, '/')) == path)
		return 0;
	*slash = '\0';
	if (walk_open(c->rootfd, path, &dfd, NULL) == 0 &&
	    fsfix_read_file(dfd, slash + 1, 4096, &text, &len) == 0)
		pid = strtol(text, NULL, 10);
	free(text);
	if (dfd >= 0)
		close(dfd);
	return pid > 1 ? (pid_t)pid : 0;
}

static int
bad_creds(const struct check *c, const struct procstat *ps)
{
	size_t i;
	int bad = (ps->have & (PROCSTAT_UID | PROCSTAT_GID | PROCSTAT_CAPS)) !=
	    (PROCSTAT_UID | PROCSTAT_GID | PROCSTAT_CAPS);

	for (i = 0; i < 4; i++)
		bad |= ps->uid[i] != c->uid || ps->gid[i] != c->gid;
	for (i = 0; i < ps->ngroups; i++)
		bad |= ps->groups[i] == 0;
	return bad || (ps->cap_prm | ps->cap_eff | ps->cap_inh | ps->cap_amb);
}

static int
child_finding(struct check *c, const struct procstat *ps)
{
	char path[PATH_MAX + 32], exp[96], act[256];

	(void)snprintf(path, sizeof(path), "%s/%ld", c->procdir, (long)ps->pid);
	(void)snprintf(exp, sizeof(exp), "uid %lu, gid %lu, no capabilities",
	    (unsigned long)c->uid, (unsigned long)c->gid);
	(void)snprintf(act, sizeof(act),
	    "Uid %lu %lu %lu %lu Gid %lu %lu %lu %lu CapPrm %016llx CapEff "
	    "%016llx",
	    (unsigned long)ps->uid[0], (unsigned long)ps->uid[1],
	    (unsigned long)ps->uid[2], (unsigned long)ps->uid[3],
	    (unsigned long)ps->gid[0], (unsigned long)ps->gid[1],
	    (unsigned long)ps->gid[2], (unsigned long)ps->gid[3],
	    (unsigned long long)ps->cap_prm, (unsigned long long)ps->cap_eff);
	return check_add(c, "mta.child-creds", SEV_UNSAFE, path, exp, act,
	    "set confRUN_AS_USER ('relayctl setup --mta sendmail') and "
	    "restart sendmail");
}

/*
 * An SMTP session's title names its client: "sendmail: MTA: server
 * HOST [ADDR] cmd read".  1 when pid serves one and is checked (bad
 * credentials are read again once: it may be between fork and setuid).
 */
static int
check_session(struct check *c, pid_t pid, int *r)
{
	struct timespec ts = { 0, RECHECK_NS };
	struct procstat ps, again;
	char title[256];

	if (procstat_cmdline(c->procfd, pid, title, sizeof(title)) < 0 ||
	    strncmp(title, "sendmail:", 9) != 0 || strchr(title, '[') == NULL)
		return 0;
	if (procstat_read(c->procfd, pid, &ps) < 0 || ps.state == 'Z')
		return 0;
	if (bad_creds(c, &ps)) {
		(void)nanosleep(&ts, NULL);
		if (procstat_read(c->procfd, pid, &again) < 0 ||
		    again.starttime != ps.starttime || again.state == 'Z')
			return 0;
		if (bad_creds(c, &again))
			*r = child_finding(c, &again);
	}
	return 1;
}

static int
runtime(struct check *c, const struct mta *m)
{
	struct procstat ps;
	char title[256], path[PATH_MAX + 32], act[192];
	pid_t master, *kids = NULL;
	size_t n, i, sessions = 0;
	int r = 0;

	if ((master = read_pidfile(c, m)) == 0 ||
	    procstat_read(c->procfd, master, &ps) < 0 || ps.state == 'Z' ||
	    procstat_cmdline(c->procfd, master, title, sizeof(title)) < 0 ||
	    strncmp(title, "sendmail:", 9) != 0)
		return 0; /* not running, or a stale pidfile */
	if (!c->have_ids)
		return 0; /* account.missing says it */
	if ((r = check_descendants(c, master, &kids, &n)) < 0)
		return r;
	for (i = 0; i < n && r == 0; i++)
		sessions += (size_t)check_session(c, kids[i], &r);
	free(kids);
	(void)snprintf(path, sizeof(path), "%s/%ld", c->procdir, (long)master);
	(void)snprintf(act, sizeof(act),
	    "sendmail master %ld, %zu SMTP session%s checked", (long)master,
	    sessions, sessions == 1 ? "" : "s");
	if (r == 0)
		r = check_add(c, "mta.runtime", SEV_ADVICE, path, "", act, "");
	return r;
}

int
check_mta(struct check *c)
{
	struct mta m = { .rootfd = c->rootfd,
		.root = c->root,
		.user = c->user,
		.group = c->user,
		.etcfd = -1 };
	struct plan p = { 0 };
	int r;

	if (mta_read(&m) < 0 || mta_plan(&m, &p) < 0) {
		fprintf(stderr, "relayctl: %s\n", m.err);
		r = -EIO;
	} else if ((r = static_findings(c, &m, &p)) == 0)
		r = runtime(c, &m);
	plan_free(&p);
	mta_free(&m);
	return r;
}
