/*
 * The one formatter of socket addresses for log lines, process titles and
 * Received: fields: numeric, no port, no name lookup.
 */
#ifndef RELAY_SOCKADDR_H
#define RELAY_SOCKADDR_H

#include <sys/socket.h>
#include <stddef.h>

/*
 * Numeric address of ss (no port) into buf, e.g. "192.0.2.1" or
 * "2001:db8::1"; "unknown" for another family or a buffer too small.
 */
void sockaddr_ntop(const struct sockaddr_storage *ss, char *buf, size_t len);

#endif
