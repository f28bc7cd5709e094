/*
 * Internals of the relayd.conf parser shared by config.c (the key table
 * and the driver) and config_set.c (one setter per kind of value).
 * Not part of the library's interface: only those two files include it.
 */
#ifndef CONFIG_SET_H
#define CONFIG_SET_H

#include <stddef.h>

#include "config.h"

#define CONFIG_KEYS_MAX 64 /* room in struct parse; config.c asserts it */

enum ktype {
	K_HOST,
	K_USER,
	K_PATH,
	K_OPTPATH,
	K_PIDFILE,
	K_LISTEN,
	K_NETS,
	K_DOMAINS,
	K_SMARTHOST,
	K_RESOLVER,
	K_SIZE,
	K_COUNT,
	K_DURATION,
	K_RETRY,
	K_BOOL,
	K_MILTER,
	K_TLS,
	K_TLSC, /* smtp_tls, smarthost_tls */
	K_TLSVER, /* tls_min_version */
	K_CIPHERS, /* tls_ciphers */
	K_OPTGROUP, /* submit_group: "" or a group name */
	K_OPTHOST, /* masquerade_domain: "" or a host name */
	K_LSENDERS /* local_senders: own or any */
};

struct key {
	const char *name;
	enum ktype type;
	size_t off; /* into struct config */
	size_t len; /* of a string field */
	unsigned long long min, max;
};

struct parse {
	const char *text;
	size_t len, pos;
	size_t line; /* of the line inih is working on */
	int failed; /* err is filled */
	int section; /* [relayd] seen */
	size_t first[CONFIG_KEYS_MAX]; /* line a key was set on, 0 = not yet */
	struct config *c;
	struct config_error *err;
};

int config_perr(struct parse *ps, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *config_shown(const char *s, char *buf, size_t len);
int config_set_string(struct parse *ps, const struct key *k, const char *v);
int config_set_number(struct parse *ps, const struct key *k, const char *v);
int config_set_list(struct parse *ps, const struct key *k, const char *v);
int config_set_tls(struct parse *ps, const struct key *k, const char *v);
int config_set_tlsver(struct parse *ps, const struct key *k, const char *v);
int config_set_tlsc(struct parse *ps, const struct key *k, const char *v);
int config_set_senders(struct parse *ps, const struct key *k, const char *v);

#endif
