/*
 * The runner's delivery workers: the job datagram and the table of
 * worker processes.  Both ends run as the relay account, but a worker
 * talks to an untrusted next hop, so the runner takes from it exactly
 * one int per job and nothing else (runner_workers_report), and a
 * worker checks every job it is given (runner_job_recv).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner_worker.h"

int
runner_job_send(int fd, const struct runner_job *job)
{
	struct runner_jobmsg m;
	size_t i;

	if (job->n == 0 || job->n > RUNNER_BATCH_MAX)
		return -EINVAL;
	memset(&m, 0, sizeof(m));
	if (strlcpy(m.hop, job->hop, sizeof(m.hop)) >= sizeof(m.hop))
		return -ENAMETOOLONG;
	m.n = (uint32_t)job->n;
	for (i = 0; i < job->n; i++) {
		memcpy(m.id[i], job->id[i], sizeof(m.id[i]));
		m.first[i] = job->first[i] != 0;
	}
	if (send(fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)sizeof(m))
		return -errno;
	return 0;
}

int
runner_job_recv(int fd, struct runner_jobmsg *m, struct runner_job *job)
{
	ssize_t got;
	size_t i;

	memset(job, 0, sizeof(*job));
	/* MSG_TRUNC: the datagram's real length, so a longer one shows. */
	got = recv(fd, m, sizeof(*m), MSG_TRUNC);
	if (got == 0)
		return 0;
	if (got < 0)
		return -errno;
	if ((size_t)got != sizeof(*m) || m->n == 0 || m->n > RUNNER_BATCH_MAX ||
	    memchr(m->hop, '\0', sizeof(m->hop)) == NULL)
		return -EBADMSG;
	for (i = 0; i < m->n; i++)
		if (memchr(m->id[i], '\0', sizeof(m->id[i])) == NULL ||
		    !queue_id_valid(m->id[i]))
			return -EBADMSG;
	job->hop = m->hop;
	job->id = m->id;
	job->first = m->first;
	job->n = m->n;
	return 1;
}

struct runner_worker *
runner_workers_add(
    struct runner_workers *t, pid_t pid, int fd, const char *hop, int64_t now)
{
	struct runner_worker *nw, *w;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap == 0 ? 8 : t->cap * 2;
		if ((nw = reallocarray(t->w, cap, sizeof(*nw))) == NULL)
			return NULL;
		t->w = nw;
		t->cap = cap;
	}
	w = &t->w[t->n++];
	memset(w, 0, sizeof(*w));
	w->pid = pid;
	w->fd = fd;
	(void)strlcpy(w->hop, hop, sizeof(w->hop));
	w->born = w->idle_since = now;
	return w;
}

struct runner_worker *
runner_workers_pid(struct runner_workers *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->w[i].pid == pid)
			return &t->w[i];
	return NULL;
}

struct runner_worker *
runner_workers_fd(struct runner_workers *t, int fd)
{
	size_t i;

	for (i = 0; fd != -1 && i < t->n; i++)
		if (t->w[i].fd == fd)
			return &t->w[i];
	return NULL;
}

void
runner_workers_remove(struct runner_workers *t, struct runner_worker *w)
{
	size_t i = (size_t)(w - t->w);

	runner_workers_release(w);
	t->w[i] = t->w[--t->n];
}

struct runner_worker *
runner_workers_idle(struct runner_workers *t, const char *hop)
{
	struct runner_worker *best = NULL;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct runner_worker *w = &t->w[i];

		if (w->fd == -1 || w->job != NULL || strcmp(w->hop, hop) != 0)
			continue;
		if (best == NULL || w->idle_since > best->idle_since)
			best = w;
	}
	return best;
}

size_t
runner_workers_live(const struct runner_workers *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		n += t->w[i].fd != -1;
	return n;
}

void
runner_workers_release(struct runner_worker *w)
{
	if (w->fd != -1)
		(void)close(w->fd);
	w->fd = -1;
}

int
runner_workers_release_oldest(struct runner_workers *t)
{
	struct runner_worker *old = NULL;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct runner_worker *w = &t->w[i];

		if (w->fd != -1 && w->job == NULL &&
		    (old == NULL || w->idle_since < old->idle_since))
			old = w;
	}
	if (old == NULL)
		return -1;
	runner_workers_release(old);
	return 0;
}

int
runner_workers_expire(struct runner_workers *t, int64_t now)
{
	int64_t due, next = INT64_MAX;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct runner_worker *w = &t->w[i];

		if (w->fd == -1 || w->job != NULL)
			continue;
		due = w->idle_since + RUNNER_IDLE_MS;
		if (w->born + RUNNER_REUSE_MS < due)
			due = w->born + RUNNER_REUSE_MS;
		if (due <= now)
			runner_workers_release(w);
		else if (due < next)
			next = due;
	}
	return next == INT64_MAX ? -1 : (int)(next - now);
}

int
runner_workers_report(
    struct runner_worker *w, int64_t now, struct runner_job **done)
{
	int status;
	ssize_t got;

	*done = NULL;
	got = recv(w->fd, &status, sizeof(status), MSG_TRUNC | MSG_DONTWAIT);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return 2;
	if (got == 0) {
		runner_workers_release(w);
		return 0;
	}
	if (got != (ssize_t)sizeof(status) || w->job == NULL) {
		runner_workers_release(w);
		return -1;
	}
	*done = w->job;
	w->job = NULL;
	w->idle_since = now;
	return 1;
}

void
runner_workers_close_all(struct runner_workers *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		runner_workers_release(&t->w[i]);
}

void
runner_workers_free(struct runner_workers *t)
{
	runner_workers_close_all(t);
	free(t->w);
	t->w = NULL;
	t->n = t->cap = 0;
}
