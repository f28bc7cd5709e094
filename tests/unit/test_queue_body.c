/*
 * Unit tests for lib/queue_body and the envelope-only reader: a body
 * streamed to an unnamed file in tmp/ and enqueued gives the same file as
 * queue_enqueue, leaves nothing in tmp/ whatever happens (ENOSPC on a
 * tiny tmpfs, unmounted in teardown), and readers refuse sparse and
 * oversized files and read only the envelope when asked.
 */
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"
#include "tmpspool.h"
#include "tmptree.h"

struct spool {
	char dir[64];
	int fd;
	int mounted;
};

static struct spool tiny_sp;

static void
spool_init(struct spool *sp, const char *tmpfs_opts)
{
	strlcpy(sp->dir, "/tmp/relayd-qbody-XXXXXX", sizeof(sp->dir));
	assert_non_null(mkdtemp(sp->dir));
	sp->mounted = 0;
	if (tmpfs_opts != NULL) {
		assert_int_equal(
		    mount("tmpfs", sp->dir, "tmpfs", 0, tmpfs_opts), 0);
		sp->mounted = 1;
	}
	sp->fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sp->fd >= 0);
	assert_int_equal(mkdirat(sp->fd, "tmp", 0700), 0);
	assert_int_equal(mkdirat(sp->fd, "queue", 0700), 0);
}

static void
spool_done(struct spool *sp)
{
	close(sp->fd);
	if (sp->mounted)
		assert_int_equal(umount2(sp->dir, MNT_DETACH), 0);
	assert_int_equal(tmptree_remove(sp->dir), 0);
}

static int
count(int spoolfd, const char *sub)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(spoolfd, sub, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	d = fdopendir(fd);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static char *
slurp(int dirfd, const char *name, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = openat(dirfd, name, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(
	    read(fd, buf, (size_t)st.st_size + 1), (ssize_t)st.st_size);
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

static struct queue_rcpt rcpt;

static void
sample(struct queue_file *qf, char *msg, size_t size)
{
	tmpspool_sample(qf, &rcpt, msg, size);
}

/* n octets of CRLF text lines. */
static char *
text(size_t n)
{
	char *m = malloc(n);
	size_t i;

	assert_non_null(m);
	for (i = 0; i < n; i++)
		m[i] = i % 100 == 98 ? '\r' : i % 100 == 99 ? '\n' : 'a';
	return m;
}

/* Streamed in odd pieces, the file is the one queue_enqueue makes. */
static void
test_body_same_file(void **state)
{
	struct queue_file qf, *rd = NULL;
	struct queue_body *b = NULL;
	struct spool sp;
	size_t n = 300000, off, k, len1, len2;
	char *m = text(n), *f1, *f2;
	int qd;

	(void)state;
	spool_init(&sp, NULL);
	qd = openat(sp.fd, "queue", O_RDONLY | O_DIRECTORY);
	sample(&qf, m, n);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	f1 = slurp(qd, qf.id, &len1);
	assert_int_equal(unlinkat(qd, qf.id, 0), 0);

	assert_int_equal(queue_body_open(sp.fd, qf.id, &b), 0);
	assert_int_equal(count(sp.fd, "tmp"), 0); /* no name, ever */
	for (off = 0, k = 1; off < n; off += k, k = k * 3 + 1)
		assert_int_equal(
		    queue_body_add(b, m + off, n - off < k ? n - off : k), 0);
	assert_int_equal(queue_body_size(b), n);
	qf.msg = NULL;
	qf.size = 0;
	assert_int_equal(queue_enqueue_body(sp.fd, &qf, b), 0);
	assert_int_equal(qf.size, n);
	queue_body_free(b);
	assert_int_equal(count(sp.fd, "tmp"), 0);
	f2 = slurp(qd, qf.id, &len2);
	assert_int_equal(len1, len2);
	assert_memory_equal(f1, f2, len1);

	/* Readers: the whole file, or its envelope only. */
	assert_int_equal(queue_read(qd, qf.id, &rd), 0);
	assert_int_equal(rd->size, n);
	assert_memory_equal(rd->msg, m, n);
	queue_free(rd);
	assert_int_equal(queue_read_envelope(qd, qf.id, &rd), 0);
	assert_int_equal(rd->size, n);
	assert_null(rd->msg);
	assert_string_equal(rd->rcpt[0].path, "<b@example.org>");
	queue_free(rd);
	free(f1);
	free(f2);
	free(m);
	close(qd);
	spool_done(&sp);
}

/* A write error sticks and comes back from the enqueue: nothing stays. */
static void
test_body_error_sticks(void **state)
{
	struct rlimit old, lim = { 100000, RLIM_INFINITY };
	struct queue_body *b = NULL;
	struct queue_file qf;
	struct spool sp;
	char *m = text(200000);

	(void)state;
	spool_init(&sp, NULL);
	sample(&qf, NULL, 0);
	assert_int_equal(queue_body_open(sp.fd, qf.id, &b), 0);
	/* EFBIG from write(2) past RLIMIT_FSIZE, as an I/O error would. */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(queue_body_add(b, m, 200000), -EFBIG);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(queue_body_add(b, "x\r\n", 3), -EFBIG);
	assert_int_equal(queue_body_error(b), -EFBIG);
	assert_int_equal(queue_enqueue_body(sp.fd, &qf, b), -EFBIG);
	queue_body_free(b);
	assert_int_equal(count(sp.fd, "tmp"), 0);
	assert_int_equal(count(sp.fd, "queue"), 0);
	free(m);
	spool_done(&sp);
}

static int
tiny_setup(void **state)
{
	spool_init(&tiny_sp, "size=1m,mode=0700");
	*state = &tiny_sp;
	return 0;
}

static int
tiny_teardown(void **state)
{
	spool_done(*state);
	return 0;
}

/*
 * ENOSPC for real (1 MiB tmpfs): while the body is written or while it is
 * copied behind the envelope, the enqueue fails with -ENOSPC and leaves
 * nothing; the space comes back.
 */
static void
test_body_enospc(void **state)
{
	struct spool *sp = *state;
	struct queue_body *b = NULL;
	struct queue_file qf;
	size_t sizes[] = { 2u << 20, 700000 }, i;
	char *m = text(2u << 20);
	int rv;

	for (i = 0; i < 2; i++) {
		sample(&qf, NULL, 0);
		assert_int_equal(queue_body_open(sp->fd, qf.id, &b), 0);
		rv = queue_body_add(b, m, sizes[i]);
		assert_true(rv == 0 || rv == -ENOSPC);
		assert_int_equal(queue_enqueue_body(sp->fd, &qf, b), -ENOSPC);
		queue_body_free(b);
		assert_int_equal(count(sp->fd, "tmp"), 0);
		assert_int_equal(count(sp->fd, "queue"), 0);
	}
	sample(&qf, NULL, 0);
	assert_int_equal(queue_body_open(sp->fd, qf.id, &b), 0);
	assert_int_equal(queue_body_add(b, m, 300000), 0);
	assert_int_equal(queue_enqueue_body(sp->fd, &qf, b), 0);
	queue_body_free(b);
	assert_int_equal(count(sp->fd, "queue"), 1);
	free(m);
}

/* Write envelope text, then (after a hole of `hole` octets) tail. */
static void
put_file(int dirfd, const char *name, const char *env, off_t hole,
    const char *tail, size_t tlen)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, env, strlen(env)), (ssize_t)strlen(env));
	if (hole > 0)
		assert_true(lseek(fd, hole, SEEK_CUR) > 0);
	if (tlen > 0)
		assert_int_equal(write(fd, tail, tlen), (ssize_t)tlen);
	close(fd);
}

static void
test_read_sparse_and_big(void **state)
{
	static const char id[] = "AAAAAAAAAAAAAAAA";
	struct queue_file *rd = NULL;
	struct spool sp;
	char env[512];
	int qd;

	(void)state;
	spool_init(&sp, NULL);
	qd = openat(sp.fd, "queue", O_RDONLY | O_DIRECTORY);
	/* 1 MiB of hole then "x\r\n": a valid file but for the hole. */
	snprintf(env, sizeof(env),
	    "relayd-queue 1\nid %s\narrival 1\nclient 192.0.2.1 h\n"
	    "sender <a@example.net>\nrcpt <b@example.org> pending\n"
	    "attempts 0\nnext-try 0\nsize %d\n\n",
	    id, (1 << 20) + 3);
	put_file(qd, id, env, 1 << 20, "x\r\n", 3);
	assert_int_equal(queue_read(qd, id, &rd), -EINVAL);
	assert_null(rd);
	assert_int_equal(queue_read_envelope(qd, id, &rd), -EINVAL);
	assert_null(rd);
	/* Over QUEUE_READ_MAX: refused before a byte is read. */
	snprintf(env, sizeof(env),
	    "relayd-queue 1\nid %s\narrival 1\nclient 192.0.2.1 h\n"
	    "sender <a@example.net>\nrcpt <b@example.org> pending\n"
	    "attempts 0\nnext-try 0\nsize 1\n\n",
	    id);
	put_file(qd, id, env, (off_t)QUEUE_READ_MAX, "\n", 1);
	assert_int_equal(queue_read(qd, id, &rd), -EFBIG);
	assert_int_equal(queue_read_envelope(qd, id, &rd), -EFBIG);
	/* The size field must be the rest of the file, envelope-only too. */
	put_file(qd, id, env, 0, "ab\r\n", 4);
	assert_int_equal(queue_read_envelope(qd, id, &rd), -EINVAL);
	put_file(qd, id, env, 0, "\n", 1);
	assert_int_equal(queue_read_envelope(qd, id, &rd), 0);
	assert_int_equal(rd->size, 1);
	queue_free(rd);
	/* ... and the whole read still checks the message itself. */
	assert_int_equal(queue_read(qd, id, &rd), -EINVAL);
	close(qd);
	spool_done(&sp);
}

/* An envelope longer than the first prefix read is read in full. */
static void
test_read_long_envelope(void **state)
{
	struct queue_file qf, *rd = NULL;
	struct queue_rcpt *r;
	struct spool sp;
	char msg[] = "x\r\n";
	size_t i, n = 2000;
	int qd;

	(void)state;
	spool_init(&sp, NULL);
	sample(&qf, msg, 3);
	r = calloc(n, sizeof(*r));
	assert_non_null(r);
	for (i = 0; i < n; i++)
		snprintf(r[i].path, sizeof(r[i].path),
		    "<recipient-with-a-long-name-%05zu@example.org>", i);
	qf.rcpt = r;
	qf.nrcpt = n;
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	qd = openat(sp.fd, "queue", O_RDONLY | O_DIRECTORY);
	assert_int_equal(queue_read_envelope(qd, qf.id, &rd), 0);
	assert_int_equal(rd->nrcpt, n);
	assert_string_equal(rd->rcpt[n - 1].path, r[n - 1].path);
	assert_int_equal(rd->size, 3);
	queue_free(rd);
	free(r);
	close(qd);
	spool_done(&sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_same_file),
		cmocka_unit_test(test_body_error_sticks),
		cmocka_unit_test_setup_teardown(
		    test_body_enospc, tiny_setup, tiny_teardown),
		cmocka_unit_test(test_read_sparse_and_big),
		cmocka_unit_test(test_read_long_envelope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
