/*
 * relayd.conf milter items: "unix:/path" or "inet:PORT@ADDR" (numeric
 * address: the children never look a name up), optionally followed by
 * "{default=accept, connect_timeout=5s, command_timeout=30s,
 * eom_timeout=5m}".  Unset options are filled in from the milter_* keys
 * after the last line (config.c).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_value.h"

int
config_parse_milter_action(const char *s)
{
	if (strcmp(s, "tempfail") == 0)
		return CONFIG_MILTER_TEMPFAIL;
	if (strcmp(s, "accept") == 0)
		return CONFIG_MILTER_ACCEPT;
	if (strcmp(s, "reject") == 0)
		return CONFIG_MILTER_REJECT;
	return -EINVAL;
}

/* "PORT@ADDR": a port 1..65535 and a numeric IPv4 or IPv6 address. */
static int
inet_valid(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	unsigned long long port;
	const char *at = strchr(s, '@');

	if (at == NULL ||
	    config_parse_ull(s, (size_t)(at - s), 65535, &port) != 0 ||
	    port == 0)
		return 0;
	return inet_pton(AF_INET, at + 1, a) == 1 ||
	    inet_pton(AF_INET6, at + 1, a) == 1;
}

/* One "name=value" of the options; -EINVAL if unknown or bad. */
static int
milter_option(struct config_milter *m, const char *name, const char *v)
{
	unsigned long long d;
	unsigned *dst;

	if (strcmp(name, "default") == 0) {
		if ((m->action = config_parse_milter_action(v)) < 0)
			return -EINVAL;
		return 0;
	}
	if (strcmp(name, "connect_timeout") == 0)
		dst = &m->connect_timeout;
	else if (strcmp(name, "command_timeout") == 0)
		dst = &m->command_timeout;
	else if (strcmp(name, "eom_timeout") == 0)
		dst = &m->eom_timeout;
	else
		return -EINVAL;
	if (config_parse_duration(v, &d) != 0 || d < 1 || d > 3600)
		return -EINVAL;
	*dst = (unsigned)d;
	return 0;
}

/* "{a=b, c=d}" with the braces removed, into m; s is modified. */
static int
milter_options(struct config_milter *m, char *s)
{
	char *item, *eq;

	while ((item = strsep(&s, ", \t")) != NULL) {
		if (*item == '\0')
			continue;
		if ((eq = strchr(item, '=')) == NULL)
			return -EINVAL;
		*eq = '\0';
		if (milter_option(m, item, eq + 1) != 0)
			return -EINVAL;
	}
	return 0;
}

int
config_parse_milter(struct config *c, char *s)
{
	struct config_milter m = { .action = -1 };
	char *brace = strchr(s, '{');
	size_t n;

	if (c->nmilter >= CONFIG_MILTER_MAX)
		return -E2BIG;
	if (brace != NULL) {
		n = strlen(brace);
		if (brace[n - 1] != '}')
			return -EINVAL;
		brace[n - 1] = '\0';
		*brace++ = '\0';
		if (milter_options(&m, brace) != 0)
			return -EINVAL;
	}
	if (strncmp(s, "unix:", 5) == 0       ? !config_valid_path(s + 5)
		: strncmp(s, "inet:", 5) == 0 ? !inet_valid(s + 5)
					      : 1)
		return -EINVAL;
	if (strlcpy(m.socket, s, sizeof(m.socket)) >= sizeof(m.socket))
		return -ENAMETOOLONG;
	c->milter[c->nmilter++] = m;
	return 0;
}
