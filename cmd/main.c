/*
 * relayctl: provision, audit and run an unprivileged mail relay.  The CLI
 * is a table of subcommands over thin per-command files.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "relayctl.h"

static const struct cmd cmds[] = {
	{ "setup", cmd_setup,
	    "setup [--root DIR] [--plan] [--json] [--uid N] [--gid N] "
	    "[--strict-ids] [--user NAME]",
	    "create the relay account and fix ownership, modes and ACLs" },
	{ "check", cmd_check, "check [--root DIR] [--json] [--quiet]",
	    "audit the account, the files and the running daemon" },
	{ "start", cmd_start, "start [--root DIR] [--config FILE]",
	    "start relayd" },
	{ "stop", cmd_stop, "stop [--root DIR] [--config FILE]",
	    "stop relayd" },
	{ "restart", cmd_restart, "restart [--root DIR] [--config FILE]",
	    "restart relayd" },
	{ "reload", cmd_reload, "reload [--root DIR] [--config FILE]",
	    "make relayd re-read its configuration" },
	{ "status", cmd_status, "status [--root DIR] [--config FILE] [--json]",
	    "show whether relayd runs" },
	{ "queue", cmd_queue,
	    "queue [list|flush|delete ID|hold ID|release ID] [--root DIR] "
	    "[--config FILE] [--json]",
	    "list and manage the mail queue" },
	{ NULL, NULL, NULL, NULL }
};

const struct cmd *
cmd_find(const char *name)
{
	const struct cmd *c;

	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void
cmd_usage(FILE *fp, const struct cmd *c)
{
	fprintf(fp, "usage: relayctl %s\n", c->usage);
}

void
cmd_help(FILE *fp, const struct cmd *c)
{
	cmd_usage(fp, c);
	fprintf(fp, "\n%s; see relayctl(8).\n", c->summary);
}

static void
usage(FILE *fp)
{
	const struct cmd *c;

	fprintf(fp,
	    "usage: relayctl [--version] [--help] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (c = cmds; c->name != NULL; c++)
		fprintf(fp, "  %-8s %s\n", c->name, c->summary);
	fprintf(fp,
	    "\n'relayctl help COMMAND' shows a command's options; "
	    "see relayctl(8).\n");
}

int
cmd_unbuilt(int argc, char **argv)
{
	(void)argc;
	warnx("'%s' is not built yet", argv[0]);
	return EX_UNAVAILABLE;
}

static int
help(const char *name)
{
	const struct cmd *c;

	if (name == NULL) {
		usage(stdout);
		return 0;
	}
	if ((c = cmd_find(name)) == NULL) {
		warnx("unknown command '%s' (see 'relayctl --help')", name);
		return EX_USAGE;
	}
	cmd_help(stdout, c);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help(NULL);
	if (strcmp(argv[1], "--version") == 0) {
		printf("relayctl %s\n", RELAY_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0)
		return help(argc > 2 ? argv[2] : NULL);
	if ((c = cmd_find(argv[1])) == NULL) {
		warnx("unknown command '%s' (see 'relayctl --help')", argv[1]);
		return EX_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
