/*
 * check trust: root reads /etc/mail, the files relayd.conf names and the
 * relayd binary; none of them, and no directory on the way to them, may be
 * owned or writable by the relay user or group (a compromised relay must
 * not reconfigure or replace what root runs).  What the layout already
 * governs is left to setup's plan; this adds ACL grants, objects the
 * layout does not name and the parents of every trusted path.
 */
#include <sys/stat.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aclfix.h"
#include "check.h"
#include "relayctl.h"
#include "walk.h"

#define ETC_MAIL "/etc/mail"

/* Does an ACL text grant write to the relay uid or gid (mask applied)? */
static int
acl_grants_write(const struct check *c, const char *text)
{
	char buf[4096], *e, *save = NULL, *perm;
	int named = 0, mask = 1;
	unsigned long id;

	if (strlcpy(buf, text, sizeof(buf)) >= sizeof(buf))
		return 0;
	for (e = strtok_r(buf, ",", &save); e != NULL;
	     e = strtok_r(NULL, ",", &save)) {
		if ((perm = strrchr(e, ':')) == NULL)
			continue;
		if (strncmp(e, "mask::", 6) == 0) {
			mask = strchr(perm, 'w') != NULL;
			continue;
		}
		if (strchr(perm, 'w') == NULL)
			continue;
		if (strncmp(e, "user:", 5) == 0 && e[5] != ':') {
			id = strtoul(e + 5, NULL, 10);
			named |= c->have_ids && id == c->uid;
		} else if (strncmp(e, "group:", 6) == 0 && e[6] != ':') {
			id = strtoul(e + 6, NULL, 10);
			named |= c->have_ids && id == c->gid;
		}
	}
	return named && mask;
}

/* Owner and mode bits: 0, or a finding about st. */
static int
check_stat(struct check *c, const char *path, const struct stat *st)
{
	char actual[128];

	if (c->have_ids && st->st_uid == c->uid) {
		snprintf(actual, sizeof(actual), "owned by '%s' (UID %lu)",
		    c->cfg.run_as, (unsigned long)c->uid);
		return check_add(c, "trust.owner", SEV_UNSAFE, path,
		    "owned by root", actual,
		    "chown root it, then find out who changed it");
	}
	if (S_ISLNK(st->st_mode))
		return 0;
	if ((st->st_mode & S_IWOTH) &&
	    !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
		return check_add(c, "trust.writable", SEV_UNSAFE, path,
		    "not writable by others", "world-writable", "chmod o-w it");
	if (c->have_ids && (st->st_mode & S_IWGRP) && st->st_gid == c->gid) {
		snprintf(actual, sizeof(actual), "writable by group GID %lu",
		    (unsigned long)c->gid);
		return check_add(c, "trust.writable", SEV_UNSAFE, path,
		    "not writable by the relay group", actual, "chmod g-w it");
	}
	return 0;
}

/* ACL entries naming the relay account with write permission. */
static int
check_acl(struct check *c, int fd, const char *path, int skip_default)
{
	char text[4096];
	int type;

	for (type = 0; type < 2; type++) {
		if (type == 1 && skip_default)
			break;
		if (aclfix_format(fd, type, text, sizeof(text)) < 0)
			continue; /* no ACL support: nothing granted */
		if (acl_grants_write(c, text))
			return check_add(c, "trust.writable", SEV_UNSAFE, path,
			    "no ACL entry letting the relay write",
			    type ? "default ACL grants the relay write"
				 : "ACL grants the relay write",
			    "setfacl -x the entry naming the relay");
	}
	return 0;
}

static int
visit(const struct walk_entry *e, void *arg)
{
	struct check *c = arg;
	const struct layout_rule *rule = NULL;
	int r;

	if (strcmp(e->path, ETC_MAIL) != 0 &&
	    strncmp(e->path, ETC_MAIL "/", sizeof(ETC_MAIL)) != 0)
		return 0;
	if (S_ISDIR(e->st.st_mode))
		rule = layout_match(c->layout, e->path, LAYOUT_DIR);
	else if (S_ISREG(e->st.st_mode))
		rule = layout_match(c->layout, e->path, LAYOUT_FILE);
	/* Owner and mode of what the layout names: setup's plan. */
	if (rule == NULL && (r = check_stat(c, e->path, &e->st)) < 0)
		return r;
	if (!S_ISDIR(e->st.st_mode) && !S_ISREG(e->st.st_mode))
		return 0;
	return check_acl(
	    c, e->fd, e->path, rule != NULL && rule->default_acl[0] != '\0');
}

static int
descend(const char *path, const struct stat *st, int other_fs, void *arg)
{
	(void)st;
	(void)other_fs;
	(void)arg;
	return strcmp(path, "/etc") == 0 || strcmp(path, ETC_MAIL) == 0 ||
	    strncmp(path, ETC_MAIL "/", sizeof(ETC_MAIL)) == 0;
}

/* One object of a chain: 1 when it is missing (stop), else 0 or <0. */
static int
chain_one(
    struct check *c, int dirfd, const char *path, size_t len, const char *label)
{
	char prefix[PATH_MAX], shown[PATH_MAX + 16];
	struct stat st;
	int fd = -1;

	snprintf(prefix, sizeof(prefix), "%.*s", (int)len, path);
	int r;

	if (walk_open(dirfd, prefix, &fd, &st) < 0)
		return 1; /* missing or a symlink: nothing root reads there */
	snprintf(shown, sizeof(shown), "%s%s", label, prefix);
	if ((r = check_stat(c, shown, &st)) == 0)
		r = check_acl(c, fd, shown, 1);
	close(fd);
	return r;
}

/*
 * "/", every directory above path and path itself, under dirfd.  label
 * prefixes the reported path (the host's relayd is not under the root).
 */
static int
check_chain(struct check *c, int dirfd, const char *path, const char *label)
{
	size_t i, n = strlen(path);
	int r;

	if ((r = chain_one(c, dirfd, "/", 1, label)) != 0)
		return r < 0 ? r : 0;
	for (i = 1; i <= n; i++)
		if ((i == n || path[i] == '/') &&
		    (r = chain_one(c, dirfd, path, i, label)) != 0)
			return r < 0 ? r : 0;
	return 0;
}

/* /etc/mail nested too deep to walk: what is in there is unknown. */
static int
skipped(const char *path, int err, void *arg)
{
	(void)err;
	return check_add(arg, "path.too-deep", SEV_UNSAFE, path,
	    "a tree that can be walked", "too deep or too long to walk",
	    "find out who made it; flatten or remove it");
}

int
check_trust(struct check *c)
{
	struct walk_ops ops = { descend, visit, c, skipped };
	char bin[PATH_MAX];
	int hostfd, r;

	if ((r = walk_tree(c->rootfd, &ops)) < 0 && r != -ENOENT) {
		warnx("cannot walk '%s': %s", c->root, strerror(-r));
		return r;
	}
	if ((r = check_chain(c, c->rootfd, ETC_MAIL, "")) < 0)
		return r;
	if (c->cfg.transport_file[0] != '\0' &&
	    (r = check_chain(c, c->rootfd, c->cfg.transport_file, "")) < 0)
		return r;
	/* relayd (root) writes its pidfile there. */
	if ((r = check_chain(c, c->rootfd, c->cfg.pidfile, "")) < 0)
		return r;
	if (daemon_relayd_path(bin, sizeof(bin)) < 0)
		return 0;
	if ((hostfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	r = check_chain(c, hostfd, bin, strcmp(c->root, "/") ? "(host) " : "");
	close(hostfd);
	return r;
}
