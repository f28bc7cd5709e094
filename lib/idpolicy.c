/*
 * ID policy for the relay account: reuse our own name's ids, take the
 * preferred ones only when no other name holds them, else allocate from the
 * top of the system range like useradd -r.  An id "held" by another name
 * would hand that name our files, so the tests for free ids are strict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accountdb.h"
#include "dbfile.h"
#include "idpolicy.h"
#include "readfile.h"

#define LOGINDEFS_MAX (1UL << 20)

struct idset {
	unsigned long *v;
	size_t n;
};

struct ctx {
	const struct accountdb *db;
	const char *user;
	struct idset uids; /* every passwd uid */
	struct idset gids; /* every group gid, other names' primary gids */
};

static int
idcmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return (x > y) - (x < y);
}

static int
idset_has(const struct idset *s, unsigned long id)
{
	return bsearch(&id, s->v, s->n, sizeof(*s->v), idcmp) != NULL;
}

static int
ctx_init(struct ctx *c, const struct accountdb *db, const char *user)
{
	size_t nu = accountdb_nusers(db), ng = accountdb_ngroups(db), i;
	struct account_user u;
	struct account_group g;

	memset(c, 0, sizeof(*c));
	c->db = db;
	c->user = user;
	c->uids.v = calloc(nu + 1, sizeof(unsigned long));
	c->gids.v = calloc(nu + ng + 1, sizeof(unsigned long));
	if (c->uids.v == NULL || c->gids.v == NULL)
		return -ENOMEM;
	for (i = 0; accountdb_user_at(db, i, &u) == 0; i++) {
		c->uids.v[c->uids.n++] = u.uid;
		/* A new group on a dangling primary gid would adopt them. */
		if (strcmp(u.name, user) != 0)
			c->gids.v[c->gids.n++] = u.gid;
	}
	for (i = 0; accountdb_group_at(db, i, &g) == 0; i++)
		c->gids.v[c->gids.n++] = g.gid;
	qsort(c->uids.v, c->uids.n, sizeof(unsigned long), idcmp);
	qsort(c->gids.v, c->gids.n, sizeof(unsigned long), idcmp);
	return 0;
}

static int
uid_free(const struct ctx *c, unsigned long id)
{
	return id != (uid_t)-1 && !idset_has(&c->uids, id);
}

static int
gid_free(const struct ctx *c, unsigned long id)
{
	return id != (gid_t)-1 && !idset_has(&c->gids, id);
}

/* Who holds an id: appended to buf as "UID 24 belongs to user 'x'". */
static void
holder(const struct ctx *c, int isuid, unsigned long id, char *buf, size_t len)
{
	struct account_user u;
	struct account_group g;
	size_t i, off = strlen(buf);

	if (off > 0)
		off = strlcat(buf, " and ", len);
	if (off >= len)
		return;
	buf += off;
	len -= off;
	if (isuid && accountdb_user_by_uid(c->db, (uid_t)id, &u) == 0) {
		snprintf(buf, len, "UID %lu belongs to user '%s'", id, u.name);
		return;
	}
	if (!isuid && accountdb_group_by_gid(c->db, (gid_t)id, &g) == 0) {
		snprintf(buf, len, "GID %lu belongs to group '%s'", id, g.name);
		return;
	}
	for (i = 0; !isuid && accountdb_user_at(c->db, i, &u) == 0; i++)
		if (u.gid == id && strcmp(u.name, c->user) != 0) {
			snprintf(buf, len,
			    "GID %lu is the primary group of "
			    "user '%s'",
			    id, u.name);
			return;
		}
	snprintf(
	    buf, len, "%s %lu is not a valid id", isuid ? "UID" : "GID", id);
}

/* Highest free id in [min, max], 0 with *idp set, or -ENOSPC. */
static int
top_free(const struct ctx *c, int (*isfree)(const struct ctx *, unsigned long),
    unsigned long min, unsigned long max, unsigned long *idp)
{
	unsigned long id;

	for (id = max; id >= min; id--) {
		if (isfree(c, id)) {
			*idp = id;
			return 0;
		}
		if (id == 0)
			break;
	}
	return -ENOSPC;
}

/* useradd -r: the highest N free as both uid and gid. */
static int
top_free_both(const struct ctx *c, const struct id_range *r, unsigned long *idp)
{
	unsigned long lo = r->uid_min > r->gid_min ? r->uid_min : r->gid_min;
	unsigned long hi = r->uid_max < r->gid_max ? r->uid_max : r->gid_max;
	unsigned long id;

	/* Each taken id blocks one N: this ends after few steps. */
	for (id = hi; id >= lo && lo <= hi; id--) {
		if (uid_free(c, id) && gid_free(c, id)) {
			*idp = id;
			return 0;
		}
		if (id == 0)
			break;
	}
	return -ENOSPC;
}

/* Fill in the ids still unset, preferring the other id's number. */
static int
fallback(const struct ctx *c, const struct id_range *r, int fix_u, int fix_g,
    struct id_choice *out, char *errbuf, size_t errlen)
{
	unsigned long u = out->uid, g = out->gid;

	if (fix_u && fix_g && top_free_both(c, r, &u) == 0)
		g = u;
	else {
		if (fix_u && !(!fix_g && uid_free(c, g)) &&
		    top_free(c, uid_free, r->uid_min, r->uid_max, &u) < 0) {
			snprintf(errbuf, errlen,
			    "no free system UID in %lu-%lu",
			    (unsigned long)r->uid_min,
			    (unsigned long)r->uid_max);
			return -ENOSPC;
		}
		if (fix_u && !fix_g && uid_free(c, g))
			u = g;
		if (fix_g && !(!fix_u && gid_free(c, u)) &&
		    top_free(c, gid_free, r->gid_min, r->gid_max, &g) < 0) {
			snprintf(errbuf, errlen,
			    "no free system GID in %lu-%lu",
			    (unsigned long)r->gid_min,
			    (unsigned long)r->gid_max);
			return -ENOSPC;
		}
		if (fix_g && !fix_u && gid_free(c, u))
			g = u;
	}
	out->uid = (uid_t)u;
	out->gid = (gid_t)g;
	return 0;
}

static void
explain(const char *reason, int ubad, int gbad, int fix_u, int fix_g,
    struct id_choice *out)
{
	const char *opt = ubad && gbad ? "--uid/--gid"
	    : ubad                     ? "--uid"
				       : "--gid";
	char using[64];

	if (fix_u && fix_g && out->uid != out->gid)
		snprintf(using, sizeof(using), "UID %lu and GID %lu",
		    (unsigned long)out->uid, (unsigned long)out->gid);
	else
		snprintf(using, sizeof(using), "%lu",
		    fix_u ? (unsigned long)out->uid : (unsigned long)out->gid);
	snprintf(out->why, sizeof(out->why),
	    "%s; using %s (use %s to choose, --strict-ids to refuse)", reason,
	    using, opt);
}

/* Our own name's user and group are reused; a forced id must match. */
static int
reuse(const struct ctx *c, const struct id_request *req, struct id_choice *out,
    char *errbuf, size_t errlen)
{
	struct account_user u;
	struct account_group g;

	if (accountdb_user_by_name(c->db, req->user, &u) == 0) {
		if (req->uid_forced && req->uid != u.uid) {
			snprintf(errbuf, errlen,
			    "user '%s' exists with UID %lu, "
			    "not %lu",
			    req->user, (unsigned long)u.uid,
			    (unsigned long)req->uid);
			return -EEXIST;
		}
		out->uid = u.uid;
		out->user_exists = 1;
	}
	if (accountdb_group_by_name(c->db, req->user, &g) == 0) {
		if (req->gid_forced && req->gid != g.gid) {
			snprintf(errbuf, errlen,
			    "group '%s' exists with GID %lu, "
			    "not %lu",
			    req->user, (unsigned long)g.gid,
			    (unsigned long)req->gid);
			return -EEXIST;
		}
		out->gid = g.gid;
		out->group_exists = 1;
	}
	return 0;
}

static int
choose(const struct ctx *c, const struct id_request *req,
    const struct id_range *r, struct id_choice *out, char *errbuf,
    size_t errlen)
{
	char reason[192] = "";
	int need_u, need_g, ubad, gbad, rc;

	if ((rc = reuse(c, req, out, errbuf, errlen)) < 0)
		return rc;
	need_u = !out->user_exists;
	need_g = !out->group_exists;
	/*
	 * Half an account (a hand-made group, or a run killed between two
	 * renames): the missing half takes the same number when it is free,
	 * so an interrupted setup converges to what a whole run makes.
	 */
	if (need_u && !need_g && !req->uid_forced && uid_free(c, out->gid)) {
		out->uid = out->gid;
		return 0;
	}
	if (need_g && !need_u && !req->gid_forced && gid_free(c, out->uid)) {
		out->gid = out->uid;
		return 0;
	}
	ubad = need_u && !uid_free(c, req->uid);
	gbad = need_g && !gid_free(c, req->gid);
	if (ubad)
		holder(c, 1, req->uid, reason, sizeof(reason));
	if (gbad)
		holder(c, 0, req->gid, reason, sizeof(reason));
	if (need_u)
		out->uid = req->uid;
	if (need_g)
		out->gid = req->gid;
	if (!ubad && !gbad)
		return 0;
	/* A forced id held by another name: refuse, naming that one. */
	if ((ubad && req->uid_forced) || (gbad && req->gid_forced)) {
		errbuf[0] = '\0';
		if (ubad && req->uid_forced)
			holder(c, 1, req->uid, errbuf, errlen);
		if (gbad && req->gid_forced)
			holder(c, 0, req->gid, errbuf, errlen);
		return -EEXIST;
	}
	if (req->strict) {
		strlcpy(errbuf, reason, errlen);
		return -EEXIST;
	}
	if ((rc = fallback(c, r, need_u && !req->uid_forced,
		 need_g && !req->gid_forced, out, errbuf, errlen)) < 0)
		return rc;
	explain(reason, ubad, gbad, need_u && !req->uid_forced,
	    need_g && !req->gid_forced, out);
	return 0;
}

int
idpolicy_choose(const struct accountdb *db, const struct id_request *req,
    const struct id_range *r, struct id_choice *out, char *errbuf,
    size_t errlen)
{
	char dummy[1];
	struct ctx c;
	int rc;

	memset(out, 0, sizeof(*out));
	if (errbuf == NULL || errlen == 0) {
		errbuf = dummy;
		errlen = sizeof(dummy);
	}
	errbuf[0] = '\0';
	if (req->user == NULL || !accountdb_name_valid(req->user)) {
		snprintf(errbuf, errlen, "invalid account name '%s'",
		    req->user != NULL ? req->user : "");
		return -EINVAL;
	}
	if (strcmp(req->user, "smmsp") == 0) {
		snprintf(errbuf, errlen,
		    "refusing to use the 'smmsp' account: "
		    "it belongs to sendmail's submission program");
		return -EINVAL;
	}
	if (r->uid_min > r->uid_max || r->gid_min > r->gid_max) {
		snprintf(errbuf, errlen, "empty system id range");
		return -EINVAL;
	}
	if ((rc = ctx_init(&c, db, req->user)) == 0)
		rc = choose(&c, req, r, out, errbuf, errlen);
	free(c.uids.v);
	free(c.gids.v);
	return rc;
}

/* An id as in the account files, optionally in double quotes as
 * shadow-utils allows. */
static int
parse_num(char *s, unsigned long *vp)
{
	size_t len = strlen(s);

	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s[len - 1] = '\0';
		s++;
	}
	return dbfile_parse_id(s, vp) == 0 ? 0 : -EINVAL;
}

static int
logindefs_parse(char *buf, struct id_range *r)
{
	static const char *const keys[] = { "SYS_UID_MIN", "SYS_UID_MAX",
		"SYS_GID_MIN", "SYS_GID_MAX" };
	unsigned long v[4] = { 100, 999, 100, 999 };
	char *line, *key, *val, *save = NULL;
	size_t i;

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		key = line + strspn(line, " \t");
		if (*key == '#' || *key == '\0')
			continue;
		val = key + strcspn(key, " \t");
		if (*val != '\0')
			*val++ = '\0';
		val += strspn(val, " \t");
		val[strcspn(val, " \t\r")] = '\0';
		/* The last occurrence wins, as in shadow-utils. */
		for (i = 0; i < 4; i++)
			if (strcmp(key, keys[i]) == 0 &&
			    parse_num(val, &v[i]) < 0)
				return -EINVAL;
	}
	if (v[0] > v[1] || v[2] > v[3])
		return -EINVAL;
	r->uid_min = (uid_t)v[0];
	r->uid_max = (uid_t)v[1];
	r->gid_min = (gid_t)v[2];
	r->gid_max = (gid_t)v[3];
	return 0;
}

int
logindefs_read(int rootfd, struct id_range *r)
{
	char *buf = NULL;
	size_t len;
	int rc;

	r->uid_min = r->gid_min = 100;
	r->uid_max = r->gid_max = 999;
	rc = readfile_at(
	    rootfd, "etc/login.defs", LOGINDEFS_MAX - 1, &buf, &len, NULL);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	/* A NUL would hide the rest of the file from the parser. */
	rc = memchr(buf, '\0', len) != NULL ? -EINVAL : logindefs_parse(buf, r);
	free(buf);
	return rc;
}
