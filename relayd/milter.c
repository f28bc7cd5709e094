/*
 * The milter conversation of the smtp child (milter.h): for each milter in
 * order, connect, negotiate, replay the transaction (connect, HELO, MAIL,
 * RCPT, DATA, headers, body, end of message) and act on its verdict; its
 * changes are applied (milter_msg.c) before the next milter sees the
 * message.  Trust boundary: the filter's replies are decoded by
 * milter_proto; anything unexpected is a failure, which gets the
 * milter's default action, never a crash.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "milter_int.h"

void
milter_outcome_set(
    struct milter_outcome *out, enum milter_verdict v, const char *line)
{
	out->verdict = v;
	out->nreply = 0;
	if (line != NULL) {
		(void)strlcpy(out->reply[0], line, sizeof(out->reply[0]));
		out->nreply = 1;
	}
}

/* The filter's own reply (REPLYCODE, checked by the decoder) as lines. */
static void
outcome_reply(struct milter_outcome *out, const char *text)
{
	const char *p = text, *e;
	size_t n;

	out->verdict = text[0] == '4' ? MILTER_TEMPFAIL : MILTER_REJECT;
	out->nreply = 0;
	while (*p != '\0' && out->nreply < MILTER_REPLY_LINES) {
		e = strstr(p, "\r\n");
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n > sizeof(out->reply[0]) - 1)
			n = sizeof(out->reply[0]) - 1;
		(void)snprintf(out->reply[out->nreply++], sizeof(out->reply[0]),
		    "%.*s", (int)n, p);
		if (e == NULL)
			break;
		p = e + 2;
	}
	/* The last line we keep is the final one: "NNN " not "NNN-". */
	if (out->nreply > 0 && strlen(out->reply[out->nreply - 1]) > 3)
		out->reply[out->nreply - 1][3] = ' ';
	if (out->nreply == 1 && strlen(out->reply[0]) == 3)
		(void)strlcat(out->reply[0], " ", sizeof(out->reply[0]));
}

/* What the reply in c->r to cmd means (STEP_*); *out for a verdict. */
int
milter_step_of(struct milter_conn *c, char cmd, struct milter_outcome *out)
{
	switch (c->r.cmd) {
	case MILTER_R_CONTINUE:
		return STEP_GO;
	case MILTER_R_ACCEPT:
		return STEP_ACCEPT;
	case MILTER_R_SKIP:
		return cmd == MILTER_C_BODY ? STEP_SKIP : STEP_GO;
	case MILTER_R_REPLYCODE:
		outcome_reply(out, c->r.s1);
		break;
	case MILTER_R_REJECT:
		milter_outcome_set(
		    out, MILTER_REJECT, "550 5.7.1 Command rejected");
		break;
	case MILTER_R_TEMPFAIL:
	case MILTER_R_SHUTDOWN:
	case MILTER_R_CONN_FAIL:
		milter_outcome_set(out, MILTER_TEMPFAIL,
		    "451 4.7.1 Service unavailable - try again later");
		break;
	case MILTER_R_DISCARD:
		if (cmd == MILTER_C_MAIL || cmd == MILTER_C_CONNECT ||
		    cmd == MILTER_C_HELO)
			return STEP_FAIL; /* not a message step */
		milter_outcome_set(out, MILTER_DISCARD, NULL);
		break;
	default:
		log_warnx("milter %s: unexpected reply '%c' to '%c'",
		    c->cm->socket, c->r.cmd, cmd);
		return STEP_FAIL;
	}
	return cmd == MILTER_C_RCPT && out->verdict != MILTER_DISCARD
	    ? STEP_RCPT_NO
	    : STEP_VERDICT;
}

/* The reply to a step that expects one (cmd: what we sent). */
static int
step_reply(struct milter_conn *c, char cmd, unsigned timeout,
    struct milter_outcome *out)
{
	int rv;

	if ((rv = milter_io_recv(c, timeout)) != 0) {
		log_warnx("milter %s: no valid reply to '%c': %s",
		    c->cm->socket, cmd, strerror(-rv));
		return STEP_FAIL;
	}
	return milter_step_of(c, cmd, out);
}

/* Send the packet in c->pkt; then its reply unless nr says none comes. */
static int
step(struct milter_conn *c, uint32_t nr, unsigned timeout,
    struct milter_outcome *out)
{
	char cmd = (char)c->pkt.buf[4];
	int rv;

	if ((rv = milter_io_send(c)) != 0) {
		log_warnx("milter %s: cannot send '%c': %s", c->cm->socket, cmd,
		    strerror(-rv));
		return STEP_FAIL;
	}
	if (nr != 0 && (c->protocol & nr) != 0)
		return STEP_GO;
	return step_reply(c, cmd, timeout, out);
}

static int
negotiate(struct milter_conn *c)
{
	const struct milter_reply *r = &c->r;

	milter_pkt_start(&c->pkt, MILTER_C_OPTNEG);
	milter_pkt_u32(&c->pkt, MILTER_VERSION);
	milter_pkt_u32(&c->pkt, MILTER_A_ALL);
	milter_pkt_u32(&c->pkt, MILTER_P_ALL);
	if (milter_io_send(c) != 0 ||
	    milter_io_recv(c, c->cm->connect_timeout) != 0 ||
	    r->cmd != MILTER_R_OPTNEG || r->version < 2 ||
	    r->version > MILTER_VERSION || (r->actions & ~MILTER_A_ALL) != 0 ||
	    (r->protocol & ~MILTER_P_ALL) != 0) {
		log_warnx(
		    "milter %s: option negotiation failed", c->cm->socket);
		return -1;
	}
	c->actions = r->actions;
	c->protocol = r->protocol;
	return 0;
}

/* Macros for the next command: name, value pairs, NULL-terminated. */
static int
macros(struct milter_conn *c, char cmd, const char *const *nv)
{
	milter_pkt_start(&c->pkt, MILTER_C_MACRO);
	c->pkt.buf[c->pkt.len++] = (unsigned char)cmd;
	for (; nv[0] != NULL; nv += 2) {
		milter_pkt_str(&c->pkt, nv[0]);
		milter_pkt_str(&c->pkt, nv[1]);
	}
	return milter_io_send(c) == 0 ? STEP_GO : STEP_FAIL;
}

/* "<a@b>" without its brackets, for {mail_addr} and {rcpt_addr}. */
static const char *
bare(const char *path, char *buf, size_t len)
{
	size_t n = strlen(path);

	if (n >= 2 && path[0] == '<' && path[n - 1] == '>')
		(void)snprintf(buf, len, "%.*s", (int)(n - 2), path + 1);
	else
		(void)strlcpy(buf, path, len);
	return buf;
}

/* Connect and HELO. */
static int
steps_connection(const struct milter_env *env, struct milter_conn *c,
    struct milter_outcome *out)
{
	const unsigned cmdt = c->cm->command_timeout;
	char name[QUEUE_ADDR_MAX + 3], us[QUEUE_ADDR_MAX + 16];
	const char *nv[] = { "j", env->cfg->hostname, "{daemon_name}", "relayd",
		"_", us, "{client_addr}", env->addr, "{client_name}", name,
		NULL };
	int family = env->peer->ss_family, rv;
	uint16_t port = 0;

	(void)snprintf(name, sizeof(name), "[%s]", env->addr);
	(void)snprintf(us, sizeof(us), "%s [%s]", name, env->addr);
	if (c->protocol & MILTER_P_NOCONNECT)
		goto helo;
	if (family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)env->peer)->sin_port);
	else if (family == AF_INET6)
		port =
		    ntohs(((const struct sockaddr_in6 *)env->peer)->sin6_port);
	if ((rv = macros(c, MILTER_C_CONNECT, nv)) != STEP_GO)
		return rv;
	milter_pkt_start(&c->pkt, MILTER_C_CONNECT);
	milter_pkt_str(&c->pkt, name);
	if (family == AF_INET || family == AF_INET6) {
		milter_pkt_add(&c->pkt, family == AF_INET ? "4" : "6", 1);
		milter_pkt_u16(&c->pkt, port);
		milter_pkt_str(&c->pkt, env->addr);
	} else
		milter_pkt_add(&c->pkt, "U", 1);
	if ((rv = step(c, MILTER_P_NR_CONN, cmdt, out)) != STEP_GO)
		return rv;
helo:
	if (c->protocol & MILTER_P_NOHELO)
		return STEP_GO;
	milter_pkt_start(&c->pkt, MILTER_C_HELO);
	milter_pkt_str(&c->pkt, env->helo);
	return step(c, MILTER_P_NR_HELO, cmdt, out);
}

/*
 * MAIL and each RCPT; refused recipients are marked in no[] (their reply
 * kept in *out) and, if all are, the message is refused.
 */
static int
steps_envelope(const struct milter_env *env, struct milter_conn *c,
    const struct queue_file *qf, char *no, struct milter_outcome *out)
{
	const unsigned cmdt = c->cm->command_timeout;
	char addr[SMTP_PATH_MAX + 1];
	const char *nv[] = { "i", qf->id, "{mail_addr}", NULL, "{auth_authen}",
		env->auth_user, NULL };
	size_t i, refused = 0;
	int rv;

	if (env->auth_user[0] == '\0')
		nv[4] = NULL;
	nv[3] = bare(qf->sender, addr, sizeof(addr));
	if (!(c->protocol & MILTER_P_NOMAIL)) {
		if ((rv = macros(c, MILTER_C_MAIL, nv)) != STEP_GO)
			return rv;
		milter_pkt_start(&c->pkt, MILTER_C_MAIL);
		milter_pkt_str(&c->pkt, qf->sender);
		if ((rv = step(c, MILTER_P_NR_MAIL, cmdt, out)) != STEP_GO)
			return rv;
	}
	if (c->protocol & MILTER_P_NORCPT)
		return STEP_GO;
	for (i = 0; i < qf->nrcpt; i++) {
		const char *rv_nv[] = { "{rcpt_addr}",
			bare(qf->rcpt[i].path, addr, sizeof(addr)), NULL };

		if ((rv = macros(c, MILTER_C_RCPT, rv_nv)) != STEP_GO)
			return rv;
		milter_pkt_start(&c->pkt, MILTER_C_RCPT);
		milter_pkt_str(&c->pkt, qf->rcpt[i].path);
		rv = step(c, MILTER_P_NR_RCPT, cmdt, out);
		if (rv == STEP_RCPT_NO) {
			no[i] = 1;
			refused++;
			log_info("%s: milter %s refused %s: %s", qf->id,
			    c->cm->socket, qf->rcpt[i].path, out->reply[0]);
			continue;
		}
		if (rv != STEP_GO)
			return rv;
	}
	if (refused == qf->nrcpt)
		return STEP_VERDICT; /* out holds the last refusal */
	milter_outcome_set(out, MILTER_CONTINUE, NULL);
	return STEP_GO;
}

/* DATA, the header fields, end of header, the body in chunks. */
static int
steps_content(struct milter_conn *c, struct queue_body *qb,
    const struct milter_msg *m, struct milter_outcome *out)
{
	const unsigned cmdt = c->cm->command_timeout;
	size_t i, off, got;
	int rv;

	if (!(c->protocol & MILTER_P_NODATA)) {
		milter_pkt_start(&c->pkt, MILTER_C_DATA);
		if ((rv = step(c, MILTER_P_NR_DATA, cmdt, out)) != STEP_GO)
			return rv;
	}
	for (i = 0; i < m->nfield && !(c->protocol & MILTER_P_NOHDRS); i++) {
		if (milter_msg_header(m, i,
			(c->protocol & MILTER_P_HDR_LEADSPC) != 0,
			&c->pkt) != 0)
			return STEP_FAIL;
		if ((rv = step(c, MILTER_P_NR_HDR, cmdt, out)) != STEP_GO)
			return rv;
	}
	if (!(c->protocol & MILTER_P_NOEOH)) {
		milter_pkt_start(&c->pkt, MILTER_C_EOH);
		if ((rv = step(c, MILTER_P_NR_EOH, cmdt, out)) != STEP_GO)
			return rv;
	}
	for (off = m->bodyoff; !(c->protocol & MILTER_P_NOBODY); off += got) {
		milter_pkt_start(&c->pkt, MILTER_C_BODY);
		if (queue_body_pread(qb, c->pkt.buf + c->pkt.len, MILTER_CHUNK,
			off, &got) != 0)
			return STEP_FAIL;
		if (got == 0)
			break;
		c->pkt.len += got;
		rv = step(c, MILTER_P_NR_BODY, cmdt, out);
		if (rv == STEP_SKIP)
			break;
		if (rv != STEP_GO)
			return rv;
	}
	return STEP_GO;
}

/* The reply of each milter after a failure: its default action. */
static int
default_action(
    const struct milter_conn *c, const char *id, struct milter_outcome *out)
{
	switch (c->cm->action) {
	case CONFIG_MILTER_ACCEPT:
		log_warnx("%s: milter %s failed: accepting without it", id,
		    c->cm->socket);
		milter_outcome_set(out, MILTER_CONTINUE, NULL);
		return 0;
	case CONFIG_MILTER_REJECT:
		log_warnx("%s: milter %s failed: rejecting", id, c->cm->socket);
		milter_outcome_set(
		    out, MILTER_REJECT, "550 5.7.1 Command rejected");
		return 1;
	default:
		log_warnx("%s: milter %s failed: tempfail", id, c->cm->socket);
		milter_outcome_set(out, MILTER_TEMPFAIL,
		    "451 4.7.1 Service unavailable - try again later");
		return 1;
	}
}

/* Drop the recipients this milter refused. */
static void
rcpt_drop(struct queue_file *qf, const char *no)
{
	size_t i, j = 0;

	for (i = 0; i < qf->nrcpt; i++)
		if (!no[i])
			qf->rcpt[j++] = qf->rcpt[i];
	qf->nrcpt = j;
}

/* One milter over the message; 1 if the message's fate is decided. */
static int
milter_one(const struct milter_env *env, struct milter_conn *c,
    struct queue_file *qf, size_t *rcap, struct queue_body **qb,
    struct milter_outcome *out)
{
	struct milter_msg m;
	char *no = NULL;
	int rv = STEP_FAIL;

	memset(&m, 0, sizeof(m));
	if (milter_io_connect(env, c) != 0) {
		log_warnx(
		    "%s: cannot connect to milter %s", qf->id, c->cm->socket);
		goto out;
	}
	if (negotiate(c) != 0 || (no = calloc(qf->nrcpt, 1)) == NULL ||
	    milter_msg_read(*qb, &m) != 0)
		goto out;
	if ((rv = steps_connection(env, c, out)) != STEP_GO)
		goto out;
	rv = steps_envelope(env, c, qf, no, out);
	if (rv == STEP_GO || rv == STEP_ACCEPT)
		rcpt_drop(qf, no);
	if (rv != STEP_GO)
		goto out;
	if ((rv = steps_content(c, *qb, &m, out)) != STEP_GO)
		goto out;
	rv = milter_eom(env, c, qf->id, out);
	if (rv == STEP_GO && milter_msg_apply(env, c, qf, rcap, qb, out) != 0)
		rv = STEP_FAIL;
	if (rv == STEP_GO && out->verdict != MILTER_CONTINUE)
		rv = STEP_VERDICT; /* every recipient removed: discarded */
out:
	if (c->fd != -1) {
		milter_pkt_start(&c->pkt, MILTER_C_QUIT);
		(void)milter_io_send(c);
		(void)close(c->fd);
		c->fd = -1;
	}
	milter_msg_free(&m);
	free(no);
	if (rv == STEP_FAIL)
		return default_action(c, qf->id, out);
	/* ACCEPT: this milter is done with the message, unchanged. */
	return rv == STEP_VERDICT || rv == STEP_RCPT_NO;
}

/* Forget one milter's changes. */
static void
mods_free(struct milter_conn *c)
{
	size_t i;

	for (i = 0; i < c->nmods; i++) {
		free(c->mods[i].a);
		free(c->mods[i].b);
	}
	free(c->mods);
	c->mods = NULL;
	c->nmods = c->mod_bytes = 0;
	queue_body_free(c->newbody);
	c->newbody = NULL;
	c->newbody_cr = 0;
}

void
milter_message(const struct milter_env *env, struct queue_file *qf,
    size_t *rcap, struct queue_body **qb, struct milter_outcome *out)
{
	const struct config *cfg = env->cfg;
	struct milter_conn *c;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (cfg->nmilter == 0)
		return;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		milter_outcome_set(
		    out, MILTER_TEMPFAIL, "451 4.3.0 Error: local error");
		return;
	}
	for (i = 0; i < cfg->nmilter; i++) {
		c->cm = &cfg->milter[i];
		c->fd = -1;
		c->newbody_cr = 0;
		if (milter_one(env, c, qf, rcap, qb, out) != 0) {
			mods_free(c);
			break;
		}
		mods_free(c);
	}
	free(c);
}
