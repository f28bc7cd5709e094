/*
 * check: the internals shared by cmd/check*.c.  Each part adds findings
 * to one list; check_output.c prints it.  Nothing here writes to the
 * audited root: every part only opens, stats and reads.
 */
#ifndef RELAYCTL_CHECK_H
#define RELAYCTL_CHECK_H

#include <sys/types.h>
#include <limits.h>

#include "accountdb.h"
#include "config.h"
#include "layout.h"

enum check_sev {
	SEV_ADVICE, /* worth knowing; does not change the exit status */
	SEV_DRIFT, /* 'relayctl setup' fixes it: exit 2 */
	SEV_UNSAFE /* needs a human: exit 3 */
};

struct finding {
	char id[32];
	enum check_sev sev;
	char path[PATH_MAX];
	char expected[192];
	char actual[256];
	char fix[256];
};

struct check_milter {
	char socket[4096]; /* "unix:/path" as configured */
	int reachable;
	char why[256]; /* "" or what stopped the relay account */
};

struct check {
	const char *root; /* "/" or --root */
	int json, quiet;
	int rootfd; /* O_PATH directory fd of root */
	int procfd; /* ROOT/proc when it exists under --root, else /proc */
	char procdir[PATH_MAX];
	struct layout *layout;
	struct accountdb *db;
	const char *user; /* the layout's account name */
	int have_ids; /* the relay account exists: uid/gid are valid */
	uid_t uid;
	gid_t gid;
	uid_t spool_uid; /* the layout's account: the spool's owner */
	struct config cfg;
	int cfg_ok; /* relayd.conf loaded and valid */
	pid_t pid; /* > 0: relayd master found through the pidfile */
	size_t nchildren;
	struct check_milter milters[CONFIG_MILTER_MAX];
	size_t nmilters;
	struct finding *f;
	size_t n, cap;
};

/* Appends a finding; NULL strings are "". 0 or -ENOMEM. */
int check_add(struct check *c, const char *id, enum check_sev sev,
    const char *path, const char *expected, const char *actual,
    const char *fix);
/* Drops every finding about path (a more specific one replaces them). */
void check_supersede(struct check *c, const char *path);
/* "run 'relayctl setup'" or "run 'relayctl setup --root DIR'". */
const char *check_setup_fix(const struct check *c);
int check_exit(const struct check *c);

/* check_trust.c: /etc/mail, paths to what root reads, the relayd binary. */
int check_trust(struct check *c);
/* check_spool.c: the spool, its parents and queue files (unsafe). */
int check_spool(struct check *c);
/* check_env.c: sysctls, a Debian sendmail beside us. */
int check_env(struct check *c);
/* check_milter.c: connect() to each milter as the relay account. */
int check_milter(struct check *c);
/* check_submit.c: who answers /usr/sbin/sendmail (local submission). */
int check_submit(struct check *c);
/* check_tls.c: tls_cert and tls_key (key readable, mismatch, expiry). */
int check_tls(struct check *c);

/* check_runtime.c: the running master and its children, from /proc. */
int check_runtime(struct check *c);
/* check_output.c */
void check_print_text(const struct check *c);
void check_print_json(const struct check *c);

#endif
