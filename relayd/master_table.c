/*
 * relayd master: live children and their peer addresses. Linear scans
 * over at most max_children entries: accept() is the only caller that
 * counts, and it runs once per connection.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "master_table.h"

struct master_child {
	pid_t pid;
	struct sockaddr_storage peer;
};

struct master_table {
	struct master_child *c;
	size_t n, cap;
};

struct master_table *
master_table_new(void)
{
	return calloc(1, sizeof(struct master_table));
}

void
master_table_free(struct master_table *t)
{
	if (t == NULL)
		return;
	free(t->c);
	free(t);
}

int
master_table_add(
    struct master_table *t, pid_t pid, const struct sockaddr_storage *peer)
{
	struct master_child *c;
	size_t cap;

	if (t->n == t->cap) {
		cap = t->cap ? t->cap * 2 : 64;
		if ((c = reallocarray(t->c, cap, sizeof(*c))) == NULL)
			return -ENOMEM;
		t->c = c;
		t->cap = cap;
	}
	t->c[t->n].pid = pid;
	t->c[t->n].peer = *peer;
	t->n++;
	return 0;
}

int
master_table_remove(struct master_table *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->c[i].pid != pid)
			continue;
		t->c[i] = t->c[--t->n];
		return 1;
	}
	return 0;
}

size_t
master_table_count(const struct master_table *t)
{
	return t->n;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return memcmp(&a6->sin6_addr, &b6->sin6_addr,
			   sizeof(a6->sin6_addr)) == 0;
	return 0;
}

size_t
master_table_count_peer(
    const struct master_table *t, const struct sockaddr_storage *peer)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		if (same_addr(&t->c[i].peer, peer))
			n++;
	return n;
}

size_t
master_table_signal(const struct master_table *t, int sig)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		if (kill(t->c[i].pid, sig) == 0)
			n++;
	return n;
}
