/*
 * The manifest ("layout"): the relay account and every managed path with
 * its owner, group, mode rule and flags.  share/layout is the one list that
 * both "setup" applies and "check" verifies; see relayctl-layout(5).
 */
#ifndef RELAY_LAYOUT_H
#define RELAY_LAYOUT_H

#include <limits.h>
#include <sys/types.h>

#include "mode.h"

enum layout_type { LAYOUT_DIR, LAYOUT_FILE };

/*
 * Where and why a manifest was refused.  msg starts with the key it is
 * about, lower-case: "mode: files never get execute or set-id bits".
 * line 0 means the whole file (e.g. "account: missing account line").
 */
struct layout_error {
	char file[256];
	size_t line;
	char msg[192];
};

struct layout_account {
	char name[33];
	uid_t uid;
	gid_t gid;
	char home[PATH_MAX];
	char shell[PATH_MAX];
	int locked;
};

struct layout_rule {
	/*
	 * Absolute; components may hold fnmatch(3) globs; a "**" component
	 * matches zero or more components.
	 */
	char pattern[PATH_MAX];
	enum layout_type type;
	char owner[33]; /* "" = any; "@user" = the relay account; else a name */
	char group[33]; /* "" = any; "@group" = the relay group; else a name */
	struct moderule mode;
	int create; /* dir: mkdir when missing (parents created root 0755) */
	int optional; /* absence is not a finding */
	/*
	 * Only regular files and directories may appear at/under matches
	 * (spool): symlinks, devices, fifos, sockets are unsafe.
	 */
	int strict;
	int noacl; /* extended ACL entries (access or default) must go */
	char sample[64]; /* file: installed from DATADIR/<sample> when absent */
	/*
	 * dir: "@group:rX" or "@user:rwx": default ACL entry for the relay
	 * group (or user) with these perms, each of r, w, x, X at most once.
	 */
	char default_acl[64];
	size_t line;
};

struct layout {
	struct layout_account account;
	struct layout_rule *rules;
	size_t nrules;
};

/* A copy of share/layout compiled in (lib/layout_builtin.c). */
extern const char layout_builtin[];

/* Largest manifest layout_load() accepts, and the longest line. */
#define LAYOUT_MAX_SIZE (1024 * 1024)
#define LAYOUT_MAX_LINE 1024

/*
 * Parses text (len bytes, NUL not required); fname only names the source
 * in err.  0 and *out on success (free with layout_free), else -EINVAL
 * (or -ENOMEM) with err filled.
 */
int layout_parse(const char *text, size_t len, const char *fname,
    struct layout **out, struct layout_error *err);
/*
 * openat(dirfd, path, O_RDONLY|O_NOFOLLOW|O_CLOEXEC), reads, parses; dirfd
 * may be AT_FDCWD.  Refuses non-regular files, and (-EPERM) a file or
 * directory writable by group or others or owned by neither root nor us.
 */
int layout_load(
    int dirfd, const char *path, struct layout **out, struct layout_error *err);
void layout_free(struct layout *l);
/*
 * The one way an error is shown: "FILE:LINE: MSG" (no ":LINE" when line
 * is 0), truncated to fit len.
 */
void layout_error_format(const struct layout_error *e, char *buf, size_t len);

/* The LAST rule of that type whose pattern matches path, or NULL. */
const struct layout_rule *layout_match(
    const struct layout *l, const char *path, enum layout_type type);
/*
 * 1 if some rule's pattern could match a path strictly below dirpath
 * ("/" is the top), else 0.
 */
int layout_may_descend(const struct layout *l, const char *dirpath);
/*
 * 1 if path equals a rule's pattern or a leading run of literal (glob-free,
 * non-"**") components of one ("/" included), else 0.
 */
int layout_is_literal(const struct layout *l, const char *path);

/*
 * Internal to the module: shared by layout.c (parser) and layout_match.c
 * (matcher) only.
 */
#define LAYOUT_MAXCOMP (PATH_MAX / 2 + 1)

/* A clean absolute path split into components ("/" has none). */
struct layout_comps {
	char buf[PATH_MAX];
	const char *c[LAYOUT_MAXCOMP];
	size_t n;
};

int layout_comps_split(const char *path, struct layout_comps *cp);
int layout_is_literal_comp(const char *c);

#endif
