"""relayctl check: the read-only audit.

Every test builds a fixture root, runs `relayctl setup --root` on it and
then breaks one thing (check_fixtures.py); findings are asserted by id and
exit status from the --json document, never from the text.  The kernel's
link protections are real host facts: where /proc is the host's, the
advice they give is computed here from /proc/sys/fs and expected exactly.
"""

import json
import os
import shutil
import socket
import stat
import subprocess
import time

import pytest

import check_fixtures as cf
from conftest import run_relayctl, snapshot, snapshot_diff
from relayd_harness import (MASTER_CAPS, children_of,  # noqa: F401
                            descendants_of, proc_status, proc_title, relay,
                            wait_for)

SYSCTLS = ("hardlinks", "symlinks", "regular")


def host_advice():
    out = set()
    for name in SYSCTLS:
        path = "/proc/sys/fs/protected_%s" % name
        if os.path.exists(path):
            with open(path) as f:
                if int(f.read()) < 1:
                    out.add("env.protected-%s" % name)
    return out


def check(root, *extra):
    r = run_relayctl("check", "--root", root, "--json", *extra)
    assert r.rc in (0, 2, 3), r
    doc = json.loads(r.out)
    assert doc["exit"] == r.rc, r
    return r.rc, doc


def ids(doc, host=True):
    """Finding ids, the host's sysctl advice removed (host=True)."""
    got = {f["id"] for f in doc["findings"]}
    return got - host_advice() if host else got


@pytest.fixture
def base(make_root):
    """A clean root after setup, with our relayd.conf and /run."""
    root = make_root("clean")
    r = run_relayctl("setup", "--root", root)
    assert r.rc == 0, r
    os.makedirs(os.path.join(root, "run"), mode=0o755)
    cf.write_conf(root)
    return root


def test_clean_after_setup(make_root, relayctl):
    root = make_root("debian")
    assert relayctl("setup", "--root", root).rc == 0
    rc, doc = check(root)
    assert rc == 0, doc
    # only the host's own sysctl advice, nothing about the root
    assert {f["id"] for f in doc["findings"]} == host_advice(), doc
    assert all(f["severity"] == "advice" for f in doc["findings"]), doc
    assert doc["running"] is False and doc["user"] == "sendmail", doc
    assert doc["summary"] == {"unsafe": 0, "drift": 0,
                              "advice": len(host_advice())}, doc
    assert doc["changed"] is False, doc  # check never changes anything
    r = relayctl("check", "--root", root)
    assert r.rc == 0, r
    assert r.out.splitlines()[-1].startswith("relayctl check: "), r
    q = relayctl("check", "--root", root, "--quiet")
    assert q.rc == 0 and q.out == "" and q.err == "", q


def test_clean_fake_proc_has_no_findings(base):
    cf.fake_sysctls(base)
    rc, doc = check(base)
    assert (rc, doc["findings"]) == (0, []), doc
    assert doc["proc"] == os.path.join(base, "proc"), doc


def test_before_setup_is_drift(make_root):
    root = make_root("debian")
    rc, doc = check(root)
    assert rc == 2, doc
    got = ids(doc)
    assert {"account.missing", "path.missing", "path.owner", "path.group",
            "path.mode", "path.setgid", "acl.default",
            "key.readable"} == got, got


@pytest.mark.parametrize("name", sorted(cf.EXPECT))
def test_one_finding_per_fixture(base, name):
    mutate, code, sev = cf.EXPECT[name]
    want = name.split("/")[0]
    mutate(base)
    rc, doc = check(base)
    assert ids(doc, host=not want.startswith("env.protected")) == {want}, \
        doc
    assert rc == code, doc
    for f in doc["findings"]:
        if f["id"] == want:
            assert f["severity"] == sev, f
            assert f["fix"], f
            assert set(f) == {"id", "severity", "path", "expected",
                              "actual", "fix"}, f


def test_text_output_groups_and_fix(base):
    cf.path_hardlink(base)
    cf.path_mode(base)
    r = run_relayctl("check", "--root", base)
    assert r.rc == 3, r
    lines = r.out.splitlines()
    sev = [ln.split()[0] for ln in lines[:-1]]
    # unsafe first, then drift, then advice
    order = {"unsafe": 0, "drift": 1, "advice": 2}
    assert sev == sorted(sev, key=order.get), r
    assert any("path.hardlink" in ln for ln in lines if ln.startswith(
        "unsafe")), r
    assert any("relayctl setup --root %s" % base in ln for ln in lines
               if ln.startswith("drift")), r
    assert lines[-1] == ("relayctl check: %s: 2 unsafe, 1 drift, %d advice"
                         % (base, len(host_advice()))), r


def test_read_only(base):
    for name in ("path.hardlink", "path.mode", "acl.extended",
                 "path.symlink", "account.shell", "path.missing",
                 "env.sendmail-hands-off"):
        cf.EXPECT[name][0](base)
    cf.write_conf(base, milter="unix:/run/milter/m.sock")
    before = snapshot(base)
    rc, doc = check(base)
    assert rc == 3, doc
    assert len(doc["findings"]) >= 7, doc
    r = run_relayctl("check", "--root", base)
    assert r.rc == 3, r
    assert snapshot_diff(before, snapshot(base)) == []


def test_usage(relayctl, base):
    r = relayctl("check", "--frobnicate")
    assert r.rc == 64 and r.out == "" and "frobnicate" in r.err, r
    r = relayctl("check", "--root")
    assert r.rc == 64, r
    r = relayctl("check", "--root", base, "extra")
    assert r.rc == 64, r


def test_could_not_run(make_root, relayctl):
    r = relayctl("check", "--root", "/nonexistent/relayctl-check")
    assert r.rc == 1 and r.out == "", r
    root = make_root("clean")
    with open(os.path.join(root, "etc/passwd"), "a") as f:
        f.write("broken line\n")
    r = relayctl("check", "--root", root, "--json")
    assert r.rc == 1 and r.out == "" and "etc/passwd" in r.err, r


# ------------------------------------------------------------ spool

Q = "/" + cf.SPOOL
SPOOL_PATHS = {
    "spool.unsafe_dir": [Q],
    "spool.unsafe_dir/group": [Q + "/queue"],
    "spool.unsafe_dir/parent": ["/var/spool"],
    "spool.unsafe_dir/owner": [Q + "/hold"],
    "spool.foreign_file": [Q + "/queue/" + cf.QID],
    "spool.foreign_file/hardlink": [Q + "/queue/" + cf.QID,
                                    Q + "/queue/" + cf.QID2],
    "spool.foreign_file/mode": [Q + "/hold/" + cf.QID],
}


@pytest.mark.parametrize("name", sorted(SPOOL_PATHS))
def test_unsafe_spool_names_the_path(base, name):
    """A spool another user could change is unsafe, not drift: each
    finding names the directory, or the queue file by its queue id."""
    want = name.split("/")[0]
    cf.EXPECT[name][0](base)
    rc, doc = check(base)
    assert rc == 3, doc
    got = sorted(f["path"] for f in doc["findings"] if f["id"] == want)
    assert got == SPOOL_PATHS[name], doc
    for f in [f for f in doc["findings"] if f["id"] == want]:
        assert f["severity"] == "unsafe", f
        if want == "spool.foreign_file":
            assert ("queue id %s:" % os.path.basename(f["path"])
                    in f["actual"]), f
        if name == "spool.unsafe_dir/parent":
            assert f["fix"] == "chown root and chmod go-w it", f
    r = run_relayctl("check", "--root", base)
    assert r.rc == 3, r
    assert any(ln.startswith("unsafe") and want in ln and
               SPOOL_PATHS[name][0] in ln for ln in r.out.splitlines()), r


@pytest.mark.parametrize("name", ["spool.unsafe_dir",
                                  "spool.unsafe_dir/group"])
def test_setup_still_fixes_an_open_spool(base, name):
    cf.EXPECT[name][0](base)
    assert check(base)[0] == 3
    r = run_relayctl("setup", "--root", base)
    assert r.rc == 0, r
    rc, doc = check(base)
    assert rc == 0, doc
    assert os.stat(os.path.join(base, cf.SPOOL)).st_mode & 0o7777 == 0o700


# ------------------------------------------------------------ milters

class MilterServer:
    """A real AF_UNIX stream listener: the milter check connects to it."""

    def __init__(self, path, umask):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(umask)
        try:
            self.sock.bind(path)
        finally:
            os.umask(old)
        self.sock.listen(16)

    def close(self):
        self.sock.close()


def milter_root(base, acl, umask=0o077):
    d = os.path.join(base, "run/milter")
    os.mkdir(d, 0o700)
    os.chmod(d, 0o700)
    if acl:
        # search on the directory, rw on the sockets made in it later
        cf.setfacl("-m", "g:%d:x" % cf.GID, "-m",
                   "d:g:%d:rw" % cf.GID, d)
    cf.write_conf(base, milter="unix:/run/milter/m.sock")
    return MilterServer(os.path.join(d, "m.sock"), umask)


def test_milter_in_0700_root_dir_unreachable(base):
    srv = milter_root(base, acl=False)
    try:
        # root itself can connect: the check must not test as root
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(srv.path)
        rc, doc = check(base)
    finally:
        srv.close()
    assert rc == 3, doc
    assert ids(doc) == {"milter.unreachable"}, doc
    assert doc["milters"][0]["reachable"] is False, doc
    assert "/run/milter" in doc["milters"][0]["reason"], doc


def test_milter_with_default_acl_reachable(base):
    # The milter's umask 007 leaves the ACL mask rw for the relay group.
    srv = milter_root(base, acl=True, umask=0o007)
    try:
        rc, doc = check(base)
    finally:
        srv.close()
    assert ids(doc) == set() and rc == 0, doc
    assert doc["milters"] == [{"socket": "unix:/run/milter/m.sock",
                               "reachable": True, "reason": ""}], doc


def test_milter_acl_masked_by_umask_unreachable(base):
    # Same ACLs, but bind() applies a 077 umask to sockets even under a
    # default ACL: the mask hides the group entry.  Only a real connect()
    # as the relay account sees it.
    srv = milter_root(base, acl=True, umask=0o077)
    try:
        rc, doc = check(base)
    finally:
        srv.close()
    assert rc == 3 and ids(doc) == {"milter.unreachable"}, doc
    assert "Permission denied" in doc["milters"][0]["reason"], doc


def test_milter_options_are_not_part_of_the_socket(base):
    srv = milter_root(base, acl=True, umask=0o007)
    cf.write_conf(base, milter="unix:/run/milter/m.sock{default=accept, "
                  "eom_timeout=1m}")
    try:
        rc, doc = check(base)
    finally:
        srv.close()
    assert ids(doc) == set() and rc == 0, doc
    assert doc["milters"] == [{"socket": "unix:/run/milter/m.sock",
                               "reachable": True, "reason": ""}], doc


def test_milter_inet_reachable_and_refused(base):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: refused
    try:
        cf.write_conf(base, milter="inet:%d@127.0.0.1, inet:%d@127.0.0.1"
                      % (port, closed.getsockname()[1]))
        rc, doc = check(base)
    finally:
        srv.close()
        closed.close()
    assert rc == 3 and ids(doc) == {"milter.unreachable"}, doc
    assert doc["milters"][0] == {"socket": "inet:%d@127.0.0.1" % port,
                                 "reachable": True, "reason": ""}, doc
    assert doc["milters"][1]["reachable"] is False, doc
    assert "Connection refused" in doc["milters"][1]["reason"], doc


def test_milter_nobody_listening(base):
    cf.write_conf(base, milter="unix:/run/nothing.sock")
    rc, doc = check(base)
    assert rc == 3 and ids(doc) == {"milter.unreachable"}, doc
    assert "connect" in doc["milters"][0]["reason"], doc


# ------------------------------------------------------------ runtime

def test_fake_proc_clean(base):
    cf.fake_proc(base)
    rc, doc = check(base)
    assert (rc, doc["findings"]) == (0, []), doc
    assert doc["running"] is True and doc["pid"] == cf.MASTER, doc
    assert doc["children"] == 1, doc


@pytest.mark.parametrize("name", sorted(cf.RUNTIME))
def test_fake_proc_findings(base, name):
    cf.fake_proc(base, **cf.RUNTIME[name])
    rc, doc = check(base)
    assert ids(doc, host=False) == {name}, doc
    advice = name in ("runtime.listen", "runtime.title")
    assert rc == (0 if advice else 3), doc


def test_stale_pidfile_is_not_running(base):
    cf.fake_proc(base)
    shutil.rmtree(os.path.join(base, "proc", str(cf.MASTER)))
    rc, doc = check(base)
    assert (rc, doc["running"], doc["findings"]) == (0, False, []), doc


def copy_proc(pid, dest, status_edit=None):
    """Copy what check reads of a real /proc/PID into DEST/proc/PID."""
    d = os.path.join(dest, "proc", str(pid))
    os.makedirs(os.path.join(d, "fd"))
    os.makedirs(os.path.join(d, "net"))
    for name in ("status", "stat", "cmdline", "net/tcp", "net/tcp6"):
        with open("/proc/%d/%s" % (pid, name), "rb") as f:
            data = f.read()
        if name == "status" and status_edit:
            data = status_edit(data.decode()).encode()
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except FileNotFoundError:
            continue
        os.symlink(target, os.path.join(d, "fd", fd))


def test_running_relayd_clean_then_child_with_capability(relay):
    p = relay.start_fg()
    c = relay.client()
    # the smtp child serving c (a queue runner may run beside it)
    session = wait_for(lambda: [k for k in children_of(p.pid) if proc_title(
        k).startswith("relayd: server")], 5, what="the smtp child")
    assert len(session) == 1, session
    every = descendants_of(p.pid)
    with open(os.path.join(relay.root, "run/relayd.pid"), "w") as f:
        f.write("%d\n" % p.pid)  # -f: relayd may not write one
    rc, doc = check(relay.root)
    assert rc == 0, doc
    assert ids(doc) == set(), doc
    assert doc["running"] is True and doc["pid"] == p.pid, doc
    assert doc["children"] == len(every) >= 1, (doc, every)
    # The same processes through a fixture /proc: first faithfully...
    fake = os.path.join(relay.root, "proc")
    for pid in [p.pid] + every:
        copy_proc(pid, relay.root)
    cf.fake_sysctls(relay.root)
    rc, doc = check(relay.root)
    assert (rc, doc["findings"]) == (0, []), doc
    assert doc["proc"] == fake and doc["children"] == len(every), doc
    # ...then with the smtp child keeping CAP_NET_RAW: unsafe.
    shutil.rmtree(os.path.join(fake, str(session[0])))
    copy_proc(session[0], relay.root, lambda s: s.replace(
        "CapEff:\t0000000000000000", "CapEff:\t0000000000002000"))
    rc, doc = check(relay.root)
    assert rc == 3, doc
    assert ids(doc, host=False) == {"runtime.child-caps"}, doc
    assert [f["path"] for f in doc["findings"]] == [
        "%s/%d" % (fake, session[0])], doc
    assert c.cmd("QUIT")[0] == 221


def test_tls_good_key_and_certificate_are_clean(base):
    """A root:root 0600 key that matches a certificate valid for 30 days:
    no tls.* finding (each one has its fixture in check_fixtures)."""
    cf.fake_sysctls(base)
    cf.tls_files(base)
    rc, doc = check(base)
    assert (rc, doc["findings"]) == (0, []), doc
