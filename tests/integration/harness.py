"""The one helper layer under every integration test and harness.

conftest.py (fixtures), relayd_harness.py (a running relayd, an SMTP
client) and delivery_harness.py (next hops, DNS) all build on this file:

- binaries and their environment: relayctl, relayd, the Postfix peer
  tools, the LD_PRELOAD shims built by tests/CMakeLists.txt;
- ports: free high ports outside the kernel's ephemeral range, so that
  no outgoing connection of a parallel test is ever given one;
- /proc: process lookup by title, always scoped to a process tree (a
  test's own relayd), never host-wide: a parallel test's relayd has the
  same titles;
- waiting: wait_for() with limits scaled by RELAY_TEST_TIME_SCALE;
- queue files: a strict and a lenient reader of relayd-queue(5) and a
  writer for hand-made files;
- roots: snapshots of a tree and the removal of a test root;
- seeds: pick_seed() prints the seed of a randomised test and takes
  RELAY_TEST_SEED instead when it is set.
"""

import errno
import hashlib
import os
import random
import re
import shutil
import socket
import stat
import subprocess
import sys
import time

import pytest

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("RELAY_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(HERE))
SHARE_DEFAULT = os.path.join(SOURCE_DIR, "share")


# ------------------------------------------------------------ binaries

def relayctl_path():
    path = os.environ.get("RELAYCTL")
    if not path:
        pytest.fail("RELAYCTL is not set: run the tests through ctest "
                    "(tests/run), which points it at the built binary")
    if not os.access(path, os.X_OK):
        pytest.fail("RELAYCTL=%s is not an executable" % path)
    return path


def build_dir():
    d = os.environ.get("RELAY_BUILD_DIR")
    if not d:
        pytest.fail("RELAY_BUILD_DIR is not set: run the tests through "
                    "ctest (tests/run)")
    return d


def relayd_path():
    path = os.path.join(build_dir(), "relayd")
    if not os.access(path, os.X_OK):
        pytest.fail("%s is not an executable: relayd is not built" % path)
    return path


def shim_path(name):
    """A test-only LD_PRELOAD library built from tests/shim/NAME.c."""
    path = os.path.join(build_dir(), "tests", "lib%s.so" % name)
    if not os.access(path, os.R_OK):
        pytest.fail("%s missing: the shims are built with the tests" % path)
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


def traced_env(extra=None):
    """relay_env for a program run under strace: LeakSanitizer cannot
    run under ptrace (sanitizer builds)."""
    env = relay_env(extra)
    env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                           ":detect_leaks=0").lstrip(":")
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
                        text=True, env=relay_env(env), timeout=scaled(timeout))
    return Result(cp)


def peers_dir():
    """Where tests/peers/get-postfix-tools put smtp-source and smtp-sink."""
    d = os.environ.get("RELAY_PEERS_DIR")
    if not d:
        d = os.path.join(SOURCE_DIR, "build", "peers")
    return d


def peer(name):
    d = peers_dir()
    path = os.path.join(d, "usr/sbin", name)
    if not os.access(path, os.X_OK):
        pytest.fail("%s missing: run tests/peers/get-postfix-tools "
                    "(tests/run does)" % path)
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(d, "usr/lib/postfix"))
    return path, env


# ------------------------------------------------------------ ports

# Below the kernel's ephemeral range (ip_local_port_range, 32768-60999
# on Debian): a connect() never picks one of these as its local port.
PORT_MIN, PORT_MAX = 10000, 32767
_port_rng = random.SystemRandom()


def free_port():
    """A TCP port on 127.0.0.1 that nobody holds now, outside the
    ephemeral range and never 2024.  A server that then fails to bind
    it (another test got there first) is retried on a new one by the
    harness that starts it (Relay.start_fg, Sink, Hostile)."""
    while True:
        port = _port_rng.randint(PORT_MIN, PORT_MAX)
        if port == 2024:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def bind_retry(bind, port=None, tries=5, first=None):
    """Call bind(port) with the fixed port, or else with first (if
    given) and then fresh free ports while the port is taken
    (EADDRINUSE); returns what bind returned."""
    for i in range(tries):
        if port is not None:
            p = port
        elif i == 0 and first is not None:
            p = first
        else:
            p = free_port()
        try:
            return bind(p)
        except OSError as e:
            if (port is not None or e.errno != errno.EADDRINUSE or
                    i == tries - 1):
                raise
    raise AssertionError("unreachable")


# ------------------------------------------------------------ waiting

def time_scale():
    """RELAY_TEST_TIME_SCALE (default 2): multiplies every wait limit
    (a machine shared with parallel builds is slow).  Limits are upper
    bounds of waits that end at an event, so a larger scale only slows
    a failing test."""
    try:
        return max(1.0, float(os.environ.get("RELAY_TEST_TIME_SCALE", "2")))
    except ValueError:
        return 2.0


def scaled(seconds):
    return None if seconds is None else seconds * time_scale()


def wait_for(pred, timeout=10.0, step=0.02, what="condition"):
    """pred() until it is true (returned) or timeout (scaled) passes."""
    limit = scaled(timeout)
    end = time.monotonic() + limit
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (limit, what))
        time.sleep(step)


# ------------------------------------------------------------ seeds

def pick_seed(default):
    """The seed of a randomised test: RELAY_TEST_SEED if set, else
    default.  Printed, so a failing run can be repeated (pytest shows a
    failing test's stdout)."""
    env = os.environ.get("RELAY_TEST_SEED")
    seed = int(env, 0) if env else default
    print("random seed %d (set RELAY_TEST_SEED to change it)" % seed)
    return seed


# ------------------------------------------------------------ /proc

def proc_stat(pid):
    """(ppid, pgrp) of pid, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2])


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children_of(ppid):
    kids = []
    for pid in all_pids():
        st = proc_stat(pid)
        if st is not None and st[0] == ppid:
            kids.append(pid)
    return sorted(kids)


def descendants_of(pid):
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def proc_status(pid):
    """/proc/PID/status as {key: value string}."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_title(pid):
    """The process title (setproctitle rewrites argv): NULs and padding
    folded, trailing blanks dropped; "" for a process that is gone (one
    found in a list of children may exit before it is read)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            raw = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").rstrip()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def titled(pids, prefix):
    """The pids (alive, not zombies) whose title starts with prefix."""
    out = []
    for pid in pids:
        try:
            if proc_title(pid).startswith(prefix) and alive(pid):
                out.append(pid)
        except OSError:
            pass
    return sorted(out)


def procs_titled(prefix, within):
    """Descendants of within whose title starts with prefix.  within is
    required: a host-wide lookup finds the relayd of a test running
    beside this one."""
    if not within:
        raise AssertionError("procs_titled(%r): no process tree to look "
                             "in (relayd not running?)" % prefix)
    return titled(descendants_of(within), prefix)


def listening(port, pid=None, addr="127.0.0.1"):
    """True if addr:port is in LISTEN state in pid's network namespace
    (ours if pid is None).  Looks at /proc, so it opens no session."""
    want = "%s:%04X" % ("".join("%02X" % int(b) for b in
                                reversed(addr.split("."))), port)
    path = "/proc/%s/net/tcp" % (pid if pid else "self")
    try:
        with open(path) as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[1] == want and fields[3] == "0A":
                    return True
    except (FileNotFoundError, ProcessLookupError):
        pass
    return False


def mem_kb(pid):
    """(VmRSS, VmHWM) in kB, or None if the process is gone."""
    try:
        st = proc_status(pid)
        return (int(st["VmRSS"].split()[0]), int(st["VmHWM"].split()[0]))
    except (OSError, KeyError, ValueError, IndexError):
        return None


def _tcp_inodes(local_port):
    """Inodes of TCP sockets (v4 and v6) whose local port is local_port
    (in this thread's network namespace)."""
    inodes = set()
    for name in ("tcp", "tcp6"):
        try:
            f = open("/proc/thread-self/net/%s" % name)
        except FileNotFoundError:
            continue
        with f:
            next(f)
            for line in f:
                fields = line.split()
                port = int(fields[1].rsplit(":", 1)[1], 16)
                if port == local_port:
                    inodes.add(fields[9])
    return inodes


def pid_of_client(local_port, within=None):
    """The pid holding the TCP socket with this local port (a client of
    one of our servers), or None.  A socket inode is unique, so even the
    host-wide search (within None) cannot find another test's process;
    within narrows it to one process tree."""
    inodes = {"socket:[%s]" % i for i in _tcp_inodes(local_port)}
    if not inodes:
        return None
    for pid in (descendants_of(within) if within else all_pids()):
        d = "/proc/%d/fd" % pid
        try:
            for fd in os.listdir(d):
                try:
                    if os.readlink(os.path.join(d, fd)) in inodes:
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None


# ------------------------------------------------------------ queue files

QUEUE_ID_RE = re.compile(r"^[0-9A-Z]{12,32}$")
PATH_RE = re.compile(r'^(<(?:"(?:[^"\\]|\\.)*"|[^ <>"])*>)(?: (.*))?$')


def split_path(text):
    """'<path> rest' -> ('<path>', 'rest'); spaces only inside a quoted
    local part."""
    m = PATH_RE.match(text)
    assert m, "not a path: %r" % text
    return m.group(1), m.group(2) or ""


def parse_queue_file(data):
    """Parse relayd-queue(5) bytes strictly; returns a dict with id,
    arrival, client, helo, trusted, sender, sender_params, rcpts [(path, state,
    params)], last_errors (per rcpt: None or (status, text)), attempts,
    next_try, size, message (bytes)."""
    head, sep, message = data.partition(b"\n\n")
    assert sep, "no empty line after the envelope: %r" % data[:500]
    lines = head.decode("utf-8").split("\n")
    assert lines[0] == "relayd-queue 1", lines
    q = {"rcpts": [], "last_errors": []}
    i = 1

    def field(name):
        nonlocal i
        assert i < len(lines), "envelope ends before %r: %r" % (name, lines)
        key, _, val = lines[i].partition(" ")
        assert key == name, "line %d: expected %r, got %r" % (
            i + 1, name, lines[i])
        i += 1
        return val

    q["id"] = field("id")
    assert QUEUE_ID_RE.match(q["id"]), q["id"]
    q["arrival"] = int(field("arrival"))
    client = field("client").split(" ")
    # "ADDR HELO" or "ADDR HELO trusted" (the client was in relay_from)
    assert len(client) == 2 or client[2:] == ["trusted"], client
    q["client"], q["helo"] = client[:2]
    q["trusted"] = len(client) == 3
    q["sender"], params = split_path(field("sender"))
    q["sender_params"] = params.split(" ") if params else []
    while i < len(lines) and lines[i].startswith("rcpt "):
        path, rest = split_path(field("rcpt"))
        parts = rest.split(" ")
        assert parts[0] in ("pending", "sent", "failed"), parts
        q["rcpts"].append((path, parts[0], parts[1:]))
        q["last_errors"].append(None)
        if i < len(lines) and lines[i].startswith("last-error "):
            status, _, text = field("last-error").partition(" ")
            assert re.match(r"^[245]\.\d{1,3}\.\d{1,3}$", status), status
            assert text, lines
            q["last_errors"][-1] = (status, text)
    assert q["rcpts"], "no rcpt line: %r" % lines
    q["attempts"] = int(field("attempts"))
    q["next_try"] = int(field("next-try"))
    q["size"] = int(field("size"))
    assert i == len(lines), "unexpected envelope lines: %r" % lines[i:]
    assert q["size"] == len(message), (
        "size %d but %d message octets follow" % (q["size"], len(message)))
    q["message"] = message
    return q


def read_envelope(path):
    """Lenient reader of a relayd-queue(5) envelope (for files a worker
    may be rewriting): {key: value} for single fields, "rcpts": [{path,
    state, params, error}]; None if the file is gone (delivered
    meanwhile)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    head = data.partition(b"\n\n")[0].decode("utf-8", errors="replace")
    env = {"rcpts": [], "lines": head.split("\n")}
    for ln in env["lines"][1:]:
        key, _, val = ln.partition(" ")
        if key == "rcpt":
            p, _, rest = val.partition("> ")
            parts = rest.split(" ")
            env["rcpts"].append({"path": p + ">", "state": parts[0],
                                 "params": parts[1:], "error": None})
        elif key == "last-error" and env["rcpts"]:
            env["rcpts"][-1]["error"] = val
        else:
            env[key] = val
    return env


def queue_file_bytes(qid, msg, sender="<a@example.net>", rcpts=None,
                     attempts=0, next_try=0, arrival=1700000000,
                     client="192.0.2.1 client.example"):
    """relayd-queue(5) bytes of a hand-made message; rcpts: [(path,
    state, [extra lines])]."""
    if rcpts is None:
        rcpts = [("<b@example.org>", "pending", [])]
    lines = ["relayd-queue 1", "id " + qid, "arrival %d" % arrival,
             "client " + client, "sender " + sender]
    for path, state, extra in rcpts:
        lines.append("rcpt %s %s" % (path, state))
        lines += extra
    lines += ["attempts %d" % attempts, "next-try %d" % next_try,
              "size %d" % len(msg)]
    return ("\n".join(lines) + "\n\n").encode() + msg


# ------------------------------------------------------------ roots

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
