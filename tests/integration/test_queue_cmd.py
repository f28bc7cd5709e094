"""relayctl queue: list (text and --json), hold, release, delete and
flush against a set-up root with hand-made queue files in the
relayd-queue(5) format, and a running relayd where the runner must act
(flush).  Queue files are the relay user's; relayctl reads them as root
and must not follow a symlink or a hard link, nor move a message that a
delivery worker holds locked.
"""

import fcntl
import json
import os
import re
import sys
import threading
import time

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relayd_harness import free_port, relay, wait_for  # noqa: E402,F401

from aiosmtpd.controller import Controller  # noqa: E402

ID1 = "1K13M7DWXVW00FES"
ID2 = "1K13M7DWXVW00FET"
ID3 = "1K13M7DWXVW00FEV"
MSG = b"Subject: hand made\r\n\r\nhello\r\n"


def queue_file(qid, sender="<a@example.net>", rcpts=None, attempts=0,
               next_try=0, msg=MSG, arrival=1700000000):
    """relayd-queue(5) bytes; rcpts: [(path, state, [extra lines])]."""
    if rcpts is None:
        rcpts = [("<b@example.org>", "pending", [])]
    lines = ["relayd-queue 1", "id " + qid, "arrival %d" % arrival,
             "client 192.0.2.1 client.example", "sender " + sender]
    for path, state, extra in rcpts:
        lines.append("rcpt %s %s" % (path, state))
        lines += extra
    lines += ["attempts %d" % attempts, "next-try %d" % next_try,
              "size %d" % len(msg), ""]
    return ("\n".join(lines) + "\n").encode() + msg


def put(relay, where, qid, data):
    """SPOOL/where/qid as the relay user, 0600 (as relayd writes it)."""
    path = relay.spool(where, qid)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                 os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, relay.uid, relay.gid)
    finally:
        os.close(fd)
    return path


def qjson(relay):
    r = relay.relayctl("queue", "list", "--json")
    assert r.rc == 0, r
    doc = json.loads(r.out)
    return {m["id"]: m for m in doc["messages"]}


def test_empty_queue(relay):
    r = relay.relayctl("queue")
    assert r.rc == 0 and r.out == "queue is empty\n" and r.err == "", r
    r = relay.relayctl("queue", "list", "--json")
    assert r.rc == 0 and json.loads(r.out) == {"messages": [],
                                               "corrupt": []}, r


def test_list_text_and_json(relay):
    put(relay, "queue", ID1, queue_file(ID1, rcpts=[
        ("<b@example.org>", "pending",
         ["last-error 4.4.1 connect to mx.example.org[192.0.2.9]:25: "
          "Connection refused"]),
        ("<c@example.org>", "sent", []),
        ("<d@example.org>", "failed", ["last-error 5.1.1 550 5.1.1 no"])],
        attempts=2, next_try=1700000900))
    # An old file without last-error lines reads as before.
    put(relay, "queue", ID2, queue_file(ID2, sender="<>"))
    r = relay.relayctl("queue", "list")
    assert r.rc == 0 and r.err == "", r
    assert r.out.endswith("-- 2 messages\n"), r
    out = r.out
    assert out.index(ID1) < out.index(ID2), out  # sorted by id (age)
    assert re.search(r"^%s +%d  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  "
                     r'"<a@example.net>"$' % (ID1, len(MSG)), out, re.M), out
    assert "    attempts 2, next try " in out, out
    assert re.search(r'^    pending +"<b@example.org>"\n +last error: '
                     r"4\.4\.1 connect to mx\.example\.org\[192\.0\.2\.9\]"
                     r":25: Connection refused$", out, re.M), out
    assert re.search(r'^    sent +"<c@example.org>"$', out, re.M), out
    assert re.search(r'^    failed +"<d@example.org>"\n +last error: '
                     r"5\.1\.1 550 5\.1\.1 no$", out, re.M), out
    msgs = qjson(relay)
    assert set(msgs) == {ID1, ID2}
    m = msgs[ID1]
    assert m == {
        "id": ID1, "held": False, "size": len(MSG), "arrival": 1700000000,
        "sender": "<a@example.net>", "attempts": 2, "next_try": 1700000900,
        "recipients": [
            {"address": "<b@example.org>", "state": "pending",
             "last_error": "4.4.1 connect to mx.example.org[192.0.2.9]:25: "
                           "Connection refused"},
            {"address": "<c@example.org>", "state": "sent",
             "last_error": None},
            {"address": "<d@example.org>", "state": "failed",
             "last_error": "5.1.1 550 5.1.1 no"}]}, m
    assert msgs[ID2]["sender"] == "<>" and msgs[ID2]["next_try"] is None


def test_untrusted_files_are_not_followed(relay, tmp_path):
    secret = tmp_path / "secret"
    secret.write_bytes(queue_file(ID1, sender="<secret@example.net>"))
    os.symlink(str(secret), relay.spool("queue", ID1))
    # A hard link to a file elsewhere in the spool's file system.
    p = put(relay, "tmp", ID2, queue_file(ID2, sender="<hl@example.net>"))
    os.link(p, relay.spool("queue", ID2))
    # A corrupt file, and a name that is not a queue id (ignored).
    put(relay, "queue", ID3, b"relayd-queue 1\nid nonsense\n")
    put(relay, "queue", "not-an-id", queue_file(ID1))
    r = relay.relayctl("queue", "list")
    assert r.rc == 1, r
    assert "secret@" not in r.out and "hl@" not in r.out, r
    # Never hidden: listed as corrupt (relayd sets them aside).
    assert r.out == (
        "queue is empty\n-- 3 corrupt files, never delivered "
        "(relayd-queue(5)):\n"
        'corrupt  "queue/%s"  a symbolic link\n'
        'corrupt  "queue/%s"  foreign, linked or not a regular file\n'
        'corrupt  "queue/%s"  malformed\n' % (ID1, ID2, ID3)), r
    errs = r.err.splitlines()
    assert len(errs) == 3, r
    assert any(ID1 in e and "symbolic links" in e for e in errs), r
    assert any(ID2 in e and "not permitted" in e for e in errs), r
    assert any(ID3 in e and "Invalid argument" in e for e in errs), r


def test_hold_release_delete(relay):
    put(relay, "queue", ID1, queue_file(ID1))
    put(relay, "queue", ID2, queue_file(ID2))
    before = open(relay.spool("queue", ID1), "rb").read()
    r = relay.relayctl("queue", "hold", ID1)
    assert r.rc == 0 and r.out == "%s: held\n" % ID1, r
    assert not os.path.exists(relay.spool("queue", ID1))
    assert open(relay.spool("hold", ID1), "rb").read() == before
    st = os.lstat(relay.spool("hold", ID1))
    assert (st.st_uid, st.st_mode & 0o7777) == (relay.uid, 0o600)
    assert qjson(relay)[ID1]["held"] is True
    assert "(held)" in relay.relayctl("queue").out
    # Holding it again: it is not in queue/ any more.
    r = relay.relayctl("queue", "hold", ID1)
    assert r.rc == 1 and "no message %s" % ID1 in r.err, r
    r = relay.relayctl("queue", "release", ID1)
    assert r.rc == 0 and r.out == "%s: released\n" % ID1, r
    assert open(relay.spool("queue", ID1), "rb").read() == before
    assert not os.path.exists(relay.spool("hold", ID1))
    # delete works in queue/ and in hold/.
    r = relay.relayctl("queue", "delete", ID1)
    assert r.rc == 0 and r.out == "%s: deleted\n" % ID1, r
    assert relay.relayctl("queue", "hold", ID2).rc == 0
    r = relay.relayctl("queue", "delete", ID2)
    assert r.rc == 0, r
    assert os.listdir(relay.spool("queue")) == []
    assert os.listdir(relay.spool("hold")) == []
    r = relay.relayctl("queue", "delete", ID2)
    assert r.rc == 1 and "no message" in r.err, r


def test_release_never_replaces(relay):
    put(relay, "hold", ID1, queue_file(ID1, sender="<held@example.net>"))
    put(relay, "queue", ID1, queue_file(ID1, sender="<live@example.net>"))
    r = relay.relayctl("queue", "release", ID1)
    assert r.rc == 1 and "exists already" in r.err, r
    assert b"<live@" in open(relay.spool("queue", ID1), "rb").read()
    assert b"<held@" in open(relay.spool("hold", ID1), "rb").read()


def test_locked_message_is_left_alone(relay):
    path = put(relay, "queue", ID1, queue_file(ID1))
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # what a delivery worker holds
        for verb in ("hold", "delete"):
            r = relay.relayctl("queue", verb, ID1)
            assert r.rc == 75, r
            assert "is being delivered; try again" in r.err, r
            assert os.path.exists(path)
    finally:
        os.close(fd)
    assert relay.relayctl("queue", "delete", ID1).rc == 0
    assert not os.path.exists(path)


@pytest.mark.parametrize("args", [("hold",), ("delete", "../../etc/passwd"),
                                  ("release", "abc"), ("frob",),
                                  ("list", "extra"), ("--bogus",)])
def test_usage_errors(relay, args):
    r = relay.relayctl("queue", *args)
    assert r.rc == 64, r
    assert r.out == "" and r.err.startswith("relayctl: queue"), r


def test_flush_not_running(relay):
    r = relay.relayctl("queue", "flush")
    assert r.rc == 7 and r.out == "relayd is not running\n", r


class _Handler:
    def __init__(self):
        self.got = []

    async def handle_DATA(self, server, session, envelope):
        self.got.append((envelope.mail_from, list(envelope.rcpt_tos),
                         envelope.content))
        return "250 2.0.0 Ok"


def test_flush_retries_a_deferred_message_now(relay):
    port = free_port()
    handler = _Handler()
    sink = Controller(handler, hostname="127.0.0.1", port=port)
    sink.start()
    try:
        relay.configure(smarthost="[127.0.0.1]:%d" % port, retry="1h, 2h")
        # Deferred for an hour by an earlier attempt.
        later = int(time.time()) + 3600
        put(relay, "queue", ID1, queue_file(
            ID1, attempts=1, next_try=later, arrival=int(time.time()),
            rcpts=[("<b@example.org>", "pending",
                    ["last-error 4.4.1 connection refused"])]))
        relay.start_fg()
        time.sleep(1.5)
        assert handler.got == [], "delivered before its next try"
        assert os.path.exists(relay.spool("queue", ID1))
        r = relay.relayctl("queue", "flush")
        assert r.rc == 0, r
        assert re.match(r"^relayd \(pid \d+\) is retrying", r.out), r
        wait_for(lambda: handler.got, 10, what="the flushed delivery")
        wait_for(lambda: not os.path.exists(relay.spool("queue", ID1)), 10,
                 what="the delivered file to be removed")
        mail_from, rcpts, content = handler.got[0]
        assert mail_from == "a@example.net" and rcpts == ["b@example.org"]
        assert content == MSG
        assert relay.relayctl("queue", "list").out == "queue is empty\n"
        assert re.search(r"%s: to=<b@example.org>, relay=[^,]*127\.0\.0\.1"
                         r"[^,]*, delay=[0-9.]+, dsn=2\.0\.0, status=sent "
                         % ID1, relay.stderr()), relay.stderr()
    finally:
        sink.stop()


def test_expired_message_bounces_with_its_last_error(relay):
    # Nothing listens on the smarthost port: every attempt is deferred.
    port = free_port()
    relay.configure(smarthost="[127.0.0.1]:%d" % port, retry="1h, 2h",
                    queue_lifetime="1h")
    put(relay, "queue", ID1, queue_file(
        ID1, attempts=5, next_try=0, arrival=int(time.time()) - 7200,
        sender="<a@example.net>",
        rcpts=[("<b@example.org>", "pending", []),
               ("<c@example.org>", "sent", [])]))
    relay.start_fg()
    wait_for(lambda: not os.path.exists(relay.spool("queue", ID1)), 15,
             what="the expired message to leave the queue")
    log = relay.stderr()
    assert re.search(r"%s: to=<b@example.org>, relay=none, delay=\d+\.\d, "
                     r"dsn=4\.\d+\.\d+, status=bounced \(queue lifetime "
                     r"exceeded; last error: " % ID1, log), log
    m = re.search(r"%s: sender non-delivery notification: ([0-9A-Z]+)"
                  % ID1, log)
    assert m, log
    # The bounce waits in the queue (the smarthost is down for it too):
    # from <>, to the original sender, naming b but not c.
    dsn = qjson(relay)[m.group(1)]
    assert dsn["sender"] == "<>", dsn
    assert [r["address"] for r in dsn["recipients"]] == ["<a@example.net>"]
    with open(relay.spool("queue", m.group(1)), "rb") as f:
        body = f.read().split(b"\n\n", 1)[1]
    assert b"Final-Recipient: rfc822; b@example.org\r\n" in body, body
    assert b"c@example.org" not in body.split(b"text/rfc822-headers")[0]
    assert b"Action: failed\r\n" in body and b"Status: 4." in body, body
