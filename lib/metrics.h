/*
 * relayd's counters (relayctl metrics, relayctl status --json): a small
 * file next to the pidfile that the master creates and maps shared
 * before any child exists, so every process it forks (sessions, runner,
 * workers) counts into the same page after the drop, without root,
 * without a socket and without a message to the master.  relayctl reads
 * the file; what the children wrote is untrusted numbers, nothing more.
 * doc/design.md, Metrics.
 */
#ifndef RELAY_METRICS_H
#define RELAY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_MAGIC "relayd-metrics 1" /* 16 octets, no NUL */

enum metrics_counter {
	METRICS_SESSIONS, /* connections served (TCP and local) */
	METRICS_ACCEPTED, /* messages queued ("250 ... queued as") */
	METRICS_DELIVERED, /* recipients the next hop took */
	METRICS_DEFERRED, /* recipient tries that failed for now */
	METRICS_BOUNCED, /* recipients failed for good (or expired) */
	/* Refusals to clients, by reason (the reason labels below). */
	METRICS_REJ_LIMIT, /* max_children, max_per_ip, max_conn_rate */
	METRICS_REJ_PREGREET, /* talked before the greeting */
	METRICS_REJ_PROTOCOL, /* bad commands, bare LF, TLS required */
	METRICS_REJ_AUTH, /* failed AUTH */
	METRICS_REJ_SENDER, /* sender not the login's or the user's */
	METRICS_REJ_RELAY, /* relaying denied */
	METRICS_REJ_RECIPIENT, /* not in relay_recipients */
	METRICS_REJ_MESSAGE, /* too big, bare CR, too many hops */
	METRICS_REJ_MILTER, /* a milter rejected or tempfailed it */
	METRICS_N
};
#define METRICS_REJ_FIRST METRICS_REJ_LIMIT

/* The file: fixed size, host byte order (read on the same host). */
struct metrics_file {
	char magic[16];
	uint64_t start; /* Unix time relayd started */
	uint64_t c[METRICS_N];
};

/* "limit", "pregreet", ... for METRICS_REJ_*; NULL for the others. */
const char *metrics_reason(enum metrics_counter c);

/*
 * The master: the file at path (made afresh: path.tmp, then renamed over
 * path; root's, 0644) mapped shared for this process and every one it
 * forks.  0 or -errno (then counting does nothing).
 */
int metrics_open(const char *path);

/* The master, when it stops: unmap and remove the file. */
void metrics_close(const char *path);

/* Add one; nothing if metrics_open() was not called or failed. */
void metrics_inc(enum metrics_counter c);

/*
 * relayctl: read the file at path into *out (copied, not mapped).  0,
 * -ENOENT (relayd is not running), -EINVAL (not a metrics file: wrong
 * size, magic, type or owner) or -errno.  Opened with O_NOFOLLOW.
 */
int metrics_read(int dirfd, const char *path, struct metrics_file *out);

/* The metrics file of a pidfile: PIDFILE without ".pid", ".metrics". */
int metrics_path(const char *pidfile, char *out, size_t len);

#endif /* RELAY_METRICS_H */
