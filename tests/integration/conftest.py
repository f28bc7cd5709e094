"""Shared pytest fixtures for the relayctl integration tests.

Every test gets its own throw-away root under /tmp (built by fixtures.py),
runs the real relayctl binary as root against it with --root, and removes
the root afterwards, unmounting anything a test mounted inside it first.
Nothing here touches the host's /etc or /var.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

SHARE_DEFAULT = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "share")


def relayctl_path():
    path = os.environ.get("RELAYCTL")
    if not path:
        pytest.fail("RELAYCTL is not set: run the tests through ctest "
                    "(tests/run), which points it at the built binary")
    if not os.access(path, os.X_OK):
        pytest.fail("RELAYCTL=%s is not an executable" % path)
    return path


def datadir():
    return os.environ.get("RELAYCTL_DATADIR", SHARE_DEFAULT)


def relay_env(extra=None):
    env = dict(os.environ)
    env["RELAYCTL_DATADIR"] = datadir()
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


class Result:
    def __init__(self, cp):
        self.rc = cp.returncode
        self.out = cp.stdout
        self.err = cp.stderr
        self.args = cp.args

    def __repr__(self):
        return "rc=%r\n--- args: %r\n--- stdout:\n%s--- stderr:\n%s" % (
            self.rc, self.args, self.out, self.err)


def run_relayctl(*args, env=None, timeout=60, prefix=()):
    cmd = list(prefix) + [relayctl_path()] + [str(a) for a in args]
    cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                        text=True, env=relay_env(env), timeout=timeout)
    return Result(cp)


def _acl(path):
    out = []
    for name in ("system.posix_acl_access", "system.posix_acl_default"):
        try:
            out.append(os.getxattr(path, name, follow_symlinks=False))
        except OSError:
            out.append(None)
    return tuple(out)


def snapshot(root):
    """Everything a write could change, per path relative to root: type,
    mode, owner, inode, link count, mtime, ctime, ACLs and the bytes (or
    the link target).  Two equal snapshots mean nothing was written."""
    snap = {}

    def one(path):
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                content = hashlib.sha256(f.read()).hexdigest()
        elif stat.S_ISLNK(st.st_mode):
            content = os.readlink(path)
        else:
            content = None
        rel = os.path.relpath(path, root)
        snap[rel] = dict(type=stat.S_IFMT(st.st_mode),
                         mode=oct(stat.S_IMODE(st.st_mode)),
                         uid=st.st_uid, gid=st.st_gid, ino=st.st_ino,
                         nlink=st.st_nlink, mtime=st.st_mtime_ns,
                         ctime=st.st_ctime_ns, acl=_acl(path),
                         content=content)

    one(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            one(os.path.join(dirpath, name))
    return snap


def snapshot_diff(before, after):
    """Human-readable differences, empty when identical."""
    diff = []
    for rel in sorted(set(before) | set(after)):
        b, a = before.get(rel), after.get(rel)
        if b is None:
            diff.append("created %s" % rel)
        elif a is None:
            diff.append("removed %s" % rel)
        elif a != b:
            keys = [k for k in b if b[k] != a[k]]
            diff.append("changed %s: %s" % (rel, ", ".join(
                "%s %r -> %r" % (k, b[k], a[k]) for k in keys)))
    return diff


def mounts_under(root):
    found = []
    with open("/proc/self/mounts") as f:
        for line in f:
            mnt = line.split()[1].replace("\\040", " ")
            if mnt == root or mnt.startswith(root + "/"):
                found.append(mnt)
    return found


def remove_root(root):
    for mnt in sorted(mounts_under(root), key=len, reverse=True):
        subprocess.run(["umount", "-l", mnt], check=False)
    assert not mounts_under(root), "could not unmount under %s" % root
    # Undo any immutable bits or odd modes a failing run may have left.
    shutil.rmtree(root, ignore_errors=True)
    assert not os.path.exists(root), "could not remove %s" % root


@pytest.fixture
def make_root():
    """make_root(kind) -> path of a fresh fixture root (debian, clean,
    existing or empty).  All are removed after the test."""
    roots = []

    def make(kind="debian"):
        root = tempfile.mkdtemp(prefix="relayctl-itest-", dir="/tmp")
        os.chmod(root, 0o755)
        roots.append(root)
        if kind != "empty":
            fixtures.build(kind, root)
        return root

    yield make
    for root in roots:
        remove_root(root)


@pytest.fixture
def relayctl():
    return run_relayctl
