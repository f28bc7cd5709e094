/*
 * Socket address formatting (sockaddr.h). The address came from accept()
 * or getpeername(), so the kernel vouches for its family and length.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "sockaddr.h"

void
sockaddr_ntop(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = NULL;

	if (len == 0)
		return;
	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (a == NULL ||
	    inet_ntop(ss->ss_family, a, buf, (socklen_t)len) == NULL)
		(void)strlcpy(buf, "unknown", len);
}
