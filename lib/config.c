/*
 * relayd.conf parser. The file is trusted (root-owned, not writable by the
 * relay group) but still validated strictly: every value is checked (by
 * config_value.c) so that relayd never sees a half-valid setting, and every
 * error names file:line: key. libinih splits lines; we feed it and count.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "config_set.h"
#include "config_value.h"
#include "queue.h"
#include "readfile.h"

#define STR(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)
#define NUM(f) offsetof(struct config, f), 0

static const struct key keys[] = {
	{ "hostname", K_HOST, STR(hostname), 0, 0 },
	{ "run_as", K_USER, STR(run_as), 0, 0 },
	{ "spool", K_PATH, STR(spool), 0, 0 },
	{ "listen", K_LISTEN, 0, 0, 0, 0 },
	{ "relay_from", K_NETS, 0, 0, 0, 0 },
	{ "relay_domains", K_DOMAINS, 0, 0, 0, 0 },
	{ "relay_recipients", K_OPTPATH, STR(relay_recipients), 0, 0 },
	{ "smarthost", K_SMARTHOST, STR(smarthost), 0, 0 },
	{ "resolver", K_RESOLVER, STR(resolver), 0, 0 },
	{ "transport", K_OPTPATH, STR(transport_file), 0, 0 },
	/* A message and its lines, capped by what the queue reader takes. */
	{ "max_message_size", K_SIZE, NUM(max_message_size), 1,
	    QUEUE_MSG_SIZE_MAX },
	{ "max_line_length", K_SIZE, NUM(max_line_length), 1000,
	    QUEUE_MSG_SIZE_MAX },
	{ "max_recipients", K_COUNT, NUM(max_recipients), 1, 100000 },
	{ "max_children", K_COUNT, NUM(max_children), 1, 100000 },
	{ "max_per_ip", K_COUNT, NUM(max_per_ip), 1, 100000 },
	/* Sessions per SMTP child and its idle seconds (server pool). */
	{ "max_use", K_COUNT, NUM(max_use), 1, 100000 },
	{ "max_idle", K_DURATION, NUM(max_idle), 1, 3600 },
	{ "max_hops", K_COUNT, NUM(max_hops), 1, 1000 },
	{ "greet_pause", K_DURATION, NUM(greet_pause), 0, 60 },
	{ "timeout_greeting", K_DURATION, NUM(timeout_greeting), 1, DAY },
	{ "timeout_command", K_DURATION, NUM(timeout_command), 1, DAY },
	{ "timeout_data_init", K_DURATION, NUM(timeout_data_init), 1, DAY },
	{ "timeout_data_block", K_DURATION, NUM(timeout_data_block), 1, DAY },
	{ "timeout_data_term", K_DURATION, NUM(timeout_data_term), 1, DAY },
	{ "session_deadline", K_DURATION, NUM(session_deadline), 0, DAY },
	{ "min_data_rate", K_SIZE, NUM(min_data_rate), 0, 1ULL << 30 },
	{ "max_conn_rate", K_COUNT, NUM(max_conn_rate), 0, 100000 },
	{ "stress_timeout", K_DURATION, NUM(stress_timeout), 0, 3600 },
	{ "queue_lifetime", K_DURATION, NUM(queue_lifetime), 1, 365 * DAY },
	{ "max_per_hop", K_COUNT, NUM(max_per_hop), 1, CONFIG_WORKERS_MAX },
	{ "retry", K_RETRY, 0, 0, 1, 30 * DAY },
	{ "chroot", K_BOOL, NUM(chroot), 0, 1 },
	{ "pidfile", K_PIDFILE, STR(pidfile), 0, 0 },
	{ "milter", K_MILTER, 0, 0, 0, 0 },
	{ "milter_default_action", K_MILTER_ACTION, NUM(milter_default_action),
	    0, 0 },
	{ "milter_connect_timeout", K_DURATION, NUM(milter_connect_timeout), 1,
	    3600 },
	{ "milter_command_timeout", K_DURATION, NUM(milter_command_timeout), 1,
	    3600 },
	{ "milter_eom_timeout", K_DURATION, NUM(milter_eom_timeout), 1, 3600 },
	{ "tls_cert", K_OPTPATH, STR(tls_cert), 0, 0 },
	{ "tls_key", K_OPTPATH, STR(tls_key), 0, 0 },
	{ "tls", K_TLS, NUM(tls), 0, 0 },
	{ "tls_min_version", K_TLSVER, NUM(tls_min_version), 0, 0 },
	{ "tls_ciphers", K_CIPHERS, STR(tls_ciphers), 0, 0 },
	/* SMTP AUTH for clients (relayd.conf(5), AUTHENTICATION). */
	{ "auth_users", K_OPTPATH, STR(auth_users), 0, 0 },
	/* At most 31: a session reports its failures in its exit status. */
	{ "auth_max_failures", K_COUNT, NUM(auth_max_failures), 1, 31 },
	{ "auth_failure_window", K_DURATION, NUM(auth_failure_window), 0, DAY },
	{ "auth_senders", K_OPTPATH, STR(auth_senders), 0, 0 },
	/* Delivery: TLS and AUTH to the next hop (relayd.conf(5)). */
	{ "smtp_tls", K_TLSC, NUM(smtp_tls), 0, 0 },
	{ "smtp_tls_ca_file", K_OPTPATH, STR(smtp_tls_ca_file), 0, 0 },
	{ "smarthost_tls", K_TLSC, NUM(smarthost_tls), 1, 0 },
	{ "smarthost_auth", K_OPTPATH, STR(smarthost_auth), 0, 0 },
	/* Local submission (relayd.conf(5), LOCAL SUBMISSION). */
	{ "submit_socket", K_OPTPATH, STR(submit_socket), 0, 0 },
	{ "submit_group", K_OPTGROUP, STR(submit_group), 0, 0 },
	{ "local_senders", K_LSENDERS, NUM(local_senders_any), 0, 0 },
	{ "masquerade_domain", K_OPTHOST, STR(masquerade_domain), 0, 0 },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(NKEYS <= CONFIG_KEYS_MAX, "struct parse too small");

/* The line key name was set on, 0 if it was not. */
static size_t
key_line(const struct parse *ps, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return ps->first[i];
	return 0;
}

static int
tls_err(struct parse *ps, const char *key, const char *msg)
{
	ps->line = key_line(ps, key);
	return config_perr(ps, key, "%s", msg);
}

/*
 * After the last line: the TLS keys go together.  A certificate needs its
 * key, and STARTTLS or a /tls listener needs both; "tls" defaults to may
 * when they are set.
 */
static void
tls_finish(struct parse *ps)
{
	struct config *c = ps->c;
	int cert = c->tls_cert[0] != '\0', key = c->tls_key[0] != '\0';
	size_t i;

	if (cert && !key)
		(void)tls_err(ps, "tls_cert", "needs tls_key as well");
	else if (key && !cert)
		(void)tls_err(ps, "tls_key", "needs tls_cert as well");
	if (key_line(ps, "tls") == 0)
		c->tls = cert && key ? CONFIG_TLS_MAY : CONFIG_TLS_NONE;
	else if (c->tls != CONFIG_TLS_NONE && !(cert && key))
		(void)tls_err(ps, "tls", "needs tls_cert and tls_key");
	if (!(cert && key) && key_line(ps, "tls_min_version") != 0)
		(void)tls_err(
		    ps, "tls_min_version", "needs tls_cert and tls_key");
	if (!(cert && key) && key_line(ps, "tls_ciphers") != 0)
		(void)tls_err(ps, "tls_ciphers", "needs tls_cert and tls_key");
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].tls && !(cert && key)) {
			(void)tls_err(ps, "listen",
			    "a /tls or /starttls listener needs tls_cert and "
			    "tls_key");
			break;
		}
}

/* AUTH is only offered over TLS: a credentials file needs the keys. */
static void
auth_finish(struct parse *ps)
{
	const struct config *c = ps->c;

	if (c->auth_users[0] != '\0' && c->tls_cert[0] == '\0')
		(void)tls_err(ps, "auth_users",
		    "needs TLS (tls_cert and tls_key): AUTH is never offered "
		    "in clear text");
	else if (c->auth_senders[0] != '\0' && c->auth_users[0] == '\0')
		(void)tls_err(ps, "auth_senders", "needs auth_users");
}

/* submit_group names the group of a socket: it needs the socket. */
static void
submit_finish(struct parse *ps)
{
	const struct config *c = ps->c;

	if (c->submit_group[0] != '\0' && c->submit_socket[0] == '\0')
		(void)tls_err(ps, "submit_group", "needs submit_socket");
}

/*
 * After the last line: smarthost_tls defaults to smtp_tls; credentials
 * need a smarthost and a policy that can encrypt (they never go in clear).
 */
static void
tlsc_finish(struct parse *ps)
{
	struct config *c = ps->c;

	if (key_line(ps, "smarthost_tls") == 0)
		c->smarthost_tls = c->smtp_tls;
	if (c->smarthost_auth[0] == '\0')
		return;
	if (c->smarthost[0] == '\0')
		(void)tls_err(ps, "smarthost_auth", "needs a smarthost");
	else if (c->smarthost_tls == CONFIG_TLSC_NONE)
		(void)tls_err(ps, "smarthost_auth",
		    "credentials are only sent over TLS: smarthost_tls "
		    "must not be none");
}

/*
 * After the last line: a milter's unset options take the milter_* keys;
 * a chrooted child cannot reach a unix socket outside the spool.
 */
static void
milter_finish(struct parse *ps)
{
	struct config *c = ps->c;
	struct config_milter *m;
	size_t i;

	for (i = 0; i < c->nmilter; i++) {
		m = &c->milter[i];
		if (m->action == -1)
			m->action = c->milter_default_action;
		if (m->connect_timeout == 0)
			m->connect_timeout = c->milter_connect_timeout;
		if (m->command_timeout == 0)
			m->command_timeout = c->milter_command_timeout;
		if (m->eom_timeout == 0)
			m->eom_timeout = c->milter_eom_timeout;
		if (c->chroot && strncmp(m->socket, "unix:", 5) == 0)
			(void)tls_err(ps, "milter",
			    "a unix: socket is out of reach of chrooted "
			    "children (chroot = yes): use inet:PORT@ADDR");
	}
}

static int
on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct parse *ps = user;
	const struct key *k;
	char q[64];
	size_t i;

	config_shown(name, q, sizeof(q));
	if (strcmp(section, "relayd") != 0)
		return config_perr(ps, q, "outside the [relayd] section");
	for (i = 0; i < NKEYS && strcmp(keys[i].name, name) != 0; i++)
		;
	if (i == NKEYS)
		return config_perr(ps, q, "unknown key");
	if (ps->first[i] != 0)
		return config_perr(ps, q,
		    "duplicate key (first set on line %zu)", ps->first[i]);
	ps->first[i] = ps->line;
	k = &keys[i];
	switch (k->type) {
	case K_LISTEN:
	case K_NETS:
	case K_DOMAINS:
	case K_MILTER:
	case K_RETRY:
		return config_set_list(ps, k, value);
	case K_SIZE:
	case K_COUNT:
	case K_DURATION:
	case K_BOOL:
		return config_set_number(ps, k, value);
	case K_TLS:
		return config_set_tls(ps, k, value);
	case K_TLSC:
		return config_set_tlsc(ps, k, value);
	case K_TLSVER:
		return config_set_tlsver(ps, k, value);
	case K_LSENDERS:
		return config_set_senders(ps, k, value);
	case K_MILTER_ACTION:
		return config_set_milter_action(ps, k, value);
	default:
		return config_set_string(ps, k, value);
	}
}

/* Only [relayd], once; inih never tells us about empty sections. */
static int
check_section(struct parse *ps, const char *line)
{
	const char *p = line + strspn(line, " \t"), *end;
	char q[64], name[64];

	if (*p != '[' || (end = strchr(p, ']')) == NULL)
		return 0;
	if ((size_t)(end - p) > sizeof(name) - 1)
		end = p + sizeof(name) - 1;
	memcpy(name, p + 1, (size_t)(end - p - 1));
	name[end - p - 1] = '\0';
	if (strcmp(name, "relayd") != 0)
		return config_perr(ps, "",
			   "unknown section [%s] (only [relayd])",
			   config_shown(name, q, sizeof(q))) -
		    1;
	if (ps->section)
		return config_perr(ps, "", "second [relayd] section") - 1;
	ps->section = 1;
	return 0;
}

/* inih's fgets-style reader: one line per call, so ps->line is exact. */
static char *
read_line(char *buf, int num, void *arg)
{
	struct parse *ps = arg;
	const char *start, *nl;
	size_t n;

	if (ps->failed || ps->pos >= ps->len)
		return NULL;
	start = ps->text + ps->pos;
	nl = memchr(start, '\n', ps->len - ps->pos);
	n = nl != NULL ? (size_t)(nl - start) + 1 : ps->len - ps->pos;
	ps->pos += n;
	ps->line++;
	if (num < 1 || n > (size_t)num - 1) {
		/* inih would split it and parse the tail as a line. */
		config_perr(ps, "", "line too long (max %d bytes)", num - 1);
		return NULL;
	}
	if (memchr(start, '\0', n) != NULL) {
		config_perr(ps, "", "NUL byte in line");
		return NULL;
	}
	memcpy(buf, start, n);
	buf[n] = '\0';
	return check_section(ps, buf) == 0 ? buf : NULL;
}

/*
 * Debian's libinih makes its dialect run-time globals. Pin the one we
 * document (no continuation lines: an indented key would silently become
 * part of the previous value; ';' and '#' comments; stop at the first
 * error) and give the library back its settings afterwards.
 */
struct knobs {
	int max_line;
	bool multiline, bom, inline_comments, no_value, stop, use_stack;
	char *start_prefixes, *inline_prefixes;
};

static void
knobs_swap(struct knobs *k)
{
	struct knobs old = { ini_max_line, ini_allow_multiline, ini_allow_bom,
		ini_allow_inline_comments, ini_allow_no_value,
		ini_stop_on_first_error, ini_use_stack,
		ini_start_comment_prefixes, ini_inline_comment_prefixes };

	ini_max_line = k->max_line;
	ini_allow_multiline = k->multiline;
	ini_allow_bom = k->bom;
	ini_allow_inline_comments = k->inline_comments;
	ini_allow_no_value = k->no_value;
	ini_stop_on_first_error = k->stop;
	ini_use_stack = k->use_stack;
	ini_start_comment_prefixes = k->start_prefixes;
	ini_inline_comment_prefixes = k->inline_prefixes;
	*k = old;
}

int
config_parse(const char *text, size_t len, const char *fname, struct config *c,
    struct config_error *err)
{
	static char comments[] = ";#";
	struct knobs k = { CONFIG_LINE_MAX + 1, false, true, true, false, true,
		true, comments, comments };
	struct parse *ps = NULL;
	int rv;

	memset(err, 0, sizeof(*err));
	/* Display only: a cut file name still locates the error. */
	(void)strlcpy(
	    err->file, fname != NULL ? fname : "-", sizeof(err->file));
	if ((ps = calloc(1, sizeof(*ps))) == NULL ||
	    (ps->c = malloc(sizeof(*ps->c))) == NULL) {
		(void)strlcpy(err->msg, "out of memory", sizeof(err->msg));
		rv = -ENOMEM;
		goto out;
	}
	*ps->c = *c; /* parse into a copy: c stays intact on error */
	ps->text = text;
	ps->len = text != NULL ? len : 0;
	ps->err = err;
	knobs_swap(&k);
	rv = ini_parse_stream(read_line, ps, on_pair, ps);
	knobs_swap(&k);
	if (!ps->failed && rv == 0)
		tls_finish(ps);
	if (!ps->failed && rv == 0)
		auth_finish(ps);
	if (!ps->failed && rv == 0)
		tlsc_finish(ps);
	if (!ps->failed && rv == 0)
		submit_finish(ps);
	if (!ps->failed && rv == 0)
		milter_finish(ps);
	if (ps->failed) {
		rv = -EINVAL;
	} else if (rv > 0) {
		err->line = (size_t)rv;
		(void)strlcpy(err->msg,
		    "syntax error (want 'key = value', "
		    "[relayd] or a comment)",
		    sizeof(err->msg));
		rv = -EINVAL;
	} else if (rv < 0) {
		(void)strlcpy(err->msg, "out of memory", sizeof(err->msg));
		rv = -ENOMEM;
	} else {
		*c = *ps->c;
	}
out:
	if (ps != NULL)
		free(ps->c);
	free(ps);
	return rv;
}

void
config_defaults(struct config *c)
{
	char buf[256];

	memset(c, 0, sizeof(*c));
	if (gethostname(buf, sizeof(buf)) != 0)
		buf[0] = '\0';
	buf[sizeof(buf) - 1] = '\0';
	(void)strlcpy(c->hostname,
	    config_valid_hostname(buf) ? buf : "localhost",
	    sizeof(c->hostname));
	(void)strlcpy(c->run_as, "sendmail", sizeof(c->run_as));
	(void)strlcpy(c->spool, "/var/spool/mqueue", sizeof(c->spool));
	(void)strlcpy(c->pidfile, "/run/relayd.pid", sizeof(c->pidfile));
	/* Constants that parse: these cannot fail. */
	(void)strlcpy(buf, "*:25", sizeof(buf));
	(void)config_parse_listen(c, buf);
	(void)strlcpy(buf, "127.0.0.0/8", sizeof(buf));
	(void)config_parse_net(c, buf);
	(void)strlcpy(buf, "::1/128", sizeof(buf));
	(void)config_parse_net(c, buf);
	c->max_message_size = 10485760;
	c->max_line_length = QUEUE_MSG_SIZE_MAX; /* as Postfix: no limit */
	c->max_recipients = 100;
	c->max_children = 100;
	c->max_per_ip = 10;
	c->max_use = 100; /* Postfix's max_use and max_idle */
	c->max_idle = 100;
	c->max_hops = 50;
	c->greet_pause = 1;
	c->timeout_greeting = 300;
	c->timeout_command = 300;
	c->timeout_data_init = 120;
	c->timeout_data_block = 180;
	c->timeout_data_term = 600;
	c->session_deadline = 3600;
	c->min_data_rate = 500;
	c->max_conn_rate = 0;
	c->stress_timeout = 10;
	c->queue_lifetime = 5 * DAY;
	c->max_per_hop = CONFIG_WORKERS_MAX; /* Postfix's concurrency, 20 */
	c->retry_min = 300;
	c->retry_max = 3600;
	c->chroot = 0;
	c->auth_max_failures = 3;
	c->auth_failure_window = 3600;
	c->tls_min_version = 12;
	c->smtp_tls = CONFIG_TLSC_MAY;
	c->smarthost_tls = CONFIG_TLSC_MAY;
	c->milter_default_action = CONFIG_MILTER_TEMPFAIL;
	c->milter_connect_timeout = 30; /* as Postfix */
	c->milter_command_timeout = 30;
	c->milter_eom_timeout = 300;
}

static int
load_err(struct config_error *err, int e, const char *msg)
{
	if (msg == NULL)
		msg = strerror(e);
	(void)strlcpy(err->msg, msg, sizeof(err->msg));
	return -e;
}

int
config_load(
    int rootfd, const char *path, struct config *c, struct config_error *err)
{
	const char *rel = path;
	struct stat st;
	char *buf = NULL;
	size_t len;
	int rv;

	memset(err, 0, sizeof(*err));
	(void)strlcpy(err->file, path, sizeof(err->file)); /* display only */
	if (rootfd != AT_FDCWD)
		rel += strspn(rel, "/");
	if (*rel == '\0') {
		rv = load_err(err, EINVAL, "empty path");
		goto out;
	}
	rv = readfile_at(rootfd, rel, CONFIG_FILE_MAX, &buf, &len, &st);
	if (rv < 0) {
		(void)load_err(err, -rv,
		    rv == -EFBIG ? "bigger than 1 MiB" : readfile_strerror(rv));
		goto out;
	}
	/* Whoever can write it chooses run_as, spool and relay_from. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		rv = load_err(err, EPERM,
		    "not owned by root (want root:<relay "
		    "group> 0640)");
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		rv = load_err(err, EPERM,
		    "writable by group or others (want "
		    "root:<relay group> 0640)");
		goto out;
	}
	rv = config_parse(buf, len, path, c, err);
out:
	free(buf);
	return rv;
}

void
config_error_format(const struct config_error *e, char *buf, size_t len)
{
	char line[32] = "", key[80] = "";

	if (e->line > 0)
		(void)snprintf(line, sizeof(line), ":%zu", e->line);
	if (e->key[0] != '\0')
		(void)snprintf(key, sizeof(key), " %s:", e->key);
	(void)snprintf(buf, len, "%s%s:%s %s", e->file, line, key, e->msg);
}
