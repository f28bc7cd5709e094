/*
 * idpolicy: which uid and gid the relay account gets.  Preferred ids are
 * used only when free; never join, reuse or rename an account or group
 * with another name, and never touch smmsp or its ids.
 */
#ifndef RELAY_IDPOLICY_H
#define RELAY_IDPOLICY_H

#include <sys/types.h>
#include <stddef.h>

struct accountdb;

struct id_range {
	uid_t uid_min, uid_max;
	gid_t gid_min, gid_max;
};

struct id_request {
	const char *user; /* account and primary group name, e.g. "sendmail" */
	uid_t uid;
	gid_t gid; /* preferred (24/24) or forced */
	int uid_forced, gid_forced;
	int strict; /* --strict-ids: refuse instead of falling back */
};

struct id_choice {
	uid_t uid;
	gid_t gid;
	int user_exists, group_exists;
	char why[256]; /* "" or one line explaining a fallback */
};

/*
 * etc/login.defs SYS_UID_MIN/MAX, SYS_GID_MIN/MAX; missing file or keys
 * give 100..999; a malformed number (decimal only) or min > max -EINVAL.
 */
int logindefs_read(int rootfd, struct id_range *r);

/*
 * A uid is free when no passwd line has it; a gid when no group line has it
 * and no other name's passwd line has it as primary gid (a new group on
 * that gid would adopt the user).  Fallback ids come from the top of r,
 * the same number for both when possible, as useradd -r does.
 * Returns 0; -EEXIST (strict conflict, or a forced id that belongs to
 * another name; errbuf says which); -ENOSPC no free id in range; -EINVAL
 * bad name or "smmsp".  errbuf gets one line without the options hint.
 */
int idpolicy_choose(const struct accountdb *db, const struct id_request *req,
    const struct id_range *r, struct id_choice *out, char *errbuf,
    size_t errlen);

#endif
