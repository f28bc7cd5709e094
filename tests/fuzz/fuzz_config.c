/*
 * libFuzzer target for the relayd.conf parser: arbitrary bytes (not
 * NUL-terminated) through config_parse() on top of the defaults. On error
 * the config must be untouched; on success it must hold its invariants.
 */
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config defaults, c;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_error err;
	int rv;

	if (defaults.nlisten == 0)
		config_defaults(&defaults);
	memcpy(&c, &defaults, sizeof(c));
	rv = config_parse((const char *)data, size, "fuzz.conf", &c, &err);
	if (rv != 0) {
		if (memcmp(&c, &defaults, sizeof(c)) != 0 || err.msg[0] == '\0')
			abort();
		return 0;
	}
	if (c.nlisten == 0 || c.nlisten > CONFIG_LISTEN_MAX ||
	    c.nrelay_from > CONFIG_NET_MAX ||
	    c.nrelay_domains > CONFIG_DOMAIN_MAX ||
	    c.nmilter > CONFIG_MILTER_MAX || c.retry_min > c.retry_max ||
	    strcmp(c.run_as, "root") == 0 || c.spool[0] != '/' ||
	    memchr(c.hostname, '\0', sizeof(c.hostname)) == NULL)
		abort();
	return 0;
}
