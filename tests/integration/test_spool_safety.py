"""A spool writable by anyone but the relay account is unsafe.

Each rule against a real relayd and relayctl on a set-up temporary root:
a spool directory (or a directory above it) that another user could
change makes `relayctl check` exit 3 and relayd refuse to start (one line
on stderr naming the directory, exit 78), and a reload that finds one
closes the listeners until a reload finds it fixed.  A queue file the
relay did not write (another owner, a hard link) is set aside in
SPOOL/corrupt/ by the queue runner, logged once and never delivered (an
aiosmtpd sink as smarthost receives nothing of it), and `relayctl queue
list` shows it as corrupt.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relayd_harness import (SPOOL, listening, relay,  # noqa: E402,F401
                            relayd_path, wait_for)
from delivery_harness import configure, inject, peers  # noqa: E402,F401

QID1 = "1K13M7DWXVW00FES"
QID2 = "1K13M7DWXVW00FET"
STRANGER = 1000  # a uid that is neither root nor the relay


def queue_file(qid):
    """A well-formed relayd-queue(5) file, due now."""
    msg = b"Subject: planted %s\r\n\r\nnever deliver this\r\n" % qid.encode()
    return ("relayd-queue 1\nid %s\narrival 1700000000\nclient 192.0.2.1 "
            "client.example\nsender <a@example.net>\nrcpt <b@example.org> "
            "pending\nattempts 0\nnext-try 0\nsize %d\n\n"
            % (qid, len(msg))).encode() + msg


def write_file(path, data, uid, gid, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return path


def plant_foreign(relay, qid=QID1):
    """Another user's file, readable by the relay (mode 0644)."""
    return write_file(relay.spool("queue", qid), queue_file(qid),
                      STRANGER, relay.gid, 0o644)


def plant_hardlink(relay, qid=QID2):
    """The relay's own file, hard-linked from outside the spool."""
    other = os.path.join(relay.root, "elsewhere-" + qid)
    write_file(other, queue_file(qid), relay.uid, relay.gid, 0o600)
    os.link(other, relay.spool("queue", qid))
    return other


# ------------------------------------------------------------ directories

def open_spool(relay):
    os.chmod(relay.spool(), 0o777)
    return relay.spool()


def foreign_group_queue(relay):
    os.chown(relay.spool("queue"), relay.uid, 100)  # users
    os.chmod(relay.spool("queue"), 0o770)
    return relay.spool("queue")


def open_parent(relay):
    path = os.path.join(relay.root, "var/spool")
    os.chmod(path, 0o757)
    return path


def foreign_hold(relay):
    os.chown(relay.spool("hold"), STRANGER, relay.gid)
    return relay.spool("hold")


def open_corrupt(relay):
    os.chmod(relay.spool("corrupt"), 0o733)
    return relay.spool("corrupt")


UNSAFE_DIRS = {
    "spool-0777": open_spool,
    "queue-0770-foreign-group": foreign_group_queue,
    "parent-writable-by-others": open_parent,
    "hold-foreign-owner": foreign_hold,
    "corrupt-0733": open_corrupt,
}


def check_json(relay):
    r = relay.relayctl("check", "--json")
    doc = json.loads(r.out)
    assert doc["exit"] == r.rc, r
    return r.rc, doc


@pytest.mark.parametrize("name", sorted(UNSAFE_DIRS))
def test_unsafe_spool_dir_check_3_and_relayd_refuses(relay, name):
    path = UNSAFE_DIRS[name](relay)
    shown = "/" + os.path.relpath(path, relay.root)
    rc, doc = check_json(relay)
    assert rc == 3, doc
    assert any(f["id"] == "spool.unsafe_dir" and f["path"] == shown and
               f["severity"] == "unsafe" for f in doc["findings"]), doc
    cp = subprocess.run([relayd_path(), "--root", relay.root],
                        capture_output=True, text=True,
                        stdin=subprocess.DEVNULL, timeout=60)
    assert cp.returncode == 78, cp
    lines = cp.stderr.splitlines()
    assert len(lines) == 1, cp.stderr
    assert "'%s'" % path in lines[0] and "unsafe" in lines[0], cp.stderr
    fix = ("chmod go-w" if name.startswith("parent") else
           "run 'relayctl setup --root %s'" % relay.root)
    assert fix in lines[0], cp.stderr
    assert not os.path.exists(os.path.join(relay.root, "run/relayd.pid"))
    assert not listening(relay.port)


def test_reload_with_unsafe_spool_stops_accepting(relay):
    p = relay.start_fg()
    os.chmod(relay.spool("queue"), 0o777)
    os.kill(p.pid, signal.SIGHUP)
    wait_for(lambda: not listening(relay.port, p.pid), 10,
             what="the listener to close")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", relay.port), 2).close()
    assert p.poll() is None, relay.stderr()
    wait_for(lambda: "not accepting connections" in relay.stderr(), 5,
             what="the log line")
    line = [ln for ln in relay.stderr().splitlines()
            if "not accepting connections" in ln]
    assert len(line) == 1 and relay.spool("queue") in line[0], line
    # Still unsafe: a second reload changes nothing.
    os.kill(p.pid, signal.SIGHUP)
    time.sleep(0.5)
    assert not listening(relay.port, p.pid)
    os.chmod(relay.spool("queue"), 0o700)
    os.kill(p.pid, signal.SIGHUP)
    relay.wait_listening(p)
    c = relay.client()
    c.cmd("QUIT")
    assert "the spool is safe again" in relay.stderr(), relay.stderr()


# ------------------------------------------------------------ queue files

def test_foreign_and_linked_files_check_3(relay):
    plant_foreign(relay)
    plant_hardlink(relay)
    rc, doc = check_json(relay)
    assert rc == 3, doc
    got = {f["path"] for f in doc["findings"]
           if f["id"] == "spool.foreign_file"}
    assert got == {"/%s/queue/%s" % (SPOOL, q) for q in (QID1, QID2)}, doc


def test_queue_list_shows_foreign_files_as_corrupt(relay):
    plant_foreign(relay)
    plant_hardlink(relay)
    r = relay.relayctl("queue", "list")
    assert r.rc == 1, r
    assert "planted" not in r.out and "<a@example.net>" not in r.out, r
    assert ('corrupt  "queue/%s"  foreign, linked or not a regular file\n'
            % QID1) in r.out, r
    assert ('corrupt  "queue/%s"  foreign, linked or not a regular file\n'
            % QID2) in r.out, r
    r = relay.relayctl("queue", "list", "--json")
    assert r.rc == 1, r
    doc = json.loads(r.out)
    assert doc["messages"] == [], doc
    assert [(c["name"], c["dir"], c["state"]) for c in doc["corrupt"]] == \
        [(QID1, "queue", "corrupt"), (QID2, "queue", "corrupt")], doc


def test_runner_sets_foreign_files_aside_never_delivers(relay, peers):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop)
    # No corrupt/ yet (a spool set up before it existed): the runner,
    # as the relay account, makes it.
    if os.path.isdir(relay.spool("corrupt")):
        os.rmdir(relay.spool("corrupt"))
    plant_foreign(relay)
    plant_hardlink(relay)
    relay.start_fg()
    qid, _ = inject(relay, "a@example.net", ["b@example.org"])
    got = sink.wait(1, relay=relay)
    assert got[0].queue_id() == qid, got
    wait_for(lambda: sorted(os.listdir(relay.spool("corrupt"))) ==
             [QID1, QID2], 10, what="both files in corrupt/")
    st = os.stat(relay.spool("corrupt"))
    assert (st.st_uid, st.st_mode & 0o7777) == (relay.uid, 0o700), st
    assert relay.queue_ids() == [], relay.queue_ids()
    # A reload rescans queue/: nothing more to move, nothing more logged.
    os.kill(relay.proc.pid, signal.SIGHUP)
    relay.runner()
    time.sleep(1.5)
    assert len(sink.accepted()) == 1, sink.received
    assert all(b"planted" not in m.content for m in sink.received), \
        sink.received
    log = relay.stderr().splitlines()
    for q in (QID1, QID2):
        moved = [ln for ln in log if q in ln and "corrupt" in ln]
        assert len(moved) == 1 and "never delivered" in moved[0], log
    r = relay.relayctl("queue", "list", "--json")
    assert r.rc == 0, r
    doc = json.loads(r.out)
    assert [(c["name"], c["dir"]) for c in doc["corrupt"]] == \
        [(QID1, "corrupt"), (QID2, "corrupt")], doc


def test_worker_sets_aside_a_file_whose_message_is_malformed(relay, peers):
    """The runner schedules from the envelope alone; the worker, which
    reads the message, sets aside one that no writer makes (a bare LF)
    instead of trying it again every retry until the end of time."""
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    msg = b"Subject: planted\r\n\r\nbare\nline\r\n"
    data = ("relayd-queue 1\nid %s\narrival 1700000000\nclient 192.0.2.1 "
            "client.example\nsender <a@example.net>\nrcpt <b@example.org> "
            "pending\nattempts 0\nnext-try 0\nsize %d\n\n"
            % (QID1, len(msg))).encode() + msg
    write_file(relay.spool("queue", QID1), data, relay.uid, relay.gid, 0o600)
    relay.start_fg()
    wait_for(lambda: os.path.exists(relay.spool("corrupt", QID1)), 10,
             what="the file in corrupt/")
    assert relay.queue_ids() == []
    # Still there after more than one retry_min: nothing tries it again.
    qid, _ = inject(relay, "a@example.net", ["b@example.org"])
    got = sink.wait(1, relay=relay)
    assert [m.queue_id() for m in got] == [qid]
    time.sleep(2.5)
    log = relay.stderr().splitlines()
    moved = [ln for ln in log if QID1 in ln and "corrupt" in ln]
    assert len(moved) == 1 and "malformed" in moved[0], log
    assert not [ln for ln in log if QID1 in ln and "cannot read" in ln], log
    assert all(b"planted" not in m.content for m in sink.received)
