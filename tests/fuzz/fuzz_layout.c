/*
 * libFuzzer target for the manifest parser: any byte string must parse or
 * fail cleanly; whatever parses is run through the matchers too.
 */
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct layout_error err;
	struct layout *l = NULL;
	size_t i;

	if (layout_parse((const char *)data, size, "fuzz", &l, &err) != 0)
		return 0;
	/* Every rule's own pattern is a path its rule may be asked about. */
	for (i = 0; i < l->nrules; i++) {
		(void)layout_match(l, l->rules[i].pattern, l->rules[i].type);
		(void)layout_may_descend(l, l->rules[i].pattern);
		(void)layout_is_literal(l, l->rules[i].pattern);
		(void)mode_desired(
		    &l->rules[i].mode, 07777, l->rules[i].type == LAYOUT_DIR);
	}
	layout_free(l);
	return 0;
}
