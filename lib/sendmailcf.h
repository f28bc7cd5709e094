/*
 * sendmailcf: the few lines of sendmail's own configuration relayctl reads
 * and writes for 'setup --mta sendmail': the confRUN_AS_USER definition in
 * sendmail.mc, "O Name=value" options of sendmail.cf, and Debian's
 * HANDS_OFF in sendmail.conf.  Pure text in, text out; no I/O.
 */
#ifndef RELAY_SENDMAILCF_H
#define RELAY_SENDMAILCF_H

#include <stddef.h>

/* What relayctl writes after the line it owns, so a later run knows it. */
#define SENDMAILCF_MARK "relayctl setup --mta sendmail"

enum sendmailcf_state {
	SENDMAILCF_SAME, /* already the account: nothing to change */
	SENDMAILCF_ADD, /* not set: out has the line added */
	SENDMAILCF_FIX, /* relayctl's own line, another value: out fixes it */
	SENDMAILCF_CONFLICT, /* a hand-written other account: a human decides */
	SENDMAILCF_DUP /* set more than once, not all to the account */
};

struct sendmailcf_edit {
	enum sendmailcf_state state;
	char found[128]; /* the value in force now, "" when unset */
	size_t line; /* 1-based line of found (or of the insertion) */
	char *out; /* ADD and FIX: the whole new text (malloc'ed) */
	size_t outlen;
};

/*
 * sendmail.mc: define(`confRUN_AS_USER', `USER:GROUP')dnl.  Lines that
 * are m4 comments (dnl) do not count.  A new line goes before the first
 * MAILER_DEFINITIONS or MAILER( line (or at the end).  "USER" alone is
 * the same account (sendmail takes its primary group).  0, -EINVAL (NUL
 * bytes, or user/group unusable in m4), -ENOMEM.
 */
int sendmailcf_mc_run_as(const char *text, size_t len, const char *user,
    const char *group, struct sendmailcf_edit *e);

/*
 * sendmail.cf written by hand: "O RunAsUser=USER:GROUP", relayctl's own
 * after a "# ... SENDMAILCF_MARK" line; a new one goes after the last
 * option line.  Same results as sendmailcf_mc_run_as.
 */
int sendmailcf_cf_run_as(const char *text, size_t len, const char *user,
    const char *group, struct sendmailcf_edit *e);

/*
 * The value of the last "O name=value" line (trailing blanks cut) into
 * out, truncated to fit.  1 when set, 0 when not.
 */
int sendmailcf_cf_option(
    const char *text, size_t len, const char *name, char *out, size_t outlen);

/*
 * Debian's sendmail.conf: 1 when HANDS_OFF is set to anything but "No"
 * (its scripts test != "No" and then leave the configuration alone), 0 otherwise; the
 * last assignment wins, as when the shell sources it.
 */
int sendmailcf_hands_off(const char *text, size_t len);

/*
 * Whether a RunAsUser value names the account: "USER:GROUP" or "USER".
 */
int sendmailcf_is_account(
    const char *value, const char *user, const char *group);

void sendmailcf_edit_free(struct sendmailcf_edit *e);

#endif
