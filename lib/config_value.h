/*
 * Internal to the config module: the value checks of config_value.c,
 * shared with config.c only.  Not part of the public config API (see
 * config.h).  Parsers return 0 or -errno; valid_* return 1 or 0.
 */
#ifndef RELAY_CONFIG_VALUE_H
#define RELAY_CONFIG_VALUE_H

#include <stddef.h>

struct config;

#define DAY 86400ULL

int config_parse_ull(
    const char *s, size_t n, unsigned long long max, unsigned long long *out);
int config_parse_duration(const char *s, unsigned long long *out);
int config_parse_size(const char *s, unsigned long long *out);
int config_parse_listen(struct config *c, char *s);
int config_parse_net(struct config *c, char *s);
int config_parse_domain(struct config *c, char *s);
int config_parse_milter(struct config *c, char *s);
int config_valid_hostname(const char *s);
int config_valid_path(const char *s);
int config_valid_smarthost(const char *v);
int config_valid_resolver(const char *v);
int config_valid_user(const char *s);

#endif
