/*
 * relayctl: the subcommands, the front end that parses their options, and
 * the few helpers and constants they share.  Commands return an exit status
 * (sysexits(3), the documented check codes or the LSB init-script codes).
 */
#ifndef RELAYCTL_H
#define RELAYCTL_H

#include <stdio.h>

#include "layout.h"
#include "plan.h"

/* relayd.conf under the root, unless --config names another. */
#define DEFAULT_CONFIG "/etc/mail/relayd.conf"

/* check: drift setup would fix; check, setup, start: unsafe items. */
#define EXIT_DRIFT 2
#define EXIT_UNSAFE 3
/* LSB init-script action and status codes (start, stop, reload, flush). */
#define LSB_NOT_RUNNING 7
#define LSB_STATUS_DEAD 1
#define LSB_STATUS_STOPPED 3
#define LSB_STATUS_UNKNOWN 4

/* The common options a command takes (struct cmd.flags); --help always. */
#define CMD_ROOT 0x01 /* --root DIR */
#define CMD_CONFIG 0x02 /* --config FILE */
#define CMD_JSON 0x04 /* --json */
#define CMD_OPERANDS 0x08 /* words after the command (queue's action) */

#define CMD_OPT_MAX 8 /* options of one command besides the common ones */
#define CMD_OPERAND_MAX 2

/* An option only some commands take, parsed by the same loop. */
struct cmd_opt {
	const char *name; /* "plan" for --plan */
	const char *arg; /* NULL: a switch; else its usage word ("N") */
};

struct cmd;

/* What the front end parsed; commands read it and never parse argv. */
struct cmd_args {
	const struct cmd *cmd;
	const char *root; /* "/" unless --root */
	const char *config; /* DEFAULT_CONFIG unless --config */
	int json;
	/* By index into cmd->opts: NULL if absent, else its argument ("" for
	 * a switch); the last one given wins. */
	const char *opt[CMD_OPT_MAX];
	char *operand[CMD_OPERAND_MAX];
	int noperands;
};

struct cmd {
	const char *name;
	int (*fn)(const struct cmd_args *a);
	unsigned flags; /* CMD_* */
	const struct cmd_opt *opts; /* NULL or ended by { NULL, NULL } */
	const char *operands; /* usage of the operands, or NULL */
	const char *summary;
};

/*
 * A usage error in a's command: "relayctl: CMD: MESSAGE" and the command's
 * usage line on stderr.  Returns EX_USAGE (64), for the command to return.
 */
int cmd_usage_error(const struct cmd_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

int cmd_setup(const struct cmd_args *a);
extern const struct cmd_opt setup_options[];
/* check.c: the read-only audit (exit 0 clean, 2 drift, 3 unsafe). */
int cmd_check(const struct cmd_args *a);
extern const struct cmd_opt check_options[];
/* daemon.c: relayd start/stop with LSB exit codes. */
int cmd_start(const struct cmd_args *a);
int cmd_stop(const struct cmd_args *a);
int cmd_restart(const struct cmd_args *a);
int cmd_reload(const struct cmd_args *a);
int cmd_status(const struct cmd_args *a);
/* queue.c: list and manage the mail queue (relayd-queue(5)). */
int cmd_queue(const struct cmd_args *a);
/* daemon.c: relayd's counters and the spool, as Prometheus text. */
int cmd_metrics(const struct cmd_args *a);
/*
 * metrics.c: the spool's census (message counts in queue/, hold/ and
 * corrupt/, the oldest arrival in queue/; -1 counts: unreadable) and
 * the printers of relayctl metrics (Prometheus text; counters only when
 * mf is not NULL, the queue only when census_ok) and of the "metrics"
 * object of status --json ("null" without counters).
 */
struct census {
	long queued, held, corrupt;
	int64_t oldest; /* Unix time, 0: none */
};
struct metrics_file;
int census_take(int rootfd, const char *spool, struct census *c);
void metrics_prometheus(int up, const struct metrics_file *mf, long sessions,
    const struct census *c, int census_ok);
void metrics_json(const struct metrics_file *mf);
/* passwd.c: an SMTP AUTH login in the auth_users file. */
int cmd_passwd(const struct cmd_args *a);
extern const struct cmd_opt passwd_options[];

/*
 * setup.c: what 'setup --plan' would do on root, without printing it; the
 * static audit start (and later check) run.  0, or an exit status.
 */
int setup_audit(const char *root, struct plan *plan);
/* The data directory: $RELAYCTL_DATADIR or the installed one. */
const char *setup_datadir(void);
/*
 * The layout in datafd (the data directory, -1 if it cannot be opened),
 * or the compiled-in copy when none is installed.  0, or -errno after
 * saying why on stderr (-EINVAL: the layout is malformed or refused).
 */
int setup_layout(int datafd, struct layout **out);

/*
 * emit.c: the layout as a sysusers.d ("sysusers") or tmpfiles.d
 * ("tmpfiles") snippet on fp, samples named under datadir.  0, -EINVAL
 * for another what, -EIO when fp fails.
 */
int emit_snippet(
    FILE *fp, const struct layout *l, const char *what, const char *datadir);

/* daemon.c: the relayd 'start' runs ($RELAYD, next to relayctl, SBINDIR). */
int daemon_relayd_path(char *buf, size_t len);

/* output.c: the plan as text or as one JSON document. */
/* s with every control character encoded (vis(3)), padded to width. */
void output_safe(FILE *fp, const char *s, int width);
void output_plan_text(FILE *fp, const struct plan *p);
void output_json_string(FILE *fp, const char *s);

#endif
