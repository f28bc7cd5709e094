/*
 * relayctl queue [list|flush|delete ID|hold ID|release ID]: the mail
 * queue under --root.  Trust boundary: queue files are written by the
 * relay user and read here as root, so only through queue_read() (no
 * symlinks, no hard links, strict format); ids are checked with
 * queue_id_valid() before a path is built; every change goes through
 * qupdate (the delivery workers' lock), so a message being delivered is
 * never moved or removed under the worker's feet.
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

#include "config.h"
#include "qupdate.h"
#include "queue.h"
#include "relayctl.h"
#include "relayd_pid.h"
#include "walk.h"

struct qctl {
	const char *root, *config, *verb, *id;
	int json, rootfd, spoolfd;
	struct config cfg;
	int nmsg, bad;
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

static int
qctl_load(struct qctl *q)
{
	struct config_error ce;
	char text[512];

	if ((q->rootfd = open(q->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		warn("cannot open root '%s'", q->root);
		return -1;
	}
	config_defaults(&q->cfg);
	memset(&ce, 0, sizeof(ce));
	if (config_load(q->rootfd, q->config, &q->cfg, &ce) < 0) {
		config_error_format(&ce, text, sizeof(text));
		warnx("%s", text);
		return -1;
	}
	q->spoolfd =
	    walk_open_io(q->rootfd, q->cfg.spool, O_RDONLY | O_DIRECTORY, NULL);
	if (q->spoolfd < 0) {
		warnc(-q->spoolfd, "cannot open spool '%s'", q->cfg.spool);
		q->spoolfd = -1;
		return -1;
	}
	return 0;
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

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted queue ids in SPOOL/dir (other names are not ours to show). */
static char **
dir_ids(int spoolfd, const char *dir, size_t *n)
{
	struct dirent *de;
	char **ids = NULL, **nids;
	DIR *d;
	int fd;

	*n = 0;
	fd = openat(
	    spoolfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			(void)close(fd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		if ((nids = reallocarray(ids, *n + 1, sizeof(*ids))) == NULL)
			break;
		ids = nids;
		if ((ids[*n] = strdup(de->d_name)) == NULL)
			break;
		(*n)++;
	}
	(void)closedir(d);
	if (ids != NULL)
		qsort(ids, *n, sizeof(*ids), id_cmp);
	return ids;
}

static void
list_dir(struct qctl *q, const char *dir)
{
	struct queue_file *qf;
	char **ids;
	size_t n, i;
	int dfd, rv;

	dfd = openat(
	    q->spoolfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd == -1) {
		if (errno != ENOENT || strcmp(dir, "queue") == 0) {
			warn("cannot read '%s/%s'", q->cfg.spool, dir);
			q->bad = 1;
		}
		return;
	}
	ids = dir_ids(q->spoolfd, dir, &n);
	for (i = 0; i < n; i++) {
		if ((rv = queue_read(dfd, ids[i], &qf)) != 0) {
			if (rv != -ENOENT) { /* delivered meanwhile */
				warnx("%s/%s/%s: %s", q->cfg.spool, dir, ids[i],
				    strerror(-rv));
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
	(void)close(dfd);
}

static int
qctl_list(struct qctl *q)
{
	if (q->json)
		printf("{\"messages\": [");
	list_dir(q, "queue");
	list_dir(q, "hold");
	if (q->json)
		printf("%s]}\n", q->nmsg > 0 ? "\n" : "");
	else if (q->nmsg == 0)
		printf("queue is empty\n");
	else
		printf("-- %d message%s\n", q->nmsg, q->nmsg == 1 ? "" : "s");
	return q->bad ? 1 : 0;
}

/* SPOOL/hold, made like the spool itself (owner, group, 0700) if missing. */
static int
hold_dir(const struct qctl *q)
{
	struct stat st;
	int fd, rv = 0;

	if (mkdirat(q->spoolfd, "hold", 0700) == -1)
		return errno == EEXIST ? 0 : -errno;
	if (fstat(q->spoolfd, &st) == -1)
		return -errno;
	fd = openat(q->spoolfd, "hold",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (fchown(fd, st.st_uid, st.st_gid) == -1 || fchmod(fd, 0700) == -1)
		rv = -errno;
	(void)close(fd);
	return rv;
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
		return change_fail(q, "hold", rv);
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
	struct qctl q = { .rootfd = -1, .spoolfd = -1 };
	int r;

	if ((r = qctl_opts(a, &q)) != 0)
		return r;
	if (qctl_load(&q) < 0)
		r = 1;
	else if (strcmp(q.verb, "list") == 0)
		r = qctl_list(&q);
	else if (strcmp(q.verb, "flush") == 0)
		r = qctl_flush(&q);
	else
		r = qctl_change(&q);
	if (q.spoolfd != -1)
		(void)close(q.spoolfd);
	if (q.rootfd != -1)
		(void)close(q.rootfd);
	return r;
}
