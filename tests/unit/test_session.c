/*
 * Unit tests for relayd/session, the dialogue: greeting, EHLO and the
 * other commands, PIPELINING, command-line and address limits, relay
 * policy, pre-greeting talk, RSET, bare LF and the command timeout.
 * Message data (DATA/BDAT) is in test_session_data.c.
 */
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "session_fixture.h"

static void
test_greeting_ehlo(void **state)
{
	struct conn c;

	greet(*state, &c, 0);
	says(&c, "MAIL FROM:<a@example.net>\r\n");
	expect(&c, "503 5.5.1 Error: send HELO/EHLO first\r\n");
	says(&c, "EHLO client.example\r\n");
	assert_string_equal(reply(&c),
	    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n"
	    "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n"
	    "250 CHUNKING\r\n");
	says(&c, "HELO client.example\r\n");
	expect(&c, "250 mx.test\r\n");
	says(&c, "NOOP\r\n");
	expect(&c, "250 2.0.0 Ok\r\n");
	says(&c, "HELP\r\n");
	expect(&c, "214 2.0.0 ");
	says(&c, "VRFY root\r\n");
	expect(&c, "252 2.5.2 ");
	says(&c, "EXPN staff\r\n");
	expect(&c, "502 5.5.1 ");
	says(&c, "STARTTLS\r\n");
	expect(&c, "502 5.5.1 ");
	says(&c, "FOO\r\n");
	expect(&c, "500 5.5.1 Command unrecognized\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 2.0.0 Bye\r\n");
	expect_eof(&c);
	finish(&c);
}

static const char env1[] = "sender <a@example.net> BODY=8BITMIME\n"
			   "rcpt <b@example.org> pending NOTIFY=SUCCESS\n";

static void
test_mail_queued(void **state)
{
	struct fx *f = *state;
	struct conn c;
	char id[40];

	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net> BODY=8BITMIME\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");
	says(&c, "RCPT TO:<b@example.org> NOTIFY=SUCCESS\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "DATA\r\n");
	expect(&c, "354 ");
	says(&c, "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n");
	queued_id(f, &c, id);
	check_file(f, id, env1, "\r\n\tfor <b@example.org>;\r\n",
	    "Subject: hi\r\n\r\n.dot\r\nbody\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
}

static const char env2[] = "sender <>\n"
			   "rcpt <b@example.org> pending\n"
			   "rcpt <c@example.org> pending\n";

static void
test_pipelining(void **state)
{
	struct fx *f = *state;
	struct conn c;
	char id[40];

	greet(f, &c, 1);
	/* One write, RFC 2920: the replies come back in order. */
	says(&c,
	    "MAIL FROM:<>\r\nRCPT TO:<b@example.org>\r\n"
	    "RCPT TO:<c@example.org>\r\nDATA\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	expect(&c, "354 ");
	says(&c, "x\r\n.\r\nNOOP\r\nQUIT\r\n");
	queued_id(f, &c, id);
	expect(&c, "250 2.0.0 Ok\r\n");
	expect(&c, "221 2.0.0 Bye\r\n");
	expect_eof(&c);
	finish(&c);
	check_file(f, id, env2, ";\r\n", "x\r\n");
}

/* A domain of n octets (labels of 50), valid per RFC 5321. */
static void
domain(char *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		d[i] = i % 51 == 50 ? '.' : 'd';
	d[n] = '\0';
}

static void
test_limits_command(void **state)
{
	struct fx *f = *state;
	char line[6000], dom[300], loc[100];
	struct conn c;

	greet(f, &c, 1);
	/* 512 octets with CRLF is fine, 513 is not, and we stay in sync. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 510, "\r\n", 2);
	say(&c, line, 512);
	expect(&c, "250 2.0.0 Ok\r\n");
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 511, "\r\n", 2);
	say(&c, line, 513);
	expect(&c, "500 5.5.2 Line too long\r\n");
	memset(line, 'x', sizeof(line));
	memcpy(line, "NOOP ", 5);
	memcpy(line + 5000, "\r\nNOOP\r\n", 8);
	say(&c, line, 5008);
	expect(&c, "500 5.5.2 Line too long\r\n");
	expect(&c, "250 2.0.0 Ok\r\n");

	/* SIZE= */
	says(&c, "MAIL FROM:<a@example.net> SIZE=10001\r\n");
	expect(&c, "552 5.3.4 ");
	says(&c, "MAIL FROM:<a@example.net> SIZE=10000\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");

	/* A path of 256 octets with the brackets is fine, 257 is not. */
	domain(dom, 256 - 2 - 11);
	snprintf(line, sizeof(line), "RCPT TO:<0123456789@%s>\r\n", dom);
	says(&c, line);
	expect(&c, "250 2.1.5 Ok\r\n");
	domain(dom, 257 - 2 - 11);
	snprintf(line, sizeof(line), "RCPT TO:<0123456789@%s>\r\n", dom);
	says(&c, line);
	expect(&c, "501 5.1.3 ");

	/* Local part: 64 octets fine, 65 not. */
	memset(loc, 'l', 64);
	loc[64] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>\r\n", loc);
	says(&c, line);
	expect(&c, "250 2.1.5 Ok\r\n");
	memset(loc, 'l', 65);
	loc[65] = '\0';
	snprintf(line, sizeof(line), "RCPT TO:<%s@example.org>\r\n", loc);
	says(&c, line);
	expect(&c, "501 5.1.3 ");

	/* max_recipients = 3 */
	says(&c, "RCPT TO:<c@example.org>\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "RCPT TO:<d@example.org>\r\n");
	expect(&c, "452 4.5.3 Too many recipients\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

static void
test_relay(void **state)
{
	struct fx *f = *state;
	struct conn c;

	peer_set(f, "192.0.2.1"); /* outside relay_from 127.0.0.0/8 */
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\n");
	expect(&c, "250 2.1.0 Ok\r\n");
	says(&c, "RCPT TO:<x@other.net>\r\n");
	expect(&c, "554 5.7.1 <x@other.net>: Relaying denied\r\n");
	says(&c, "RCPT TO:<x@sub.example.org>\r\n");
	expect(&c, "554 5.7.1 <x@sub.example.org>: Relaying denied\r\n");
	says(&c, "RCPT TO:<x@[127.0.0.1]>\r\n");
	expect(&c, "554 5.7.1 ");
	says(&c, "RCPT TO:<y@Example.ORG>\r\n");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	/* Outside relay_from it waited greet_pause out: the master hears. */
	finish_status(&c, SESSION_EXIT_REPORT | SESSION_EXIT_PASSED);

	peer_set(f, "::1");
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@other.net>\r\n");
	expect(&c, "250 ");
	expect(&c, "554 5.7.1 <x@other.net>: Relaying denied\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish_status(&c, SESSION_EXIT_REPORT | SESSION_EXIT_PASSED);

	peer_set(f, "127.0.0.2"); /* inside: any domain */
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<x@other.net>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 2.1.5 Ok\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

static void
test_pregreet(void **state)
{
	struct fx *f = *state;
	struct conn c;

	/*
	 * Outside relay_from, so the session waits greet_pause (1 s) and
	 * sees the early EHLO whatever the load: a relay_from client gets
	 * no pause, only a check of what is already there, which a write
	 * right after the fork may or may not beat.
	 */
	peer_set(f, "192.0.2.7");
	start(f, &c);
	says(&c, "EHLO fast.example\r\n");
	expect(&c, "554 5.5.1 Protocol error: talking too soon\r\n");
	expect_eof(&c);
	finish(&c);
}

static void
test_rset(void **state)
{
	struct fx *f = *state;
	struct conn c;

	greet(f, &c, 1);
	says(&c, "RCPT TO:<b@example.org>\r\n");
	expect(&c, "503 5.5.1 Error: need MAIL command\r\n");
	says(&c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "MAIL FROM:<a@example.net>\r\n");
	expect(&c, "250 2.1.0 ");
	expect(&c, "250 2.1.5 ");
	expect(&c, "503 5.5.1 Error: nested MAIL command\r\n");
	says(&c, "RSET\r\nDATA\r\n");
	expect(&c, "250 2.0.0 Ok\r\n");
	expect(&c, "503 5.5.1 Error: need MAIL command\r\n");
	says(&c, "MAIL FROM:<a@example.net>\r\nDATA\r\n");
	expect(&c, "250 2.1.0 ");
	expect(&c, "503 5.5.1 Error: need RCPT command\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

static void
test_bare_lf_command(void **state)
{
	struct conn c;

	greet(*state, &c, 1);
	says(&c, "NOOP\nMAIL FROM:<a@example.net>\r\n");
	expect(&c, "500 5.5.2 Bare LF in command\r\n");
	expect_eof(&c);
	finish(&c);
}

static void
test_timeout_command(void **state)
{
	struct fx *f = *state;
	struct timespec t0, t1;
	struct conn c;
	double dt;

	f->cfg.timeout_command = 1;
	greet(f, &c, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect(&c, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(dt > 0.8 && dt < 4.0);
	expect_eof(&c);
	finish(&c);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char *argv[])
{
	extern char **environ;

	const struct CMUnitTest tests[] = {
		T(test_greeting_ehlo),
		T(test_mail_queued),
		T(test_pipelining),
		T(test_limits_command),
		T(test_relay),
		T(test_pregreet),
		T(test_rset),
		T(test_bare_lf_command),
		T(test_timeout_command),
	};

	/* The session sets titles; without this libbsd warns on stderr. */
	setproctitle_init(argc, argv, environ);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
