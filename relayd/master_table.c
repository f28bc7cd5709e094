/*
 * relayd master: live children and their clients, and recent connections
 * per client. Linear scans: over at most max_children entries, and over
 * at most MASTER_RATE_CLIENTS when max_conn_rate is set; accept() is the
 * only caller that counts, once per connection.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "master_table.h"

struct master_child {
	pid_t pid;
	struct master_client client;
};

struct master_table {
	struct master_child *c;
	size_t n, cap;
};

void
master_client_of(const struct sockaddr_storage *ss, struct master_client *c)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	memset(c, 0, sizeof(*c));
	if (ss->ss_family == AF_INET) {
		c->b[0] = 4;
		memcpy(c->b + 1, &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		/* A dual-stack listener: not every IPv4 client in one /64. */
		c->b[0] = 4;
		memcpy(c->b + 1, sin6->sin6_addr.s6_addr + 12, 4);
	} else if (ss->ss_family == AF_INET6) {
		c->b[0] = 6;
		memcpy(c->b + 1, sin6->sin6_addr.s6_addr, 8);
	}
}

void
master_client_format(const struct master_client *c, char *buf, size_t len)
{
	unsigned char a6[16] = { 0 };
	char t[INET6_ADDRSTRLEN];

	memcpy(a6, c->b + 1, 8);
	if (c->b[0] == 4 && inet_ntop(AF_INET, c->b + 1, t, sizeof(t)))
		(void)snprintf(buf, len, "%s", t);
	else if (c->b[0] == 6 && inet_ntop(AF_INET6, a6, t, sizeof(t)))
		(void)snprintf(buf, len, "%s/64", t);
	else
		(void)snprintf(buf, len, "unknown");
}

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
	master_client_of(peer, &t->c[t->n].client);
	t->n++;
	return 0;
}

int
master_table_remove(struct master_table *t, pid_t pid, struct master_client *c)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->c[i].pid != pid)
			continue;
		if (c != NULL)
			*c = t->c[i].client;
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

size_t
master_table_count_peer(
    const struct master_table *t, const struct sockaddr_storage *peer)
{
	struct master_client c;
	size_t i, n = 0;

	master_client_of(peer, &c);
	for (i = 0; i < t->n; i++)
		if (memcmp(&t->c[i].client, &c, sizeof(c)) == 0)
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

struct rate_entry {
	struct master_client client;
	int64_t start; /* the window began then */
	size_t count;
};

struct master_rate {
	struct rate_entry e[MASTER_RATE_CLIENTS];
	size_t n;
	int64_t window; /* seconds */
};

struct master_rate *
master_rate_new(unsigned window)
{
	struct master_rate *r;

	if ((r = calloc(1, sizeof(*r))) != NULL)
		r->window = window > 0 ? window : 1;
	return r;
}

void
master_rate_free(struct master_rate *r)
{
	free(r);
}

/* The entry to reuse in a full table: an ended window, else the oldest. */
static struct rate_entry *
rate_victim(struct master_rate *r, int64_t now)
{
	struct rate_entry *old = &r->e[0];
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (now - r->e[i].start >= r->window)
			return &r->e[i];
		if (r->e[i].start < old->start)
			old = &r->e[i];
	}
	return old;
}

static struct rate_entry *
rate_find(const struct master_rate *r, const struct master_client *c)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (memcmp(&r->e[i].client, c, sizeof(*c)) == 0)
			return (struct rate_entry *)&r->e[i];
	return NULL;
}

size_t
master_rate_get(
    const struct master_rate *r, const struct master_client *c, int64_t now)
{
	const struct rate_entry *e = rate_find(r, c);

	return e == NULL || now - e->start >= r->window ? 0 : e->count;
}

size_t
master_rate_add(
    struct master_rate *r, const struct master_client *c, int64_t now, size_t n)
{
	struct rate_entry *e = rate_find(r, c);

	if (e == NULL) {
		e = r->n < MASTER_RATE_CLIENTS ? &r->e[r->n++]
					       : rate_victim(r, now);
		e->client = *c;
		e->count = 0;
		e->start = now;
	}
	if (now - e->start >= r->window) {
		e->start = now;
		e->count = 0;
	}
	e->count += n;
	return e->count;
}
