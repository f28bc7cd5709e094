/*
 * relayd listeners: the bound, non-blocking TCP sockets the master
 * accepts on. Opened as root at start-up and re-synced on reload.
 */
#ifndef RELAYD_LISTEN_H
#define RELAYD_LISTEN_H

#include <stddef.h>

#include "config.h"

struct listener {
	int fd;
	struct config_listen addr;
};

struct listen_set {
	struct listener l[CONFIG_LISTEN_MAX];
	size_t n;
};

void listen_init(struct listen_set *ls);

/*
 * Make ls listen on exactly cfg's addresses: sockets whose address stays
 * are kept, new ones bound (SO_REUSEADDR, IPV6_V6ONLY), dropped ones
 * closed. All or nothing: on failure ls is unchanged, err says
 * "cannot listen on ADDR: REASON" and -errno is returned.
 */
int listen_update(
    struct listen_set *ls, const struct config *cfg, char *err, size_t errlen);

void listen_close_all(struct listen_set *ls);

/* "127.0.0.1:25, [::1]:25" into buf; 0 or -ENAMETOOLONG. */
int listen_describe(const struct listen_set *ls, char *buf, size_t len);

#endif
