/*
 * libFuzzer target for the transport map parser: arbitrary bytes through
 * route_table_parse(); an error leaves no table and names a line, a table
 * holds at most one entry per line, and lookups of a few domains (exact,
 * subdomain, trailing dot) agree with the tls= column: a "-" entry never
 * yields a next hop, a policy is a known one.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "route_table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
probe(const struct route_table *t, const char *domain)
{
	char hop[ROUTE_NEXTHOP_MAX + 1];
	int rv = route_table_lookup(t, domain, hop, sizeof(hop));
	int tls = route_table_tls(t, domain);

	if (rv < 0 || rv > 1 || tls < -1 || tls > CONFIG_TLSC_WRAPPER)
		abort();
	if (rv == 1 && (hop[0] == '\0' || strcmp(hop, "-") == 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const domains[] = { "a", "example.org",
		"x.example.org.", "a.b.c.d", "org" };
	struct route_table *t = NULL;
	char err[256];
	size_t i, lines = 1;
	int rv;

	rv = route_table_parse(
	    (const char *)data, size, "fuzz", &t, err, sizeof(err));
	if (rv != 0) {
		if (t != NULL ||
		    (rv == -EINVAL && strncmp(err, "fuzz:", 5) != 0))
			abort();
		return 0;
	}
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (route_table_count(t) > lines)
		abort();
	for (i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		probe(t, domains[i]);
	route_table_free(t);
	return 0;
}
