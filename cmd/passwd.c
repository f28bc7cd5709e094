/*
 * relayctl passwd USER [--delete]: add, change or remove an SMTP AUTH login
 * in the auth_users file (relayd.conf's key, else /etc/mail/relayd.passwd).
 * The password comes from the terminal without echo, or from stdin when it
 * is not a terminal; never from argv (ps(1) shows it).  It is hashed with
 * yescrypt, and the file is replaced whole, root:root 0600, by a new file
 * in the same directory, fsynced and renamed over it.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <crypt.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <readpassphrase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "authtab.h"
#include "config.h"
#include "fdio.h"
#include "readfile.h"
#include "relayctl.h"
#include "walk.h"

#define DEFAULT_PASSWD "/etc/mail/relayd.passwd"
#define PASS_MAX 256 /* octets with the NUL, as sasl.h's SASL_PASS_MAX */

const struct cmd_opt passwd_options[] = { { "delete", NULL }, { NULL, NULL } };

/* The file to edit: auth_users if relayd.conf sets it. 0 or an exit. */
static int
passwd_path(const struct cmd_args *a, int rootfd, char *path, size_t len)
{
	struct config c;
	struct config_error ce;
	char why[600];
	int rv;

	config_defaults(&c);
	rv = config_load(rootfd, a->config, &c, &ce);
	if (rv < 0 && rv != -ENOENT) {
		config_error_format(&ce, why, sizeof(why));
		warnx("%s", why);
		return EX_CONFIG;
	}
	if (strlcpy(path,
		rv == 0 && c.auth_users[0] != '\0' ? c.auth_users
						   : DEFAULT_PASSWD,
		len) >= len) {
		warnx("auth_users path too long");
		return EX_CONFIG;
	}
	return 0;
}

/* A line from stdin without its newline. 0, or -1 after saying why. */
static int
read_stdin(char *buf, size_t cap)
{
	size_t n;

	if (fgets(buf, (int)cap, stdin) == NULL) {
		warnx("no password on stdin");
		return -1;
	}
	n = strcspn(buf, "\n");
	if (buf[n] != '\n' && !feof(stdin)) {
		warnx("password too long (max %d bytes)", PASS_MAX - 1);
		return -1;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[n - 1] = '\0';
	return 0;
}

/* The new password, twice on a terminal. 0, or an exit status. */
static int
read_password(char *pw, size_t cap)
{
	char again[PASS_MAX];
	int rv = 0;

	if (!isatty(STDIN_FILENO)) {
		if (read_stdin(pw, cap) < 0)
			return EX_DATAERR;
	} else if (readpassphrase("New password: ", pw, cap, RPP_REQUIRE_TTY) ==
		NULL ||
	    readpassphrase("Retype new password: ", again, sizeof(again),
		RPP_REQUIRE_TTY) == NULL) {
		warn("cannot read the password from the terminal");
		rv = EX_IOERR;
	} else if (strcmp(pw, again) != 0) {
		warnx("the passwords do not match");
		rv = EX_DATAERR;
	}
	explicit_bzero(again, sizeof(again));
	if (rv == 0 && pw[0] == '\0') {
		warnx("empty password refused");
		rv = EX_DATAERR;
	}
	return rv;
}

/* yescrypt of pw into hash[CRYPT_OUTPUT_SIZE]. 0 or an exit status. */
static int
hash_password(const char *pw, char *hash)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	const char *h;
	int rv = EX_SOFTWARE;

	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		err(EX_OSERR, "out of memory");
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL)
		warn("crypt_gensalt");
	else if ((h = crypt_rn(pw, salt, cd, (int)sizeof(*cd))) == NULL ||
	    h[0] == '*')
		warn("crypt");
	else if (strlcpy(hash, h, CRYPT_OUTPUT_SIZE) < CRYPT_OUTPUT_SIZE)
		rv = 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rv;
}

/* Write text as dir/base: new file, fsync, rename, fsync dir. 0 or -errno. */
static int
write_atomic(int dfd, const char *base, const char *text, size_t len)
{
	char tmp[300];
	int fd = -1, rv, n;

	n = snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", base, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	/* Owner and mode before the first byte: never a readable hash. */
	rv = fchown(fd, 0, 0) == -1 || fchmod(fd, 0600) == -1 ? -errno : 0;
	if (rv == 0)
		rv = fdio_write_all(fd, text, len);
	if (rv == 0 && fsync(fd) == -1)
		rv = -errno;
	if (close(fd) == -1 && rv == 0)
		rv = -errno;
	if (rv == 0 && renameat(dfd, tmp, dfd, base) == -1)
		rv = -errno;
	if (rv != 0) {
		(void)unlinkat(dfd, tmp, 0);
		return rv;
	}
	return fsync(dfd) == -1 ? -errno : 0;
}

/* The directory of path under rootfd, locked; its fd or an exit status. */
static int
open_dir(int rootfd, const char *path, char *base, size_t blen, int *dfdp)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int dfd;

	if (slash == NULL || slash[1] == '\0' ||
	    strlcpy(base, slash + 1, blen) >= blen ||
	    (size_t)(slash - path) >= sizeof(dir)) {
		warnx("'%s': not a file path", path);
		return EX_CONFIG;
	}
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (dir[0] == '\0')
		(void)strlcpy(dir, "/", sizeof(dir));
	dfd = walk_open_io(rootfd, dir, O_RDONLY | O_DIRECTORY, NULL);
	if (dfd < 0) {
		warnx("cannot open '%s': %s", dir, strerror(-dfd));
		return EX_CANTCREAT;
	}
	/* Two runs at once must not lose one's change. */
	if (flock(dfd, LOCK_EX) == -1) {
		warn("cannot lock '%s'", dir);
		(void)close(dfd);
		return EX_TEMPFAIL;
	}
	*dfdp = dfd;
	return 0;
}

/* The file's new text (old read under the lock). 0 or an exit status. */
static int
new_text(int dfd, const char *path, const char *base, const char *user,
    const char *hash, char **outp, size_t *outlenp)
{
	struct config_error ce;
	struct authtab *t = NULL;
	char *old = NULL, why[600];
	size_t len = 0;
	int rv;

	rv = readfile_at(dfd, base, AUTHTAB_FILE_MAX, &old, &len, NULL);
	if (rv < 0 && rv != -ENOENT) {
		warnx("cannot read '%s': %s", path, readfile_strerror(rv));
		return EX_NOINPUT;
	}
	rv = authtab_edit(
	    old != NULL ? old : "", len, user, hash, outp, outlenp);
	free(old);
	if (rv == -ENOENT) {
		warnx("no user '%s' in '%s'", user, path);
		return EX_DATAERR;
	}
	if (rv < 0) {
		warnx("cannot edit '%s': %s", path, strerror(-rv));
		return EX_SOFTWARE;
	}
	/* What relayd would refuse is not written. */
	if (authtab_parse(*outp, *outlenp, path, &t, &ce) < 0) {
		config_error_format(&ce, why, sizeof(why));
		warnx("%s (fix the file first)", why);
		free(*outp);
		*outp = NULL;
		return EX_DATAERR;
	}
	authtab_free(t);
	return 0;
}

static int
passwd_run(const struct cmd_args *a, int rootfd, const char *user, int del)
{
	char path[4096], base[256], pw[PASS_MAX], hash[CRYPT_OUTPUT_SIZE];
	char *text = NULL;
	size_t len = 0;
	int dfd = -1, rv;

	if ((rv = passwd_path(a, rootfd, path, sizeof(path))) != 0)
		return rv;
	if (!del) {
		rv = read_password(pw, sizeof(pw));
		if (rv == 0)
			rv = hash_password(pw, hash);
		explicit_bzero(pw, sizeof(pw));
		if (rv != 0)
			return rv;
	}
	if ((rv = open_dir(rootfd, path, base, sizeof(base), &dfd)) != 0)
		return rv;
	rv = new_text(dfd, path, base, user, del ? NULL : hash, &text, &len);
	if (rv == 0 && (rv = write_atomic(dfd, base, text, len)) < 0) {
		warnx("cannot write '%s': %s", path, strerror(-rv));
		rv = EX_CANTCREAT;
	}
	if (rv == 0)
		printf("%s '%s' in %s\n", del ? "removed" : "set password for",
		    user, path);
	free(text);
	(void)close(dfd);
	return rv;
}

int
cmd_passwd(const struct cmd_args *a)
{
	const char *user = a->noperands == 1 ? a->operand[0] : NULL;
	int rootfd, rv;

	if (user == NULL)
		return cmd_usage_error(a, "want exactly one USER");
	if (!authtab_valid_user(user))
		return cmd_usage_error(
		    a, "invalid user name (printable ASCII, no blank or ':')");
	if (geteuid() != 0) {
		warnx("passwd: must be run as root");
		return EX_NOPERM;
	}
	if ((rootfd = open(a->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		warn("cannot open root '%s'", a->root);
		return EX_NOINPUT;
	}
	rv = passwd_run(a, rootfd, user, a->opt[0] != NULL);
	(void)close(rootfd);
	return rv;
}
