/*
 * output: how a plan looks to a person (one line per change, unsafe items
 * after) and the JSON string quoting the --json documents rely on.
 */
#include <stdio.h>

#include "relayctl.h"

void
output_plan_text(FILE *fp, const struct plan *p)
{
	const struct plan_item *it;
	size_t i;

	for (i = 0; i < p->n; i++) {
		it = &p->items[i];
		if (it->kind != PLAN_ACTION)
			continue;
		fprintf(fp, "  %-14s %-28s %s%s%s\n", it->action, it->path,
		    it->before, it->before[0] ? " -> " : "-> ", it->after);
	}
	for (i = 0; i < p->n; i++) {
		it = &p->items[i];
		if (it->kind == PLAN_UNSAFE)
			fprintf(fp, "unsafe %s: %s (%s)\n", it->path, it->after,
			    it->action);
	}
}

void
output_json_string(FILE *fp, const char *s)
{
	const unsigned char *c;

	fputc('"', fp);
	for (c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(fp, "\\%c", *c);
		else if (*c < 0x20 || *c >= 0x7f) /* bytes, not UTF-8 */
			fprintf(fp, "\\u%04x", *c);
		else
			fputc(*c, fp);
	}
	fputc('"', fp);
}
