"""Fixtures for `relayctl check`: one mutation per finding id.

Each MUTATIONS entry takes a root that `relayctl setup --root` has just
brought to the layout (a `clean` fixture root, so the relay account is
sendmail 24/24) and breaks exactly one thing; EXPECT gives the finding id
it must produce and the exit status.  fake_proc() builds ROOT/proc, the
fixture that stands in for /proc (check uses ROOT/proc when it exists).
"""

import os
import stat
import subprocess

import fixtures

UID = GID = 24
SPOOL = "var/spool/mqueue"
CONF = "etc/mail/relayd.conf"


def p(root, rel):
    return os.path.join(root, rel)


def edit_db(root, name, fn):
    """Rewrite ROOT/etc/NAME line by line (fn returns a line or None)."""
    path = p(root, "etc/" + name)
    with open(path) as f:
        old = f.read().splitlines()
    new = [x for x in (fn(ln) for ln in old) if x is not None]
    with open(path, "w") as f:
        f.write("".join(x + "\n" for x in new))


def set_field(root, db, user, index, value):
    def fn(ln):
        parts = ln.split(":")
        if parts[0] == user:
            parts[index] = value
        return ":".join(parts)
    edit_db(root, db, fn)


def add_member(root, group, user="sendmail"):
    for db, idx in (("group", 3), ("gshadow", 3)):
        def fn(ln):
            parts = ln.split(":")
            if parts[0] == group:
                parts[idx] = ",".join(x for x in (parts[idx], user) if x)
            return ":".join(parts)
        edit_db(root, db, fn)


def append(root, db, line):
    with open(p(root, "etc/" + db), "a") as f:
        f.write(line + "\n")


def add_user(root, name, uid, gid):
    append(root, "passwd", "%s:x:%d:%d::/nonexistent:/usr/sbin/nologin"
           % (name, uid, gid))
    append(root, "shadow", fixtures.shadow_line(name))


def write_conf(root, **kv):
    """relayd.conf (root:relay group 0640) with these keys."""
    text = "[relayd]\nhostname = relay.test\nlisten = 127.0.0.1:10025\n"
    text += "".join("%s = %s\n" % (k, v) for k, v in kv.items())
    fixtures.write(root, CONF, text, 0o640, 0, GID)


def mail_file(root, name, text):
    """A file under /etc/mail the way the layout wants it."""
    fixtures.write(root, "etc/mail/" + name, text, 0o640, 0, GID)


def setfacl(*args):
    subprocess.run(["setfacl"] + list(args), check=True)


# ------------------------------------------------------------ account

def account_missing(root):
    edit_db(root, "passwd", lambda ln: None if ln.startswith("sendmail:")
            else ln)
    edit_db(root, "shadow", lambda ln: None if ln.startswith("sendmail:")
            else ln)


def account_shell(root):
    set_field(root, "passwd", "sendmail", 6, "/bin/bash")


def account_home(root):
    set_field(root, "passwd", "sendmail", 5, "/home/sendmail")


def account_gid(root):
    set_field(root, "passwd", "sendmail", 3, "100")  # users


def account_gid_privileged(root):
    set_field(root, "passwd", "sendmail", 3, "27")  # sudo


def account_password(root):
    set_field(root, "shadow", "sendmail", 1, fixtures.EXISTING_HASH)


def account_groups(root):
    add_member(root, "users")


def account_groups_privileged(root):
    add_member(root, "shadow")


def account_shared_id(root):
    add_user(root, "other", UID, 100)


def account_smmsp(root):
    add_user(root, "smmsp", UID, 100)


# ------------------------------------------------------------ paths

def path_missing(root):
    os.rmdir(p(root, SPOOL + "/hold"))


def path_owner(root):
    os.chown(p(root, SPOOL + "/queue"), 0, GID)


def path_owner_foreign(root):
    os.chown(p(root, SPOOL + "/qfA1B2C3"), 1000, GID)


def path_group(root):
    os.chown(p(root, CONF), 0, 0)


def path_mode(root):
    os.chmod(p(root, SPOOL), 0o750)


def path_setgid(root):
    os.chmod(p(root, "etc/mail/tls"),
             stat.S_IMODE(os.stat(p(root, "etc/mail/tls")).st_mode) & ~0o2000)


def path_setuid(root):
    os.chmod(p(root, SPOOL + "/qfA1B2C3"), 0o4600)


def key_readable(root):
    os.chmod(p(root, "etc/mail/tls/relay.key"), 0o640)


def path_symlink(root):
    os.symlink("/etc/shadow", p(root, SPOOL + "/queue/evil"))


def path_hardlink(root):
    os.link(p(root, SPOOL + "/qfA1B2C3"), p(root, SPOOL + "/queue/x"))


def path_too_deep(root):
    """70 levels under queue/, each as the relay would make it."""
    d = p(root, SPOOL + "/queue")
    for _ in range(70):
        d = os.path.join(d, "n")
        os.mkdir(d)
        os.chmod(d, 0o700)
        os.chown(d, UID, GID)


def path_type(root):
    os.mkfifo(p(root, SPOOL + "/queue/fifo"), 0o600)
    os.chown(p(root, SPOOL + "/queue/fifo"), UID, GID)


def path_other_fs(root):
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "mode=0700,uid=%d,gid=%d,size=64k" % (UID, GID),
                    "tmpfs", p(root, SPOOL + "/old")], check=True)


def acl_extended(root):
    # ---: the mask stays ---, so the mode bits do not change
    setfacl("-m", "u:1000:---", p(root, SPOOL + "/qfA1B2C3"))


def acl_default(root):
    setfacl("-k", p(root, "etc/mail/tls"))


# ------------------------------------------------------------ spool

QID, QID2 = "1K13M7DWXVW00FES", "1K13M7DWXVW00FET"


def queue_file(qid):
    """A well-formed relayd-queue(5) file."""
    msg = b"Subject: planted\r\n\r\nhello\r\n"
    return ("relayd-queue 1\nid %s\narrival 1700000000\nclient 192.0.2.1 "
            "client.example\nsender <a@example.net>\nrcpt <b@example.org> "
            "pending\nattempts 0\nnext-try 0\nsize %d\n\n"
            % (qid, len(msg))).encode() + msg


def plant(root, where, qid, uid=UID, gid=GID, mode=0o600):
    path = p(root, "%s/%s/%s" % (SPOOL, where, qid))
    with open(path, "wb") as f:
        f.write(queue_file(qid))
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


def spool_unsafe_dir(root):
    os.chmod(p(root, SPOOL), 0o777)


def spool_unsafe_dir_group(root):
    os.chown(p(root, SPOOL + "/queue"), UID, 100)  # users
    os.chmod(p(root, SPOOL + "/queue"), 0o770)


def spool_unsafe_dir_parent(root):
    os.chmod(p(root, "var/spool"), 0o757)


def spool_unsafe_dir_owner(root):
    os.chown(p(root, SPOOL + "/hold"), 1000, GID)


def spool_foreign_file(root):
    plant(root, "queue", QID, uid=1000, mode=0o644)


def spool_foreign_file_hardlink(root):
    os.link(plant(root, "queue", QID), p(root, SPOOL + "/queue/" + QID2))


def spool_foreign_file_mode(root):
    plant(root, "hold", QID, mode=0o640)


# ------------------------------------------------------------ trust

def trust_owner(root):
    os.chown(p(root, "etc"), UID, 0)


def trust_writable(root):
    setfacl("-m", "g:%d:rwx" % GID, p(root, "etc"))


def trust_writable_mode(root):
    os.chown(p(root, "run"), 0, GID)
    os.chmod(p(root, "run"), 0o775)


# ------------------------------------------------------------ config

def config_invalid(root):
    write_conf(root, bogus_key="1")


def config_run_as(root):
    write_conf(root, run_as="nobody")


def config_spool(root):
    write_conf(root, spool="/var/tmp")


# ------------------------------------------------------------ environment

def sendmail_cf(root, extra=""):
    mail_file(root, "sendmail.cf", "# sendmail.cf\n" + extra)


def env_hands_off(root):
    mail_file(root, "sendmail.conf", 'HANDS_OFF="No";\n')
    sendmail_cf(root, "O QueueDirectory=/var/spool/mqueue-sendmail\n")


def env_sendmail_queue(root):
    mail_file(root, "sendmail.conf", '# Debian\nHANDS_OFF="Yes";\n')
    sendmail_cf(root, "O QueueDirectory=/var/spool/mqueue\n")


def env_runasuser(root):
    sendmail_cf(root, "O QueueDirectory=/var/spool/mqueue\n"
                "O RunAsUser=smmta:smmsp\n")


def env_runasuser_mc(root):
    mail_file(root, "sendmail.mc",
              "divert(-1)dnl\ndefine(`confRUN_AS_USER', `mail:mail')dnl\n")


def env_protected_hardlinks(root):
    fake_sysctls(root, hardlinks=0)


def fake_sysctls(root, hardlinks=1, symlinks=1, regular=2):
    d = p(root, "proc/sys/fs")
    os.makedirs(d, exist_ok=True)
    for name, v in (("protected_hardlinks", hardlinks),
                    ("protected_symlinks", symlinks),
                    ("protected_regular", regular)):
        with open(os.path.join(d, name), "w") as f:
            f.write("%d\n" % v)


# ------------------------------------------------------------ tls

TLS_DIR = "etc/ssl/relayd"  # outside the layout: only the tls.* rules


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def tls_files(root, days=30, other_key=False, key_mode=0o600, key_gid=0):
    """A self-signed certificate valid for days (-1: expired yesterday)
    and a key (another one with other_key) in ROOT/TLS_DIR, named in
    relayd.conf."""
    d = p(root, TLS_DIR)
    os.makedirs(d, mode=0o755, exist_ok=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    openssl("req", *ec, "-keyout", "k.key", "-out", "c.csr", "-subj",
            "/CN=relay.test", cwd=d)
    openssl("x509", "-req", "-in", "c.csr", "-signkey", "k.key", "-days",
            str(days), "-out", "relay.pem", cwd=d)
    if other_key:
        openssl("req", *ec, "-keyout", "k.key", "-out", "c.csr", "-subj",
                "/CN=other", cwd=d)
    with open(os.path.join(d, "k.key"), "rb") as f:
        key = f.read()
    for name in ("k.key", "c.csr"):
        os.unlink(os.path.join(d, name))
    os.chmod(os.path.join(d, "relay.pem"), 0o644)
    fixtures.write(root, TLS_DIR + "/relay.key", key, key_mode, 0, key_gid)
    write_conf(root, tls_cert="/%s/relay.pem" % TLS_DIR,
               tls_key="/%s/relay.key" % TLS_DIR)


def tls_key_readable(root):
    tls_files(root, key_mode=0o640, key_gid=GID)


def tls_key_readable_other(root):
    tls_files(root, key_mode=0o604)


def tls_cert_expired(root):
    tls_files(root, days=-1)


def tls_cert_expiring(root):
    tls_files(root, days=10)


def tls_key_mismatch(root):
    tls_files(root, other_key=True)


def tls_unreadable(root):
    tls_files(root)
    with open(p(root, TLS_DIR + "/relay.pem"), "w") as f:
        f.write("not a certificate\n")


# id -> (mutation, exit status, severity)
EXPECT = {
    "account.missing": (account_missing, 2, "drift"),
    "account.shell": (account_shell, 2, "drift"),
    "account.home": (account_home, 2, "drift"),
    "account.gid": (account_gid, 2, "drift"),
    "account.gid/privileged": (account_gid_privileged, 3, "unsafe"),
    "account.password": (account_password, 2, "drift"),
    "account.groups": (account_groups, 2, "drift"),
    "account.groups/privileged": (account_groups_privileged, 3, "unsafe"),
    "account.shared-id": (account_shared_id, 3, "unsafe"),
    "account.smmsp": (account_smmsp, 3, "unsafe"),
    "path.missing": (path_missing, 2, "drift"),
    "path.owner": (path_owner, 2, "drift"),
    "path.owner/foreign": (path_owner_foreign, 3, "unsafe"),
    "path.group": (path_group, 2, "drift"),
    "path.mode": (path_mode, 2, "drift"),
    "path.setgid": (path_setgid, 2, "drift"),
    "path.setuid": (path_setuid, 2, "drift"),
    "key.readable": (key_readable, 2, "drift"),
    "path.symlink": (path_symlink, 3, "unsafe"),
    "path.hardlink": (path_hardlink, 3, "unsafe"),
    "path.type": (path_type, 3, "unsafe"),
    "path.other-fs": (path_other_fs, 3, "unsafe"),
    "path.too-deep": (path_too_deep, 3, "unsafe"),
    "acl.extended": (acl_extended, 2, "drift"),
    "acl.default": (acl_default, 2, "drift"),
    "spool.unsafe_dir": (spool_unsafe_dir, 3, "unsafe"),
    "spool.unsafe_dir/group": (spool_unsafe_dir_group, 3, "unsafe"),
    "spool.unsafe_dir/parent": (spool_unsafe_dir_parent, 3, "unsafe"),
    "spool.unsafe_dir/owner": (spool_unsafe_dir_owner, 3, "unsafe"),
    "spool.foreign_file": (spool_foreign_file, 3, "unsafe"),
    "spool.foreign_file/hardlink": (spool_foreign_file_hardlink, 3,
                                    "unsafe"),
    "spool.foreign_file/mode": (spool_foreign_file_mode, 3, "unsafe"),
    "trust.owner": (trust_owner, 3, "unsafe"),
    "trust.writable": (trust_writable, 3, "unsafe"),
    "trust.writable/mode": (trust_writable_mode, 3, "unsafe"),
    "config.invalid": (config_invalid, 3, "unsafe"),
    "config.run-as": (config_run_as, 3, "unsafe"),
    "config.spool": (config_spool, 3, "unsafe"),
    "env.sendmail-hands-off": (env_hands_off, 3, "unsafe"),
    "env.sendmail-queue": (env_sendmail_queue, 3, "unsafe"),
    "env.sendmail-runasuser": (env_runasuser, 3, "unsafe"),
    "env.sendmail-runasuser/mc": (env_runasuser_mc, 3, "unsafe"),
    "env.protected-hardlinks": (env_protected_hardlinks, 0, "advice"),
    "tls.key_readable": (tls_key_readable, 3, "unsafe"),
    "tls.key_readable/other": (tls_key_readable_other, 3, "unsafe"),
    "tls.cert_expired": (tls_cert_expired, 3, "unsafe"),
    "tls.cert_expiring": (tls_cert_expiring, 3, "unsafe"),
    "tls.key_mismatch": (tls_key_mismatch, 3, "unsafe"),
    "tls.unreadable": (tls_unreadable, 3, "unsafe"),
}


# ------------------------------------------------------------ fake /proc

MASTER_CAPS = 0x404e0
MASTER, CHILD = 4242, 4243
LISTEN_INODE = 91111


def status_text(uid, gid, groups="", inh=0, prm=0, eff=0, bnd=0, amb=0,
                nnp=1, name="relayd"):
    ids = lambda v: "\t".join([str(v)] * 4)  # noqa: E731
    return ("Name:\t%s\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\n"
            "Uid:\t%s\nGid:\t%s\nFDSize:\t64\nGroups:\t%s\n"
            "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\n"
            "CapBnd:\t%016x\nCapAmb:\t%016x\nNoNewPrivs:\t%d\n"
            "Seccomp:\t0\n" % (name, ids(uid) if isinstance(uid, int)
                               else uid, ids(gid) if isinstance(gid, int)
                               else gid, groups, inh, prm, eff, bnd, amb,
                               nnp))


def stat_text(pid, ppid, state="S", start=1000):
    rest = " ".join(["0"] * 17)
    return "%d (relayd) %s %d %d %s %d 0 0\n" % (
        pid, state, ppid, pid, rest, start)


def fake_process(root, pid, ppid, status, title, sockets=()):
    d = p(root, "proc/%d" % pid)
    os.makedirs(os.path.join(d, "fd"), exist_ok=True)
    os.makedirs(os.path.join(d, "net"), exist_ok=True)
    with open(os.path.join(d, "status"), "w") as f:
        f.write(status)
    with open(os.path.join(d, "stat"), "w") as f:
        f.write(stat_text(pid, ppid))
    with open(os.path.join(d, "cmdline"), "wb") as f:
        f.write(title.encode() + b"\0")
    for n, inode in enumerate(sockets):
        os.symlink("socket:[%d]" % inode, os.path.join(d, "fd", str(3 + n)))


def tcp_table(port, inode, addr="0100007F"):
    head = ("  sl  local_address rem_address   st tx_queue rx_queue tr "
            "tm->when retrnsmt   uid  timeout inode\n")
    return head + ("   0: %s:%04X 00000000:0000 0A 00000000:00000000 "
                   "00:00000000 00000000     0        0 %d 1 0 100 0 0 10 "
                   "0\n" % (addr, port, inode))


def fake_proc(root, master=None, child=None, child_sockets=(),
              child_title="relayd: server client.test [127.0.0.1] cmd read",
              port=10025):
    """A relayd master (pid 4242, pidfile ROOT/run/relayd.pid) holding the
    listener 127.0.0.1:PORT and one smtp child (4243).  master/child:
    status_text() keyword overrides."""
    fake_sysctls(root)
    m = dict(uid=0, gid=0, prm=MASTER_CAPS, eff=MASTER_CAPS, nnp=0)
    m.update(master or {})
    c = dict(uid=UID, gid=GID)
    c.update(child or {})
    fake_process(root, MASTER, 1, status_text(**m),
                 "relayd: accepting connections on 127.0.0.1:%d" % port,
                 sockets=(LISTEN_INODE,))
    fake_process(root, CHILD, MASTER, status_text(**c), child_title,
                 sockets=child_sockets)
    with open(p(root, "proc/%d/net/tcp" % MASTER), "w") as f:
        f.write(tcp_table(port, LISTEN_INODE))
    with open(p(root, "run/relayd.pid"), "w") as f:
        f.write("%d\n" % MASTER)


# id -> fake_proc keyword arguments
RUNTIME = {
    "runtime.child-caps": dict(child=dict(eff=1 << 21, prm=1 << 21)),
    "runtime.child-uid": dict(child=dict(uid="24\t0\t24\t24")),
    "runtime.child-gid": dict(child=dict(gid="24\t24\t24\t0")),
    "runtime.child-groups": dict(child=dict(groups="27")),
    "runtime.child-nnp": dict(child=dict(nnp=0)),
    "runtime.master-caps": dict(master=dict(prm=MASTER_CAPS | 1 << 21,
                                            eff=MASTER_CAPS | 1 << 21)),
    "runtime.socket": dict(child_sockets=(LISTEN_INODE,)),
    "runtime.listen": dict(port=10026),
    "runtime.title": dict(child_title="bash"),
}
