/*
 * Unit tests for lib/queue: the exact file format, the tmp -> queue
 * commit (mode, O_EXCL, no leftovers, ENOSPC on a tiny tmpfs), id
 * uniqueness across processes, tmp/ cleanup and the strict reader.
 */
#include <sys/mount.h>
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"
#include "tmptree.h"

struct spool {
	char dir[64];
	int fd;
	int mounted;
};

static void
spool_init(struct spool *sp, int tiny)
{
	strlcpy(sp->dir, "/tmp/relayd-queue-XXXXXX", sizeof(sp->dir));
	assert_non_null(mkdtemp(sp->dir));
	sp->mounted = 0;
	if (tiny) {
		/* ENOSPC for real: a 64 KiB tmpfs (the test runs as root). */
		assert_int_equal(
		    mount("tmpfs", sp->dir, "tmpfs", 0, "size=64k,mode=0700"),
		    0);
		sp->mounted = 1;
	}
	sp->fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sp->fd >= 0);
	assert_int_equal(mkdirat(sp->fd, "tmp", 0700), 0);
	assert_int_equal(mkdirat(sp->fd, "queue", 0700), 0);
	assert_int_equal(mkdirat(sp->fd, "hold", 0700), 0);
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
	char *buf = malloc(1 << 20);
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY);

	assert_true(fd >= 0);
	assert_non_null(buf);
	n = read(fd, buf, (1 << 20) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	*len = (size_t)n;
	close(fd);
	return buf;
}

static void
put(int dirfd, const char *name, const char *text, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
}

static struct queue_rcpt rcpts[2];
static char msg[] = "Subject: x\r\n\r\nhello\r\n";

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
	qf->flags = QUEUE_F_8BITMIME | QUEUE_F_SMTPUTF8 | QUEUE_F_RET_HDRS;
	strlcpy(qf->envid, "abc+2B", sizeof(qf->envid));
	strlcpy(rcpts[0].path, "<b@example.org>", sizeof(rcpts[0].path));
	rcpts[0].notify = SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE;
	strlcpy(rcpts[0].orcpt, "rfc822;b@example.org", sizeof(rcpts[0].orcpt));
	strlcpy(rcpts[1].path, "<\"c d\"@example.org>", sizeof(rcpts[1].path));
	rcpts[1].state = QUEUE_RCPT_SENT;
	qf->rcpt = rcpts;
	qf->nrcpt = 2;
	qf->msg = msg;
	qf->size = sizeof(msg) - 1;
}

static int
expected(const struct queue_file *qf, char *buf, size_t len)
{
	return snprintf(buf, len,
	    "relayd-queue 1\nid %s\narrival 1700000000\n"
	    "client 192.0.2.1 client.example\n"
	    "sender <a@example.net> BODY=8BITMIME SMTPUTF8 RET=HDRS "
	    "ENVID=abc+2B\n"
	    "rcpt <b@example.org> pending NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;b@example.org\n"
	    "rcpt <\"c d\"@example.org> sent\n"
	    "attempts 0\nnext-try 0\nsize %zu\n\n%s",
	    qf->id, sizeof(msg) - 1, msg);
}

static void
test_enqueue_format(void **state)
{
	struct queue_file qf, *rd = NULL;
	struct spool sp;
	struct stat st;
	char want[2048], *got;
	size_t len;
	int n;

	(void)state;
	spool_init(&sp, 0);
	sample(&qf);
	assert_int_equal(queue_enqueue(sp.fd, &qf), 0);
	assert_int_equal(count(sp.fd, "tmp"), 0);
	assert_int_equal(count(sp.fd, "queue"), 1);
	n = expected(&qf, want, sizeof(want));
	int qd = openat(sp.fd, "queue", O_RDONLY | O_DIRECTORY);
	assert_true(qd >= 0);
	got = slurp(qd, qf.id, &len);
	assert_int_equal(len, (size_t)n);
	assert_memory_equal(got, want, len);
	assert_int_equal(fstatat(qd, qf.id, &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1);

	/* The reader gives back every field. */
	assert_int_equal(queue_read(qd, qf.id, &rd), 0);
	assert_string_equal(rd->id, qf.id);
	assert_int_equal(rd->arrival, 1700000000);
	assert_string_equal(rd->client, "192.0.2.1");
	assert_string_equal(rd->helo, "client.example");
	assert_string_equal(rd->sender, "<a@example.net>");
	assert_int_equal(rd->flags, qf.flags);
	assert_string_equal(rd->envid, "abc+2B");
	assert_int_equal(rd->nrcpt, 2);
	assert_string_equal(rd->rcpt[0].path, "<b@example.org>");
	assert_int_equal(rd->rcpt[0].state, QUEUE_RCPT_PENDING);
	assert_int_equal(rd->rcpt[0].notify, qf.rcpt[0].notify);
	assert_string_equal(rd->rcpt[0].orcpt, "rfc822;b@example.org");
	assert_string_equal(rd->rcpt[1].path, "<\"c d\"@example.org>");
	assert_int_equal(rd->rcpt[1].state, QUEUE_RCPT_SENT);
	assert_int_equal(rd->size, sizeof(msg) - 1);
	assert_memory_equal(rd->msg, msg, rd->size);
	queue_free(rd);
	free(got);
	close(qd);
	spool_done(&sp);
}

static void
test_enqueue_excl(void **state)
{
	struct queue_file qf;
	struct spool sp;
	char path[64], *got;
	size_t len;

	(void)state;
	spool_init(&sp, 0);
	sample(&qf);
	/* Someone else's tmp file of that name: refused, left alone. */
	snprintf(path, sizeof(path), "tmp/%s", qf.id);
	put(sp.fd, path, "x", 1);
	assert_int_equal(queue_enqueue(sp.fd, &qf), -EEXIST);
	got = slurp(sp.fd, path, &len);
	assert_int_equal(len, 1);
	free(got);
	assert_int_equal(count(sp.fd, "queue"), 0);
	assert_int_equal(unlinkat(sp.fd, path, 0), 0);

	/* A committed message is never replaced. */
	snprintf(path, sizeof(path), "queue/%s", qf.id);
	put(sp.fd, path, "old", 3);
	assert_int_equal(queue_enqueue(sp.fd, &qf), -EEXIST);
	got = slurp(sp.fd, path, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(got, "old", 3);
	free(got);
	assert_int_equal(count(sp.fd, "tmp"), 0);

	/* A symlink at tmp/ID is not followed. */
	assert_int_equal(unlinkat(sp.fd, path, 0), 0);
	snprintf(path, sizeof(path), "tmp/%s", qf.id);
	assert_int_equal(
	    symlinkat("/tmp/relayd-queue-nonexistent", sp.fd, path), 0);
	assert_int_equal(queue_enqueue(sp.fd, &qf), -EEXIST);
	assert_int_equal(access("/tmp/relayd-queue-nonexistent", F_OK), -1);
	spool_done(&sp);
}

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, QUEUE_ID_LEN + 1);
}

static void
test_ids_unique(void **state)
{
	enum { PER = 1000 };
	static char ids[2 * PER][QUEUE_ID_LEN + 1];
	int p[2][2], i, k, st;
	pid_t pid[2];

	(void)state;
	for (k = 0; k < 2; k++) {
		assert_int_equal(pipe(p[k]), 0);
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0) {
			char id[QUEUE_ID_LEN + 1];

			close(p[k][0]);
			for (i = 0; i < PER; i++) {
				queue_id_new(id);
				if (write(p[k][1], id, sizeof(id)) !=
				    (ssize_t)sizeof(id))
					_exit(1);
			}
			_exit(0);
		}
		close(p[k][1]);
	}
	for (k = 0; k < 2; k++) {
		size_t off = 0, want = PER * sizeof(ids[0]);
		char *dst = (char *)ids[k * PER];
		ssize_t n;

		while (off < want &&
		    (n = read(p[k][0], dst + off, want - off)) > 0)
			off += (size_t)n;
		assert_int_equal(off, want);
		close(p[k][0]);
		assert_int_equal(waitpid(pid[k], &st, 0), pid[k]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (i = 0; i < 2 * PER; i++) {
		assert_int_equal(strlen(ids[i]), QUEUE_ID_LEN);
		assert_true(queue_id_valid(ids[i]));
		assert_int_equal(
		    strspn(ids[i], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
		    QUEUE_ID_LEN);
	}
	/* In order within one process (time-sortable). */
	for (i = 1; i < PER; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	qsort(ids, 2 * PER, sizeof(ids[0]), cmp_id);
	for (i = 1; i < 2 * PER; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
}

/* The tmpfs is unmounted in teardown, whatever the test did. */
static int
tiny_setup(void **state)
{
	static struct spool sp;

	spool_init(&sp, 1);
	*state = &sp;
	return 0;
}

static int
tiny_teardown(void **state)
{
	spool_done(*state);
	return 0;
}

static void
test_enqueue_enospc(void **state)
{
	struct spool *sp = *state;
	struct queue_file qf;
	char *big;

	sample(&qf);
	big = malloc(1 << 20);
	assert_non_null(big);
	for (size_t i = 0; i + 100 <= (1 << 20); i += 100) {
		memset(big + i, 'a', 98);
		memcpy(big + i + 98, "\r\n", 2);
	}
	qf.msg = big;
	qf.size = (1 << 20) / 100 * 100;
	assert_int_equal(queue_enqueue(sp->fd, &qf), -ENOSPC);
	assert_int_equal(count(sp->fd, "tmp"), 0);
	assert_int_equal(count(sp->fd, "queue"), 0);
	/* A small one still fits: the failure left no space taken. */
	sample(&qf);
	assert_int_equal(queue_enqueue(sp->fd, &qf), 0);
	assert_int_equal(count(sp->fd, "queue"), 1);
	free(big);
}

static void
test_clean_tmp(void **state)
{
	struct spool sp;
	struct stat st;

	(void)state;
	spool_init(&sp, 0);
	put(sp.fd, "outside", "keep", 4);
	put(sp.fd, "tmp/0000000000001", "a", 1);
	put(sp.fd, "tmp/junk", "b", 1);
	assert_int_equal(symlinkat("../outside", sp.fd, "tmp/link"), 0);
	assert_int_equal(mkdirat(sp.fd, "tmp/dir", 0700), 0);
	put(sp.fd, "tmp/dir/inner", "c", 1);
	put(sp.fd, "queue/0000000000002", "d", 1);
	assert_int_equal(queue_clean_tmp(sp.fd), 3);
	assert_int_equal(count(sp.fd, "tmp"), 1); /* dir */
	assert_int_equal(fstatat(sp.fd, "tmp/dir/inner", &st, 0), 0);
	assert_int_equal(fstatat(sp.fd, "outside", &st, 0), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(count(sp.fd, "queue"), 1);
	assert_int_equal(queue_clean_tmp(sp.fd), 0);
	/* tmp itself a symlink: refused, not followed. */
	assert_int_equal(unlinkat(sp.fd, "tmp/dir/inner", 0), 0);
	assert_int_equal(unlinkat(sp.fd, "tmp/dir", AT_REMOVEDIR), 0);
	assert_int_equal(unlinkat(sp.fd, "tmp", AT_REMOVEDIR), 0);
	assert_int_equal(symlinkat("queue", sp.fd, "tmp"), 0);
	assert_true(queue_clean_tmp(sp.fd) < 0);
	assert_int_equal(count(sp.fd, "queue"), 1);
	spool_done(&sp);
}

static void
test_read_untrusted(void **state)
{
	struct queue_file qf, *rd = NULL;
	struct spool sp;
	char text[2048];
	int qd, n;

	(void)state;
	spool_init(&sp, 0);
	sample(&qf);
	strlcpy(qf.id, "AAAAAAAAAAAAAAAA", sizeof(qf.id));
	n = expected(&qf, text, sizeof(text));
	qd = openat(sp.fd, "queue", O_RDONLY | O_DIRECTORY);
	put(qd, "AAAAAAAAAAAAAAAA", text, (size_t)n);
	assert_int_equal(queue_read(qd, "AAAAAAAAAAAAAAAA", &rd), 0);
	queue_free(rd);
	/* Names are ids only. */
	assert_int_equal(
	    queue_read(qd, "../queue/AAAAAAAAAAAAAAAA", &rd), -EINVAL);
	assert_null(rd);
	/* The id line must match the name. */
	put(qd, "BBBBBBBBBBBBBBBB", text, (size_t)n);
	assert_int_equal(queue_read(qd, "BBBBBBBBBBBBBBBB", &rd), -EINVAL);
	/* Symlink, hard link, fifo. */
	assert_int_equal(
	    symlinkat("AAAAAAAAAAAAAAAA", qd, "CCCCCCCCCCCCCCCC"), 0);
	assert_int_equal(queue_read(qd, "CCCCCCCCCCCCCCCC", &rd), -ELOOP);
	assert_int_equal(
	    linkat(qd, "AAAAAAAAAAAAAAAA", qd, "DDDDDDDDDDDDDDDD", 0), 0);
	assert_int_equal(queue_read(qd, "AAAAAAAAAAAAAAAA", &rd), -EPERM);
	assert_int_equal(unlinkat(qd, "DDDDDDDDDDDDDDDD", 0), 0);
	assert_int_equal(mkfifoat(qd, "EEEEEEEEEEEEEEEE", 0600), 0);
	assert_int_equal(queue_read(qd, "EEEEEEEEEEEEEEEE", &rd), -EPERM);
	assert_int_equal(queue_read(qd, "AAAAAAAAAAAAAAAA", &rd), 0);
	queue_free(rd);
	close(qd);
	spool_done(&sp);
}

/* Replace the first `from` in base with `to` and parse. */
static int
parse_edit(const char *base, const char *from, const char *to)
{
	struct queue_file *qf = NULL;
	char buf[4096];
	const char *at = strstr(base, from);
	int n, rv;

	assert_non_null(at);
	n = snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - base), base, to,
	    at + strlen(from));
	rv = queue_parse(buf, (size_t)n, &qf);
	if (rv == 0)
		assert_non_null(qf);
	else
		assert_null(qf);
	queue_free(qf);
	return rv;
}

static void
test_parse_strict(void **state)
{
	static const char *const bad[][2] = {
		{ "relayd-queue 1", "relayd-queue 2" },
		{ "id ", "id  " },
		{ "arrival 1700000000", "arrival 01700000000" },
		{ "arrival 1700000000", "arrival -1" },
		{ "arrival 1700000000", "arrival 99999999999999999999" },
		{ "client 192.0.2.1", "client 192.0.2.300" },
		{ "client 192.0.2.1", "client local:" },
		{ "client 192.0.2.1", "client local:04242" },
		{ "client 192.0.2.1", "client local:-1" },
		{ "client 192.0.2.1", "client local:4294967295" },
		{ "client 192.0.2.1", "client local:12345678901" },
		{ "client 192.0.2.1", "client local:42x" },
		{ "client 192.0.2.1", "client Local:42" },
		{ "client.example\n", "client example\n" },
		{ "client.example\n", "client.example\r\n" },
		{ "<a@example.net>", "<a@b@example.net>" },
		{ "<a@example.net>", "a@example.net" },
		{ "<a@example.net> BODY", "<a@example.net>  BODY" },
		{ "BODY=8BITMIME", "BODY=BINARYMIME" },
		{ "SMTPUTF8 RET=HDRS", "RET=HDRS SMTPUTF8" },
		{ "ENVID=abc+2B", "ENVID=abc+2B FOO=1" },
		{ "pending", "queued" },
		{ "NOTIFY=SUCCESS,FAILURE", "NOTIFY=FAILURE,SUCCESS" },
		{ "NOTIFY=SUCCESS,FAILURE", "NOTIFY=NEVER,SUCCESS" },
		{ "NOTIFY=SUCCESS,FAILURE", "NOTIFY=SUCCESS," },
		{ "ORCPT=rfc822;b@example.org", "ORCPT=b@example.org" },
		{ "rcpt <b@example.org>", "rcpt <>" },
		{ "rcpt <b@example.org>", "rcpt <postmaster@[tag:x]>" },
		{ "attempts 0", "attempts 1000001" },
		{ "next-try 0", "next-try" },
		{ "size 21", "size 22" },
		{ "size 21", "size 20" },
		{ "size 21\n\n", "size 21\n" },
		{ "hello\r\n", "hell\nxo\r\n" },
		{ "hello\r\n", "hello\r\r" },
		/* last-error: status, one space, printable text, once */
		{ "sent\n", "sent\nlast-error 5.1.1\n" },
		{ "sent\n", "sent\nlast-error 5.1.1 \n" },
		{ "sent\n", "sent\nlast-error 5.1 no\n" },
		{ "sent\n", "sent\nlast-error 3.1.1 no\n" },
		{ "sent\n", "sent\nlast-error 5.1.1 a\tb\n" },
		{ "sent\n", "sent\nlast-error 5.1.1 a\nlast-error 5.1.1 b\n" },
		{ "sent\n", "sent\nlast-error  5.1.1 a\n" },
		{ "rcpt <b@", "last-error 5.1.1 a\nrcpt <b@" },
	};
	struct queue_file qf, *rd = NULL;
	char text[2048];
	size_t i;
	int n;

	(void)state;
	sample(&qf);
	n = expected(&qf, text, sizeof(text));
	assert_int_equal(parse_edit(text, "relayd", "relayd"), 0);
	assert_int_equal(
	    parse_edit(text, "sent\n", "sent\nlast-error 4.4.1 a  b ~\n"), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_edit(text, bad[i][0], bad[i][1]) != -EINVAL)
			fail_msg("accepted: %s -> %s", bad[i][0], bad[i][1]);
	}
	/* Both recipients removed: no rcpt at all. */
	assert_int_equal(parse_edit(text,
			     "rcpt <b@example.org> pending "
			     "NOTIFY=SUCCESS,FAILURE "
			     "ORCPT=rfc822;b@example.org\nrcpt <\"c "
			     "d\"@example.org> sent\n",
			     ""),
	    -EINVAL);
	/* Accepted variants: null sender, unknown client, IPv6, no params. */
	assert_int_equal(parse_edit(text, "<a@example.net>", "<>"), 0);
	assert_int_equal(parse_edit(text, "192.0.2.1", "unknown"), 0);
	assert_int_equal(parse_edit(text, "192.0.2.1", "2001:db8::1"), 0);
	/* Local submissions: by uid, or "local" in older files. */
	assert_int_equal(parse_edit(text, "192.0.2.1", "local:4242"), 0);
	assert_int_equal(parse_edit(text, "192.0.2.1", "local:0"), 0);
	assert_int_equal(parse_edit(text, "192.0.2.1", "local"), 0);
	assert_int_equal(parse_edit(text, " NOTIFY=SUCCESS,FAILURE", ""), 0);
	/* Truncated anywhere: refused. */
	for (i = 0; i < (size_t)n; i++) {
		assert_int_not_equal(queue_parse(text, i, &rd), 0);
		assert_null(rd);
	}
	/* Envelope text round trip. */
	{
		char *env;
		size_t len;

		assert_int_equal(queue_envelope(&qf, &env, &len), 0);
		assert_int_equal(len, (size_t)n - (sizeof(msg) - 1));
		assert_memory_equal(env, text, len);
		free(env);
		strlcpy(qf.helo, "bad helo", sizeof(qf.helo));
		assert_int_equal(queue_envelope(&qf, &env, &len), -EINVAL);
		assert_null(env);
	}
}

/*
 * "client ADDR HELO trusted": the client was inside relay_from.  The
 * marker is optional (files without it read as untrusted) and exact.
 */
static void
test_client_trusted(void **state)
{
	static const char *const bad[] = { "client.example trusted \n",
		"client.example  trusted\n", "client.example Trusted\n",
		"client.example trusted trusted\n",
		"client.example untrusted\n", "client.example trustedx\n",
		"client.example \n" };
	static const char trusted_line[] =
	    "\nclient 192.0.2.1 client.example trusted\nsender ";
	struct queue_file qf, *rd = NULL;
	char text[2048], *env;
	size_t i, len;
	int n;

	(void)state;
	sample(&qf);
	n = expected(&qf, text, sizeof(text));
	assert_int_equal(queue_parse(text, (size_t)n, &rd), 0);
	assert_int_equal(rd->flags & QUEUE_F_TRUSTED, 0);
	queue_free(rd);
	qf.flags |= QUEUE_F_TRUSTED;
	assert_int_equal(queue_envelope(&qf, &env, &len), 0);
	assert_non_null(memmem(env, len, trusted_line, strlen(trusted_line)));
	free(env);
	/* the writer's text reads back with the flag */
	n = expected(&qf, text, sizeof(text));
	assert_int_equal(
	    parse_edit(text, "client.example\n", "client.example trusted\n"),
	    0);
	assert_int_equal(queue_envelope(&qf, &env, &len), 0);
	memcpy(text + len, msg, sizeof(msg) - 1);
	memcpy(text, env, len);
	free(env);
	assert_int_equal(queue_parse(text, len + sizeof(msg) - 1, &rd), 0);
	assert_int_equal(rd->flags, qf.flags);
	queue_free(rd);
	n = expected(&qf, text, sizeof(text));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_edit(text, "client.example\n", bad[i]) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
}

/* "local:UID" names the submitter; anything else names no one. */
static void
test_client_local(void **state)
{
	static const char *const no[] = { "local", "local:", "local:01",
		"local:4294967295", "local:99999999999", "local:1 ",
		"192.0.2.1", "unknown", "xlocal:1" };
	uid_t uid = 7;
	size_t i;

	(void)state;
	assert_int_equal(queue_client_local("local:4242", &uid), 1);
	assert_int_equal(uid, 4242);
	assert_int_equal(queue_client_local("local:0", &uid), 1);
	assert_int_equal(uid, 0);
	assert_int_equal(queue_client_local("local:4294967294", &uid), 1);
	assert_int_equal(uid, 4294967294u);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (queue_client_local(no[i], &uid) != 0)
			fail_msg("taken: '%s'", no[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enqueue_format),
		cmocka_unit_test(test_enqueue_excl),
		cmocka_unit_test(test_ids_unique),
		cmocka_unit_test_setup_teardown(
		    test_enqueue_enospc, tiny_setup, tiny_teardown),
		cmocka_unit_test(test_clean_tmp),
		cmocka_unit_test(test_read_untrusted),
		cmocka_unit_test(test_parse_strict),
		cmocka_unit_test(test_client_trusted),
		cmocka_unit_test(test_client_local),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
