/*
 * libFuzzer target for the auth_users parser: arbitrary bytes through
 * authtab_parse(); an error leaves no table and says why, a table holds
 * at most one entry per five octets, and the line edit of relayctl
 * passwd works on whatever the parser took.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "authtab.h"
#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authtab *t = NULL;
	struct config_error err;
	char *out = NULL;
	size_t len;
	int rv;

	rv = authtab_parse((const char *)data, size, "fuzz", &t, &err);
	if (rv != 0) {
		if (t != NULL || err.msg[0] == '\0' || err.line == 0)
			abort();
		return 0;
	}
	if (authtab_count(t) > size / 5)
		abort(); /* "u:$y$" is the shortest entry */
	/* Deleting a line never makes the text longer. */
	rv = authtab_edit(
	    (const char *)data, size, "fuzz-nobody", NULL, &out, &len);
	if ((rv != 0 && rv != -ENOENT) || (rv == 0 && len > size + 1))
		abort();
	free(out);
	authtab_free(t);
	return 0;
}
