/*
 * libFuzzer target for the auth_senders parser: arbitrary bytes through
 * authsenders_parse(); an error leaves no table and names a line, and a
 * lookup in a table never crashes and never matches a login not in it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "authsenders.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authsenders *t = NULL;
	struct config_error err;

	if (authsenders_parse((const char *)data, size, "fuzz", &t, &err) !=
	    0) {
		if (t != NULL || err.msg[0] == '\0')
			abort();
		return 0;
	}
	/* "fuzz nobody" has a blank: never a valid login. */
	if (authsenders_match(t, "fuzz nobody", "a", "example.org"))
		abort();
	(void)authsenders_match(t, "a", "a", "example.org");
	authsenders_free(t);
	return 0;
}
