"""The durability order, seen in the system calls (strace -f).

A kill -9 keeps the page cache, so no crash test can see a missing
fsync: these tests read what the processes asked of the kernel instead.
- an smtp session, before its `250 ... queued as ID`: fsync of
  tmp/ID, then the rename of tmp/ID to queue/ID, then fsync of queue/;
- a delivery worker recording a deferred attempt: fsync of
  tmp/ID.update, its rename over queue/ID, fsync of queue/; and one that
  recorded a delivery: the unlink of queue/ID, then fsync of queue/;
- `relayctl setup`: every file it renames into place (each account
  database and its backup, each file it writes) is fsynced after its
  last write and before its rename, and the directory after the rename
  and before the next one.
"""

import glob
import os
import re
import signal
import subprocess

from delivery_harness import configure, inject, peers, wait_queue_empty  # noqa
from harness import relayctl_path, traced_env
from relayd_harness import held_relay, relay, send_message  # noqa: F401

SYSCALLS = ("fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat,"
            "openat,write,writev,pwrite64,sendto,sendmsg")
CALL_RE = re.compile(r"^(?P<name>\w+)\((?P<args>.*)\) += (?P<ret>-?\d+|\?)")
FD_RE = re.compile(r"^(?:\d+|AT_FDCWD)<(?P<path>[^>]*)>")
DIR_NAME_RE = re.compile(
    r'(?:\d+|AT_FDCWD)<(?P<dir>[^>]*)>, "(?P<name>(?:[^"\\]|\\.)*)"')
DBS = ("passwd", "group", "shadow", "gshadow")


def strace_argv(out):
    """strace writing one file per process (out.PID): no interleaving."""
    return ["strace", "-f", "-ff", "-qq", "-yy", "-s", "80", "-o", out,
            "-e", "trace=" + SYSCALLS]


def read_traces(out):
    """{pid: [(name, args, ret)]} of the successful calls per process."""
    procs = {}
    for path in glob.glob(out + ".*"):
        pid = int(path.rsplit(".", 1)[1])
        calls = []
        with open(path, errors="replace") as f:
            for line in f:
                m = CALL_RE.match(line)
                if m and m.group("ret") != "?" and int(m.group("ret")) >= 0:
                    calls.append((m.group("name"), m.group("args"),
                                  int(m.group("ret"))))
        procs[pid] = calls
    return procs


def fd_path(args):
    m = FD_RE.match(args)
    return m.group("path") if m else None


def renames(calls):
    """[(index, source path, destination path)] of the renames."""
    out = []
    for i, (name, args, _) in enumerate(calls):
        if name not in ("rename", "renameat", "renameat2"):
            continue
        if name == "rename":
            src, dst = re.findall(r'"((?:[^"\\]|\\.)*)"', args)[:2]
        else:
            (d1, n1), (d2, n2) = DIR_NAME_RE.findall(args)[:2]
            src = n1 if n1.startswith("/") else os.path.join(d1, n1)
            dst = n2 if n2.startswith("/") else os.path.join(d2, n2)
        out.append((i, src, dst))
    return out


def unlinks(calls):
    """[(index, path)] of the unlinks of files (not directories)."""
    out = []
    for i, (name, args, _) in enumerate(calls):
        if name == "unlink":
            out.append((i, re.findall(r'"((?:[^"\\]|\\.)*)"', args)[0]))
        elif name == "unlinkat" and not args.endswith("AT_REMOVEDIR"):
            d, n = DIR_NAME_RE.findall(args)[0]
            out.append((i, n if n.startswith("/") else os.path.join(d, n)))
    return out


def fsync_at(calls, path, start, end):
    """Index of an fsync of an fd open on path in calls[start:end]."""
    for i in range(start, end):
        name, args, _ = calls[i]
        if name in ("fsync", "fdatasync") and fd_path(args) == path:
            return i
    return None


def last_write(calls, path, end):
    for i in range(end - 1, -1, -1):
        name, args, _ = calls[i]
        if name in ("write", "writev", "pwrite64") and fd_path(args) == path:
            return i
    return -1


def check_rename_durable(calls, src, dst, end=None):
    """The rename src -> dst happened; src was fsynced after its last
    write and before the rename; dst's directory was fsynced after the
    rename, before the process's next rename and before calls[end].
    Returns the rename's index."""
    end = len(calls) if end is None else end
    all_renames = renames(calls)
    found = [i for i, s, d in all_renames if (s, d) == (src, dst)]
    assert found, "no rename %s -> %s in %r" % (src, dst, all_renames)
    r = found[-1]
    end = min([end] + [i for i, _, _ in all_renames if i > r])
    w = last_write(calls, src, r)
    f = fsync_at(calls, src, w + 1, r)
    assert f is not None, "%s renamed to %s without an fsync after its " \
        "last write (call %d): %r" % (src, dst, w, calls[max(w, 0):r + 1])
    d = fsync_at(calls, os.path.dirname(dst), r + 1, end)
    assert d is not None, "no fsync of %s between the rename of %s and " \
        "call %d: %r" % (os.path.dirname(dst), src, end, calls[r:end + 1])
    return r


def reply_index(calls, text):
    for i, (name, args, _) in enumerate(calls):
        if name in ("sendto", "write", "writev", "sendmsg") and \
                "<TCP:" in args.split(",")[0] and text in args:
            return i
    return None


def stop_traced(relay, p):
    """TERM the traced master and wait for strace: its files are then
    complete."""
    master = relay.pidfile_pid()
    assert master and master != p.pid, master
    os.kill(master, signal.SIGTERM)
    p.wait(timeout=30)


def test_session_syncs_message_then_queue_dir_before_250(held_relay,
                                                         tmp_path):
    relay = held_relay
    out = str(tmp_path / "trace")
    p = relay.start_fg(argv_prefix=strace_argv(out), env=traced_env())
    c = relay.client()
    ids = [send_message(c, "a@example.com", ["b%d@example.org" % i],
                        b"Subject: order %d\r\n\r\nhi\r\n" % i)
           for i in range(2)]
    assert c.cmd("QUIT")[0] == 221
    relay.wait_deferred(ids)
    stop_traced(relay, p)
    spool = os.path.realpath(relay.spool())
    procs = read_traces(out)
    sessions = [pid for pid, calls in procs.items()
                if reply_index(calls, "250 2.0.0 Ok: queued as ")]
    assert len(sessions) == 1, sessions
    calls = procs[sessions[0]]
    for qid in ids:
        reply = reply_index(calls, r"250 2.0.0 Ok: queued as %s\r\n" % qid)
        assert reply is not None, qid
        check_rename_durable(calls, os.path.join(spool, "tmp", qid),
                             os.path.join(spool, "queue", qid), reply)


def test_worker_syncs_each_state_rewrite(held_relay, tmp_path):
    relay = held_relay
    out = str(tmp_path / "trace")
    p = relay.start_fg(argv_prefix=strace_argv(out), env=traced_env())
    c = relay.client()
    qid = send_message(c, "a@example.com", ["b@example.org"],
                       b"Subject: rewrite\r\n\r\nhi\r\n")
    relay.wait_deferred([qid])
    stop_traced(relay, p)
    spool = os.path.realpath(relay.spool())
    src = os.path.join(spool, "tmp", qid + ".update")
    dst = os.path.join(spool, "queue", qid)
    writers = [pid for pid, calls in read_traces(out).items()
               if any(s == src for _, s, _ in renames(calls))]
    assert len(writers) == 1, writers
    calls = read_traces(out)[writers[0]]
    check_rename_durable(calls, src, dst)


def test_worker_syncs_queue_dir_after_a_delivery(relay, peers,  # noqa
                                                  tmp_path):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop)
    out = str(tmp_path / "trace")
    p = relay.start_fg(argv_prefix=strace_argv(out), env=traced_env())
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    sink.wait(1, relay=relay)
    wait_queue_empty(relay)
    stop_traced(relay, p)
    spool = os.path.realpath(relay.spool())
    target = os.path.join(spool, "queue", qid)
    found = [(pid, i) for pid, calls in read_traces(out).items()
             for i, path in unlinks(calls) if path == target]
    assert len(found) == 1, found
    pid, i = found[0]
    calls = read_traces(out)[pid]
    assert fsync_at(calls, os.path.join(spool, "queue"), i + 1,
                    len(calls)) is not None, calls[i:]


def test_setup_syncs_every_file_before_its_rename(make_root, tmp_path):
    root = make_root("debian")
    out = str(tmp_path / "trace")
    cp = subprocess.run(strace_argv(out) + [relayctl_path(), "setup",
                                            "--root", root],
                        capture_output=True, text=True, env=traced_env(),
                        timeout=120)
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    procs = read_traces(out)
    etc = os.path.realpath(os.path.join(root, "etc"))
    seen = set()
    for calls in procs.values():
        for _, src, dst in renames(calls):
            check_rename_durable(calls, src, dst)
            seen.add(dst)
    # Each account database and its backup, not just one of them.
    for db in DBS:
        for name in (db, db + "-"):
            assert os.path.join(etc, name) in seen, (name, sorted(seen))
