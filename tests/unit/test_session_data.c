/*
 * Unit tests for relayd/session, message data: DATA and BDAT limits,
 * SMTP smuggling (bare CR/LF end-of-data look-alikes), BDAT chunking,
 * the data timeouts and a queue that cannot take the message.
 * Session in a forked child, client here, temp spool under /tmp.
 */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "session_fixture.h"

/* DATA with body, returning the reply to end-of-data. */
static const char *
send_message(struct conn *c, const char *body, size_t len)
{
	says(c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "DATA\r\n");
	expect(c, "250 2.1.0 Ok\r\n");
	expect(c, "250 2.1.5 Ok\r\n");
	expect(c, "354 ");
	say(c, body, len);
	return reply(c);
}

static const char env1[] = "sender <a@example.net>\n"
			   "rcpt <b@example.org> pending\n";

static void
test_limits_data(void **state)
{
	struct fx *f = *state;
	static char body[20000];
	struct conn c;
	char id[40];
	size_t n;

	/* By default a long line is mail like any other (as Postfix). */
	greet(f, &c, 1);
	memset(body, 'L', 5000);
	memcpy(body + 5000, "\r\n.\r\n", 5);
	send_message(&c, body, 5005);
	if (sscanf(c.reply, "250 2.0.0 Ok: queued as %32[0-9A-Z]", id) != 1)
		fail_msg("%s", c.reply);
	body[5002] = '\0';
	check_file(f, id, env1, "\r\n\tfor <b@example.org>;\r\n", body);
	/* A NUL is refused, and nothing is kept. */
	assert_string_equal(send_message(&c, "a\0b\r\n.\r\n", 8),
	    "554 5.6.0 NUL octet in message data not allowed\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
	assert_int_equal(count(f->spoolfd, "tmp"), 0);

	/* max_line_length = 1000: 1000 octets with CRLF fine, 1001 not. */
	f->cfg.max_line_length = 1000;
	greet(f, &c, 1);
	memset(body, 't', 998);
	memcpy(body + 998, "\r\n.\r\n", 5);
	send_message(&c, body, 1003);
	if (sscanf(c.reply, "250 2.0.0 Ok: queued as %32[0-9A-Z]", id) != 1)
		fail_msg("%s", c.reply);
	memset(body, 't', 999);
	memcpy(body + 999, "\r\n.\r\n", 5);
	assert_string_equal(send_message(&c, body, 1004),
	    "552 5.6.0 Message line too long\r\n");

	/* max_message_size = 10000 message octets */
	for (n = 0; n + 100 <= 10100; n += 100) {
		memset(body + n, 'm', 98);
		memcpy(body + n + 98, "\r\n", 2);
	}
	memcpy(body + 10000, ".\r\n", 3);
	send_message(&c, body, 10003);
	if (strncmp(c.reply, "250 2.0.0 Ok: queued as ", 24) != 0)
		fail_msg("%s", c.reply);
	memcpy(body + 10000, "mm\r\n.\r\n", 7);
	assert_string_equal(send_message(&c, body, 10007),
	    "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 3);
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
}

static void
test_smuggling(void **state)
{
	static const char *const seps[] = {
		"\n.\n", /* <LF>.<LF> */
		"\r.\r", /* <CR>.<CR> */
		"\n.\r\n", /* <LF>.<CRLF> */
		"\r\n.\n", /* <CRLF>.<LF> */
		"\r\n.\r", /* <CRLF>.<CR> */
		"\r.\r\n", /* <CR>.<CRLF> */
		"\nbare lf\r\n", /* bare LF in a line */
		"\rbare cr\r\n", /* bare CR in a line */
	};
	struct fx *f = *state;
	char body[1024];
	struct conn c;
	size_t i;
	int n;

	greet(f, &c, 1);
	for (i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
		/* A hidden second transaction after the fake end. */
		n = snprintf(body, sizeof(body),
		    "Subject: first\r\n\r\nfirst%s"
		    "MAIL FROM:<evil@example.net>\r\n"
		    "RCPT TO:<victim@example.org>\r\nDATA\r\n"
		    "Subject: hidden\r\n\r\nsmuggled\r\n.\r\nNOOP\r\n",
		    seps[i]);
		send_message(&c, body, (size_t)n);
		if (strcmp(c.reply,
			"550 5.6.11 Bare CR or LF in message data "
			"not allowed\r\n") != 0)
			fail_msg("sep %zu: %s", i, c.reply);
		/* The next reply is the NOOP's: nothing else was run. */
		expect(&c, "250 2.0.0 Ok\r\n");
		assert_int_equal(count(f->spoolfd, "queue"), 0);
		assert_int_equal(count(f->spoolfd, "tmp"), 0);
	}
	/* Dot-stuffed look-alikes are content, not commands. */
	n = snprintf(body, sizeof(body),
	    "Subject: ok\r\n\r\n..\r\nMAIL FROM:<evil@example.net>\r\n"
	    ".\r\n");
	send_message(&c, body, (size_t)n);
	assert_int_equal(strncmp(c.reply, "250 2.0.0 Ok: queued as ", 24), 0);
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	expect_eof(&c);
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
}

static const char env3[] = "sender <a@example.net>\n"
			   "rcpt <b@example.org> pending\n";

static void
test_bdat(void **state)
{
	static const char c1[] = "Subject: b\r\n", c2[] = "\r\nQUIT\r\nend";
	struct fx *f = *state;
	struct conn c;
	char buf[256], id[40];

	greet(f, &c, 1);
	/* Chunk octets are never commands, even on a refused BDAT. */
	says(&c, "BDAT 6\r\nNOOP\r\nQUIT\r\n");
	expect(&c, "503 5.5.1 Error: need MAIL command\r\n");
	expect(&c, "221 ");
	expect_eof(&c);
	finish(&c);

	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 ");
	snprintf(buf, sizeof(buf), "BDAT %zu\r\n%s", strlen(c1), c1);
	says(&c, buf);
	expect(&c, "250 2.0.0 Ok: 12 octets received\r\n");
	says(&c, "DATA\r\n");
	expect(&c, "503 5.5.1 Error: DATA after BDAT\r\n");
	snprintf(buf, sizeof(buf), "BDAT %zu LAST\r\n%s", strlen(c2), c2);
	says(&c, buf);
	queued_id(f, &c, id);
	check_file(f, id, env3, "\r\n\tfor <b@example.org>;\r\n",
	    "Subject: b\r\n\r\nQUIT\r\nend\r\n");

	/* Bare LF across a chunk, CR as the very last octet. */
	says(&c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "BDAT 2\r\nabBDAT 2 LAST\r\n\nx");
	expect(&c, "250 ");
	expect(&c, "250 ");
	expect(&c, "250 2.0.0 Ok: 2 octets received\r\n");
	expect(&c, "550 5.6.11 ");
	says(&c,
	    "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n"
	    "BDAT 2 LAST\r\nx\r");
	expect(&c, "250 ");
	expect(&c, "250 ");
	expect(&c, "550 5.6.11 ");
	/* Too big, counted over chunks. */
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 ");
	for (int i = 0; i < 11; i++) {
		static char chunk[1000];

		memset(chunk, 'z', sizeof(chunk));
		memcpy(chunk + 998, "\r\n", 2);
		says(&c, i == 10 ? "BDAT 1000 LAST\r\n" : "BDAT 1000\r\n");
		say(&c, chunk, sizeof(chunk));
		expect(&c, i == 10 ? "552 5.3.4 " : "250 2.0.0 Ok: 1000 ");
	}
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 1);
}

static void
test_timeout_data(void **state)
{
	struct fx *f = *state;
	struct conn c;
	char big[2000];

	f->cfg.timeout_data_block = 1;
	greet(f, &c, 1);
	send_message(&c, "Subject: slow\r\n\r\npartial\r\n", 26);
	assert_string_equal(
	    c.reply, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	expect_eof(&c);
	finish(&c);
	/* A BDAT chunk that never completes. */
	greet(f, &c, 1);
	says(&c, "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n");
	expect(&c, "250 ");
	expect(&c, "250 ");
	memset(big, 'b', sizeof(big));
	says(&c, "BDAT 5000 LAST\r\n");
	say(&c, big, sizeof(big));
	expect(&c, "421 4.4.2 mx.test Error: timeout exceeded\r\n");
	expect_eof(&c);
	finish(&c);
	assert_int_equal(count(f->spoolfd, "queue"), 0);
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
}

static void
test_queue_error(void **state)
{
	struct fx *f = *state;
	struct conn c;

	/* No queue/ to rename into: 451, and nothing left in tmp/. */
	assert_int_equal(unlinkat(f->spoolfd, "queue", AT_REMOVEDIR), 0);
	greet(f, &c, 1);
	send_message(&c, "x\r\n.\r\n", 6);
	assert_string_equal(
	    c.reply, "451 4.3.0 Error: queue file write error\r\n");
	assert_int_equal(count(f->spoolfd, "tmp"), 0);
	says(&c, "QUIT\r\n");
	expect(&c, "221 ");
	finish(&c);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(int argc, char *argv[])
{
	extern char **environ;

	const struct CMUnitTest tests[] = {
		T(test_limits_data),
		T(test_smuggling),
		T(test_bdat),
		T(test_timeout_data),
		T(test_queue_error),
	};

	/* The session sets titles; without this libbsd warns on stderr. */
	setproctitle_init(argc, argv, environ);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
