/*
 * relayd queue runner.  Trust boundary: forked from the root master, it
 * drops to the relay user (privdrop_apply, no chroot) before it reads a
 * queue file or the transport map; queue files are read strictly
 * (queue_read_envelope: scheduling needs the envelope only) because any
 * smtp child could have written them, and one that is not the relay's
 * own or not well-formed is set aside in SPOOL/corrupt/, never delivered
 * and never retried.
 */
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "log.h"
#include "monotime.h"
#include "privdrop.h"
#include "runner.h"
#include "runner_corrupt.h"
#include "runner_sched.h"
#include "runner_worker.h"
#include "smtpc.h"
#include "walk.h"

#define NOTIFY_FALLBACK 10 /* seconds between scans without inotify */
#define WORKER_GRACE 8 /* s a stopped worker has to finish; master waits 10 */

struct runner {
	struct master *m;
	struct runner_sched *s;
	struct route_table *table;
	struct deliver_env env;
	int qfd; /* SPOOL/queue */
	int ifd; /* inotify, -1 if unavailable */
	int sfd; /* signalfd */
	int64_t next_scan;
	int stop; /* 1: TERM, 2: HUP; either way the workers stop first */
	struct runner_corrupt corrupt; /* files that could not be set aside */
	struct runner_workers wk; /* delivery worker processes */
	struct pollfd *pfd; /* signalfd, inotify, the workers' sockets */
	size_t pfd_cap;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* The master's signals, blocked and read from a signalfd. */
static int
runner_signals(struct runner *r)
{
	sigset_t set;

	if (master_signals_default(&set) == -1 ||
	    sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		return -1;
	r->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return r->sfd == -1 ? -1 : 0;
}

static void
runner_load(struct runner *r, const char *id, int64_t now)
{
	struct queue_file *qf = NULL;
	char **keys = NULL;
	size_t n = 0;
	int rv;

	if ((rv = queue_read_envelope(r->qfd, id, &qf)) != 0) {
		if (rv == -EPERM || rv == -EACCES || rv == -ELOOP ||
		    rv == -EINVAL || rv == -EFBIG) {
			runner_sched_remove(r->s, id);
			runner_corrupt_set_aside(&r->corrupt, r->m->spoolfd,
			    r->qfd, r->m->spooldir, id, rv);
			return;
		}
		if (rv != -ENOENT)
			log_warnx("%s: unreadable queue file: %s; not "
				  "scheduled",
			    id, strerror(-rv));
		runner_sched_remove(r->s, id);
		return;
	}
	rv = deliver_pending_keys(&r->m->cfg, r->table, qf, &keys, &n);
	if (rv == 0)
		rv = runner_sched_set(r->s, id, qf->next_try,
		    (const char *const *)keys, n, now, r->m->cfg.retry_min);
	if (rv != 0)
		log_warnx("%s: cannot schedule: %s", id, strerror(-rv));
	deliver_keys_free(keys, n);
	queue_free(qf);
}

static void
runner_scan(struct runner *r)
{
	struct dirent *de;
	int64_t now = now_s();
	DIR *d;
	int fd;

	r->next_scan = now + (r->ifd == -1 ? NOTIFY_FALLBACK : RUNNER_RESCAN);
	fd = openat(r->qfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("cannot scan '%s/queue'", r->m->spooldir);
		if (fd != -1)
			(void)close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (queue_id_valid(de->d_name))
			runner_load(r, de->d_name, now);
	(void)closedir(d);
}

static void
runner_watch(struct runner *r)
{
	char path[64];

	/* The checked queue/ fd, not its name: inotify takes only a path. */
	r->ifd = -1;
	if (walk_fd_path(r->qfd, path, sizeof(path)) < 0)
		return;
	r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->ifd != -1 &&
	    inotify_add_watch(r->ifd, path,
		IN_MOVED_TO | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_DELETE |
		    IN_ONLYDIR) == -1) {
		(void)close(r->ifd);
		r->ifd = -1;
	}
	if (r->ifd == -1)
		log_warn("inotify on '%s/queue'; scanning every %d s instead",
		    r->m->spooldir, NOTIFY_FALLBACK);
}

static void
runner_events(struct runner *r)
{
	char buf[16384]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while ((n = read(r->ifd, buf, sizeof(buf))) > 0) {
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				r->next_scan = 0;
			else if (ev->len > 0 && queue_id_valid(ev->name))
				runner_load(r, ev->name, now_s());
		}
	}
}

/*
 * In the worker: the runner's signal handling and fds are not its own,
 * nor any other worker's socket (a copy would keep that worker from
 * seeing EOF). A worker ends with its runner (SIGTERM: it finishes the
 * message in hand), so none outlives it as an orphan beyond the limits
 * and relayctl stop.
 */
static void __attribute__((noreturn))
worker_main(struct runner *r, const struct runner_job *j, int fd, pid_t runner)
{
	sigset_t none;

	(void)close(r->sfd);
	if (r->ifd != -1)
		(void)close(r->ifd);
	runner_workers_close_all(&r->wk);
	if (deliver_signals() == -1 || prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
	    getppid() != runner)
		_exit(1);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	setproctitle("deliver %s to %s", j->id[0], j->hop);
	_exit(deliver_serve(&r->env, fd));
}

static void
runner_finish(struct runner *r, struct runner_job *j)
{
	int64_t now = now_s();
	size_t i;

	runner_sched_done(r->s, j);
	for (i = 0; i < j->n; i++)
		runner_load(r, j->id[i], now);
	runner_sched_job_free(r->s, j);
}

/* A new worker for job j; -1 if none could be started. */
static int
runner_fork(struct runner *r, struct runner_job *j)
{
	struct runner_worker *w;
	pid_t pid, self = getpid();
	int sv[2];

	/* The worker limit counts processes: an idle one makes room. */
	if (runner_workers_live(&r->wk) >= RUNNER_WORKERS_MAX)
		(void)runner_workers_release_oldest(&r->wk);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		(void)close(sv[0]);
		(void)close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		(void)close(sv[0]);
		worker_main(r, j, sv[1], self);
	}
	(void)close(sv[1]);
	if ((w = runner_workers_add(
		 &r->wk, pid, sv[0], j->hop, monotime_ms())) == NULL) {
		(void)kill(pid, SIGKILL); /* reaped as nobody's */
		(void)close(sv[0]);
		return -1;
	}
	w->job = j; /* from here on, its reaping finishes the job */
	j->pid = pid;
	if (runner_job_send(w->fd, j) != 0) {
		(void)kill(pid, SIGKILL);
		runner_workers_release(w);
	}
	return 0;
}

/* An idle worker already connected to j's hop, if one takes j. */
static int
runner_reuse(struct runner *r, struct runner_job *j)
{
	struct runner_worker *w;

	if ((w = runner_workers_idle(&r->wk, j->hop)) == NULL)
		return -1;
	if (runner_job_send(w->fd, j) != 0) {
		(void)kill(w->pid, SIGKILL);
		runner_workers_release(w);
		return -1;
	}
	w->job = j;
	j->pid = w->pid;
	return 0;
}

static void
runner_start_jobs(struct runner *r)
{
	struct runner_job *jobs[RUNNER_WORKERS_MAX];
	size_t i, n;

	n = runner_sched_next(r->s, now_s(), jobs, RUNNER_WORKERS_MAX);
	for (i = 0; i < n; i++)
		if (runner_reuse(r, jobs[i]) != 0 &&
		    runner_fork(r, jobs[i]) != 0)
			runner_finish(r, jobs[i]);
}

static void
runner_reap(struct runner *r)
{
	struct runner_worker *w;
	struct runner_job *j;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((w = runner_workers_pid(&r->wk, pid)) == NULL)
			continue;
		j = w->job;
		runner_workers_remove(&r->wk, w);
		if (j == NULL)
			continue;
		if (WIFSIGNALED(status))
			log_warnx(
			    "delivery worker %ld (%s) killed by signal %d",
			    (long)pid, j->hop, WTERMSIG(status));
		runner_finish(r, j);
	}
}

/* Reports from the workers poll found readable. */
static void
runner_reports(struct runner *r, size_t from, size_t n)
{
	struct runner_worker *w;
	struct runner_job *done;
	size_t i;

	for (i = from; i < n; i++) {
		/* By fd: a worker let go meanwhile has none. */
		if (r->pfd[i].revents == 0 ||
		    (w = runner_workers_fd(&r->wk, r->pfd[i].fd)) == NULL)
			continue;
		switch (runner_workers_report(w, monotime_ms(), &done)) {
		case 1:
			runner_finish(r, done);
			break;
		case -1:
			log_warnx("delivery worker %ld (%s): bad report; "
				  "killed",
			    (long)w->pid, w->hop);
			(void)kill(w->pid, SIGKILL);
			break;
		default:
			break;
		}
	}
}

static void
runner_signal(struct runner *r)
{
	struct signalfd_siginfo si;

	while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			runner_reap(r);
			break;
		case SIGUSR1:
			log_info("flush: retrying %zu messages now",
			    runner_sched_count(r->s));
			runner_sched_flush(r->s);
			break;
		case SIGHUP:
			r->stop = 2;
			break;
		default:
			r->stop = 1;
			break;
		}
	}
}

/*
 * Milliseconds until the next due message, scan or idle worker's end;
 * idle workers whose time is up are let go on the way.
 */
static int
runner_timeout(struct runner *r)
{
	int64_t now = now_s(), t = runner_sched_wakeup(r->s);
	int ms, idle = runner_workers_expire(&r->wk, monotime_ms());

	/* Due but held back by the worker limits: a job's report wakes us. */
	if (t <= now)
		t = INT64_MAX;
	if (r->next_scan < t)
		t = r->next_scan;
	if (t <= now)
		return 0;
	ms = t - now > RUNNER_RESCAN ? RUNNER_RESCAN * 1000
				     : (int)(t - now) * 1000;
	return idle >= 0 && idle < ms ? idle : ms;
}

/* pfd[] for poll: signals, inotify, then every worker not told to go. */
static size_t
runner_pollfds(struct runner *r, size_t *first_worker)
{
	size_t i, n = 0, need = 2 + r->wk.n;
	struct pollfd *np;

	if (need > r->pfd_cap) {
		if ((np = reallocarray(r->pfd, need, sizeof(*np))) == NULL)
			return 0;
		r->pfd = np;
		r->pfd_cap = need;
	}
	r->pfd[n++].fd = r->sfd;
	if (r->ifd != -1)
		r->pfd[n++].fd = r->ifd;
	*first_worker = n;
	for (i = 0; i < r->wk.n; i++)
		if (r->wk.w[i].fd != -1)
			r->pfd[n++].fd = r->wk.w[i].fd;
	for (i = 0; i < n; i++) {
		r->pfd[i].events = POLLIN;
		r->pfd[i].revents = 0;
	}
	return n;
}

static int
runner_loop(struct runner *r)
{
	size_t n, first;

	runner_scan(r);
	while (!r->stop) {
		if (now_s() >= r->next_scan)
			runner_scan(r);
		runner_start_jobs(r);
		if ((n = runner_pollfds(r, &first)) == 0) {
			log_warnx("poll: %s", strerror(ENOMEM));
			return 1;
		}
		if (poll(r->pfd, n, runner_timeout(r)) == -1 &&
		    errno != EINTR) {
			log_warn("poll");
			return 1;
		}
		runner_signal(r);
		if (r->ifd != -1)
			runner_events(r);
		runner_reports(r, first, n);
	}
	return 0;
}

static void
runner_signal_workers(struct runner *r, int sig)
{
	size_t i;

	for (i = 0; i < r->wk.n; i++)
		(void)kill(r->wk.w[i].pid, sig);
}

/*
 * TERM or HUP: idle workers are let go, busy ones finish the message in
 * hand and exit; what is still running after WORKER_GRACE is killed (its
 * connection then ends with a reset, so a half-sent message is not
 * delivered). The runner exits only once every worker is reaped: none
 * outlives it, so a new runner's limits and "relayctl stop" see them all.
 */
static void
runner_stop_workers(struct runner *r)
{
	struct pollfd pfd = { .fd = r->sfd, .events = POLLIN };
	int64_t left, deadline = monotime_ms() + WORKER_GRACE * 1000;
	struct runner_worker *w;
	pid_t pid;
	int status;

	runner_workers_close_all(&r->wk);
	runner_signal_workers(r, SIGTERM);
	while (r->wk.n > 0 && (left = deadline - monotime_ms()) > 0) {
		(void)poll(&pfd, 1, (int)left);
		runner_signal(r);
	}
	if (r->wk.n == 0)
		return;
	log_warnx("killing %zu delivery workers", r->wk.n);
	runner_signal_workers(r, SIGKILL);
	while (r->wk.n > 0 &&
	    ((pid = waitpid(-1, &status, 0)) > 0 || errno == EINTR)) {
		if (pid <= 0 || (w = runner_workers_pid(&r->wk, pid)) == NULL)
			continue;
		if (w->job != NULL)
			runner_finish(r, w->job);
		runner_workers_remove(&r->wk, w);
	}
}

static void __attribute__((noreturn)) runner_main(struct master *m)
{
	struct privdrop pd = { .uid = m->uid, .gid = m->gid };
	struct runner r = { .m = m, .qfd = -1, .ifd = -1, .sfd = -1 };
	struct runner_limits lim = { RUNNER_WORKERS_MAX, m->cfg.max_per_hop,
		RUNNER_BATCH_MAX };
	char why[512];
	pid_t master = getppid();
	int rv, code;

	master_detach(m);
	if (runner_signals(&r) == -1) {
		log_warn("queue runner: signals");
		_exit(1);
	}
	if (privdrop_apply(&pd, why, sizeof(why)) < 0) {
		log_warnx("queue runner: privilege drop failed: %s", why);
		_exit(1);
	}
	/*
	 * Die with the master (kill -9 included): a restarted relayd would
	 * start a second runner on the same queue.  Set after the drop,
	 * which clears the parent-death signal; then close the race with a
	 * master that died before it was set.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != master)
		_exit(0);
	setproctitle("%-*s", MASTER_TITLE_PAD, "queue runner");
	rv = route_table_load(
	    m->rootfd, m->cfg.transport_file, &r.table, why, sizeof(why));
	/* CA certificates are public: read after the drop, for the workers. */
	if (rv >= 0 &&
	    smtpc_tls_ctx(m->rootfd, m->cfg.smtp_tls_ca_file, &r.env.tls, why,
		sizeof(why)) < 0)
		log_warnx("queue runner: %s; TLS to the next hop is off, "
			  "mail that needs it waits",
		    why);
	(void)close(m->rootfd);
	m->rootfd = -1;
	if (rv < 0) {
		/* Mail meant for the map must not go out by MX instead. */
		log_warnx("queue runner: %s; not delivering", why);
		(void)sleep(60);
		_exit(1);
	}
	r.qfd = openat(m->spoolfd, "queue",
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r.qfd == -1 || (r.s = runner_sched_new(&lim)) == NULL) {
		log_warn("queue runner: '%s/queue'", m->spooldir);
		_exit(1);
	}
	r.env.cfg = &m->cfg;
	r.env.table = r.table;
	r.env.spoolfd = m->spoolfd;
	r.env.qfd = r.qfd;
	r.env.spooldir = m->spooldir;
	r.env.auth = m->sauth;
	runner_watch(&r);
	log_info("queue runner started (pid %ld, %zu transport entries)",
	    (long)getpid(), route_table_count(r.table));
	code = runner_loop(&r);
	runner_stop_workers(&r);
	log_info("queue runner stopped");
	_exit(code);
}

pid_t
runner_spawn(struct master *m)
{
	pid_t pid;

	if ((pid = fork()) == -1) {
		log_warn("cannot fork the queue runner");
		return -1;
	}
	if (pid == 0)
		runner_main(m);
	return pid;
}
