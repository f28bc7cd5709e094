/*
 * relayctl metrics and the counters in relayctl status --json: relayd's
 * counters (lib/metrics.c, a file next to the pidfile) and a census of
 * the spool taken here, as Prometheus text for node_exporter's textfile
 * collector or as JSON.  Trust boundary: the counters were written by
 * children running as the relay account and the queue files by the
 * relay account: numbers only, and queue files only through the strict
 * envelope reader.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "queue.h"
#include "relayctl.h"
#include "walk.h"

/* Queue ids in SPOOL/sub; the oldest arrival into *oldest (if given). */
static long
census_dir(int rootfd, const char *spool, const char *sub, int64_t *oldest)
{
	char path[4200];
	struct queue_file *qf;
	struct dirent *de;
	DIR *dir;
	long n = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", spool, sub) >=
	    sizeof(path))
		return -1;
	fd = walk_open_io(rootfd, path, O_RDONLY | O_DIRECTORY, NULL);
	if (fd < 0)
		return fd == -ENOENT && strcmp(sub, "queue") != 0 ? 0 : -1;
	if ((dir = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		n++;
		if (oldest == NULL ||
		    queue_read_envelope(fd, de->d_name, &qf) != 0)
			continue;
		if (*oldest == 0 || qf->arrival < *oldest)
			*oldest = qf->arrival;
		queue_free(qf);
	}
	(void)closedir(dir);
	return n;
}

int
census_take(int rootfd, const char *spool, struct census *c)
{
	memset(c, 0, sizeof(*c));
	c->queued = census_dir(rootfd, spool, "queue", &c->oldest);
	c->held = census_dir(rootfd, spool, "hold", NULL);
	c->corrupt = census_dir(rootfd, spool, "corrupt", NULL);
	return c->queued < 0 || c->held < 0 || c->corrupt < 0 ? -1 : 0;
}

static const struct {
	enum metrics_counter c;
	const char *name, *help;
} counters[] = {
	{ METRICS_SESSIONS, "relayd_sessions_total",
	    "SMTP sessions relayd served (TCP and local)." },
	{ METRICS_ACCEPTED, "relayd_messages_accepted_total",
	    "Messages accepted and queued." },
	{ METRICS_DELIVERED, "relayd_recipients_delivered_total",
	    "Recipients the next hop accepted." },
	{ METRICS_DEFERRED, "relayd_recipients_deferred_total",
	    "Delivery tries of a recipient that failed for now." },
	{ METRICS_BOUNCED, "relayd_recipients_bounced_total",
	    "Recipients that failed for good or expired." },
};

static void
prom_head(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
metrics_prometheus(int up, const struct metrics_file *mf, long sessions,
    const struct census *c, int census_ok)
{
	size_t i;
	int r;

	prom_head("relayd_up", "gauge", "1 if relayd is running.");
	printf("relayd_up %d\n", up);
	if (up) {
		prom_head("relayd_sessions_active", "gauge",
		    "SMTP sessions in progress.");
		printf("relayd_sessions_active %ld\n", sessions);
	}
	if (up && mf != NULL) {
		prom_head("relayd_start_time_seconds", "gauge",
		    "When relayd started, in Unix time.");
		printf("relayd_start_time_seconds %" PRIu64 "\n", mf->start);
		for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++) {
			prom_head(
			    counters[i].name, "counter", counters[i].help);
			printf("%s %" PRIu64 "\n", counters[i].name,
			    mf->c[counters[i].c]);
		}
		prom_head("relayd_rejections_total", "counter",
		    "Commands, messages and connections refused, by reason.");
		for (r = METRICS_REJ_FIRST; r < METRICS_N; r++)
			printf("relayd_rejections_total{reason=\"%s\"} %" PRIu64
			       "\n",
			    metrics_reason((enum metrics_counter)r), mf->c[r]);
	}
	if (!census_ok)
		return; /* the spool cannot be read: no made-up zeros */
	prom_head("relayd_queue_messages", "gauge",
	    "Messages in the spool, by queue.");
	printf("relayd_queue_messages{queue=\"active\"} %ld\n", c->queued);
	printf("relayd_queue_messages{queue=\"held\"} %ld\n", c->held);
	printf("relayd_queue_messages{queue=\"corrupt\"} %ld\n", c->corrupt);
	prom_head("relayd_queue_oldest_age_seconds", "gauge",
	    "Age of the oldest message in the active queue (0: empty).");
	printf("relayd_queue_oldest_age_seconds %" PRId64 "\n",
	    c->oldest > 0 && c->oldest < (int64_t)time(NULL)
		? (int64_t)time(NULL) - c->oldest
		: 0);
}

void
metrics_json(const struct metrics_file *mf)
{
	size_t i;
	int r;

	if (mf == NULL) {
		printf("null");
		return;
	}
	printf("{\"start\": %" PRIu64, mf->start);
	for (i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
		printf(", \"%s\": %" PRIu64,
		    counters[i].name + strlen("relayd_"), mf->c[counters[i].c]);
	printf(", \"rejections\": {");
	for (r = METRICS_REJ_FIRST; r < METRICS_N; r++)
		printf("%s\"%s\": %" PRIu64, r > METRICS_REJ_FIRST ? ", " : "",
		    metrics_reason((enum metrics_counter)r), mf->c[r]);
	printf("}}");
}
