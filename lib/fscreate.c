/*
 * fscreate: the part of fsplan that makes what is missing: directories
 * the layout marks `create` (parents root:root 0755) and files installed
 * from a sample.  Components are opened one by one without following
 * symlinks; a symlink on the way is reported, never created through.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsfix.h"
#include "fsplan.h"
#include "mode.h"
#include "walk.h"

#define SAMPLE_MAX (1024 * 1024)

/* The owner, group and mode a new object of rule r receives (from 0755). */
static int
new_attrs(struct fsplan *f, const struct layout_rule *r, mode_t base,
    uid_t *uid, gid_t *gid, mode_t *mode, char *text, size_t len)
{
	char m[8];
	int rc;

	*uid = 0;
	*gid = 0;
	*mode = 0755;
	if (r != NULL) {
		if ((rc = fsplan_rule_ids(f, r, 0, 0, uid, gid)) < 0)
			return rc;
		*mode = mode_desired(&r->mode, base, r->type == LAYOUT_DIR);
	}
	fsplan_owner_text(f, *uid, *gid, text, len);
	mode_format(*mode, m, sizeof(m));
	if (strlcat(text, " ", len) >= len || strlcat(text, m, len) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int
mkdir_one(struct fsplan *f, int dirfd, const char *path, const char *name,
    const struct layout_rule *r, int *fdp)
{
	char after[192];
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int rc;

	if ((rc = new_attrs(
		 f, r, 0755, &uid, &gid, &mode, after, sizeof(after))) < 0)
		return rc;
	if ((rc = plan_add(f->plan, PLAN_ACTION, "mkdir", path, "", after)) < 0)
		return rc;
	if (!f->apply)
		return 0;
	if ((rc = fsfix_mkdir(dirfd, name, uid, gid, mode, fdp)) < 0)
		return fsplan_fail(f, rc, "cannot create", path);
	return 0;
}

/* Is an existing component usable as a directory?  1 yes, 0 reported. */
static int
usable_dir(struct fsplan *f, int fd, const char *path)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return fsplan_fail(f, -errno, "cannot stat", path);
	if (S_ISDIR(st.st_mode))
		return 1;
	if (plan_add(f->plan, PLAN_UNSAFE,
		S_ISLNK(st.st_mode) ? "path.symlink" : "path.type", path, "",
		S_ISLNK(st.st_mode) ? "symlink in a managed path, not followed"
				    : "not a directory, not changed") < 0)
		return -ENOMEM;
	return 0;
}

/* mkdir -p for one `create` rule, one no-follow component at a time. */
static int
make_path(struct fsplan *f, const struct layout_rule *r)
{
	char buf[PATH_MAX], path[PATH_MAX] = "", *name, *save = NULL;
	int fd = -1, next = -1, rc = 0, missing = 0;

	if (strlcpy(buf, r->pattern, sizeof(buf)) >= sizeof(buf))
		return -ENAMETOOLONG;
	if ((fd = fcntl(f->rootfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return fsplan_fail(f, -errno, "cannot open", "/");
	for (name = strtok_r(buf, "/", &save); name != NULL;
	     name = strtok_r(NULL, "/", &save)) {
		if (strlcat(path, "/", sizeof(path)) >= sizeof(path) ||
		    strlcat(path, name, sizeof(path)) >= sizeof(path)) {
			rc = -ENAMETOOLONG;
			break;
		}
		/* --plan: the rest of the path would be made too. */
		if (missing) {
			rc = mkdir_one(f, -1, path, name,
			    strcmp(path, r->pattern) == 0 ? r : NULL, NULL);
			if (rc < 0)
				break;
			continue;
		}
		next = openat(fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno != ENOENT) {
			rc = fsplan_fail(f, -errno, "cannot open", path);
			break;
		}
		if (next >= 0 && (rc = usable_dir(f, next, path)) <= 0)
			break;
		if (next < 0) {
			rc = mkdir_one(f, fd, path, name,
			    strcmp(path, r->pattern) == 0 ? r : NULL, &next);
			if (rc < 0)
				break;
			if (!f->apply) {
				missing = 1;
				continue;
			}
		}
		close(fd);
		fd = next;
		next = -1;
	}
	if (next >= 0)
		close(next);
	close(fd);
	return rc < 0 ? rc : 0;
}

/*
 * The sample names the default account; with --user the installed copy
 * must name the chosen one, or relayd would refuse to start.  Rewrites a
 * "run_as = ..." line in place (a new buffer); 0 when there is none.
 */
static int
sample_run_as(const char *user, char **bufp, size_t *lenp)
{
	char *buf = *bufp, *line, *eol, *out;
	size_t len = *lenp, head, tail, n;

	for (line = buf; line < buf + len; line = eol + 1) {
		if ((eol = memchr(line, '\n', len - (line - buf))) == NULL)
			eol = buf + len;
		if (strncmp(line, "run_as", 6) == 0 &&
		    strspn(line + 6, " \t") + 6 < (size_t)(eol - line) &&
		    line[6 + strspn(line + 6, " \t")] == '=')
			break;
	}
	if (line >= buf + len)
		return 0;
	head = (size_t)(line - buf);
	tail = len - (size_t)(eol - buf);
	n = head + strlen("run_as = ") + strlen(user) + tail;
	if ((out = malloc(n + 1)) == NULL)
		return -ENOMEM;
	(void)snprintf(out, n + 1, "%.*srun_as = %s%.*s", (int)head, buf, user,
	    (int)tail, eol);
	free(buf);
	*bufp = out;
	*lenp = n;
	return 0;
}

static int
install_sample(struct fsplan *f, const struct layout_rule *r)
{
	char dir[PATH_MAX], after[192], *slash;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int fd = -1, rc;

	rc = walk_open(f->rootfd, r->pattern, &fd, &st);
	if (rc != -ENOENT) {
		if (fd >= 0)
			close(fd);
		/* Present (the walk checks it) or a symlink (left alone). */
		return rc == 0 || rc == -ELOOP
		    ? 0
		    : fsplan_fail(f, rc, "cannot open", r->pattern);
	}
	if (strlcpy(dir, r->pattern, sizeof(dir)) >= sizeof(dir) ||
	    (slash = strrchr(dir, '/')) == NULL)
		return -EINVAL;
	*slash = '\0';
	if ((rc = new_attrs(
		 f, r, 0644, &uid, &gid, &mode, after, sizeof(after))) < 0)
		return rc;
	if ((rc = plan_add(
		 f->plan, PLAN_ACTION, "install", r->pattern, "", after)) < 0)
		return rc;
	/* Read it while planning too: a missing sample fails before any change. */
	if (f->datafd < 0) /* why the directory did not open, not EBADF */
		rc = f->dataerr < 0 ? f->dataerr : -ENOENT;
	else
		rc = fsfix_read_file(
		    f->datafd, r->sample, SAMPLE_MAX, &buf, &len);
	if (rc < 0) {
		snprintf(dir, sizeof(dir), "%s/%s", f->datadir, r->sample);
		return fsplan_fail(f, rc, "cannot read sample", dir);
	}
	if ((rc = sample_run_as(f->user, &buf, &len)) < 0) {
		free(buf);
		return fsplan_fail(f, rc, "cannot install", r->pattern);
	}
	if (f->apply &&
	    (rc = walk_open(f->rootfd, dir[0] ? dir : "/", &fd, &st)) < 0)
		fsplan_fail(f, rc, "cannot open", dir);
	else if (f->apply &&
	    (rc = fsfix_install(fd, slash + 1, buf, len, uid, gid, mode)) < 0)
		fsplan_fail(f, rc, "cannot install", r->pattern);
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

int
fsplan_create(struct fsplan *f)
{
	size_t i;
	int rc;

	for (i = 0; i < f->layout->nrules; i++)
		if (f->layout->rules[i].create &&
		    (rc = make_path(f, &f->layout->rules[i])) < 0)
			return rc;
	for (i = 0; i < f->layout->nrules; i++)
		if (f->layout->rules[i].sample[0] != '\0' &&
		    (rc = install_sample(f, &f->layout->rules[i])) < 0)
			return rc;
	return 0;
}
