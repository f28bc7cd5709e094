/*
 * relayd master: what each SMTP child reports about its client when it
 * exits, remembered per client across sessions.  The master never reads
 * the network, so a child reports in its exit status (session.h,
 * SESSION_EXIT_REPORT): failed AUTH exchanges, which count against
 * auth_max_failures for auth_failure_window however the client spreads
 * them over connections; and whether the client passed (waited out
 * greet_pause or logged in), after which its sessions skip the pause for
 * MASTER_PASS_TTL, as Postfix's postscreen caches a client that passed.
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

void
master_report_prior(const struct master *m, const struct sockaddr_storage *peer,
    unsigned *auth_failures, int *passed)
{
	struct master_client c;
	size_t n = 0;

	master_client_of(peer, &c);
	if (m->authfail != NULL && m->auth != NULL)
		n = master_rate_get(m->authfail, &c, mono_now());
	*auth_failures = n > SESSION_AUTH_MAX ? SESSION_AUTH_MAX : (unsigned)n;
	*passed =
	    m->passed != NULL && master_rate_get(m->passed, &c, mono_now()) > 0;
}

/* A table made when first needed; NULL (and a warning) without memory. */
static struct master_rate *
table(struct master_rate **t, unsigned window, const char *what)
{
	if (*t == NULL && (*t = master_rate_new(window)) == NULL)
		log_warnx("out of memory: %s not remembered", what);
	return *t;
}

static void
report_auth(struct master *m, const struct master_client *c, unsigned n)
{
	char who[INET6_ADDRSTRLEN + 4];
	size_t total;

	if (n == 0 || m->cfg.auth_failure_window == 0)
		return; /* none, or counted per session only */
	if (table(&m->authfail, m->cfg.auth_failure_window, "AUTH failures") ==
	    NULL)
		return;
	total = master_rate_add(m->authfail, c, mono_now(), n);
	master_client_format(c, who, sizeof(who));
	log_info("%s: %u failed AUTH, %zu in this window of %us%s", who, n,
	    total, m->cfg.auth_failure_window,
	    total >= m->cfg.auth_max_failures
		? ": AUTH refused until it ends (auth_max_failures)"
		: "");
}

static void
report_pass(struct master *m, const struct master_client *c)
{
	char who[INET6_ADDRSTRLEN + 4];
	int64_t now = mono_now();

	if (table(&m->passed, MASTER_PASS_TTL, "clients that passed") == NULL)
		return;
	if (master_rate_get(m->passed, c, now) > 0)
		return; /* already known: its window runs from the first pass */
	(void)master_rate_add(m->passed, c, now, 1);
	master_client_format(c, who, sizeof(who));
	log_info("%s: PASS NEW: no greet_pause for it for %ds", who,
	    MASTER_PASS_TTL);
}

void
master_report_reaped(
    struct master *m, const struct master_client *c, int status)
{
	int st;

	if (!WIFEXITED(status))
		return;
	st = WEXITSTATUS(status);
	if ((st & ~(SESSION_EXIT_PASSED | SESSION_AUTH_MAX)) !=
	    SESSION_EXIT_REPORT)
		return;
	report_auth(m, c, (unsigned)(st & SESSION_AUTH_MAX));
	if (st & SESSION_EXIT_PASSED)
		report_pass(m, c);
}

void
master_report_reload(struct master *m, unsigned old_window)
{
	if (m->cfg.auth_failure_window == old_window)
		return;
	/* A new window length starts every count afresh. */
	master_rate_free(m->authfail);
	m->authfail = NULL;
}
