/*
 * tmpspool: a unit test's throw-away spool, /tmp/relayd-TAG-XXXXXX with
 * the subdirectories a test names ("tmp", "queue", ...), each 0700, and
 * the one-recipient queue file the queue tests write into it.  Remove it
 * with tmptree.h.
 */
#ifndef RELAY_TEST_TMPSPOOL_H
#define RELAY_TEST_TMPSPOOL_H

#include <sys/stat.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"

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

/* qf: msg[0..size) from <a@example.net> to <b@example.org> (in *r). */
static inline void
tmpspool_sample(
    struct queue_file *qf, struct queue_rcpt *r, char *msg, size_t size)
{
	memset(qf, 0, sizeof(*qf));
	memset(r, 0, sizeof(*r));
	queue_id_new(qf->id);
	qf->arrival = 1700000000;
	strlcpy(qf->client, "192.0.2.1", sizeof(qf->client));
	strlcpy(qf->helo, "client.example", sizeof(qf->helo));
	strlcpy(qf->sender, "<a@example.net>", sizeof(qf->sender));
	strlcpy(r->path, "<b@example.org>", sizeof(r->path));
	qf->rcpt = r;
	qf->nrcpt = 1;
	qf->msg = msg;
	qf->size = size;
}

#endif /* RELAY_TEST_TMPSPOOL_H */
