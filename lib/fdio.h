/*
 * fdio: the write and sync steps everything that must not lose bytes
 * uses (account databases, queue files).
 */
#ifndef RELAY_FDIO_H
#define RELAY_FDIO_H

#include <stddef.h>

/* 0 when all len bytes are written, else -errno. */
int fdio_write_all(int fd, const void *buf, size_t len);

/* fsync the directory name under dirfd (after a rename into it). */
int fdio_sync_dir(int dirfd, const char *name);

#endif
