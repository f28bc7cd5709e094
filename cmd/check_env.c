/*
 * check env: facts outside the layout that decide whether the setup
 * stays safe: the kernel's link protections (advice) and a Debian
 * sendmail beside relayd, whose upgrade scripts (update_sys,
 * sendmailconfig) put the queue back to smmta:smmsp unless HANDS_OFF is
 * set, or that shares our queue or runs as another account.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "check.h"
#include "fsfix.h"
#include "walk.h"

#define SENDMAIL_CF_MAX (4 * 1024 * 1024)

static const struct {
	const char *name, *id;
} sysctls[] = {
	{ "protected_hardlinks", "env.protected-hardlinks" },
	{ "protected_symlinks", "env.protected-symlinks" },
	{ "protected_regular", "env.protected-regular" },
};

static int
check_sysctls(struct check *c)
{
	char rel[64], buf[32], actual[64], fix[128], path[PATH_MAX];
	ssize_t n;
	size_t i;
	int fd, r;

	for (i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		snprintf(rel, sizeof(rel), "sys/fs/%s", sysctls[i].name);
		fd = openat(c->procfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue; /* old kernel, or a fixture without it */
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (atoi(buf) >= 1)
			continue;
		snprintf(actual, sizeof(actual), "fs.%s = %d", sysctls[i].name,
		    atoi(buf));
		snprintf(fix, sizeof(fix),
		    "sysctl -w fs.%s=1 and set it in /etc/sysctl.d",
		    sysctls[i].name);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->procdir,
			rel) >= sizeof(path))
			return -ENAMETOOLONG;
		if ((r = check_add(c, sysctls[i].id, SEV_ADVICE, path,
			 "1 or more", actual, fix)) < 0)
			return r;
	}
	return 0;
}

/* A file under the root, read without following any symlink. */
static int
read_root_file(const struct check *c, const char *dir, const char *name,
    char **buf, size_t *len)
{
	int dfd = -1, r;

	if ((r = walk_open(c->rootfd, dir, &dfd, NULL)) < 0)
		return r;
	r = fsfix_read_file(dfd, name, SENDMAIL_CF_MAX, buf, len);
	close(dfd);
	return r;
}

static int
exists(const struct check *c, const char *path)
{
	int fd = -1;

	if (walk_open(c->rootfd, path, &fd, NULL) < 0)
		return 0;
	close(fd);
	return 1;
}

/* Next line of buf into line (cut at len), leading blanks skipped. */
static const char *
next_line(const char **p, char *line, size_t len)
{
	const char *s = *p, *nl;
	size_t n;

	if (*s == '\0')
		return NULL;
	nl = strchr(s, '\n');
	n = nl ? (size_t)(nl - s) : strlen(s);
	*p = nl ? nl + 1 : s + n;
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	snprintf(line, len, "%.*s", (int)n, s);
	return line;
}

/* sendmail.conf: HANDS_OFF="Yes" (the last assignment wins). */
static int
hands_off(const char *text)
{
	char line[512], *v;
	const char *p = text;
	int on = 0;

	while (next_line(&p, line, sizeof(line)) != NULL) {
		if (strncmp(line, "HANDS_OFF", 9) != 0)
			continue;
		v = line + 9 + strspn(line + 9, " \t");
		if (*v++ != '=')
			continue;
		v += strspn(v, " \t\"'");
		on = strncasecmp(v, "yes", 3) == 0;
	}
	return on;
}

/* "O Name=value" from sendmail.cf into out ("" when absent). */
static void
cf_option(const char *text, const char *name, char *out, size_t len)
{
	char line[1024], *v;
	const char *p = text;
	size_t n = strlen(name);

	out[0] = '\0';
	while (next_line(&p, line, sizeof(line)) != NULL) {
		v = line;
		if (*v++ != 'O')
			continue;
		v += strspn(v, " \t");
		if (strncmp(v, name, n) != 0 || v[n] != '=')
			continue;
		v += n + 1;
		v[strcspn(v, " \t\r#")] = '\0';
		snprintf(out, len, "%s", v);
	}
}

/* sendmail.mc: define(`confRUN_AS_USER', `name')dnl */
static void
mc_run_as(const char *text, char *out, size_t len)
{
	const char *p = text, *v;
	char line[1024];

	out[0] = '\0';
	while (next_line(&p, line, sizeof(line)) != NULL) {
		if (strncmp(line, "define(", 7) != 0 ||
		    (v = strstr(line, "confRUN_AS_USER")) == NULL ||
		    (v = strchr(v, ',')) == NULL)
			continue;
		v += strspn(v, ", \t`'\"");
		snprintf(out, len, "%.*s", (int)strcspn(v, "'\"`): \t"), v);
	}
}

/* RunAsUser "name[:group]" or a uid: is it the relay account? */
static int
run_as_ours(const struct check *c, const char *v)
{
	size_t n = strcspn(v, ":");
	char *end;
	unsigned long id = strtoul(v, &end, 10);

	if (end == v + n && n > 0)
		return c->have_ids && id == c->uid;
	return strlen(c->cfg.run_as) == n && strncmp(v, c->cfg.run_as, n) == 0;
}

static int
check_run_as(struct check *c, const char *file, const char *val)
{
	char fix[128];

	if (val[0] == '\0' || run_as_ours(c, val))
		return 0;
	snprintf(fix, sizeof(fix),
	    "make sendmail's RunAsUser '%s' or "
	    "remove the option",
	    c->cfg.run_as);
	return check_add(c, "env.sendmail-runasuser", SEV_UNSAFE, file,
	    c->cfg.run_as, val, fix);
}

static int
check_sendmail(struct check *c)
{
	char *cf = NULL, *conf = NULL, *mc = NULL, val[256];
	size_t len;
	int installed, r = 0;

	installed = exists(c, "/usr/lib/sm.bin/sendmail");
	if (read_root_file(c, "/etc/mail", "sendmail.conf", &conf, &len) == 0)
		installed = 1;
	(void)read_root_file(c, "/etc/mail", "sendmail.cf", &cf, &len);
	(void)read_root_file(c, "/etc/mail", "sendmail.mc", &mc, &len);
	if (installed && (conf == NULL || !hands_off(conf)))
		r = check_add(c, "env.sendmail-hands-off", SEV_UNSAFE,
		    "/etc/mail/sendmail.conf", "HANDS_OFF=\"Yes\"",
		    conf ? "HANDS_OFF not \"Yes\"" : "no sendmail.conf",
		    "set HANDS_OFF=\"Yes\" in /etc/mail/sendmail.conf, or "
		    "remove the sendmail package");
	if (r == 0 && cf != NULL) {
		cf_option(cf, "QueueDirectory", val, sizeof(val));
		/* Debian's sendmail queues in /var/spool/mqueue by default. */
		if (installed &&
		    strcmp(val[0] ? val : "/var/spool/mqueue", c->cfg.spool) ==
			0)
			r = check_add(c, "env.sendmail-queue", SEV_UNSAFE,
			    "/etc/mail/sendmail.cf", "a queue of its own",
			    c->cfg.spool,
			    "stop sendmail or give it another "
			    "QueueDirectory");
		cf_option(cf, "RunAsUser", val, sizeof(val));
		if (r == 0)
			r = check_run_as(c, "/etc/mail/sendmail.cf", val);
	}
	if (r == 0 && mc != NULL) {
		mc_run_as(mc, val, sizeof(val));
		r = check_run_as(c, "/etc/mail/sendmail.mc", val);
	}
	free(cf);
	free(conf);
	free(mc);
	return r;
}

int
check_env(struct check *c)
{
	int r;

	/* --mta sendmail: sendmail is the MTA; check_mta.c audits it. */
	if ((r = check_sysctls(c)) < 0 ||
	    (!c->mta && (r = check_sendmail(c)) < 0))
		return r;
	return 0;
}
