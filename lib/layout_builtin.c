/*
 * The built-in copy of share/layout, for when the data directory has none.
 * Keep it byte-identical to share/layout: tests/unit/test_layout.c fails
 * when the two differ.  No code reads modes from anywhere else.
 */
#include "layout.h"

/* One source line per manifest line, however long: easy to diff. */
/* clang-format off */
const char layout_builtin[] =
    "# relayctl layout: the account and every path \"relayctl setup\" applies and\n"
    "# \"relayctl check\" verifies.  Format: relayctl-layout(5).  For each path\n"
    "# the LAST matching line wins, so general \"**\" lines come first and the\n"
    "# named paths after them.\n"
    "\n"
    "# The relay's own account, as in sendmail's RunAsUser recipe: IDs 24/24\n"
    "# when they are free, no login, no password.\n"
    "account sendmail uid=24 gid=24 home=/var/spool/mqueue shell=/usr/sbin/nologin locked\n"
    "\n"
    "# The queue holds other people's mail: only the relay user may read it.\n"
    "# The relay writes here, so root must not trust anything it finds: only\n"
    "# plain files and directories (strict), and no ACL may widen access.\n"
    "path /var/spool/mqueue/**      dir  owner=@user group=@group mode=0700 strict noacl\n"
    "path /var/spool/mqueue/**      file owner=@user group=@group mode=0600 strict noacl\n"
    "path /var/spool/mqueue         dir  owner=@user group=@group mode=0700 strict noacl create\n"
    "# relayd writes new messages to tmp/, renames them into queue/, and moves\n"
    "# held messages to hold/; its queue runner sets aside in corrupt/ what\n"
    "# it must never deliver (a foreign, linked or malformed queue file).\n"
    "path /var/spool/mqueue/tmp     dir  owner=@user group=@group mode=0700 strict noacl create\n"
    "path /var/spool/mqueue/queue   dir  owner=@user group=@group mode=0700 strict noacl create\n"
    "path /var/spool/mqueue/hold    dir  owner=@user group=@group mode=0700 strict noacl create\n"
    "path /var/spool/mqueue/corrupt dir  owner=@user group=@group mode=0700 strict noacl create\n"
    "\n"
    "# Configuration: root owns it, the relay group may read it, the relay may\n"
    "# write none of it (a compromised relay must not reconfigure itself).\n"
    "# Relative rules keep whatever else the admin chose.  setgid directories\n"
    "# and the default ACL keep files made later (makemap) group-readable.\n"
    "path /etc/mail/**              dir  owner=root group=@group require=g+rx forbid=g+w,o+w setgid default-acl=@group:rX\n"
    "# A set-id program has no business in a configuration directory.\n"
    "path /etc/mail/**              file owner=root group=@group require=g+r forbid=g+w,o+w,u+s,g+s\n"
    "path /etc/mail                 dir  owner=root group=@group require=g+rx forbid=g+w,o+w setgid default-acl=@group:rX create\n"
    "path /etc/mail/relayd.conf     file owner=root group=@group mode=0640 sample=relayd.conf.sample\n"
    "# Private keys: root's alone.  relayd's master reads its TLS key as root\n"
    "# before any child exists, so the relay never needs to; no ACL may widen it.\n"
    "path /etc/mail/**/*.key        file owner=root group=root mode=0600 noacl\n"
    "# SMTP AUTH password hashes (auth_users, relayctl passwd): root's alone,\n"
    "# read by relayd's master before any child exists.\n"
    "path /etc/mail/relayd.passwd    file owner=root group=root mode=0600 noacl optional\n"
    "# Smarthost credentials (smarthost_auth): root's alone too; the master\n"
    "# reads them before any child exists.\n"
    "path /etc/mail/**/*.auth       file owner=root group=root mode=0600 noacl\n"
    "\n"
    "# Sendmail-compatible tools read the alias database as the relay group;\n"
    "# relayd itself never expands aliases, so they may be absent.\n"
    "path /etc/aliases*             file group=@group require=g+r forbid=g+w,o+w optional\n";
/* clang-format on */
