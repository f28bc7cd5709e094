/*
 * The names in a spool directory, sorted (queue ids sort by time): for
 * relayctl queue and for the smtp child's XQUEUE listing.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
queue_dir_names(int dfd, int all, size_t *n)
{
	struct dirent *de;
	char **ids = NULL, **nids;
	DIR *d;
	int fd;

	*n = 0;
	/* A second fd for readdir: "." of dfd, not a new lookup by name. */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			(void)close(fd);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (all ? strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0
			: !queue_id_valid(de->d_name))
			continue;
		if ((nids = reallocarray(ids, *n + 1, sizeof(*ids))) == NULL)
			break;
		ids = nids;
		if ((ids[*n] = strdup(de->d_name)) == NULL)
			break;
		(*n)++;
	}
	(void)closedir(d);
	if (ids != NULL)
		qsort(ids, *n, sizeof(*ids), id_cmp);
	return ids;
}
