/*
 * relayd master: the local submission socket (submit_socket) that
 * relayd-sendmail(8) talks SMTP to.
 */
#ifndef RELAYD_MASTER_SUBMIT_H
#define RELAYD_MASTER_SUBMIT_H

#include <stddef.h>

#include "master.h"

/*
 * As root, after the pidfile is ours (a socket left there is stale):
 * bind cfg.submit_socket under m->root, mode 0666 or root:submit_group
 * 0660, into m->submitfd (-1 when the key is empty).  0 or -errno with
 * a one-line reason in err.
 */
int master_submit_open(struct master *m, char *err, size_t errlen);

/* Close the socket; with unlink_it, remove its name too (stop). */
void master_submit_close(struct master *m, int unlink_it);

#endif
