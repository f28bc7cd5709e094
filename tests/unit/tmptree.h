/*
 * tmptree: remove a unit test's temporary tree.  Walks by fd (openat,
 * never following a symlink), so trees deeper than PATH_MAX, which the
 * walker tests build on purpose, go too.
 */
#ifndef RELAY_TEST_TMPTREE_H
#define RELAY_TEST_TMPTREE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* 0 when name (below dfd) and everything under it is gone, else -1. */
static inline int
tmptree_remove_at(int dfd, const char *name)
{
	struct dirent *de;
	DIR *d;
	int fd, rv = 0;

	if (unlinkat(dfd, name, 0) == 0)
		return 0;
	if (errno != EISDIR)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    tmptree_remove_at(dirfd(d), de->d_name) == -1)
			rv = -1;
	closedir(d);
	return unlinkat(dfd, name, AT_REMOVEDIR) == -1 ? -1 : rv;
}

static inline int
tmptree_remove(const char *dir)
{
	return tmptree_remove_at(AT_FDCWD, dir);
}

#endif
