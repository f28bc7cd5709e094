/*
 * Unit tests for relayd/dsn: the RFC 3464 bounce as a queue file (null
 * sender, one recipient: the original sender), its MIME structure
 * (multipart/report; report-type=delivery-status, boundary, three
 * parts), per-recipient fields, RET=FULL vs headers, NOTIFY, SMTPUTF8,
 * and no DSN at all for a <> sender.  From a locked queue file (the
 * message not in memory): the same quote, headers capped at DSN_HDRS_MAX
 * and cut after a line end, and no bounce at all if the file shrank.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dsn.h"
#include "tmpspool.h"
#include "tmptree.h"

static struct queue_rcpt rcpts[3];
static char msg[] = "From: <alice@example.net>\r\n"
		    "Subject: the original\r\n"
		    "Message-ID: <m1@example.net>\r\n"
		    "\r\n"
		    "the secret body\r\n";

static void
sample(struct queue_file *qf)
{
	memset(qf, 0, sizeof(*qf));
	memset(rcpts, 0, sizeof(rcpts));
	strlcpy(qf->id, "1K13M7DWXVW00FES", sizeof(qf->id));
	qf->arrival = 1700000000;
	strlcpy(qf->client, "192.0.2.1", sizeof(qf->client));
	strlcpy(qf->helo, "client.example", sizeof(qf->helo));
	strlcpy(qf->sender, "<alice@example.net>", sizeof(qf->sender));
	strlcpy(qf->envid, "env+2B1", sizeof(qf->envid));
	strlcpy(rcpts[0].path, "<bob@example.org>", sizeof(rcpts[0].path));
	rcpts[0].state = QUEUE_RCPT_FAILED;
	strlcpy(
	    rcpts[0].orcpt, "rfc822;Bob+40example.org", sizeof(rcpts[0].orcpt));
	assert_int_equal(queue_error_set(&rcpts[0], "5.1.1",
			     "550 5.1.1 <bob@example.org>: no such user"),
	    0);
	strlcpy(rcpts[1].path, "<carol@example.org>", sizeof(rcpts[1].path));
	rcpts[1].state = QUEUE_RCPT_FAILED;
	assert_int_equal(queue_error_set(&rcpts[1], "4.4.1",
			     "connect to mx.example.org[192.0.2.9]:25: "
			     "Connection refused"),
	    0);
	strlcpy(rcpts[2].path, "<dave@example.org>", sizeof(rcpts[2].path));
	rcpts[2].state = QUEUE_RCPT_FAILED;
	rcpts[2].notify = SMTP_NOTIFY_SUCCESS; /* no failure DSN wanted */
	assert_int_equal(
	    queue_error_set(&rcpts[2], "5.7.1", "550 5.7.1 no"), 0);
	qf->rcpt = rcpts;
	qf->nrcpt = 3;
	qf->msg = msg;
	qf->size = sizeof(msg) - 1;
}

/* The value of header name in the header block of m (first match). */
static char *
header(const char *m, const char *name, char *buf, size_t len)
{
	const char *end = strstr(m, "\r\n\r\n"), *p = m;
	size_t n = strlen(name), k;

	assert_non_null(end);
	while (p < end) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			/* unfold: continuation lines start with a tab */
			for (k = 0; p < end + 2 && k + 1 < len; p++) {
				if (p[0] == '\r' && p[1] == '\n') {
					if (p[2] != '\t' && p[2] != ' ')
						break;
					p += 2;
					buf[k++] = ' ';
					continue;
				}
				buf[k++] = *p;
			}
			buf[k] = '\0';
			return buf;
		}
		p = strstr(p, "\r\n") + 2;
	}
	return NULL;
}

/* The parts of a multipart body by boundary b; returns how many. */
static int
parts(const char *m, const char *b, const char **part, size_t *plen, int max)
{
	char delim[512];
	const char *p, *q;
	int n = 0;

	snprintf(delim, sizeof(delim), "\r\n--%s", b);
	p = strstr(m, delim);
	assert_non_null(p);
	for (;;) {
		p += strlen(delim);
		if (strncmp(p, "--\r\n", 4) == 0)
			return n;
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
		q = strstr(p, delim);
		assert_non_null(q);
		assert_true(n < max);
		part[n] = p;
		plen[n] = (size_t)(q - p);
		n++;
		p = q;
	}
}

static char *
part_str(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void
build(struct queue_file *qf, struct queue_file **d)
{
	size_t idx[] = { 0, 1, 2 };

	*d = NULL;
	assert_int_equal(dsn_build(qf, idx, 3, "relay.test", 1700003600, d), 0);
	assert_non_null(*d);
}

/* RFC 2046: a boundary is at most 70 characters, even for a long name. */
static void
test_boundary_long_hostname(void **state)
{
	struct queue_file qf, *d = NULL;
	size_t idx[] = { 0, 1, 2 };
	char host[254], v[1024], *m, *p, *q;
	size_t i;

	(void)state;
	for (i = 0; i + 1 < sizeof(host); i++)
		host[i] = (i % 64 == 63) ? '.' : 'a';
	host[sizeof(host) - 1] = '\0';
	sample(&qf);
	assert_int_equal(dsn_build(&qf, idx, 3, host, 1700003600, &d), 0);
	m = part_str(d->msg, d->size);
	assert_non_null(header(m, "Content-Type", v, sizeof(v)));
	assert_non_null(p = strstr(v, "boundary=\""));
	p += 10;
	assert_non_null(q = strchr(p, '"'));
	if (q - p > 70)
		fail_msg("boundary of %d characters: %.*s", (int)(q - p),
		    (int)(q - p), p);
	free(m);
	queue_free(d);
}

static void
test_envelope(void **state)
{
	struct queue_file qf, *d, *back = NULL;
	char *env;
	size_t len, i;

	(void)state;
	sample(&qf);
	build(&qf, &d);
	/* Null sender, one pending recipient: the original sender. */
	assert_string_equal(d->sender, "<>");
	assert_int_equal(d->nrcpt, 1);
	assert_string_equal(d->rcpt[0].path, "<alice@example.net>");
	assert_int_equal(d->rcpt[0].state, QUEUE_RCPT_PENDING);
	assert_true(queue_id_valid(d->id));
	assert_string_not_equal(d->id, qf.id);
	assert_int_equal(d->arrival, 1700003600);
	assert_int_equal(d->flags, 0); /* 7-bit, no SMTPUTF8 */
	/* It is a valid queue file: written and parsed back whole. */
	assert_int_equal(queue_envelope(d, &env, &len), 0);
	env = realloc(env, len + d->size);
	assert_non_null(env);
	memcpy(env + len, d->msg, d->size);
	assert_int_equal(queue_parse(env, len + d->size, &back), 0);
	assert_int_equal(back->size, d->size);
	/* CRLF only, 7-bit, lines within RFC 5322's 998. */
	for (i = 0; i < d->size; i++) {
		assert_true((unsigned char)d->msg[i] < 0x80);
		if (d->msg[i] == '\n')
			assert_int_equal(d->msg[i - 1], '\r');
	}
	free(env);
	queue_free(back);
	queue_free(d);
}

static void
test_structure(void **state)
{
	struct queue_file qf, *d;
	const char *part[8];
	size_t plen[8];
	char v[1024], bnd[512], *m, *p, *s;
	int n;

	(void)state;
	sample(&qf);
	build(&qf, &d);
	m = part_str(d->msg, d->size);
	assert_string_equal(header(m, "From", v, sizeof(v)),
	    "MAILER-DAEMON@relay.test (Mail Delivery System)");
	assert_string_equal(header(m, "To", v, sizeof(v)), "alice@example.net");
	assert_string_equal(
	    header(m, "Auto-Submitted", v, sizeof(v)), "auto-replied");
	assert_string_equal(header(m, "MIME-Version", v, sizeof(v)), "1.0");
	assert_non_null(header(m, "Date", v, sizeof(v)));
	assert_string_equal(v, "Tue, 14 Nov 2023 23:13:20 +0000");
	header(m, "Content-Type", v, sizeof(v));
	assert_non_null(strstr(v, "multipart/report;"));
	assert_non_null(strstr(v, "report-type=delivery-status;"));
	p = strstr(v, "boundary=\"");
	assert_non_null(p);
	strlcpy(bnd, p + 10, sizeof(bnd));
	assert_non_null(strchr(bnd, '"'));
	*strchr(bnd, '"') = '\0';
	assert_true(strlen(bnd) > 10 && strlen(bnd) <= 70); /* RFC 2046 */
	/* The boundary occurs nowhere in what it encloses. */
	assert_null(memmem(qf.msg, qf.size, bnd, strlen(bnd)));

	n = parts(m, bnd, part, plen, 8);
	assert_int_equal(n, 3);
	s = part_str(part[0], plen[0]);
	assert_non_null(strstr(s, "Content-Type: text/plain"));
	assert_non_null(strstr(s, "<bob@example.org>: 550 5.1.1"));
	assert_null(strstr(s, "dave@example.org"));
	free(s);

	s = part_str(part[1], plen[1]);
	assert_non_null(
	    strstr(s, "Content-Type: message/delivery-status\r\n\r\n"));
	assert_non_null(strstr(s, "\r\nReporting-MTA: dns; relay.test\r\n"));
	assert_non_null(strstr(s, "\r\nOriginal-Envelope-Id: env+1\r\n"));
	assert_non_null(
	    strstr(s, "\r\nArrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	/* One block per wanted recipient, separated by an empty line. */
	assert_non_null(strstr(s,
	    "\r\n\r\nFinal-Recipient: rfc822; bob@example.org\r\n"
	    "Original-Recipient: rfc822;Bob@example.org\r\n"
	    "Action: failed\r\nStatus: 5.1.1\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.org>: no such "
	    "user\r\n"));
	assert_non_null(strstr(s,
	    "\r\n\r\nFinal-Recipient: rfc822; carol@example.org\r\n"
	    "Action: failed\r\nStatus: 4.4.1\r\n"
	    "Diagnostic-Code: X-Relayd; connect to "
	    "mx.example.org[192.0.2.9]:25: Connection refused\r\n"));
	/* NOTIFY=SUCCESS: no failure report for dave. */
	assert_null(strstr(s, "dave@example.org"));
	free(s);

	/* Default (and RET=HDRS): the headers only, never the body. */
	s = part_str(part[2], plen[2]);
	assert_non_null(strstr(s,
	    "Content-Type: text/rfc822-headers\r\n\r\n"
	    "From: <alice@example.net>\r\nSubject: the original\r\n"
	    "Message-ID: <m1@example.net>\r\n"));
	assert_null(strstr(s, "the secret body"));
	free(s);
	free(m);
	queue_free(d);
}

static void
test_ret_full(void **state)
{
	struct queue_file qf, *d;
	char *m, *p;

	(void)state;
	sample(&qf);
	qf.flags |= QUEUE_F_RET_FULL | QUEUE_F_TRUSTED;
	build(&qf, &d);
	m = part_str(d->msg, d->size);
	p = strstr(m, "Content-Type: message/rfc822\r\n\r\n");
	assert_non_null(p);
	p += strlen("Content-Type: message/rfc822\r\n\r\n");
	assert_memory_equal(p, msg, sizeof(msg) - 1);
	assert_null(strstr(m, "rfc822-headers"));
	free(m);
	queue_free(d);
}

/*
 * Backscatter: a client outside relay_from may forge the sender, so its
 * bounce returns the headers only, whatever RET it asked for.
 */
static void
test_ret_full_untrusted(void **state)
{
	struct queue_file qf, *d;
	char *m, *p;

	(void)state;
	sample(&qf);
	qf.flags |= QUEUE_F_RET_FULL | QUEUE_F_TRUSTED;
	build(&qf, &d);
	m = part_str(d->msg, d->size);
	assert_non_null(strstr(m, "the secret body"));
	assert_non_null(strstr(m, "Content-Type: message/rfc822\r\n\r\n"));
	free(m);
	queue_free(d);

	qf.flags &= ~QUEUE_F_TRUSTED;
	build(&qf, &d);
	m = part_str(d->msg, d->size);
	assert_null(strstr(m, "the secret body"));
	assert_null(strstr(m, "Content-Type: message/rfc822\r\n"));
	p = strstr(m, "Content-Type: text/rfc822-headers\r\n\r\n");
	assert_non_null(p);
	p += strlen("Content-Type: text/rfc822-headers\r\n\r\n");
	/* the original header section, up to its empty line, then the end */
	assert_memory_equal(p, msg, strstr(msg, "\r\n\r\n") + 2 - msg);
	free(m);
	queue_free(d);
}

static void
test_no_dsn(void **state)
{
	struct queue_file qf, *d = (struct queue_file *)1;
	size_t idx[] = { 0, 1 }, two[] = { 2 };

	(void)state;
	sample(&qf);
	/* Never a bounce for a bounce. */
	strlcpy(qf.sender, "<>", sizeof(qf.sender));
	assert_false(dsn_wanted(&qf, &qf.rcpt[0]));
	assert_int_equal(dsn_build(&qf, idx, 2, "relay.test", 1, &d), 0);
	assert_null(d);
	/* Only recipients that did not ask for failure reports: none. */
	sample(&qf);
	d = (struct queue_file *)1;
	assert_int_equal(dsn_build(&qf, two, 1, "relay.test", 1, &d), 0);
	assert_null(d);
	qf.rcpt[0].notify = SMTP_NOTIFY_NEVER;
	assert_false(dsn_wanted(&qf, &qf.rcpt[0]));
	qf.rcpt[0].notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY;
	assert_true(dsn_wanted(&qf, &qf.rcpt[0]));
	/* A bad index is refused. */
	idx[1] = 7;
	assert_int_equal(dsn_build(&qf, idx, 2, "relay.test", 1, &d), -EINVAL);
	assert_null(d);
}

static void
test_smtputf8(void **state)
{
	struct queue_file qf, *d;
	char *m;

	(void)state;
	sample(&qf);
	qf.flags |= QUEUE_F_SMTPUTF8;
	strlcpy(qf.sender, "<j\xc3\xb6rg@example.net>", sizeof(qf.sender));
	strlcpy(qf.rcpt[0].path, "<b\xc3\xb6@example.org>",
	    sizeof(qf.rcpt[0].path));
	build(&qf, &d);
	assert_true(d->flags & QUEUE_F_SMTPUTF8);
	assert_true(d->flags & QUEUE_F_8BITMIME);
	assert_string_equal(d->rcpt[0].path, "<j\xc3\xb6rg@example.net>");
	m = part_str(d->msg, d->size);
	assert_non_null(strstr(m, "message/global-delivery-status"));
	assert_non_null(strstr(m, "message/global-headers"));
	assert_non_null(
	    strstr(m, "Final-Recipient: utf-8; b\xc3\xb6@example.org\r\n"));
	free(m);
	queue_free(d);
}

/* The third part of d (the original) after its own header; malloc'ed. */
static char *
quoted(const struct queue_file *d, size_t *len)
{
	const char *part[8], *p;
	char v[1024], bnd[512], *m, *out;
	size_t plen[8];

	m = part_str(d->msg, d->size);
	assert_non_null(header(m, "Content-Type", v, sizeof(v)));
	assert_non_null(p = strstr(v, "boundary=\""));
	strlcpy(bnd, p + 10, sizeof(bnd));
	*strchr(bnd, '"') = '\0';
	assert_int_equal(parts(m, bnd, part, plen, 8), 3);
	assert_non_null(p = memmem(part[2], plen[2], "\r\n\r\n", 4));
	p += 4;
	*len = plen[2] - (size_t)(p - part[2]);
	out = part_str(p, *len);
	free(m);
	return out;
}

struct spool {
	char dir[64];
	int fd, msgfd;
};

/* qf (its message m[0..n)) queued and read back: the message stays there. */
static struct queue_file *
from_file(struct spool *sp, struct queue_file *qf, char *m, size_t n)
{
	struct queue_file *rd = NULL;
	int qd;

	sp->fd = tmpspool_new(
	    sp->dir, sizeof(sp->dir), "dsn", "tmp", "queue", (char *)NULL);
	qf->msg = m;
	qf->size = n;
	assert_int_equal(queue_enqueue(sp->fd, qf), 0);
	qd = openat(sp->fd, "queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(qd >= 0);
	sp->msgfd = openat(qd, qf->id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	assert_true(sp->msgfd >= 0);
	/* As qupdate_lock() reads it for a delivery worker. */
	assert_int_equal(queue_read_fd(qd, qf->id, sp->msgfd, &rd), 0);
	close(qd);
	assert_null(rd->msg);
	return rd;
}

static void
spool_done(struct spool *sp, struct queue_file *rd)
{
	close(sp->msgfd);
	queue_free(rd);
	close(sp->fd);
	assert_int_equal(tmptree_remove(sp->dir), 0);
}

/* From the queue file: the same quote as from memory, headers or all. */
static void
test_from_file(void **state)
{
	struct queue_file qf, *rd, *d;
	struct spool sp;
	char *q;
	size_t len, hdrs = (size_t)(strstr(msg, "\r\n\r\n") + 2 - msg);

	(void)state;
	sample(&qf);
	rd = from_file(&sp, &qf, msg, sizeof(msg) - 1);
	build(rd, &d);
	q = quoted(d, &len);
	assert_int_equal(len, hdrs);
	assert_memory_equal(q, msg, hdrs);
	free(q);
	queue_free(d);
	spool_done(&sp, rd);

	sample(&qf);
	qf.flags |= QUEUE_F_RET_FULL | QUEUE_F_TRUSTED;
	rd = from_file(&sp, &qf, msg, sizeof(msg) - 1);
	build(rd, &d);
	q = quoted(d, &len);
	assert_int_equal(len, sizeof(msg) - 1);
	assert_memory_equal(q, msg, len);
	free(q);
	queue_free(d);
	spool_done(&sp, rd);
}

/*
 * A header section bigger than DSN_HDRS_MAX: what is quoted is its
 * start, cut after a line end, never the body.  A message without an
 * empty line (all header) that fits is quoted whole.
 */
static void
test_headers_capped(void **state)
{
	size_t n = 0, len, i;
	char *big = malloc(300000), *q, v[90];
	struct queue_file qf, *rd, *d;
	struct spool sp;

	(void)state;
	assert_non_null(big);
	memset(v, 'v', sizeof(v));
	for (i = 0; n < 200000; i++)
		n += (size_t)snprintf(big + n, 300000 - n,
		    "X-Header-%05zu: %.*s\r\n", i, (int)(i % 90), v);
	n += (size_t)snprintf(big + n, 300000 - n, "\r\nthe secret body\r\n");
	sample(&qf);
	rd = from_file(&sp, &qf, big, n);
	build(rd, &d);
	q = quoted(d, &len);
	assert_true(len <= DSN_HDRS_MAX && len > DSN_HDRS_MAX - 200);
	assert_memory_equal(q, big, len);
	assert_memory_equal(q + len - 2, "\r\n", 2);
	assert_null(memmem(q, len, "secret", 6));
	free(q);
	queue_free(d);
	spool_done(&sp, rd);

	/* No empty line, within the cap: all of it, as before. */
	sample(&qf);
	n = (size_t)((char *)memmem(big + 5000, 1000, "\r\n", 2) - big) + 2;
	rd = from_file(&sp, &qf, big, n);
	build(rd, &d);
	q = quoted(d, &len);
	assert_int_equal(len, n);
	assert_memory_equal(q, big, n);
	free(q);
	queue_free(d);
	spool_done(&sp, rd);
	free(big);
}

/* The file shrank after it was checked: no bounce with a short quote. */
static void
test_unreadable(void **state)
{
	struct queue_file qf, *rd, *d = NULL;
	size_t idx[] = { 0, 1, 2 };
	struct spool sp;
	char path[128];

	(void)state;
	sample(&qf);
	qf.flags |= QUEUE_F_RET_FULL | QUEUE_F_TRUSTED;
	rd = from_file(&sp, &qf, msg, sizeof(msg) - 1);
	snprintf(path, sizeof(path), "%s/queue/%s", sp.dir, qf.id);
	assert_int_equal(truncate(path, rd->msgoff + 10), 0);
	assert_int_equal(
	    dsn_build(rd, idx, 3, "relay.test", 1700003600, &d), -EIO);
	assert_null(d);
	spool_done(&sp, rd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_boundary_long_hostname),
		cmocka_unit_test(test_ret_full),
		cmocka_unit_test(test_ret_full_untrusted),
		cmocka_unit_test(test_no_dsn),
		cmocka_unit_test(test_smtputf8),
		cmocka_unit_test(test_from_file),
		cmocka_unit_test(test_headers_capped),
		cmocka_unit_test(test_unreadable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
