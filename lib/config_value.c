/*
 * relayd.conf values: numbers, sizes, durations, listen addresses, CIDR
 * networks, domains, milters, host, user and path forms.  Pure syntax
 * checks on text from a trusted file, strict anyway; numeric addresses
 * only, never a name lookup.  config.c turns the results into messages.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_value.h"

/* Decimal digits only, no sign, no blanks; -ERANGE above max. */
int
config_parse_ull(
    const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t i;

	if (n == 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (unsigned)(s[i] - '0'), &v))
			return -ERANGE;
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "42", "42s", "5m", "1h", "5d", "2w"; k/M/G sizes (1024-based). */
static int
parse_scaled(const char *s, const char *units, const unsigned long long *mul,
    unsigned long long *out)
{
	size_t n = strlen(s);
	const char *u;
	unsigned long long v;
	int rv;

	if (n > 0 && !isdigit((unsigned char)s[n - 1])) {
		if ((u = strchr(units, s[n - 1])) == NULL)
			return -EINVAL;
		if ((rv = config_parse_ull(s, n - 1, ULLONG_MAX, &v)) != 0)
			return rv;
		if (__builtin_mul_overflow(v, mul[u - units], &v))
			return -ERANGE;
		*out = v;
		return 0;
	}
	return config_parse_ull(s, n, ULLONG_MAX, out);
}

int
config_parse_duration(const char *s, unsigned long long *out)
{
	static const unsigned long long mul[] = { 1, 60, 3600, DAY, 7 * DAY };

	return parse_scaled(s, "smhdw", mul, out);
}

int
config_parse_size(const char *s, unsigned long long *out)
{
	static const unsigned long long mul[] = { 1024, 1024, 1ULL << 20,
		1ULL << 20, 1ULL << 30, 1ULL << 30 };

	return parse_scaled(s, "kKmMgG", mul, out);
}

static int
parse_port(const char *s, in_port_t *port)
{
	unsigned long long v;

	if (config_parse_ull(s, strlen(s), 65535, &v) != 0 || v == 0)
		return -EINVAL;
	*port = htons((in_port_t)v);
	return 0;
}

/* RFC 1123 host name: dot-separated labels of [A-Za-z0-9-], 1..63 each. */
int
config_valid_hostname(const char *s)
{
	size_t i, label = 0, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
		if ((label == 0 && s[i] == '-') || ++label > 63)
			return 0;
	}
	return label > 0 && s[n - 1] != '-';
}

/* Absolute, no blanks or control characters, no "." or ".." component. */
int
config_valid_path(const char *s)
{
	const char *p;

	if (s[0] != '/')
		return 0;
	for (p = s; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			return 0;
	for (p = s; p != NULL; p = strchr(p + 1, '/'))
		if (strncmp(p, "/./", 3) == 0 || strcmp(p, "/.") == 0 ||
		    strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0)
			return 0;
	return 1;
}

static void
set_addr(struct sockaddr_storage *ss, socklen_t *len, int af, const void *addr,
    in_port_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = port;
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		*len = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = port;
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		*len = sizeof(*sin6);
	}
}

static int
add_listen(struct config *c, int af, const void *addr, in_port_t port)
{
	struct config_listen *l;
	char a[INET6_ADDRSTRLEN];
	size_t i;
	int n;

	if (c->nlisten >= CONFIG_LISTEN_MAX)
		return -E2BIG;
	l = &c->listen[c->nlisten];
	set_addr(&l->ss, &l->len, af, addr, port);
	if (inet_ntop(af, addr, a, sizeof(a)) == NULL)
		return -EINVAL;
	n = snprintf(l->text, sizeof(l->text),
	    af == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ntohs(port));
	if (n < 0 || (size_t)n >= sizeof(l->text))
		return -ENAMETOOLONG;
	for (i = 0; i < c->nlisten; i++)
		if (strcmp(c->listen[i].text, l->text) == 0)
			return -EEXIST;
	c->nlisten++;
	return 0;
}

/*
 * "ADDR:PORT", "[V6]:PORT" or "*:PORT" (then 0: both families); numeric
 * only, never a name lookup. Returns the family, 0 or -EINVAL.
 */
static int
split_hostport(char *s, unsigned char *a, in_port_t *port)
{
	char *colon;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -EINVAL;
		*colon = '\0';
		if (parse_port(colon + 2, port) != 0 ||
		    inet_pton(AF_INET6, s + 1, a) != 1)
			return -EINVAL;
		return AF_INET6;
	}
	if ((colon = strchr(s, ':')) == NULL || strchr(colon + 1, ':') != NULL)
		return -EINVAL;
	*colon = '\0';
	if (parse_port(colon + 1, port) != 0)
		return -EINVAL;
	if (strcmp(s, "*") == 0)
		return 0;
	return inet_pton(AF_INET, s, a) == 1 ? AF_INET : -EINVAL;
}

int
config_parse_listen(struct config *c, char *s)
{
	unsigned char a[sizeof(struct in6_addr)] = { 0 };
	in_port_t port;
	int af, rv;

	if ((af = split_hostport(s, a, &port)) < 0)
		return af;
	if (af != 0)
		return add_listen(c, af, a, port);
	if ((rv = add_listen(c, AF_INET, a, port)) != 0)
		return rv;
	return add_listen(c, AF_INET6, a, port);
}

/*
 * "10.0.0.0/8", "::1/128", "192.0.2.7" (a host); host bits must be 0.
 * IPv4-mapped networks are stored as the IPv4 network they stand for.
 */
int
config_parse_net(struct config *c, char *s)
{
	unsigned char a[sizeof(struct in6_addr)];
	unsigned long long prefix;
	struct config_net *n;
	socklen_t len;
	char *slash;
	int af, bits, i;

	if (c->nrelay_from >= CONFIG_NET_MAX)
		return -E2BIG;
	if ((slash = strchr(s, '/')) != NULL)
		*slash++ = '\0';
	af = strchr(s, ':') != NULL ? AF_INET6 : AF_INET;
	bits = af == AF_INET ? 32 : 128;
	if (inet_pton(af, s, a) != 1)
		return -EINVAL;
	prefix = (unsigned long long)bits;
	if (slash != NULL &&
	    config_parse_ull(slash, strlen(slash), bits, &prefix))
		return -EINVAL;
	if (af == AF_INET6 && IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		/* Clients are matched as IPv4: so is ::ffff:0:0/96. */
		if (prefix < 96)
			return -ERANGE;
		memmove(a, a + 12, 4);
		af = AF_INET;
		bits = 32;
		prefix -= 96;
	}
	if (prefix == 0)
		return -EPERM; /* everybody: an open relay */
	for (i = (int)prefix; i < bits; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return -EDOM;
	n = &c->relay_from[c->nrelay_from++];
	set_addr(&n->addr, &len, af, a, 0);
	n->prefix = (int)prefix;
	return 0;
}

int
config_parse_domain(struct config *c, char *s)
{
	size_t i, n = strlen(s);

	if (c->nrelay_domains >= CONFIG_DOMAIN_MAX)
		return -E2BIG;
	if (n > 1 && s[n - 1] == '.')
		s[--n] = '\0';
	if (!config_valid_hostname(s) || strchr(s, '.') == NULL)
		return -EINVAL;
	for (i = 0; i < n; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	if (strlcpy(c->relay_domains[c->nrelay_domains], s,
		sizeof(c->relay_domains[0])) >= sizeof(c->relay_domains[0]))
		return -ENAMETOOLONG;
	c->nrelay_domains++;
	return 0;
}

/* "host", "host:port", "[host]", "[host]:port", "[v4]", "[v6]:port". */
int
config_valid_smarthost(const char *v)
{
	char host[300], *p;
	unsigned char a[sizeof(struct in6_addr)];
	in_port_t port;
	int bracket = v[0] == '[';

	if (strlcpy(host, v + bracket, sizeof(host)) >= sizeof(host))
		return 0;
	if (bracket) {
		if ((p = strchr(host, ']')) == NULL)
			return 0;
		*p++ = '\0';
		if (*p != '\0' && (*p != ':' || parse_port(p + 1, &port)))
			return 0;
		return config_valid_hostname(host) ||
		    inet_pton(AF_INET, host, a) || inet_pton(AF_INET6, host, a);
	}
	if ((p = strchr(host, ':')) != NULL) {
		*p++ = '\0';
		if (parse_port(p, &port) != 0)
			return 0;
	}
	return config_valid_hostname(host);
}

/* "ADDR", bare IPv6, "ADDR:PORT" or "[V6]:PORT"; numeric only. */
int
config_valid_resolver(const char *v)
{
	unsigned char a[sizeof(struct in6_addr)];
	in_port_t port;
	char s[64];

	if (inet_pton(AF_INET, v, a) == 1 || inet_pton(AF_INET6, v, a) == 1)
		return 1;
	if (strlcpy(s, v, sizeof(s)) >= sizeof(s))
		return 0;
	return split_hostport(s, a, &port) > 0;
}

/* Login-name characters, at most 32; never root. */
int
config_valid_user(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 32 || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("_.-", s[i]) == NULL)
			return 0;
	return 1;
}

/* A pidfile lives in the run directory and says so by its name. */
int
config_valid_pidfile(const char *s)
{
	const char *base = strrchr(s, '/') + 1;
	size_t n = strlen(base);

	if (strncmp(s, "/run/", 5) != 0 && strncmp(s, "/var/run/", 9) != 0)
		return 0;
	return n > 4 && strcmp(base + n - 4, ".pid") == 0;
}
