/*
 * Generic colon-separated account files (passwd, group, shadow, gshadow):
 * raw line storage, field splitting (dbfile.c), shadow-utils locking and
 * atomic replacement (dbcommit.c).  Used only by accountdb.c.
 */
#ifndef RELAY_DBFILE_H
#define RELAY_DBFILE_H

#include <sys/types.h>
#include <sys/stat.h>
#include <stddef.h>

struct db_error;

/* A line may hold at most DBFILE_LINE_MAX bytes counting its '\n'. */
#define DBFILE_LINE_MAX 4096
/* Hard cap on a whole file; a bigger one is refused (-EFBIG). */
#define DBFILE_SIZE_MAX (64UL << 20)
/* Highest id we accept: (uid_t)-1 is "no id" to the kernel. */
#define DBFILE_ID_MAX 4294967294UL

struct dbfile_spec {
	const char *name; /* "passwd", relative to the etc directory */
	size_t nfields;
	int uidfield; /* index of a uid field, or -1 */
	int gidfield; /* index of a gid field, or -1 */
	int listfield; /* index of a ','-separated member list, or -1 */
};

struct dbline {
	char *raw; /* the line without '\n', NUL-terminated */
	size_t len;
	char *buf; /* raw split at ':' (NULL: verbatim line) */
	char **fields;
	size_t nfields;
	char *lbuf; /* the list field split at ',' */
	char **list;
	size_t nlist;
};

struct dbfile {
	const struct dbfile_spec *spec;
	int present;
	int dirty;
	int final_nl; /* the last line ended with '\n' */
	struct dbline *lines;
	size_t nlines, linecap;
	size_t *ent; /* indices of parsed (non-verbatim) lines */
	size_t nent, entcap;
	char *old; /* the bytes on disk, for the backup and -ESTALE */
	size_t oldlen;
	struct stat st;
	char *pending; /* new bytes written to <file>+, not renamed yet */
	size_t pendlen;
	struct stat pendst;
};

int dbfile_parse_id(const char *s, unsigned long *idp);
int dbfile_load(int etcfd, const struct dbfile_spec *spec, int optional,
    struct dbfile *f, struct db_error *err);
void dbfile_free(struct dbfile *f);
ssize_t dbfile_find(const struct dbfile *f, const char *name);
int dbfile_append(struct dbfile *f, const char *const *fields);
int dbfile_replace_line(struct dbfile *f, size_t li, const char *const *fields);
int dbfile_set_field(struct dbfile *f, size_t li, size_t fi, const char *value);
int dbfile_pwdlock(
    int etcfd, unsigned int timeout_ms, int *fdp, struct db_error *err);
int dbfile_lock(int etcfd, const struct dbfile *f, struct db_error *err);
void dbfile_unlock(int etcfd, const struct dbfile *f);
int dbfile_check(int etcfd, struct dbfile *f, struct db_error *err);
/*
 * Commit in two steps so that a full disk changes no database: prepare
 * writes the backup and <file>+ for every file, install then renames each
 * <file>+ over its file; discard removes a prepared <file>+.
 */
int dbfile_prepare(int etcfd, struct dbfile *f, struct db_error *err);
int dbfile_install(int etcfd, struct dbfile *f, struct db_error *err);
void dbfile_discard(int etcfd, struct dbfile *f);

/* Internal to the module: shared by dbfile.c and dbcommit.c only. */
int dbfile_err(struct db_error *err, const char *name, size_t line, int r,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int dbfile_open_ro(int etcfd, const char *name);

#endif
