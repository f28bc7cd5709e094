/*
 * relayd: start-up of the master. Everything that can fail for a reason
 * the admin must see (config, account, spool, listeners, pidfile) runs
 * before daemonizing, with errors on stderr; the rest reports through a
 * pipe, so "relayd" returns 0 only once it is accepting connections.
 *
 * Processes and the files that run in them (doc/design.md, "relayd:
 * processes and trust boundaries"); lib/ code runs wherever it is called:
 *   master (root, five capabilities)    main.c master.c master_start.c
 *                                       master_table.c listen.c tls.c
 *                                       master_submit.c (submit_socket)
 *                                       (lib/authfile.c: smarthost_auth)
 *   server (SMTP child, one per         server.c (fork .. drop) session.c
 *     connection, relay user)           session_cmd.c session_data.c
 *                                       server_submit.c (peer uid, before
 *                                       the drop) session_submit.c
 *                                       session_io.c session_tls.c
 *                                       smtp_parse.c
 *                                       smtp_data.c, queue writer
 *                                       milter.c milter_io.c milter_eom.c
 *                                       milter_msg.c milter_edit.c
 *                                       milter_rcpt.c
 *   queue runner (relay user)           runner.c runner_sched.c
 *                                       runner_worker.c (jobs, workers)
 *                                       runner_corrupt.c (corrupt/)
 *                                       route_table.c (transport map)
 *                                       smtpc_tls.c (client context)
 *   delivery worker (relay user,        deliver.c dsn.c route.c
 *     one job after another)            runner_worker.c (job datagram)
 *                                       route_resolve.c route_dns.c
 *                                       smtpc.c smtpc_io.c smtpc_reply.c
 *                                       smtpc_send.c smtpc_tls.c
 *   every process                       log.c
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <libutil.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "master.h"
#include "metrics.h"
#include "log.h"
#include "master_start.h"
#include "master_submit.h"
#include "master_pool.h"
#include "master_table.h"
#include "authsenders.h"
#include "authtab.h"
#include "queue.h"
#include "recipients.h"
#include "authfile.h"
#include "tls.h"

#define DEFAULT_CONFIG "/etc/mail/relayd.conf"

static int status_fd = -1; /* daemon side of the start-up status pipe */
static struct pidfh *start_pfh; /* removed if start-up fails late */

static void __attribute__((noreturn)) usage(void)
{
	(void)fprintf(stderr, "usage: relayd [-f] [-c FILE] [--root DIR]\n");
	exit(EX_USAGE);
}

/* A start-up failure after the fork: tell the waiting parent, then exit. */
static void __attribute__((format(printf, 2, 3), noreturn))
start_fail(int code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (start_pfh != NULL)
		(void)pidfile_remove(start_pfh);
	if (status_fd == -1)
		fatalx(code, "%s", msg);
	log_warnx("%s", msg);
	/* One record: a kind byte, then the line the parent prints. */
	(void)dprintf(status_fd, "%c%s", code == EX_CONFIG ? 'C' : 'E', msg);
	exit(code);
}

static void
parse_args(int argc, char **argv, struct master *m, int *fg)
{
	static const struct option longopts[] = { { "root", required_argument,
						      NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *cfg = DEFAULT_CONFIG;
	int ch;

	opterr = 0; /* our own message, without argv[0]'s path */
	while ((ch = getopt_long(argc, argv, ":fc:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			*fg = 1;
			break;
		case 'c':
			cfg = optarg;
			break;
		case 'r':
			m->root = optarg;
			break;
		case ':':
			(void)fprintf(stderr,
			    "relayd: option '%s' needs an argument\n",
			    argv[optind - 1]);
			usage();
		default:
			(void)fprintf(stderr, "relayd: unknown option '%s'\n",
			    argv[optind - 1]);
			usage();
		}
	}
	if (optind != argc || m->root[0] == '\0')
		usage();
	if (strlcpy(m->cfgpath, cfg, sizeof(m->cfgpath)) >= sizeof(m->cfgpath))
		fatalx(EX_USAGE, "config path too long: '%s'", cfg);
}

static void
start_config(struct master *m)
{
	struct config_error ce;
	char why[600];
	int rv;

	m->rootfd = open(m->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (m->rootfd == -1)
		fatal(1, "cannot open root '%s'", m->root);
	config_defaults(&m->cfg);
	memset(&ce, 0, sizeof(ce));
	if (config_load(m->rootfd, m->cfgpath, &m->cfg, &ce) < 0 ||
	    recipients_load(
		m->rootfd, m->cfg.relay_recipients, &m->rcpts, &ce) < 0 ||
	    authtab_load(m->rootfd, m->cfg.auth_users, &m->auth, &ce) < 0 ||
	    authsenders_load(m->rootfd, m->cfg.auth_senders, &m->senders, &ce) <
		0) {
		config_error_format(&ce, why, sizeof(why));
		fatalx(EX_CONFIG, "%s", why);
	}
	if (master_account(m, why, sizeof(why)) < 0)
		fatalx(EX_CONFIG, "%s", why);
	/* The key stays root's: read before any child exists. */
	if (master_tls(m, &m->cfg, &m->tls, why, sizeof(why)) < 0 ||
	    master_sauth(m, &m->cfg, &m->sauth, why, sizeof(why)) < 0)
		fatalx(EX_CONFIG, "%s", why);
	/* Unsafe (another user could change the queue): EX_CONFIG. */
	if ((rv = master_spool(m, why, sizeof(why))) < 0)
		fatalx(rv == -EPERM ? EX_CONFIG : 1, "%s", why);
}

static void
start_listen(struct master *m)
{
	char why[600];
	pid_t other = -1;
	int n;

	/* A child killed mid-DATA leaves a file; no writer runs yet. */
	if ((n = queue_clean_tmp(m->spoolfd)) < 0)
		fatalx(
		    1, "cannot clean '%s/tmp': %s", m->spooldir, strerror(-n));
	if (n > 0)
		log_info(
		    "removed %d stale files from '%s/tmp'", n, m->spooldir);
	if (listen_update(&m->ls, &m->cfg, why, sizeof(why)) < 0)
		fatalx(1, "%s", why);
	if (master_path(m, m->cfg.pidfile, m->pidpath, sizeof(m->pidpath)))
		fatalx(1, "pidfile path too long: '%s'", m->cfg.pidfile);
	if ((m->pfh = pidfile_open(m->pidpath, 0644, &other)) == NULL) {
		if (errno == EEXIST)
			fatalx(1, "already running (pid %ld)", (long)other);
		fatal(1, "cannot open pidfile '%s'", m->pidpath);
	}
	start_pfh = m->pfh;
	/* After the pidfile: a socket already there is a dead relayd's. */
	if (master_submit_open(m, why, sizeof(why)) < 0) {
		(void)pidfile_remove(m->pfh);
		start_pfh = m->pfh = NULL;
		fatalx(1, "%s", why);
	}
}

/*
 * The counters, before any child: every process forked later shares
 * them.  Without them relayd still relays; it says so once.
 */
static void
start_metrics(struct master *m)
{
	char rel[PATH_MAX];
	int rv;

	if (metrics_path(m->cfg.pidfile, rel, sizeof(rel)) < 0 ||
	    master_path(m, rel, m->metricspath, sizeof(m->metricspath)) < 0) {
		log_warnx("metrics file path too long: not counting");
		m->metricspath[0] = '\0';
	} else if ((rv = metrics_open(m->metricspath)) < 0) {
		log_warnx("cannot create metrics file '%s': %s: not counting",
		    m->metricspath, strerror(-rv));
		m->metricspath[0] = '\0';
	}
}

/* The parent's side: wait for the daemon's verdict and exit with it. */
static void __attribute__((noreturn)) parent_wait(int fd)
{
	char buf[700];
	size_t len = 0;
	ssize_t r;

	while (len < sizeof(buf) - 1 &&
	    ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0 ||
		(r == -1 && errno == EINTR)))
		if (r > 0)
			len += (size_t)r;
	buf[len] = '\0';
	if (len > 0 && buf[0] == 'O')
		_exit(0);
	if (len > 1)
		(void)fprintf(stderr, "relayd: %s\n", buf + 1);
	else
		(void)fprintf(
		    stderr, "relayd: daemon exited during start-up\n");
	_exit(len > 0 && buf[0] == 'C' ? EX_CONFIG : 1);
}

static void
daemonize(void)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		fatal(1, "pipe");
	if ((pid = fork()) == -1)
		fatal(1, "fork");
	if (pid != 0) {
		(void)close(p[1]);
		parent_wait(p[0]);
	}
	(void)close(p[0]);
	status_fd = p[1];
	log_init(LOG_TO_SYSLOG);
	if (setsid() == -1)
		start_fail(1, "setsid: %s", strerror(errno));
	if (chdir("/") == -1)
		start_fail(1, "chdir /: %s", strerror(errno));
	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    dup2(null, 0) == -1 || dup2(null, 1) == -1 || dup2(null, 2) == -1)
		start_fail(1, "/dev/null: %s", strerror(errno));
	if (null > 2)
		(void)close(null);
}

/*
 * HUP and USR1 wait until the event loop handles them: the listeners are
 * up (and a reload may be asked for) before master_run() sets handlers,
 * and their default action would end the master.
 */
static void
start_signals(void)
{
	sigset_t set;

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGUSR1);
	(void)sigprocmask(SIG_BLOCK, &set, NULL);
}

/* 0, 1 and 2 open, so no file we open later becomes our stderr. */
static void
stdio_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) != -1 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		(void)close(fd);
}

int
main(int argc, char **argv, char **envp)
{
	struct master m = { .root = "/",
		.rootfd = -1,
		.spoolfd = -1,
		.submitfd = -1,
		.submitdir = -1 };
	char why[256];
	int fg = 0, rv;

	/* Nothing the caller left open may reach a child (or the runner). */
	closefrom(STDERR_FILENO + 1);
	start_signals();
	stdio_open();
	setproctitle_init(argc, argv, envp);
	parse_args(argc, argv, &m, &fg);
	(void)umask(022);
	log_init(fg ? LOG_TO_STDERR : LOG_TO_STDERR | LOG_TO_SYSLOG);
	if (geteuid() != 0)
		fatalx(1, "must be started as root");
	start_config(&m);
	start_listen(&m);
	if (!fg)
		daemonize();
	if (pidfile_write(m.pfh) == -1)
		start_fail(1, "cannot write pidfile '%s': %s", m.pidpath,
		    strerror(errno));
	start_metrics(&m);
	if (master_caps(why, sizeof(why)) < 0)
		start_fail(1, "%s", why);
	if ((m.children = master_table_new()) == NULL ||
	    (m.pool = master_pool_new()) == NULL)
		start_fail(1, "out of memory");
	start_pfh = NULL;
	if (status_fd != -1) {
		if (write(status_fd, "O", 1) != 1)
			log_warn("start-up status pipe");
		(void)close(status_fd);
		status_fd = -1;
	}
	rv = master_run(&m);
	master_table_free(m.children);
	master_pool_free(m.pool);
	recipients_free(m.rcpts);
	authtab_free(m.auth);
	authsenders_free(m.senders);
	tls_ctx_free(m.tls);
	authfile_free(m.sauth);
	(void)close(m.spoolfd);
	(void)close(m.rootfd);
	return rv;
}
