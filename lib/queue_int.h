/*
 * Internals shared by the queue files of lib/ (queue_body.c, queue_msg.c):
 * not for programs, which use queue.h.
 */
#ifndef RELAY_QUEUE_INT_H
#define RELAY_QUEUE_INT_H

#include <sys/types.h>

#include <stddef.h>

/*
 * Copy len octets of the file in from offset off to out (at its offset):
 * copy_file_range(2), or, where the kernel cannot (another filesystem),
 * pread and write through buf[0..buflen) (NULL: a QUEUE_MSG_CHUNK buffer
 * of its own).  Returns 0, -EIO if in ends early (it shrank under us),
 * or -errno.
 */
int queue_copy_range(
    int in, off_t off, size_t len, int out, char *buf, size_t buflen);

#endif /* RELAY_QUEUE_INT_H */
