/*
 * relayctl setup --emit sysusers|tmpfiles: the layout as sysusers.d(5) and
 * tmpfiles.d(5) snippets, so a package can let systemd create the account
 * and the directories at boot.  Generated from the same manifest setup
 * applies; what the two formats cannot say is written as a comment.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "layout.h"
#include "mode.h"
#include "relayctl.h"

/* "@user"/"@group" is the relay account, "" any ("-" keeps it). */
static const char *
owner_name(const struct layout *l, const char *o)
{
	if (o[0] == '\0')
		return "-";
	if (strcmp(o, "@user") == 0 || strcmp(o, "@group") == 0)
		return l->account.name;
	return o;
}

static void
emit_sysusers(FILE *fp, const struct layout *l)
{
	const struct layout_account *a = &l->account;

	fprintf(fp,
	    "# The relay account (relayctl setup --emit sysusers).\n"
	    "# The group gets GID %lu too when it is free; relayctl setup\n"
	    "# would rather pick one free number for both.\n",
	    (unsigned long)a->gid);
	fprintf(fp, "u %s %lu \"relayd mail relay\" %s %s\n", a->name,
	    (unsigned long)a->uid, a->home, a->shell);
}

/* "rX" in a default ACL: directories r-x, files made later r--. */
static void
acl_perms(const char *p, char out[4])
{
	out[0] = strchr(p, 'r') != NULL ? 'r' : '-';
	out[1] = strchr(p, 'w') != NULL ? 'w' : '-';
	out[2] = strpbrk(p, "xX") != NULL ? 'x' : '-';
	out[3] = '\0';
}

static void
emit_acl(FILE *fp, const struct layout *l, const struct layout_rule *r)
{
	char who[40], perms[4];
	const char *colon = strchr(r->default_acl, ':');

	if (colon == NULL || (size_t)(colon - r->default_acl) >= sizeof(who))
		return;
	(void)snprintf(who, sizeof(who), "%.*s", (int)(colon - r->default_acl),
	    r->default_acl);
	acl_perms(colon + 1, perms);
	fprintf(fp, "a+ %s - - - - default:%s:%s:%s\n", r->pattern,
	    strcmp(who, "@user") == 0 ? "user" : "group", owner_name(l, who),
	    perms);
}

static void
emit_rule(FILE *fp, const struct layout *l, const struct layout_rule *r,
    const char *datadir)
{
	int dir = r->type == LAYOUT_DIR;
	char mode[8];

	if (strpbrk(r->pattern, "*?[") != NULL) {
		fprintf(fp, "# %s %s: a pattern, checked by relayctl check\n",
		    r->pattern, dir ? "dir" : "file");
		return;
	}
	if (mode_format(mode_desired(&r->mode, dir ? 0755 : 0644, dir), mode,
		sizeof(mode)) < 0)
		return;
	if (r->sample[0] != '\0')
		fprintf(
		    fp, "C %s - - - - %s/%s\n", r->pattern, datadir, r->sample);
	fprintf(fp, "%c %s %s %s %s -\n", dir && r->create ? 'd' : 'z',
	    r->pattern, mode, owner_name(l, r->owner), owner_name(l, r->group));
	if (dir && r->default_acl[0] != '\0')
		emit_acl(fp, l, r);
}

static void
emit_tmpfiles(FILE *fp, const struct layout *l, const char *datadir)
{
	size_t i;

	fprintf(fp,
	    "# The relay's directories and files (relayctl setup --emit "
	    "tmpfiles).\n"
	    "# Not expressible here, checked by relayctl check: the strict "
	    "and noacl\n"
	    "# flags and the rules for whatever is under a directory.\n");
	for (i = 0; i < l->nrules; i++)
		emit_rule(fp, l, &l->rules[i], datadir);
}

int
emit_snippet(
    FILE *fp, const struct layout *l, const char *what, const char *datadir)
{
	if (strcmp(what, "sysusers") == 0)
		emit_sysusers(fp, l);
	else if (strcmp(what, "tmpfiles") == 0)
		emit_tmpfiles(fp, l, datadir);
	else
		return -EINVAL;
	return fflush(fp) == 0 && !ferror(fp) ? 0 : -EIO;
}
