/*
 * End of message with one milter: send EOB, then collect the changes it
 * asks for (kept in memory, a replacement body in an unnamed file in
 * SPOOL/tmp) until its verdict.  Trust boundary: a change the filter did
 * not negotiate, too many changes or too many octets of them fail the
 * milter (its default action); nothing is applied here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "milter_int.h"

/* The negotiated action a change needs. */
static uint32_t
action_of(char cmd)
{
	switch (cmd) {
	case MILTER_R_ADDHEADER:
	case MILTER_R_INSHEADER:
		return MILTER_A_ADDHDRS;
	case MILTER_R_CHGHEADER:
		return MILTER_A_CHGHDRS;
	case MILTER_R_REPLBODY:
		return MILTER_A_CHGBODY;
	case MILTER_R_ADDRCPT:
		return MILTER_A_ADDRCPT;
	case MILTER_R_ADDRCPT_PAR:
		return MILTER_A_ADDRCPT_PAR;
	case MILTER_R_DELRCPT:
		return MILTER_A_DELRCPT;
	case MILTER_R_CHGFROM:
		return MILTER_A_CHGFROM;
	case MILTER_R_QUARANTINE:
		return MILTER_A_QUARANTINE;
	default:
		return 0; /* not a change */
	}
}

/* Replacement body octets, bare LFs made CRLF as we go. */
static int
replbody_add(
    const struct milter_env *env, struct milter_conn *c, const char *id)
{
	const unsigned char *p = c->r.data;
	size_t i, start = 0;
	int rv;

	if (c->newbody == NULL &&
	    (rv = queue_body_open(env->spoolfd, id, &c->newbody)) != 0)
		return rv;
	for (i = 0; i < c->r.len; i++) {
		if (p[i] == '\n' &&
		    !(i > 0 ? p[i - 1] == '\r' : c->newbody_cr)) {
			(void)queue_body_add(c->newbody, p + start, i - start);
			(void)queue_body_add(c->newbody, "\r", 1);
			start = i;
		}
	}
	(void)queue_body_add(c->newbody, p + start, c->r.len - start);
	if (c->r.len > 0)
		c->newbody_cr = p[c->r.len - 1] == '\r';
	return queue_body_error(c->newbody);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Keep one change; -1 if it is refused or there is no memory. */
static int
mod_keep(struct milter_conn *c)
{
	const struct milter_reply *r = &c->r;
	struct milter_mod *m;
	size_t n = (r->s1 ? strlen(r->s1) : 0) + (r->s2 ? strlen(r->s2) : 0);

	if (c->nmods >= MILTER_MODS_MAX || n > MILTER_MODS_BYTES - c->mod_bytes)
		return -1;
	m = reallocarray(c->mods, c->nmods + 1, sizeof(*m));
	if (m == NULL)
		return -1;
	c->mods = m;
	m = &c->mods[c->nmods];
	m->cmd = r->cmd;
	m->index = r->index;
	m->a = dup_or_null(r->s1);
	m->b = dup_or_null(r->s2);
	if ((r->s1 != NULL && m->a == NULL) ||
	    (r->s2 != NULL && m->b == NULL)) {
		free(m->a);
		free(m->b);
		return -1;
	}
	c->nmods++;
	c->mod_bytes += n;
	return 0;
}

int
milter_eom(const struct milter_env *env, struct milter_conn *c, const char *id,
    struct milter_outcome *out)
{
	uint32_t need;
	int rv;

	milter_pkt_start(&c->pkt, MILTER_C_EOB);
	if ((rv = milter_io_send(c)) != 0) {
		log_warnx("milter %s: cannot send end of message: %s",
		    c->cm->socket, strerror(-rv));
		return STEP_FAIL;
	}
	for (;;) {
		if ((rv = milter_io_recv(c, c->cm->eom_timeout)) != 0) {
			log_warnx("milter %s: no valid reply at end of "
				  "message: %s",
			    c->cm->socket, strerror(-rv));
			return STEP_FAIL;
		}
		if ((need = action_of(c->r.cmd)) == 0)
			break;
		if ((c->actions & need) == 0) {
			log_warnx("milter %s: change '%c' not negotiated",
			    c->cm->socket, c->r.cmd);
			return STEP_FAIL;
		}
		if (c->r.cmd == MILTER_R_REPLBODY)
			rv = replbody_add(env, c, id);
		else
			rv = mod_keep(c);
		if (rv != 0) {
			log_warnx("milter %s: cannot keep change '%c'",
			    c->cm->socket, c->r.cmd);
			return STEP_FAIL;
		}
	}
	if (c->r.cmd == MILTER_R_SKIP)
		return STEP_FAIL; /* not an end-of-message verdict */
	rv = milter_step_of(c, MILTER_C_EOB, out);
	/* ACCEPT and CONTINUE at the end both mean: queue, changed. */
	return rv == STEP_ACCEPT ? STEP_GO : rv;
}
