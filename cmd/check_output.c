/*
 * check output: findings grouped by severity (unsafe, drift, advice), one
 * line each with its fix, then a summary line; or one JSON document with
 * stable ids (schema in relayctl(8)).  Paths may be the relay user's
 * choice: never raw to a terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "relayctl.h"

static const char *const sev_name[] = { "advice", "drift", "unsafe" };

static void
text_one(const struct finding *f)
{
	printf("%-6s %-22s ", sev_name[f->sev], f->id);
	output_safe(stdout, f->path[0] ? f->path : "-", 0);
	if (f->actual[0] != '\0' || f->expected[0] != '\0') {
		printf(": ");
		output_safe(stdout, f->actual[0] ? f->actual : "(none)", 0);
		if (f->expected[0] != '\0') {
			printf(", expected ");
			output_safe(stdout, f->expected, 0);
		}
	}
	if (f->fix[0] != '\0') {
		printf(" (");
		output_safe(stdout, f->fix, 0);
		printf(")");
	}
	printf("\n");
}

static void
count(const struct check *c, size_t n[3])
{
	size_t i;

	n[0] = n[1] = n[2] = 0;
	for (i = 0; i < c->n; i++)
		n[c->f[i].sev]++;
}

void
check_print_text(const struct check *c)
{
	size_t i, n[3];
	int sev;

	for (sev = SEV_UNSAFE; sev >= SEV_ADVICE; sev--)
		for (i = 0; i < c->n; i++)
			if ((int)c->f[i].sev == sev)
				text_one(&c->f[i]);
	count(c, n);
	if (c->n == 0)
		printf("relayctl check: %s is clean\n", c->root);
	else
		printf("relayctl check: %s: %zu unsafe, %zu drift, %zu "
		       "advice\n",
		    c->root, n[SEV_UNSAFE], n[SEV_DRIFT], n[SEV_ADVICE]);
}

static void
json_field(const char *key, const char *val, int comma)
{
	printf("%s\"%s\": ", comma ? ", " : "", key);
	output_json_string(stdout, val);
}

static void
json_findings(const struct check *c)
{
	const struct finding *f;
	size_t i;

	printf(", \"findings\": [");
	for (i = 0; i < c->n; i++) {
		f = &c->f[i];
		printf("%s{", i ? ", " : "");
		json_field("id", f->id, 0);
		json_field("severity", sev_name[f->sev], 1);
		json_field("path", f->path, 1);
		json_field("expected", f->expected, 1);
		json_field("actual", f->actual, 1);
		json_field("fix", f->fix, 1);
		printf("}");
	}
	printf("]");
}

void
check_print_json(const struct check *c)
{
	size_t i, n[3];

	printf("{");
	json_field("root", c->root, 0);
	json_field("user", c->user ? c->user : "", 1);
	if (c->have_ids)
		printf(", \"uid\": %lu, \"gid\": %lu", (unsigned long)c->uid,
		    (unsigned long)c->gid);
	else
		printf(", \"uid\": null, \"gid\": null");
	json_field("proc", c->procdir, 1);
	printf(", \"running\": %s, \"pid\": ", c->pid > 0 ? "true" : "false");
	if (c->pid > 0)
		printf("%ld, \"children\": %zu", (long)c->pid, c->nchildren);
	else
		printf("null, \"children\": 0");
	printf(", \"milters\": [");
	for (i = 0; i < c->nmilters; i++) {
		printf("%s{", i ? ", " : "");
		json_field("socket", c->milters[i].socket, 0);
		printf(", \"reachable\": %s",
		    c->milters[i].reachable ? "true" : "false");
		json_field("reason", c->milters[i].why, 1);
		printf("}");
	}
	printf("]");
	json_findings(c);
	count(c, n);
	printf(", \"summary\": {\"unsafe\": %zu, \"drift\": %zu, "
	       "\"advice\": %zu}, \"changed\": false, \"exit\": %d}\n",
	    n[SEV_UNSAFE], n[SEV_DRIFT], n[SEV_ADVICE], check_exit(c));
}
