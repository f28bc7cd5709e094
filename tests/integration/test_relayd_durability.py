"""relayd end to end: crashes and start-up failures.  A child killed in
the middle of DATA leaves nothing in queue/ and start-up cleans tmp/; a
message is in queue/ as soon as its 250 was sent, whatever is killed
afterwards; `relayctl start` fails loudly on a bad config or a busy
port.

The queue runner delivers at once, so every relay here holds its mail
(held_relay: the smarthost refuses connections, retries are an hour
apart): what is in queue/ is what the sessions wrote, and a message
that should not be there cannot hide by being delivered."""

import json
import os
import re
import signal
import socket
import time

import pytest

from relayd_harness import (QUEUED_RE, alive, check_delivery_state,  # noqa
                            children_of, held_relay, proc_title, runner_of, send_message,
                            sessions_of, split_received, wait_for)


@pytest.fixture
def relay(held_relay):  # noqa: F811 (the fixture, renamed)
    return held_relay


def stale_tmp_file(relay, name):
    """What a writer killed during enqueue leaves: a file in tmp/ owned
    by the relay account."""
    path = relay.spool("tmp", name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, b"relayd-queue 1\nid %s\narrival 1\n" % name.encode())
        os.fchown(fd, relay.uid, relay.gid)
    finally:
        os.close(fd)


def test_child_killed_mid_data_queues_nothing_and_restart_cleans_tmp(relay):
    p = relay.start_fg()
    c = relay.client()
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           "DATA\r\n")
    c.expect(250)
    c.expect(250)
    c.expect(354)
    c.send(b"Subject: half\r\n\r\n" + b"first half of the message\r\n" * 50)
    wait_for(lambda: [k for k in sessions_of(p.pid) if
                      proc_title(k).endswith(" data")],
             5, what="the child to be in DATA")
    kids = sessions_of(p.pid)
    assert len(kids) == 1, kids
    runner = runner_of(p.pid)
    assert len(runner) == 1, runner
    os.kill(kids[0], signal.SIGKILL)
    assert c.eof()
    wait_for(lambda: kids[0] not in children_of(p.pid), 5, what="the reap")
    assert sessions_of(p.pid) == []
    assert relay.queue_ids() == []
    # The master survived its child's death and still serves; the runner
    # was not disturbed.
    assert p.poll() is None
    assert runner_of(p.pid) == runner
    c2 = relay.client()
    assert c2.cmd("QUIT")[0] == 221
    # What a child killed while writing tmp/ID leaves behind; a restart
    # must remove it (nothing else is running then).
    stale_tmp_file(relay, "0123456789ABCDEF")
    relay.stop()
    assert relay.tmp_files() == ["0123456789ABCDEF"]
    relay.start_fg()
    assert relay.tmp_files() == []
    assert relay.queue_ids() == []


def test_message_durable_once_250_is_sent(relay):
    p = relay.start_fg()
    c = relay.client()
    body = b"Subject: durable\r\n\r\n" + b"".join(
        b"line %04d of a message that must survive\r\n" % i
        for i in range(500))
    c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           b"DATA\r\n")
    c.expect(250)
    c.expect(250)
    c.expect(354)
    c.send(body + b".\r\n")
    line = c.line()
    # kill -9 everything at once: master and child, no cleanup at all
    relay.kill9_group(p)
    m = QUEUED_RE.match(line or "")
    assert m, line
    qid = m.group(1)
    relay.start_fg()
    assert relay.queue_ids() == [qid]
    q = relay.read_queue(qid)
    assert q["sender"] == "<a@example.com>"
    assert q["rcpts"] == [("<b@example.org>", "pending", [])]
    assert q["size"] == len(q["message"])
    check_delivery_state(q, relay.smarthost_port)
    received, rest = split_received(q["message"])
    assert re.search(r" id %s( for <b@example\.org>)?;" % qid, received), \
        received
    assert rest == body
    # nothing in tmp/ once the new runner has deferred the message (a
    # worker rewriting it uses tmp/ID.update for a moment)
    relay.wait_deferred([qid])
    assert relay.tmp_files() == []


def test_relayctl_start_bad_config_names_file_line_key(relay):
    text = relay.conf_text()
    lines = text.rstrip("\n").split("\n")
    lines.insert(3, "max_recipeints = 5")
    relay.configure("\n".join(lines) + "\n")
    r = relay.relayctl("start", timeout=30)
    assert r.rc != 0, r
    # FILE:LINE: KEY, the line being where the typo is (1-based)
    assert re.search(r"relayd\.conf:4: max_recipeints\b", r.err), r
    assert not os.path.exists(os.path.join(relay.root, "run/relayd.pid"))
    # not running (status cannot even read the config: LSB 4 is fair)
    s = relay.relayctl("status")
    assert s.rc in (3, 4), s


def test_relayctl_start_port_in_use(relay):
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", relay.port))
        busy.listen(1)
        r = relay.relayctl("start", timeout=30)
        assert r.rc != 0, r
        assert "127.0.0.1:%d" % relay.port in r.err, r
        assert "Address already in use" in r.err, r
        assert not os.path.exists(os.path.join(relay.root, "run/relayd.pid"))
        s = relay.relayctl("status")
        assert s.rc == 3, s
    finally:
        busy.close()
    # and with the port free again it starts, and stops
    time.sleep(0.1)
    r = relay.relayctl("start", timeout=30)
    assert r.rc == 0, r
    pid = relay.pidfile_pid()
    relay.masters.add(pid)
    assert r.out == "relayd started (pid %d)\n" % pid, r
    r = relay.relayctl("stop", timeout=30)
    assert r.rc == 0, r
    assert not os.path.exists("/proc/%d" % pid) or \
        open("/proc/%d/stat" % pid).read().split(") ")[1][0] == "Z"


def test_enqueue_failure_gives_451_and_leaves_nothing(relay):
    relay.start_fg()
    c = relay.client()
    # queue/ not writable by its owner: the rename into it fails
    os.chmod(relay.spool("queue"), 0o500)
    try:
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
               "DATA\r\n")
        c.expect(250)
        c.expect(250)
        c.expect(354)
        c.send("Subject: no room\r\n\r\nhi\r\n.\r\n")
        lines = c.expect(451)
        assert lines == ["451 4.3.0 Error: queue file write error"], lines
        assert relay.queue_ids() == []
        assert relay.tmp_files() == []
    finally:
        os.chmod(relay.spool("queue"), 0o700)
    # the session goes on and the next message is queued
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           "DATA\r\n")
    c.expect(250)
    c.expect(250)
    c.expect(354)
    c.send("Subject: room again\r\n\r\nhi\r\n.\r\n")
    qid = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    assert relay.queue_ids() == [qid]


def test_daemon_via_relayctl_serves_and_reports(relay):
    r = relay.relayctl("start", timeout=30)
    assert r.rc == 0, r
    pid = relay.pidfile_pid()
    relay.masters.add(pid)
    assert r.out == "relayd started (pid %d)\n" % pid, r
    assert proc_title(pid) == \
        "relayd: accepting connections on 127.0.0.1:%d" % relay.port
    # daemonized: its own session, not our child
    assert os.getsid(pid) == pid
    c = relay.client()
    qid = send_message(c, "a@example.com", ["b@example.org"],
                       b"Subject: daemon\r\n\r\nhi\r\n")
    session = wait_for(lambda: sessions_of(pid), 5, what="one session")
    assert len(session) == 1, session
    assert len(runner_of(pid)) == 1  # a child, but not a session
    s = relay.relayctl("status", "--json")
    assert s.rc == 0, s
    doc = json.loads(s.out)
    assert doc.pop("metrics")["messages_accepted_total"] == 1, s
    assert doc == {
        "running": True, "pid": pid, "sessions": 1, "queue": 1,
        "listen": ["127.0.0.1:%d" % relay.port]}, s
    assert c.cmd("QUIT")[0] == 221
    assert c.eof()
    wait_for(lambda: session[0] not in sessions_of(pid) or None, 5,
             what="the session to end")
    assert sessions_of(pid) == []
    s = relay.relayctl("status", "--json")
    assert s.rc == 0 and json.loads(s.out)["sessions"] == 0, s
    r = relay.relayctl("stop", timeout=30)
    assert r.rc == 0, r
    assert r.out == "relayd stopped\n", r
    assert not alive(pid)
    assert relay.queue_ids() == [qid]
    s = relay.relayctl("status")
    assert s.rc == 3, s
