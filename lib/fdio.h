/*
 * fdio: the one write loop everything that must not lose bytes uses
 * (account databases, queue files): retries EINTR and short writes.
 */
#ifndef RELAY_FDIO_H
#define RELAY_FDIO_H

#include <stddef.h>

/* 0 when all len bytes are written, else -errno. */
int fdio_write_all(int fd, const void *buf, size_t len);

#endif
