/*
 * output: how a plan looks to a person (one line per change, unsafe items
 * after) and the JSON string quoting the --json documents rely on.
 */
#include <stdio.h>
#include <stdlib.h>
#define LIBBSD_OPENBSD_VIS /* we use stravis() only; pick a side */
#include <vis.h>

#include "relayctl.h"

/*
 * Names under the spool are the relay user's choice: never raw to a tty.
 * Every control character (and every non-ASCII byte) comes out encoded;
 * not VIS_SAFE, which lets BEL, BS and CR through.
 */
void
output_safe(FILE *fp, const char *s, int width)
{
	char *v = NULL;

	if (stravis(&v, s, VIS_NL | VIS_TAB | VIS_OCTAL) < 0) {
		fprintf(fp, "%-*s", width, "?");
		return;
	}
	fprintf(fp, "%-*s", width, v);
	free(v);
}

void
output_plan_text(FILE *fp, const struct plan *p)
{
	const struct plan_item *it;
	size_t i;

	for (i = 0; i < p->n; i++) {
		it = &p->items[i];
		if (it->kind != PLAN_ACTION)
			continue;
		fprintf(fp, "  %-14s ", it->action);
		output_safe(fp, it->path, 28);
		fprintf(fp, " %s%s%s\n", it->before,
		    it->before[0] ? " -> " : "-> ", it->after);
	}
	for (i = 0; i < p->n; i++) {
		it = &p->items[i];
		if (it->kind != PLAN_UNSAFE)
			continue;
		fputs("unsafe ", fp);
		output_safe(fp, it->path, 0);
		fputs(": ", fp);
		output_safe(fp, it->after, 0);
		fputs(" (", fp);
		output_safe(fp, it->action, 0);
		fputs(")\n", fp);
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
