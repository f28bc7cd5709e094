/*
 * relayd listeners: socket, bind and listen for each configured address,
 * and the reload diff that keeps unchanged sockets open so a SIGHUP never
 * drops a connection that is waiting in a backlog.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"

void
listen_init(struct listen_set *ls)
{
	memset(ls, 0, sizeof(*ls));
}

static int
listen_fail(int fd, const struct config_listen *a, const char *step, char *err,
    size_t errlen)
{
	int e = errno != 0 ? errno : EIO;

	(void)snprintf(err, errlen, "cannot listen on %s: %s: %s", a->text,
	    step, strerror(e));
	if (fd != -1)
		(void)close(fd);
	return -e;
}

static int
listen_one(const struct config_listen *a, int *fdp, char *err, size_t errlen)
{
	int fd, on = 1, family = a->ss.ss_family;

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return listen_fail(fd, a, "socket", err, errlen);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		return listen_fail(fd, a, "SO_REUSEADDR", err, errlen);
	/* "[::]:25" must not also claim 0.0.0.0:25 (listed separately). */
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		return listen_fail(fd, a, "IPV6_V6ONLY", err, errlen);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		return listen_fail(fd, a, "bind", err, errlen);
	if (listen(fd, SOMAXCONN) == -1)
		return listen_fail(fd, a, "listen", err, errlen);
	*fdp = fd;
	return 0;
}

static const struct listener *
listen_find(const struct listen_set *ls, const char *text)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].addr.text, text) == 0)
			return &ls->l[i];
	return NULL;
}

int
listen_update(
    struct listen_set *ls, const struct config *cfg, char *err, size_t errlen)
{
	struct listen_set next;
	const struct listener *old;
	size_t i;
	int rv;

	listen_init(&next);
	for (i = 0; i < cfg->nlisten && i < CONFIG_LISTEN_MAX; i++) {
		next.l[i].addr = cfg->listen[i];
		next.l[i].fd = -1;
		if ((old = listen_find(ls, cfg->listen[i].text)) != NULL)
			continue;
		rv = listen_one(&cfg->listen[i], &next.l[i].fd, err, errlen);
		if (rv < 0) {
			next.n = i;
			goto fail;
		}
	}
	next.n = i;
	/* Commit: move kept sockets over, close the ones not configured. */
	for (i = 0; i < next.n; i++)
		if (next.l[i].fd == -1)
			next.l[i].fd = listen_find(ls, next.l[i].addr.text)->fd;
	for (i = 0; i < ls->n; i++)
		if (listen_find(&next, ls->l[i].addr.text) == NULL)
			(void)close(ls->l[i].fd);
	*ls = next;
	return 0;
fail:
	for (i = 0; i < next.n; i++)
		if (next.l[i].fd != -1)
			(void)close(next.l[i].fd);
	return rv;
}

void
listen_close_all(struct listen_set *ls)
{
	size_t i;

	for (i = 0; i < ls->n; i++)
		if (ls->l[i].fd != -1)
			(void)close(ls->l[i].fd);
	ls->n = 0;
}

int
listen_describe(const struct listen_set *ls, char *buf, size_t len)
{
	size_t i;

	if (len == 0)
		return -ENAMETOOLONG;
	buf[0] = '\0';
	for (i = 0; i < ls->n; i++) {
		if (i > 0 && strlcat(buf, ", ", len) >= len)
			return -ENAMETOOLONG;
		if (strlcat(buf, ls->l[i].addr.text, len) >= len)
			return -ENAMETOOLONG;
	}
	return 0;
}
