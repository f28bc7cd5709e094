/*
 * relayctl check: is this relay set up so that nothing reading the network
 * runs with privileges, and nothing the relay user can write is trusted by
 * root?  Strictly read-only: setup's own plan (computed, never applied)
 * gives the account and layout drift; the check_*.c parts add what no
 * manifest line holds.  Exit 0 clean, 2 drift, 3 unsafe, 1 error, 64 usage.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "check.h"
#include "relayctl.h"

/* Supplementary groups that grant more than the relay may ever have. */
static const char *const privileged_groups[] = { "root", "sudo", "shadow",
	"disk", "adm", "wheel", "staff", "kmem", "docker", "lxd",
	"systemd-journal", "smmsp", NULL };

int
check_add(struct check *c, const char *id, enum check_sev sev, const char *path,
    const char *expected, const char *actual, const char *fix)
{
	struct finding *f;
	size_t i;

	/* The same fact reached twice (a shared parent) is one finding. */
	for (i = 0; i < c->n; i++)
		if (strcmp(c->f[i].id, id) == 0 &&
		    strcmp(c->f[i].path, path ? path : "") == 0)
			return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;

		if ((f = reallocarray(c->f, cap, sizeof(*f))) == NULL)
			return -ENOMEM;
		c->f = f;
		c->cap = cap;
	}
	f = &c->f[c->n];
	memset(f, 0, sizeof(*f));
	f->sev = sev;
	/* Truncated text is still the right finding; ids are ours. */
	(void)strlcpy(f->id, id, sizeof(f->id));
	(void)strlcpy(f->path, path ? path : "", sizeof(f->path));
	(void)strlcpy(
	    f->expected, expected ? expected : "", sizeof(f->expected));
	(void)strlcpy(f->actual, actual ? actual : "", sizeof(f->actual));
	(void)strlcpy(f->fix, fix ? fix : "", sizeof(f->fix));
	c->n++;
	return 0;
}

void
check_supersede(struct check *c, const char *path)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->f[i].path, path) != 0)
			c->f[n++] = c->f[i];
	c->n = n;
}

const char *
check_setup_fix(const struct check *c)
{
	static char buf[PATH_MAX + 64];

	if (strcmp(c->root, "/") == 0)
		return "run 'relayctl setup'";
	(void)snprintf(
	    buf, sizeof(buf), "run 'relayctl setup --root %s'", c->root);
	return buf;
}

int
check_exit(const struct check *c)
{
	size_t i;
	int r = 0;

	for (i = 0; i < c->n; i++)
		if (c->f[i].sev == SEV_UNSAFE)
			return EXIT_UNSAFE;
		else if (c->f[i].sev == SEV_DRIFT)
			r = EXIT_DRIFT;
	return r;
}

/* By index: cmd_args.opt[CHECK_QUIET] is --quiet. */
enum { CHECK_QUIET };

const struct cmd_opt check_options[] = {
	[CHECK_QUIET] = { "quiet", NULL },
	{ NULL, NULL },
};

static int
is_privileged(const char *group)
{
	size_t i;

	for (i = 0; privileged_groups[i] != NULL; i++)
		if (strcmp(group, privileged_groups[i]) == 0)
			return 1;
	return 0;
}

/* "a:b" -> the part before or after the colon, into buf. */
static const char *
half(const char *s, int second, char *buf, size_t len)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL)
		return s;
	if (second)
		return colon + 1;
	(void)snprintf(buf, len, "%.*s", (int)(colon - s), s);
	return buf;
}

static int
map_chown(struct check *c, const struct plan_item *it, const char *fix)
{
	char b[96], a[96];
	int r = 0;

	if (strcmp(half(it->before, 0, b, sizeof(b)),
		half(it->after, 0, a, sizeof(a))) != 0)
		r = check_add(c, "path.owner", SEV_DRIFT, it->path, a, b, fix);
	if (r == 0 &&
	    strcmp(half(it->before, 1, b, sizeof(b)),
		half(it->after, 1, a, sizeof(a))) != 0)
		r = check_add(c, "path.group", SEV_DRIFT, it->path,
		    half(it->after, 1, a, sizeof(a)),
		    half(it->before, 1, b, sizeof(b)), fix);
	return r;
}

static const char *
chmod_id(const struct plan_item *it)
{
	unsigned long b = strtoul(it->before, NULL, 8);
	unsigned long a = strtoul(it->after, NULL, 8);
	size_t n = strlen(it->path);

	if ((b & 04000) && !(a & 04000))
		return "path.setuid";
	/* Keys: group or others may read a private key. */
	if (n > 4 && strcmp(it->path + n - 4, ".key") == 0 && (b & 077) &&
	    !(a & 077))
		return "key.readable";
	if ((b ^ a) == 02000)
		return "path.setgid";
	return "path.mode";
}

/* The primary group or a removed membership: unsafe when privileged. */
static enum check_sev
group_sev(const struct check *c, const char *group)
{
	struct account_group gr;
	char *end;
	unsigned long gid = strtoul(group, &end, 10);

	if (*group != '\0' && *end == '\0' && c->db != NULL &&
	    accountdb_group_by_gid(c->db, (gid_t)gid, &gr) == 0)
		group = gr.name;
	return is_privileged(group) || (*end == '\0' && gid == 0) ? SEV_UNSAFE
								  : SEV_DRIFT;
}

static int
map_action(struct check *c, const struct plan_item *it)
{
	const char *fix = check_setup_fix(c), *a = it->action;

	if (strcmp(a, "add-user") == 0 || strcmp(a, "add-group") == 0)
		return check_add(c, "account.missing", SEV_DRIFT, it->path,
		    it->after, "", fix);
	if (strcmp(a, "set-shell") == 0 || strcmp(a, "set-home") == 0 ||
	    strcmp(a, "set-gid") == 0) {
		char id[32];

		(void)snprintf(id, sizeof(id), "account.%s", a + 4);
		return check_add(c, id,
		    a[4] == 'g' ? group_sev(c, it->before) : SEV_DRIFT,
		    it->path, it->after, it->before, fix);
	}
	if (strcmp(a, "lock-password") == 0)
		return check_add(c, "account.password", SEV_DRIFT, it->path,
		    "locked", "unlocked", fix);
	if (strcmp(a, "remove-member") == 0)
		return check_add(c, "account.groups", group_sev(c, it->before),
		    it->path, "no supplementary groups", it->before, fix);
	if (strcmp(a, "mkdir") == 0 || strcmp(a, "install") == 0)
		return check_add(
		    c, "path.missing", SEV_DRIFT, it->path, it->after, "", fix);
	if (strcmp(a, "chown") == 0)
		return map_chown(c, it, fix);
	if (strcmp(a, "chmod") == 0)
		return check_add(c, chmod_id(it), SEV_DRIFT, it->path,
		    it->after, it->before, fix);
	if (strcmp(a, "acl") == 0)
		return check_add(c,
		    strcmp(it->before, "extended") == 0 ? "acl.extended"
							: "acl.default",
		    SEV_DRIFT, it->path, it->after, it->before, fix);
	return check_add(
	    c, "plan.other", SEV_DRIFT, it->path, it->after, it->before, fix);
}

static const char *
unsafe_fix(const char *id)
{
	if (strcmp(id, "path.hardlink") == 0)
		return "remove the extra links (find -samefile), then "
		       "run 'relayctl setup'";
	if (strcmp(id, "path.symlink") == 0 || strcmp(id, "path.type") == 0)
		return "remove it or move it out of the way";
	if (strcmp(id, "path.owner") == 0)
		return "find out why another user owns it; chown it by hand";
	if (strcmp(id, "path.other-fs") == 0)
		return "unmount it or name it in the layout";
	if (strcmp(id, "path.too-deep") == 0)
		return "find out who made it; flatten or remove it";
	if (strcmp(id, "account.smmsp") == 0)
		return "give the relay account IDs of its own (smmsp is "
		       "sendmail's submission account)";
	return "give the relay account IDs no other name uses";
}

/* setup's plan: every action is drift, every unsafe item stays unsafe. */
static int
check_plan(struct check *c)
{
	struct plan plan = { 0 };
	const struct plan_item *it;
	const char *id;
	size_t i;
	int r;

	if ((r = setup_audit(c->root, &plan)) != 0) {
		plan_free(&plan);
		return -1;
	}
	for (i = 0, r = 0; i < plan.n && r == 0; i++) {
		it = &plan.items[i];
		if (it->kind == PLAN_ACTION) {
			r = map_action(c, it);
			continue;
		}
		id = it->action;
		if (strcmp(id, "account.shared-id") == 0 &&
		    strstr(it->after, "'smmsp'") != NULL)
			id = "account.smmsp";
		r = check_add(
		    c, id, SEV_UNSAFE, it->path, "", it->after, unsafe_fix(id));
	}
	plan_free(&plan);
	return r;
}

/* The same layout setup uses: installed, else the compiled-in copy. */
static int
load_layout(struct check *c)
{
	int dfd, r;

	dfd = open(setup_datadir(), O_PATH | O_DIRECTORY | O_CLOEXEC);
	r = setup_layout(dfd, &c->layout);
	if (dfd >= 0)
		close(dfd);
	if (r < 0)
		return -1;
	c->user = c->layout->account.name;
	return 0;
}

/* relayd.conf parses and validates; its run_as and spool are ours. */
static int
check_config(struct check *c)
{
	struct config_error ce;
	const struct layout_rule *rule;
	struct account_user pw;
	char text[256], fix[128];
	int r;

	config_defaults(&c->cfg);
	r = config_load(c->rootfd, DEFAULT_CONFIG, &c->cfg, &ce);
	/* Missing, foreign owner, too open: setup's plan says so already. */
	if (r == -ENOENT || r == -EPERM || r == -ELOOP)
		return 0;
	if (r < 0) {
		config_error_format(&ce, text, sizeof(text));
		return check_add(c, "config.invalid", SEV_UNSAFE,
		    DEFAULT_CONFIG, "a valid relayd.conf", text,
		    "fix the line named; see relayd.conf(5)");
	}
	c->cfg_ok = 1;
	(void)snprintf(fix, sizeof(fix), "set 'run_as = %s' in %s", c->user,
	    DEFAULT_CONFIG);
	/* The layout's own account, when missing, is account.missing. */
	if (strcmp(c->cfg.run_as, c->user) != 0)
		r = check_add(c, "config.run-as", SEV_UNSAFE, DEFAULT_CONFIG,
		    c->user,
		    accountdb_user_by_name(c->db, c->cfg.run_as, &pw) < 0
			? "an account that does not exist"
			: c->cfg.run_as,
		    fix);
	rule = layout_match(c->layout, c->cfg.spool, LAYOUT_DIR);
	if (r == 0 && (rule == NULL || strcmp(rule->owner, "@user") != 0))
		r = check_add(c, "config.spool", SEV_UNSAFE, DEFAULT_CONFIG,
		    "a spool the layout manages", c->cfg.spool,
		    "set 'spool' to the layout's spool");
	return r;
}

/* The ids relayd's children get: run_as from the root's own passwd. */
static int
load_accounts(struct check *c)
{
	struct account_user pw;
	struct db_error de;
	char text[512];
	int r;

	if ((r = accountdb_load(c->rootfd, &c->db, &de)) < 0) {
		accountdb_error_format(&de, r, text, sizeof(text));
		warnx("%s", text);
		return -1;
	}
	config_defaults(&c->cfg);
	if (accountdb_user_by_name(c->db, c->user, &pw) == 0) {
		c->uid = pw.uid;
		c->gid = pw.gid;
		c->have_ids = 1;
	}
	return 0;
}

/* ROOT/proc is a fixture that fakes /proc; without one, the real /proc. */
static int
open_proc(struct check *c)
{
	const char *rootp = strcmp(c->root, "/") == 0 ? "" : c->root;
	struct stat st;

	if (rootp[0] != '\0' &&
	    fstatat(c->rootfd, "proc", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode))
		(void)snprintf(
		    c->procdir, sizeof(c->procdir), "%s/proc", rootp);
	else
		(void)strlcpy(c->procdir, "/proc", sizeof(c->procdir));
	c->procfd =
	    open(c->procdir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->procfd < 0) {
		warn("cannot open '%s'", c->procdir);
		return -1;
	}
	return 0;
}

static int
check_open(struct check *c)
{
	if (geteuid() != 0 && strcmp(c->root, "/") == 0) {
		warnx("check must run as root (or use --root DIR)");
		return EX_NOPERM;
	}
	c->rootfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (c->rootfd < 0) {
		warn("cannot open root '%s'", c->root);
		return 1;
	}
	if (load_layout(c) < 0 || load_accounts(c) < 0 || open_proc(c) < 0)
		return 1;
	return 0;
}

static int
check_run(struct check *c)
{
	int r;

	if ((r = check_open(c)) != 0)
		return r;
	if (check_plan(c) != 0 || check_config(c) < 0)
		return 1;
	/* run_as is whom relayd's children become: use its ids. */
	if (c->cfg_ok && strcmp(c->cfg.run_as, c->user) != 0) {
		struct account_user pw;

		c->have_ids =
		    accountdb_user_by_name(c->db, c->cfg.run_as, &pw) == 0;
		c->uid = c->have_ids ? pw.uid : 0;
		c->gid = c->have_ids ? pw.gid : 0;
	}
	if (check_spool(c) < 0 || check_trust(c) < 0 || check_env(c) < 0 ||
	    check_milter(c) < 0 || check_tls(c) < 0 || check_submit(c) < 0 ||
	    check_runtime(c) < 0)
		return 1;
	if (c->json)
		check_print_json(c);
	else if (!c->quiet)
		check_print_text(c);
	return check_exit(c);
}

int
cmd_check(const struct cmd_args *a)
{
	struct check c = { .root = a->root,
		.json = a->json,
		.quiet = a->opt[CHECK_QUIET] != NULL,
		.rootfd = -1,
		.procfd = -1 };
	int r;

	r = check_run(&c);
	free(c.f);
	accountdb_free(c.db);
	layout_free(c.layout);
	if (c.procfd >= 0)
		close(c.procfd);
	if (c.rootfd >= 0)
		close(c.rootfd);
	return r;
}
