/*
 * relayctl setup: create the relay account and bring every path of the
 * layout to its owner, mode and ACLs.  Prints the plan first, applies it
 * unless --plan; a second run has nothing to do and writes nothing.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "accountdb.h"
#include "acctplan.h"
#include "fsplan.h"
#include "idpolicy.h"
#include "layout.h"
#include "mta.h"
#include "relayctl.h"

struct setup_opts {
	const char *root;
	const char *user;
	int plan_only, json, strict;
	int quiet; /* no note about the ID choice (setup_audit) */
	int mta; /* --mta sendmail: its RunAsUser too (mta.c) */
	struct id_request req;
};

struct setup {
	struct setup_opts o;
	int rootfd, datafd;
	int dataerr; /* -errno of opening the data directory, when datafd < 0 */
	struct layout *layout;
	struct accountdb *db;
	struct id_choice ids;
	struct plan plan;
	struct mta mta;
	int applied; /* plan was made by the walk that applied it */
};

/* By index: cmd_args.opt[SETUP_PLAN] is --plan. */
enum {
	SETUP_PLAN,
	SETUP_UID,
	SETUP_GID,
	SETUP_STRICT_IDS,
	SETUP_USER,
	SETUP_MTA,
	SETUP_EMIT
};

const struct cmd_opt setup_options[] = {
	[SETUP_PLAN] = { "plan", NULL },
	[SETUP_UID] = { "uid", "N" },
	[SETUP_GID] = { "gid", "N" },
	[SETUP_STRICT_IDS] = { "strict-ids", NULL },
	[SETUP_USER] = { "user", "NAME" },
	[SETUP_MTA] = { "mta", MTA_SENDMAIL },
	[SETUP_EMIT] = { "emit", "sysusers|tmpfiles" },
	{ NULL, NULL },
};

/* --uid or --gid: a decimal id, (uid_t)-1 excluded.  0 or EX_USAGE. */
static int
parse_id(const struct cmd_args *a, int which, unsigned long *out)
{
	const char *s = a->opt[which];
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno == 0 && *s >= '0' && *s <= '9' && *end == '\0' &&
	    *out < 4294967295UL)
		return 0;
	return cmd_usage_error(a,
	    "option '--%s' needs an id from 0 to 4294967294, not '%s'",
	    setup_options[which].name, s);
}

static int
setup_opts(const struct cmd_args *a, struct setup_opts *o)
{
	unsigned long id;

	o->root = a->root;
	o->json = a->json;
	o->plan_only = a->opt[SETUP_PLAN] != NULL;
	o->req.strict = a->opt[SETUP_STRICT_IDS] != NULL;
	o->user = a->opt[SETUP_USER];
	if (a->opt[SETUP_MTA] != NULL) {
		if (strcmp(a->opt[SETUP_MTA], MTA_SENDMAIL) != 0)
			return cmd_usage_error(a,
			    "option '--mta' knows only '" MTA_SENDMAIL
			    "', not '%s'",
			    a->opt[SETUP_MTA]);
		o->mta = 1;
	}
	if (a->opt[SETUP_UID] != NULL) {
		if (parse_id(a, SETUP_UID, &id) != 0)
			return EX_USAGE;
		o->req.uid = (uid_t)id;
		o->req.uid_forced = 1;
	}
	if (a->opt[SETUP_GID] != NULL) {
		if (parse_id(a, SETUP_GID, &id) != 0)
			return EX_USAGE;
		o->req.gid = (gid_t)id;
		o->req.gid_forced = 1;
	}
	return 0;
}

/*
 * Whether this is the relayctl the build tree made (the same file, not the
 * same name): only then is the source tree's share/ used, so a built
 * relayctl runs before it is installed and an installed one never reads a
 * manifest from a build directory.
 */
static int
in_build_tree(void)
{
#if defined(RELAY_BUILD_BINARY) && defined(RELAY_SOURCE_DATADIR)
	struct stat self, built;

	return stat("/proc/self/exe", &self) == 0 &&
	    stat(RELAY_BUILD_BINARY, &built) == 0 &&
	    self.st_dev == built.st_dev && self.st_ino == built.st_ino;
#else
	return 0;
#endif
}

const char *
setup_datadir(void)
{
	const char *d = getenv("RELAYCTL_DATADIR");

	if (d != NULL && d[0] != '\0')
		return d;
#ifdef RELAY_SOURCE_DATADIR
	if (in_build_tree())
		return RELAY_SOURCE_DATADIR;
#endif
	return RELAY_DATADIR;
}

int
setup_layout(int datafd, struct layout **out)
{
	struct layout_error le;
	char text[512];
	int r;

	r = layout_load(datafd, "layout", out, &le);
	if (r == -ENOENT || r == -EBADF)
		r = layout_parse(layout_builtin, strlen(layout_builtin),
		    "(built-in layout)", out, &le);
	else if (r < 0)
		/* le.file is relative to the data directory */
		(void)snprintf(
		    le.file, sizeof(le.file), "%s/layout", setup_datadir());
	if (r < 0) {
		layout_error_format(&le, text, sizeof(text));
		warnx("%s", text);
	}
	return r;
}

/* The installed layout, or the compiled-in copy when none is installed. */
static int
load_layout(struct setup *s)
{
	int r;

	if ((r = setup_layout(s->datafd, &s->layout)) == 0)
		return 0;
	return r == -EINVAL ? EX_CONFIG : EX_OSFILE;
}

static int
load_accounts(struct setup *s)
{
	struct db_error de;
	struct id_range range;
	char why[256], text[512];
	int r;

	if ((r = accountdb_load(s->rootfd, &s->db, &de)) < 0) {
		accountdb_error_format(&de, r, text, sizeof(text));
		warnx("%s", text);
		return r == -EINVAL ? EX_DATAERR : EX_NOINPUT;
	}
	if ((r = logindefs_read(s->rootfd, &range)) < 0) {
		warnx("etc/login.defs: %s", strerror(-r));
		return EX_DATAERR;
	}
	s->o.req.user = s->o.user;
	r = idpolicy_choose(
	    s->db, &s->o.req, &range, &s->ids, why, sizeof(why));
	if (r == -EEXIST) {
		warnx("%s (use --uid/--gid to choose%s)", why,
		    s->o.req.strict ? ", or drop --strict-ids to fall back"
				    : "");
		return EX_CONFIG;
	}
	if (r < 0) {
		warnx("%s", why[0] ? why : strerror(-r));
		return r == -EINVAL ? EX_USAGE : EX_CONFIG;
	}
	if (s->ids.why[0] != '\0' && !s->o.quiet)
		warnx("%s", s->ids.why);
	return 0;
}

static int
run_fs(struct setup *s, int apply, struct plan *plan)
{
	struct fsplan f = {
		.rootfd = s->rootfd,
		.datafd = s->datafd,
		.dataerr = s->dataerr,
		.datadir = setup_datadir(),
		.layout = s->layout,
		.db = s->db,
		.user = s->o.user,
		.uid = s->ids.uid,
		.gid = s->ids.gid,
		.apply = apply,
		.plan = plan,
	};

	if (fsplan_run(&f) < 0) {
		/* Most likely the sample: say where relayctl looked for it. */
		warnx("%s%s", f.err[0] ? f.err : "filesystem walk failed",
		    s->datafd >= 0 ? ""
				   : " (set RELAYCTL_DATADIR to the directory "
				     "with layout and relayd.conf.sample, or "
				     "install relayctl)");
		return EXIT_FAILURE;
	}
	return 0;
}

static void
print_json(const struct setup *s, const struct plan *p, int applied)
{
	const struct plan_item *it;
	size_t i, n;
	int unsafe;

	printf("{\"root\": ");
	output_json_string(stdout, s->o.root);
	printf(", \"user\": ");
	output_json_string(stdout, s->o.user);
	printf(", \"uid\": %lu, \"gid\": %lu, \"note\": ",
	    (unsigned long)s->ids.uid, (unsigned long)s->ids.gid);
	output_json_string(stdout, s->ids.why);
	for (unsafe = 0; unsafe < 2; unsafe++) {
		printf(unsafe ? "], \"unsafe\": [" : ", \"actions\": [");
		for (i = n = 0; i < p->n; i++) {
			it = &p->items[i];
			if ((it->kind == PLAN_UNSAFE) != unsafe)
				continue;
			printf("%s{\"%s\": ", n++ ? ", " : "",
			    unsafe ? "id" : "action");
			output_json_string(stdout, it->action);
			printf(", \"path\": ");
			output_json_string(stdout, it->path);
			printf(unsafe ? ", \"reason\": " : ", \"before\": ");
			output_json_string(
			    stdout, unsafe ? it->after : it->before);
			if (!unsafe) {
				printf(", \"after\": ");
				output_json_string(stdout, it->after);
			}
			printf("}");
		}
	}
	/* "changed" as Ansible names it: this run changed the root. */
	printf("], \"applied\": %s, \"changed\": %s, \"changes\": %zu}\n",
	    applied ? "true" : "false",
	    applied && p->nactions > 0 ? "true" : "false", p->nactions);
}

static int
commit_accounts(struct setup *s)
{
	struct db_error de;
	char text[512];
	int r;

	if (accountdb_dirty(s->db) && (r = accountdb_commit(s->db, &de)) < 0) {
		accountdb_error_format(&de, r, text, sizeof(text));
		warnx("%s", text);
		return EXIT_FAILURE;
	}
	return 0;
}

static int
apply(struct setup *s)
{
	struct plan done = { 0 };
	int r;

	if ((r = commit_accounts(s)) != 0)
		return r;
	r = run_fs(s, 1, &done);
	plan_free(&done);
	return r;
}

/* Everything up to the plan: layout, accounts, IDs, account and fs plan. */
static int
setup_plan(struct setup *s)
{
	int r;

	if ((r = load_layout(s)) != 0)
		return r;
	/* The layout's account line gives the defaults --user/--uid/--gid override. */
	if (s->o.user == NULL)
		s->o.user = s->layout->account.name;
	if (!s->o.req.uid_forced)
		s->o.req.uid = s->layout->account.uid;
	if (!s->o.req.gid_forced)
		s->o.req.gid = s->layout->account.gid;
	if ((r = load_accounts(s)) != 0)
		return r;
	r = acctplan_build(
	    s->db, s->o.user, &s->layout->account, &s->ids, &s->plan);
	if (r < 0) {
		warnx("cannot plan the account '%s': %s", s->o.user,
		    strerror(-r));
		return EXIT_FAILURE;
	}
	if (s->o.plan_only || s->o.mta)
		return run_fs(s, 0, &s->plan);
	/*
	 * Nothing to show or decide before the change: one walk that fixes
	 * as it goes and records what it did (half the work on a big spool;
	 * each fix is checked through its fd as in a second walk).
	 */
	if ((r = commit_accounts(s)) != 0)
		return r;
	s->applied = 1;
	return run_fs(s, 1, &s->plan);
}

/*
 * --mta sendmail: RunAsUser in sendmail.mc/.cf, planned after the account
 * (whose name it writes); the new sendmail.cf is built before anything
 * changes, so a failing m4 changes nothing.
 */
static int
setup_mta(struct setup *s)
{
	struct mta *m = &s->mta;

	m->rootfd = s->rootfd;
	m->root = s->o.root;
	m->user = m->group = s->o.user;
	if (mta_read(m) < 0 || mta_plan(m, &s->plan) < 0 ||
	    (!m->refused && mta_build(m) < 0)) {
		warnx("%s", m->err);
		return EXIT_FAILURE;
	}
	if (m->debian && !s->o.json)
		warnx("note: Debian's update_sys (sendmailconfig, package "
		      "upgrades) puts /var/spool/mqueue and /etc/mail back to "
		      "smmta:smmsp; sendmail.mc keeps confRUN_AS_USER; run "
		      "this again after them");
	return 0;
}

static int
apply_all(struct setup *s)
{
	int r;

	if ((r = apply(s)) != 0)
		return r;
	if (s->o.mta && mta_apply(&s->mta) < 0) {
		warnx("%s", s->mta.err);
		return EXIT_FAILURE;
	}
	return 0;
}

static int
setup_run(struct setup *s)
{
	int r;

	if ((r = setup_plan(s)) != 0 || (s->o.mta && (r = setup_mta(s)) != 0))
		return r;
	if (!s->o.json && s->plan.nactions + s->plan.nunsafe > 0) {
		printf("plan for %s: %zu changes, %zu unsafe\n", s->o.root,
		    s->plan.nactions, s->plan.nunsafe);
		output_plan_text(stdout, &s->plan);
		if (s->o.mta && mta_diff(&s->mta, stdout) < 0)
			warnx("cannot show the changes with diff -u");
	}
	if (s->mta.refused) {
		/* A sendmail setting a human must decide: change nothing. */
		if (!s->o.json)
			printf("refused: nothing changed\n");
		else
			print_json(s, &s->plan, 0);
		return EXIT_UNSAFE;
	}
	if (s->plan.nactions > 0 && !s->o.plan_only && !s->applied &&
	    (r = apply_all(s)) != 0)
		return r;
	if (s->o.json)
		print_json(
		    s, &s->plan, s->plan.nactions > 0 && !s->o.plan_only);
	else if (s->plan.nactions == 0)
		printf("relayctl: nothing to do\n");
	else if (s->o.plan_only)
		printf("not applied (--plan)\n");
	else
		printf("applied %zu changes\n", s->plan.nactions);
	return s->plan.nunsafe > 0 ? EXIT_UNSAFE : 0;
}

static int
setup_open(struct setup *s)
{
	if (s->o.root == NULL)
		s->o.root = "/";
	if (geteuid() != 0 && strcmp(s->o.root, "/") == 0) {
		warnx("%s must run as root (or use --root DIR)",
		    s->o.plan_only ? "this" : "setup");
		return EX_NOPERM;
	}
	s->rootfd = open(s->o.root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0) {
		warn("cannot open root '%s'", s->o.root);
		return EX_NOINPUT;
	}
	/* A missing data dir is fine: the built-in layout takes over. */
	s->datafd = open(setup_datadir(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	s->dataerr = s->datafd < 0 ? -errno : 0;
	return 0;
}

static void
setup_close(struct setup *s)
{
	mta_free(&s->mta);
	accountdb_free(s->db);
	layout_free(s->layout);
	if (s->datafd >= 0)
		close(s->datafd);
	if (s->rootfd >= 0)
		close(s->rootfd);
}

int
setup_audit(const char *root, struct plan *plan)
{
	struct setup s = { .rootfd = -1, .datafd = -1, .mta.etcfd = -1 };
	int r;

	s.o.root = root;
	s.o.plan_only = 1;
	s.o.quiet = 1;
	if ((r = setup_open(&s)) == 0)
		r = setup_plan(&s);
	*plan = s.plan;
	setup_close(&s);
	return r;
}

/*
 * --emit: the layout as a snippet for systemd, naming the installed data
 * directory (where a package puts the sample); reads no root.
 */
static int
setup_emit(const struct cmd_args *a)
{
	const char *what = a->opt[SETUP_EMIT];
	struct layout *l = NULL;
	int dfd, r;

	if (strcmp(what, "sysusers") != 0 && strcmp(what, "tmpfiles") != 0)
		return cmd_usage_error(a,
		    "option '--emit' takes sysusers or tmpfiles, not '%s'",
		    what);
	dfd = open(setup_datadir(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = setup_layout(dfd, &l);
	if (dfd >= 0)
		close(dfd);
	if (r < 0)
		return r == -EINVAL ? EX_CONFIG : EX_OSFILE;
	if ((r = emit_snippet(stdout, l, what, RELAY_DATADIR)) < 0)
		warnx("cannot write the %s snippet: %s", what, strerror(-r));
	layout_free(l);
	return r < 0 ? EX_IOERR : 0;
}

int
cmd_setup(const struct cmd_args *a)
{
	struct setup s = { .rootfd = -1, .datafd = -1, .mta.etcfd = -1 };
	int r;

	if (a->opt[SETUP_EMIT] != NULL)
		return setup_emit(a);
	if ((r = setup_opts(a, &s.o)) != 0)
		return r;
	if ((r = setup_open(&s)) == 0)
		r = setup_run(&s);
	plan_free(&s.plan);
	setup_close(&s);
	return r;
}
