/*
 * relayd server: the submitter of a local connection (submit_socket).
 * Runs in the smtp child after the fork and before privdrop_apply(): it
 * asks the kernel for the peer's credentials (SO_PEERCRED, never anything
 * the client says) and reads ROOT/etc/passwd (root's file, through the
 * one safe reader) for the login name; not a byte of the connection.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accountdb.h"
#include "readfile.h"
#include "server_submit.h"

#define PASSWD_MAX (64 * 1024 * 1024) /* as accountdb */

/* The name field of the passwd line of uid in buf[0..len), or -ENOENT. */
static int
passwd_login(const char *buf, size_t len, uid_t uid, char *login, size_t cap)
{
	const char *p = buf, *end = buf + len, *nl, *f[4];
	char num[16], *e;
	unsigned long v;
	size_t i, n;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		/* name:passwd:uid: */
		f[0] = p;
		for (i = 1; i < 4; i++) {
			f[i] = memchr(f[i - 1], ':', (size_t)(nl - f[i - 1]));
			if (f[i] == NULL)
				break;
			f[i]++;
		}
		if (i < 4 || (n = (size_t)(f[3] - f[2] - 1)) == 0 ||
		    n >= sizeof(num))
			continue;
		memcpy(num, f[2], n);
		num[n] = '\0';
		errno = 0;
		v = strtoul(num, &e, 10);
		if (*e != '\0' || errno != 0 || num[0] == '-' ||
		    (uid_t)v != uid || v != (unsigned long)uid)
			continue;
		n = (size_t)(f[1] - f[0] - 1);
		if (n == 0 || n >= cap)
			return -ENAMETOOLONG;
		memcpy(login, f[0], n);
		login[n] = '\0';
		/* It goes into an address and a header: a plain name only. */
		return accountdb_name_valid(login) ? 0 : -EINVAL;
	}
	return -ENOENT;
}

int
server_submit_peer(const struct master *m, int fd, struct session_submit *sub,
    char *why, size_t len)
{
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	const char *dom;
	char *buf = NULL;
	size_t blen;
	int rv, n;

	memset(sub, 0, sizeof(*sub));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
	    crlen != sizeof(cr)) {
		rv = -errno;
		(void)snprintf(why, len, "SO_PEERCRED: %s", strerror(errno));
		return rv;
	}
	sub->uid = cr.uid;
	rv =
	    readfile_at(m->rootfd, "etc/passwd", PASSWD_MAX, &buf, &blen, NULL);
	if (rv < 0) {
		(void)snprintf(why, len, "uid=%lu: cannot read etc/passwd: %s",
		    (unsigned long)cr.uid, readfile_strerror(rv));
		return rv;
	}
	rv = passwd_login(buf, blen, cr.uid, sub->login, sizeof(sub->login));
	free(buf);
	if (rv < 0) {
		(void)snprintf(why, len, "uid=%lu: %s in etc/passwd",
		    (unsigned long)cr.uid,
		    rv == -ENOENT ? "no account" : "unusable login name");
		return rv;
	}
	dom = m->cfg.masquerade_domain[0] != '\0' ? m->cfg.masquerade_domain
						  : m->cfg.hostname;
	n = snprintf(sub->own, sizeof(sub->own), "%s@%s", sub->login, dom);
	if (n < 0 || (size_t)n >= sizeof(sub->own)) {
		(void)snprintf(why, len, "uid=%lu: address too long",
		    (unsigned long)cr.uid);
		return -ENAMETOOLONG;
	}
	sub->any_sender = cr.uid == 0 || m->cfg.local_senders_any;
	return 0;
}
