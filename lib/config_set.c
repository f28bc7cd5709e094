/*
 * The setters of the relayd.conf parser: one per kind of value (string,
 * number, list, TLS policy). Each checks its value fully (with
 * config_value.c) and reports the first error through config_perr, which
 * names the key; config.c owns the key table and the line numbers.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config_set.h"
#include "config_value.h"

#define TOKEN_MAX 4200 /* longest list item: "unix:" + a 4090-byte path */

/* Error text is for humans: a too-long message is cut, not refused. */
int __attribute__((format(printf, 3, 4)))
config_perr(struct parse *ps, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (ps->failed)
		return 0;
	ps->failed = 1;
	ps->err->line = ps->line;
	(void)strlcpy(ps->err->key, key, sizeof(ps->err->key));
	va_start(ap, fmt);
	(void)vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/* A value for quoting in an error: printable ASCII only, at most 48 bytes. */
const char *
config_shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 4 < len && i < 48; i++)
		buf[i] = isprint((unsigned char)s[i]) ? s[i] : '?';
	if (s[i] != '\0' && i + 4 <= len) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

int
config_set_string(struct parse *ps, const struct key *k, const char *v)
{
	char *dst = (char *)ps->c + k->off, q[64];
	int ok;

	switch (k->type) {
	case K_HOST:
		ok = config_valid_hostname(v);
		break;
	case K_USER:
		if (strcmp(v, "root") == 0)
			return config_perr(
			    ps, k->name, "refusing to run as root");
		ok = config_valid_user(v);
		break;
	case K_PIDFILE:
		/* relayd (root) truncates and removes this file. */
		ok = config_valid_path(v);
		if (ok && !config_valid_pidfile(v))
			return config_perr(ps, k->name,
			    "'%s' is not a '*.pid' file in /run or /var/run",
			    config_shown(v, q, sizeof(q)));
		break;
	case K_PATH:
		ok = config_valid_path(v);
		break;
	case K_OPTPATH:
		ok = v[0] == '\0' || config_valid_path(v);
		break;
	case K_SMARTHOST:
		ok = v[0] == '\0' || config_valid_smarthost(v);
		break;
	case K_OPTGROUP:
		ok = v[0] == '\0' || config_valid_user(v);
		break;
	case K_OPTHOST:
		ok = v[0] == '\0' || config_valid_hostname(v);
		break;
	case K_CIPHERS:
		/* OpenSSL's cipher-list syntax; the master tries it on load. */
		ok = v[0] != '\0' &&
		    strspn(v,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789:+-!@=_.") == strlen(v);
		break;
	default: /* K_RESOLVER */
		ok = v[0] == '\0' || config_valid_resolver(v);
		break;
	}
	if (!ok)
		return config_perr(ps, k->name, "invalid value '%s'",
		    config_shown(v, q, sizeof(q)));
	if (strlcpy(dst, v, k->len) >= k->len)
		return config_perr(
		    ps, k->name, "value too long (max %zu bytes)", k->len - 1);
	return 1;
}

int
config_set_number(struct parse *ps, const struct key *k, const char *v)
{
	unsigned long long n;
	char q[64];
	void *dst = (char *)ps->c + k->off;
	int rv;

	if (k->type == K_BOOL) {
		if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
		    !strcasecmp(v, "on") || !strcmp(v, "1"))
			n = 1;
		else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
		    !strcasecmp(v, "off") || !strcmp(v, "0"))
			n = 0;
		else
			return config_perr(ps, k->name,
			    "want yes or no, not '%s'",
			    config_shown(v, q, sizeof(q)));
		*(int *)dst = (int)n;
		return 1;
	}
	if (k->type == K_SIZE)
		rv = config_parse_size(v, &n);
	else if (k->type == K_DURATION)
		rv = config_parse_duration(v, &n);
	else
		rv = config_parse_ull(v, strlen(v), ULLONG_MAX, &n);
	if (rv == -EINVAL)
		return config_perr(ps, k->name, "invalid %s '%s'",
		    k->type == K_SIZE ? "size (want N, Nk, NM or NG)"
			: k->type == K_DURATION
			? "duration (want N, Ns, Nm, Nh, Nd or Nw)"
			: "number",
		    config_shown(v, q, sizeof(q)));
	if (rv != 0 || n < k->min || n > k->max)
		return config_perr(ps, k->name,
		    "'%s' out of range (%llu to %llu%s)",
		    config_shown(v, q, sizeof(q)), k->min, k->max,
		    k->type == K_DURATION   ? " seconds"
			: k->type == K_SIZE ? " bytes"
					    : "");
	if (k->type == K_DURATION)
		*(unsigned *)dst = (unsigned)n;
	else
		*(size_t *)dst = (size_t)n;
	return 1;
}

/* Next item of a comma- or blank-separated list, or NULL at the end. */
static const char *
next_item(const char *p, char *tok, size_t len, size_t *n)
{
	p += strspn(p, ", \t");
	if (*p == '\0')
		return NULL;
	*n = strcspn(p, ", \t");
	if (*n < len) {
		memcpy(tok, p, *n);
		tok[*n] = '\0';
	}
	return p + *n;
}

static int
list_err(struct parse *ps, const struct key *k, int rv, const char *tok)
{
	char q[64];

	config_shown(tok, q, sizeof(q));
	switch (rv) {
	case -E2BIG:
		return config_perr(ps, k->name, "too many items (max %d)",
		    k->type == K_LISTEN        ? CONFIG_LISTEN_MAX
			: k->type == K_NETS    ? CONFIG_NET_MAX
			: k->type == K_DOMAINS ? CONFIG_DOMAIN_MAX
					       : CONFIG_MILTER_MAX);
	case -EEXIST:
		return config_perr(ps, k->name, "'%s' listed twice", q);
	case -EPERM:
		return config_perr(ps, k->name,
		    "'%s' matches every address: an "
		    "open relay",
		    q);
	case -EDOM:
		return config_perr(
		    ps, k->name, "'%s' has bits set beyond the prefix", q);
	case -ERANGE:
		return config_perr(ps, k->name,
		    "'%s': an IPv4-mapped network needs a prefix of 96 or more",
		    q);
	}
	switch (k->type) {
	case K_LISTEN:
		return config_perr(ps, k->name,
		    "invalid address '%s' (want ADDR:PORT,"
		    " [V6]:PORT or *:PORT, /tls or /starttls)",
		    q);
	case K_NETS:
		return config_perr(ps, k->name,
		    "invalid network '%s' (want "
		    "ADDR/PREFIX)",
		    q);
	case K_DOMAINS:
		return config_perr(ps, k->name, "invalid domain '%s'", q);
	default:
		return config_perr(ps, k->name,
		    "invalid milter '%s' (want "
		    "unix:/absolute/path)",
		    q);
	}
}

/*
 * A listen item: "ADDR:PORT", "ADDR:PORT/tls" for implicit TLS, or
 * "ADDR:PORT/starttls" for a listener that requires STARTTLS.
 */
static int
listen_item(struct config *c, char *s)
{
	size_t len = strlen(s), from = c->nlisten;
	int tls = CONFIG_LISTEN_PLAIN, rv;

	if (len > 4 && strcmp(s + len - 4, "/tls") == 0) {
		s[len - 4] = '\0';
		tls = CONFIG_LISTEN_IMPLICIT;
	} else if (len > 9 && strcmp(s + len - 9, "/starttls") == 0) {
		s[len - 9] = '\0';
		tls = CONFIG_LISTEN_STARTTLS;
	}
	if ((rv = config_parse_listen(c, s)) != 0)
		return rv;
	for (; from < c->nlisten; from++)
		c->listen[from].tls = tls;
	return 0;
}

int
config_set_list(struct parse *ps, const struct key *k, const char *v)
{
	struct config *c = ps->c;
	char tok[TOKEN_MAX], work[TOKEN_MAX], why[160];
	unsigned long long d[2];
	size_t n, count = 0;
	int rv = 0;

	if (k->type == K_LISTEN)
		c->nlisten = 0;
	else if (k->type == K_NETS)
		c->nrelay_from = 0;
	else if (k->type == K_DOMAINS)
		c->nrelay_domains = 0;
	else if (k->type == K_MILTER)
		c->nmilter = 0;
	while ((v = next_item(v, tok, sizeof(tok), &n)) != NULL) {
		if (n >= sizeof(tok))
			return config_perr(ps, k->name, "item too long");
		memcpy(work, tok, n + 1);
		if (k->type == K_LISTEN)
			rv = listen_item(c, work);
		else if (k->type == K_NETS)
			rv = config_parse_net(c, work);
		else if (k->type == K_DOMAINS)
			rv = config_parse_domain(c, work);
		else if (k->type == K_MILTER)
			rv = config_parse_milter(c, work);
		else if (count >= 2 ||
		    config_parse_duration(tok, &d[count]) != 0 ||
		    d[count] < k->min || d[count] > k->max)
			return config_perr(ps, k->name,
			    "want two durations (1s to "
			    "30d), minimum and maximum delay");
		if (rv != 0)
			return list_err(ps, k, rv, tok);
		count++;
	}
	if (k->type == K_LISTEN && count == 0)
		return config_perr(ps, k->name, "needs at least one address");
	if (k->type == K_NETS && config_nets_check(c, why, sizeof(why)) != 0)
		return config_perr(ps, k->name, "%s", why);
	if (k->type == K_RETRY) {
		if (count != 2 || d[0] > d[1])
			return config_perr(ps, k->name,
			    "want two durations, minimum "
			    "then maximum delay");
		c->retry_min = (unsigned)d[0];
		c->retry_max = (unsigned)d[1];
	}
	return 1;
}

int
config_set_tls(struct parse *ps, const struct key *k, const char *v)
{
	char q[64];

	if (strcmp(v, "none") == 0)
		ps->c->tls = CONFIG_TLS_NONE;
	else if (strcmp(v, "may") == 0)
		ps->c->tls = CONFIG_TLS_MAY;
	else if (strcmp(v, "encrypt") == 0)
		ps->c->tls = CONFIG_TLS_ENCRYPT;
	else
		return config_perr(ps, k->name,
		    "want none, may or encrypt, not '%s'",
		    config_shown(v, q, sizeof(q)));
	return 1;
}

/* tls_min_version: the oldest protocol STARTTLS and /tls accept. */
int
config_set_tlsver(struct parse *ps, const struct key *k, const char *v)
{
	char q[64];

	if (strcmp(v, "TLSv1.2") == 0)
		ps->c->tls_min_version = 12;
	else if (strcmp(v, "TLSv1.3") == 0)
		ps->c->tls_min_version = 13;
	else
		return config_perr(ps, k->name,
		    "want TLSv1.2 or TLSv1.3, not '%s'",
		    config_shown(v, q, sizeof(q)));
	return 1;
}

/* smtp_tls, smarthost_tls (min 1: "wrapper" allowed). */
int
config_set_tlsc(struct parse *ps, const struct key *k, const char *v)
{
	static const char *const names[] = { "none", "may", "encrypt", "verify",
		"wrapper" };
	enum config_tlsc *dst = (enum config_tlsc *)((char *)ps->c + k->off);
	size_t i, n = k->min ? 5 : 4;
	char q[64];

	for (i = 0; i < n; i++)
		if (strcmp(v, names[i]) == 0) {
			*dst = (enum config_tlsc)i;
			return 1;
		}
	return config_perr(ps, k->name,
	    "want none, may, encrypt, verify%s, not '%s'",
	    k->min ? " or wrapper" : "", config_shown(v, q, sizeof(q)));
}

/* local_senders: what a local (non-root) user may give as its sender. */
int
config_set_senders(struct parse *ps, const struct key *k, const char *v)
{
	char q[64];

	if (strcmp(v, "own") == 0)
		ps->c->local_senders_any = 0;
	else if (strcmp(v, "any") == 0)
		ps->c->local_senders_any = 1;
	else
		return config_perr(ps, k->name, "want own or any, not '%s'",
		    config_shown(v, q, sizeof(q)));
	return 1;
}
