/*
 * libFuzzer target for the passwd parser: the input becomes etc/passwd of a
 * temporary root (created once, with a valid group), then accountdb_load
 * and a few lookups run over it.  Nothing is ever committed.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64];
static int rootfd = -1;

static void
cleanup(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	unlink(p);
	snprintf(p, sizeof(p), "%s/etc/group", root);
	unlink(p);
	snprintf(p, sizeof(p), "%s/etc", root);
	rmdir(p);
	rmdir(root);
}

static int
writefile(const char *rel, const void *data, size_t len)
{
	char p[128];
	int fd, r = 0;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) ==
	    -1)
		return -1;
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		r = -1;
	close(fd);
	return r;
}

static int
init(void)
{
	static const char group[] = "root:x:0:\ncdrom:x:24:alice\n";
	char p[128];

	strlcpy(root, "/tmp/fuzz-acct.XXXXXX", sizeof(root));
	if (mkdtemp(root) == NULL)
		return -1;
	atexit(cleanup);
	snprintf(p, sizeof(p), "%s/etc", root);
	if (mkdir(p, 0755) == -1 ||
	    writefile("etc/group", group, sizeof(group) - 1) == -1)
		return -1;
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return rootfd == -1 ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct accountdb *db = NULL;
	struct account_user u;
	struct db_error err;
	size_t i;

	if (rootfd == -1 && init() == -1)
		abort();
	if (writefile("etc/passwd", data, size) == -1)
		abort();
	if (accountdb_load(rootfd, &db, &err) != 0) {
		/* A failed load leaves nothing behind and says where. */
		if (db != NULL || err.file[0] == '\0' || err.msg[0] == '\0')
			abort();
		return 0;
	}
	for (i = 0; accountdb_user_at(db, i, &u) == 0; i++)
		if (accountdb_user_by_name(db, u.name, &u) != 0 ||
		    strchr(u.shell, ':') != NULL)
			abort();
	(void)accountdb_user_by_uid(db, 0, &u);
	(void)accountdb_password_locked(db, "root");
	accountdb_free(db);
	return 0;
}
