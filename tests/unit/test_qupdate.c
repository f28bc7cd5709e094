/*
 * Unit tests for lib/qupdate and lib/spooldir: a rewrite changes only the recipient
 * lines it must (every other octet identical), the lock moves to the new
 * file and keeps a second writer out, a process killed at any moment of
 * a rewrite leaves the old file or the new one, a multi-megabyte message
 * is copied from file to file byte for byte (never held), a file that
 * shrank is never rewritten short, and remove/move; a spool
 * subdirectory that is a symlink, not the spool owner's or writable by
 * others is refused and nothing outside the spool changes.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "qupdate.h"
#include "spooldir.h"
#include "tmpspool.h"
#include "tmptree.h"

struct spool {
	char dir[64];
	int fd;
};

static void
spool_init(struct spool *sp)
{
	sp->fd = tmpspool_new(sp->dir, sizeof(sp->dir), "qupdate", "tmp",
	    "queue", "hold", (char *)NULL);
}

static void
spool_done(struct spool *sp)
{
	close(sp->fd);
	assert_int_equal(tmptree_remove(sp->dir), 0);
}

static char *
slurp(int spoolfd, const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	int fd = openat(spoolfd, path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	buf[st.st_size] = '\0';
	*len = (size_t)st.st_size;
	close(fd);
	return buf;
}

static int
entries(int spoolfd, const char *dir)
{
	struct dirent *de;
	DIR *d;
	int fd, n = 0;

	fd = openat(spoolfd, dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	d = fdopendir(fd);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static struct queue_rcpt rcpts[3];
static char msg[] = "Subject: x\r\n\r\nhello\r\n.\r\n..dots stay\r\n";

static void
sample(struct queue_file *qf)
{
	memset(qf, 0, sizeof(*qf));
	memset(rcpts, 0, sizeof(rcpts));
	queue_id_new(qf->id);
	qf->arrival = 1700000000;
	strlcpy(qf->client, "192.0.2.1", sizeof(qf->client));
	strlcpy(qf->helo, "client.example", sizeof(qf->helo));
	strlcpy(qf->sender, "<a@example.net>", sizeof(qf->sender));
	qf->flags = QUEUE_F_RET_FULL;
	strlcpy(rcpts[0].path, "<b@example.org>", sizeof(rcpts[0].path));
	rcpts[0].notify = SMTP_NOTIFY_FAILURE;
	strlcpy(rcpts[1].path, "<c@example.org>", sizeof(rcpts[1].path));
	strlcpy(rcpts[1].orcpt, "rfc822;c@example.org", sizeof(rcpts[1].orcpt));
	strlcpy(rcpts[2].path, "<d@example.com>", sizeof(rcpts[2].path));
	qf->rcpt = rcpts;
	qf->nrcpt = 3;
	qf->msg = msg;
	qf->size = sizeof(msg) - 1;
}

/* old with every "from" replaced by "to" (each must occur once). */
static char *
edit(const char *old, const char *from, const char *to)
{
	const char *p = strstr(old, from);
	char *out;

	assert_non_null(p);
	assert_null(strstr(p + 1, from));
	out = malloc(strlen(old) + strlen(to) + 1);
	assert_non_null(out);
	snprintf(out, strlen(old) + strlen(to) + 1, "%.*s%s%s", (int)(p - old),
	    old, to, p + strlen(from));
	return out;
}

static void
test_rewrite_byte_identical(void **state)
{
	struct queue_file qf, *rd = NULL;
	struct spool sp;
	struct stat st;
	char path[64], *before, *after, *want, *tmp;
	size_t blen, alen;
	int lockfd = -1;

	(void)state;
	spool_init(&sp);
	sample(&qf);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	snprintf(path, sizeof(path), "queue/%s", qf.id);
	before = slurp(sp.fd, path, &blen);

	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), 0);
	assert_true(lockfd >= 0);
	rd->rcpt[0].state = QUEUE_RCPT_SENT;
	assert_int_equal(queue_error_set(&rd->rcpt[1], "4.4.1",
			     "connect to mx.example.org[192.0.2.9]:25:\r\n"
			     "\tConnection\x01 refused  "),
	    0);
	rd->attempts = 1;
	rd->next_try = 1700000300;
	assert_int_equal(qupdate_write(sp.fd, rd, &lockfd), 0);
	assert_true(lockfd >= 0);
	qupdate_unlock(&lockfd);
	assert_int_equal(lockfd, -1);

	after = slurp(sp.fd, path, &alen);
	want = edit(before, "rcpt <b@example.org> pending",
	    "rcpt <b@example.org> sent");
	tmp = edit(want, "ORCPT=rfc822;c@example.org\n",
	    "ORCPT=rfc822;c@example.org\nlast-error 4.4.1 connect to "
	    "mx.example.org[192.0.2.9]:25: Connection? refused\n");
	free(want);
	want = edit(tmp, "attempts 0\nnext-try 0\n",
	    "attempts 1\nnext-try 1700000300\n");
	free(tmp);
	assert_string_equal(after, want);
	assert_int_equal(alen, strlen(want));
	/* Same mode, one link, nothing left in tmp/. */
	assert_int_equal(fstatat(sp.fd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(entries(sp.fd, "tmp"), 0);
	queue_free(rd);

	/* The reader gives the error back; a second rewrite is stable. */
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), 0);
	assert_string_equal(rd->rcpt[1].error,
	    "4.4.1 connect to mx.example.org[192.0.2.9]:25: Connection? "
	    "refused");
	assert_string_equal(rd->rcpt[0].error, "");
	assert_int_equal(qupdate_write(sp.fd, rd, &lockfd), 0);
	qupdate_unlock(&lockfd);
	free(after);
	after = slurp(sp.fd, path, &alen);
	assert_string_equal(after, want);
	queue_free(rd);
	free(before);
	free(after);
	free(want);
	spool_done(&sp);
}

static void
test_lock(void **state)
{
	struct queue_file qf, *rd = NULL, *rd2 = NULL;
	struct spool sp;
	int a = -1, b = -1;

	(void)state;
	spool_init(&sp);
	sample(&qf);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &a, &rd), 0);
	/* flock is per open file: a second open in this process conflicts. */
	assert_int_equal(
	    qupdate_lock(sp.fd, "queue", qf.id, &b, NULL), -EWOULDBLOCK);
	assert_int_equal(b, -1);
	/* The lock moves to the new file with the rewrite. */
	rd->rcpt[2].state = QUEUE_RCPT_FAILED;
	assert_int_equal(qupdate_write(sp.fd, rd, &a), 0);
	assert_int_equal(
	    qupdate_lock(sp.fd, "queue", qf.id, &b, NULL), -EWOULDBLOCK);
	qupdate_unlock(&a);
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &b, &rd2), 0);
	assert_int_equal(rd2->rcpt[2].state, QUEUE_RCPT_FAILED);
	qupdate_unlock(&b);
	/* Bad ids never become paths; missing files are ENOENT. */
	assert_int_equal(
	    qupdate_lock(sp.fd, "queue", "../queue/x", &b, NULL), -EINVAL);
	assert_int_equal(
	    qupdate_lock(sp.fd, "queue", "0123456789ABCDEF", &b, NULL),
	    -ENOENT);
	queue_free(rd);
	queue_free(rd2);
	spool_done(&sp);
}

static void
test_remove_move(void **state)
{
	struct queue_file qf;
	struct spool sp;
	char path[64];
	int fd = -1;

	(void)state;
	spool_init(&sp);
	sample(&qf);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &fd, NULL), 0);
	assert_int_equal(qupdate_move(sp.fd, "queue", "hold", qf.id, &fd), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(entries(sp.fd, "queue"), 0);
	assert_int_equal(entries(sp.fd, "hold"), 1);
	/* release onto an existing queue file: refused, nothing moves */
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	assert_int_equal(qupdate_lock(sp.fd, "hold", qf.id, &fd, NULL), 0);
	assert_int_equal(
	    qupdate_move(sp.fd, "hold", "queue", qf.id, &fd), -EEXIST);
	assert_int_equal(entries(sp.fd, "hold"), 1);
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &fd, NULL), 0);
	assert_int_equal(qupdate_remove(sp.fd, "queue", qf.id, &fd), 0);
	assert_int_equal(fd, -1);
	assert_int_equal(entries(sp.fd, "queue"), 0);
	assert_int_equal(qupdate_lock(sp.fd, "hold", qf.id, &fd, NULL), 0);
	assert_int_equal(qupdate_move(sp.fd, "hold", "queue", qf.id, &fd), 0);
	snprintf(path, sizeof(path), "queue/%s", qf.id);
	assert_int_equal(faccessat(sp.fd, path, F_OK, 0), 0);
	spool_done(&sp);
}

/* The child: flip rcpt 0 between pending and sent for ever. */
static void __attribute__((noreturn)) flipper(int spoolfd, const char *id)
{
	struct queue_file *qf;
	int fd = -1;

	for (;;) {
		if (qupdate_lock(spoolfd, "queue", id, &fd, &qf) != 0)
			_exit(2);
		qf->rcpt[0].state = qf->rcpt[0].state == QUEUE_RCPT_SENT
		    ? QUEUE_RCPT_PENDING
		    : QUEUE_RCPT_SENT;
		qf->attempts = qf->attempts + 1;
		if (qupdate_write(spoolfd, qf, &fd) != 0)
			_exit(3);
		qupdate_unlock(&fd);
		queue_free(qf);
	}
}

static void
test_crash_old_or_new(void **state)
{
	struct queue_file qf, *rd;
	struct spool sp;
	int i, status, qd, last = -1;
	pid_t pid;

	(void)state;
	spool_init(&sp);
	sample(&qf);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	qd = openat(sp.fd, "queue", O_RDONLY | O_DIRECTORY);
	assert_true(qd >= 0);
	srandom((unsigned)time(NULL));
	for (i = 0; i < 100; i++) {
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			flipper(sp.fd, qf.id);
		usleep((useconds_t)(random() % 20000));
		assert_int_equal(kill(pid, SIGKILL), 0);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		/* Killed, not failed: it never stopped by itself. */
		assert_true(WIFSIGNALED(status));
		/* The file is whole: the old version or the new one. */
		rd = NULL;
		assert_int_equal(queue_read(qd, qf.id, &rd), 0);
		assert_true(rd->rcpt[0].state ==
		    (rd->attempts % 2 ? QUEUE_RCPT_SENT : QUEUE_RCPT_PENDING));
		assert_true((int)rd->attempts >= last);
		last = (int)rd->attempts;
		assert_int_equal(rd->nrcpt, 3);
		assert_int_equal(rd->size, sizeof(msg) - 1);
		assert_memory_equal(rd->msg, msg, rd->size);
		queue_free(rd);
		/* At most the one stale tmp/ID.update (removed by the next). */
		assert_true(entries(sp.fd, "tmp") <= 1);
		assert_int_equal(entries(sp.fd, "queue"), 1);
	}
	assert_true(last > 0);
	close(qd);
	spool_done(&sp);
}

/* n octets of numbered CRLF lines: a lost or moved octet shows. */
static char *
big_body(size_t n)
{
	char *m = malloc(n);
	size_t off = 0, i, k;

	assert_non_null(m);
	for (i = 0; n - off > 100; i++) {
		k = (size_t)snprintf(m + off, 64, "line %zu of the body", i);
		memset(m + off + k, (int)('a' + i % 26), 17 + i % 40);
		k += 17 + i % 40;
		memcpy(m + off + k, "\r\n", 2);
		off += k + 2;
	}
	memset(m + off, '.', n - off - 2);
	memcpy(m + n - 2, "\r\n", 2);
	return m;
}

/* queue/ID is env(qf) and then exactly body[0..n). */
static void
file_is(int spoolfd, const struct queue_file *qf, const char *body, size_t n)
{
	char path[64], *file, *env;
	size_t len, envlen;

	snprintf(path, sizeof(path), "queue/%s", qf->id);
	file = slurp(spoolfd, path, &len);
	assert_int_equal(queue_envelope(qf, &env, &envlen), 0);
	assert_int_equal(len, envlen + n);
	assert_memory_equal(file, env, envlen);
	assert_memory_equal(file + envlen, body, n);
	free(env);
	free(file);
}

/*
 * A deferred recipient on a multi-megabyte message: the worker never
 * holds the message (msg NULL), and each rewrite copies it from the old
 * file byte for byte, also from a file that is itself a rewrite.
 */
static void
test_rewrite_big_body(void **state)
{
	size_t n = 5 * 1024 * 1024 + 77;
	struct queue_file qf, *rd = NULL;
	char *body = big_body(n);
	struct spool sp;
	int lockfd = -1, i;

	(void)state;
	spool_init(&sp);
	sample(&qf);
	qf.msg = body;
	qf.size = n;
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), 0);
	assert_null(rd->msg);
	assert_int_equal(rd->msgfd, lockfd);
	assert_int_equal(rd->size, n);
	for (i = 0; i < 3; i++) {
		rd->rcpt[0].state = QUEUE_RCPT_SENT;
		assert_int_equal(queue_error_set(&rd->rcpt[1], "4.4.2",
				     "lost connection while sending the "
				     "message"),
		    0);
		rd->attempts++;
		rd->next_try = 1700000300 + i;
		assert_int_equal(qupdate_write(sp.fd, rd, &lockfd), 0);
		/* The lock and the message moved to the new file. */
		assert_int_equal(rd->msgfd, lockfd);
		assert_null(rd->msg);
		file_is(sp.fd, rd, body, n);
		assert_int_equal(entries(sp.fd, "tmp"), 0);
	}
	qupdate_unlock(&lockfd);
	queue_free(rd);
	/* Read back whole: the reader agrees. */
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), 0);
	assert_int_equal(rd->attempts, 3);
	assert_int_equal(rd->size, n);
	qupdate_unlock(&lockfd);
	queue_free(rd);
	free(body);
	spool_done(&sp);
}

/*
 * The locked file shrinks (someone else wrote it in place): the rewrite
 * fails rather than store a short message; the old file and the lock
 * stay, tmp/ is clean.  A file whose message breaks the format is
 * refused at the lock, as queue_read refuses it.
 */
static void
test_rewrite_shrunk(void **state)
{
	size_t n = 300000;
	struct queue_file qf, *rd = NULL;
	char *body = big_body(n), path[64];
	struct spool sp;
	struct stat a, b;
	int lockfd = -1, old, wfd;

	(void)state;
	spool_init(&sp);
	sample(&qf);
	qf.msg = body;
	qf.size = n;
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	snprintf(path, sizeof(path), "queue/%s", qf.id);
	assert_int_equal(qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), 0);
	old = lockfd;
	assert_int_equal(fstat(lockfd, &a), 0);
	wfd = openat(sp.fd, path, O_WRONLY);
	assert_true(wfd >= 0);
	assert_int_equal(ftruncate(wfd, rd->msgoff + 100000), 0);
	rd->attempts = 1;
	assert_int_equal(qupdate_write(sp.fd, rd, &lockfd), -EIO);
	assert_int_equal(lockfd, old);
	assert_int_equal(rd->msgfd, old);
	assert_int_equal(fstatat(sp.fd, path, &b, 0), 0);
	assert_true(a.st_ino == b.st_ino);
	assert_int_equal(entries(sp.fd, "tmp"), 0);
	qupdate_unlock(&lockfd);
	queue_free(rd);
	rd = NULL;
	/* Now too short for its size field: refused whole. */
	assert_int_equal(
	    qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), -EINVAL);
	assert_null(rd);
	assert_int_equal(lockfd, -1);
	/* A bare LF far into the message: refused too. */
	close(wfd);
	assert_int_equal(unlinkat(sp.fd, path, 0), 0);
	memcpy(body + 199999, "x\n", 2);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	assert_int_equal(
	    qupdate_lock(sp.fd, "queue", qf.id, &lockfd, &rd), -EINVAL);
	assert_int_equal(lockfd, -1);
	free(body);
	spool_done(&sp);
}

static void
test_error_field(void **state)
{
	struct queue_rcpt r;
	char longtext[2000];

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(queue_error_set(&r, "4.4", "x"), -EINVAL);
	assert_int_equal(queue_error_set(&r, "3.1.1", "x"), -EINVAL);
	assert_int_equal(queue_error_set(&r, "5.1.10", "  "), 0);
	assert_string_equal(r.error, "5.1.10 (no text)");
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	assert_int_equal(queue_error_set(&r, "5.7.1", longtext), 0);
	assert_int_equal(strlen(r.error), QUEUE_ERROR_MAX);
	assert_true(queue_error_valid(r.error));
	assert_false(queue_error_valid("5.1.1"));
	assert_false(queue_error_valid("5.1.1 a\tb"));
	assert_false(queue_error_valid("6.1.1 x"));
	assert_true(queue_error_valid("2.0.0 250 ok"));
}

/* Replace SPOOL/sub with a symlink to out's queue/ (what a relay
 * account can do to a root-run command). */
static void
swap_for_link(const struct spool *sp, const char *sub, const struct spool *out)
{
	char old[32], target[96];

	snprintf(old, sizeof(old), "%s.old", sub);
	snprintf(target, sizeof(target), "%s/queue", out->dir);
	assert_int_equal(renameat(sp->fd, sub, sp->fd, old), 0);
	assert_int_equal(symlinkat(target, sp->fd, sub), 0);
}

static void
test_symlinked_dirs(void **state)
{
	static const char *const subs[] = { "queue", "hold", "tmp" };
	struct queue_file qf, *rd = NULL;
	struct spool sp, out;
	struct stat st;
	size_t i;
	int fd = -1, ofd;

	(void)state;
	sample(&qf);
	for (i = 0; i < 3; i++) {
		spool_init(&sp);
		spool_init(&out); /* out/queue/ID: someone else's file */
		assert_int_equal(queue_enqueue(out.fd, &qf), 0);
		ofd = openat(out.fd, "queue", O_RDONLY | O_DIRECTORY);
		assert_true(ofd >= 0);
		if (strcmp(subs[i], "queue") != 0)
			assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
		swap_for_link(&sp, subs[i], &out);
		assert_int_equal(
		    spooldir_sub(sp.fd, subs[i], &fd, NULL), -ELOOP);
		assert_int_equal(fd, -1);
		if (strcmp(subs[i], "tmp") == 0) {
			assert_int_equal(queue_enqueue(sp.fd, &qf), -ELOOP);
			assert_int_equal(queue_clean_tmp(sp.fd), -ELOOP);
			assert_int_equal(
			    qupdate_lock(sp.fd, "queue", qf.id, &fd, &rd), 0);
			assert_int_equal(qupdate_write(sp.fd, rd, &fd), -ELOOP);
			qupdate_unlock(&fd);
			queue_free(rd);
		} else {
			assert_int_equal(
			    qupdate_lock(sp.fd, subs[i], qf.id, &fd, NULL),
			    -ELOOP);
			assert_int_equal(fd, -1);
			assert_int_equal(
			    qupdate_remove(sp.fd, subs[i], qf.id, &fd), -ELOOP);
			assert_int_equal(
			    qupdate_move(sp.fd, "queue", "hold", qf.id, &fd),
			    -ELOOP);
		}
		/* The file outside is where it was, and alone. */
		assert_int_equal(fstatat(ofd, qf.id, &st, 0), 0);
		assert_int_equal(entries(out.fd, "queue"), 1);
		assert_int_equal(entries(out.fd, "hold"), 0);
		assert_int_equal(entries(out.fd, "tmp"), 0);
		close(ofd);
		spool_done(&out);
		spool_done(&sp);
	}
}

static void
test_spooldir_checks(void **state)
{
	struct spool sp;
	struct stat st;
	int fd = -1, rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	(void)state;
	assert_true(rootfd >= 0);
	spool_init(&sp);
	assert_int_equal(spooldir_sub(sp.fd, "queue", &fd, &st), 0);
	assert_true(fd >= 0 && S_ISDIR(st.st_mode));
	close(fd);
	assert_int_equal(spooldir_sub(sp.fd, "a/b", &fd, NULL), -EINVAL);
	assert_int_equal(spooldir_sub(sp.fd, "..", &fd, NULL), -EINVAL);
	assert_int_equal(spooldir_sub(sp.fd, ".", &fd, NULL), -EINVAL);
	assert_int_equal(spooldir_sub(sp.fd, "", &fd, NULL), -EINVAL);
	assert_int_equal(spooldir_sub(sp.fd, "nope", &fd, NULL), -ENOENT);
	assert_int_equal(fchmodat(sp.fd, "hold", 0770, 0), 0);
	assert_int_equal(spooldir_sub(sp.fd, "hold", &fd, &st), -EPERM);
	assert_int_equal(st.st_mode & 07777, 0770);
	assert_int_equal(fchmodat(sp.fd, "hold", 0700, 0), 0);
	assert_int_equal(fchownat(sp.fd, "hold", 1, 1, 0), 0);
	assert_int_equal(spooldir_sub(sp.fd, "hold", &fd, &st), -EPERM);
	assert_int_equal(st.st_uid, 1);
	assert_int_equal(fd, -1);
	/* spooldir_open: the owner is the caller's to name. */
	assert_int_equal(spooldir_open(rootfd, sp.dir, 0, &fd, &st), 0);
	close(fd);
	assert_int_equal(spooldir_open(rootfd, sp.dir, 1, &fd, &st), -EPERM);
	assert_int_equal(fd, -1);
	close(rootfd);
	spool_done(&sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rewrite_byte_identical),
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_remove_move),
		cmocka_unit_test(test_crash_old_or_new),
		cmocka_unit_test(test_rewrite_big_body),
		cmocka_unit_test(test_rewrite_shrunk),
		cmocka_unit_test(test_error_field),
		cmocka_unit_test(test_symlinked_dirs),
		cmocka_unit_test(test_spooldir_checks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
