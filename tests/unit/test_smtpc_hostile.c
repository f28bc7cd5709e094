/*
 * Unit tests for relayd/smtpc against hostile or failing servers (the fake
 * server of smtpc_fake.h): a huge line, endless continuations, garbage,
 * silence, a 10 MB flood, a stall after RCPT, 421 mid-transaction, and a
 * refused connection.  Each ends in a temporary failure within the
 * timeouts, never a hang or a crash.
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

static void
srv_long_line(int fd)
{
	static char big[100 * 1024 + 3];

	memset(big, 'x', sizeof(big) - 3);
	memcpy(big, "220 ", 4);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	/* The client hangs up after about 2 kB: errors are expected. */
	(void)send(fd, big, sizeof(big) - 1, MSG_NOSIGNAL);
	_exit(0);
}

static void
srv_continuations(int fd)
{
	int i;

	srv_send(fd, "220 x\r\n");
	srv_expect(fd, "EHLO", 1);
	for (i = 0; i < 10000; i++)
		if (send(fd, "250-AUTH PLAIN\r\n", 16, MSG_NOSIGNAL) != 16)
			_exit(0); /* the client hung up early: good */
	(void)send(fd, "250 x\r\n", 7, MSG_NOSIGNAL);
	_exit(0);
}

static void
srv_garbage(int fd)
{
	static const char g[] = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"
				"\r\n\xff\xfe\x00\x00garbage\r\n";

	char b;

	(void)send(fd, g, sizeof(g) - 1, MSG_NOSIGNAL);
	(void)read(fd, &b, 1); /* until the client hangs up */
	_exit(0);
}

static void
srv_silent(int fd)
{
	char b;

	(void)read(fd, &b, 1); /* says nothing until the client hangs up */
	_exit(0);
}

/* A greeting, then 10 MB without a line end; the client must hang up. */
static void
srv_flood(int fd)
{
	static char chunk[65536];
	size_t sent = 0;
	ssize_t w;

	memset(chunk, '2', sizeof(chunk));
	while (sent < 10 * 1024 * 1024) {
		if ((w = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL)) <= 0)
			_exit(0); /* refused after a bounded read: good */
		sent += (size_t)w;
	}
	_exit(1);
}

/* RCPT replies never come. */
static void
srv_stall(int fd)
{
	srv_send(fd, "220 x\r\n");
	srv_expect(fd, "EHLO", 1);
	srv_send(fd, "250-x\r\n250 PIPELINING\r\n");
	srv_expect(fd, "MAIL", 2);
	srv_send(fd, "250 ok\r\n");
	(void)sleep(10);
	_exit(0);
}

static void
srv_421(int fd)
{
	srv_send(fd, "220 x\r\n");
	srv_expect(fd, "EHLO", 1);
	srv_send(fd, "250 x\r\n");
	srv_expect(fd, "MAIL", 2);
	srv_send(fd, "250 ok\r\n");
	srv_expect(fd, "RCPT", 3);
	srv_send(fd, "421 4.3.2 shutting down\r\n");
	(void)sleep(2);
	_exit(0);
}

/* A server that fails smtpc_connect with a temporary, explained error. */
static void
hostile_connect(void (*fn)(int), const char *want)
{
	struct fake f;
	struct smtpc *c = (void *)1;
	struct smtpc_status st;

	fake_start(&f, fn);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", fast(), NULL, &c, &st), -1);
	assert_null(c);
	assert_int_equal(st.code, 0);
	assert_int_equal(st.temporary, 1);
	assert_string_equal(st.status, "4.4.2");
	if (strstr(st.text, want) == NULL ||
	    strstr(st.text, "fake.test[127.0.0.1]:") == NULL)
		fail_msg("text '%s' lacks '%s'", st.text, want);
	fake_done(&f);
}

static void
test_hostile_long_line(void **state)
{
	(void)state;
	hostile_connect(srv_long_line, "protocol error with fake.test[");
	hostile_connect(srv_long_line, "reply line too long");
}

static void
test_hostile_continuations(void **state)
{
	(void)state;
	hostile_connect(srv_continuations, "too many reply lines");
}

static void
test_hostile_garbage(void **state)
{
	(void)state;
	hostile_connect(srv_garbage, "bad reply code");
}

static void
test_hostile_silent(void **state)
{
	(void)state;
	hostile_connect(srv_silent, "lost connection with fake.test[");
	hostile_connect(srv_silent, "timeout");
}

static void
test_hostile_flood(void **state)
{
	(void)state;
	hostile_connect(srv_flood, "reply line too long");
}

static void
test_stall_rcpt(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[2], m;
	struct queue_file *qf = qf_new("<s@a.test>", "x\r\n", 2);
	size_t idx[2] = { 0, 1 };

	(void)state;
	fake_start(&f, srv_stall);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", fast(), NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, idx, 2, r, &m), -1);
	assert_int_equal(r[0].code, 0);
	assert_int_equal(r[0].temporary, 1);
	assert_int_equal(r[1].temporary, 1);
	assert_string_equal(r[1].status, "4.4.2");
	assert_non_null(strstr(r[1].text, "after RCPT TO: timeout"));
	/* A broken connection refuses further work cleanly. */
	assert_int_equal(smtpc_send(c, qf, idx, 2, r, &m), -1);
	assert_int_equal(r[0].temporary, 1);
	smtpc_quit(c);
	(void)kill(f.pid, SIGTERM);
	(void)waitpid(f.pid, NULL, 0);
	qf_free(qf);
}

static void
test_421(void **state)
{
	struct fake f;
	struct smtpc *c = NULL;
	struct smtpc_status st, r[1], m;
	struct queue_file *qf = qf_new("<s@a.test>", "x\r\n", 1);
	size_t idx = 0;

	(void)state;
	fake_start(&f, srv_421);
	assert_int_equal(
	    smtpc_connect(&f.hop, "client.test", fast(), NULL, &c, &st), 0);
	assert_int_equal(smtpc_send(c, qf, &idx, 1, r, &m), -1);
	assert_int_equal(r[0].code, 421);
	assert_int_equal(r[0].temporary, 1);
	assert_string_equal(r[0].text, "421 4.3.2 shutting down");
	smtpc_quit(c); /* no QUIT after 421 */
	fake_done(&f);
	qf_free(qf);
}

static void
test_connect_refused(void **state)
{
	struct route_hop hop;
	struct sockaddr_in *sin = (struct sockaddr_in *)&hop.addr;
	struct smtpc *c = NULL;
	struct smtpc_status st;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t sl = sizeof(*sin);

	(void)state;
	memset(&hop, 0, sizeof(hop));
	(void)strlcpy(hop.host, "closed.test", sizeof(hop.host));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &sl), 0);
	hop.addrlen = sizeof(*sin);
	(void)close(fd); /* nobody listens there now */
	assert_int_equal(
	    smtpc_connect(&hop, "client.test", fast(), NULL, &c, &st), -1);
	assert_int_equal(st.code, 0);
	assert_int_equal(st.temporary, 1);
	assert_string_equal(st.status, "4.4.1");
	assert_non_null(strstr(st.text, "Connection refused"));
	smtpc_quit(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_long_line),
		cmocka_unit_test(test_hostile_continuations),
		cmocka_unit_test(test_hostile_garbage),
		cmocka_unit_test(test_hostile_silent),
		cmocka_unit_test(test_hostile_flood),
		cmocka_unit_test(test_stall_rcpt),
		cmocka_unit_test(test_421),
		cmocka_unit_test(test_connect_refused),
	};

	(void)signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
