/*
 * relayd.conf parser: defaults, every key, every error kind with its line
 * and key, the inih dialect we pin, a failed parse leaving the old
 * configuration alone (the files: test_config_files.c; TLS:
 * test_config_tls.c).
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
#include "config_fixture.h"

#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

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
	assert_int_equal(cfg->max_use, 100);
	assert_int_equal(cfg->max_idle, 100);
	assert_int_equal(cfg->max_hops, 50);
	assert_int_equal(cfg->greet_pause, 1);
	assert_int_equal(cfg->timeout_greeting, 300);
	assert_int_equal(cfg->timeout_command, 300);
	assert_int_equal(cfg->timeout_data_init, 120);
	assert_int_equal(cfg->timeout_data_block, 180);
	assert_int_equal(cfg->timeout_data_term, 600);
	assert_int_equal(cfg->queue_lifetime, 5 * 86400);
	assert_int_equal(cfg->max_per_hop, 20);
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
		  "max_use = 1\n"
		  "max_idle = 2m\n"
		  "max_hops = 30\n"
		  "greet_pause = 5s\n"
		  "timeout_greeting = 1m\n"
		  "timeout_command = 45s\n"
		  "timeout_data_init = 2\n"
		  "timeout_data_block = 1h\n"
		  "timeout_data_term = 30m\n"
		  "queue_lifetime = 2w\n"
		  "max_per_hop = 3\n"
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
	assert_int_equal(cfg->max_use, 1);
	assert_int_equal(cfg->max_idle, 120);
	assert_int_equal(cfg->max_hops, 30);
	assert_int_equal(cfg->greet_pause, 5);
	assert_int_equal(cfg->timeout_greeting, 60);
	assert_int_equal(cfg->timeout_command, 45);
	assert_int_equal(cfg->timeout_data_init, 2);
	assert_int_equal(cfg->timeout_data_block, 3600);
	assert_int_equal(cfg->timeout_data_term, 1800);
	assert_int_equal(cfg->queue_lifetime, 14 * 86400);
	assert_int_equal(cfg->max_per_hop, 3);
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
	{ "[relayd]\nmax_use = 0\n", 2, "max_use",
	    "'0' out of range (1 to 100000)" },
	{ "[relayd]\nmax_idle = 0s\n", 2, "max_idle", "out of range" },
	{ "[relayd]\nmax_idle = 2h\n", 2, "max_idle", "out of range" },
	{ "[relayd]\nmax_per_hop = 0\n", 2, "max_per_hop", "out of range" },
	{ "[relayd]\nmax_per_hop = 21\n", 2, "max_per_hop", "out of range" },
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
	};

	return cmocka_run_group_tests(tests, config_setup, config_teardown);
}
