/*
 * mta: 'setup --mta sendmail' and 'check --mta sendmail', the sendmail
 * half: RunAsUser in /etc/mail/sendmail.mc (rebuilt into sendmail.cf with
 * m4, as Debian's 'make -C /etc/mail' does) or in a hand-written
 * sendmail.cf, and Debian's HANDS_OFF.  Shared by cmd/setup.c and
 * cmd/check_mta.c; the text rules are lib/sendmailcf.c.
 */
#ifndef RELAYCTL_MTA_H
#define RELAYCTL_MTA_H

#include <sys/stat.h>
#include <limits.h>
#include <stddef.h>

#include "plan.h"
#include "sendmailcf.h"

#define MTA_SENDMAIL "sendmail" /* the one --mta relayctl knows */
#define MTA_ETC "/etc/mail"

struct mta_file {
	char *text; /* NULL when absent */
	size_t len;
	struct stat st;
};

struct mta {
	/* set by the caller */
	int rootfd;
	const char *root; /* "/" or --root */
	const char *user, *group; /* the relay account */
	/* mta_read */
	int etcfd; /* O_PATH of ROOT/etc/mail, -1 when missing */
	struct mta_file conf, mc, cf; /* sendmail.conf, .mc, .cf */
	int hands_off; /* HANDS_OFF is not "No" */
	int debian; /* sendmail.conf exists and its scripts will run */
	/* mta_plan */
	struct sendmailcf_edit mc_edit, cf_edit;
	int refused; /* an unsafe item: nothing may change */
	int rebuild; /* sendmail.cf from sendmail.mc with m4 */
	char cfdir[PATH_MAX]; /* the sendmail-cf macros m4 uses */
	char run_as[128]; /* RunAsUser of the compiled sendmail.cf */
	/* mta_build */
	char *cf_new;
	size_t cf_newlen;
	char err[512]; /* why a call failed */
};

/* Read sendmail.conf, .mc and .cf under the root.  0 or -errno (err). */
int mta_read(struct mta *m);
/*
 * What must change: "edit" and "rebuild" actions, or unsafe items (ids
 * mta.*) that refuse every change.  0 or -errno (err).
 */
int mta_plan(struct mta *m, struct plan *p);
/* m->rebuild: run m4 on the new sendmail.mc into m->cf_new. */
int mta_build(struct mta *m);
/* The planned changes as unified diffs (diff -u) on fp. */
int mta_diff(struct mta *m, FILE *fp);
/* Write them: each file atomically, its old bytes to NAME.old. */
int mta_apply(struct mta *m);
void mta_free(struct mta *m);

/* mta_exec.c: m4 and diff, run with a clean environment. */
int mta_exec_m4(int etcfd, const char *prologue, const char *in, size_t inlen,
    char **out, size_t *outlen, char *err, size_t errlen);
int mta_exec_diff(FILE *fp, const char *label, const char *a, size_t alen,
    const char *b, size_t blen);

#endif
