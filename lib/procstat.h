/*
 * procstat: the credentials, capability sets and parent of a process as
 * /proc/PID/status and /proc/PID/stat show them.  Parsing is pure; the
 * reader takes a directory fd of a proc root (the real /proc or a test
 * fixture), so check can audit processes without trusting their text.
 */
#ifndef RELAY_PROCSTAT_H
#define RELAY_PROCSTAT_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define PROCSTAT_NGROUPS 64 /* more supplementary groups: -E2BIG */
#define PROCSTAT_TEXT_MAX 16384 /* status files are ~1.5 KiB */

/* Bits of struct procstat.have: which lines the status text held. */
#define PROCSTAT_UID 0x01
#define PROCSTAT_GID 0x02
#define PROCSTAT_GROUPS 0x04
#define PROCSTAT_CAPS 0x08 /* all five Cap* lines */
#define PROCSTAT_NNP 0x10

struct procstat {
	pid_t pid, ppid; /* ppid from the stat file (0 if unread) */
	char state; /* 'R', 'S', 'Z', ... */
	unsigned long long starttime; /* clock ticks after boot */
	uid_t uid[4]; /* real, effective, saved, filesystem */
	gid_t gid[4];
	gid_t groups[PROCSTAT_NGROUPS];
	size_t ngroups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	int no_new_privs;
	unsigned have;
};

/*
 * Parse the text of /proc/PID/status (len bytes, NUL not needed) into
 * ps (zeroed first).  Lines it does not know are ignored; a known line
 * that is malformed gives -EINVAL, too many groups -E2BIG.
 */
int procstat_parse_status(const char *text, size_t len, struct procstat *ps);

/*
 * Parse /proc/PID/stat: "PID (COMM) STATE PPID ..." where COMM may hold
 * anything (the last ')' ends it).  Fills pid, state, ppid, starttime.
 */
int procstat_parse_stat(const char *text, size_t len, struct procstat *ps);

/*
 * Read and parse PID/status and PID/stat under procfd (O_PATH is fine),
 * without following symlinks.  -ENOENT when the process is gone.
 */
int procstat_read(int procfd, pid_t pid, struct procstat *ps);

/*
 * PID/cmdline (the process title, once setproctitle rewrote it) into buf,
 * NULs replaced by spaces and trailing blanks dropped, truncated to fit;
 * "" for a kernel thread or a zombie.
 */
int procstat_cmdline(int procfd, pid_t pid, char *buf, size_t len);

#endif
