/*
 * Delivery worker (relay user, no capabilities, not chrooted: it needs
 * DNS).  The next hop is untrusted; smtpc caps and sanitises what it
 * says.  Ordering is what makes crashes harmless: a DSN is queued before
 * the state that says "failed" is written, and every state is written
 * (fsync + rename) before the next message, so a delivered recipient is
 * never sent again and a failed one is bounced at least once.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <signal.h>
#include <libutil.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authfile.h"
#include "config.h"
#include "deliver.h"
#include "dsn.h"
#include "log.h"
#include "metrics.h"
#include "qupdate.h"
#include "route.h"
#include "runner_corrupt.h"
#include "runner_worker.h"
#include "smtp_addr.h"
#include "smtpc.h"

static volatile sig_atomic_t stopping; /* SIGTERM seen */

/* 50 ms apart: a lock held longer is another worker's transaction. */
#define DELIVER_LOCK_TRIES 40

struct worker {
	const struct deliver_env *env;
	const struct runner_job *job;
	struct smtpc_timeouts tmo;
	struct route rt;
	int routed;
	struct smtpc *c;
	char hop[ROUTE_HOPKEY_MAX + 1]; /* the next hop c is connected to */
	int down; /* no hop answered: later messages get down_st */
	struct smtpc_status down_st;
	char peer[ROUTE_HOST_MAX + 80]; /* last hop connected to, for logs */
	struct runner_corrupt corrupt; /* files set aside, logged once */
};

static int
rcpt_domain(const char *path, char *dom, size_t len)
{
	struct smtp_path p;
	size_t used = 0, n = strlen(path);

	if (smtp_addr_parse(path, n, SMTP_ADDR_FORWARD, 1, &p, &used) !=
		SMTP_ADDR_OK ||
	    used != n)
		return -EINVAL;
	if (strlcpy(dom, p.domain, len) >= len)
		return -EINVAL;
	return 0;
}

/* Indexed by enum config_tlsc. */
static const char *const tls_keys[] = { " tls=none", " tls=may", " tls=encrypt",
	" tls=verify", " tls=wrapper" };

int
deliver_hopkey(const struct config *cfg, const struct route_table *t,
    const char *path, char *key, size_t len)
{
	char dom[SMTP_DOMAIN_MAX + 1];
	int r;

	if ((r = rcpt_domain(path, dom, sizeof(dom))) != 0)
		return r;
	if (dom[0] == '\0') {
		key[0] = '\0';
		return len > 0 ? 0 : -EINVAL;
	}
	if ((r = route_table_lookup(t, dom, key, len)) < 0)
		return r;
	if (r == 0 &&
	    strlcpy(key, cfg->smarthost[0] != '\0' ? cfg->smarthost : dom,
		len) >= len)
		return -EINVAL;
	/* Another TLS policy is another connection: never one batch. */
	if ((r = route_table_tls(t, dom)) >= 0 &&
	    strlcat(key, tls_keys[r], len) >= len)
		return -EINVAL;
	return 0;
}

void
deliver_keys_free(char **keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int
deliver_pending_keys(const struct config *cfg, const struct route_table *t,
    const struct queue_file *qf, char ***keys, size_t *n)
{
	char key[ROUTE_HOPKEY_MAX + 1], **k;
	size_t i, j, nk = 0;

	*keys = NULL;
	*n = 0;
	if ((k = calloc(qf->nrcpt, sizeof(*k))) == NULL)
		return -ENOMEM;
	for (i = 0; i < qf->nrcpt; i++) {
		if (qf->rcpt[i].state != QUEUE_RCPT_PENDING)
			continue;
		if (deliver_hopkey(cfg, t, qf->rcpt[i].path, key, sizeof(key)))
			key[0] = '\0'; /* the worker fails it with a reason */
		for (j = 0; j < nk; j++)
			if (strcmp(k[j], key) == 0)
				break;
		if (j < nk)
			continue;
		if ((k[nk] = strdup(key)) == NULL) {
			deliver_keys_free(k, nk);
			return -ENOMEM;
		}
		nk++;
	}
	*keys = k;
	*n = nk;
	return 0;
}

static void
status_set(struct smtpc_status *st, int temporary, const char *status,
    const char *text)
{
	memset(st, 0, sizeof(*st));
	st->temporary = temporary;
	(void)strlcpy(st->status, status, sizeof(st->status));
	(void)strlcpy(st->text, text, sizeof(st->text));
}

static void
worker_route(struct worker *w, const struct queue_file *qf, size_t first)
{
	char dom[SMTP_DOMAIN_MAX + 1];

	w->routed = 1;
	memset(&w->rt, 0, sizeof(w->rt));
	if (rcpt_domain(qf->rcpt[first].path, dom, sizeof(dom)) != 0 ||
	    dom[0] == '\0') {
		w->rt.error = 5;
		(void)strlcpy(w->rt.status, "5.1.3", sizeof(w->rt.status));
		(void)strlcpy(w->rt.text,
		    "recipient address without a domain (no local delivery)",
		    sizeof(w->rt.text));
		return;
	}
	(void)route_resolve(w->env->cfg, w->env->table, dom, &w->rt);
}

/* The TLS policy and credentials for this route (relayd.conf(5)). */
static void
worker_tls(const struct worker *w, struct smtpc_tls *tls)
{
	const struct config *cfg = w->env->cfg;
	int smarthost = w->rt.source == ROUTE_SMARTHOST;

	memset(tls, 0, sizeof(*tls));
	tls->ctx = w->env->tls;
	tls->level = (int)(smarthost ? cfg->smarthost_tls : cfg->smtp_tls);
	if (w->rt.tls >= 0)
		tls->level = w->rt.tls; /* the transport map's tls= */
	if (smarthost && w->env->auth != NULL) {
		tls->user = w->env->auth->user;
		tls->pass = w->env->auth->pass;
	}
}

/* "Verified TLS connection established to ..." (Postfix's words). */
static void
log_tls(const struct worker *w, const struct smtpc_tls *tls)
{
	const char *info;
	int verified;

	info = smtpc_tls_info(w->c, &verified);
	if (info[0] != '\0')
		log_info("%s: %s TLS connection established to %s: %s",
		    w->job->id[0], verified ? "Verified" : "Untrusted", w->peer,
		    info);
	else
		log_info("%s: cleartext connection to %s (%s)", w->job->id[0],
		    w->peer,
		    tls->level == CONFIG_TLSC_NONE ? "TLS off for this route"
						   : "STARTTLS not offered");
}

/* One hop; under "may" a failed handshake is tried again in clear. */
static int
worker_hop(
    struct worker *w, size_t i, struct smtpc_tls *tls, struct smtpc_status *st)
{
	if (smtpc_connect(&w->rt.hop[i], w->env->cfg->hostname, &w->tmo, tls,
		&w->c, st) == 0)
		return 0;
	if (!st->tls_failed || tls->level != CONFIG_TLSC_MAY ||
	    tls->user != NULL)
		return -1;
	log_info("%s: %s; trying again without TLS (TLS policy may)",
	    w->job->id[0], st->text);
	tls->level = CONFIG_TLSC_NONE;
	return smtpc_connect(
	    &w->rt.hop[i], w->env->cfg->hostname, &w->tmo, tls, &w->c, st);
}

static void
worker_connect(struct worker *w, struct smtpc_status *st)
{
	struct smtpc_tls tls;
	size_t i;

	for (i = 0; i < w->rt.nhop; i++) {
		worker_tls(w, &tls);
		if (worker_hop(w, i, &tls, st) == 0) {
			(void)strlcpy(
			    w->peer, smtpc_peer(w->c), sizeof(w->peer));
			log_tls(w, &tls);
			return;
		}
		/* A hop that answered and then failed is still the relay. */
		if (st->connected)
			route_hop_format(
			    &w->rt.hop[i], w->peer, sizeof(w->peer));
		else
			w->peer[0] = '\0';
	}
	w->c = NULL;
	if (w->rt.nhop == 0)
		status_set(st, 1, "4.4.3", "no address to connect to");
	w->down = 1;
	w->down_st = *st;
}

/* Every selected recipient's result in rst[0..n). */
static void
worker_send(struct worker *w, const struct queue_file *qf, const size_t *idx,
    size_t n, struct smtpc_status *rst)
{
	struct smtpc_status one, mst = { 0 };
	size_t i;

	if (!w->routed)
		worker_route(w, qf, idx[0]);
	if (w->rt.error != 0)
		status_set(&one, w->rt.error == 4, w->rt.status, w->rt.text);
	else if (!w->down && w->c == NULL)
		worker_connect(w, &one);
	if (w->rt.error == 0 && w->down)
		one = w->down_st;
	if (w->rt.error != 0 || w->c == NULL) {
		for (i = 0; i < n; i++)
			rst[i] = one;
		return;
	}
	if (smtpc_send(w->c, qf, idx, n, rst, &mst) == -1) {
		smtpc_quit(w->c);
		w->c = NULL;
	}
}

static double
delay_since(int64_t arrival)
{
	struct timeval tv;

	(void)gettimeofday(&tv, NULL);
	return (double)(tv.tv_sec - arrival) + tv.tv_usec / 1e6;
}

static void
log_result(const struct worker *w, const struct queue_file *qf,
    const struct queue_rcpt *r, const struct smtpc_status *st, const char *what)
{
	int expired = strcmp(what, "expired") == 0;

	log_info("%s: to=%s, relay=%s, delay=%.1f, dsn=%s, status=%s (%s%s)",
	    qf->id, r->path, w->peer[0] != '\0' ? w->peer : "none",
	    delay_since(qf->arrival), st->status, expired ? "bounced" : what,
	    expired ? "queue lifetime exceeded; last error: " : "", st->text);
}

/* An enhanced status of class 2/4/5 for the queue file. */
static const char *
status_of(const struct smtpc_status *st)
{
	struct queue_rcpt probe;

	if (queue_error_set(&probe, st->status, "x") == 0)
		return st->status;
	return st->temporary ? "4.0.0" : "5.0.0";
}

static int
send_dsn(const struct worker *w, const struct queue_file *qf,
    const size_t *failed, size_t nfailed, int64_t now)
{
	struct queue_file *d = NULL;
	int rv;

	if (nfailed == 0)
		return 0;
	if (strcmp(qf->sender, "<>") == 0) {
		log_info("%s: bounce of a bounce dropped", qf->id);
		return 0;
	}
	if ((rv = dsn_build(
		 qf, failed, nfailed, w->env->cfg->hostname, now, &d)) != 0) {
		log_warnx(
		    "%s: cannot build the DSN: %s", qf->id, strerror(-rv));
		return rv;
	}
	if (d == NULL)
		return 0; /* NOTIFY said no */
	if ((rv = queue_enqueue(w->env->spoolfd, d)) != 0)
		log_warnx(
		    "%s: cannot queue the DSN: %s", qf->id, strerror(-rv));
	else
		log_info(
		    "%s: sender non-delivery notification: %s", qf->id, d->id);
	queue_free(d);
	return rv;
}

struct outcome {
	size_t *failed, nfailed; /* indexes newly failed (DSN) */
	int deferred;
};

/* New states into qf from rst[]; logs one line per recipient. */
static void
apply(const struct worker *w, struct queue_file *qf, const size_t *idx,
    size_t n, const struct smtpc_status *rst, struct outcome *o)
{
	struct queue_rcpt *r;
	size_t i;

	for (i = 0; i < n; i++) {
		r = &qf->rcpt[idx[i]];
		if (!rst[i].temporary && rst[i].code >= 200 &&
		    rst[i].code < 300) {
			r->state = QUEUE_RCPT_SENT;
			r->error[0] = '\0';
			metrics_inc(METRICS_DELIVERED);
			log_result(w, qf, r, &rst[i], "sent");
			continue;
		}
		(void)queue_error_set(r, status_of(&rst[i]), rst[i].text);
		if (rst[i].temporary) {
			o->deferred = 1;
			continue; /* logged once the expiry is known */
		}
		r->state = QUEUE_RCPT_FAILED;
		o->failed[o->nfailed++] = idx[i];
		metrics_inc(METRICS_BOUNCED);
		log_result(w, qf, r, &rst[i], "bounced");
	}
}

/* Deferred recipients: log, retry later, or fail them when too old. */
static void
defer(const struct worker *w, struct queue_file *qf, const size_t *idx,
    size_t n, const struct smtpc_status *rst, struct outcome *o, int first,
    int64_t now)
{
	const struct config *cfg = w->env->cfg;
	int expired = runner_expired(qf->arrival, cfg->queue_lifetime, now);
	size_t i;

	for (i = 0; i < n; i++) {
		struct queue_rcpt *r = &qf->rcpt[idx[i]];

		if (r->state != QUEUE_RCPT_PENDING || !rst[i].temporary)
			continue;
		log_result(w, qf, r, &rst[i], expired ? "expired" : "deferred");
		metrics_inc(expired ? METRICS_BOUNCED : METRICS_DEFERRED);
		if (expired) {
			r->state = QUEUE_RCPT_FAILED;
			o->failed[o->nfailed++] = idx[i];
		}
	}
	if (!expired && (first || qf->next_try <= now)) {
		if (qf->attempts < QUEUE_ATTEMPTS_MAX)
			qf->attempts++;
		qf->next_try = now +
		    runner_backoff(
			cfg->retry_min, cfg->retry_max, qf->attempts);
	}
}

static int
any_pending(const struct queue_file *qf)
{
	size_t i;

	for (i = 0; i < qf->nrcpt; i++)
		if (qf->rcpt[i].state == QUEUE_RCPT_PENDING)
			return 1;
	return 0;
}

/* The selected recipients: pending and routed to this job's hop. */
static size_t
select_rcpts(const struct worker *w, const struct queue_file *qf, size_t *idx)
{
	char key[ROUTE_HOPKEY_MAX + 1];
	size_t i, n = 0;

	for (i = 0; i < qf->nrcpt; i++) {
		if (qf->rcpt[i].state != QUEUE_RCPT_PENDING)
			continue;
		if (deliver_hopkey(w->env->cfg, w->env->table, qf->rcpt[i].path,
			key, sizeof(key)) != 0)
			key[0] = '\0';
		if (strcmp(key, w->job->hop) == 0)
			idx[n++] = i;
	}
	return n;
}

/* Record the results: DSN first, then the file (rewritten or removed). */
static int
record(const struct worker *w, struct queue_file *qf, int *lockfd,
    struct outcome *o, int64_t now)
{
	size_t i;
	int rv;

	if (send_dsn(w, qf, o->failed, o->nfailed, now) != 0) {
		/* No DSN, no "failed": they stay pending and bounce later. */
		for (i = 0; i < o->nfailed; i++)
			qf->rcpt[o->failed[i]].state = QUEUE_RCPT_PENDING;
		if (qf->next_try <= now)
			qf->next_try = now + w->env->cfg->retry_min;
	}
	if (!any_pending(qf))
		rv = qupdate_remove(w->env->spoolfd, "queue", qf->id, lockfd);
	else
		rv = qupdate_write(w->env->spoolfd, qf, lockfd);
	if (rv != 0)
		log_warnx("%s: cannot update the queue file: %s", qf->id,
		    strerror(-rv));
	return rv;
}

/*
 * The message's lock. A session that has just queued it holds the lock
 * until queue/ is synced, a few milliseconds: wait a little for that
 * rather than skip the message (the runner would count the skip as an
 * attempt and only come back after retry_min).
 */
static int
deliver_lock(
    struct worker *w, const char *id, int *lockfd, struct queue_file **qf)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int i, rv;

	for (i = 0; i < DELIVER_LOCK_TRIES; i++) {
		rv = qupdate_lock(w->env->spoolfd, "queue", id, lockfd, qf);
		if (rv != -EWOULDBLOCK || stopping)
			break;
		(void)nanosleep(&pause, NULL);
	}
	return rv;
}

static int
deliver_one(struct worker *w, const char *id, int first)
{
	struct queue_file *qf = NULL;
	struct smtpc_status *rst = NULL;
	struct outcome o = { NULL, 0, 0 };
	size_t *idx = NULL, n;
	int lockfd = -1, rv;
	int64_t now;

	if ((rv = deliver_lock(w, id, &lockfd, &qf))) {
		/*
		 * The runner read only the envelope; a message that is not
		 * what a writer makes would otherwise be tried again and
		 * again, never expiring.
		 */
		if (rv == -EINVAL || rv == -EFBIG) {
			runner_corrupt_set_aside(&w->corrupt, w->env->spoolfd,
			    w->env->qfd, w->env->spooldir, id, rv);
			return 0;
		}
		if (rv != -ENOENT && rv != -EWOULDBLOCK)
			log_warnx("%s: cannot read the queue file: %s", id,
			    strerror(-rv));
		return rv == -ENOENT || rv == -EWOULDBLOCK ? 0 : rv;
	}
	rv = -ENOMEM;
	if ((idx = calloc(qf->nrcpt, sizeof(*idx))) == NULL ||
	    (o.failed = calloc(qf->nrcpt, sizeof(*o.failed))) == NULL ||
	    (rst = calloc(qf->nrcpt, sizeof(*rst))) == NULL)
		goto out;
	rv = 0;
	if ((n = select_rcpts(w, qf, idx)) == 0)
		goto out;
	setproctitle("deliver %s to %s", id, w->job->hop);
	worker_send(w, qf, idx, n, rst);
	now = (int64_t)time(NULL);
	apply(w, qf, idx, n, rst, &o);
	if (o.deferred)
		defer(w, qf, idx, n, rst, &o, first, now);
	rv = record(w, qf, &lockfd, &o, now);
out:
	qupdate_unlock(&lockfd);
	queue_free(qf);
	free(idx);
	free(o.failed);
	free(rst);
	return rv;
}

/* The RFC 5321 4.5.3.2 timeouts of relayd.conf apply to both sides. */
static void
worker_timeouts(const struct config *cfg, struct smtpc_timeouts *t)
{
	smtpc_timeouts_default(t);
	if (cfg->timeout_greeting > 0)
		t->greeting = cfg->timeout_greeting;
	if (cfg->timeout_command > 0)
		t->helo = t->mail = t->rcpt = cfg->timeout_command;
	if (cfg->timeout_data_init > 0)
		t->data_init = cfg->timeout_data_init;
	if (cfg->timeout_data_block > 0)
		t->data_block = cfg->timeout_data_block;
	if (cfg->timeout_data_term > 0)
		t->data_term = cfg->timeout_data_term;
}

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

int
deliver_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	/* Restarted I/O: the transaction in hand runs to its reply. */
	sa.sa_flags = SA_RESTART;
	(void)sigemptyset(&sa.sa_mask);
	return sigaction(SIGTERM, &sa, NULL);
}

/*
 * One job.  A connection kept from the last job is used only for the
 * same next hop and after an RSET it answers; otherwise the job routes
 * and connects afresh, as a new worker would.
 */
static int
deliver_job(struct worker *w, const struct runner_job *job)
{
	size_t i;
	int bad = 0;

	w->job = job;
	if (w->c != NULL &&
	    (strcmp(w->hop, job->hop) != 0 || smtpc_reuse(w->c) != 0)) {
		smtpc_quit(w->c);
		w->c = NULL;
	}
	if (w->c == NULL) {
		w->routed = 0;
		w->down = 0;
	}
	(void)strlcpy(w->hop, job->hop, sizeof(w->hop));
	for (i = 0; i < job->n && !stopping; i++)
		if (deliver_one(w, job->id[i], job->first[i]) != 0)
			bad = 1;
	return bad;
}

/*
 * The next job from the runner: 1, or 0 at EOF (the runner let us go) or
 * once SIGTERM came, or -errno.  SIGTERM is blocked but for the wait
 * itself, so one that comes just before it is not missed.
 */
static int
next_job(int fd, struct runner_jobmsg *m, struct runner_job *job)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	sigset_t term, old;
	int rv = 0;

	(void)sigemptyset(&term);
	(void)sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, &old) == -1)
		return -errno;
	while (!stopping && (rv = ppoll(&pfd, 1, NULL, &old)) == -1 &&
	    errno == EINTR)
		;
	if (rv == -1)
		rv = -errno;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (stopping)
		return 0;
	return rv < 0 ? rv : runner_job_recv(fd, m, job);
}

int
deliver_serve(const struct deliver_env *env, int fd)
{
	struct runner_jobmsg m;
	struct runner_job job;
	struct worker w;
	int rv, status;

	memset(&w, 0, sizeof(w));
	w.env = env;
	worker_timeouts(env->cfg, &w.tmo);
	while ((rv = next_job(fd, &m, &job)) == 1) {
		status = deliver_job(&w, &job);
		/* Every result is on disk: the runner may read them now. */
		if (send(fd, &status, sizeof(status), MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(status)) {
			rv = errno == EPIPE ? 0 : -errno; /* EPIPE: let go */
			break;
		}
		w.job = NULL;
		setproctitle("idle delivery to %s", w.hop);
	}
	if (rv < 0)
		log_warnx("delivery worker: no next job: %s", strerror(-rv));
	smtpc_quit(w.c);
	return rv < 0;
}
