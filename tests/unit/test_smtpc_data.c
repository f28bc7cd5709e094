/*
 * Unit tests for relayd/smtpc sending a message a piece at a time
 * (SMTPC_DATA_CHUNK octets, from memory or from the locked queue file):
 * the fake server (smtpc_fake.h) compares what arrives with the message
 * dot-stuffed and folded whole by the rules, for messages whose dot
 * lines, CRLFs, bare CRs and LFs and long lines sit exactly on piece
 * boundaries; SIZE= is the folded size; a queue file that shrinks before
 * MAIL is a temporary failure with nothing sent, and one that shrinks in
 * the middle of DATA never gets its end of data.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "queue.h"
#include "route.h"
#include "smtpc.h"
#include "smtpc_fake.h"
#include "smtpc_int.h"
#include "tmptree.h"

#define B SMTPC_DATA_CHUNK /* a piece boundary */
#define MSG_MAX (6 * B)

static const char ehlo[] = "250-fake.test\r\n250-PIPELINING\r\n"
			   "250-SIZE 100000000\r\n250 8BITMIME\r\n";

/* What the server must see (set before the fork). */
static char want[2 * MSG_MAX];
static size_t want_len, want_size;
static char qpath[128]; /* the queue file, for the server to cut */
static off_t qcut; /* its length after the cut */

/* A message under construction. */
struct mb {
	char m[MSG_MAX];
	size_t n;
};

static void
put(struct mb *b, const char *s)
{
	size_t n = strlen(s);

	assert_true(b->n + n <= sizeof(b->m));
	memcpy(b->m + b->n, s, n);
	b->n += n;
}

static void
fill(struct mb *b, char ch, size_t n)
{
	assert_true(b->n + n <= sizeof(b->m));
	memset(b->m + b->n, ch, n);
	b->n += n;
}

/* Lines of 'f' up to exactly pos, the last one ending in CRLF at pos. */
static void
pad_to(struct mb *b, size_t pos)
{
	assert_true(pos >= b->n + 2);
	while (pos - b->n > 160) {
		fill(b, 'f', 78);
		put(b, "\r\n");
	}
	fill(b, 'g', pos - b->n - 2);
	put(b, "\r\n");
}

/*
 * m[0..n) as it must go out, done whole and octet by octet: a '.' that
 * starts a line (after LF or a bare CR) doubled, CRLF and a space before
 * an octet that is not a line end when the line has 998 octets, CRLF
 * added unless it ends in one, then ".\r\n".  *size: SIZE=.
 */
static size_t
wire_of(const char *m, size_t n, char *w, size_t *size)
{
	size_t i, o = 0, col = 0;
	int bol = 1, eol;

	*size = n;
	for (i = 0; i < n; i++) {
		eol = m[i] == '\n' ||
		    (m[i] == '\r' && i + 1 < n && m[i + 1] == '\n');
		if (!eol && col >= 998) {
			memcpy(w + o, "\r\n ", 3);
			o += 3;
			*size += 3;
			col = 1;
		}
		if (bol && m[i] == '.')
			w[o++] = '.';
		w[o++] = m[i];
		bol = m[i] == '\n' || (m[i] == '\r' && !eol);
		col = bol ? 0 : eol ? col : col + 1;
	}
	if (n > 0 && (n < 2 || m[n - 2] != '\r' || m[n - 1] != '\n')) {
		memcpy(w + o, "\r\n", 2);
		o += 2;
	}
	memcpy(w + o, ".\r\n", 3);
	return o + 3;
}

/* A valid queue message with its hard cases on boundaries. */
static void
valid_msg(struct mb *b)
{
	b->n = 0;
	put(b, "Subject: pieces\r\n\r\n");
	pad_to(b, B); /* a dot line starting exactly on the boundary */
	put(b, ".dot on the boundary\r\n..two\r\n.\r\n");
	pad_to(b, 2 * B - 10); /* a CRLF cut by it, then a dot line */
	put(b, "123456789\r\n.after the cut\r\n");
	pad_to(b, 3 * B - 1200); /* a long line across it */
	fill(b, 'L', 2500);
	put(b, "\r\n");
	pad_to(b, 4 * B - 998); /* a fold exactly on it */
	fill(b, 'M', 1500);
	put(b, "\r\n");
	pad_to(b, 5 * B - 999); /* 998 octets, its CR last before it */
	fill(b, 'N', 998);
	put(b, "\r\n.\r\n..\r\n");
	pad_to(b, 5 * B + 300);
	assert_memory_equal(b->m + B - 2, "\r\n.", 3);
	assert_memory_equal(b->m + 2 * B - 1, "\r\n.", 3);
	assert_memory_equal(b->m + 4 * B - 1, "MM", 2);
	assert_memory_equal(b->m + 5 * B - 2, "N\r\n.", 4);
}

/* Not a valid queue message, but what the client must cope with. */
static void
hostile_msg(struct mb *b)
{
	b->n = 0;
	pad_to(b, B - 1); /* a bare CR last, a dot first */
	put(b, "\r.x\r\n");
	pad_to(b, 2 * B - 1); /* a bare LF first, then a dot */
	put(b, "x\n.y\r\n");
	pad_to(b, 3 * B - 2); /* CR CR LF across */
	put(b, "\r\r\n.z\r\n");
	pad_to(b, 4 * B - 999); /* 998 octets, then a bare CR on it */
	fill(b, 'P', 998);
	put(b, "\rx\r\n");
	pad_to(b, 5 * B);
	put(b, "z"); /* no CRLF at the end, just past a boundary */
	assert_memory_equal(b->m + B - 1, "\r.", 2);
	assert_memory_equal(b->m + 2 * B - 1, "x\n.", 3);
	assert_memory_equal(b->m + 3 * B - 2, "\r\r\n.", 4);
	assert_memory_equal(b->m + 4 * B - 2, "P\rx", 3);
	assert_int_equal(b->n, 5 * B + 1);
}

static void
srv_wire(int fd)
{
	static char data[sizeof(want)];
	char line[1024], mail[128];
	size_t n;

	(void)snprintf(
	    mail, sizeof(mail), "MAIL FROM:<s@a.test> SIZE=%zu\r\n", want_size);
	srv_send(fd, "220 fake.test ESMTP\r\n");
	srv_expect(fd, "EHLO client.test\r\n", 1);
	srv_send(fd, ehlo);
	srv_line(fd, line, sizeof(line));
	if (strcmp(line, mail) != 0)
		_exit(2);
	srv_expect(fd, "RCPT TO:<r0@b.test>\r\n", 3);
	srv_send(fd, "250 ok\r\n250 ok\r\n");
	srv_expect(fd, "DATA\r\n", 4);
	srv_send(fd, "354 go\r\n");
	n = srv_data(fd, data, sizeof(data));
	if (n != want_len || memcmp(data, want, n) != 0)
		_exit(5);
	srv_send(fd, "250 2.0.0 Ok\r\n");
	srv_expect(fd, "QUIT\r\n", 6);
	srv_send(fd, "221 bye\r\n");
	_exit(0);
}

/* Send qf to a server that wants it exactly as wire_of says. */
static void
send_and_compare(struct queue_file *qf, const char *m, size_t n)
{
	struct smtpc_status st, r[1], ms;
	struct smtpc *c = NULL;
	struct fake f;
	size_t idx = 0;

	want_len = wire_of(m, n, want, &want_size);
	fake_start(&f, srv_wire);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", NULL, NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &ms), 0);
	assert_int_equal(r[0].code, 250);
	smtpc_quit(c);
	fake_done(&f);
}

static struct queue_file *
mem_qf(const char *m, size_t n)
{
	struct queue_file *qf = qf_new("<s@a.test>", "", 1);

	free(qf->msg);
	qf->msg = malloc(n);
	assert_non_null(qf->msg);
	memcpy(qf->msg, m, n);
	qf->size = n;
	return qf;
}

static void
test_pieces_in_memory(void **state)
{
	static struct mb b;
	struct queue_file *qf;

	(void)state;
	valid_msg(&b);
	qf = mem_qf(b.m, b.n);
	send_and_compare(qf, b.m, b.n);
	qf_free(qf);
	hostile_msg(&b);
	qf = mem_qf(b.m, b.n);
	send_and_compare(qf, b.m, b.n);
	qf_free(qf);
}

struct spool {
	char dir[64];
	int fd;
};

static struct queue_rcpt rcpt;

/* b enqueued in a new spool and read back: *qf has it in its file. */
static void
queued(struct spool *sp, const struct mb *b, int *msgfd, struct queue_file **qf)
{
	struct queue_file w;
	int qd;

	strlcpy(sp->dir, "/tmp/relayd-smtpcd-XXXXXX", sizeof(sp->dir));
	assert_non_null(mkdtemp(sp->dir));
	sp->fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(sp->fd >= 0);
	assert_int_equal(mkdirat(sp->fd, "tmp", 0700), 0);
	assert_int_equal(mkdirat(sp->fd, "queue", 0700), 0);
	memset(&w, 0, sizeof(w));
	memset(&rcpt, 0, sizeof(rcpt));
	queue_id_new(w.id);
	strlcpy(w.client, "192.0.2.1", sizeof(w.client));
	strlcpy(w.helo, "client.example", sizeof(w.helo));
	strlcpy(w.sender, "<s@a.test>", sizeof(w.sender));
	strlcpy(rcpt.path, "<r0@b.test>", sizeof(rcpt.path));
	w.rcpt = &rcpt;
	w.nrcpt = 1;
	w.msg = (char *)b->m;
	w.size = b->n;
	assert_int_equal(queue_enqueue(sp->fd, &w), 0);
	qd = openat(sp->fd, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(qd >= 0);
	*msgfd = openat(qd, w.id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(*msgfd >= 0);
	/* As qupdate_lock() reads it for a delivery worker. */
	assert_int_equal(queue_read_fd(qd, w.id, *msgfd, qf), 0);
	close(qd);
	assert_null((*qf)->msg);
	(void)snprintf(qpath, sizeof(qpath), "%s/queue/%s", sp->dir, w.id);
}

static void
spool_done(struct spool *sp, int *msgfd, struct queue_file *qf)
{
	close(*msgfd);
	queue_free(qf);
	close(sp->fd);
	assert_int_equal(tmptree_remove(sp->dir), 0);
}

static void
test_pieces_from_queue_file(void **state)
{
	static struct mb b;
	struct queue_file *qf;
	struct spool sp;
	int msgfd;

	(void)state;
	valid_msg(&b);
	queued(&sp, &b, &msgfd, &qf);
	send_and_compare(qf, b.m, b.n);
	spool_done(&sp, &msgfd, qf);
}

/* Cut before MAIL: nothing is said about the message at all. */
static void
srv_no_mail(int fd)
{
	srv_send(fd, "220 fake.test ESMTP\r\n");
	srv_expect(fd, "EHLO client.test\r\n", 1);
	srv_send(fd, ehlo);
	srv_expect(fd, "QUIT\r\n", 2);
	srv_send(fd, "221 bye\r\n");
	_exit(0);
}

/* Cut after DATA: part of the message comes, never its end. */
static void
srv_cut(int fd)
{
	static char data[sizeof(want)];
	size_t n = 0;
	ssize_t r;

	srv_send(fd, "220 fake.test ESMTP\r\n");
	srv_expect(fd, "EHLO client.test\r\n", 1);
	srv_send(fd, ehlo);
	srv_expect(fd, "MAIL FROM:<s@a.test> SIZE=", 2);
	srv_expect(fd, "RCPT TO:<r0@b.test>\r\n", 3);
	srv_send(fd, "250 ok\r\n250 ok\r\n");
	srv_expect(fd, "DATA\r\n", 4);
	if (truncate(qpath, qcut) != 0)
		_exit(5);
	srv_send(fd, "354 go\r\n");
	while ((r = read(fd, data + n, sizeof(data) - n)) > 0)
		n += (size_t)r;
	/*
	 * No end of data, and no command as if the message were over (a
	 * reset may drop what was in flight: only the end matters).
	 */
	if (memmem(data, n, "\r\n.\r\n", 5) != NULL ||
	    memmem(data, n, "QUIT", 4) != NULL)
		_exit(6);
	_exit(0);
}

static void
test_unreadable(void **state)
{
	static struct mb b;
	struct smtpc_status st, r[1], ms;
	struct queue_file *qf;
	struct smtpc *c = NULL;
	struct spool sp;
	struct fake f;
	size_t idx = 0;
	int msgfd;

	(void)state;
	valid_msg(&b);
	queued(&sp, &b, &msgfd, &qf);
	assert_int_equal(truncate(qpath, qf->msgoff + 3 * B), 0);
	fake_start(&f, srv_no_mail);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", NULL, NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &ms), 0);
	assert_int_equal(r[0].code, 0);
	assert_int_equal(r[0].temporary, 1);
	assert_string_equal(r[0].status, "4.3.0");
	assert_non_null(strstr(r[0].text, "cannot read the message"));
	smtpc_quit(c);
	fake_done(&f);
	spool_done(&sp, &msgfd, qf);

	queued(&sp, &b, &msgfd, &qf);
	qcut = qf->msgoff + 2 * B + 10;
	fake_start(&f, srv_cut);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", NULL, NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &ms), -1);
	assert_int_equal(r[0].temporary, 1);
	assert_string_equal(r[0].status, "4.3.0");
	assert_non_null(strstr(r[0].text, "cannot read the message"));
	smtpc_quit(c); /* SO_LINGER 0: a reset, not the end of data */
	fake_done(&f);
	spool_done(&sp, &msgfd, qf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pieces_in_memory),
		cmocka_unit_test(test_pieces_from_queue_file),
		cmocka_unit_test(test_unreadable),
	};

	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
