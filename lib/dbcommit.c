/*
 * Account files, the commit half: shadow-utils locking (.pwd.lock and
 * <file>.lock), the stale check under the locks and the atomic replacement
 * (<file>- backup, <file>+ renamed over).  Everything goes through etcfd,
 * never by path; new files get the old owner and mode through their fd.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "accountdb.h"
#include "dbfile.h"
#include "readfile.h"

/* The bytes to write: every line raw, '\n'-joined, final '\n' as found. */
static char *
serialize(const struct dbfile *f, size_t *lenp)
{
	size_t i, len = 0;
	char *s, *p;

	for (i = 0; i < f->nlines; i++)
		len += f->lines[i].len + 1;
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	for (p = s, i = 0; i < f->nlines; i++) {
		memcpy(p, f->lines[i].raw, f->lines[i].len);
		p += f->lines[i].len;
		if (i + 1 < f->nlines || f->final_nl)
			*p++ = '\n';
	}
	*lenp = (size_t)(p - s);
	return s;
}

/* Who holds etc/.pwd.lock, for the message. */
static int
pwdlock_busy(int fd, struct db_error *err)
{
	struct flock fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		return dbfile_err(err, ".pwd.lock", 0, -ETIMEDOUT,
		    "is held by pid %ld", (long)fl.l_pid);
	return dbfile_err(
	    err, ".pwd.lock", 0, -ETIMEDOUT, "is held by another process");
}

/*
 * lckpwdf(3): an fcntl write lock on etc/.pwd.lock, waiting at most
 * timeout_ms.  Closing *fdp releases it; the file itself stays.
 */
int
dbfile_pwdlock(
    int etcfd, unsigned int timeout_ms, int *fdp, struct db_error *err)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned int waited = 0;
	struct flock fl;
	struct stat st;
	int fd, r;

	fd = openat(etcfd, ".pwd.lock",
	    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
	if (fd == -1)
		return dbfile_err(err, ".pwd.lock", 0, -errno,
		    "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return dbfile_err(
		    err, ".pwd.lock", 0, -EINVAL, "not a regular file");
	}
	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_SETLK, &fl) == 0) {
			*fdp = fd;
			return 0;
		}
		r = -errno;
		if ((r != -EACCES && r != -EAGAIN) || waited >= timeout_ms)
			break;
		nanosleep(&ts, NULL);
		waited += 50;
	}
	if (r == -EACCES || r == -EAGAIN)
		r = pwdlock_busy(fd, err);
	else
		dbfile_err(
		    err, ".pwd.lock", 0, r, "cannot lock: %s", strerror(-r));
	close(fd);
	return r;
}

/* The pid in a <file>.lock, or 0 when it holds none. */
static pid_t
lock_owner(int etcfd, const char *lck)
{
	char buf[32];
	unsigned long pid;
	ssize_t n;
	int fd;

	if ((fd = dbfile_open_ro(etcfd, lck)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (dbfile_parse_id(buf, &pid) < 0 || pid == 0 || pid > 0x7fffffffUL)
		return 0;
	return (pid_t)pid;
}

static int
lock_names(
    const struct dbfile *f, char *tmp, size_t tmplen, char *lck, size_t lcklen)
{
	int n;

	n = snprintf(tmp, tmplen, "%s.%ld", f->spec->name, (long)getpid());
	if (n < 0 || (size_t)n >= tmplen)
		return -ENAMETOOLONG;
	n = snprintf(lck, lcklen, "%s.lock", f->spec->name);
	if (n < 0 || (size_t)n >= lcklen)
		return -ENAMETOOLONG;
	return 0;
}

/* Write our pid to <file>.<pid> and link it to <file>.lock. */
static int
lock_take(int etcfd, const char *tmp, const char *lck)
{
	struct stat st;
	char pid[32];
	int fd, len, r;

	(void)unlinkat(etcfd, tmp, 0);
	fd = openat(etcfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	len = snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	r = fdio_write_all(fd, pid, (size_t)len);
	if (close(fd) == -1 && r == 0)
		r = -errno;
	if (r == 0 && linkat(etcfd, tmp, etcfd, lck, 0) == -1)
		r = -errno;
	/* As shadow-utils: the link count proves the link is ours. */
	if (r == 0 &&
	    (fstatat(etcfd, tmp, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		st.st_nlink != 2))
		r = -EBUSY;
	(void)unlinkat(etcfd, tmp, 0);
	return r;
}

int
dbfile_lock(int etcfd, const struct dbfile *f, struct db_error *err)
{
	char tmp[64], lck[64];
	pid_t pid = 0;
	int r, tries;

	if ((r = lock_names(f, tmp, sizeof(tmp), lck, sizeof(lck))) < 0)
		return dbfile_err(err, f->spec->name, 0, r, "name too long");
	for (tries = 0; tries < 2; tries++) {
		if ((r = lock_take(etcfd, tmp, lck)) != -EEXIST)
			break;
		pid = lock_owner(etcfd, lck);
		if (pid == 0 || kill(pid, 0) == 0 || errno != ESRCH)
			break;
		/* Stale: its owner is gone. */
		(void)unlinkat(etcfd, lck, 0);
	}
	if (r == -EEXIST && pid != 0)
		return dbfile_err(
		    err, lck, 0, -EBUSY, "is held by pid %ld", (long)pid);
	if (r == -EEXIST)
		return dbfile_err(
		    err, lck, 0, -EBUSY, "exists and holds no valid pid");
	if (r < 0)
		return dbfile_err(
		    err, lck, 0, r, "cannot lock: %s", strerror(-r));
	return 0;
}

void
dbfile_unlock(int etcfd, const struct dbfile *f)
{
	char tmp[64], lck[64];

	if (lock_names(f, tmp, sizeof(tmp), lck, sizeof(lck)) == 0)
		(void)unlinkat(etcfd, lck, 0);
}

/* Under the locks: is the file on disk still the one we read? */
int
dbfile_check(int etcfd, struct dbfile *f, struct db_error *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r, same;

	r = readfile_at(etcfd, f->spec->name, DBFILE_SIZE_MAX, &buf, &len, &st);
	if (r == -ENOENT && !f->present)
		return 0;
	if (r == -ENOENT || r == -ESTALE) /* removed, or rewritten as we read */
		goto stale;
	if (r < 0)
		return dbfile_err(err, f->spec->name, 0, r, "cannot read: %s",
		    readfile_strerror(r));
	same = f->present && st.st_dev == f->st.st_dev &&
	    st.st_ino == f->st.st_ino && st.st_size == f->st.st_size &&
	    st.st_mtim.tv_sec == f->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec && len == f->oldlen &&
	    memcmp(buf, f->old, len) == 0;
	free(buf);
	if (same) {
		f->st = st; /* owner and mode as they are now */
		return 0;
	}
stale:
	return dbfile_err(err, f->spec->name, 0, -ESTALE,
	    "changed since it was read, run again");
}

/* A new file tmp holding data, with st's owner and mode, synced. */
static int
write_tmp(int etcfd, const char *tmp, const char *data, size_t len,
    const struct stat *st, int keeptimes, struct stat *out)
{
	struct timespec times[2];
	int fd = -1, r = 0, saved;

	if (unlinkat(etcfd, tmp, 0) == -1 && errno != ENOENT)
		return -errno;
	fd = openat(etcfd, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1)
		return -errno;
	/* chown first: it would clear set-id bits set by fchmod. */
	if (fchown(fd, st->st_uid, st->st_gid) == -1 ||
	    fchmod(fd, st->st_mode & 07777) == -1) {
		r = -errno;
		goto out;
	}
	if ((r = fdio_write_all(fd, data, len)) < 0)
		goto out;
	times[0] = st->st_atim;
	times[1] = st->st_mtim;
	if ((keeptimes && futimens(fd, times) == -1) || fsync(fd) == -1 ||
	    fstat(fd, out) == -1) {
		r = -errno;
		goto out;
	}
	r = close(fd) == -1 ? -errno : 0;
	fd = -1;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (r < 0)
		(void)unlinkat(etcfd, tmp, 0);
	errno = saved;
	return r;
}

static int
replace(int etcfd, const char *tmp, const char *dst, const char *data,
    size_t len, const struct stat *st, int keeptimes, struct stat *out)
{
	int r;

	if ((r = write_tmp(etcfd, tmp, data, len, st, keeptimes, out)) < 0)
		return r;
	if (renameat(etcfd, tmp, etcfd, dst) == -1) {
		r = -errno;
		(void)unlinkat(etcfd, tmp, 0);
		return r;
	}
	return fsync(etcfd) == -1 ? -errno : 0;
}

static int
tmp_names(const char *name, char *bak, char *baktmp, char *tmp, size_t len)
{
	if ((size_t)snprintf(bak, len, "%s-", name) >= len ||
	    (size_t)snprintf(baktmp, len, "%s-.tmp", name) >= len ||
	    (size_t)snprintf(tmp, len, "%s+", name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* <file>- gets the old bytes, <file>+ the new ones; nothing live changes. */
int
dbfile_prepare(int etcfd, struct dbfile *f, struct db_error *err)
{
	char bak[64], baktmp[64], tmp[64];
	const char *name = f->spec->name;
	struct stat st;
	char *data;
	size_t len;
	int r;

	if (tmp_names(name, bak, baktmp, tmp, sizeof(bak)) < 0)
		return dbfile_err(err, name, 0, -ENAMETOOLONG, "name too long");
	r = replace(etcfd, baktmp, bak, f->old, f->oldlen, &f->st, 1, &st);
	if (r < 0)
		return dbfile_err(
		    err, bak, 0, r, "cannot write backup: %s", strerror(-r));
	if ((data = serialize(f, &len)) == NULL)
		return dbfile_err(
		    err, name, 0, -ENOMEM, "%s", strerror(ENOMEM));
	if ((r = write_tmp(etcfd, tmp, data, len, &f->st, 0, &st)) < 0) {
		free(data);
		return dbfile_err(
		    err, name, 0, r, "cannot write: %s", strerror(-r));
	}
	free(f->pending);
	f->pending = data;
	f->pendlen = len;
	f->pendst = st;
	return 0;
}

/* Rename the prepared <file>+ over the file and sync the directory. */
int
dbfile_install(int etcfd, struct dbfile *f, struct db_error *err)
{
	char bak[64], baktmp[64], tmp[64];
	const char *name = f->spec->name;

	if (f->pending == NULL)
		return 0;
	if (tmp_names(name, bak, baktmp, tmp, sizeof(bak)) < 0)
		return dbfile_err(err, name, 0, -ENAMETOOLONG, "name too long");
	if (renameat(etcfd, tmp, etcfd, name) == -1)
		return dbfile_err(
		    err, name, 0, -errno, "cannot write: %s", strerror(errno));
	/* Renamed: from here on the new bytes are the file's. */
	free(f->old);
	f->old = f->pending;
	f->oldlen = f->pendlen;
	f->st = f->pendst;
	f->pending = NULL;
	f->dirty = 0;
	if (fsync(etcfd) == -1)
		return dbfile_err(err, name, 0, -errno,
		    "cannot sync directory: %s", strerror(errno));
	return 0;
}

void
dbfile_discard(int etcfd, struct dbfile *f)
{
	char bak[64], baktmp[64], tmp[64];

	if (f->pending == NULL)
		return;
	if (tmp_names(f->spec->name, bak, baktmp, tmp, sizeof(bak)) == 0)
		(void)unlinkat(etcfd, tmp, 0);
	free(f->pending);
	f->pending = NULL;
}
