/* The master's limits on new connections (master_limit.h). */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "master_limit.h"
#include "master_table.h"
#include "smtp_addr.h"
#include "sockaddr.h"

/* max_conn_rate: 1 if this connection is one too many this minute. */
static int
master_over_rate(
    struct master *m, const struct sockaddr_storage *peer, const char *addr)
{
	struct master_client c;
	struct timespec t;
	size_t n;

	if (m->cfg.max_conn_rate == 0)
		return 0;
	if (m->rate == NULL &&
	    (m->rate = master_rate_new(MASTER_RATE_WINDOW)) == NULL) {
		log_warnx("out of memory: max_conn_rate not enforced");
		return 0;
	}
	master_client_of(peer, &c);
	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	n = master_rate_add(m->rate, &c, t.tv_sec, 1);
	if (n <= m->cfg.max_conn_rate)
		return 0;
	log_warnx("refused %s: %zu connections from it this minute "
		  "(max_conn_rate)",
	    addr, n);
	return 1;
}

/* A client in relay_from (the address accept() gave, nothing read). */
static int
master_trusted(const struct master *m, const struct sockaddr_storage *peer)
{
	size_t i;

	for (i = 0; i < m->cfg.nrelay_from && i < CONFIG_NET_MAX; i++)
		if (smtp_addr_net_match(peer, &m->cfg.relay_from[i].addr,
			m->cfg.relay_from[i].prefix))
			return 1;
	return 0;
}

int
master_over_limit(struct master *m, const struct sockaddr_storage *peer,
    char *why, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int trusted = master_trusted(m, peer);
	size_t n;

	sockaddr_ntop(peer, addr, sizeof(addr));
	(void)strlcpy(why, "Too many connections, try again later", len);
	/* submit_socket: local users, counted in max_children only. */
	if (peer->ss_family == AF_UNIX) {
		(void)strlcpy(addr, "local", sizeof(addr));
		trusted = 1;
	}
	if (!trusted && master_over_rate(m, peer, addr)) {
		/* len fits any address: nothing is cut. */
		(void)snprintf(
		    why, len, "Error: too many connections from %s", addr);
		return 1;
	}
	if ((n = master_table_count(m->children)) >= m->cfg.max_children) {
		log_warnx("refused %s: %zu sessions (max_children)", addr, n);
		return 1;
	}
	if (!trusted &&
	    (n = master_table_count_peer(m->children, peer)) >=
		m->cfg.max_per_ip) {
		log_warnx(
		    "refused %s: %zu sessions from it (max_per_ip)", addr, n);
		return 1;
	}
	return 0;
}

int
master_stressed(struct master *m)
{
	size_t n = master_table_count(m->children);
	int stress;

	stress = m->cfg.stress_timeout > 0 && n * 5 >= m->cfg.max_children * 4;
	if (stress && !m->stress)
		log_warnx("%zu of %zu sessions: new sessions get timeouts of "
			  "%us (stress_timeout)",
		    n, m->cfg.max_children, m->cfg.stress_timeout);
	else if (!stress && m->stress)
		log_info("%zu of %zu sessions: normal timeouts again", n,
		    m->cfg.max_children);
	m->stress = stress;
	return stress;
}
