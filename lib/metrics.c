/*
 * relayd's counters in a shared file mapping (metrics.h).  Writers add
 * with relaxed atomics (a counter is a sum; no order with anything else
 * matters); the reader maps the file read-only and loads each counter
 * atomically, so it never sees a torn value.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "walk.h"

/* The same layout as struct metrics_file, with atomic counters. */
struct metrics_map {
	char magic[16];
	uint64_t start;
	_Atomic uint64_t c[METRICS_N];
};
_Static_assert(sizeof(struct metrics_map) == sizeof(struct metrics_file),
    "metrics layout");
_Static_assert(
    offsetof(struct metrics_map, c) == offsetof(struct metrics_file, c),
    "metrics layout");

/* The master's mapping, inherited by every child: process-model state. */
static struct metrics_map *shared;

static const char *const reasons[] = { "limit", "pregreet", "protocol", "auth",
	"sender", "relay", "recipient", "message", "milter" };
_Static_assert(
    sizeof(reasons) / sizeof(reasons[0]) == METRICS_N - METRICS_REJ_FIRST,
    "a label for each reason");

const char *
metrics_reason(enum metrics_counter c)
{
	if (c < METRICS_REJ_FIRST || c >= METRICS_N)
		return NULL;
	return reasons[c - METRICS_REJ_FIRST];
}

int
metrics_path(const char *pidfile, char *out, size_t len)
{
	size_t n = strlen(pidfile);
	int r;

	if (n > 4 && strcmp(pidfile + n - 4, ".pid") == 0)
		n -= 4;
	r = snprintf(out, len, "%.*s.metrics", (int)n, pidfile);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int
metrics_open(const char *path)
{
	char tmp[4096];
	void *p;
	int fd, e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	(void)unlink(tmp); /* a crashed master's */
	fd =
	    open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1)
		return -errno;
	if (ftruncate(fd, sizeof(struct metrics_map)) == -1)
		goto fail;
	p = mmap(NULL, sizeof(struct metrics_map), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	shared = p;
	memcpy(shared->magic, METRICS_MAGIC, sizeof(shared->magic));
	shared->start = (uint64_t)time(NULL);
	if (rename(tmp, path) == -1) {
		e = errno;
		(void)munmap(p, sizeof(struct metrics_map));
		shared = NULL;
		errno = e;
		goto fail;
	}
	(void)close(fd);
	return 0;
fail:
	e = errno;
	(void)close(fd);
	(void)unlink(tmp);
	return -e;
}

void
metrics_close(const char *path)
{
	if (shared == NULL)
		return;
	(void)munmap(shared, sizeof(*shared));
	shared = NULL;
	(void)unlink(path);
}

void
metrics_inc(enum metrics_counter c)
{
	if (shared != NULL && c < METRICS_N)
		atomic_fetch_add_explicit(
		    &shared->c[c], 1, memory_order_relaxed);
}

int
metrics_read(int dirfd, const char *path, struct metrics_file *out)
{
	const struct metrics_map *m;
	struct stat st;
	size_t i;
	void *p;
	int fd;

	if ((fd = walk_open_io(dirfd, path, O_RDONLY, &st)) < 0)
		return fd;
	/* relayd (root) made it; the children only add to its counters. */
	if (st.st_size != (off_t)sizeof(*m) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0) {
		(void)close(fd);
		return -EINVAL;
	}
	p = mmap(NULL, sizeof(*m), PROT_READ, MAP_SHARED, fd, 0);
	(void)close(fd);
	if (p == MAP_FAILED)
		return -errno;
	m = p;
	if (memcmp(m->magic, METRICS_MAGIC, sizeof(m->magic)) != 0) {
		(void)munmap(p, sizeof(*m));
		return -EINVAL;
	}
	memcpy(out->magic, m->magic, sizeof(out->magic));
	out->start = m->start;
	for (i = 0; i < METRICS_N; i++)
		out->c[i] =
		    atomic_load_explicit(&m->c[i], memory_order_relaxed);
	(void)munmap(p, sizeof(*m));
	return 0;
}
