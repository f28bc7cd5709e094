/*
 * The server pool (master_pool.h).  Master and child talk over a
 * SOCK_SEQPACKET pair: master -> child one struct pool_conn with the
 * connection's fd, child -> master one int (the session's exit status)
 * per session.  The child is the relay account and may be hostile: a
 * report that is not exactly one int, or that comes while the child is
 * not serving, gets it killed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <poll.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master.h"
#include "master_pool.h"

struct pool_proc {
	pid_t pid;
	int sock; /* the master's end; -1 once let go */
	int busy; /* serving a connection, its report not read yet */
	int retire; /* let go after this session */
	unsigned served;
	struct timespec idle_since; /* CLOCK_MONOTONIC */
};

struct master_pool {
	struct pool_proc *p;
	size_t n, cap;
};

struct master_pool *
master_pool_new(void)
{
	return calloc(1, sizeof(struct master_pool));
}

static void
let_go(struct master_pool *p, size_t i)
{
	if (p->p[i].sock != -1)
		(void)close(p->p[i].sock);
	p->p[i] = p->p[--p->n];
}

void
master_pool_free(struct master_pool *p)
{
	if (p == NULL)
		return;
	while (p->n > 0)
		let_go(p, p->n - 1);
	free(p->p);
	free(p);
}

int
master_pool_add(struct master_pool *p, pid_t pid, int sock)
{
	struct pool_proc *np;
	size_t cap;

	if (p->n == p->cap) {
		cap = p->cap ? p->cap * 2 : 16;
		if ((np = reallocarray(p->p, cap, sizeof(*np))) == NULL)
			return -1;
		p->p = np;
		p->cap = cap;
	}
	memset(&p->p[p->n], 0, sizeof(p->p[p->n]));
	p->p[p->n].pid = pid;
	p->p[p->n].sock = sock;
	p->p[p->n].busy = 1;
	p->n++;
	return 0;
}

static int
send_conn(int sock, int fd, const struct pool_conn *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = (void *)c, .iov_len = sizeof(*c) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) ==
		(ssize_t)sizeof(*c)
	    ? 0
	    : -1;
}

pid_t
master_pool_send(struct master_pool *p, int fd, const struct pool_conn *c)
{
	size_t i = p->n;

	/* Newest first: the oldest idle children age out (max_idle). */
	while (i-- > 0) {
		if (p->p[i].busy || p->p[i].retire)
			continue;
		if (send_conn(p->p[i].sock, fd, c) == -1) {
			/* Gone or wedged: it is reaped (or killed) on its own. */
			log_warn("pool: child %ld", (long)p->p[i].pid);
			let_go(p, i);
			continue;
		}
		p->p[i].busy = 1;
		return p->p[i].pid;
	}
	return 0;
}

/* One report from child i: 1 taken, 0 none yet, -1 the child is gone. */
static int
read_report(struct master_pool *p, size_t i, int *status)
{
	struct pool_proc *c = &p->p[i];
	ssize_t n;
	int rc;

	n = recv(c->sock, &rc, sizeof(rc), MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n == 0 || n == -1)
		return -1; /* exited: reaped on SIGCHLD */
	if (n != (ssize_t)sizeof(rc) || !c->busy || rc < 0 || rc > 255) {
		log_warnx("pool: child %ld sent a bad report; killing it",
		    (long)c->pid);
		(void)kill(c->pid, SIGKILL);
		return -1;
	}
	*status = rc << 8; /* as WEXITSTATUS() reads it */
	return 1;
}

void
master_pool_collect(struct master_pool *p, unsigned max_use,
    void (*cb)(void *, pid_t, int), void *arg)
{
	size_t i = p->n;
	pid_t pid;
	int r, status;

	while (i-- > 0) {
		if ((r = read_report(p, i, &status)) == 0)
			continue;
		if (r == -1) {
			let_go(p, i);
			continue;
		}
		pid = p->p[i].pid;
		p->p[i].busy = 0;
		p->p[i].served++;
		(void)clock_gettime(CLOCK_MONOTONIC, &p->p[i].idle_since);
		if (p->p[i].retire || p->p[i].served >= max_use)
			let_go(p, i); /* EOF: it exits */
		cb(arg, pid, status);
	}
}

void
master_pool_gone(struct master_pool *p, pid_t pid)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->p[i].pid == pid) {
			let_go(p, i);
			return;
		}
}

void
master_pool_retire(struct master_pool *p)
{
	size_t i = p->n;

	while (i-- > 0) {
		if (p->p[i].busy)
			p->p[i].retire = 1;
		else
			let_go(p, i);
	}
}

long
master_pool_expire(struct master_pool *p, unsigned max_idle)
{
	struct timespec now;
	long next = -1, left, idle_ms;
	size_t i = p->n;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	while (i-- > 0) {
		if (p->p[i].busy)
			continue;
		idle_ms = (now.tv_sec - p->p[i].idle_since.tv_sec) * 1000 +
		    (now.tv_nsec - p->p[i].idle_since.tv_nsec) / 1000000;
		if ((left = (long)max_idle * 1000 - idle_ms) <= 0) {
			let_go(p, i);
			continue;
		}
		if (next == -1 || left < next)
			next = left;
	}
	return next;
}

size_t
master_pool_size(const struct master_pool *p)
{
	return p == NULL ? 0 : p->n;
}

/* The next connection's fd, or -1 (EOF: let go). */
static int
recv_conn(int sock, struct pool_conn *c)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { .iov_base = c, .iov_len = sizeof(*c) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1;

	msg.msg_control = u.buf;
	msg.msg_controllen = sizeof(u.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm != NULL && cm->cmsg_level == SOL_SOCKET &&
	    cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (n != (ssize_t)sizeof(*c) || (msg.msg_flags & MSG_CTRUNC) ||
	    c->peerlen > sizeof(c->peer)) {
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	return fd;
}

int
pool_child_report(int sock, int status)
{
	return send(sock, &status, sizeof(status), MSG_NOSIGNAL) ==
		(ssize_t)sizeof(status)
	    ? 0
	    : -1;
}

int
pool_child_wait(int sock, struct pool_conn *c)
{
	/* After the report: "idle" means the master may count it so. */
	setproctitle("%-*s", MASTER_TITLE_PAD, "idle server");
	return recv_conn(sock, c);
}

size_t
master_pool_pollfds(const struct master_pool *p, struct pollfd *pfd)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		pfd[i].fd = p->p[i].sock;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return i;
}
