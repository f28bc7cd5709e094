"""Integration tests for `relayctl setup --root DIR`.

Each test builds its own fixture root (fixtures.py), runs the real binary as
root against it, and checks the files it left behind: account databases,
spool and /etc/mail ownership and modes, and, for the refusals, that not a
single byte, mode, owner or timestamp changed.
"""

import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import time

import pytest

import fixtures
from conftest import relay_env, relayctl_path, snapshot, snapshot_diff
from harness import pick_seed

DBS = ("passwd", "group", "shadow", "gshadow")
SPOOL = "var/spool/mqueue"
SPOOL_SUBDIRS = ("tmp", "queue", "hold")
NOTE_CDROM = ("relayctl: GID 24 belongs to group 'cdrom'; using 999 "
              "(use --gid to choose, --strict-ids to refuse)")
ACTIONS = {"add-group", "add-user", "set-home", "set-shell", "set-gid",
           "lock-password", "remove-member", "mkdir", "chown", "chmod",
           "acl", "install"}
UNSAFE_IDS = {"path.symlink", "path.hardlink", "path.type", "path.owner",
              "path.other-fs", "account.shared-id"}
ACTION_LINE = re.compile(r"^\s+(%s)\s+(\S+)" % "|".join(
    re.escape(a) for a in sorted(ACTIONS, key=len, reverse=True)))


# ---------------------------------------------------------------- helpers

def read_db(root, db):
    with open(os.path.join(root, "etc", db)) as f:
        return [line.split(":") for line in f.read().splitlines()]


def entry(root, db, name):
    found = [e for e in read_db(root, db) if e[0] == name]
    assert len(found) == 1, "%s: %d entries for %r" % (db, len(found), name)
    return found[0]


def no_entry(root, db, name):
    assert not [e for e in read_db(root, db) if e[0] == name], \
        "etc/%s unexpectedly has an entry for %r" % (db, name)


def db_bytes(root):
    out = {}
    for db in DBS:
        try:
            with open(os.path.join(root, "etc", db), "rb") as f:
                out[db] = f.read()
        except FileNotFoundError:
            out[db] = None
    return out


def mode_of(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def plan_lines(out):
    """(action, path) for every action line of the human plan."""
    return [m.groups() for m in map(ACTION_LINE.match, out.splitlines()) if m]


def plan_header(out, root):
    m = re.search(r"^plan for (.+): (\d+) changes?, (\d+) unsafe$", out,
                  re.M)
    assert m, "no 'plan for ROOT: N changes, M unsafe' line in:\n" + out
    assert m.group(1) == root
    return int(m.group(2)), int(m.group(3))


def assert_unchanged(before, root):
    diff = snapshot_diff(before, snapshot(root))
    assert not diff, "tree changed:\n  " + "\n  ".join(diff)


def assert_locked(pw):
    assert pw.startswith("!") or pw == "*", \
        "password field %r is not locked" % pw


def assert_account(root, user, uid, gid):
    pw = entry(root, "passwd", user)
    assert len(pw) == 7
    assert pw[1] == "x"
    assert (int(pw[2]), int(pw[3])) == (uid, gid)
    assert pw[5] == "/var/spool/mqueue"
    assert pw[6] == "/usr/sbin/nologin"
    gr = entry(root, "group", user)
    assert len(gr) == 4 and int(gr[2]) == gid and gr[3] == ""
    sh = entry(root, "shadow", user)
    assert len(sh) == 9
    assert_locked(sh[1])
    gs = entry(root, "gshadow", user)
    assert len(gs) == 4 and gs[3] == ""
    # The databases keep Debian's owners and modes.
    assert mode_of(os.path.join(root, "etc/passwd")) == (0o644, 0, 0)
    assert mode_of(os.path.join(root, "etc/group")) == (0o644, 0, 0)
    assert mode_of(os.path.join(root, "etc/shadow")) == (0o640, 0, 42)
    assert mode_of(os.path.join(root, "etc/gshadow")) == (0o640, 0, 42)


def assert_others_kept(root, fixture_dbs, user):
    """Every line that was there before is still there, in order."""
    for db in DBS:
        old = fixture_dbs[db].decode().splitlines()
        new = [line for line in
               open(os.path.join(root, "etc", db)).read().splitlines()
               if line.split(":")[0] != user]
        assert new == old, "etc/%s: other entries changed" % db


def assert_spool(root, uid, gid):
    top = os.path.join(root, SPOOL)
    for sub in SPOOL_SUBDIRS:
        assert os.path.isdir(os.path.join(top, sub)), sub
    seen = 0
    for dirpath, dirnames, filenames in os.walk(top):
        assert mode_of(dirpath) == (0o700, uid, gid), dirpath
        for name in filenames:
            path = os.path.join(dirpath, name)
            assert mode_of(path) == (0o600, uid, gid), path
            seen += 1
    assert seen == len(fixtures.SPOOL_FILES)
    for rel, _mode, content in fixtures.SPOOL_FILES:
        with open(os.path.join(root, rel)) as f:
            assert f.read() == content, rel


def assert_default_acl(path, gid):
    out = subprocess.run(["getfacl", "-n", "-p", "--omit-header", path],
                         capture_output=True, text=True, check=True).stdout
    grp = [line for line in out.splitlines()
           if line.startswith("default:group:%d:" % gid)]
    assert grp, "no default ACL entry for group %d on %s:\n%s" % (
        gid, path, out)
    assert grp[0].split(":")[3].startswith("r"), grp[0]


def assert_etc_mail(root, gid, user="sendmail"):
    top = os.path.join(root, "etc/mail")
    for dirpath, dirnames, filenames in os.walk(top):
        mode, uid, g = mode_of(dirpath)
        assert (uid, g) == (0, gid), dirpath
        assert mode & stat.S_ISGID, "%s: no setgid (%o)" % (dirpath, mode)
        assert mode & 0o050 == 0o050, "%s: not g+rx (%o)" % (dirpath, mode)
        assert mode & 0o022 == 0, "%s: g+w or o+w (%o)" % (dirpath, mode)
        for name in filenames:
            path = os.path.join(dirpath, name)
            mode, uid, g = mode_of(path)
            # Private keys are root's alone (root:root 0600).
            want_gid = 0 if name.endswith(".key") else gid
            assert (uid, g) == (0, want_gid), path
            assert mode & 0o7111 == 0, "%s: x or set-id (%o)" % (path, mode)
            if name.endswith(".key"):
                assert mode == 0o600, "%s: %o" % (path, mode)
            elif name == "relayd.conf":
                assert mode == 0o640, "%s: %o" % (path, mode)
            else:
                assert mode & 0o040, "%s: not g+r (%o)" % (path, mode)
                assert mode & 0o022 == 0, "%s: g+w/o+w (%o)" % (path, mode)
    assert_default_acl(top, gid)
    sample = os.path.join(os.environ["RELAYCTL_DATADIR"],
                          "relayd.conf.sample")
    with open(sample, "rb") as a, \
            open(os.path.join(top, "relayd.conf"), "rb") as b:
        want = a.read()
        if user != "sendmail":
            want = want.replace(b"\nrun_as = sendmail\n",
                                b"\nrun_as = %s\n" % user.encode())
        assert want == b.read(), "relayd.conf is not the sample"
    for rel, _mode, content in fixtures.ETC_MAIL_FILES:
        with open(os.path.join(root, rel)) as f:
            assert f.read() == content, rel
    mode, uid, g = mode_of(os.path.join(root, "etc/aliases"))
    assert (uid, g) == (0, gid) and mode & 0o040 and not mode & 0o022


def setup_json(relayctl, *args):
    r = relayctl("setup", "--json", *args)
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        pytest.fail("stdout is not one JSON document (%s): %r" % (e, r))
    return r, doc


# ------------------------------------------------------------------ tests

def test_debian_falls_back_to_free_system_ids(make_root, relayctl):
    root = make_root("debian")
    old = db_bytes(root)
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    assert NOTE_CDROM in r.err.splitlines(), r
    assert "belongs to" not in r.out, r
    changes, unsafe = plan_header(r.out, root)
    acts = plan_lines(r.out)
    assert (changes, unsafe) == (len(acts), 0), r
    assert ("add-group", "/etc/group") in acts, r
    assert ("add-user", "/etc/passwd") in acts, r
    assert re.search(r"^applied %d changes?$" % changes, r.out, re.M), r
    assert_account(root, "sendmail", 999, 999)
    assert_others_kept(root, old, "sendmail")
    assert_spool(root, 999, 999)
    assert_etc_mail(root, 999)


def test_clean_root_gets_24_24(make_root, relayctl):
    root = make_root("clean")
    r, doc = setup_json(relayctl, "--root", root, "--plan")
    assert r.rc == 0, r
    assert (doc["uid"], doc["gid"], doc["note"]) == (24, 24, ""), doc
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    assert "belongs to" not in r.err + r.out, r
    assert_account(root, "sendmail", 24, 24)
    assert_spool(root, 24, 24)
    assert_etc_mail(root, 24)


def test_existing_account_is_repaired(make_root, relayctl):
    root = make_root("existing")
    uid = fixtures.EXISTING_UID
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    acts = [a for a, _p in plan_lines(r.out)]
    for want in ("set-shell", "set-home", "lock-password", "remove-member"):
        assert want in acts, "%s missing from the plan: %r" % (want, r)
    assert "add-user" not in acts and "add-group" not in acts, r
    assert "belongs to" not in r.err, r
    pw = entry(root, "passwd", "sendmail")
    assert (int(pw[2]), int(pw[3])) == (uid, uid)
    assert pw[5] == "/var/spool/mqueue" and pw[6] == "/usr/sbin/nologin"
    sh = entry(root, "shadow", "sendmail")
    assert sh[1] != fixtures.EXISTING_HASH
    assert_locked(sh[1])
    assert entry(root, "group", "staff")[3] == ""
    assert entry(root, "gshadow", "staff")[3] == ""
    assert_account(root, "sendmail", uid, uid)
    assert_spool(root, uid, uid)
    assert_etc_mail(root, uid)
    before = snapshot(root)
    r = relayctl("setup", "--root", root)
    assert r.rc == 0 and "relayctl: nothing to do" in r.out.splitlines(), r
    assert_unchanged(before, root)


def test_spool_acls_are_stripped(make_root, relayctl):
    root = make_root("debian")
    spool = os.path.join(root, SPOOL)
    qf = os.path.join(spool, "qfA1B2C3")
    subprocess.run(["setfacl", "-m", "u:65534:rw", qf], check=True)
    subprocess.run(["setfacl", "-d", "-m", "u:65534:rwx", spool], check=True)
    assert _acl_xattrs(qf) == ["system.posix_acl_access"]
    assert _acl_xattrs(spool) == ["system.posix_acl_default"]
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    acts = plan_lines(r.out)
    assert ("acl", "/var/spool/mqueue") in acts, r
    assert ("acl", "/var/spool/mqueue/qfA1B2C3") in acts, r
    for dirpath, dirnames, filenames in os.walk(spool):
        for path in [dirpath] + [os.path.join(dirpath, n) for n in filenames]:
            assert _acl_xattrs(path) == [], path
    assert_spool(root, 999, 999)


def _acl_xattrs(path):
    names = []
    for name in ("system.posix_acl_access", "system.posix_acl_default"):
        try:
            os.getxattr(path, name, follow_symlinks=False)
            names.append(name)
        except OSError:
            pass
    return names


def test_existing_group_alone_gets_a_matching_uid(make_root, relayctl):
    """What an interrupted first run leaves (group written, user not):
    the rerun must end where an uninterrupted run ends, 999/999, not
    uid 24 with gid 999 (DESIGN: same number for uid and gid where
    possible)."""
    root = make_root("debian")
    for db, line in (("group", "sendmail:x:999:"),
                     ("gshadow", "sendmail:!::")):
        with open(os.path.join(root, "etc", db), "a") as f:
            f.write(line + "\n")
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    acts = [a for a, _p in plan_lines(r.out)]
    assert "add-group" not in acts, r
    assert_account(root, "sendmail", 999, 999)


def test_strict_ids_refuses_and_writes_nothing(make_root, relayctl):
    root = make_root("debian")
    before = snapshot(root)
    r = relayctl("setup", "--root", root, "--strict-ids")
    assert r.rc == 78, r
    assert "cdrom" in r.err, r
    assert_unchanged(before, root)


def test_plan_only_changes_nothing(make_root, relayctl):
    root = make_root("debian")
    before = snapshot(root)
    r = relayctl("setup", "--root", root, "--plan")
    assert r.rc == 0, r
    changes, unsafe = plan_header(r.out, root)
    acts = plan_lines(r.out)
    assert changes == len(acts) and changes > 0 and unsafe == 0, r
    assert ("add-user", "/etc/passwd") in acts, r
    assert "not applied (--plan)" in r.out.splitlines(), r
    assert_unchanged(before, root)


def test_json_plan_changes_nothing(make_root, relayctl):
    root = make_root("debian")
    before = snapshot(root)
    r, doc = setup_json(relayctl, "--root", root, "--plan")
    assert r.rc == 0, r
    assert doc["applied"] is False and doc["changed"] is False
    assert doc["changes"] == len(doc["actions"]) > 0
    assert_unchanged(before, root)


def test_second_run_has_nothing_to_do(make_root, relayctl):
    root = make_root("debian")
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    before = snapshot(root)
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    assert "relayctl: nothing to do" in r.out.splitlines(), r
    assert plan_lines(r.out) == [], r
    assert_unchanged(before, root)
    r, doc = setup_json(relayctl, "--root", root)
    assert r.rc == 0, r
    assert doc["actions"] == [] and doc["changes"] == 0, doc
    assert doc["changed"] is False, doc
    assert doc["unsafe"] == [], doc
    assert_unchanged(before, root)


def test_json_document(make_root, relayctl):
    root = make_root("debian")
    r, doc = setup_json(relayctl, "--root", root)
    assert r.rc == 0, r
    assert doc["root"] == root
    assert doc["user"] == "sendmail"
    assert (doc["uid"], doc["gid"]) == (999, 999)
    assert "GID 24 belongs to group 'cdrom'" in doc["note"]
    assert doc["applied"] is True and doc["changed"] is True
    assert doc["unsafe"] == []
    assert doc["changes"] == len(doc["actions"])
    for a in doc["actions"]:
        assert a["action"] in ACTIONS, a
        assert a["path"].startswith("/") and not a["path"].startswith(root)
        assert isinstance(a.get("before", ""), str)
        assert isinstance(a.get("after", ""), str)
    paths = {(a["action"], a["path"]) for a in doc["actions"]}
    assert ("add-group", "/etc/group") in paths
    assert ("add-user", "/etc/passwd") in paths
    for sub in SPOOL_SUBDIRS:
        assert ("mkdir", "/var/spool/mqueue/" + sub) in paths, sub
    assert ("chown", "/var/spool/mqueue") in paths
    assert ("install", "/etc/mail/relayd.conf") in paths
    assert ("chown", "/etc/mail") in paths
    chmod = [a for a in doc["actions"]
             if (a["action"], a["path"]) == ("chmod", "/etc/mail")]
    assert len(chmod) == 1 and chmod[0]["before"] == "0755"
    assert int(chmod[0]["after"], 8) & stat.S_ISGID, chmod
    assert int(chmod[0]["after"], 8) == stat.S_IMODE(
        os.lstat(os.path.join(root, "etc/mail")).st_mode)
    assert_account(root, "sendmail", 999, 999)


PWCK_MISSING = re.compile(
    r"^user '([^']+)': (directory|program) '(/[^']*)' does not exist$")


def test_shadow_utils_accept_the_result(make_root, relayctl):
    root = make_root("debian")
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    g = subprocess.run(["grpck", "-r", "-R", root], capture_output=True,
                       text=True)
    assert g.returncode == 0, g
    assert [l for l in (g.stdout + g.stderr).splitlines()
            if l != "grpck: no changes"] == [], g
    p = subprocess.run(["pwck", "-r", "-R", root], capture_output=True,
                       text=True)
    # A bare fixture has no home directories or shells: pwck warns about
    # each (and exits 2 for them).  Accept exactly those lines, and only
    # when the path really is absent, never for the relay's own home.
    missing = 0
    for line in (p.stdout + p.stderr).splitlines():
        if line == "pwck: no changes":
            continue
        m = PWCK_MISSING.match(line)
        assert m, "pwck: %s\n%s" % (line, p.stdout + p.stderr)
        user, kind, path = m.groups()
        assert not (user == "sendmail" and kind == "directory"), line
        assert not os.path.lexists(root + path), line
        missing += 1
    assert p.returncode in ((0, 2) if missing else (0,)), p
    # Now give every account its home and shell: pwck must be fully clean.
    for pw in read_db(root, "passwd"):
        if pw[5] != "/nonexistent":
            os.makedirs(root + pw[5], exist_ok=True)
        if not os.path.exists(root + pw[6]):
            fixtures.write(root, pw[6].lstrip("/"), "#!/bin/sh\n", 0o755)
    p = subprocess.run(["pwck", "-r", "-R", root], capture_output=True,
                       text=True)
    assert p.returncode == 0, p
    assert [l for l in (p.stdout + p.stderr).splitlines()
            if l != "pwck: no changes"] == [], p


def test_links_in_spool_are_reported_not_followed(make_root, relayctl):
    root = make_root("debian")
    spool = os.path.join(root, SPOOL)
    shadow = os.path.join(root, "etc/shadow")
    target = fixtures.write(root, "etc/hardtarget", "precious\n", 0o644)
    os.symlink(shadow, os.path.join(spool, "evil"))
    os.link(target, os.path.join(spool, "dfHARD"))
    shadow_before = mode_of(shadow)
    st_target = os.lstat(target)
    r, doc = setup_json(relayctl, "--root", root)
    assert r.rc == 3, r
    assert mode_of(shadow) == shadow_before == (0o640, 0, 42)
    st = os.lstat(target)
    assert (st.st_uid, st.st_gid, st.st_mode, st.st_ctime_ns) == (
        0, 0, st_target.st_mode, st_target.st_ctime_ns), "hardtarget touched"
    assert os.readlink(os.path.join(spool, "evil")) == shadow
    unsafe = {(u["id"], u["path"]) for u in doc["unsafe"]}
    assert ("path.symlink", "/var/spool/mqueue/evil") in unsafe, doc
    assert ("path.hardlink", "/var/spool/mqueue/dfHARD") in unsafe, doc
    assert len(doc["unsafe"]) == 2, doc
    assert {u["id"] for u in doc["unsafe"]} <= UNSAFE_IDS
    assert doc["applied"] is True
    # Everything else was still fixed.
    assert_account(root, "sendmail", 999, 999)
    assert_etc_mail(root, 999)
    for dirpath, dirnames, filenames in os.walk(spool):
        assert mode_of(dirpath) == (0o700, 999, 999), dirpath
        for name in filenames:
            path = os.path.join(dirpath, name)
            if path in (target, os.path.join(spool, "dfHARD")):
                continue
            if os.path.islink(path):
                continue
            assert mode_of(path) == (0o600, 999, 999), path
    # The human output names both, and a re-run still exits 3.
    before = snapshot(root)
    r = relayctl("setup", "--root", root)
    assert r.rc == 3, r
    assert ("unsafe /var/spool/mqueue/evil: symlink, not followed "
            "(path.symlink)") in r.out.splitlines(), r
    assert re.search(r"^unsafe /var/spool/mqueue/dfHARD: .*\(path\.hardlink\)$",
                     r.out, re.M), r
    assert plan_header(r.out, root) == (0, 2), r
    assert_unchanged(before, root)


def _mount_tmpfs_etc(root, size_kb):
    """Move ROOT/etc onto a tmpfs of size_kb, keeping owners and modes."""
    etc = os.path.join(root, "etc")
    stage = os.path.join(root, "etc.stage")
    subprocess.run(["cp", "-a", etc, stage], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%dk,mode=0755" % size_kb, "relayctl-itest", etc],
                   check=True)
    subprocess.run(["cp", "-a", stage + "/.", etc + "/"], check=True)
    shutil.rmtree(stage)
    return etc


def _fill(path, leave_pages):
    """Fill the file system holding path, then free leave_pages pages."""
    filler = os.path.join(path, ".filler")
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as e:
            assert e.errno == 28, e
    size = os.path.getsize(filler)
    os.truncate(filler, max(0, size - leave_pages * 4096))
    st = os.statvfs(path)
    return st.f_bavail


def test_disk_full_leaves_old_databases(make_root, relayctl):
    root = make_root("debian")
    # Every database several pages long, so its temp copy cannot fit in
    # the few pages left for lock files.
    fixtures.add_users(root, 3000)
    etc = _mount_tmpfs_etc(root, 2048)
    for db in DBS:
        assert os.path.getsize(os.path.join(etc, db)) > 10 * 4096, db
    free = _fill(etc, 6)
    assert 0 < free <= 6
    names = set(os.listdir(etc))
    before = {db: (os.lstat(os.path.join(etc, db)), open(
        os.path.join(etc, db), "rb").read()) for db in DBS}
    r = relayctl("setup", "--root", root)
    assert r.rc == 1, r
    assert re.search(r"^relayctl: .*[Nn]o space left on device", r.err,
                     re.M), r
    for db in DBS:
        st = os.lstat(os.path.join(etc, db))
        with open(os.path.join(etc, db), "rb") as f:
            assert f.read() == before[db][1], "etc/%s changed" % db
        b = before[db][0]
        assert (st.st_ino, st.st_mode, st.st_uid, st.st_gid) == (
            b.st_ino, b.st_mode, b.st_uid, b.st_gid), db
    left = set(os.listdir(etc)) - names
    assert left <= {".pwd.lock"}, "left behind in etc: %r" % sorted(left)


def _leftovers(etc, names, old):
    """New names in etc besides the lckpwdf lock file and complete
    backups of the old databases (db-, byte-identical to the old db)."""
    bad = []
    for name in sorted(set(os.listdir(etc)) - names):
        if name == ".pwd.lock":
            continue
        if name.endswith("-") and name[:-1] in DBS:
            with open(os.path.join(etc, name), "rb") as f:
                if f.read() == old[name[:-1]]:
                    continue
        bad.append(name)
    return bad


def test_disk_full_at_every_point_never_splits_the_account(make_root,
                                                           relayctl):
    """Leave 0, 1, 2, ... free pages on a tmpfs /etc until setup succeeds:
    whichever write hits ENOSPC (lock, backup, temp file, relayd.conf),
    setup exits 1 saying so, leaves no temp or lock file, and the four
    databases are all old (failure while writing them) or all new
    (failure later) -- never a group without its user."""
    ref = make_root("debian")
    fixtures.add_users(ref, 300)
    old = db_bytes(ref)
    r = relayctl("setup", "--root", ref)
    assert r.rc == 0, r
    new = db_bytes(ref)
    problems = []  # collected, so that every point is still checked
    for free in range(0, 120):
        root = make_root("debian")
        fixtures.add_users(root, 300)
        etc = _mount_tmpfs_etc(root, 1024)
        assert _fill(etc, free) == free
        names = set(os.listdir(etc)) - {".filler"}
        r = relayctl("setup", "--root", root)
        if r.rc == 0:
            assert db_bytes(root) == new
            break
        last = r.err.strip().splitlines()[-1:]
        if r.rc != 1:
            problems.append("%d free pages: exit %d %r" % (free, r.rc, last))
        if not re.search(r"^relayctl: .*[Nn]o space left on device",
                         r.err, re.M):
            problems.append("%d free pages: message does not say the disk "
                            "is full: %r" % (free, last))
        got = db_bytes(root)
        if got != old and got != new:
            problems.append("%d free pages: databases split: %s; %r" % (
                free, ", ".join(
                    "%s %s" % (db, "old" if got[db] == old[db] else
                               "new" if got[db] == new[db] else "OTHER")
                    for db in DBS), last))
        bad = _leftovers(etc, names | {".filler"}, old)
        if bad:
            problems.append("%d free pages: left behind %r" % (free, bad))
        subprocess.run(["umount", etc], check=True)
    else:
        pytest.fail("setup never succeeded, even with 120 free pages")
    assert free > 0
    assert not problems, "with /etc nearly full:\n" + "\n".join(problems)


def _traced(root, syscalls, n):
    """Run setup under strace, SIGKILLed when it enters the n-th call of
    one of syscalls.  Returns the return code (negative = signal)."""
    env = relay_env()
    # LeakSanitizer cannot run under ptrace (sanitizer builds).
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":detect_leaks=0").lstrip(":")
    s = ",".join(syscalls)
    cmd = ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=" + s,
           "-e", "inject=%s:signal=SIGKILL:when=%d" % (s, n),
           relayctl_path(), "setup", "--root", root]
    cp = subprocess.run(cmd, capture_output=True, text=True, env=env,
                        timeout=60)
    return cp


SYSCALL_FAMILIES = [
    ("rename", "renameat", "renameat2"),
    ("fsync", "fdatasync"),
    ("link", "linkat", "unlink", "unlinkat"),
    ("write", "pwrite64", "writev"),
]


def _reference(make_root, relayctl):
    root = make_root("debian")
    old = db_bytes(root)
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    new = db_bytes(root)
    for db in DBS:
        assert old[db] != new[db], db
    return old, new


def _assert_old_or_new(root, old, new, what):
    got = db_bytes(root)
    for db in DBS:
        assert got[db] is not None, "%s: etc/%s missing" % (what, db)
        assert got[db] in (old[db], new[db]), \
            "%s: etc/%s is neither the old nor the new file" % (what, db)
    return got


@pytest.mark.parametrize("family", SYSCALL_FAMILIES,
                         ids=[f[0] for f in SYSCALL_FAMILIES])
def test_sigkill_at_every_step_leaves_old_or_new(make_root, relayctl,
                                                 family):
    old, new = _reference(make_root, relayctl)
    kills = 0
    diverged = []
    for n in range(1, 400):
        root = make_root("debian")
        cp = _traced(root, family, n)
        if cp.returncode == 0:
            break
        assert cp.returncode == -signal.SIGKILL, (n, cp)
        kills += 1
        _assert_old_or_new(root, old, new, "%s #%d" % (family[0], n))
        # The next run recovers (stale locks included) and ends where an
        # uninterrupted run ends.  Collected, so that every kill point is
        # still checked for old-or-new first.
        r = relayctl("setup", "--root", root)
        assert r.rc == 0, ("after kill at %s #%d" % (family[0], n), r)
        got = db_bytes(root)
        for db in DBS:
            if got[db] != new[db]:
                mine = [l for l in got[db].decode().splitlines()
                        if l.startswith("sendmail:")]
                diverged.append("kill at %s #%d, rerun: etc/%s has %r" % (
                    family[0], n, db, mine))
        shutil.rmtree(root)
    else:
        pytest.fail("setup still killed after 400 %s calls" % family[0])
    if family[0] in ("rename", "fsync", "write"):
        assert kills >= 1, "setup made no %s call at all" % family[0]
    assert not diverged, "a rerun after a kill does not converge:\n" + \
        "\n".join(diverged)


def test_sigkill_at_random_moments(make_root, relayctl):
    old, new = _reference(make_root, relayctl)
    root = make_root("debian")
    t0 = time.monotonic()
    r = relayctl("setup", "--root", root)
    span = time.monotonic() - t0
    assert r.rc == 0, r
    rng = random.Random(pick_seed(20240524))
    cmd = [relayctl_path(), "setup", "--root"]
    for i in range(30):
        root = make_root("debian")
        p = subprocess.Popen(cmd + [root], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=relay_env())
        time.sleep(rng.uniform(0, span))
        p.send_signal(signal.SIGKILL)
        rc = p.wait()
        assert rc in (0, -signal.SIGKILL), rc
        _assert_old_or_new(root, old, new, "random kill #%d" % i)
        shutil.rmtree(root)


MALFORMED = {
    # name: (line number, replacement for that line or None to insert)
    "field-count": (3, "bin:x:2:2:/bin:/usr/sbin/nologin"),
    "uid-not-numeric": (4, "sys:x:three:3:sys:/dev:/usr/sbin/nologin"),
    "duplicate-name": (6, "daemon:x:101:101::/nonexistent:/usr/sbin/nologin"),
    "overlong-line": (7, "lp:x:7:7:" + "l" * 100000
                      + ":/var/spool/lpd:/usr/sbin/nologin"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_passwd_is_refused(make_root, relayctl, case):
    root = make_root("debian")
    lineno, text = MALFORMED[case]
    path = os.path.join(root, "etc/passwd")
    with open(path) as f:
        lines = f.read().splitlines()
    if case == "duplicate-name":
        lines.insert(lineno - 1, text)
    else:
        lines[lineno - 1] = text
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in lines))
    before = snapshot(root)
    r = relayctl("setup", "--root", root)
    assert r.rc == 65, r
    errs = r.err.splitlines()
    assert len(errs) == 1, r
    assert re.match(r"^relayctl: (\S*/)?etc/passwd:%d: \S" % lineno,
                    errs[0]), r
    assert_unchanged(before, root)


def test_forced_free_ids_are_used(make_root, relayctl):
    root = make_root("debian")
    r = relayctl("setup", "--root", root, "--uid", "500", "--gid", "500")
    assert r.rc == 0, r
    assert "belongs to" not in r.err, r
    assert_account(root, "sendmail", 500, 500)
    assert_spool(root, 500, 500)
    assert_etc_mail(root, 500)


def test_forced_gid_of_another_group_is_refused(make_root, relayctl):
    root = make_root("debian")
    before = snapshot(root)
    r = relayctl("setup", "--root", root, "--gid", "24")
    assert r.rc == 78, r
    assert "cdrom" in r.err, r
    assert_unchanged(before, root)


def test_user_name_option(make_root, relayctl):
    root = make_root("debian")
    r = relayctl("setup", "--root", root, "--user", "relay")
    assert r.rc == 0, r
    assert_account(root, "relay", 999, 999)
    # The installed relayd.conf names the chosen account, nothing else
    # differs from the sample.
    with open(os.path.join(root, "etc/mail/relayd.conf")) as f:
        conf = f.read().splitlines()
    with open(os.path.join(os.environ["RELAYCTL_DATADIR"],
                           "relayd.conf.sample")) as f:
        sample = f.read().splitlines()
    assert [l for l in conf if l.startswith("run_as")] == ["run_as = relay"]
    assert [l for l in conf if not l.startswith("run_as")] == \
        [l for l in sample if not l.startswith("run_as")]
    for db in DBS:
        no_entry(root, db, "sendmail")
    assert_spool(root, 999, 999)
    assert_etc_mail(root, 999, user="relay")


def test_smmsp_is_refused(make_root, relayctl):
    root = make_root("debian")
    before = snapshot(root)
    r = relayctl("setup", "--root", root, "--user", "smmsp")
    # The contract says "refused" without a code: usage (64) or policy (78).
    assert r.rc in (64, 78), r
    assert "smmsp" in r.err and r.err.startswith("relayctl: "), r
    assert_unchanged(before, root)


def test_non_root_on_real_root_is_refused(relayctl):
    r = relayctl("setup", prefix=("setpriv", "--reuid=65534",
                                  "--regid=65534", "--clear-groups", "--"))
    assert r.rc == 77, r
    assert r.err.startswith("relayctl: "), r


def test_deep_tree_in_spool_reported_rest_fixed(make_root, relayctl):
    """70 levels in the spool: that subtree is unsafe and left alone, the
    walk goes on and everything else is still fixed."""
    root = make_root("debian")
    spool = os.path.join(root, SPOOL)
    d = os.path.join(spool, "queue")
    os.makedirs(d, exist_ok=True)
    for _ in range(70):
        d = os.path.join(d, "n")
        os.mkdir(d, 0o755)
    fixtures.write(root, SPOOL + "/zz-after", "x\n", 0o644)
    r, doc = setup_json(relayctl, "--root", root)
    assert r.rc == 3, r
    deep = [u for u in doc["unsafe"] if u["id"] == "path.too-deep"]
    assert len(deep) == 1, doc
    assert deep[0]["path"].startswith("/var/spool/mqueue/queue/n/n/"), deep
    # 64 levels from the root: var, spool, mqueue, queue and 60 "n".
    assert deep[0]["path"].count("/n") == 60, deep
    # Walked on: a name sorted after the deep tree was fixed.
    assert mode_of(os.path.join(spool, "zz-after")) == (0o600, 999, 999)
    assert_account(root, "sendmail", 999, 999)
