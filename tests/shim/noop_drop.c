/*
 * Test-only LD_PRELOAD library (never installed): setgroups(), setresgid()
 * and setresuid() report success and change nothing, as a kernel or a
 * seccomp filter that lies would. A relayd child run under it must notice
 * that the drop did not happen (privdrop_verify) and refuse to serve:
 * that is what proves the verification is on the child's path.
 */
#include <sys/types.h>

#include <grp.h>
#include <unistd.h>

int
setgroups(size_t n, const gid_t *list)
{
	(void)n;
	(void)list;
	return 0;
}

int
setresgid(gid_t r, gid_t e, gid_t s)
{
	(void)r;
	(void)e;
	(void)s;
	return 0;
}

int
setresuid(uid_t r, uid_t e, uid_t s)
{
	(void)r;
	(void)e;
	(void)s;
	return 0;
}
