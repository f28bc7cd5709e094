/*
 * relayctl queue [list|flush|delete ID|hold ID|release ID]: the mail
 * queue under --root.  Trust boundary: queue files are written by the
 * relay user and read here as root, so only through queue_read() (no
 * symlinks, no hard links, no holes, strict format; list reads the
 * envelope only, queue_read_envelope()); ids are checked with
 * queue_id_valid() before a path is built; every change goes through
 * qupdate (the delivery workers' lock), so a message being delivered is
 * never moved or removed under the worker's feet.  The relay user owns
 * the spool and may swap queue/ or hold/ for a symlink: the spool and
 * each subdirectory are opened with spooldir (no symlink followed, owner
 * and mode checked) and a tampered spool is refused with EXIT_UNSAFE.
 * A file relayd will not deliver is listed as corrupt, never hidden.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "accountdb.h"
#include "config.h"
#include "fsfix.h"
#include "qupdate.h"
#include "queue.h"
#include "relayctl.h"
#include "relayd_pid.h"
#include "spooldir.h"
#include "walk.h"

struct qctl {
	const char *root, *config, *verb, *id;
	int json, rootfd, spoolfd;
	int dirfd[4]; /* SPOOL/tmp, queue, hold, corrupt (-1: not there) */
	uid_t uid; /* the relay account (run_as), owner of the spool */
	struct config cfg;
	int nmsg, bad;
	struct corrupt *corrupt; /* files never delivered, listed last */
	size_t ncorrupt;
};

/* A queue file relayd will not deliver, or one it has set aside. */
struct corrupt {
	char name[NAME_MAX + 1];
	const char *dir; /* "queue", "hold" or "corrupt" */
	char reason[64];
};

/* The action and its queue id, from the words after 'queue'. */
static int
qctl_opts(const struct cmd_args *a, struct qctl *q)
{
	int n = a->noperands;

	q->root = a->root;
	q->config = a->config;
	q->json = a->json;
	q->verb = n > 0 ? a->operand[0] : "list";
	if (strcmp(q->verb, "delete") == 0 || strcmp(q->verb, "hold") == 0 ||
	    strcmp(q->verb, "release") == 0) {
		if (n < 2)
			return cmd_usage_error(
			    a, "'%s' needs a queue id", q->verb);
		q->id = a->operand[1];
		if (!queue_id_valid(q->id))
			return cmd_usage_error(
			    a, "'%s' is not a queue id", q->id);
	} else if (strcmp(q->verb, "list") != 0 &&
	    strcmp(q->verb, "flush") != 0)
		return cmd_usage_error(a, "unknown action '%s'", q->verb);
	else if (n > 1)
		return cmd_usage_error(
		    a, "unexpected argument '%s'", a->operand[1]);
	return 0;
}

static const char *const spool_sub[] = { "tmp", "queue", "hold", "corrupt" };
enum { SUB_TMP, SUB_QUEUE, SUB_HOLD, SUB_CORRUPT, SUB_N };

/* Why spooldir refused SPOOL[/sub]; 1 (error) or EXIT_UNSAFE. */
static int
spool_fail(const struct qctl *q, const char *sub, int rv, const struct stat *st)
{
	const char *sep = sub[0] != '\0' ? "/" : "";

	if (rv == -ELOOP)
		warnx("refusing spool directory '%s%s%s': a symbolic link "
		      "(run 'relayctl check')",
		    q->cfg.spool, sep, sub);
	else if (rv == -ENOTDIR)
		warnx("refusing spool directory '%s%s%s': not a directory "
		      "(run 'relayctl check')",
		    q->cfg.spool, sep, sub);
	else if (rv == -EPERM && st->st_uid != q->uid)
		warnx("refusing spool directory '%s%s%s': owned by uid %lu, "
		      "not by '%s' (run 'relayctl check')",
		    q->cfg.spool, sep, sub, (unsigned long)st->st_uid,
		    q->cfg.run_as);
	else if (rv == -EPERM)
		warnx("refusing spool directory '%s%s%s': writable by group or "
		      "others, mode %04o (run 'relayctl check')",
		    q->cfg.spool, sep, sub, (unsigned)(st->st_mode & 07777));
	else {
		warnx("cannot open spool directory '%s%s%s': %s", q->cfg.spool,
		    sep, sub, strerror(-rv));
		return 1;
	}
	return EXIT_UNSAFE;
}

/* The run_as account from the root's own passwd: the spool's owner. */
static int
relay_uid(struct qctl *q)
{
	struct accountdb *db = NULL;
	struct account_user u;
	struct db_error de;
	char text[512];
	int rv;

	memset(&de, 0, sizeof(de));
	if ((rv = accountdb_load(q->rootfd, &db, &de)) < 0) {
		accountdb_error_format(&de, rv, text, sizeof(text));
		warnx("%s", text);
		return -1;
	}
	if ((rv = accountdb_user_by_name(db, q->cfg.run_as, &u)) < 0)
		warnx("run_as account '%s' not found under '%s'", q->cfg.run_as,
		    q->root);
	else
		q->uid = u.uid;
	accountdb_free(db);
	return rv < 0 ? -1 : 0;
}

/*
 * The spool and its tmp/, queue/, hold/ and corrupt/ (the last two may
 * be missing), each
 * opened once through spooldir: everything after acts by single names
 * inside these fds.  Returns 0, 1 or EXIT_UNSAFE.
 */
static int
spool_open(struct qctl *q)
{
	struct stat st;
	size_t i;
	int rv;

	memset(&st, 0, sizeof(st));
	rv = spooldir_open(q->rootfd, q->cfg.spool, q->uid, &q->spoolfd, &st);
	if (rv != 0)
		return spool_fail(q, "", rv, &st);
	for (i = 0; i < SUB_N; i++) {
		rv = spooldir_sub(q->spoolfd, spool_sub[i], &q->dirfd[i], &st);
		if (rv == -ENOENT && i >= SUB_HOLD)
			continue;
		if (rv != 0)
			return spool_fail(q, spool_sub[i], rv, &st);
	}
	return 0;
}

static int
qctl_load(struct qctl *q)
{
	struct config_error ce;
	char text[512];

	if ((q->rootfd = open(q->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		warn("cannot open root '%s'", q->root);
		return 1;
	}
	config_defaults(&q->cfg);
	memset(&ce, 0, sizeof(ce));
	if (config_load(q->rootfd, q->config, &q->cfg, &ce) < 0) {
		config_error_format(&ce, text, sizeof(text));
		warnx("%s", text);
		return 1;
	}
	if (relay_uid(q) < 0)
		return 1;
	return spool_open(q);
}

static const char *
state_name(enum queue_rcpt_state s)
{
	return s == QUEUE_RCPT_SENT  ? "sent"
	    : s == QUEUE_RCPT_FAILED ? "failed"
				     : "pending";
}

static void
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		(void)snprintf(buf, len, "%" PRId64, t);
}

static void
json_num_or_null(const char *key, int64_t v)
{
	printf(", \"%s\": ", key);
	if (v > 0)
		printf("%" PRId64, v);
	else
		printf("null");
}

static void
list_json(const struct queue_file *qf, const char *dir, int first)
{
	size_t i;

	printf("%s\n  {\"id\": ", first ? "" : ",");
	output_json_string(stdout, qf->id);
	printf(", \"held\": %s, \"size\": %zu, \"arrival\": %" PRId64
	       ", \"sender\": ",
	    strcmp(dir, "hold") == 0 ? "true" : "false", qf->size, qf->arrival);
	output_json_string(stdout, qf->sender);
	printf(", \"attempts\": %u", qf->attempts);
	json_num_or_null("next_try", qf->next_try);
	printf(", \"recipients\": [");
	for (i = 0; i < qf->nrcpt; i++) {
		printf("%s{\"address\": ", i > 0 ? ", " : "");
		output_json_string(stdout, qf->rcpt[i].path);
		printf(", \"state\": \"%s\", \"last_error\": ",
		    state_name(qf->rcpt[i].state));
		if (qf->rcpt[i].error[0] != '\0')
			output_json_string(stdout, qf->rcpt[i].error);
		else
			printf("null");
		printf("}");
	}
	printf("]}");
}

/* The envelope came from the relay user: print it through the escaper. */
static void
list_text(const struct queue_file *qf, const char *dir)
{
	char arr[64], next[64];
	size_t i;

	fmt_time(qf->arrival, arr, sizeof(arr));
	printf("%-16s %9zu  %s  ", qf->id, qf->size, arr);
	output_json_string(stdout, qf->sender);
	printf("%s\n", strcmp(dir, "hold") == 0 ? "  (held)" : "");
	if (qf->attempts > 0) {
		fmt_time(qf->next_try, next, sizeof(next));
		printf("    attempts %u, next try %s\n", qf->attempts,
		    qf->next_try > 0 ? next : "now");
	}
	for (i = 0; i < qf->nrcpt; i++) {
		printf("    %-8s ", state_name(qf->rcpt[i].state));
		output_json_string(stdout, qf->rcpt[i].path);
		printf("\n");
		if (qf->rcpt[i].error[0] != '\0')
			printf(
			    "             last error: %s\n", qf->rcpt[i].error);
	}
}

/* Why queue_read() refused a file, in the words of relayd-queue(5). */
static const char *
corrupt_reason(int rv)
{
	switch (rv) {
	case -ELOOP:
		return "a symbolic link";
	case -EPERM:
	case -EACCES:
		return "foreign, linked or not a regular file";
	case -EINVAL:
		return "malformed";
	case -EFBIG:
		return "too big";
	default:
		return strerror(-rv);
	}
}

static void
corrupt_add(
    struct qctl *q, const char *dir, const char *name, const char *reason)
{
	struct corrupt *c;

	c = reallocarray(q->corrupt, q->ncorrupt + 1, sizeof(*c));
	if (c == NULL) {
		q->bad = 1; /* not listed: the exit status says so */
		return;
	}
	q->corrupt = c;
	c = &q->corrupt[q->ncorrupt++];
	(void)strlcpy(c->name, name, sizeof(c->name));
	c->dir = dir;
	(void)strlcpy(c->reason, reason, sizeof(c->reason));
}

static void
list_dir(struct qctl *q, int sub)
{
	const char *dir = spool_sub[sub];
	struct queue_file *qf;
	char **ids;
	size_t n, i;
	int dfd = q->dirfd[sub], rv;

	if (dfd == -1) /* no hold/ yet */
		return;
	ids = queue_dir_names(dfd, sub == SUB_CORRUPT, &n);
	for (i = 0; i < n; i++) {
		if (sub == SUB_CORRUPT)
			corrupt_add(q, dir, ids[i], "set aside by relayd");
		else if ((rv = queue_read_envelope(dfd, ids[i], &qf)) != 0) {
			if (rv != -ENOENT) { /* delivered meanwhile */
				warnx("%s/%s/%s: %s", q->cfg.spool, dir, ids[i],
				    strerror(-rv));
				corrupt_add(q, dir, ids[i], corrupt_reason(rv));
				q->bad = 1;
			}
		} else {
			if (q->json)
				list_json(qf, dir, q->nmsg == 0);
			else
				list_text(qf, dir);
			q->nmsg++;
			queue_free(qf);
		}
		free(ids[i]);
	}
	free(ids);
}

/* Never hidden: each file relayd will not deliver, after the messages. */
static void
list_corrupt(const struct qctl *q)
{
	char name[NAME_MAX + 16];
	size_t i;

	if (q->json)
		printf("], \"corrupt\": [");
	else if (q->ncorrupt > 0)
		printf("-- %zu corrupt file%s, never delivered "
		       "(relayd-queue(5)):\n",
		    q->ncorrupt, q->ncorrupt == 1 ? "" : "s");
	for (i = 0; i < q->ncorrupt; i++) {
		(void)snprintf(name, sizeof(name), "%s/%s", q->corrupt[i].dir,
		    q->corrupt[i].name);
		if (q->json) {
			printf("%s\n  {\"name\": ", i > 0 ? "," : "");
			output_json_string(stdout, q->corrupt[i].name);
			printf(", \"dir\": \"%s\", \"state\": \"corrupt\", "
			       "\"reason\": ",
			    q->corrupt[i].dir);
			output_json_string(stdout, q->corrupt[i].reason);
			printf("}");
		} else {
			printf("corrupt  ");
			output_json_string(stdout, name);
			printf("  %s\n", q->corrupt[i].reason);
		}
	}
	if (q->json)
		printf("%s]}\n", q->ncorrupt > 0 ? "\n" : "");
}

static int
qctl_list(struct qctl *q)
{
	if (q->json)
		printf("{\"messages\": [");
	list_dir(q, SUB_QUEUE);
	list_dir(q, SUB_HOLD);
	list_dir(q, SUB_CORRUPT);
	if (q->json)
		printf("%s", q->nmsg > 0 ? "\n" : "");
	else if (q->nmsg == 0)
		printf("queue is empty\n");
	else
		printf("-- %d message%s\n", q->nmsg, q->nmsg == 1 ? "" : "s");
	list_corrupt(q);
	return q->bad ? 1 : 0;
}

/*
 * SPOOL/hold, made like the spool itself (owner, group, 0700) if missing
 * (fsfix_mkdir checks it is the directory it made), then opened through
 * spooldir like the others.  Returns 0, 1 or EXIT_UNSAFE.
 */
static int
hold_dir(struct qctl *q)
{
	struct stat st;
	int rv;

	if (q->dirfd[SUB_HOLD] != -1)
		return 0;
	if (fstat(q->spoolfd, &st) == -1)
		rv = -errno;
	else
		rv = fsfix_mkdir(
		    q->spoolfd, "hold", st.st_uid, st.st_gid, 0700, NULL);
	if (rv != 0 && rv != -EEXIST) {
		warnx(
		    "cannot create '%s/hold': %s", q->cfg.spool, strerror(-rv));
		return 1;
	}
	memset(&st, 0, sizeof(st));
	rv = spooldir_sub(q->spoolfd, "hold", &q->dirfd[SUB_HOLD], &st);
	return rv != 0 ? spool_fail(q, "hold", rv, &st) : 0;
}

static int
change_fail(const struct qctl *q, const char *dir, int rv)
{
	if (rv == -EWOULDBLOCK) {
		warnx("message %s is being delivered; try again", q->id);
		return EX_TEMPFAIL;
	}
	if (rv == -ENOENT) {
		warnx("no message %s in '%s/%s'", q->id, q->cfg.spool, dir);
		return 1;
	}
	warnx("%s '%s/%s/%s': %s", q->verb, q->cfg.spool, dir, q->id,
	    strerror(-rv));
	return 1;
}

static int
qctl_change(struct qctl *q)
{
	const char *from = "queue", *to = NULL;
	int lockfd = -1, rv;

	if (strcmp(q->verb, "hold") == 0)
		to = "hold";
	else if (strcmp(q->verb, "release") == 0) {
		from = "hold";
		to = "queue";
	}
	if (to != NULL && strcmp(to, "hold") == 0 && (rv = hold_dir(q)) != 0)
		return rv;
	rv = qupdate_lock(q->spoolfd, from, q->id, &lockfd, NULL);
	if (rv == -ENOENT && strcmp(q->verb, "delete") == 0) {
		from = "hold";
		rv = qupdate_lock(q->spoolfd, from, q->id, &lockfd, NULL);
		if (rv == -ENOENT)
			from = "queue";
	}
	if (rv != 0)
		return change_fail(q, from, rv);
	if (to == NULL)
		rv = qupdate_remove(q->spoolfd, from, q->id, &lockfd);
	else
		rv = qupdate_move(q->spoolfd, from, to, q->id, &lockfd);
	if (rv == -EEXIST) {
		warnx("%s: '%s/%s/%s' exists already", q->verb, q->cfg.spool,
		    to, q->id);
		return 1;
	}
	if (rv != 0)
		return change_fail(q, from, rv);
	printf("%s: %s\n", q->id,
	    to == NULL                    ? "deleted"
		: strcmp(to, "hold") == 0 ? "held"
					  : "released");
	return 0;
}

static int
qctl_flush(struct qctl *q)
{
	pid_t pid;
	int procfd, r;

	/* A stale pidfile must not make us signal a stranger. */
	if ((procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		warn("cannot open '/proc'");
		return 1;
	}
	r = relayd_pid(q->rootfd, q->cfg.pidfile, procfd, &pid);
	(void)close(procfd);
	if (r != 0) {
		printf("relayd is not running\n");
		return LSB_NOT_RUNNING;
	}
	if (kill(pid, SIGUSR1) == -1) {
		warn("cannot signal relayd (pid %ld)", (long)pid);
		return 1;
	}
	printf("relayd (pid %ld) is retrying every queued message now\n",
	    (long)pid);
	return 0;
}

int
cmd_queue(const struct cmd_args *a)
{
	struct qctl q = {
		.rootfd = -1, .spoolfd = -1, .dirfd = { -1, -1, -1, -1 }
	};
	size_t i;
	int r;

	if ((r = qctl_opts(a, &q)) != 0)
		return r;
	/* Every verb, flush too, refuses a spool that was tampered with. */
	r = qctl_load(&q);
	if (r == 0 && strcmp(q.verb, "list") == 0)
		r = qctl_list(&q);
	else if (r == 0 && strcmp(q.verb, "flush") == 0)
		r = qctl_flush(&q);
	else if (r == 0)
		r = qctl_change(&q);
	free(q.corrupt);
	for (i = 0; i < SUB_N; i++)
		if (q.dirfd[i] != -1)
			(void)close(q.dirfd[i]);
	if (q.spoolfd != -1)
		(void)close(q.spoolfd);
	if (q.rootfd != -1)
		(void)close(q.rootfd);
	return r;
}
