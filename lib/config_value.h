/*
 * Internal to the config module: the value checks of config_value.c,
 * shared with config.c only.  Not part of the public config API (see
 * config.h).  Parsers return 0 or -errno; valid_* return 1 or 0.
 */
#ifndef RELAY_CONFIG_VALUE_H
#define RELAY_CONFIG_VALUE_H

#include <stddef.h>
#include <stdint.h>

struct config;

#define DAY 86400ULL

int config_parse_ull(
    const char *s, size_t n, unsigned long long max, unsigned long long *out);
int config_parse_duration(const char *s, unsigned long long *out);
int config_parse_size(const char *s, unsigned long long *out);
int config_parse_listen(struct config *c, char *s);
int config_parse_net(struct config *c, char *s);
int config_parse_domain(struct config *c, char *s);
/* config_milter.c: a milter item with its {options}; an action name. */
int config_parse_milter(struct config *c, char *s);
int config_parse_milter_action(const char *s);
int config_valid_hostname(const char *s);
int config_valid_path(const char *s);
/* Absolute, under /run/ or /var/run/, named *.pid (after valid_path). */
int config_valid_pidfile(const char *s);
int config_valid_smarthost(const char *v);
int config_valid_resolver(const char *v);
int config_valid_user(const char *s);

/* relay_from may cover at most a /8 worth of public IPv4 addresses ... */
#define CONFIG_NET_PUBLIC_V4_MAX (1ULL << 24)
/* ... and no IPv6 network inside 2000::/3 shorter than /16. */
#define CONFIG_NET_V6_PREFIX_MIN 16

/* Public (not RFC 6890 special, not multicast) IPv4 addresses in the union
 * of c's relay_from networks. */
uint64_t config_nets_public_v4(const struct config *c);
/* 0, or -EPERM with why set when relay_from adds up to an open relay. */
int config_nets_check(const struct config *c, char *why, size_t len);

#endif
