/*
 * mta: the article's RunAsUser for a real sendmail.  The .mc is the source
 * (Debian rebuilds sendmail.cf from it): relayctl adds or corrects its one
 * confRUN_AS_USER line there and rebuilds sendmail.cf with m4; without a
 * .mc it sets "O RunAsUser=" in the hand-written sendmail.cf.  m4 runs
 * the .mc as root, so a .mc anyone but root could have written is refused;
 * so is a value someone else chose, and HANDS_OFF (the .cf is kept by hand).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsfix.h"
#include "mta.h"
#include "readfile.h"
#include "walk.h"

#define FILE_MAX (4 * 1024 * 1024)
#define CF_DIR "/usr/share/sendmail/cf"

/* "cannot WHAT 'NAME': why" into m->err; returns r. */
static int
fail(struct mta *m, int r, const char *what, const char *name)
{
	(void)snprintf(m->err, sizeof(m->err), "cannot %s '%s': %s", what, name,
	    strerror(-r));
	return r;
}

static int
read_one(struct mta *m, const char *name, struct mta_file *f)
{
	int r;

	r = readfile_at(m->etcfd, name, FILE_MAX, &f->text, &f->len, &f->st);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		(void)snprintf(m->err, sizeof(m->err),
		    "cannot read '%s/%s': %s", MTA_ETC, name,
		    readfile_strerror(r));
		return r;
	}
	return 0;
}

int
mta_read(struct mta *m)
{
	int r;

	m->etcfd = -1;
	r = walk_open(m->rootfd, MTA_ETC, &m->etcfd, NULL);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return fail(m, r, "open", MTA_ETC);
	if ((r = read_one(m, "sendmail.conf", &m->conf)) < 0 ||
	    (r = read_one(m, "sendmail.mc", &m->mc)) < 0 ||
	    (r = read_one(m, "sendmail.cf", &m->cf)) < 0)
		return r;
	if (m->conf.text != NULL) {
		m->hands_off = sendmailcf_hands_off(m->conf.text, m->conf.len);
		m->debian = !m->hands_off;
	}
	if (m->cf.text != NULL)
		(void)sendmailcf_cf_option(m->cf.text, m->cf.len, "RunAsUser",
		    m->run_as, sizeof(m->run_as));
	return 0;
}

static int
unsafe(struct mta *m, struct plan *p, const char *id, const char *name,
    const char *why)
{
	char path[64];

	m->refused = 1;
	(void)snprintf(path, sizeof(path), "%s/%s", MTA_ETC, name);
	return plan_add(p, PLAN_UNSAFE, id, path, "", why);
}

/*
 * m4 executes the .mc as root: root's alone, one link, nobody may write.
 * XXX the files it includes (/etc/mail/m4/ files, the macros) are not
 * checked here; the layout keeps /etc/mail root's and not group-writable.
 */
static int
mc_trusted(const struct mta_file *f)
{
	return f->st.st_uid == 0 && (f->st.st_mode & 022) == 0 &&
	    f->st.st_nlink == 1;
}

/* The sendmail-cf macros: inside the root first, else the host's. */
static int
find_cfdir(struct mta *m)
{
	int fd = -1;

	if (strcmp(m->root, "/") != 0 &&
	    walk_open(m->rootfd, CF_DIR "/m4/cf.m4", &fd, NULL) == 0) {
		close(fd);
		return snprintf(m->cfdir, sizeof(m->cfdir), "%s%s", m->root,
			   CF_DIR) < (int)sizeof(m->cfdir);
	}
	if (access(CF_DIR "/m4/cf.m4", R_OK) != 0)
		return 0;
	(void)strlcpy(m->cfdir, CF_DIR, sizeof(m->cfdir));
	return 1;
}

static int
edit_unsafe(struct mta *m, struct plan *p, const char *name, const char *what,
    const struct sendmailcf_edit *e)
{
	char why[512];

	if (e->state == SENDMAILCF_CONFLICT)
		(void)snprintf(why, sizeof(why),
		    "%s is '%s' (line %zu), not the relay account '%s:%s'; "
		    "change or remove it by hand",
		    what, e->found, e->line, m->user, m->group);
	else
		(void)snprintf(why, sizeof(why),
		    "%s is set more than once (last at line %zu); keep one",
		    what, e->line);
	return unsafe(m, p,
	    e->state == SENDMAILCF_CONFLICT ? "mta.run-as-conflict"
					    : "mta.run-as-duplicate",
	    name, why);
}

static int
plan_mc(struct mta *m, struct plan *p)
{
	struct sendmailcf_edit *e = &m->mc_edit;
	char before[160], after[160];
	int r;

	if (!mc_trusted(&m->mc))
		return unsafe(m, p, "mta.mc-untrusted", "sendmail.mc",
		    "not root's alone (owner, group/other write or links); "
		    "m4 would run it as root");
	r = sendmailcf_mc_run_as(m->mc.text, m->mc.len, m->user, m->group, e);
	if (r < 0)
		return fail(m, r, "read", MTA_ETC "/sendmail.mc");
	if (e->state == SENDMAILCF_CONFLICT || e->state == SENDMAILCF_DUP)
		return edit_unsafe(m, p, "sendmail.mc", "confRUN_AS_USER", e);
	m->rebuild = e->state != SENDMAILCF_SAME || m->cf.text == NULL ||
	    !sendmailcf_is_account(m->run_as, m->user, m->group);
	if (m->rebuild && !find_cfdir(m))
		return unsafe(m, p, "mta.no-cf-macros", "sendmail.mc",
		    "no sendmail-cf macros (" CF_DIR "): install sendmail-cf");
	if (m->hands_off && m->rebuild)
		return unsafe(m, p, "mta.hands-off", "sendmail.conf",
		    "HANDS_OFF is set: sendmail.cf is kept by hand, relayctl "
		    "will not rebuild it; set RunAsUser yourself or HANDS_OFF="
		    "\"No\"");
	(void)snprintf(after, sizeof(after), "%s:%s", m->user, m->group);
	if (e->state != SENDMAILCF_SAME) {
		(void)snprintf(before, sizeof(before), "confRUN_AS_USER %s",
		    e->found[0] ? e->found : "unset");
		if ((r = plan_add(p, PLAN_ACTION, "edit",
			 MTA_ETC "/sendmail.mc", before, after)) < 0)
			return r;
	}
	if (!m->rebuild)
		return 0;
	(void)snprintf(before, sizeof(before), "RunAsUser %s",
	    m->cf.text == NULL ? "(no file)"
			       : (m->run_as[0] ? m->run_as : "unset"));
	return plan_add(
	    p, PLAN_ACTION, "rebuild", MTA_ETC "/sendmail.cf", before, after);
}

/* No .mc: the admin writes sendmail.cf by hand; set its option. */
static int
plan_cf(struct mta *m, struct plan *p)
{
	struct sendmailcf_edit *e = &m->cf_edit;
	char before[160], after[160];
	int r;

	r = sendmailcf_cf_run_as(m->cf.text, m->cf.len, m->user, m->group, e);
	if (r < 0)
		return fail(m, r, "read", MTA_ETC "/sendmail.cf");
	if (e->state == SENDMAILCF_CONFLICT || e->state == SENDMAILCF_DUP)
		return edit_unsafe(m, p, "sendmail.cf", "RunAsUser", e);
	if (e->state == SENDMAILCF_SAME)
		return 0;
	if (m->hands_off)
		return unsafe(m, p, "mta.hands-off", "sendmail.conf",
		    "HANDS_OFF is set: sendmail.cf is kept by hand; set "
		    "\"O RunAsUser=\" yourself or HANDS_OFF=\"No\"");
	(void)snprintf(before, sizeof(before), "RunAsUser %s",
	    e->found[0] ? e->found : "unset");
	(void)snprintf(after, sizeof(after), "%s:%s", m->user, m->group);
	return plan_add(
	    p, PLAN_ACTION, "edit", MTA_ETC "/sendmail.cf", before, after);
}

int
mta_plan(struct mta *m, struct plan *p)
{
	if (m->mc.text != NULL)
		return plan_mc(m, p);
	if (m->cf.text != NULL)
		return plan_cf(m, p);
	return unsafe(m, p, "mta.no-config", "sendmail.mc",
	    "neither sendmail.mc nor sendmail.cf: install sendmail first");
}

/*
 * m4 reads the root's files: under --root, the absolute includes of the
 * .mc and of Debian's macros (/usr/share/sendmail/cf/..., /etc/mail/...)
 * are mapped into the root.  _NO_MAKEINFO_ leaves out the "built by" lines
 * (a shell script m4 would run as root, and a date that changes each run).
 */
static int
prologue(const struct mta *m, char *buf, size_t len)
{
	const char *rootp = strcmp(m->root, "/") == 0 ? "" : m->root;
	int n;

	if (strpbrk(m->root, "`'(),#$\\\n") != NULL ||
	    strpbrk(m->cfdir, "`'(),#$\\\n") != NULL)
		return -EINVAL;
	n = snprintf(buf, len,
	    "divert(-1)\n"
	    "define(`_NO_MAKEINFO_')\n"
	    "define(`relayctl_path', `patsubst(patsubst(`$1', "
	    "`^" CF_DIR "/', `%s/'), `^" MTA_ETC "/', `%s" MTA_ETC "/')')\n"
	    "define(`include', `builtin(`include', relayctl_path(`$1'))')\n"
	    "define(`sinclude', `builtin(`sinclude', relayctl_path(`$1'))')\n"
	    "divert(0)dnl\n",
	    m->cfdir, rootp);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
mta_build(struct mta *m)
{
	const char *mc = m->mc_edit.out ? m->mc_edit.out : m->mc.text;
	size_t mclen = m->mc_edit.out ? m->mc_edit.outlen : m->mc.len;
	char pro[3 * PATH_MAX], got[128];
	int r;

	if (!m->rebuild)
		return 0;
	if ((r = prologue(m, pro, sizeof(pro))) < 0)
		return fail(m, r, "map for m4", m->root);
	r = mta_exec_m4(m->etcfd, pro, mc, mclen, &m->cf_new, &m->cf_newlen,
	    m->err, sizeof(m->err));
	if (r < 0)
		return r;
	/* A later line of the .mc (or a DOMAIN file) could still win. */
	(void)sendmailcf_cf_option(
	    m->cf_new, m->cf_newlen, "RunAsUser", got, sizeof(got));
	if (!sendmailcf_is_account(got, m->user, m->group)) {
		(void)snprintf(m->err, sizeof(m->err),
		    "m4 made a sendmail.cf with RunAsUser '%s', not '%s:%s'; "
		    "nothing changed",
		    got, m->user, m->group);
		return -EINVAL;
	}
	return 0;
}

int
mta_diff(struct mta *m, FILE *fp)
{
	int r = 0;

	if (m->mc_edit.out != NULL)
		r = mta_exec_diff(fp, MTA_ETC "/sendmail.mc", m->mc.text,
		    m->mc.len, m->mc_edit.out, m->mc_edit.outlen);
	if (r == 0 && m->cf_new != NULL)
		r = mta_exec_diff(fp, MTA_ETC "/sendmail.cf",
		    m->cf.text ? m->cf.text : "", m->cf.len, m->cf_new,
		    m->cf_newlen);
	if (r == 0 && m->cf_edit.out != NULL)
		r = mta_exec_diff(fp, MTA_ETC "/sendmail.cf", m->cf.text,
		    m->cf.len, m->cf_edit.out, m->cf_edit.outlen);
	return r;
}

static int
replace(struct mta *m, const char *name, const struct mta_file *old,
    const char *buf, size_t len)
{
	char backup[64];
	int r;

	(void)snprintf(backup, sizeof(backup), "%s.old", name);
	r = fsfix_replace(
	    m->etcfd, name, &old->st, old->text, old->len, buf, len, backup);
	if (r == -ESTALE)
		(void)snprintf(m->err, sizeof(m->err),
		    "'%s/%s' changed while setup ran; run it again", MTA_ETC,
		    name);
	else if (r < 0)
		(void)snprintf(m->err, sizeof(m->err),
		    "cannot write '%s/%s': %s", MTA_ETC, name, strerror(-r));
	return r;
}

int
mta_apply(struct mta *m)
{
	struct stat st;
	int r = 0;

	if (m->mc_edit.out != NULL)
		r = replace(m, "sendmail.mc", &m->mc, m->mc_edit.out,
		    m->mc_edit.outlen);
	if (r == 0 && m->cf_edit.out != NULL)
		r = replace(m, "sendmail.cf", &m->cf, m->cf_edit.out,
		    m->cf_edit.outlen);
	if (r < 0 || m->cf_new == NULL)
		return r;
	if (m->cf.text != NULL)
		return replace(
		    m, "sendmail.cf", &m->cf, m->cf_new, m->cf_newlen);
	/*
	 * None yet: the .mc's owner and mode as the layout left them (root's,
	 * checked above), so the next run finds nothing to change.
	 */
	if (fstatat(m->etcfd, "sendmail.mc", &st, AT_SYMLINK_NOFOLLOW) < 0)
		st = m->mc.st;
	r = fsfix_install(m->etcfd, "sendmail.cf", m->cf_new, m->cf_newlen,
	    st.st_uid, st.st_gid, st.st_mode & 0644);
	if (r < 0)
		(void)snprintf(m->err, sizeof(m->err),
		    "cannot write '%s/sendmail.cf': %s", MTA_ETC, strerror(-r));
	return r;
}

void
mta_free(struct mta *m)
{
	free(m->conf.text);
	free(m->mc.text);
	free(m->cf.text);
	free(m->cf_new);
	sendmailcf_edit_free(&m->mc_edit);
	sendmailcf_edit_free(&m->cf_edit);
	if (m->etcfd >= 0)
		close(m->etcfd);
	m->etcfd = -1;
}
