/*
 * Queue runner schedule: messages sorted by id (bsearch), each with its
 * due time and the next hops of its pending recipients; a "round" is one
 * attempt through every hop of a message.  No I/O: the runner feeds it
 * what it read from the spool and the clock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "runner_sched.h"

struct entry {
	char id[QUEUE_ID_MAX + 1];
	int64_t next_try; /* from the file */
	int64_t due; /* when to start the next job */
	char **hop;
	size_t nhop;
	uint64_t tried; /* bit i: hop[i] tried this round */
	int busy;
};

struct runner_sched {
	struct runner_limits lim;
	struct entry **e; /* sorted by id */
	size_t n, cap;
	struct runner_job **job; /* running */
	size_t njob, capjob;
};

unsigned
runner_backoff(unsigned retry_min, unsigned retry_max, unsigned attempts)
{
	unsigned d = retry_min > 0 ? retry_min : 1;

	if (retry_max < d)
		retry_max = d;
	while (attempts-- > 1 && d < retry_max)
		d = d > retry_max / 2 ? retry_max : d * 2;
	return d;
}

int
runner_expired(int64_t arrival, unsigned lifetime, int64_t now)
{
	return now >= arrival && (uint64_t)(now - arrival) >= lifetime;
}

struct runner_sched *
runner_sched_new(const struct runner_limits *lim)
{
	struct runner_sched *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->lim = *lim;
	if (s->lim.workers == 0)
		s->lim.workers = 1;
	if (s->lim.per_dest == 0)
		s->lim.per_dest = 1;
	if (s->lim.batch == 0)
		s->lim.batch = 1;
	return s;
}

static void
hops_free(char **hop, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(hop[i]);
	free(hop);
}

void
runner_sched_job_free(struct runner_sched *s, struct runner_job *job)
{
	size_t i;

	for (i = 0; i < s->njob; i++)
		if (s->job[i] == job) {
			s->job[i] = s->job[--s->njob];
			break;
		}
	free(job->hop);
	free(job->id);
	free(job->first);
	free(job);
}

void
runner_sched_free(struct runner_sched *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		hops_free(s->e[i]->hop, s->e[i]->nhop);
		free(s->e[i]);
	}
	while (s->njob > 0)
		runner_sched_job_free(s, s->job[0]);
	free(s->e);
	free(s->job);
	free(s);
}

/* Index of id, or where it would go (*found 0). */
static size_t
find(const struct runner_sched *s, const char *id, int *found)
{
	size_t lo = 0, hi = s->n, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((c = strcmp(s->e[mid]->id, id)) == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
runner_sched_remove(struct runner_sched *s, const char *id)
{
	size_t i;
	int found;

	i = find(s, id, &found);
	if (!found)
		return;
	hops_free(s->e[i]->hop, s->e[i]->nhop);
	free(s->e[i]);
	memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof(s->e[0]));
	s->n--;
}

static struct entry *
entry_add(struct runner_sched *s, const char *id, size_t at)
{
	struct entry **ne, *e;
	size_t cap;

	if (s->n == s->cap) {
		cap = s->cap == 0 ? 64 : s->cap * 2;
		if ((ne = reallocarray(s->e, cap, sizeof(*ne))) == NULL)
			return NULL;
		s->e = ne;
		s->cap = cap;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    strlcpy(e->id, id, sizeof(e->id)) >= sizeof(e->id)) {
		free(e);
		return NULL;
	}
	memmove(&s->e[at + 1], &s->e[at], (s->n - at) * sizeof(s->e[0]));
	s->e[at] = e;
	s->n++;
	return e;
}

/* New hop list; tried bits follow the keys that stay. */
static int
entry_hops(struct entry *e, const char *const *hops, size_t nhop)
{
	char **nh;
	uint64_t tried = 0;
	size_t i, j;

	if (nhop > RUNNER_HOPS_MAX)
		nhop = RUNNER_HOPS_MAX;
	if ((nh = calloc(nhop, sizeof(*nh))) == NULL)
		return -ENOMEM;
	for (i = 0; i < nhop; i++) {
		if ((nh[i] = strdup(hops[i])) == NULL) {
			hops_free(nh, i);
			return -ENOMEM;
		}
		for (j = 0; j < e->nhop; j++)
			if (e->tried & (UINT64_C(1) << j) &&
			    strcmp(e->hop[j], hops[i]) == 0)
				tried |= UINT64_C(1) << i;
	}
	hops_free(e->hop, e->nhop);
	e->hop = nh;
	e->nhop = nhop;
	e->tried = tried;
	return 0;
}

static uint64_t
all_bits(size_t n)
{
	return n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1;
}

int
runner_sched_set(struct runner_sched *s, const char *id, int64_t next_try,
    const char *const *hops, size_t nhop, int64_t now, unsigned guard)
{
	struct entry *e;
	size_t i;
	int found, rv;

	if (nhop == 0) {
		runner_sched_remove(s, id);
		return 0;
	}
	i = find(s, id, &found);
	if (found)
		e = s->e[i];
	else if ((e = entry_add(s, id, i)) == NULL)
		return -ENOMEM;
	if ((rv = entry_hops(e, hops, nhop)) != 0) {
		if (!found)
			runner_sched_remove(s, id);
		return rv;
	}
	e->next_try = next_try;
	if (e->tried != 0 && e->tried != all_bits(e->nhop)) {
		e->due = now; /* the round goes on with the next hop */
	} else if (e->tried != 0) {
		e->tried = 0; /* round over */
		e->due = next_try > now ? next_try : now + (int64_t)guard;
	} else
		e->due = next_try;
	return 0;
}

void
runner_sched_flush(struct runner_sched *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		s->e[i]->due = 0;
		s->e[i]->tried = 0;
	}
}

static int
due_cmp(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a;
	const struct entry *y = *(struct entry *const *)b;

	if (x->due != y->due)
		return x->due < y->due ? -1 : 1;
	return strcmp(x->id, y->id);
}

static size_t
running_for(const struct runner_sched *s, const char *hop)
{
	size_t i, n = 0;

	for (i = 0; i < s->njob; i++)
		if (strcmp(s->job[i]->hop, hop) == 0)
			n++;
	return n;
}

static struct runner_job *
job_new(struct runner_sched *s, const char *hop)
{
	struct runner_job **nj, *j;
	size_t cap;

	if (s->njob == s->capjob) {
		cap = s->capjob == 0 ? 8 : s->capjob * 2;
		if ((nj = reallocarray(s->job, cap, sizeof(*nj))) == NULL)
			return NULL;
		s->job = nj;
		s->capjob = cap;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->hop = strdup(hop);
	j->id = calloc(s->lim.batch, sizeof(*j->id));
	j->first = calloc(s->lim.batch, 1);
	if (j->hop == NULL || j->id == NULL || j->first == NULL) {
		free(j->hop);
		free(j->id);
		free(j->first);
		free(j);
		return NULL;
	}
	s->job[s->njob++] = j;
	return j;
}

/* A job to hop with room, started in this call (out[0..n)), or a new one. */
static struct runner_job *
job_for(struct runner_sched *s, const char *hop, struct runner_job **out,
    size_t *n, size_t max)
{
	struct runner_job *j;
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(out[i]->hop, hop) == 0 && out[i]->n < s->lim.batch)
			return out[i];
	if (*n >= max || s->njob >= s->lim.workers ||
	    running_for(s, hop) >= s->lim.per_dest)
		return NULL;
	if ((j = job_new(s, hop)) == NULL)
		return NULL;
	out[(*n)++] = j;
	return j;
}

size_t
runner_sched_next(
    struct runner_sched *s, int64_t now, struct runner_job **out, size_t max)
{
	struct entry **due;
	struct runner_job *j;
	size_t i, h, nd = 0, n = 0;

	if (s->n == 0 || (due = calloc(s->n, sizeof(*due))) == NULL)
		return 0;
	for (i = 0; i < s->n; i++)
		if (!s->e[i]->busy && s->e[i]->due <= now)
			due[nd++] = s->e[i];
	qsort(due, nd, sizeof(*due), due_cmp);
	for (i = 0; i < nd; i++) {
		struct entry *e = due[i];

		for (h = 0; h < e->nhop; h++)
			if (!(e->tried & (UINT64_C(1) << h)))
				break;
		if (h == e->nhop)
			continue; /* cannot happen: set() ends full rounds */
		if ((j = job_for(s, e->hop[h], out, &n, max)) == NULL)
			continue;
		(void)strlcpy(j->id[j->n], e->id, sizeof(j->id[j->n]));
		j->first[j->n] = e->tried == 0;
		j->n++;
		e->busy = 1;
	}
	free(due);
	return n;
}

struct runner_job *
runner_sched_job(struct runner_sched *s, pid_t pid)
{
	size_t i;

	for (i = 0; i < s->njob; i++)
		if (s->job[i]->pid == pid)
			return s->job[i];
	return NULL;
}

void
runner_sched_done(struct runner_sched *s, struct runner_job *job)
{
	struct entry *e;
	size_t i, h;
	int found;

	for (i = 0; i < job->n; i++) {
		h = find(s, job->id[i], &found);
		if (!found)
			continue;
		e = s->e[h];
		e->busy = 0;
		for (h = 0; h < e->nhop; h++)
			if (strcmp(e->hop[h], job->hop) == 0)
				e->tried |= UINT64_C(1) << h;
	}
}

size_t
runner_sched_running(const struct runner_sched *s)
{
	return s->njob;
}

struct runner_job *
runner_sched_job_at(struct runner_sched *s, size_t i)
{
	return i < s->njob ? s->job[i] : NULL;
}

size_t
runner_sched_count(const struct runner_sched *s)
{
	return s->n;
}

int64_t
runner_sched_wakeup(const struct runner_sched *s)
{
	int64_t t = INT64_MAX;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!s->e[i]->busy && s->e[i]->due < t)
			t = s->e[i]->due;
	return t;
}
