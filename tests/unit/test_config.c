/*
 * relayd.conf parser: defaults, every key, every error kind with its line
 * and key, the inih dialect we pin, the shipped sample, and config_load()'s
 * checks on the file itself (in a temporary directory).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static struct config *cfg;

static int
setup(void **state)
{
	(void)state;
	if ((cfg = malloc(sizeof(*cfg))) == NULL)
		return -1;
	config_defaults(cfg);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(cfg);
	return 0;
}

static int
parse(const char *text, struct config_error *err)
{
	config_defaults(cfg);
	return config_parse(text, strlen(text), "t.conf", cfg, err);
}

/* text must fail on line with key, and msg must contain part. */
static void
expect_err(const char *text, size_t line, const char *key, const char *part)
{
	struct config_error err;
	int rv = parse(text, &err);

	if (rv != -EINVAL || err.line != line || strcmp(err.key, key) != 0 ||
	    strstr(err.msg, part) == NULL)
		fail_msg("for:\n%s\ngot %d %s:%zu: %s: %s\nwant %s:%zu: %s: "
			 "...%s...",
		    text, rv, err.file, err.line, err.key, err.msg, "t.conf",
		    line, key, part);
	assert_string_equal(err.file, "t.conf");
}

/* One row of a table of texts that must fail (see expect_err). */
struct err_case {
	const char *text;
	size_t line;
	const char *key;
	const char *part;
};

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

static void
expect_errs(const struct err_case *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		expect_err(c[i].text, c[i].line, c[i].key, c[i].part);
}

static void
expect_ok(const char *text)
{
	struct config_error err;
	int rv = parse(text, &err);

	if (rv != 0)
		fail_msg("for:\n%s\ngot %d %s:%zu: %s: %s", text, rv, err.file,
		    err.line, err.key, err.msg);
}

static void
assert_addr(
    const struct sockaddr_storage *ss, int af, const char *addr, unsigned port)
{
	char buf[INET6_ADDRSTRLEN];
	const void *a;
	unsigned p;

	assert_int_equal(ss->ss_family, af);
	if (af == AF_INET) {
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		p = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else {
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		p = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	assert_non_null(inet_ntop(af, a, buf, sizeof(buf)));
	assert_string_equal(buf, addr);
	assert_int_equal(p, port);
}

static void
test_defaults(void **state)
{
	char host[256] = "";

	(void)state;
	config_defaults(cfg);
	(void)gethostname(host, sizeof(host) - 1);
	assert_string_equal(cfg->hostname, host);
	assert_string_equal(cfg->run_as, "sendmail");
	assert_string_equal(cfg->spool, "/var/spool/mqueue");
	assert_int_equal(cfg->nlisten, 2);
	assert_string_equal(cfg->listen[0].text, "0.0.0.0:25");
	assert_addr(&cfg->listen[0].ss, AF_INET, "0.0.0.0", 25);
	assert_int_equal(cfg->listen[0].len, sizeof(struct sockaddr_in));
	assert_string_equal(cfg->listen[1].text, "[::]:25");
	assert_addr(&cfg->listen[1].ss, AF_INET6, "::", 25);
	assert_int_equal(cfg->listen[1].len, sizeof(struct sockaddr_in6));
	assert_int_equal(cfg->nrelay_from, 2);
	assert_addr(&cfg->relay_from[0].addr, AF_INET, "127.0.0.0", 0);
	assert_int_equal(cfg->relay_from[0].prefix, 8);
	assert_addr(&cfg->relay_from[1].addr, AF_INET6, "::1", 0);
	assert_int_equal(cfg->relay_from[1].prefix, 128);
	assert_int_equal(cfg->nrelay_domains, 0);
	assert_string_equal(cfg->relay_recipients, "");
	assert_string_equal(cfg->smarthost, "");
	assert_string_equal(cfg->resolver, "");
	assert_string_equal(cfg->transport_file, "");
	assert_int_equal(cfg->max_message_size, 10485760);
	assert_int_equal(cfg->max_recipients, 100);
	assert_int_equal(cfg->max_children, 100);
	assert_int_equal(cfg->max_per_ip, 10);
	assert_int_equal(cfg->max_hops, 50);
	assert_int_equal(cfg->greet_pause, 1);
	assert_int_equal(cfg->timeout_greeting, 300);
	assert_int_equal(cfg->timeout_command, 300);
	assert_int_equal(cfg->timeout_data_init, 120);
	assert_int_equal(cfg->timeout_data_block, 180);
	assert_int_equal(cfg->timeout_data_term, 600);
	assert_int_equal(cfg->queue_lifetime, 5 * 86400);
	assert_int_equal(cfg->retry_min, 300);
	assert_int_equal(cfg->retry_max, 3600);
	assert_int_equal(cfg->chroot, 0);
	assert_string_equal(cfg->pidfile, "/run/relayd.pid");
	assert_int_equal(cfg->nmilter, 0);
}

static void
test_every_key(void **state)
{
	(void)state;
	expect_ok("# a comment\n"
		  "; another\n"
		  "[relayd]\n"
		  "hostname = relay.example.org\n"
		  "run_as = relay\n"
		  "spool = /srv/queue\n"
		  "listen = 127.0.0.1:10025, [::1]:10025 *:2525\n"
		  "relay_from = 10.0.0.0/8 192.0.2.7, 2001:db8::/32\n"
		  "relay_domains = Example.COM, example.net.\n"
		  "relay_recipients = /etc/mail/relay_recipients\n"
		  "smarthost = [mail.example.net]:587\n"
		  "resolver = 127.0.0.53\n"
		  "transport = /etc/mail/transport\n"
		  "max_message_size = 20M\n"
		  "max_recipients = 500\n"
		  "max_children = 7\n"
		  "max_per_ip = 3\n"
		  "max_hops = 30\n"
		  "greet_pause = 5s\n"
		  "timeout_greeting = 1m\n"
		  "timeout_command = 45s\n"
		  "timeout_data_init = 2\n"
		  "timeout_data_block = 1h\n"
		  "timeout_data_term = 30m\n"
		  "queue_lifetime = 2w\n"
		  "retry = 1m 2h\n"
		  "chroot = yes\n"
		  "pidfile = /run/relayd/relayd.pid\n"
		  "milter = inet:8891@127.0.0.1, inet:10025@::1\n");
	assert_string_equal(cfg->hostname, "relay.example.org");
	assert_string_equal(cfg->run_as, "relay");
	assert_string_equal(cfg->spool, "/srv/queue");
	assert_int_equal(cfg->nlisten, 4);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:10025");
	assert_addr(&cfg->listen[0].ss, AF_INET, "127.0.0.1", 10025);
	assert_string_equal(cfg->listen[1].text, "[::1]:10025");
	assert_addr(&cfg->listen[1].ss, AF_INET6, "::1", 10025);
	assert_string_equal(cfg->listen[2].text, "0.0.0.0:2525");
	assert_string_equal(cfg->listen[3].text, "[::]:2525");
	assert_addr(&cfg->listen[3].ss, AF_INET6, "::", 2525);
	assert_int_equal(cfg->nrelay_from, 3);
	assert_addr(&cfg->relay_from[0].addr, AF_INET, "10.0.0.0", 0);
	assert_int_equal(cfg->relay_from[0].prefix, 8);
	assert_addr(&cfg->relay_from[1].addr, AF_INET, "192.0.2.7", 0);
	assert_int_equal(cfg->relay_from[1].prefix, 32);
	assert_addr(&cfg->relay_from[2].addr, AF_INET6, "2001:db8::", 0);
	assert_int_equal(cfg->relay_from[2].prefix, 32);
	assert_int_equal(cfg->nrelay_domains, 2);
	assert_string_equal(cfg->relay_domains[0], "example.com");
	assert_string_equal(cfg->relay_domains[1], "example.net");
	assert_string_equal(
	    cfg->relay_recipients, "/etc/mail/relay_recipients");
	assert_string_equal(cfg->smarthost, "[mail.example.net]:587");
	assert_string_equal(cfg->resolver, "127.0.0.53");
	assert_string_equal(cfg->transport_file, "/etc/mail/transport");
	assert_int_equal(cfg->max_message_size, 20 * 1024 * 1024);
	assert_int_equal(cfg->max_recipients, 500);
	assert_int_equal(cfg->max_children, 7);
	assert_int_equal(cfg->max_per_ip, 3);
	assert_int_equal(cfg->max_hops, 30);
	assert_int_equal(cfg->greet_pause, 5);
	assert_int_equal(cfg->timeout_greeting, 60);
	assert_int_equal(cfg->timeout_command, 45);
	assert_int_equal(cfg->timeout_data_init, 2);
	assert_int_equal(cfg->timeout_data_block, 3600);
	assert_int_equal(cfg->timeout_data_term, 1800);
	assert_int_equal(cfg->queue_lifetime, 14 * 86400);
	assert_int_equal(cfg->retry_min, 60);
	assert_int_equal(cfg->retry_max, 7200);
	assert_int_equal(cfg->chroot, 1);
	assert_string_equal(cfg->pidfile, "/run/relayd/relayd.pid");
	assert_int_equal(cfg->nmilter, 2);
	assert_string_equal(cfg->milter[0].socket, "inet:8891@127.0.0.1");
	assert_string_equal(cfg->milter[1].socket, "inet:10025@::1");
}

/* Milter items, their {options} and the milter_* keys under them. */
static void
test_milters(void **state)
{
	struct config_error err;

	(void)state;
	expect_ok("[relayd]\nmilter = unix:/run/milter/a.sock, unix:/run/b\n");
	assert_int_equal(cfg->nmilter, 2);
	assert_string_equal(cfg->milter[0].socket, "unix:/run/milter/a.sock");
	assert_string_equal(cfg->milter[1].socket, "unix:/run/b");
	assert_int_equal(cfg->milter[0].action, CONFIG_MILTER_TEMPFAIL);
	assert_int_equal(cfg->milter[0].connect_timeout, 30);
	assert_int_equal(cfg->milter[0].command_timeout, 30);
	assert_int_equal(cfg->milter[0].eom_timeout, 300);
	expect_ok("[relayd]\nmilter = unix:/run/a{default=accept, "
		  "connect_timeout=2s,command_timeout=1m eom_timeout=2m}, "
		  "inet:8891@127.0.0.1\n"
		  "milter_default_action = reject\n"
		  "milter_connect_timeout = 5s\n"
		  "milter_command_timeout = 6s\n"
		  "milter_eom_timeout = 7s\n");
	assert_int_equal(cfg->nmilter, 2);
	assert_string_equal(cfg->milter[0].socket, "unix:/run/a");
	assert_int_equal(cfg->milter[0].action, CONFIG_MILTER_ACCEPT);
	assert_int_equal(cfg->milter[0].connect_timeout, 2);
	assert_int_equal(cfg->milter[0].command_timeout, 60);
	assert_int_equal(cfg->milter[0].eom_timeout, 120);
	assert_string_equal(cfg->milter[1].socket, "inet:8891@127.0.0.1");
	assert_int_equal(cfg->milter[1].action, CONFIG_MILTER_REJECT);
	assert_int_equal(cfg->milter[1].connect_timeout, 5);
	assert_int_equal(cfg->milter[1].command_timeout, 6);
	assert_int_equal(cfg->milter[1].eom_timeout, 7);
	assert_int_equal(
	    parse("[relayd]\nmilter = inet:0@127.0.0.1\n", &err), -EINVAL);
	assert_string_equal(err.key, "milter");
	assert_int_equal(
	    parse("[relayd]\nmilter = inet:25@mx.example\n", &err), -EINVAL);
	assert_int_equal(
	    parse("[relayd]\nmilter = unix:/a{default=maybe}\n", &err),
	    -EINVAL);
	assert_int_equal(
	    parse("[relayd]\nmilter = unix:/a{colour=red}\n", &err), -EINVAL);
	assert_int_equal(
	    parse("[relayd]\nmilter = unix:/a{default=accept\n", &err),
	    -EINVAL);
	assert_int_equal(
	    parse("[relayd]\nmilter_default_action = drop\n", &err), -EINVAL);
	assert_string_equal(err.key, "milter_default_action");
	/* A chrooted child cannot reach a unix socket: refused, not ignored. */
	assert_int_equal(
	    parse("[relayd]\nchroot = yes\nmilter = unix:/run/a\n", &err),
	    -EINVAL);
	assert_string_equal(err.key, "milter");
	expect_ok("[relayd]\nchroot = yes\nmilter = inet:8891@::1\n");
}

static void
test_value_forms(void **state)
{
	(void)state;
	/* 0 is a valid pause (check at once), unlike the timeouts. */
	expect_ok("[relayd]\ngreet_pause = 0\n");
	assert_int_equal(cfg->greet_pause, 0);
	expect_ok("[relayd]\nmax_message_size = 512k\n");
	assert_int_equal(cfg->max_message_size, 512 * 1024);
	expect_ok("[relayd]\nmax_message_size = 1G\n");
	assert_int_equal(cfg->max_message_size, 1024 * 1024 * 1024);
	expect_ok("[relayd]\nmax_message_size = 1000\n");
	assert_int_equal(cfg->max_message_size, 1000);
	expect_ok("[relayd]\nmax_line_length = 1000\n");
	assert_int_equal(cfg->max_line_length, 1000);
	expect_ok("[relayd]\nmax_line_length = 64k\n");
	assert_int_equal(cfg->max_line_length, 65536);
	expect_ok("[relayd]\nqueue_lifetime = 36h\n");
	assert_int_equal(cfg->queue_lifetime, 36 * 3600);
	expect_ok("[relayd]\ntimeout_command = 007\n");
	assert_int_equal(cfg->timeout_command, 7);
	expect_ok("[relayd]\nchroot = Off\n");
	assert_int_equal(cfg->chroot, 0);
	expect_ok("[relayd]\nchroot = TRUE\n");
	assert_int_equal(cfg->chroot, 1);
	/* Lists replace the default and may be emptied (not listen). */
	expect_ok("[relayd]\nrelay_from =\nrelay_domains = example.org\n");
	assert_int_equal(cfg->nrelay_from, 0);
	assert_int_equal(cfg->nrelay_domains, 1);
	expect_ok("[relayd]\nlisten = ,, 192.0.2.1:25 ,\t\n");
	assert_int_equal(cfg->nlisten, 1);
	assert_string_equal(cfg->listen[0].text, "192.0.2.1:25");
	/* inet_ntop normal form in text */
	expect_ok("[relayd]\nlisten = [2001:DB8:0:0::1]:65535\n");
	assert_string_equal(cfg->listen[0].text, "[2001:db8::1]:65535");
	expect_ok("[relayd]\nsmarthost = mail.example.net\n");
	expect_ok("[relayd]\nsmarthost = mail.example.net:25\n");
	expect_ok("[relayd]\nsmarthost = [192.0.2.1]\n");
	expect_ok("[relayd]\nsmarthost = [2001:db8::1]:2525\n");
	expect_ok("[relayd]\nresolver = ::1\n");
	expect_ok("[relayd]\nresolver = [::1]:5353\n");
	expect_ok("[relayd]\nresolver = 192.0.2.53:53\n");
	assert_string_equal(cfg->resolver, "192.0.2.53:53");
}

/* The dialect we pin: comments, no continuation lines, CRLF, BOM. */
static void
test_dialect(void **state)
{
	(void)state;
	expect_ok("\xef\xbb\xbf[relayd]\r\nmax_hops = 9\r\n");
	assert_int_equal(cfg->max_hops, 9);
	expect_ok("[relayd]\nmax_hops = 9 # nine\nmax_per_ip = 2 ; two\n");
	assert_int_equal(cfg->max_hops, 9);
	assert_int_equal(cfg->max_per_ip, 2);
	/* An indented key is a key, not a continuation of the line above. */
	expect_ok("[relayd]\nmax_hops = 9\n    max_per_ip = 4\n");
	assert_int_equal(cfg->max_hops, 9);
	assert_int_equal(cfg->max_per_ip, 4);
	expect_ok("");
	expect_ok("# only comments\n\n");
	/* No trailing newline. */
	expect_ok("[relayd]\nmax_hops = 8");
	assert_int_equal(cfg->max_hops, 8);
}

static void
test_inih_settings_restored(void **state)
{
	struct config_error err;
	int max = ini_max_line;
	bool ml = ini_allow_multiline, stop = ini_stop_on_first_error;
	char *pfx = ini_inline_comment_prefixes;

	(void)state;
	assert_int_equal(parse("[relayd]\nmax_hops = 3\n", &err), 0);
	assert_int_equal(parse("[relayd]\nbogus = 3\n", &err), -EINVAL);
	assert_int_equal(ini_max_line, max);
	assert_int_equal(ini_allow_multiline, ml);
	assert_int_equal(ini_stop_on_first_error, stop);
	assert_ptr_equal(ini_inline_comment_prefixes, pfx);
}

static const struct err_case structure_errors[] = {
	{ "[relayd]\nmax_hops = 1\nmax_hop = 2\n", 3, "max_hop",
	    "unknown key" },
	{ "[relayd]\nmax_hops = 1\n\nmax_hops = 2\n", 4, "max_hops",
	    "duplicate key (first set on line 2)" },
	{ "# x\nmax_hops = 1\n[relayd]\n", 2, "max_hops",
	    "outside the [relayd] section" },
	{ "[relayd]\n[smtpd]\n", 2, "", "unknown section [smtpd]" },
	{ "[relayd]\nmax_hops = 1\n[other]\nx = 1\n", 3, "",
	    "unknown section [other]" },
	{ "[relayd]\n[relayd]\n", 2, "", "second [relayd] section" },
	{ "[relayd]\nmax_hops 5\n", 2, "", "syntax error" },
	{ "[relayd\nmax_hops = 5\n", 1, "", "syntax error" },
};

static void
test_structure_errors(void **state)
{
	char *big;
	size_t n = CONFIG_LINE_MAX + 20;

	(void)state;
	expect_errs(structure_errors, nitems(structure_errors));
	big = malloc(n + 64);
	assert_non_null(big);
	memcpy(big, "[relayd]\nspool = /", 18);
	memset(big + 18, 'a', n);
	memcpy(big + 18 + n, "\nmax_hops = 1\n", 15);
	expect_err(big, 2, "", "line too long (max 8190 bytes)");
	free(big);
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "[relayd]\nmax_hops = 1\nchroot = y\0es\n";
	struct config_error err;

	(void)state;
	config_defaults(cfg);
	assert_int_equal(
	    config_parse(text, sizeof(text) - 1, "t.conf", cfg, &err), -EINVAL);
	assert_int_equal(err.line, 3);
	assert_string_equal(err.msg, "NUL byte in line");
	assert_int_equal(cfg->max_hops, 50); /* untouched on error */
}

static const struct err_case value_errors[] = {
	{ "[relayd]\nlisten = localhost:25\n", 2, "listen",
	    "invalid address 'localhost:25'" },
	{ "[relayd]\nlisten = 127.0.0.1:0\n", 2, "listen", "invalid address" },
	{ "[relayd]\nlisten = 127.0.0.1:65536\n", 2, "listen",
	    "invalid address" },
	{ "[relayd]\nlisten = 127.0.0.1\n", 2, "listen", "invalid address" },
	{ "[relayd]\nlisten = ::1:25\n", 2, "listen", "invalid address" },
	{ "[relayd]\nlisten = [::1]25\n", 2, "listen", "invalid address" },
	{ "[relayd]\nlisten = 127.0.0.1:+25\n", 2, "listen",
	    "invalid address" },
	{ "[relayd]\nlisten = 127.1:25\n", 2, "listen", "invalid address" },
	{ "[relayd]\nlisten = [fe80::1%eth0]:25\n", 2, "listen",
	    "invalid address" },
	{ "[relayd]\nlisten =\n", 2, "listen", "needs at least one address" },
	{ "[relayd]\nlisten = *:25 0.0.0.0:25\n", 2, "listen",
	    "'0.0.0.0:25' listed twice" },
	{ "[relayd]\nlisten = 1.0.0.1:1 1.0.0.2:1 1.0.0.3:1 1.0.0.4:1"
	  " 1.0.0.5:1 1.0.0.6:1 1.0.0.7:1 1.0.0.8:1 1.0.0.9:1 1.0.0.10:1"
	  " 1.0.0.11:1 1.0.0.12:1 1.0.0.13:1 1.0.0.14:1 1.0.0.15:1"
	  " 1.0.0.16:1 1.0.0.17:1\n",
	    2, "listen", "too many items (max 16)" },
	{ "[relayd]\nrelay_from = 10.0.0.1/8\n", 2, "relay_from",
	    "'10.0.0.1/8' has bits set beyond the prefix" },
	{ "[relayd]\nrelay_from = 0.0.0.0/0\n", 2, "relay_from",
	    "an open relay" },
	{ "[relayd]\nrelay_from = ::/0\n", 2, "relay_from", "an open relay" },
	{ "[relayd]\nrelay_from = 10.0.0.0/33\n", 2, "relay_from",
	    "invalid network '10.0.0.0/33'" },
	{ "[relayd]\nrelay_from = 10.0.0.0/\n", 2, "relay_from",
	    "invalid network" },
	{ "[relayd]\nrelay_from = lan.example/24\n", 2, "relay_from",
	    "invalid network" },
	{ "[relayd]\nrelay_domains = example.org, bad_domain.org\n", 2,
	    "relay_domains", "invalid domain 'bad_domain.org'" },
	{ "[relayd]\nrelay_domains = localhost\n", 2, "relay_domains",
	    "invalid domain" },
	{ "[relayd]\nhostname = -bad.example\n", 2, "hostname",
	    "invalid value" },
	{ "[relayd]\nhostname = a..b\n", 2, "hostname", "invalid value" },
	{ "[relayd]\nrun_as = root\n", 2, "run_as", "refusing to run as root" },
	{ "[relayd]\nrun_as = a\x01z\n", 2, "run_as", "invalid value 'a?z'" },
	{ "[relayd]\nrun_as = abcdefghijklmnopqrstuvwxyz0123456\n", 2, "run_as",
	    "invalid value" },
	{ "[relayd]\nspool = var/spool\n", 2, "spool", "invalid value" },
	{ "[relayd]\nspool = /var/spool/../tmp\n", 2, "spool",
	    "invalid value" },
	{ "[relayd]\npidfile = /run/relayd pid\n", 2, "pidfile",
	    "invalid value" },
	{ "[relayd]\ntransport = transport\n", 2, "transport",
	    "invalid value" },
	{ "[relayd]\nrelay_recipients = etc/rcpts\n", 2, "relay_recipients",
	    "invalid value" },
	{ "[relayd]\nsmarthost = [mail.example.net:25\n", 2, "smarthost",
	    "invalid value" },
	{ "[relayd]\nsmarthost = mail.example.net:0\n", 2, "smarthost",
	    "invalid value" },
	{ "[relayd]\nresolver = dns.example\n", 2, "resolver",
	    "invalid value" },
	{ "[relayd]\nmilter = /run/milter.sock\n", 2, "milter",
	    "invalid milter '/run/milter.sock'" },
	{ "[relayd]\nmilter = unix:/a unix:/b unix:/c unix:/d unix:/e"
	  " unix:/f unix:/g unix:/h unix:/i\n",
	    2, "milter", "too many items (max 8)" },
};

static void
test_value_errors(void **state)
{
	(void)state;
	expect_errs(value_errors, nitems(value_errors));
}

static const struct err_case number_errors[] = {
	{ "[relayd]\nmax_recipients = ten\n", 2, "max_recipients",
	    "invalid number 'ten'" },
	{ "[relayd]\nmax_recipients = -1\n", 2, "max_recipients",
	    "invalid number" },
	{ "[relayd]\nmax_recipients = 0\n", 2, "max_recipients",
	    "'0' out of range (1 to 100000)" },
	{ "[relayd]\nmax_children = 99999999999999999999999\n", 2,
	    "max_children", "out of range" },
	{ "[relayd]\nmax_hops = 0x10\n", 2, "max_hops", "invalid number" },
	{ "[relayd]\nmax_message_size = 10MB\n", 2, "max_message_size",
	    "invalid size" },
	{ "[relayd]\nmax_message_size = M\n", 2, "max_message_size",
	    "invalid size" },
	{ "[relayd]\nmax_message_size = 2000G\n", 2, "max_message_size",
	    "out of range" },
	{ "[relayd]\nmax_message_size = 99999999999G\n", 2, "max_message_size",
	    "out of range" },
	/* Not more than the queue reader takes (QUEUE_MSG_SIZE_MAX). */
	{ "[relayd]\nmax_message_size = 1025M\n", 2, "max_message_size",
	    "out of range" },
	{ "[relayd]\nmax_line_length = 999\n", 2, "max_line_length",
	    "out of range" },
	{ "[relayd]\nmax_line_length = 2G\n", 2, "max_line_length",
	    "out of range" },
	{ "[relayd]\ntimeout_command = 5x\n", 2, "timeout_command",
	    "invalid duration" },
	{ "[relayd]\ntimeout_command = 1 m\n", 2, "timeout_command",
	    "invalid duration" },
	{ "[relayd]\ntimeout_command = 0\n", 2, "timeout_command",
	    "out of range (1 to 86400 seconds)" },
	{ "[relayd]\ntimeout_command = 2d\n", 2, "timeout_command",
	    "out of range" },
	{ "[relayd]\ngreet_pause = 2m\n", 2, "greet_pause",
	    "out of range (0 to 60 seconds)" },
	{ "[relayd]\nqueue_lifetime = 9999999999999999999w\n", 2,
	    "queue_lifetime", "out of range" },
	{ "[relayd]\nqueue_lifetime =\n", 2, "queue_lifetime",
	    "invalid duration" },
	{ "[relayd]\nretry = 1h 5m\n", 2, "retry", "minimum then maximum" },
	{ "[relayd]\nretry = 5m\n", 2, "retry", "minimum then maximum" },
	{ "[relayd]\nretry = 5m 1h 2h\n", 2, "retry", "want two durations" },
	{ "[relayd]\nretry = 0 1h\n", 2, "retry", "want two durations" },
	{ "[relayd]\nchroot = maybe\n", 2, "chroot",
	    "want yes or no, not 'maybe'" },
};

static void
test_number_errors(void **state)
{
	(void)state;
	expect_errs(number_errors, nitems(number_errors));
}

static void
test_untouched_on_error(void **state)
{
	struct config_error err;
	struct config *before = malloc(sizeof(*before));
	const char *text = "[relayd]\nmax_hops = 3\nlisten = *:26\n"
			   "run_as = root\n";

	(void)state;
	assert_non_null(before);
	config_defaults(cfg);
	memcpy(before, cfg, sizeof(*before));
	assert_int_equal(
	    config_parse(text, strlen(text), "x", cfg, &err), -EINVAL);
	assert_int_equal(err.line, 4);
	assert_memory_equal(before, cfg, sizeof(*before));
	free(before);
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf;
	FILE *f;

	assert_non_null(f = fopen(path, "r"));
	assert_non_null(buf = malloc(CONFIG_FILE_MAX));
	*len = fread(buf, 1, CONFIG_FILE_MAX, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The sample parses, and every default it states is the real default. */
static void
test_sample(void **state)
{
	struct config *defaults = malloc(sizeof(*defaults));
	struct config_error err;
	size_t len;
	char *text = slurp(SRCDIR "/share/relayd.conf.sample", &len);
	int rv;

	(void)state;
	assert_non_null(defaults);
	config_defaults(defaults);
	config_defaults(cfg);
	rv = config_parse(text, len, "relayd.conf.sample", cfg, &err);
	if (rv != 0)
		fail_msg(
		    "%s:%zu: %s: %s", err.file, err.line, err.key, err.msg);
	assert_memory_equal(defaults, cfg, sizeof(*defaults));
	free(defaults);
	free(text);
}

/* The man page documents every key the parser knows, and no other. */
/* Keys the sample shows as "#key =": they need the host or other keys. */
static int
commented(const char *name)
{
	static const char *const keys[] = { "hostname", "tls", "smarthost_tls",
		"tls_min_version", "tls_ciphers" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(name, keys[i]) == 0)
			return 1;
	return 0;
}

static void
test_man_page_keys(void **state)
{
	static const char *const names[] = { "hostname", "run_as", "spool",
		"listen", "relay_from", "relay_domains", "relay_recipients",
		"smarthost", "resolver", "transport", "max_message_size",
		"max_line_length", "max_recipients", "max_children",
		"max_per_ip", "max_hops", "greet_pause", "timeout_greeting",
		"timeout_command", "timeout_data_init", "timeout_data_block",
		"timeout_data_term", "queue_lifetime", "retry", "chroot",
		"pidfile", "milter", "tls_cert", "tls_key", "tls", "smtp_tls",
		"smtp_tls_ca_file", "smarthost_tls", "smarthost_auth",
		"tls_min_version", "tls_ciphers", "milter_default_action",
		"milter_connect_timeout", "milter_command_timeout",
		"milter_eom_timeout" };
	struct config_error err;
	char line[128], *man, *sample;
	size_t i, len, slen;

	(void)state;
	man = slurp(SRCDIR "/share/man/relayd.conf.5", &len);
	man[len < CONFIG_FILE_MAX ? len : len - 1] = '\0';
	sample = slurp(SRCDIR "/share/relayd.conf.sample", &slen);
	sample[slen < CONFIG_FILE_MAX ? slen : slen - 1] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "\n.It Ic %s ", names[i]);
		if (strstr(man, line) == NULL)
			fail_msg("relayd.conf.5 lacks '.It Ic %s'", names[i]);
		snprintf(line, sizeof(line), "\n%s =", names[i]);
		/* Defaults that depend on the host or on other keys are
		 * shown commented out. */
		if (strstr(sample, line) == NULL && commented(names[i])) {
			snprintf(line, sizeof(line), "\n#%s =", names[i]);
		}
		if (strstr(sample, line) == NULL)
			fail_msg("sample lacks '%s ='", names[i]);
		/* ... and the parser knows it. */
		snprintf(line, sizeof(line), "[relayd]\n%s = \x01\n", names[i]);
		assert_int_equal(parse(line, &err), -EINVAL);
		assert_string_equal(err.key, names[i]);
		assert_null(strstr(err.msg, "unknown key"));
	}
	free(man);
	free(sample);
}

/* tls_cert, tls_key, tls and "/tls" listeners, and how they go together. */
static void
test_tls(void **state)
{
	(void)state;
	expect_ok("[relayd]\nlisten = 127.0.0.1:25\n");
	assert_int_equal(cfg->tls, CONFIG_TLS_NONE);
	assert_int_equal(cfg->listen[0].tls, 0);
	expect_ok("[relayd]\ntls_cert = /etc/mail/c.pem\n"
		  "tls_key = /etc/mail/k.key\n");
	assert_string_equal(cfg->tls_cert, "/etc/mail/c.pem");
	assert_string_equal(cfg->tls_key, "/etc/mail/k.key");
	assert_int_equal(cfg->tls, CONFIG_TLS_MAY); /* the default with both */
	expect_ok("[relayd]\ntls = encrypt\ntls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->tls, CONFIG_TLS_ENCRYPT);
	expect_ok("[relayd]\ntls = none\ntls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->tls, CONFIG_TLS_NONE);
	expect_ok("[relayd]\ntls = none\n");
	expect_ok("[relayd]\nlisten = 127.0.0.1:25, *:465/tls\n"
		  "tls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->nlisten, 3);
	assert_string_equal(cfg->listen[0].text, "127.0.0.1:25");
	assert_int_equal(cfg->listen[0].tls, 0);
	assert_string_equal(cfg->listen[1].text, "0.0.0.0:465");
	assert_int_equal(cfg->listen[1].tls, 1);
	assert_string_equal(cfg->listen[2].text, "[::]:465");
	assert_int_equal(cfg->listen[2].tls, 1);

	expect_err("[relayd]\ntls = maybe\n", 2, "tls", "want none, may");
	expect_err("[relayd]\ntls = MAY\n", 2, "tls", "want none, may");
	expect_err(
	    "[relayd]\n\ntls = may\n", 3, "tls", "needs tls_cert and tls_key");
	expect_err("[relayd]\ntls = encrypt\ntls_cert = /c\n", 3, "tls_cert",
	    "needs tls_key");
	expect_err("[relayd]\ntls_cert = /c\n", 2, "tls_cert", "needs tls_key");
	expect_err(
	    "[relayd]\n#\ntls_key = /k\n", 3, "tls_key", "needs tls_cert");
	expect_err(
	    "[relayd]\ntls_cert = c.pem\n", 2, "tls_cert", "invalid value");
	expect_err("[relayd]\ntls_key = /k\ntls_key = /k\n", 3, "tls_key",
	    "duplicate key");
	expect_err("[relayd]\nlisten = 127.0.0.1:465/tls\n", 2, "listen",
	    "a /tls or /starttls listener needs tls_cert and tls_key");
	expect_err("[relayd]\nlisten = 127.0.0.1:587/starttls\n", 2, "listen",
	    "a /tls or /starttls listener needs tls_cert and tls_key");
	expect_ok("[relayd]\nlisten = 127.0.0.1:25, 127.0.0.1:587/starttls\n"
		  "tls_cert = /c\ntls_key = /k\n");
	assert_int_equal(cfg->listen[0].tls, CONFIG_LISTEN_PLAIN);
	assert_int_equal(cfg->listen[1].tls, CONFIG_LISTEN_STARTTLS);
	assert_string_equal(cfg->listen[1].text, "127.0.0.1:587");
	/* Protocols and ciphers: only with a certificate to serve. */
	assert_int_equal(cfg->tls_min_version, 12);
	assert_string_equal(cfg->tls_ciphers, "");
	expect_ok("[relayd]\ntls_cert = /c\ntls_key = /k\n"
		  "tls_min_version = TLSv1.3\n"
		  "tls_ciphers = ECDHE+AESGCM:!aNULL:@STRENGTH\n");
	assert_int_equal(cfg->tls_min_version, 13);
	assert_string_equal(cfg->tls_ciphers, "ECDHE+AESGCM:!aNULL:@STRENGTH");
	expect_err("[relayd]\ntls_cert = /c\ntls_key = /k\n"
		   "tls_min_version = TLSv1.1\n",
	    4, "tls_min_version", "want TLSv1.2 or TLSv1.3");
	expect_err("[relayd]\ntls_min_version = TLSv1.3\n", 2,
	    "tls_min_version", "needs tls_cert and tls_key");
	expect_err("[relayd]\ntls_ciphers = HIGH\n", 2, "tls_ciphers",
	    "needs tls_cert and tls_key");
	expect_err("[relayd]\ntls_cert = /c\ntls_key = /k\n"
		   "tls_ciphers = HIGH LOW\n",
	    4, "tls_ciphers", "invalid value");
	expect_err("[relayd]\nlisten = 127.0.0.1:465/ssl\n"
		   "tls_cert = /c\ntls_key = /k\n",
	    2, "listen", "invalid address");
	expect_err("[relayd]\nlisten = 127.0.0.1:465/tls/tls\n"
		   "tls_cert = /c\ntls_key = /k\n",
	    2, "listen", "invalid address");
	expect_err("[relayd]\nlisten = 127.0.0.1:25, 127.0.0.1:25/tls\n"
		   "tls_cert = /c\ntls_key = /k\n",
	    2, "listen", "listed twice");
}

static void
write_conf(int dirfd, const char *name, const char *text, mode_t mode)
{
	int fd;

	fd =
	    openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/config-test.XXXXXX";
	struct config_error err;
	char *big;
	int rootfd, fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_true((rootfd = open(dir, O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(mkdirat(rootfd, "etc", 0755), 0);
	write_conf(rootfd, "etc/relayd.conf", "[relayd]\nmax_hops = 7\n", 0640);

	/* Absolute paths are taken under the root fd. */
	config_defaults(cfg);
	assert_int_equal(config_load(rootfd, "/etc/relayd.conf", cfg, &err), 0);
	assert_int_equal(cfg->max_hops, 7);

	write_conf(rootfd, "etc/bad.conf", "[relayd]\n\nmax_hops = x\n", 0600);
	assert_int_equal(
	    config_load(rootfd, "/etc/bad.conf", cfg, &err), -EINVAL);
	assert_string_equal(err.file, "/etc/bad.conf");
	assert_int_equal(err.line, 3);
	assert_string_equal(err.key, "max_hops");

	write_conf(rootfd, "etc/gw.conf", "[relayd]\n", 0660);
	assert_int_equal(config_load(rootfd, "etc/gw.conf", cfg, &err), -EPERM);
	assert_non_null(strstr(err.msg, "writable by group or others"));
	write_conf(rootfd, "etc/ow.conf", "[relayd]\n", 0602);
	assert_int_equal(config_load(rootfd, "etc/ow.conf", cfg, &err), -EPERM);

	write_conf(rootfd, "etc/foreign.conf", "[relayd]\n", 0640);
	assert_true((fd = openat(rootfd, "etc/foreign.conf", O_RDONLY)) != -1);
	assert_int_equal(fchown(fd, 4242, 4242), 0);
	assert_int_equal(close(fd), 0);
	assert_int_equal(
	    config_load(rootfd, "etc/foreign.conf", cfg, &err), -EPERM);
	assert_non_null(strstr(err.msg, "not owned by root"));

	assert_int_equal(symlinkat("relayd.conf", rootfd, "etc/link.conf"), 0);
	assert_int_equal(
	    config_load(rootfd, "etc/link.conf", cfg, &err), -ELOOP);
	assert_int_equal(
	    config_load(rootfd, "etc/missing.conf", cfg, &err), -ENOENT);
	assert_string_equal(err.msg, "No such file or directory");
	assert_int_equal(config_load(rootfd, "etc", cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "not a regular file");
	assert_int_equal(config_load(rootfd, "/", cfg, &err), -EINVAL);

	/* 1 MiB of comments is fine, one byte more is not. */
	assert_non_null(big = malloc(CONFIG_FILE_MAX + 2));
	memset(big, '#', CONFIG_FILE_MAX + 1);
	big[CONFIG_FILE_MAX + 1] = '\0';
	for (size_t i = 100; i < CONFIG_FILE_MAX; i += 100)
		big[i] = '\n';
	write_conf(rootfd, "etc/big.conf", big, 0600);
	assert_int_equal(
	    config_load(rootfd, "etc/big.conf", cfg, &err), -EFBIG);
	big[CONFIG_FILE_MAX] = '\0';
	write_conf(rootfd, "etc/big.conf", big, 0600);
	assert_int_equal(config_load(rootfd, "etc/big.conf", cfg, &err), 0);
	free(big);

	/* AT_FDCWD: the path is used as given. */
	{
		char path[128];

		snprintf(path, sizeof(path), "%s/etc/relayd.conf", dir);
		assert_int_equal(config_load(AT_FDCWD, path, cfg, &err), 0);
	}

	const char *names[] = { "etc/relayd.conf", "etc/bad.conf",
		"etc/gw.conf", "etc/ow.conf", "etc/foreign.conf",
		"etc/link.conf", "etc/big.conf" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_int_equal(unlinkat(rootfd, names[i], 0), 0);
	assert_int_equal(unlinkat(rootfd, "etc", AT_REMOVEDIR), 0);
	assert_int_equal(close(rootfd), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_milters),
		cmocka_unit_test(test_dialect),
		cmocka_unit_test(test_inih_settings_restored),
		cmocka_unit_test(test_structure_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_untouched_on_error),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_man_page_keys),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_tls),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
