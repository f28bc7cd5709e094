"""relayd end to end: the SMTP dialogue with real peers (smtplib, swaks,
raw sockets, Postfix's smtp-source) against relayd -f under a temp root,
checking the replies AND what lands in the spool (relayd-queue(5)).
Mail is held (held_relay: the smarthost refuses connections, retries an
hour apart), so every message a session accepted stays in queue/ and one
it must not have accepted cannot hide by being delivered; the runner may
record a deferred attempt, which changes only the delivery-state fields
(check_delivery_state)."""

import re
import smtplib
import stat
import subprocess
import time

import pytest

from relayd_harness import (HOSTNAME, QUEUED_RE,  # noqa: F401
                            check_delivery_state, held_relay, peer,
                            send_message, session_fields, split_received,
                            wait_for)


@pytest.fixture
def relay(held_relay):  # noqa: F811 (the fixture, renamed)
    return held_relay


class CapturingSMTP(smtplib.SMTP):
    """smtplib.SMTP that keeps the reply to the end of DATA, which
    sendmail() does not return."""

    def data(self, msg):
        self.last_data = super().data(msg)
        return self.last_data


ORIGINAL = (
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.net>, carol@example.org\r\n"
    "Subject: end to end\r\n"
    "Message-ID: <e2e.1@example.com>\r\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    ".a line that starts with a dot\r\n"
    "..two dots\r\n"
    "\r\n"
    "-- \r\n"
    "Alice\r\n")


def test_smtplib_session_queues_full_envelope_and_message(relay):
    relay.start_fg()
    before = time.time()
    s = CapturingSMTP("127.0.0.1", relay.port, local_hostname="client.test",
                      timeout=10)
    try:
        code, _ = s.ehlo()
        assert code == 250
        f = s.esmtp_features
        for kw in ("pipelining", "8bitmime", "enhancedstatuscodes",
                   "smtputf8", "chunking"):
            assert kw in f, (kw, f)
        assert f["size"] == str(10 * 1024 * 1024), f
        refused = s.sendmail("alice@example.com",
                             ["bob@example.net", "carol@example.org"],
                             ORIGINAL.encode(),
                             mail_options=["BODY=8BITMIME"])
        assert refused == {}
        code, msg = s.last_data
        assert code == 250, s.last_data
        m = QUEUED_RE.match("250 " + msg.decode())
        assert m, msg
        qid = m.group(1)
        s.quit()
    finally:
        s.close()

    assert relay.queue_ids() == [qid]
    q = relay.read_queue(qid)
    st = q["st"]
    assert stat.S_ISREG(st.st_mode)
    assert (st.st_uid, st.st_gid) == (relay.uid, relay.gid)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_nlink == 1
    assert before - 2 <= q["arrival"] <= time.time() + 2, q["arrival"]
    assert (q["client"], q["helo"]) == ("127.0.0.1", "client.test")
    assert q["sender"] == "<alice@example.com>"
    assert q["sender_params"] == ["BODY=8BITMIME"]
    assert q["rcpts"] == [("<bob@example.net>", "pending", []),
                          ("<carol@example.org>", "pending", [])]
    check_delivery_state(q, relay.smarthost_port)
    received, rest = split_received(q["message"])
    assert re.match(
        r"^Received: from client\.test \(\[127\.0\.0\.1\]\) by %s "
        r"\(relayd\) with ESMTP id %s; \w{3}, \d{1,2} \w{3} \d{4} "
        r"\d\d:\d\d:\d\d \+0000$" % (re.escape(HOSTNAME), qid),
        received), received
    # headers and body exactly as sent, dot-stuffing undone
    assert rest == ORIGINAL.encode()
    # the runner's deferral rewrites only the delivery state
    q2 = relay.wait_deferred([qid])[qid]
    assert check_delivery_state(q2, relay.smarthost_port) == 1
    assert relay.tmp_files() == []
    assert session_fields(q2) == session_fields(q)
    st = q2["st"]
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_nlink) \
        == (relay.uid, relay.gid, 0o600, 1)


def run_swaks(relay, *extra):
    cp = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % relay.port,
         "--from", "sender@example.com", "--to", "rcpt@example.org",
         "--helo", "swaks.test", "--timeout", "10",
         "--header", "Subject: swaks e2e"] + list(extra),
        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    ids = re.findall(r"^<[~*-]+ +250 2\.0\.0 Ok: queued as ([0-9A-Z]+)\s*$",
                     cp.stdout, re.M)
    assert len(ids) == 1, cp.stdout
    return ids[0], cp.stdout


def test_swaks_with_and_without_pipelining(relay):
    relay.start_fg()
    a, out_a = run_swaks(relay, "--pipeline")
    b, out_b = run_swaks(relay)
    assert a != b
    assert sorted(relay.queue_ids()) == sorted([a, b])
    # swaks --pipeline really pipelined: MAIL, RCPT, DATA sent before any
    # of their replies; without it, each waits for its reply
    assert re.search(r"^ -> MAIL FROM:<sender@example\.com>\n -> RCPT TO:"
                     r"<rcpt@example\.org>\n -> DATA\n<-  250 2\.1\.0 Ok\n"
                     r"<-  250 2\.1\.5 Ok\n<-  354 ", out_a, re.M), out_a
    assert re.search(r"^ -> MAIL FROM:<sender@example\.com>\n<-  250 2\.1\.0",
                     out_b, re.M), out_b
    for qid in (a, b):
        q = relay.read_queue(qid)
        assert q["sender"] == "<sender@example.com>"
        assert q["rcpts"] == [("<rcpt@example.org>", "pending", [])]
        assert q["helo"] == "swaks.test"
        received, rest = split_received(q["message"])
        assert "for <rcpt@example.org>" in received, received
        assert b"\r\nSubject: swaks e2e\r\n" in b"\r\n" + rest, rest
        check_delivery_state(q, relay.smarthost_port)


def test_pipelining_replies_in_order(relay):
    relay.start_fg()
    c = relay.client()
    c.send("MAIL FROM:<a@example.com>\r\n"
           "RCPT TO:<b@example.org>\r\n"
           "RCPT TO:<@x.example,@y.example:u@example.org>\r\n"
           "RCPT TO:<c@example.org>\r\n"
           "DATA\r\n")
    c.expect(250, r"^250 2\.1\.0")
    c.expect(250, r"^250 2\.1\.5")
    c.expect(553, r"^553 5\.1\.3")
    c.expect(250, r"^250 2\.1\.5")
    c.expect(354)
    # end of data, a whole second transaction and QUIT in one write
    c.send(b"Subject: one\r\n\r\nfirst\r\n.\r\n"
           b"MAIL FROM:<d@example.com>\r\nRCPT TO:<e@example.org>\r\n"
           b"DATA\r\n")
    first = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    c.expect(250, r"^250 2\.1\.0")
    c.expect(250, r"^250 2\.1\.5")
    c.expect(354)
    c.send(b"Subject: two\r\n\r\nsecond\r\n.\r\nNOOP\r\nQUIT\r\n")
    second = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    c.expect(250, r"^250 2\.0\.0")
    c.expect(221)
    assert c.eof()
    assert relay.queue_ids() == sorted([first, second])
    q1, q2 = relay.read_queue(first), relay.read_queue(second)
    assert q1["rcpts"] == [("<b@example.org>", "pending", []),
                           ("<c@example.org>", "pending", [])]
    assert split_received(q1["message"])[1] == \
        b"Subject: one\r\n\r\nfirst\r\n"
    assert q2["sender"] == "<d@example.com>"
    assert split_received(q2["message"])[1] == \
        b"Subject: two\r\n\r\nsecond\r\n"


def test_limits(relay):
    relay.configure(max_recipients=3, max_message_size=2000,
                    max_line_length=1000)
    relay.start_fg()
    c = relay.client()
    ehlo = c.ehlo()
    assert "250-SIZE 2000" in ehlo, ehlo
    # command line over 512 octets (RFC 5321 4.5.3.1.4)
    code, lines = c.cmd("NOOP " + "x" * 600)
    assert code == 500, lines
    code, lines = c.cmd("NOOP")
    assert code == 250, lines  # still in step after the long line
    # path over 256, local part over 64
    code, lines = c.cmd("MAIL FROM:<%s@%s.example.org>"
                        % ("a" * 60, ".".join(["b" * 60] * 4)))
    assert code in (501, 553), lines
    code, lines = c.cmd("MAIL FROM:<%s@example.org>" % ("a" * 65))
    assert code in (501, 553), lines
    code, lines = c.cmd("MAIL FROM:<a@example.com>")
    assert code == 250, lines
    code, lines = c.cmd("RCPT TO:<%s@example.org>" % ("r" * 65))
    assert code in (501, 553), lines
    code, lines = c.cmd("RCPT TO:<%s@%s.example.org>"
                        % ("r" * 60, ".".join(["d" * 60] * 4)))
    assert code in (501, 553), lines
    # max_recipients = 3
    for i in range(3):
        code, lines = c.cmd("RCPT TO:<r%d@example.org>" % i)
        assert code == 250, lines
    code, lines = c.cmd("RCPT TO:<r3@example.org>")
    assert code == 452 and lines[-1].startswith("452 4.5.3"), lines
    # a text line over max_line_length (1000 here, RFC 5321's limit; by
    # default there is none): refused after the end, nothing queued
    c.send("DATA\r\n")
    c.expect(354)
    c.send(b"Subject: long\r\n\r\n" + b"y" * 1001 + b"\r\n.\r\n")
    c.expect(552, r"^552 5\.6\.0")
    # SIZE= over max_message_size
    code, lines = c.cmd("MAIL FROM:<a@example.com> SIZE=5000")
    assert code == 552 and lines[-1].startswith("552 5.3.4"), lines
    # a DATA bigger than max_message_size
    code, lines = c.cmd("MAIL FROM:<a@example.com> SIZE=1000")
    assert code == 250, lines
    code, lines = c.cmd("RCPT TO:<big@example.org>")
    assert code == 250, lines
    c.send("DATA\r\n")
    c.expect(354)
    c.send(b"Subject: big\r\n\r\n" + (b"z" * 70 + b"\r\n") * 40 + b".\r\n")
    c.expect(552, r"^552 5\.3\.4")
    # no disclosure
    code, lines = c.cmd("VRFY root")
    assert code == 252, lines
    code, lines = c.cmd("EXPN staff")
    assert code == 502, lines
    code, lines = c.cmd("QUIT")
    assert code == 221
    assert relay.queue_ids() == []
    assert relay.tmp_files() == []


def test_relay_denied_outside_relay_from(relay):
    relay.configure(relay_from="10.0.0.0/8", relay_domains="example.org")
    relay.start_fg()
    c = relay.client()
    assert c.cmd("MAIL FROM:<a@example.com>")[0] == 250
    code, lines = c.cmd("RCPT TO:<x@example.net>")
    assert code == 554, lines
    assert lines[-1] == "554 5.7.1 <x@example.net>: Relaying denied", lines
    code, lines = c.cmd("RCPT TO:<x@example.org>")
    assert code == 250, lines
    c.send("DATA\r\n")
    c.expect(354)
    c.send(b"Subject: t\r\n\r\nhi\r\n.\r\n")
    qid = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    q = relay.read_queue(qid)
    assert q["rcpts"] == [("<x@example.org>", "pending", [])]


def test_routing_addresses_refused(relay):
    relay.start_fg()
    c = relay.client()
    assert c.cmd("MAIL FROM:<a@example.com>")[0] == 250
    for addr in ("<@a.example,@b.example:u@c.example>",
                 "<u%c.example@example.org>", "<u!c.example@example.org>"):
        code, lines = c.cmd("RCPT TO:" + addr)
        assert code == 553, (addr, lines)
        assert lines[-1].startswith("553 5.1.3"), (addr, lines)
    # none of them became a recipient
    code, lines = c.cmd("DATA")
    assert code == 503, lines
    assert relay.queue_ids() == []


HIDDEN = (b"MAIL FROM:<smuggler@evil.example>\r\n"
          b"RCPT TO:<victim@example.org>\r\n"
          b"DATA\r\n"
          b"Subject: smuggled\r\n\r\nhidden message\r\n")

SMUGGLE = {
    "lf-dot-lf": b"Subject: s\r\n\r\nbefore\n.\n" + HIDDEN,
    "cr-dot-cr": b"Subject: s\r\n\r\nbefore\r.\r" + HIDDEN,
    "lf-dot-crlf": b"Subject: s\r\n\r\nbefore\n.\r\n" + HIDDEN,
    "crlf-dot-lf": b"Subject: s\r\n\r\nbefore\r\n.\n" + HIDDEN,
    "bare-lf": b"Subject: s\r\n\r\na bare\nLF\r\n",
    "bare-cr": b"Subject: s\r\n\r\na bare\rCR\r\n",
}


def test_smuggling_never_splits_or_merges(relay):
    relay.start_fg()
    c = relay.client()
    good = [send_message(c, "first@example.com", ["a@example.org"],
                         b"Subject: good 0\r\n\r\nfirst\r\n")]
    for name, payload in SMUGGLE.items():
        before = relay.queue_ids()
        c.send("MAIL FROM:<m@example.com>\r\n")
        c.expect(250)
        c.send("RCPT TO:<b@example.org>\r\n")
        c.expect(250)
        c.send("DATA\r\n")
        c.expect(354)
        # the real end of data follows the payload
        c.send(payload + b".\r\n")
        code, lines = c.reply()
        # one reply for the whole thing: the message is refused whole
        assert code == 550 and lines[-1].startswith("550 5.6.11"), (
            name, lines)
        assert relay.queue_ids() == before, name
        # the stream is still in step: the next reply is the NOOP's
        code, lines = c.cmd("NOOP")
        assert code == 250 and lines[-1].startswith("250 2.0.0"), (
            name, lines)
        good.append(send_message(
            c, "good@example.com", ["c@example.org"],
            b"Subject: good after %s\r\n\r\nok\r\n" % name.encode()))
    c.cmd("QUIT")
    assert relay.queue_ids() == sorted(good)
    for qid in good:
        q = relay.read_queue(qid)
        rest = split_received(q["message"])[1]
        assert b"smuggl" not in q["message"] and b"hidden" not in rest
        assert q["sender"] in ("<first@example.com>", "<good@example.com>")
        assert len(q["rcpts"]) == 1


def test_hidden_message_yields_at_most_the_meant_one(relay):
    relay.start_fg()
    before = relay.queue_ids()
    c = relay.client()
    c.send("MAIL FROM:<meant@example.com>\r\nRCPT TO:<meant@example.org>\r\n"
           "DATA\r\n")
    c.expect(250)
    c.expect(250)
    c.expect(354)
    c.send(b"Subject: meant\r\n\r\nthe meant message\n.\r\n" + HIDDEN +
           b".\r\nQUIT\r\n")
    replies = []
    while True:
        code, lines = c.reply()
        if code is None:
            break
        replies.append(lines[-1])
    # the hidden MAIL/RCPT/DATA were never seen as commands
    assert [r[:3] for r in replies] in (["550", "221"], ["250", "221"]), \
        replies
    new = sorted(set(relay.queue_ids()) - set(before))
    assert len(new) <= 1, new
    for qid in new:
        q = relay.read_queue(qid)
        assert q["sender"] == "<meant@example.com>"
        assert q["rcpts"] == [("<meant@example.org>", "pending", [])]
    assert not any(b"smuggler" in relay.read_queue(q)["message"].split(
        b"\r\n\r\n", 1)[0] for q in new)
    assert not any(relay.read_queue(q)["sender"] == "<smuggler@evil.example>"
                   for q in relay.queue_ids())


def test_talking_before_greeting(relay):
    # Outside relay_from, so the session waits greet_pause (1 s) and sees
    # the early EHLO whatever the load (a relay_from client gets no
    # pause: only what has already arrived is caught, a race here).
    relay.configure(relay_from="10.0.0.0/8")
    relay.start_fg()
    c = relay.client(greet=False, ehlo=None)
    c.send("EHLO early.test\r\n")
    code, lines = c.reply()
    assert code == 554, lines
    assert lines == ["554 5.5.1 Protocol error: talking too soon"], lines
    assert c.eof()
    assert relay.queue_ids() == []


def greeting_time(relay):
    """Seconds from connect to the 220 (a client that waits)."""
    t0 = time.monotonic()
    c = relay.client(greet=False, ehlo=None)
    code, lines = c.reply()
    assert code == 220, lines
    c.send("QUIT\r\n")
    c.reply()
    c.close()
    return time.monotonic() - t0


@pytest.mark.parametrize("pause", [0, 2])
def test_greet_pause(relay, pause):
    """greet_pause, for a client outside relay_from: a talker is caught;
    a client that waits gets its 220 after the pause and is then
    remembered (PASS NEW), so its next session gets no pause."""
    relay.configure(greet_pause="%ds" % pause, relay_from="10.0.0.0/8")
    relay.start_fg()
    if pause:
        c = relay.client(greet=False, ehlo=None)
        c.send("EHLO early.test\r\n")
        code, lines = c.reply()
        assert code == 554, lines
        assert c.eof()
        c.close()
        # A talker is never remembered as passed.
        time.sleep(0.5)
        assert "PASS NEW" not in relay.stderr()
    waited = greeting_time(relay)
    assert pause <= waited < pause + 0.9, waited
    if not pause:
        # A zero pause proves nothing: nothing to remember.
        time.sleep(0.5)
        assert "PASS NEW" not in relay.stderr()
        return
    wait_for(lambda: "127.0.0.1: PASS NEW: no greet_pause for it for "
             "86400s" in relay.stderr(), what="PASS NEW")
    assert greeting_time(relay) < 0.9


def test_no_greet_pause_for_relay_from(relay):
    """As postscreen's permit_mynetworks: relay_from clients (127.0.0.1
    here) never wait, whatever greet_pause says."""
    relay.configure(greet_pause="5s")
    relay.start_fg()
    assert greeting_time(relay) < 0.9
    assert greeting_time(relay) < 0.9
    assert "PASS NEW" not in relay.stderr()


def test_smtp_source_20_messages_over_5_sessions(relay):
    relay.start_fg()
    source, env = peer("smtp-source")
    cp = subprocess.run(
        [source, "-d", "-s", "5", "-m", "20", "-M", "source.test",
         "-f", "src@example.com", "-t", "dst@example.org", "-S", "e2e",
         "-l", "2000", "127.0.0.1:%d" % relay.port],
        capture_output=True, text=True, env=env, timeout=60)
    assert cp.returncode == 0, (cp.stdout, cp.stderr)
    ids = relay.queue_ids()
    assert len(ids) == 20, ids
    for qid in ids:
        q = relay.read_queue(qid)
        assert q["sender"] == "<src@example.com>"
        assert q["rcpts"] == [("<dst@example.org>", "pending", [])]
        assert q["helo"] == "source.test"
        rest = split_received(q["message"])[1]
        assert b"\r\nSubject: e2e\r\n" in b"\r\n" + rest, rest[:300]
        check_delivery_state(q, relay.smarthost_port)
    # once the runner has deferred them all, nothing is left in tmp/
    relay.wait_deferred(ids)
    assert relay.tmp_files() == []


def test_bdat_chunking(relay):
    relay.start_fg()
    c = relay.client()
    # a good message in two chunks, pipelined
    chunk1 = b"Subject: chunked\r\n\r\nfirst "
    chunk2 = b"chunk and\r\n.a dot line, not stuffed\r\n"
    c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           b"BDAT %d\r\n%sBDAT %d LAST\r\n%s" % (len(chunk1), chunk1,
                                                 len(chunk2), chunk2))
    c.expect(250, r"^250 2\.1\.0")
    c.expect(250, r"^250 2\.1\.5")
    c.expect(250, r"^250 2\.0\.0 Ok: %d octets received$" % len(chunk1))
    qid = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    # a bare LF inside a chunk: refused whole, the next command in step
    bad = b"Subject: bad\r\n\r\nbare\nLF\r\nMAIL FROM:<x@evil.example>\r\n"
    c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           b"BDAT %d LAST\r\n%sNOOP\r\n" % (len(bad), bad))
    c.expect(250)
    c.expect(250)
    c.expect(550, r"^550 5\.6\.11")
    c.expect(250, r"^250 2\.0\.0")
    assert c.cmd("QUIT")[0] == 221
    assert relay.queue_ids() == [qid]
    q = relay.read_queue(qid)
    assert split_received(q["message"])[1] == chunk1 + chunk2


def test_command_timeout_gives_421(relay):
    relay.configure(timeout_command="1s")
    relay.start_fg()
    c = relay.client()
    t = time.monotonic()
    code, lines = c.reply()  # sent nothing: wait for the server
    assert code == 421, lines
    assert lines == ["421 4.4.2 %s Error: timeout exceeded" % HOSTNAME]
    assert 0.8 < time.monotonic() - t < 5
    assert c.eof()


def test_foreground_logs_sessions_to_stderr(relay):
    # relayd -f logs to stderr: the smtp children's lines too (an
    # accepted message names its queue id, a pregreet client its address)
    # Outside relay_from (greet_pause applies): see test_talking_before_...
    relay.configure(relay_from="10.0.0.0/8", relay_domains="example.org")
    relay.start_fg()
    c = relay.client()
    qid = send_message(c, "a@example.com", ["b@example.org"],
                       b"Subject: log\r\n\r\nhi\r\n")
    assert c.cmd("QUIT")[0] == 221
    early = relay.client(greet=False, ehlo=None)
    early.send("EHLO early.test\r\n")
    assert early.reply()[0] == 554
    try:
        wait_for(lambda: qid in relay.stderr() and
                 "127.0.0.1" in relay.stderr(), 3,
                 what="session log lines on stderr")
    except AssertionError:
        raise AssertionError("relayd -f stderr has no line about queue id "
                             "%s:\n%s" % (qid, relay.stderr()))


def test_smtputf8_quoted_and_dsn_envelope(relay):
    relay.start_fg()
    c = relay.client()
    c.send("MAIL FROM:<jöran@exämple.com> SMTPUTF8 BODY=8BITMIME "
           "RET=HDRS ENVID=e2e+2Bid\r\n".encode())
    code, lines = c.reply()
    assert code == 250, lines
    c.send("RCPT TO:<ünï@example.org> NOTIFY=FAILURE,DELAY "
           "ORCPT=rfc822;x+40y.example\r\n".encode())
    code, lines = c.reply()
    assert code == 250, lines
    c.send('RCPT TO:<"a b"@example.org>\r\n')
    code, lines = c.reply()
    assert code == 250, lines
    c.send("DATA\r\n")
    c.expect(354)
    body = "Subject: grüße\r\n\r\n8bit body: ärger\r\n".encode()
    c.send(body + b".\r\n")
    qid = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    q = relay.read_queue(qid)
    assert q["sender"] == "<jöran@exämple.com>"
    assert q["sender_params"] == ["BODY=8BITMIME", "SMTPUTF8", "RET=HDRS",
                                  "ENVID=e2e+2Bid"]
    assert q["rcpts"] == [
        ("<ünï@example.org>", "pending",
         ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;x+40y.example"]),
        ('<"a b"@example.org>', "pending", [])]
    received, rest = split_received(q["message"])
    assert " with UTF8SMTP id %s;" % qid in received, received
    assert rest == body
