/*
 * relayd master: failed AUTH exchanges per client across sessions.  The
 * master never reads the network, so an SMTP child reports its failures in
 * its exit status (SESSION_EXIT_AUTH + n); the master adds them to the
 * client's count for auth_failure_window and tells each new child how many
 * its client has made already, so the guessing stops at auth_max_failures
 * however the client spreads it over connections.
 */
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <time.h>

#include "log.h"
#include "master.h"
#include "master_table.h"
#include "session.h"

static int64_t
mono_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

unsigned
master_authfail_prior(
    const struct master *m, const struct sockaddr_storage *peer)
{
	struct master_client c;
	size_t n;

	if (m->authfail == NULL || m->auth == NULL)
		return 0;
	master_client_of(peer, &c);
	n = master_rate_get(m->authfail, &c, mono_now());
	return n > SESSION_AUTH_MAX ? SESSION_AUTH_MAX : (unsigned)n;
}

void
master_authfail_reaped(
    struct master *m, const struct master_client *c, int status)
{
	char who[INET6_ADDRSTRLEN + 4];
	size_t total;
	int n;

	if (!WIFEXITED(status) || WEXITSTATUS(status) <= SESSION_EXIT_AUTH ||
	    WEXITSTATUS(status) > SESSION_EXIT_AUTH + SESSION_AUTH_MAX)
		return;
	n = WEXITSTATUS(status) - SESSION_EXIT_AUTH;
	if (m->cfg.auth_failure_window == 0)
		return; /* counted per session only */
	if (m->authfail == NULL &&
	    (m->authfail = master_rate_new(m->cfg.auth_failure_window)) ==
		NULL) {
		log_warnx("out of memory: AUTH failures counted per session");
		return;
	}
	total = master_rate_add(m->authfail, c, mono_now(), (size_t)n);
	master_client_format(c, who, sizeof(who));
	log_info("%s: %d failed AUTH, %zu in this window of %us%s", who, n,
	    total, m->cfg.auth_failure_window,
	    total >= m->cfg.auth_max_failures
		? ": AUTH refused until it ends (auth_max_failures)"
		: "");
}

void
master_authfail_reload(struct master *m, unsigned old_window)
{
	if (m->cfg.auth_failure_window == old_window)
		return;
	/* A new window length starts every count afresh. */
	master_rate_free(m->authfail);
	m->authfail = NULL;
}
