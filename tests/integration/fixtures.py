#!/usr/bin/python3
"""Fixture roots for the relayctl integration tests and tests/quickstart.

Each builder fills an empty directory so that it looks like the parts of a
Debian 12 system that `relayctl setup --root DIR` reads and changes: the
account databases, login.defs, /etc/mail and the spool.  Ownership is
numeric on purpose: the fixture never consults the host's databases.

    /usr/bin/python3 tests/integration/fixtures.py debian|clean|existing DIR
"""

import os
import sys

SHADOW_GID = 42
LASTCHG = 19700  # days since the epoch, any fixed date in the past

# Debian 12 base-passwd (/usr/share/base-passwd/passwd.master), shadowed.
DEBIAN_PASSWD = [
    "root:x:0:0:root:/root:/bin/bash",
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
    "bin:x:2:2:bin:/bin:/usr/sbin/nologin",
    "sys:x:3:3:sys:/dev:/usr/sbin/nologin",
    "sync:x:4:65534:sync:/bin:/bin/sync",
    "games:x:5:60:games:/usr/games:/usr/sbin/nologin",
    "man:x:6:12:man:/var/cache/man:/usr/sbin/nologin",
    "lp:x:7:7:lp:/var/spool/lpd:/usr/sbin/nologin",
    "mail:x:8:8:mail:/var/mail:/usr/sbin/nologin",
    "news:x:9:9:news:/var/spool/news:/usr/sbin/nologin",
    "uucp:x:10:10:uucp:/var/spool/uucp:/usr/sbin/nologin",
    "proxy:x:13:13:proxy:/bin:/usr/sbin/nologin",
    "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin",
    "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin",
    "list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin",
    "irc:x:39:39:ircd:/run/ircd:/usr/sbin/nologin",
    "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin",
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
]

# Debian 12 base-passwd (/usr/share/base-passwd/group.master), shadowed.
DEBIAN_GROUP = [
    "root:x:0:", "daemon:x:1:", "bin:x:2:", "sys:x:3:", "adm:x:4:",
    "tty:x:5:", "disk:x:6:", "lp:x:7:", "mail:x:8:", "news:x:9:",
    "uucp:x:10:", "man:x:12:", "proxy:x:13:", "kmem:x:15:",
    "dialout:x:20:", "fax:x:21:", "voice:x:22:", "cdrom:x:24:",
    "floppy:x:25:", "tape:x:26:", "sudo:x:27:", "audio:x:29:", "dip:x:30:",
    "www-data:x:33:", "backup:x:34:", "operator:x:37:", "list:x:38:",
    "irc:x:39:", "src:x:40:", "shadow:x:42:", "utmp:x:43:", "video:x:44:",
    "sasl:x:45:", "plugdev:x:46:", "staff:x:50:", "games:x:60:",
    "users:x:100:", "nogroup:x:65534:",
]

LOGIN_DEFS = """\
# /etc/login.defs - Configuration control definitions for the login package.
MAIL_DIR        /var/mail
FAILLOG_ENAB		yes
LOG_UNKFAIL_ENAB	no
LOG_OK_LOGINS		no
SYSLOG_SU_ENAB		yes
SYSLOG_SG_ENAB		yes
FTMP_FILE	/var/log/btmp
SU_NAME		su
HUSHLOGIN_FILE	.hushlogin
ENV_SUPATH	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV_PATH	PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games
TTYGROUP	tty
TTYPERM		0600
UMASK		022
PASS_MAX_DAYS	99999
PASS_MIN_DAYS	0
PASS_WARN_AGE	7
UID_MIN			 1000
UID_MAX			60000
SYS_UID_MIN		  100
SYS_UID_MAX		  999
GID_MIN			 1000
GID_MAX			60000
SYS_GID_MIN		  100
SYS_GID_MAX		  999
LOGIN_RETRIES		5
LOGIN_TIMEOUT		60
CHFN_RESTRICT		rwh
DEFAULT_HOME	yes
USERGROUPS_ENAB yes
ENCRYPT_METHOD SHA512
NONEXISTENT	/nonexistent
"""

# Files under /etc/mail before setup: (relative path, mode, content).
ETC_MAIL_FILES = [
    ("etc/mail/sendmail.cf", 0o644, "# sendmail.cf placeholder\nO QueueDirectory=/var/spool/mqueue\n"),
    ("etc/mail/access", 0o644, "Connect:localhost RELAY\n"),
    ("etc/mail/local-host-names", 0o644, "localhost\n"),
    ("etc/mail/tls/relay.key", 0o644, "-----BEGIN PRIVATE KEY-----\nnot a real key\n-----END PRIVATE KEY-----\n"),
]

# The spool before setup: root-owned, too open, as an old install leaves it.
SPOOL = "var/spool/mqueue"
SPOOL_FILES = [
    (SPOOL + "/qfA1B2C3", 0o644, "V8\nT1700000000\nRjoe@example.org\n"),
    (SPOOL + "/dfA1B2C3", 0o644, "Subject: hi\n\nhello\n"),
    (SPOOL + "/old/xfA1B2C3", 0o640, "transcript\n"),
]


def write(root, rel, content, mode=0o644, uid=0, gid=0):
    """Write ROOT/rel with exactly this mode and numeric owner."""
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return path


def mkdir(root, rel, mode=0o755, uid=0, gid=0):
    path = os.path.join(root, rel)
    os.makedirs(path, mode=0o755, exist_ok=True)
    os.chown(path, uid, gid, follow_symlinks=False)
    os.chmod(path, mode)
    return path


def lines(seq):
    return "".join(line + "\n" for line in seq)


def shadow_line(name, password="*"):
    return "%s:%s:%d:0:99999:7:::" % (name, password, LASTCHG)


def write_accounts(root, passwd, group, shadow_pw=None, gshadow_members=None):
    """The four databases with Debian's modes: shadow files root:shadow 0640.

    shadow_pw maps a user name to its password field (default "*");
    gshadow_members maps a group name to its member list.
    """
    shadow_pw = shadow_pw or {}
    gshadow_members = gshadow_members or {}
    mkdir(root, "etc")
    write(root, "etc/passwd", lines(passwd))
    write(root, "etc/group", lines(group))
    users = [p.split(":")[0] for p in passwd]
    write(root, "etc/shadow",
          lines(shadow_line(u, shadow_pw.get(u, "*")) for u in users),
          mode=0o640, gid=SHADOW_GID)
    gs = []
    for g in group:
        name = g.split(":")[0]
        gs.append("%s:*::%s" % (name, gshadow_members.get(name, "")))
    write(root, "etc/gshadow", lines(gs), mode=0o640, gid=SHADOW_GID)
    write(root, "etc/login.defs", LOGIN_DEFS)


def write_tree(root):
    """Everything besides the accounts: /etc/mail, aliases, the spool."""
    for d in ("var", "var/spool", "var/mail", "etc/mail", "etc/mail/tls"):
        mkdir(root, d)
    for rel, mode, content in ETC_MAIL_FILES:
        write(root, rel, content, mode)
    write(root, "etc/aliases", "postmaster: root\n")
    mkdir(root, SPOOL, 0o755)
    mkdir(root, SPOOL + "/old", 0o755)
    for rel, mode, content in SPOOL_FILES:
        write(root, rel, content, mode)


def build_debian(root):
    """A Debian 12 root: GID 24 is cdrom, 25 floppy; sendmail absent."""
    write_accounts(root, DEBIAN_PASSWD, DEBIAN_GROUP)
    write_tree(root)


def build_clean(root):
    """Like debian, without any user or group with ID 24 or 25."""
    def free(line):
        return line.split(":")[2] not in ("24", "25")
    write_accounts(root, [p for p in DEBIAN_PASSWD if free(p)],
                   [g for g in DEBIAN_GROUP if free(g)])
    write_tree(root)


EXISTING_UID = 998
EXISTING_HASH = "$6$saltsalt$ZbHRM5ffWq2mrt3yCaqF2vCP1NQOfHeuF8x6rCtkXh3cY2ZbjvvIIUqSAwK4e4Q6RG0xUTkpjxW0hbzWSd6NL1"


def build_existing(root):
    """Debian plus a drifted sendmail account: login shell, home under
    /home, a usable password, and a member of staff."""
    passwd = DEBIAN_PASSWD[:-1] + [
        "sendmail:x:%d:%d:Sendmail:/home/sendmail:/bin/bash"
        % (EXISTING_UID, EXISTING_UID), DEBIAN_PASSWD[-1]]
    group = []
    for g in DEBIAN_GROUP:
        if g.startswith("staff:"):
            g = "staff:x:50:sendmail"
        if g.startswith("nogroup:"):
            group.append("sendmail:x:%d:" % EXISTING_UID)
        group.append(g)
    write_accounts(root, passwd, group,
                   shadow_pw={"sendmail": EXISTING_HASH},
                   gshadow_members={"staff": "sendmail"})
    write_tree(root)


def add_users(root, count, first=2000):
    """Append COUNT ordinary users, each with a personal group, to all four
    databases: makes every database file several pages long."""
    adds = {"passwd": [], "group": [], "shadow": [], "gshadow": []}
    for i in range(count):
        name, uid = "user%05d" % i, first + i
        adds["passwd"].append("%s:x:%d:%d:User %d:/home/%s:/bin/bash"
                              % (name, uid, uid, i, name))
        adds["group"].append("%s:x:%d:" % (name, uid))
        adds["shadow"].append(shadow_line(name, "!"))
        adds["gshadow"].append("%s:!::" % name)
    for db, new in adds.items():
        path = os.path.join(root, "etc", db)
        with open(path, "a") as f:
            f.write(lines(new))


BUILDERS = {
    "debian": build_debian,
    "clean": build_clean,
    "existing": build_existing,
}


def build(kind, root):
    BUILDERS[kind](root)
    return root


def main(argv):
    if len(argv) != 3 or argv[1] not in BUILDERS:
        sys.stderr.write("usage: fixtures.py %s DIR\n" % "|".join(BUILDERS))
        return 64
    root = argv[2]
    os.makedirs(root, mode=0o755, exist_ok=True)
    if os.listdir(root):
        sys.stderr.write("fixtures.py: %s: not empty\n" % root)
        return 1
    build(argv[1], root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
