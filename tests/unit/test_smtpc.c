/*
 * Unit tests for relayd/smtpc against a forked fake server on 127.0.0.1
 * (random port, smtpc_fake.h): a pipelined transaction with dot-stuffing
 * checked on the server side, connection reuse with RSET, HELO fallback,
 * refusals (8BITMIME, SMTPUTF8, SIZE), 4xx/5xx mixes, long-line folding
 * (hostile servers: test_smtpc_hostile.c).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
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

static const char ehlo_full[] = "250-fake.test hello\r\n"
				"250-PIPELINING\r\n"
				"250-SIZE 100000\r\n"
				"250 8BITMIME\r\n";

static const char msg7[] = "Subject: dots\r\n\r\n.leading dot\r\n"
			   "..two\r\nmiddle . dot\r\n.\r\nend";
static const char wire7[] = "Subject: dots\r\n\r\n..leading dot\r\n"
			    "...two\r\nmiddle . dot\r\n..\r\nend\r\n.\r\n";

static void
srv_normal(int fd)
{
	char line[1024], want[128], data[4096];
	int i;

	(void)snprintf(want, sizeof(want), "MAIL FROM:<s@a.test> SIZE=%zu\r\n",
	    sizeof(msg7) - 1);
	srv_send(fd, "220 fake.test ESMTP\r\n");
	srv_expect(fd, "EHLO client.test\r\n", 1);
	srv_send(fd, ehlo_full);
	/* Pipelined: MAIL and all RCPTs arrive before any reply. */
	srv_line(fd, line, sizeof(line));
	if (strcmp(line, want) != 0)
		_exit(2);
	for (i = 0; i < 3; i++)
		srv_expect(fd, "RCPT TO:<r", 3);
	srv_send(fd,
	    "250 2.1.0 ok\r\n250 2.1.5 ok\r\n"
	    "550-5.1.1 no such\r\n550 5.1.1 user\r\n"
	    "250 2.1.5 ok\r\n");
	srv_expect(fd, "DATA\r\n", 4);
	srv_send(fd, "354 go\r\n");
	srv_data(fd, data, sizeof(data));
	if (strcmp(data, wire7) != 0)
		_exit(5);
	srv_send(fd, "250 2.0.0 Ok: queued as ABC\r\n");
	/* Second transaction on the same connection. */
	srv_expect(fd, "RSET\r\n", 6);
	srv_send(fd, "250 2.0.0 ok\r\n");
	srv_expect(fd, "MAIL FROM:<> SIZE=", 7);
	srv_expect(fd, "RCPT TO:<r1@b.test>\r\n", 8);
	srv_send(fd, "250 ok\r\n250 ok\r\n");
	srv_expect(fd, "DATA\r\n", 9);
	srv_send(fd, "354 go\r\n");
	srv_data(fd, data, sizeof(data));
	srv_send(fd, "250 ok again\r\n");
	srv_expect(fd, "QUIT\r\n", 10);
	srv_send(fd, "221 bye\r\n");
	_exit(0);
}

static void
srv_helo(int fd)
{
	char data[4096];

	srv_send(fd, "220 old.test\r\n");
	srv_expect(fd, "EHLO client.test\r\n", 1);
	srv_send(fd, "502 what\r\n");
	srv_expect(fd, "HELO client.test\r\n", 2);
	srv_send(fd, "250 old.test\r\n");
	/* No PIPELINING: one command, one reply; no SIZE= either. */
	srv_expect(fd, "MAIL FROM:<s@a.test>\r\n", 3);
	srv_send(fd, "250 ok\r\n");
	srv_expect(fd, "RCPT TO:<r1@b.test>\r\n", 4);
	srv_send(fd, "250 ok\r\n");
	srv_expect(fd, "DATA\r\n", 5);
	srv_send(fd, "354 go\r\n");
	srv_data(fd, data, sizeof(data));
	srv_send(fd, "451 4.3.0 try later\r\n");
	srv_expect(fd, "QUIT\r\n", 6);
	_exit(0);
}

/* No 8BITMIME, no SMTPUTF8, SIZE 10: every send is refused locally. */
static void
srv_refuse(int fd)
{
	char line[1024];

	srv_send(fd, "220 small.test\r\n");
	srv_expect(fd, "EHLO", 1);
	srv_send(fd, "250-small.test\r\n250 SIZE 100\r\n");
	srv_line(fd, line, sizeof(line));
	_exit(strcmp(line, "QUIT\r\n") == 0 ? 0 : 2);
}

static void
srv_data451(int fd)
{
	srv_send(fd, "220 x\r\n");
	srv_expect(fd, "EHLO", 1);
	srv_send(fd, "250-x\r\n250 PIPELINING\r\n");
	srv_expect(fd, "MAIL", 2);
	srv_expect(fd, "RCPT", 3);
	srv_send(fd, "250 ok\r\n250 ok\r\n");
	srv_expect(fd, "DATA", 4);
	srv_send(fd, "451 4.3.0 local problem\r\n");
	srv_expect(fd, "QUIT", 5);
	_exit(0);
}

static void
test_normal(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[3], m;
	struct queue_file *qf = qf_new("<s@a.test>", msg7, 4);
	size_t idx[3] = { 1, 2, 3 }, one = 1;

	(void)state;
	fake_start(&f, srv_normal);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", NULL, NULL, &c, &st), 0);
	assert_int_equal(smtpc_extensions(c),
	    SMTPC_EXT_PIPELINING | SMTPC_EXT_SIZE | SMTPC_EXT_8BITMIME);
	assert_true(strncmp(smtpc_peer(c), "fake.test[127.0.0.1]:", 21) == 0);
	assert_int_equal(smtpc_send(c, qf, idx, 3, r, &m), 0);
	assert_int_equal(r[0].code, 250);
	assert_string_equal(r[0].status, "2.0.0");
	assert_string_equal(r[0].text, "250 2.0.0 Ok: queued as ABC");
	assert_int_equal(r[0].temporary, 0);
	assert_int_equal(r[1].code, 550);
	assert_string_equal(r[1].status, "5.1.1");
	assert_string_equal(r[1].text, "550 5.1.1 no such user");
	assert_int_equal(r[1].temporary, 0);
	assert_int_equal(r[2].code, 250);
	assert_int_equal(m.code, 250);
	/* The connection carries a second mail, after RSET. */
	(void)strlcpy(qf->sender, "<>", sizeof(qf->sender));
	assert_int_equal(smtpc_send(c, qf, &one, 1, r, &m), 0);
	assert_string_equal(r[0].text, "250 ok again");
	smtpc_quit(c);
	fake_done(&f);
	qf_free(qf);
}

static void
test_helo_fallback(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[1], m;
	struct queue_file *qf = qf_new("<s@a.test>", "x\r\n", 2);
	size_t idx = 1;

	(void)state;
	fake_start(&f, srv_helo);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", NULL, NULL, &c, &st), 0);
	assert_int_equal(smtpc_extensions(c), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &m), 0);
	assert_int_equal(r[0].code, 451);
	assert_int_equal(r[0].temporary, 1);
	assert_string_equal(r[0].status, "4.3.0");
	smtpc_quit(c);
	fake_done(&f);
	qf_free(qf);
}

static void
test_refusals(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[2], m;
	struct queue_file *qf = qf_new("<s@a.test>", "caf\xc3\xa9\r\n", 2);
	size_t idx[2] = { 0, 1 };

	(void)state;
	fake_start(&f, srv_refuse);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", NULL, NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, idx, 2, r, &m), 0);
	assert_int_equal(r[0].code, 0);
	assert_string_equal(r[1].status, "5.6.3");
	assert_int_equal(r[1].temporary, 0);
	assert_non_null(strstr(m.text, "does not support 8BITMIME"));
	/* UTF-8 in the envelope, no SMTPUTF8. */
	(void)strlcpy(qf->msg, "x\r\n", qf->size + 1);
	qf->size = 3;
	(void)strlcpy(
	    qf->rcpt[1].path, "<j\xc3\xb6rg@b.test>", sizeof(qf->rcpt[1].path));
	assert_int_equal(smtpc_send(c, qf, idx, 2, r, &m), 0);
	assert_string_equal(r[0].status, "5.6.7");
	assert_string_equal(m.status, "5.6.7");
	/* Bigger than the SIZE the server announced. */
	(void)strlcpy(
	    qf->rcpt[1].path, "<r1@b.test>", sizeof(qf->rcpt[1].path));
	qf->size = 101;
	free(qf->msg);
	qf->msg = calloc(1, 102);
	assert_non_null(qf->msg);
	memset(qf->msg, 'a', 101);
	assert_int_equal(smtpc_send(c, qf, idx, 2, r, &m), 0);
	assert_string_equal(r[1].status, "5.3.4");
	smtpc_quit(c);
	fake_done(&f);
	qf_free(qf);
}

static void
test_data_451(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[1], m;
	struct queue_file *qf = qf_new("<s@a.test>", "x\r\n", 1);
	size_t idx = 0;

	(void)state;
	fake_start(&f, srv_data451);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", fast(), NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &m), 0);
	assert_int_equal(r[0].code, 451);
	assert_int_equal(r[0].temporary, 1);
	assert_int_equal(m.code, 451);
	smtpc_quit(c);
	fake_done(&f);
	qf_free(qf);
}

/*
 * Long lines are folded as Postfix does (CRLF + space after 998 octets);
 * a line of exactly 998 is not; a stuffing dot is not counted; SIZE= is
 * the folded size.
 */
static char fold_msg[8192], fold_wire[8192];

static void
fold_build(void)
{
	char *m = fold_msg, *w = fold_wire;

#define PUT(p, s, n)             \
	do {                     \
		memcpy(p, s, n); \
		p += n;          \
	} while (0)
#define FILL(p, ch, n)            \
	do {                      \
		memset(p, ch, n); \
		p += n;           \
	} while (0)
	PUT(m, "Subject: long\r\n\r\n", 17);
	PUT(w, "Subject: long\r\n\r\n", 17);
	FILL(m, 'a', 998);
	PUT(m, "\r\n", 2);
	FILL(w, 'a', 998);
	PUT(w, "\r\n", 2);
	FILL(m, 'b', 999);
	PUT(m, "\r\n.", 3);
	FILL(w, 'b', 998);
	PUT(w, "\r\n b\r\n..", 8);
	FILL(m, 'c', 2499);
	PUT(m, "\r\n", 2);
	FILL(w, 'c', 997);
	PUT(w, "\r\n ", 3);
	FILL(w, 'c', 997);
	PUT(w, "\r\n ", 3);
	FILL(w, 'c', 505);
	PUT(w, "\r\n.\r\n", 5);
	*m = *w = '\0';
#undef PUT
#undef FILL
}

static void
srv_fold(int fd)
{
	char line[1024], want[128];
	static char data[8192];

	(void)snprintf(want, sizeof(want), "MAIL FROM:<s@a.test> SIZE=%zu\r\n",
	    strlen(fold_msg) + 9);
	srv_send(fd, "220 fake.test ESMTP\r\n");
	srv_expect(fd, "EHLO client.test\r\n", 1);
	srv_send(fd, ehlo_full);
	srv_line(fd, line, sizeof(line));
	if (strcmp(line, want) != 0)
		_exit(2);
	srv_expect(fd, "RCPT TO:<r0@b.test>\r\n", 3);
	srv_send(fd, "250 ok\r\n250 ok\r\n");
	srv_expect(fd, "DATA\r\n", 4);
	srv_send(fd, "354 go\r\n");
	srv_data(fd, data, sizeof(data));
	if (strcmp(data, fold_wire) != 0)
		_exit(5);
	srv_send(fd, "250 2.0.0 Ok\r\n");
	srv_expect(fd, "QUIT\r\n", 10);
	_exit(0);
}

static void
test_fold(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[1], m;
	struct queue_file *qf;
	size_t idx = 0;

	(void)state;
	fold_build();
	qf = qf_new("<s@a.test>", fold_msg, 1);
	fake_start(&f, srv_fold);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", fast(), NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &m), 0);
	assert_int_equal(m.code, 250);
	smtpc_quit(c);
	fake_done(&f);
	qf_free(qf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_data_451),
		cmocka_unit_test(test_fold),
	};

	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
