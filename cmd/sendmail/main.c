/*
 * relayd-sendmail: the options of sendmail(1) that cron, mailx, PHP and
 * the like use, and the mode they select.  Not setuid: relayd learns the
 * caller from the socket.  Exit codes are sysexits(3), listed in
 * relayd-sendmail(8).  RELAYD_SUBMIT_SOCKET names another socket (tests,
 * a relayd under --root).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail.h"

#ifndef RELAY_SBINDIR
#define RELAY_SBINDIR "/usr/sbin"
#endif

enum mode { MODE_SEND, MODE_SMTP, MODE_LIST, MODE_FLUSH };

static void __attribute__((noreturn)) usage(const char *why)
{
	if (why != NULL)
		(void)fprintf(stderr, "relayd-sendmail: %s\n", why);
	(void)fprintf(stderr,
	    "usage: relayd-sendmail [-tiv] [-f sender] [-F name] [-B type] "
	    "[-N dsn] [-R ret] [-V envid] [-o opt] [-b m|s|p] [-q] "
	    "[recipient ...]\n");
	exit(EX_USAGE);
}

/* -N never | success,failure,delay -> NOTIFY= */
static void
opt_notify(struct sm_opts *o, const char *v)
{
	char buf[sizeof(o->notify)], *tok, *save = NULL;

	if (strlcpy(buf, v, sizeof(buf)) >= sizeof(buf))
		usage("-N: bad value");
	o->notify[0] = '\0';
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strcasecmp(tok, "never") != 0 &&
		    strcasecmp(tok, "success") != 0 &&
		    strcasecmp(tok, "failure") != 0 &&
		    strcasecmp(tok, "delay") != 0)
			usage("-N: want never or success,failure,delay");
		if (o->notify[0] != '\0')
			(void)strlcat(o->notify, ",", sizeof(o->notify));
		(void)strlcat(o->notify, tok, sizeof(o->notify));
	}
	for (tok = o->notify; *tok != '\0'; tok++)
		*tok = (char)toupper((unsigned char)*tok);
	if (o->notify[0] == '\0' ||
	    (strstr(o->notify, "NEVER") != NULL && strchr(o->notify, ',')))
		usage("-N: want never or success,failure,delay");
}

/* -V envid as xtext (RFC 3461 4). */
static void
opt_envid(struct sm_opts *o, const char *v)
{
	size_t n = 0;
	int w;

	if (*v == '\0' || strlen(v) > 100)
		usage("-V: want 1 to 100 characters");
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c < 33 || c > 126)
			usage("-V: printable ASCII only");
		w = snprintf(o->envid + n, sizeof(o->envid) - n,
		    c == '+' || c == '=' ? "+%02X" : "%c", c);
		n += (size_t)w;
	}
}

/* -o: i and e? are ours; the rest is another MTA's and ignored. */
static void
opt_o(struct sm_opts *o, const char *v)
{
	if (strcmp(v, "i") == 0)
		o->dot_ends = 0;
	else if (strcmp(v, "eq") == 0)
		o->quiet = 1;
	else if (strcmp(v, "em") == 0 || strcmp(v, "ee") == 0 ||
	    strcmp(v, "ep") == 0 || strcmp(v, "ew") == 0)
		; /* errors: stderr and the exit code, always */
	else
		(void)fprintf(stderr,
		    "relayd-sendmail: warning: ignoring option -o%s\n", v);
}

static enum mode
parse(int argc, char **argv, struct sm_opts *o)
{
	enum mode m = MODE_SEND;
	int ch;

	opterr = 0;
	while ((ch = getopt(argc, argv, ":B:b:F:f:iN:O:o:q::R:r:tV:v")) != -1) {
		switch (ch) {
		case 'B':
			if (strcasecmp(optarg, "7BIT") == 0)
				o->body = "7BIT";
			else if (strcasecmp(optarg, "8BITMIME") == 0)
				o->body = "8BITMIME";
			else
				usage("-B: want 7BIT or 8BITMIME");
			break;
		case 'b':
			if (strcmp(optarg, "m") == 0)
				m = MODE_SEND;
			else if (strcmp(optarg, "s") == 0)
				m = MODE_SMTP;
			else if (strcmp(optarg, "p") == 0)
				m = MODE_LIST;
			else
				usage("-b: want -bm, -bs or -bp");
			break;
		case 'F':
			if (strpbrk(optarg, "\"\\\r\n") != NULL)
				usage("-F: no quotes, backslashes or newlines");
			o->fullname = optarg;
			break;
		case 'f':
		case 'r':
			if (strpbrk(optarg, "<> \t\r\n") != NULL &&
			    strcmp(optarg, "<>") != 0)
				usage("-f: want a bare address");
			o->sender = optarg;
			break;
		case 'i':
			o->dot_ends = 0;
			break;
		case 'N':
			opt_notify(o, optarg);
			break;
		case 'O':
			(void)fprintf(stderr,
			    "relayd-sendmail: warning: ignoring option -O%s\n",
			    optarg);
			break;
		case 'o':
			opt_o(o, optarg);
			break;
		case 'q':
			m = MODE_FLUSH;
			break;
		case 'R':
			if (strcasecmp(optarg, "full") == 0)
				o->ret = "FULL";
			else if (strcasecmp(optarg, "hdrs") == 0)
				o->ret = "HDRS";
			else
				usage("-R: want full or hdrs");
			break;
		case 't':
			o->from_headers = 1;
			break;
		case 'V':
			opt_envid(o, optarg);
			break;
		case 'v':
			o->verbose = 1;
			break;
		case ':':
			(void)fprintf(stderr,
			    "relayd-sendmail: option '-%c' needs an argument\n",
			    optopt);
			usage(NULL);
		default:
			(void)fprintf(stderr,
			    "relayd-sendmail: unknown option '-%c'\n", optopt);
			usage(NULL);
		}
	}
	return m;
}

/* root only: relayctl, next to us or installed, does the work. */
static int
run_relayctl(const char *verb)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n;

	if (getuid() != 0) {
		(void)fprintf(stderr,
		    "relayd-sendmail: %s: only root may do this\n",
		    strcmp(verb, "flush") == 0 ? "-q" : "-bp");
		return EX_NOPERM;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		(void)snprintf(
		    path, sizeof(path), "%s/relayctl", dirname(self));
		if (access(path, X_OK) != 0)
			n = -1;
	}
	if (n <= 0)
		(void)snprintf(
		    path, sizeof(path), "%s/relayctl", RELAY_SBINDIR);
	(void)execl(path, "relayctl", "queue", verb, (char *)NULL);
	(void)fprintf(stderr, "relayd-sendmail: cannot run '%s': %s\n", path,
	    strerror(errno));
	return EX_UNAVAILABLE;
}

int
main(int argc, char **argv)
{
	struct sm_opts o = { .dot_ends = 1 };
	struct sm_buf msg = { 0 };
	const char *sock = getenv("RELAYD_SUBMIT_SOCKET");
	enum mode m;
	int i, rv, has_from, eightbit;

	if (sock == NULL || *sock == '\0')
		sock = SM_DEFAULT_SOCKET;
	m = strcmp(basename(argv[0]), "mailq") == 0 ? MODE_LIST
						    : parse(argc, argv, &o);
	if (m == MODE_SMTP)
		return sm_relay_stdio(sock, &o);
	/* root: relayctl reads the spool itself, relayd running or not. */
	if (m == MODE_LIST)
		return getuid() == 0 ? run_relayctl("list") : sm_list(sock, &o);
	if (m == MODE_FLUSH)
		return run_relayctl("flush");
	rv = EX_OSERR;
	for (i = optind; i < argc; i++)
		if (sm_addr_list(&o.rcpts, argv[i], strlen(argv[i])) < 0)
			goto out;
	if ((rv = sm_read_message(&o, &msg, &has_from, &eightbit)) < 0) {
		sm_err(&o, "cannot read the message: %s", strerror(-rv));
		rv = rv == -EFBIG ? EX_DATAERR : EX_IOERR;
	} else if (o.rcpts.n == 0) {
		sm_err(&o, "no recipients: message not sent");
		rv = EX_USAGE;
	} else
		rv = sm_submit(sock, &o, &msg, has_from, eightbit);
out:
	free(msg.p);
	for (i = 0; (size_t)i < o.rcpts.n; i++)
		free(o.rcpts.v[i]);
	free(o.rcpts.v);
	return rv;
}
