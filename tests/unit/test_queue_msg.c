/*
 * Unit tests for lib/queue_msg and queue_read_fd: a queue file read
 * without its message (msg NULL, msgfd and msgoff where it is), the
 * message read back in pieces of any size byte-identical, the same
 * strict checks as queue_read() with the bad octet at, before or after a
 * QUEUE_MSG_CHUNK boundary, a file that shrinks after the check (-EIO,
 * never a short message), and the copy (copy_file_range or, into a
 * pipe, pread and write).
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"
#include "tmpspool.h"
#include "tmptree.h"

#define CHUNK QUEUE_MSG_CHUNK

struct spool {
	char dir[64];
	int fd, qd; /* the spool, its queue/ */
};

static void
spool_init(struct spool *sp)
{
	strlcpy(sp->dir, "/tmp/relayd-qmsg-XXXXXX", sizeof(sp->dir));
	assert_non_null(mkdtemp(sp->dir));
	sp->fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sp->fd >= 0);
	assert_int_equal(mkdirat(sp->fd, "tmp", 0700), 0);
	assert_int_equal(mkdirat(sp->fd, "queue", 0700), 0);
	sp->qd = openat(sp->fd, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sp->qd >= 0);
}

static void
spool_done(struct spool *sp)
{
	close(sp->qd);
	close(sp->fd);
	assert_int_equal(tmptree_remove(sp->dir), 0);
}

static struct queue_rcpt rcpt;

/* queue/ID holding m[0..n) as its message (not checked by the writer). */
static void
enqueue(struct spool *sp, struct queue_file *qf, char *m, size_t n)
{
	tmpspool_sample(qf, &rcpt, m, n);
	assert_int_equal(queue_enqueue(sp->fd, qf), 0);
}

/*
 * n (>= 2) octets of CRLF lines of 1..199 octets, each starting with its
 * number, so a dropped, doubled or shifted piece shows; the last line
 * fills up to n.
 */
static char *
lines(size_t n)
{
	char *m = malloc(n);
	size_t off = 0, k, i;

	assert_non_null(m);
	for (i = 0; n - off > 300; i++) {
		k = (size_t)snprintf(m + off, 32, "%zu:", i);
		for (; k < 1 + (i * 7919) % 199; k++)
			m[off + k] = (char)('a' + (i + k) % 26);
		memcpy(m + off + k, "\r\n", 2);
		off += k + 2;
	}
	memset(m + off, 'z', n - off - 2);
	memcpy(m + n - 2, "\r\n", 2);
	return m;
}

static int
read_fd(struct spool *sp, const char *id, int *fd, struct queue_file **qf)
{
	*fd = openat(sp->qd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(*fd >= 0);
	return queue_read_fd(sp->qd, id, *fd, qf);
}

static void
test_read_fd_pieces(void **state)
{
	static const size_t sizes[] = { 1, 7, 1000, CHUNK - 1, CHUNK, CHUNK + 1,
		3 * CHUNK };
	size_t n = 3 * CHUNK + 123, envlen, off, got, i;
	char *m = lines(n), *env, *back = malloc(n + 1);
	struct queue_file qf, *rd = NULL, *whole = NULL;
	struct spool sp;
	int fd;

	(void)state;
	assert_non_null(back);
	spool_init(&sp);
	enqueue(&sp, &qf, m, n);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), 0);
	/* Not held: where it is, in the open file. */
	assert_null(rd->msg);
	assert_int_equal(rd->msgfd, fd);
	assert_int_equal(queue_envelope(&qf, &env, &envlen), 0);
	assert_int_equal(rd->msgoff, (off_t)envlen);
	assert_int_equal(rd->size, n);
	assert_string_equal(rd->id, qf.id);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(back, 0, n + 1);
		for (off = 0; off < n; off += got) {
			assert_int_equal(
			    queue_msg_read(rd, off, back + off, sizes[i], &got),
			    0);
			assert_true(
			    got == (sizes[i] < n - off ? sizes[i] : n - off));
		}
		assert_memory_equal(back, m, n);
	}
	assert_int_equal(queue_msg_read(rd, n, back, 10, &got), 0);
	assert_int_equal(got, 0);
	/* queue_read() agrees, and the offset is the same. */
	assert_int_equal(queue_read(sp.qd, qf.id, &whole), 0);
	assert_memory_equal(whole->msg, m, n);
	assert_int_equal(whole->msgoff, rd->msgoff);
	assert_int_equal(whole->msgfd, -1);
	/* The envelope-only reader knows the offset too, not the file. */
	queue_free(whole);
	assert_int_equal(queue_read_envelope(sp.qd, qf.id, &whole), 0);
	assert_int_equal(whole->msgoff, rd->msgoff);
	assert_int_equal(queue_msg_read(whole, 0, back, 10, &got), -EINVAL);
	queue_free(whole);
	queue_free(rd);
	close(fd);
	free(env);
	free(back);
	free(m);
	spool_done(&sp);
}

/*
 * A message that breaks the CRLF rule at position at (set is the octets
 * put there), or, with ok, one that keeps it: queue_read_fd and
 * queue_read must agree.
 */
static void
bad_at(struct spool *sp, size_t n, size_t at, const char *set, int ok)
{
	struct queue_file qf, *rd = NULL;
	char *m = lines(n);
	int fd, want = ok ? 0 : -EINVAL;

	memcpy(m + at, set, strlen(set));
	/* Not half of a line end around it: only set decides. */
	if (at > 0 && m[at - 1] == '\r')
		m[at - 1] = 'y';
	if (at + strlen(set) < n && m[at + strlen(set)] == '\n')
		m[at + strlen(set)] = 'y';
	enqueue(sp, &qf, m, n);
	if (read_fd(sp, qf.id, &fd, &rd) != want)
		fail_msg("queue_read_fd: %zu octets, \"%s\" at %zu: not %d", n,
		    set, at, want);
	assert_true(ok ? rd != NULL : rd == NULL);
	queue_free(rd);
	close(fd);
	rd = NULL;
	assert_int_equal(queue_read(sp->qd, qf.id, &rd), want);
	queue_free(rd);
	assert_int_equal(unlinkat(sp->qd, qf.id, 0), 0);
	free(m);
}

static void
test_read_fd_strict(void **state)
{
	size_t n = 3 * CHUNK + 100;
	struct spool sp;

	(void)state;
	spool_init(&sp);
	/* Bare LF, bare CR: before, at and after a chunk boundary. */
	bad_at(&sp, n, CHUNK - 2, "x\n", 0);
	bad_at(&sp, n, CHUNK - 1, "x\n", 0);
	bad_at(&sp, n, CHUNK, "x\n", 0);
	bad_at(&sp, n, CHUNK - 2, "x\rx", 0);
	bad_at(&sp, n, CHUNK - 1, "x\rx", 0);
	bad_at(&sp, n, CHUNK, "x\rx", 0);
	bad_at(&sp, n, 2 * CHUNK + 5, "x\rx", 0);
	bad_at(&sp, n, 0, "\n", 0);
	/* The end: no CRLF, a CR alone. */
	bad_at(&sp, n, n - 2, "x\r", 0);
	bad_at(&sp, n, n - 2, "xx", 0);
	bad_at(&sp, 2 * CHUNK, 2 * CHUNK - 2, "x\r", 0);
	/* A CRLF split by the boundary is a line end like any other. */
	bad_at(&sp, n, CHUNK - 2, "x\r\nx", 1);
	bad_at(&sp, n, 2 * CHUNK - 2, "x\r\n", 1);
	bad_at(&sp, 2 * CHUNK, 2 * CHUNK - 2, "\r\n", 1);
	spool_done(&sp);
}

static void
test_read_fd_file(void **state)
{
	struct queue_file qf, *rd = NULL;
	struct spool sp;
	char *m = lines(10000), other[QUEUE_ID_MAX + 1];
	int fd, fd2;

	(void)state;
	spool_init(&sp);
	enqueue(&sp, &qf, m, 10000);
	/* The name must be the id line's, and an id at all. */
	queue_id_new(other);
	assert_int_equal(renameat(sp.qd, qf.id, sp.qd, other), 0);
	assert_int_equal(read_fd(&sp, other, &fd, &rd), -EINVAL);
	assert_int_equal(queue_read_fd(sp.qd, "../x", fd, &rd), -EINVAL);
	close(fd);
	assert_int_equal(renameat(sp.qd, other, sp.qd, qf.id), 0);
	/* A second link, another owner. */
	assert_int_equal(linkat(sp.qd, qf.id, sp.qd, other, 0), 0);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), -EPERM);
	close(fd);
	assert_int_equal(unlinkat(sp.qd, other, 0), 0);
	assert_int_equal(fchownat(sp.qd, qf.id, 1, 1, 0), 0);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), -EPERM);
	close(fd);
	assert_int_equal(fchownat(sp.qd, qf.id, 0, 0, 0), 0);
	/* Shorter or longer than the size field says. */
	fd2 = openat(sp.qd, qf.id, O_RDWR);
	assert_true(fd2 >= 0);
	assert_int_equal(ftruncate(fd2, lseek(fd2, 0, SEEK_END) - 2), 0);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), -EINVAL);
	close(fd);
	assert_int_equal(
	    pwrite(fd2, "\r\n\r\n", 4, lseek(fd2, 0, SEEK_END)), 4);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), -EINVAL);
	close(fd);
	assert_null(rd);
	close(fd2);
	free(m);
	spool_done(&sp);
}

/* After the check the file shrinks: every reader fails, none is short. */
static void
test_shrunk(void **state)
{
	size_t n = 2 * CHUNK + 10, got;
	char *m = lines(n), *buf = malloc(n);
	struct queue_file qf, *rd = NULL;
	struct spool sp;
	int fd, wfd, out;

	(void)state;
	assert_non_null(buf);
	spool_init(&sp);
	enqueue(&sp, &qf, m, n);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), 0);
	wfd = openat(sp.qd, qf.id, O_RDWR);
	assert_true(wfd >= 0);
	assert_int_equal(ftruncate(wfd, rd->msgoff + CHUNK + 5), 0);
	/* Within what is left: fine; past it: -EIO. */
	assert_int_equal(queue_msg_read(rd, 0, buf, CHUNK, &got), 0);
	assert_int_equal(got, CHUNK);
	assert_int_equal(queue_msg_read(rd, CHUNK, buf, CHUNK, &got), -EIO);
	assert_int_equal(got, 0);
	assert_int_equal(queue_msg_check(rd, buf, n), -EIO);
	out = openat(sp.fd, "tmp", O_RDWR | O_TMPFILE, 0600);
	assert_true(out >= 0);
	assert_int_equal(queue_msg_copy(rd, out), -EIO);
	close(out);
	close(wfd);
	queue_free(rd);
	close(fd);
	free(buf);
	free(m);
	spool_done(&sp);
}

/* The copy is the message: into a file, and into a pipe (no kernel copy). */
static void
test_copy(void **state)
{
	size_t n = 5 * CHUNK + 77, small = 40000;
	char *m = lines(n), *back = malloc(n);
	struct queue_file qf, *rd = NULL, mem;
	struct spool sp;
	int fd, out, p[2];

	(void)state;
	assert_non_null(back);
	spool_init(&sp);
	enqueue(&sp, &qf, m, n);
	assert_int_equal(read_fd(&sp, qf.id, &fd, &rd), 0);
	out = openat(sp.fd, "tmp", O_RDWR | O_TMPFILE, 0600);
	assert_true(out >= 0);
	assert_int_equal(write(out, "head", 4), 4);
	assert_int_equal(queue_msg_copy(rd, out), 0);
	assert_int_equal(lseek(out, 0, SEEK_END), (off_t)(4 + n));
	assert_int_equal(pread(out, back, n, 4), (ssize_t)n);
	assert_memory_equal(back, m, n);
	close(out);
	/* copy_file_range refuses a pipe: pread and write do it. */
	rd->size = small; /* the file's first octets, as a shorter message */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(queue_msg_copy(rd, p[1]), 0);
	close(p[1]);
	assert_int_equal(read(p[0], back, n), (ssize_t)small);
	assert_memory_equal(back, m, small);
	close(p[0]);
	/* From memory, and nowhere at all. */
	memset(&mem, 0, sizeof(mem));
	mem.msg = m;
	mem.size = small;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(queue_msg_copy(&mem, p[1]), 0);
	close(p[1]);
	assert_int_equal(read(p[0], back, n), (ssize_t)small);
	assert_memory_equal(back, m, small);
	close(p[0]);
	mem.msg = NULL;
	assert_int_equal(queue_msg_copy(&mem, fd), -EINVAL);
	assert_int_equal(queue_msg_check(&mem, back, n), -EINVAL);
	queue_free(rd);
	close(fd);
	free(back);
	free(m);
	spool_done(&sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fd_pieces),
		cmocka_unit_test(test_read_fd_strict),
		cmocka_unit_test(test_read_fd_file),
		cmocka_unit_test(test_shrunk),
		cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
