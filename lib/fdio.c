/*
 * fdio: write(2) until done (a short write is not an error, an
 * interrupted one is retried) and fsync a directory after a rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "fdio.h"

int
fdio_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fdio_sync_dir(int dirfd, const char *name)
{
	int fd, rv = 0;

	fd = openat(
	    dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -errno;
	if (fsync(fd) == -1)
		rv = -errno;
	(void)close(fd);
	return rv;
}
