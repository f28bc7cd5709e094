"""relayd's milters (relayd.conf(5), milter), with real filters: a content
filter on Debian's python3-milter (milter_filter.py) that refuses, tempfails
and changes messages, Debian's opendkim signing relayed mail (checked with
dkimpy against the key opendkim-genkey made, no DNS), and hostile ones: a
dead socket, a filter that never answers, one that sends garbage or giant
lengths.  Every change is checked where it shows: at the client or at the
sink relayd delivers to.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from delivery_harness import (Client, configure, peers,  # noqa: E402,F401
                              relay, send_message, wait_for)
from relayd_harness import free_port  # noqa: E402

PY = "/usr/bin/python3"
FILTER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "milter_filter.py")
MSG = ("From: <%s>\r\nTo: <bob@dest.test>\r\n"
       "Subject: %s\r\nX-Remove-Me: yes\r\nMessage-ID: <%d@e2e.test>\r\n"
       "\r\nHello from the milter tests.\r\n")
SERIAL = [0]


def safe_parent(path):
    """path if no directory from / down to it is writable by group or
    others, else /run (root's, 0755)."""
    p = os.path.abspath(path)
    while True:
        if os.stat(p).st_mode & 0o022:
            return "/run"
        if p == "/":
            return path
        p = os.path.dirname(p)


class Proc:
    """A filter process in its own process group, killed at the end."""

    def __init__(self, argv, log):
        self.log = log
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=open(log + ".out", "wb"),
                                  stderr=subprocess.STDOUT,
                                  start_new_session=True)

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, 9)
        self.p.wait()

    def output(self):
        with open(self.log + ".out", "rb") as f:
            return f.read().decode(errors="replace")


@pytest.fixture
def filters(relay):
    """Start filters for this relay; all are killed afterwards."""
    procs, dirs = [], []

    class F:
        def sockdir(self):
            """ROOT/run/milter, searchable by the relay account."""
            d = os.path.join(relay.root, "run/milter")
            os.makedirs(d, mode=0o755, exist_ok=True)
            os.chmod(d, 0o755)
            return d

        def pyfilter(self, inet=False):
            """milter_filter.py; returns (config item, its event log)."""
            tmp = tempfile.mkdtemp(prefix="relayd-milter-")
            dirs.append(tmp)
            log = os.path.join(tmp, "events")
            if inet:
                port = free_port()
                spec = conf = "inet:%d@127.0.0.1" % port
            else:
                path = os.path.join(self.sockdir(), "f%d.sock" % len(procs))
                spec, conf = "unix:" + path, "unix:/run/milter/" + \
                    os.path.basename(path)
            p = Proc([PY, FILTER, spec, log], log)
            procs.append(p)
            wait_up(spec, p)
            return conf, log

        def opendkim(self, canon="relaxed/relaxed"):
            """opendkim -f on a unix socket, signing example.test with a
            fresh key; returns (config item, the DNS TXT record)."""
            # opendkim refuses a configuration or key below a directory
            # others may write (/tmp): keep them in the build tree, or in
            # /run when the tree itself is below such a directory.
            tmp = tempfile.mkdtemp(prefix="relayd-dkim-", dir=safe_parent(
                os.environ["RELAY_BUILD_DIR"]))
            dirs.append(tmp)
            r = subprocess.run(["opendkim-genkey", "-b", "2048", "-D", tmp,
                                "-d", "example.test", "-s", "sel"],
                               capture_output=True, text=True)
            assert r.returncode == 0, r
            os.chmod(os.path.join(tmp, "sel.private"), 0o600)
            path = os.path.join(self.sockdir(), "dkim%d.sock" % len(procs))
            conf = os.path.join(tmp, "opendkim.conf")
            with open(conf, "w") as f:
                f.write("Syslog no\nMode s\nDomain example.test\n"
                        "Selector sel\nKeyFile %s/sel.private\n"
                        "Socket local:%s\nUMask 000\nCanonicalization %s\n"
                        "InternalHosts 127.0.0.1\n" % (tmp, path, canon))
            p = Proc(["opendkim", "-f", "-x", conf], conf)
            procs.append(p)
            wait_up("unix:" + path, p)
            with open(os.path.join(tmp, "sel.txt")) as f:
                txt = "".join(re.findall(r'"([^"]*)"', f.read()))
            return "unix:/run/milter/" + os.path.basename(path), txt

        def raw(self, handler):
            """A hostile filter: handler(conn) per connection, in a
            thread; returns the config item."""
            srv = socket.socket(socket.AF_UNIX)
            path = os.path.join(self.sockdir(), "raw%d.sock" % len(procs))
            srv.bind(path)
            os.chmod(path, 0o666)
            srv.listen(8)

            def loop():
                while True:
                    try:
                        conn, _ = srv.accept()
                    except OSError:
                        return
                    threading.Thread(target=handler, args=(conn,),
                                     daemon=True).start()

            threading.Thread(target=loop, daemon=True).start()

            class Stop:
                def stop(self):
                    srv.close()
            procs.append(Stop())
            return "unix:/run/milter/" + os.path.basename(path)

    try:
        yield F()
    finally:
        relay.stop()
        for p in procs:
            p.stop()
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


def wait_up(spec, proc):
    def up():
        if isinstance(proc, Proc) and proc.p.poll() is not None:
            raise AssertionError("filter exited: " + proc.output())
        if spec.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX)
            addr = spec[5:]
        else:
            port, host = spec[5:].split("@")
            s = socket.socket()
            addr = (host, int(port))
        try:
            s.connect(addr)
            return True
        except OSError:
            return False
        finally:
            s.close()
    wait_for(up, 15.0, what="filter on " + spec)


def events(log, ev=None):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        out = [json.loads(ln) for ln in f if ln.strip()]
    return [e for e in out if ev is None or e["ev"] == ev]


def submit(relay, rcpts, subject, sender="alice@sender.test", body=None):
    """One message; returns (code, reply lines, queue id or None)."""
    SERIAL[0] += 1
    msg = (MSG % (sender, subject, SERIAL[0])).encode()
    if body is not None:
        msg = msg.replace(b"Hello from the milter tests.\r\n", body)
    c = Client(relay.port)
    try:
        c.greet()
        c.ehlo("client.test")
        c.send("MAIL FROM:<%s>\r\n" % sender)
        c.expect(250)
        for r in rcpts:
            c.send("RCPT TO:<%s>\r\n" % r)
            c.expect(250)
        c.send("DATA\r\n")
        c.expect(354)
        c.send(msg + b".\r\n")
        code, lines = c.reply()
        c.cmd("QUIT")
    finally:
        c.close()
    m = re.match(r"^250 2\.0\.0 Ok: queued as ([0-9A-Z]+)$", lines[-1])
    return code, lines, m.group(1) if m else None


def start(relay, sink, milter, **kv):
    configure(relay, smarthost=sink.nexthop, milter=milter, **kv)
    relay.start_fg()


# ------------------------------------------------------------ content filter

def test_filter_changes_headers_body_and_recipients(relay, peers, filters):
    sink = peers.sink()
    conf, log = filters.pyfilter()
    start(relay, sink, conf)
    code, lines, qid = submit(
        relay, ["bob@dest.test"],
        "addhdr inshdr chghdr delhdr replbody addrcpt")
    assert code == 250 and qid, lines
    got = sink.wait(1, relay=relay)[0]
    assert sorted(got.rcpts) == ["bob@dest.test", "extra@dest.test"], got
    head, _, body = got.content.partition(b"\r\n\r\n")
    assert body == b"The body was replaced.\r\nSecond line.\r\n", got
    fields = head.split(b"\r\n")
    assert fields[0] == b"X-Inserted: at the top", fields
    assert fields[1].startswith(b"Received: from client.test"), fields
    assert b"X-Test-Milter: added" in fields, fields
    assert b"Subject: changed by the milter" in fields, fields
    assert not [f for f in fields if f.startswith(b"X-Remove-Me")], fields
    # What the filter was told: macros, connect data, the whole message.
    con = events(log, "connect")[0]
    assert con["j"] == "relay.test" and con["daemon"] == "relayd", con
    assert con["client_addr"] == "127.0.0.1", con
    assert con["hostname"] == "[127.0.0.1]", con
    assert con["addr"][0] == "127.0.0.1", con
    assert events(log, "helo")[0]["name"] == "client.test"
    mail = events(log, "mail")[0]
    assert mail["sender"] == "<alice@sender.test>", mail
    assert mail["i"] == qid and mail["mail_addr"] == "alice@sender.test", mail
    rcpt = events(log, "rcpt")[0]
    assert rcpt["rcpt"] == "<bob@dest.test>", rcpt
    assert rcpt["rcpt_addr"] == "bob@dest.test", rcpt
    hdrs = [(e["name"], e["value"]) for e in events(log, "header")]
    assert hdrs[0][0] == "Received" and "\n\tby relay.test" in hdrs[0][1], \
        hdrs
    assert ("Subject", "addhdr inshdr chghdr delhdr replbody addrcpt") in \
        hdrs, hdrs
    assert events(log, "eom")[0]["body"] == "Hello from the milter tests.\r\n"


def test_filter_sees_and_changes_bdat_messages(relay, peers, filters):
    sink = peers.sink()
    conf, log = filters.pyfilter()
    start(relay, sink, conf)
    msg = (MSG % ("alice@sender.test", "addhdr", 99)).encode()
    c = Client(relay.port)
    try:
        c.greet()
        c.ehlo("client.test")
        c.cmd("MAIL FROM:<alice@sender.test>")
        c.cmd("RCPT TO:<bob@dest.test>")
        c.send(b"BDAT %d\r\n" % 10 + msg[:10])
        c.expect(250)
        c.send(b"BDAT %d LAST\r\n" % (len(msg) - 10) + msg[10:])
        code, lines = c.reply()
        c.cmd("QUIT")
    finally:
        c.close()
    assert code == 250, lines
    got = sink.wait(1, relay=relay)[0]
    assert b"\r\nX-Test-Milter: added\r\n" in got.content, got
    assert got.content.endswith(b"\r\n\r\nHello from the milter tests.\r\n")
    assert events(log, "eom")[0]["body"] == "Hello from the milter tests.\r\n"


def test_filter_changes_sender_and_removes_recipient(relay, peers, filters):
    sink = peers.sink()
    conf, _ = filters.pyfilter()
    start(relay, sink, conf)
    code, lines, qid = submit(relay, ["bob@dest.test", "carol@dest.test"],
                              "chgfrom delrcpt")
    assert code == 250 and qid, lines
    got = sink.wait(1, relay=relay)[0]
    assert got.mail_from == "changed@sender.test", got
    assert got.rcpts == ["carol@dest.test"], got


def test_filter_rejects_and_tempfails_by_recipient(relay, peers, filters):
    sink = peers.sink()
    conf, _ = filters.pyfilter(inet=True)
    start(relay, sink, conf)
    code, lines, _ = submit(relay, ["reject@dest.test"], "plain")
    assert code == 550 and lines == [
        "550 5.7.1 rejected by the test milter"], lines
    code, lines, _ = submit(relay, ["tempfail@dest.test"], "plain")
    assert code == 451 and lines == [
        "451 4.7.1 try later, says the test milter"], lines
    # One refused recipient of two: the other still gets the message.
    code, lines, qid = submit(relay, ["reject@dest.test", "bob@dest.test"],
                              "plain")
    assert code == 250 and qid, lines
    got = sink.wait(1, relay=relay)[0]
    assert got.rcpts == ["bob@dest.test"], got
    time.sleep(1)
    assert len(sink.received) == 1, sink.received


def test_filter_rejects_discards_and_quarantines(relay, peers, filters):
    sink = peers.sink()
    conf, _ = filters.pyfilter()
    start(relay, sink, conf)
    code, lines, _ = submit(relay, ["bob@dest.test"], "rejecteom")
    assert code == 550 and lines == [
        "550 5.7.0 content refused by the test milter"], lines
    code, lines, qid = submit(relay, ["bob@dest.test"], "discard")
    assert code == 250 and qid, lines
    assert qid not in relay.queue_ids()
    code, lines, held = submit(relay, ["bob@dest.test"], "quarantine")
    assert code == 250 and held, lines
    assert os.path.exists(relay.spool("hold", held)), held
    assert held not in relay.queue_ids()
    time.sleep(2)
    assert sink.received == [], sink.received
    assert "quarantined by a milter: held by the test milter" in \
        relay.all_stderr()


# ------------------------------------------------------------ opendkim

def test_opendkim_signs_and_signature_verifies(relay, peers, filters):
    import dkim
    sink = peers.sink()
    first, _ = filters.pyfilter()
    signer, txt = filters.opendkim()
    # In order: the content filter's header is there before signing.
    start(relay, sink, "%s, %s" % (first, signer))
    body = b"Signed body line one.\r\n\r\nLine three.\r\n"
    code, lines, qid = submit(relay, ["bob@dest.test"], "addhdr",
                              sender="alice@example.test", body=body)
    assert code == 250 and qid, lines
    msg = sink.wait(1, relay=relay)[0].content
    assert b"\r\nDKIM-Signature: " in b"\r\n" + msg, msg[:2000]
    assert b"X-Test-Milter: added" in msg, msg[:2000]

    def dnsfunc(name, timeout=5):
        assert name in (b"sel._domainkey.example.test.",
                        "sel._domainkey.example.test."), name
        return txt.encode()
    assert dkim.verify(msg, dnsfunc=dnsfunc), msg[:3000]
    # The signature is over this message: one changed octet breaks it.
    assert not dkim.verify(msg.replace(b"Line three", b"Line 3"),
                           dnsfunc=dnsfunc)


def test_opendkim_simple_canonicalization(relay, peers, filters):
    """simple/simple hashes header fields octet for octet: the values we
    send must be what is delivered (one leading space stripped)."""
    import dkim
    sink = peers.sink()
    signer, txt = filters.opendkim(canon="simple/simple")
    start(relay, sink, signer)
    code, lines, qid = submit(relay, ["bob@dest.test"],
                              "folded\r\n\tover two lines",
                              sender="alice@example.test")
    assert code == 250 and qid, lines
    msg = sink.wait(1, relay=relay)[0].content
    assert dkim.verify(msg, dnsfunc=lambda n, timeout=5: txt.encode()), \
        msg[:3000]


# ------------------------------------------------------------ failures

def test_dead_socket_gets_the_default_action(relay, peers, filters):
    sink = peers.sink()
    d = filters.sockdir()
    dead = "unix:/run/milter/nobody.sock"
    assert not os.path.exists(os.path.join(d, "nobody.sock"))
    start(relay, sink, dead)
    code, lines, _ = submit(relay, ["bob@dest.test"], "plain")
    assert code == 451 and lines[-1].startswith("451 4.7.1"), lines
    relay.stop()
    start(relay, sink, dead + "{default=reject}")
    code, lines, _ = submit(relay, ["bob@dest.test"], "plain")
    assert code == 550 and lines[-1].startswith("550 5.7.1"), lines
    relay.stop()
    start(relay, sink, dead, milter_default_action="accept")
    code, lines, qid = submit(relay, ["bob@dest.test"], "plain")
    assert code == 250 and qid, lines
    sink.wait(1, relay=relay)


def silent(conn):
    """Reads everything, never answers."""
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def test_silent_milter_times_out(relay, peers, filters):
    sink = peers.sink()
    conf = filters.raw(silent)
    start(relay, sink, conf + "{connect_timeout=2s}")
    t0 = time.monotonic()
    code, lines, _ = submit(relay, ["bob@dest.test"], "plain")
    took = time.monotonic() - t0
    assert code == 451 and lines[-1].startswith("451 4.7.1"), lines
    assert 1.5 < took < 8, took
    relay.stop()
    start(relay, sink, conf + "{default=accept,connect_timeout=1s}")
    code, lines, qid = submit(relay, ["bob@dest.test"], "plain")
    assert code == 250 and qid, lines


def answering(replies):
    """A filter that answers OPTNEG correctly (everything allowed), then
    sends the given raw replies to the next packets, then nothing."""
    def handler(conn):
        try:
            conn.recv(65536)
            neg = b"O" + (6).to_bytes(4, "big") + (0x1ff).to_bytes(
                4, "big") + (0).to_bytes(4, "big")
            conn.sendall(len(neg).to_bytes(4, "big") + neg)
            for r in replies:
                if not conn.recv(65536):
                    return
                conn.sendall(r)
            silent(conn)
        except OSError:
            pass
    return handler


def pkt(data):
    return len(data).to_bytes(4, "big") + data


@pytest.mark.parametrize("replies", [
    [b"\xff\xff\xff\xff"],                      # a 4 GiB packet
    [(70000).to_bytes(4, "big") + b"c" * 100],  # over our 64 KiB cap
    [b"\x00\x00\x00\x00"],                      # an empty packet
    [pkt(b"Z")],                                # an unknown reply
    [pkt(b"c" + b"extra")],                     # data after CONTINUE
    [pkt(b"y" + b"250 not a refusal\x00")],     # a reply code of class 2
    [pkt(b"y550 no nul")],                      # string without its NUL
    [pkt(b"h" + b"X-Early\x00v\x00")],          # a change before the end
    [b"\x00\x00\x00"],                          # a short length, then EOF
], ids=["4GiB", "over-cap", "empty", "unknown", "extra-data", "code-250",
        "no-nul", "early-change", "short"])
def test_garbage_from_milter_is_a_tempfail(relay, peers, filters, replies):
    sink = peers.sink()
    conf = filters.raw(answering(replies))
    start(relay, sink, conf + "{command_timeout=2s}")
    code, lines, _ = submit(relay, ["bob@dest.test"], "plain")
    assert code == 451 and lines[-1].startswith("451 4.7.1"), lines
    # The relay is fine: the next session works, no child crashed.
    c = Client(relay.port)
    c.greet()
    c.ehlo("client.test")
    c.cmd("QUIT")
    c.close()
    assert "signal" not in relay.all_stderr(), relay.all_stderr()


def test_garbage_changes_at_end_of_message_are_a_tempfail(relay, peers,
                                                         filters):
    """Every step continues, then the end of message brings a header
    change with a name that would break the message."""
    def handler(conn):
        try:
            conn.recv(65536)
            neg = b"O" + (6).to_bytes(4, "big") + (0x1ff).to_bytes(
                4, "big") + (0xDF080).to_bytes(4, "big")  # NR_* but at the end
            conn.sendall(pkt(neg))
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                if b"\x00\x00\x00\x01E" in data:
                    conn.sendall(pkt(b"hBad Name:\x00v\x00") + pkt(b"c"))
        except OSError:
            pass
    sink = peers.sink()
    conf = filters.raw(handler)
    start(relay, sink, conf)
    code, lines, _ = submit(relay, ["bob@dest.test"], "plain")
    assert code == 451 and lines[-1].startswith("451 4.7.1"), lines


def test_local_submission_goes_through_milters(relay, peers, filters):
    """Mail from relayd-sendmail meets the same milters, after relayd added
    its missing Date, Message-ID and From: opendkim signs them too."""
    import dkim
    from test_submit import SOCK, add_user, run, submit_ready
    sink = peers.sink()
    signer, txt = filters.opendkim()
    add_user(relay.root)
    start(relay, sink, signer, submit_socket=SOCK,
          masquerade_domain="example.test")
    wait_for(lambda: submit_ready(relay.root + SOCK), what="submit_socket")
    r = run(relay, ["-t"], b"To: bob@dest.test\nSubject: local, signed\n\n"
            b"Sent by a local user.\n")
    assert r.returncode == 0, r
    msg = sink.wait(1, relay=relay)[0].content
    head = msg.split(b"\r\n\r\n", 1)[0]
    for name in (b"Date", b"Message-ID", b"From", b"DKIM-Signature"):
        assert (b"\r\n" + name + b": ") in b"\r\n" + head, (name, head)
    assert b"From: <alice@example.test>" in head, head

    def dnsfunc(name, timeout=5):
        return txt.encode()
    assert dkim.verify(msg, dnsfunc=dnsfunc), msg[:3000]
