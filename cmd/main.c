/*
 * relayctl: provision, audit and run an unprivileged mail relay.  The CLI
 * is a table of subcommands over thin per-command files.  Options are
 * parsed here, once, from the table: each command names the common ones
 * it takes and declares its own, so the same mistake gets the same words
 * and exit 64 in every subcommand.
 */
#include <err.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "relayctl.h"

/* getopt_long values: above every char, so no short option can collide. */
enum { OPT_ROOT = 256, OPT_CONFIG, OPT_JSON, OPT_HELP, OPT_OWN };

static const struct cmd cmds[] = {
	{ "setup", cmd_setup, CMD_ROOT | CMD_JSON, setup_options, NULL,
	    "create the relay account and fix ownership, modes and ACLs" },
	{ "check", cmd_check, CMD_ROOT | CMD_JSON, check_options, NULL,
	    "audit the account, the files and the running daemon" },
	{ "start", cmd_start, CMD_ROOT | CMD_CONFIG, NULL, NULL,
	    "start relayd" },
	{ "stop", cmd_stop, CMD_ROOT | CMD_CONFIG, NULL, NULL, "stop relayd" },
	{ "restart", cmd_restart, CMD_ROOT | CMD_CONFIG, NULL, NULL,
	    "restart relayd" },
	{ "reload", cmd_reload, CMD_ROOT | CMD_CONFIG, NULL, NULL,
	    "make relayd re-read its configuration" },
	{ "status", cmd_status, CMD_ROOT | CMD_CONFIG | CMD_JSON, NULL, NULL,
	    "show whether relayd runs" },
	{ "metrics", cmd_metrics, CMD_ROOT | CMD_CONFIG, NULL, NULL,
	    "print relayd's counters and the queue as Prometheus text" },
	{ "queue", cmd_queue, CMD_ROOT | CMD_CONFIG | CMD_JSON | CMD_OPERANDS,
	    NULL, "[list|flush|delete ID|hold ID|release ID]",
	    "list and manage the mail queue" },
	{ "passwd", cmd_passwd, CMD_ROOT | CMD_CONFIG | CMD_OPERANDS,
	    passwd_options, "USER",
	    "add, change or remove an SMTP AUTH login (auth_users)" },
	{ NULL, NULL, 0, NULL, NULL, NULL }
};

static const struct cmd *
cmd_find(const char *name)
{
	const struct cmd *c;

	for (c = cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/* Built from the table, so it lists exactly what the parser accepts. */
static void
cmd_usage(FILE *fp, const struct cmd *c)
{
	const struct cmd_opt *o;

	fprintf(fp, "usage: relayctl %s", c->name);
	if (c->operands != NULL)
		fprintf(fp, " %s", c->operands);
	if (c->flags & CMD_ROOT)
		fprintf(fp, " [--root DIR]");
	if (c->flags & CMD_CONFIG)
		fprintf(fp, " [--config FILE]");
	if (c->flags & CMD_JSON)
		fprintf(fp, " [--json]");
	for (o = c->opts; o != NULL && o->name != NULL; o++)
		fprintf(fp, o->arg != NULL ? " [--%s %s]" : " [--%s]", o->name,
		    o->arg != NULL ? o->arg : "");
	fprintf(fp, "\n");
}

static void
cmd_help(FILE *fp, const struct cmd *c)
{
	cmd_usage(fp, c);
	fprintf(fp, "\n%s; see relayctl(8).\n", c->summary);
}

int
cmd_usage_error(const struct cmd_args *a, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warnx("%s: %s", a->cmd->name, msg);
	cmd_usage(stderr, a->cmd);
	return EX_USAGE;
}

/* The long options of c: the common ones its flags name, then its own. */
static void
cmd_longopts(const struct cmd *c, struct option *lo)
{
	size_t n = 0, i;

	if (c->flags & CMD_ROOT)
		lo[n++] = (struct option){ "root", required_argument, NULL,
			OPT_ROOT };
	if (c->flags & CMD_CONFIG)
		lo[n++] = (struct option){ "config", required_argument, NULL,
			OPT_CONFIG };
	if (c->flags & CMD_JSON)
		lo[n++] =
		    (struct option){ "json", no_argument, NULL, OPT_JSON };
	lo[n++] = (struct option){ "help", no_argument, NULL, OPT_HELP };
	for (i = 0; c->opts != NULL && c->opts[i].name != NULL; i++)
		lo[n++] = (struct option){ c->opts[i].name,
			c->opts[i].arg != NULL ? required_argument
					       : no_argument,
			NULL, OPT_OWN + (int)i };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* What getopt_long refused, in the same words for every command. */
static int
bad_option(const struct cmd_args *a, char **argv, int ch)
{
	const char *arg = argv[optind - 1];

	if (ch == ':')
		return cmd_usage_error(a, "option '%s' needs an argument", arg);
	if (optopt > 0 && optopt < OPT_ROOT) /* we have no short options */
		return cmd_usage_error(a, "unknown option '-%c'", optopt);
	if (optopt != 0) /* "--json=yes" */
		return cmd_usage_error(a, "option '%.*s' takes no argument",
		    (int)strcspn(arg, "="), arg);
	return cmd_usage_error(a, "unknown option '%s'", arg);
}

static int
add_operand(struct cmd_args *a, char *word)
{
	if (!(a->cmd->flags & CMD_OPERANDS) || a->noperands == CMD_OPERAND_MAX)
		return cmd_usage_error(a, "unexpected argument '%s'", word);
	a->operand[a->noperands++] = word;
	return 0;
}

/*
 * argv[0] is the command.  Options and operands may come in any order
 * ("-" in front of the option string returns operands in place, whatever
 * POSIXLY_CORRECT says); everything after "--" is an operand.  0, EX_USAGE,
 * or -1 when --help was answered.
 */
static int
cmd_parse(int argc, char **argv, struct cmd_args *a)
{
	struct option lo[4 + CMD_OPT_MAX + 1];
	int ch, r;

	cmd_longopts(a->cmd, lo);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-:", lo, NULL)) != -1) {
		r = 0;
		if (ch == 1)
			r = add_operand(a, optarg);
		else if (ch == OPT_ROOT)
			a->root = optarg;
		else if (ch == OPT_CONFIG)
			a->config = optarg;
		else if (ch == OPT_JSON)
			a->json = 1;
		else if (ch == OPT_HELP) {
			cmd_help(stdout, a->cmd);
			return -1;
		} else if (ch >= OPT_OWN && ch < OPT_OWN + CMD_OPT_MAX)
			a->opt[ch - OPT_OWN] = optarg != NULL ? optarg : "";
		else
			r = bad_option(a, argv, ch);
		if (r != 0)
			return r;
	}
	for (; optind < argc; optind++)
		if ((r = add_operand(a, argv[optind])) != 0)
			return r;
	return 0;
}

static int
cmd_run(const struct cmd *c, int argc, char **argv)
{
	struct cmd_args a = { .cmd = c, .root = "/", .config = DEFAULT_CONFIG };
	int r;

	if ((r = cmd_parse(argc, argv, &a)) != 0)
		return r < 0 ? 0 : r;
	return c->fn(&a);
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
	return cmd_run(c, argc - 1, argv + 1);
}
