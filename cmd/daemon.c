/*
 * relayctl start|stop|restart|reload|status: run relayd from its pidfile
 * under --root, with LSB exit codes. start refuses a root the static
 * audit finds unsafe; stop checks that the pid is a relayd before it
 * signals it (a stale pidfile must not make us kill a stranger).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "procstat.h"
#include "metrics.h"
#include "relayctl.h"
#include "relayd_pid.h"
#include "walk.h"

#ifndef RELAY_SBINDIR
#define RELAY_SBINDIR "/usr/sbin"
#endif

#define STOP_WAIT_MS 15000
#define CONNECT_WAIT_MS 5000
#define SESSION_TITLE "relayd: server " /* in a session (relayd/server.c) */

struct daemon {
	const char *root;
	const char *config;
	int json;
	int rootfd;
	int procfd; /* /proc, where relayd_pid() looks */
	struct config cfg;
	pid_t pid; /* > 0: the pidfile names a live relayd */
	pid_t stale; /* > 0: the pidfile names a process that is gone */
};

static void
config_err(const struct config_error *e)
{
	char text[512];

	config_error_format(e, text, sizeof(text));
	warnx("%s", text);
}

/* Root fd and configuration: what every command needs to find relayd. */
static int
daemon_load(struct daemon *d)
{
	struct config_error ce;

	d->rootfd = open(d->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd == -1) {
		warn("cannot open root '%s'", d->root);
		return -1;
	}
	d->procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d->procfd == -1) {
		warn("cannot open '/proc'");
		return -1;
	}
	config_defaults(&d->cfg);
	memset(&ce, 0, sizeof(ce));
	if (config_load(d->rootfd, d->config, &d->cfg, &ce) < 0) {
		config_err(&ce);
		return -1;
	}
	return 0;
}

/* Fill d->pid or d->stale from the pidfile; both 0 when there is none. */
static void
daemon_state(struct daemon *d)
{
	pid_t pid;
	int r;

	d->pid = d->stale = 0;
	r = relayd_pid(d->rootfd, d->cfg.pidfile, d->procfd, &pid);
	if (r == 0)
		d->pid = pid;
	else if (r == -ESRCH)
		d->stale = pid;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)(t.tv_sec - t0->tv_sec) * 1000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* relayd: $RELAYD, next to this relayctl, or the installed one. */
int
daemon_relayd_path(char *buf, size_t len)
{
	char self[PATH_MAX], *slash;
	const char *env = getenv("RELAYD");
	ssize_t n;

	if (env != NULL && env[0] != '\0')
		return strlcpy(buf, env, len) < len ? 0 : -1;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(buf, len, "%s/relayd", self) <
				len &&
			    access(buf, X_OK) == 0)
				return 0;
		}
	}
	return (size_t)snprintf(buf, len, "%s/relayd", RELAY_SBINDIR) < len
	    ? 0
	    : -1;
}

/* Run relayd, which returns once it accepts connections; its status. */
static int
spawn_relayd(const struct daemon *d)
{
	char path[PATH_MAX];
	char *argv[] = { path, "--root", (char *)d->root, "-c",
		(char *)d->config, NULL };
	pid_t pid;
	int status;

	if (daemon_relayd_path(path, sizeof(path)) < 0) {
		warnx("relayd path too long");
		return -1;
	}
	if ((pid = fork()) == -1) {
		warn("fork");
		return -1;
	}
	if (pid == 0) {
		execv(path, argv);
		warn("cannot run '%s'", path);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			warn("waitpid");
			return -1;
		}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	warnx("relayd killed by signal %d during start-up", WTERMSIG(status));
	return -1;
}

/* A wildcard listener is reached through loopback. */
static void
connect_addr(const struct config_listen *l, struct sockaddr_storage *ss)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	*ss = l->ss;
	if (ss->ss_family == AF_INET && s4->sin_addr.s_addr == INADDR_ANY)
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
		s6->sin6_addr = in6addr_loopback;
}

/* 0 if a TCP connect to the first listener succeeds (closed at once). */
static int
probe_listener(const struct daemon *d)
{
	const struct config_listen *l = &d->cfg.listen[0];
	struct sockaddr_storage ss;
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, e = 0;

	connect_addr(l, &ss);
	fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, l->len) == -1) {
		e = errno;
		if (e == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			if (poll(&pfd, 1, CONNECT_WAIT_MS) <= 0)
				e = ETIMEDOUT;
			else if (getsockopt(
				     fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
				e = errno;
		}
	}
	(void)close(fd);
	return -e;
}

/* Static audit: unsafe refuses, drift only warns. 0 or an exit status. */
static int
start_audit(const struct daemon *d)
{
	struct plan plan = { 0 }, unsafe = { 0 };
	const struct plan_item *it;
	size_t i;
	int r;

	if ((r = setup_audit(d->root, &plan)) != 0)
		goto out;
	for (i = 0; i < plan.n; i++) {
		it = &plan.items[i];
		if (it->kind == PLAN_UNSAFE &&
		    plan_add(&unsafe, it->kind, it->action, it->path,
			it->before, it->after) < 0) {
			warnx("out of memory");
			r = 1;
			goto out;
		}
	}
	if (unsafe.n > 0) {
		output_plan_text(stderr, &unsafe);
		warnx("refusing to start relayd: %zu unsafe %s under '%s'",
		    unsafe.n, unsafe.n == 1 ? "item" : "items", d->root);
		r = EXIT_UNSAFE;
	} else if (plan.nactions > 0)
		warnx("%zu %s from the layout; run 'relayctl setup'",
		    plan.nactions,
		    plan.nactions == 1 ? "item differs" : "items differ");
out:
	plan_free(&unsafe);
	plan_free(&plan);
	return r;
}

static int
daemon_start(struct daemon *d)
{
	int r;

	daemon_state(d);
	if (d->pid > 0) {
		printf("relayd is already running (pid %ld)\n", (long)d->pid);
		return 0;
	}
	if ((r = start_audit(d)) != 0)
		return r;
	if ((r = spawn_relayd(d)) != 0) {
		if (r > 0)
			warnx("relayd did not start (exit %d)", r);
		return 1;
	}
	daemon_state(d);
	if (d->pid <= 0) {
		warnx("relayd started but its pidfile '%s' names no relayd",
		    d->cfg.pidfile);
		return 1;
	}
	if ((r = probe_listener(d)) < 0) {
		warnx("relayd (pid %ld) does not accept connections on %s: %s",
		    (long)d->pid, d->cfg.listen[0].text, strerror(-r));
		return 1;
	}
	printf("relayd started (pid %ld)\n", (long)d->pid);
	return 0;
}

static int
daemon_stop(struct daemon *d)
{
	struct timespec t0;
	pid_t pid;

	daemon_state(d);
	if (d->pid <= 0) {
		printf("relayd is not running\n");
		return 0;
	}
	pid = d->pid;
	if (kill(pid, SIGTERM) == -1) {
		warn("cannot signal relayd (pid %ld)", (long)pid);
		return 1;
	}
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	while (relayd_pid_is_master(d->procfd, pid) == 0) {
		if (elapsed_ms(&t0) > STOP_WAIT_MS) {
			warnx("relayd (pid %ld) did not stop within %d seconds",
			    (long)pid, STOP_WAIT_MS / 1000);
			return 1;
		}
		(void)usleep(50 * 1000);
	}
	printf("relayd stopped\n");
	return 0;
}

static int
daemon_reload(struct daemon *d)
{
	daemon_state(d);
	if (d->pid <= 0) {
		printf("relayd is not running\n");
		return LSB_NOT_RUNNING;
	}
	if (kill(d->pid, SIGHUP) == -1) {
		warn("cannot signal relayd (pid %ld)", (long)d->pid);
		return 1;
	}
	printf(
	    "relayd (pid %ld) is reloading its configuration\n", (long)d->pid);
	return 0;
}

/*
 * Children of pid that are smtp sessions (ppid from /proc/N/stat, title
 * "relayd: server ..."): the queue runner and a child that has not yet
 * set its title after the privilege drop are not sessions.
 */
static long
count_sessions(pid_t pid)
{
	char path[300], buf[512], title[64], *p;
	struct dirent *de;
	DIR *dir;
	long n = 0, ppid;
	ssize_t len;
	int fd;

	if ((dir = opendir("/proc")) == NULL)
		return -1;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		(void)close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* "PID (COMM) STATE PPID ...": COMM may hold anything. */
		if ((p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %ld", &ppid) != 1 || ppid != (long)pid)
			continue;
		if (procstat_cmdline(dirfd(dir), (pid_t)atol(de->d_name), title,
			sizeof(title)) == 0 &&
		    strncmp(title, SESSION_TITLE, strlen(SESSION_TITLE)) == 0)
			n++;
	}
	(void)closedir(dir);
	return n;
}

/* Regular files in SPOOL/queue, or -1 if it cannot be read. */
static long
count_queue(const struct daemon *d)
{
	char path[sizeof(d->cfg.spool) + 8];
	struct dirent *de;
	struct stat st;
	DIR *dir;
	long n = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/queue", d->cfg.spool) >=
	    sizeof(path))
		return -1;
	fd = walk_open_io(d->rootfd, path, O_RDONLY | O_DIRECTORY, NULL);
	if (fd < 0)
		return -1;
	if ((dir = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return -1;
	}
	while ((de = readdir(dir)) != NULL)
		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			n++;
	(void)closedir(dir);
	return n;
}

/* relayd's counters into *mf: 0, or -errno (said, unless not running). */
static int
read_counters(const struct daemon *d, struct metrics_file *mf)
{
	char path[PATH_MAX];
	int r;

	if (d->pid <= 0)
		return -ENOENT;
	if (metrics_path(d->cfg.pidfile, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if ((r = metrics_read(d->rootfd, path, mf)) < 0)
		warnx("cannot read relayd's counters '%s': %s", path,
		    r == -EINVAL ? "not a relayd metrics file, or not root's"
				 : strerror(-r));
	return r;
}

static void
status_json(const struct daemon *d, long sessions, long queue)
{
	struct metrics_file mf;

	size_t i;

	printf("{\"running\": %s, \"pid\": ", d->pid > 0 ? "true" : "false");
	if (d->pid > 0)
		printf("%ld", (long)d->pid);
	else
		printf("null");
	printf(", \"sessions\": %ld, \"queue\": ", sessions);
	if (queue >= 0)
		printf("%ld", queue);
	else
		printf("null");
	printf(", \"listen\": [");
	for (i = 0; i < d->cfg.nlisten; i++) {
		printf("%s", i > 0 ? ", " : "");
		output_json_string(stdout, d->cfg.listen[i].text);
	}
	printf("], \"metrics\": ");
	metrics_json(read_counters(d, &mf) == 0 ? &mf : NULL);
	printf("}\n");
}

static void
status_text(const struct daemon *d, long sessions, long queue)
{
	size_t i;

	if (d->pid > 0)
		printf("relayd is running (pid %ld)\n", (long)d->pid);
	else if (d->stale > 0)
		printf("relayd is not running (pid %ld in '%s' is gone)\n",
		    (long)d->stale, d->cfg.pidfile);
	else
		printf("relayd is not running\n");
	if (d->pid > 0)
		printf("sessions: %ld\n", sessions);
	if (queue >= 0)
		printf("queue: %ld\n", queue);
	else
		printf(
		    "queue: unknown (cannot read '%s/queue')\n", d->cfg.spool);
	printf("listen:");
	for (i = 0; i < d->cfg.nlisten; i++)
		printf("%s%s", i > 0 ? ", " : " ", d->cfg.listen[i].text);
	printf("\n");
}

static int
daemon_status(struct daemon *d)
{
	long sessions = 0, queue;

	daemon_state(d);
	if (d->pid > 0 && (sessions = count_sessions(d->pid)) < 0)
		sessions = 0;
	queue = count_queue(d);
	if (d->json)
		status_json(d, sessions, queue);
	else
		status_text(d, sessions, queue);
	if (d->pid > 0)
		return 0;
	return d->stale > 0 ? LSB_STATUS_DEAD : LSB_STATUS_STOPPED;
}

/* Prometheus text; 0 whether relayd runs or not (relayd_up says). */
static int
daemon_metrics(struct daemon *d)
{
	struct metrics_file mf;
	struct census c;
	long sessions = 0;
	int have, census_ok;

	daemon_state(d);
	if (d->pid > 0 && (sessions = count_sessions(d->pid)) < 0)
		sessions = 0;
	have = read_counters(d, &mf) == 0;
	if (!(census_ok = census_take(d->rootfd, d->cfg.spool, &c) == 0))
		warnx("cannot read the queue under '%s': no queue metrics",
		    d->cfg.spool);
	metrics_prometheus(
	    d->pid > 0, have ? &mf : NULL, sessions, &c, census_ok);
	return 0;
}

static int
daemon_cmd(const struct cmd_args *a, int (*fn)(struct daemon *), int failure)
{
	struct daemon d = { .root = a->root,
		.config = a->config,
		.json = a->json,
		.rootfd = -1,
		.procfd = -1 };
	int r;

	if (daemon_load(&d) < 0)
		r = failure;
	else
		r = fn(&d);
	if (d.procfd != -1)
		(void)close(d.procfd);
	if (d.rootfd != -1)
		(void)close(d.rootfd);
	return r;
}

int
cmd_start(const struct cmd_args *a)
{
	return daemon_cmd(a, daemon_start, 1);
}

int
cmd_stop(const struct cmd_args *a)
{
	return daemon_cmd(a, daemon_stop, 1);
}

static int
daemon_restart(struct daemon *d)
{
	int r;

	if ((r = daemon_stop(d)) != 0)
		return r;
	return daemon_start(d);
}

int
cmd_restart(const struct cmd_args *a)
{
	return daemon_cmd(a, daemon_restart, 1);
}

int
cmd_reload(const struct cmd_args *a)
{
	return daemon_cmd(a, daemon_reload, 1);
}

int
cmd_metrics(const struct cmd_args *a)
{
	return daemon_cmd(a, daemon_metrics, 1);
}

int
cmd_status(const struct cmd_args *a)
{
	return daemon_cmd(a, daemon_status, LSB_STATUS_UNKNOWN);
}
