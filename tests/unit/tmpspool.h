/*
 * tmpspool: a unit test's throw-away spool, /tmp/relayd-TAG-XXXXXX with
 * the subdirectories a test names ("tmp", "queue", ...), each 0700.
 * Remove it with tmptree.h.
 */
#ifndef RELAY_TEST_TMPSPOOL_H
#define RELAY_TEST_TMPSPOOL_H

#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Fills dir[len]; returns the spool's fd.  subdirs ends with NULL. */
static inline int
tmpspool_new(char *dir, size_t len, const char *tag, ...)
{
	const char *sub;
	va_list ap;
	int fd;

	assert_true(
	    (size_t)snprintf(dir, len, "/tmp/relayd-%s-XXXXXX", tag) < len);
	assert_non_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	va_start(ap, tag);
	while ((sub = va_arg(ap, const char *)) != NULL)
		assert_int_equal(mkdirat(fd, sub, 0700), 0);
	va_end(ap);
	return fd;
}

#endif /* RELAY_TEST_TMPSPOOL_H */
