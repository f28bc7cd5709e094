/*
 * accountdb_commit against real files in temporary roots under /tmp:
 * byte-exact rewriting, backups, owners and modes, passwd.lock and
 * .pwd.lock, files changed since the load, and what pwck/grpck think of
 * the result.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accountdb_fixture.h"

/* Only the account files, their backups and .pwd.lock may be left. */
static void
assert_clean_etc(struct root *r)
{
	static const char *const ok[] = { ".", "..", "passwd", "group",
		"shadow", "gshadow", "passwd-", "group-", "shadow-", "gshadow-",
		".pwd.lock", "login.defs", NULL };
	struct dirent *de;
	char p[128];
	DIR *d;
	size_t i;

	snprintf(p, sizeof(p), "%s/etc", r->path);
	assert_non_null(d = opendir(p));
	while ((de = readdir(d)) != NULL) {
		for (i = 0; ok[i] != NULL; i++)
			if (strcmp(de->d_name, ok[i]) == 0)
				break;
		if (ok[i] == NULL)
			fail_msg("left behind: etc/%s", de->d_name);
	}
	closedir(d);
}

/* Odd lines survive byte for byte; new lines look like useradd -r's. */
static void
t_add_commit(void **state)
{
	static const char pw[] = "# odd  spacing kept\nroot:x:0:0:root  :/root:"
				 "/bin/bash\n\n"
				 "alice:x:1000:1000::/home/alice:/bin/sh";
	static const char gr[] = "root:x:0:\ncdrom:x:24:alice,,bob,\n"
				 "-nisgroup\n";
	struct root *r = *state;
	struct accountdb *db;
	struct account_user u;
	struct account_group g;
	char want[1024], days[32];

	puts_(r, "etc/passwd", pw);
	puts_(r, "etc/group", gr);
	put(r, "etc/shadow", "root:*:19500:0:99999:7:::", 25, 0640, SHADOW_GID);
	put(r, "etc/gshadow", "root:*::\n", 9, 0600, SHADOW_GID);
	db = load_ok(r);
	add_sendmail(db);
	snprintf(days, sizeof(days), "%lld", (long long)(time(NULL) / 86400));
	assert_int_equal(accountdb_user_by_name(db, "sendmail", &u), 0);
	assert_int_equal(u.uid, 999);
	assert_string_equal(u.home, "/var/spool/mqueue");
	assert_int_equal(accountdb_group_by_gid(db, 999, &g), 0);
	assert_int_equal(g.nmembers, 0);
	commit_ok(db);
	assert_false(accountdb_dirty(db));

	snprintf(want, sizeof(want), "%s\n%s", pw,
	    "sendmail:x:999:999::/var/spool/mqueue:/usr/sbin/nologin\n");
	assert_file(r, "etc/passwd", want);
	/* Before the NIS line, as shadow-utils inserts. */
	assert_file(r, "etc/group",
	    "root:x:0:\ncdrom:x:24:alice,,bob,\nsendmail:x:999:\n-nisgroup\n");
	snprintf(want, sizeof(want),
	    "root:*:19500:0:99999:7:::\n"
	    "sendmail:!:%s::::::\n",
	    days);
	assert_file(r, "etc/shadow", want);
	assert_file(r, "etc/gshadow", "root:*::\nsendmail:!::\n");
	/* Backups hold the old bytes, with the old owner and mode. */
	assert_file(r, "etc/passwd-", pw);
	assert_file(r, "etc/group-", gr);
	assert_file(r, "etc/shadow-", "root:*:19500:0:99999:7:::");
	assert_file(r, "etc/gshadow-", "root:*::\n");
	assert_owner_mode(r, "etc/passwd", 0, 0644);
	assert_owner_mode(r, "etc/group", 0, 0644);
	assert_owner_mode(r, "etc/shadow", SHADOW_GID, 0640);
	assert_owner_mode(r, "etc/gshadow", SHADOW_GID, 0600);
	assert_owner_mode(r, "etc/shadow-", SHADOW_GID, 0640);
	assert_owner_mode(r, "etc/gshadow-", SHADOW_GID, 0600);
	assert_clean_etc(r);
	assert_false(exists(r, "etc/passwd.lock"));

	/* The in-memory state is the new one: a further change commits. */
	assert_int_equal(
	    accountdb_set_user(db, "sendmail", "shell", "/bin/false"), 0);
	commit_ok(db);
	accountdb_free(db);
	db = load_ok(r);
	assert_int_equal(accountdb_user_by_name(db, "sendmail", &u), 0);
	assert_string_equal(u.shell, "/bin/false");
	accountdb_free(db);
	snprintf(want, sizeof(want), "%s\n%s", pw,
	    "sendmail:x:999:999::/var/spool/mqueue:/usr/sbin/nologin\n");
	assert_file(r, "etc/passwd-", want);
	/* group was not changed the second time: its backup is the first. */
	assert_file(r, "etc/group-", gr);
}

static void
t_nothing_dirty(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct stat before, after;

	stat_of(r, "etc/passwd", &before);
	/* No-op changes do not make the database dirty. */
	assert_int_equal(
	    accountdb_set_user(db, "root", "shell", "/bin/bash"), 0);
	assert_int_equal(accountdb_lock_password(db, "root"), 0);
	assert_int_equal(accountdb_remove_member(db, "mail", "nosuch"), 0);
	assert_false(accountdb_dirty(db));
	commit_ok(db);
	accountdb_free(db);
	stat_of(r, "etc/passwd", &after);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_mtim.tv_sec, after.st_mtim.tv_sec);
	assert_int_equal(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/.pwd.lock"));
	assert_false(exists(r, "etc/passwd.lock"));
}

static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void
t_stale_lock(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	char pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)dead_pid());
	puts_(r, "etc/passwd.lock", pid);
	add_sendmail(db);
	commit_ok(db);
	accountdb_free(db);
	assert_false(exists(r, "etc/passwd.lock"));
	assert_clean_etc(r);
}

static void
t_live_lock(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;
	struct stat before, after;
	char pid[32], want[128];
	char *s;

	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	puts_(r, "etc/passwd.lock", pid);
	stat_of(r, "etc/passwd", &before);
	add_sendmail(db);
	assert_int_equal(accountdb_commit(db, &err), -EBUSY);
	snprintf(want, sizeof(want), "is held by pid %ld", (long)getpid());
	assert_string_equal(err.file, "etc/passwd.lock");
	assert_string_equal(err.msg, want);
	assert_true(accountdb_dirty(db));
	accountdb_free(db);
	stat_of(r, "etc/passwd", &after);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_file(r, "etc/group", group_deb);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/group-"));
	/* Someone else's lock stays; ours (group.lock) is gone. */
	assert_non_null(s = get(r, "etc/passwd.lock", NULL));
	assert_string_equal(s, pid);
	free(s);
	assert_false(exists(r, "etc/group.lock"));
}

/* A child holds etc/.pwd.lock (fcntl locks are per process). */
static void
t_pwdlock_timeout(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;
	struct flock fl;
	int pfd[2], fd;
	char p[128], c;
	pid_t pid;

	snprintf(p, sizeof(p), "%s/etc/.pwd.lock", r->path);
	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &c, 1), 1);
	add_sendmail(db);
	accountdb_set_lock_timeout(db, 300);
	assert_int_equal(accountdb_commit(db, &err), -ETIMEDOUT);
	assert_string_equal(err.file, "etc/.pwd.lock");
	assert_non_null(strstr(err.msg, "is held by pid"));
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(pfd[0]);
	close(pfd[1]);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/group.lock"));
	/* Released: now it works. */
	commit_ok(db);
	accountdb_free(db);
}

static void
t_estale(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;
	char *changed;

	add_sendmail(db);
	/* Same size, different bytes: an edit made meanwhile. */
	changed = strdup(group_deb);
	changed[0] = 'R';
	put(r, "etc/group", changed, strlen(changed), 0644, 0);
	assert_int_equal(accountdb_commit(db, &err), -ESTALE);
	assert_string_equal(err.file, "etc/group");
	assert_string_equal(err.msg, "changed since it was read, run again");
	accountdb_free(db);
	assert_file(r, "etc/group", changed);
	assert_file(r, "etc/passwd", passwd_deb);
	assert_false(exists(r, "etc/passwd-"));
	assert_false(exists(r, "etc/group-"));
	assert_false(exists(r, "etc/group.lock"));
	assert_clean_etc(r);
	free(changed);
}

/* Only shadow changes: passwd and group stay untouched. */
static void
t_estale_untouched_file(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct db_error err;

	assert_int_equal(accountdb_lock_password(db, "alice"), 0);
	puts_(r, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\n");
	assert_int_equal(accountdb_commit(db, &err), -ESTALE);
	assert_string_equal(err.file, "etc/passwd");
	accountdb_free(db);
	assert_file(r, "etc/shadow", shadow_deb);
}

static int
run(const char *cmd, char *out, size_t outlen)
{
	size_t n = 0;
	FILE *fp;

	assert_non_null(fp = popen(cmd, "r"));
	while (n + 1 < outlen && fgets(out + n, (int)(outlen - n), fp) != NULL)
		n += strlen(out + n);
	out[n] = '\0';
	return pclose(fp);
}

/* mkdir -p root/path (and touch an executable when file is set). */
static void
populate(struct root *r, const char *path, int file)
{
	char p[512], *q;
	int fd;

	snprintf(p, sizeof(p), "%s%s", r->path, path);
	for (q = p + strlen(r->path) + 1; (q = strchr(q, '/')) != NULL; q++) {
		*q = '\0';
		(void)mkdir(p, 0755);
		*q = '/';
	}
	if (!file) {
		(void)mkdir(p, 0755);
		return;
	}
	if ((fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0755)) != -1)
		close(fd);
}

/* What shadow-utils' own checkers say about a root we wrote. */
static void
t_pwck_grpck(void **state)
{
	struct root *r = *state;
	struct accountdb *db = load_ok(r);
	struct account_user u;
	char cmd[256], out[16384];
	size_t i;
	int st;

	add_sendmail(db);
	assert_int_equal(accountdb_remove_member(db, "mail", "sendmail"), 0);
	/* The fixture lists a member with no account. */
	assert_int_equal(accountdb_remove_member(db, "mail", "bob"), 0);
	assert_int_equal(accountdb_lock_password(db, "alice"), 0);
	commit_ok(db);
	/* pwck also wants every home and shell to exist. */
	for (i = 0; accountdb_user_at(db, i, &u) == 0; i++) {
		populate(r, u.home, 0);
		populate(r, u.shell, 1);
	}
	accountdb_free(db);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/grpck -r -R %s 2>&1", r->path);
	st = run(cmd, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("grpck: %d: %s", st, out);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/pwck -r -R %s 2>&1", r->path);
	st = run(cmd, out, sizeof(out));
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("pwck: %d: %s", st, out);
	/* Not a missing binary: a bad line does make it complain. */
	puts_(r, "etc/passwd", "root:x:0:0:root:/root:/bin/bash\nbad line\n");
	st = run(cmd, out, sizeof(out));
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	assert_non_null(strstr(out, "invalid password file entry"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(t_add_commit),
		T(t_nothing_dirty),
		T(t_stale_lock),
		T(t_live_lock),
		T(t_pwdlock_timeout),
		T(t_estale),
		T(t_estale_untouched_file),
		T(t_pwck_grpck),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
