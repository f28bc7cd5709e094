/*
 * check submit: who answers /usr/sbin/sendmail on the root, the command
 * cron, mail(1) and applications run to send mail.  Ours (a link to, or a
 * copy of, relayd-sendmail) needs relayd's submit_socket; another MTA's
 * takes the local mail past relayd; none means that mail cannot leave.
 * Said only when local submission is in use (submit_socket set, or our
 * command installed), and only as advice: relayd relays without it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "readfile.h"

#define SENDMAIL "usr/sbin/sendmail"
#define OURS "usr/sbin/relayd-sendmail"
#define BIN_MAX (16 * 1024 * 1024)

/* The whole file at path under dirfd, or NULL. */
static char *
slurp(int dirfd, const char *path, size_t *len)
{
	char *buf = NULL;

	return readfile_at(dirfd, path, BIN_MAX, &buf, len, NULL) == 0 ? buf
								       : NULL;
}

/*
 * 1 if ROOT/usr/sbin/sendmail holds the bytes of a relayd-sendmail: the
 * root's own, or the one beside this relayctl (a build tree, or the host's
 * when checking another root).
 */
static int
same_as_ours(const struct check *c)
{
	char self[PATH_MAX], *slash, *mine, *ours = NULL;
	size_t n = 0, m = 0;
	ssize_t k;
	int same = 0;

	if ((mine = slurp(c->rootfd, SENDMAIL, &n)) == NULL)
		return 0;
	if ((ours = slurp(c->rootfd, OURS, &m)) != NULL)
		same = m == n && memcmp(mine, ours, n) == 0;
	free(ours);
	ours = NULL;
	k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (!same && k > 0) {
		self[k] = '\0';
		if ((slash = strrchr(self, '/')) != NULL &&
		    (size_t)snprintf(slash,
			sizeof(self) - (size_t)(slash - self),
			"/relayd-sendmail") <
			sizeof(self) - (size_t)(slash - self) &&
		    (ours = slurp(AT_FDCWD, self, &m)) != NULL)
			same = m == n && memcmp(mine, ours, n) == 0;
	}
	free(ours);
	free(mine);
	return same;
}

/* "ours", "missing" or what it is (its link target), into what. */
static void
identify(const struct check *c, char *what, size_t len)
{
	char target[PATH_MAX];
	const char *base;
	struct stat st, our;
	ssize_t n;

	if (fstatat(c->rootfd, SENDMAIL, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		(void)snprintf(what, len, "missing");
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		n = readlinkat(c->rootfd, SENDMAIL, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		base = strrchr(target, '/');
		base = base != NULL ? base + 1 : target;
		(void)snprintf(what, len, "%s",
		    strcmp(base, "relayd-sendmail") == 0 ? "ours" : target);
		return;
	}
	if (S_ISREG(st.st_mode) &&
	    ((fstatat(c->rootfd, OURS, &our, AT_SYMLINK_NOFOLLOW) == 0 &&
		 st.st_dev == our.st_dev && st.st_ino == our.st_ino) ||
		same_as_ours(c))) {
		(void)snprintf(what, len, "ours");
		return;
	}
	(void)snprintf(what, len, "another program (not relayd-sendmail)");
}

int
check_submit(struct check *c)
{
	char what[PATH_MAX + 32], actual[256];

	identify(c, what, sizeof(what));
	if (strcmp(what, "ours") != 0 &&
	    (!c->cfg_ok || c->cfg.submit_socket[0] == '\0'))
		return 0; /* no local submission through relayd: not ours */
	if (strcmp(what, "ours") == 0) {
		if (!c->cfg_ok || c->cfg.submit_socket[0] != '\0')
			return 0;
		return check_add(c, "submit.no-socket", SEV_ADVICE,
		    "/" SENDMAIL, "relayd's submit_socket set",
		    "relayd-sendmail, but relayd.conf has no submit_socket",
		    "set submit_socket in relayd.conf (relayd-sendmail(8))");
	}
	if (strcmp(what, "missing") == 0)
		return check_add(c, "submit.no-sendmail", SEV_ADVICE,
		    "/" SENDMAIL, "a sendmail command for local mail",
		    "missing: cron and mail(1) cannot send",
		    "ln -s relayd-sendmail /usr/sbin/sendmail and set "
		    "submit_socket (relayd-sendmail(8))");
	(void)snprintf(actual, sizeof(actual), "%.200s", what);
	return check_add(c, "submit.other-mta", SEV_ADVICE, "/" SENDMAIL,
	    "relayd-sendmail", actual,
	    "local mail bypasses relayd; link relayd-sendmail there if "
	    "relayd should carry it");
}
