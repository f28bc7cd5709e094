/*
 * relayctl: the subcommands and the few helpers they share.  Commands
 * return an exit status (sysexits(3) or the documented check codes).
 */
#ifndef RELAYCTL_H
#define RELAYCTL_H

#include <stdio.h>

#include "plan.h"

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

int cmd_setup(int argc, char **argv);
/* check.c: the read-only audit (exit 0 clean, 2 drift, 3 unsafe). */
int cmd_check(int argc, char **argv);
/* daemon.c: relayd start/stop with LSB exit codes. */
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* queue.c: list and manage the mail queue (relayd-queue(5)). */
int cmd_queue(int argc, char **argv);
int cmd_unbuilt(int argc, char **argv);
const struct cmd *cmd_find(const char *name);
void cmd_usage(FILE *fp, const struct cmd *c);
void cmd_help(FILE *fp, const struct cmd *c);

/*
 * setup.c: what 'setup --plan' would do on root, without printing it; the
 * static audit start (and later check) run.  0, or an exit status.
 */
int setup_audit(const char *root, struct plan *plan);

/* daemon.c: the relayd 'start' runs ($RELAYD, next to relayctl, SBINDIR). */
int daemon_relayd_path(char *buf, size_t len);

/* output.c: the plan as text or as one JSON document. */
void output_plan_text(FILE *fp, const struct plan *p);
void output_json_string(FILE *fp, const char *s);

#endif
