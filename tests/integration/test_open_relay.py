"""relayd's relay policy against an untrusted client, end to end: relayd -f
under a temp root whose relay_from (10.0.0.0/8, or 127.0.0.2/32) leaves
out the client at 127.0.0.1, and Python smtplib as the client.

- An open-relay matrix: sender-specified routing in every form (quoted
  "@", "%", "!", source routes, their case and UTF-8 variants), address
  literals, IDN and lookalike domains, each refused with its exact code,
  and nothing queued; plain addresses in relay_domains as the control.
- relay_recipients: known addresses and @domain wildcards accepted at
  RCPT, anyone else "550 5.1.1 ... User unknown in relay recipient
  table", trusted clients not checked, the table re-read on SIGHUP (a bad
  one keeps the old), a bad or unsafe table refused at start with
  FILE:LINE.
- The queue file marks the client "trusted" only inside relay_from.

Mail is held (held_relay: the smarthost refuses connections), so whatever
a session accepted stays in queue/ where the test can see it."""

import os
import re
import signal
import smtplib
import subprocess

import pytest

from relayd_harness import (QUEUED_RE, held_relay,  # noqa: F401
                            relayd_path, wait_for)

RELAY_DOMAINS = "relay.example"
TABLE = "etc/mail/relay_recipients"


@pytest.fixture
def relay(held_relay):  # noqa: F811 (the fixture, renamed)
    return held_relay


def smtp(relay, source="127.0.0.1"):
    s = smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test",
                     timeout=10, source_address=(source, 0))
    code, _ = s.ehlo()
    assert code == 250
    return s


def rcpt_reply(relay, addr, utf8=False):
    """(code, text) of RCPT TO:addr after MAIL FROM (with SMTPUTF8 when
    utf8), on a fresh session; checks that nothing became a recipient."""
    s = smtp(relay)
    try:
        s.command_encoding = "utf-8"  # the bytes as given, SMTPUTF8 or not
        code, msg = s.docmd("MAIL", "FROM:<sender@client.test>" +
                            (" SMTPUTF8" if utf8 else ""))
        assert code == 250, msg
        code, msg = s.docmd("RCPT", "TO:" + addr)
        if code != 250:
            dcode, dmsg = s.docmd("DATA")
            assert dcode == 503, (addr, dcode, dmsg)
        s.docmd("QUIT")
    finally:
        s.close()
    return code, msg.decode("utf-8", errors="replace")


ROUTING = "553 5.1.3 Routing not allowed"
DENIED = "554 5.7.1 <%s>: Relaying denied"
SYNTAX = "501 5.1.3 Bad recipient address syntax"
NEED_UTF8 = "553 5.6.7 Non-ASCII address requires SMTPUTF8"

# (RCPT argument, SMTPUTF8, expected reply line; DENIED takes the mailbox)
MATRIX = [
    # a quoted "@": the next hop unquotes it and routes to other.example
    ('<"user@other.example"@relay.example>', False, ROUTING),
    ('<"user\\@other.example"@relay.example>', False, ROUTING),
    ('<"@other.example:user"@relay.example>', False, ROUTING),
    ('<"user@[192.0.2.1]"@relay.example>', False, ROUTING),
    ('<"USER@OTHER.EXAMPLE"@RELAY.EXAMPLE>', False, ROUTING),
    ('<"\u00fcser@other.example"@relay.example>', True, ROUTING),
    ('<"user@other.example">', False, ROUTING),
    # the percent hack and bang paths, bare and quoted
    ("<user%other.example@relay.example>", False, ROUTING),
    ("<USER%OTHER.EXAMPLE@Relay.Example>", False, ROUTING),
    ("<user%[192.0.2.1]@relay.example>", False, ROUTING),
    ('<"user%other.example"@relay.example>', False, ROUTING),
    ("<other.example!user@relay.example>", False, ROUTING),
    ('<"other.example!user"@relay.example>', False, ROUTING),
    # their fullwidth and small forms (NFKC makes them @ % !)
    ("<user\uff20other.example@relay.example>", True, ROUTING),
    ("<user\ufe6bother.example@relay.example>", True, ROUTING),
    ("<user\uff05other.example@relay.example>", True, ROUTING),
    ("<other.example\uff01user@relay.example>", True, ROUTING),
    # several "@" and source routes
    ("<user@other.example@relay.example>", False, ROUTING),
    ("<user@relay.example@other.example>", False, ROUTING),
    ("<user\\@other.example@relay.example>", False, ROUTING),
    ("<@relay.example:user@other.example>", False, ROUTING),
    ("<@relay.example,@mx.relay.example:user@other.example>", False,
     ROUTING),
    ("<@RELAY.EXAMPLE:user@other.example>", False, ROUTING),
    # not a relay domain: literals, lookalikes, IDN, subdomains
    ("<user@other.example>", False, DENIED),
    ("<user@[127.0.0.1]>", False, DENIED),
    ("<user@[192.0.2.1]>", False, DENIED),
    ("<user@[IPv6:::1]>", False, DENIED),
    ("<user@[IPv6:::ffff:127.0.0.1]>", False, DENIED),
    ("<user@relay.example.other.example>", False, DENIED),
    ("<user@otherrelay.example>", False, DENIED),
    ("<user@sub.relay.example>", False, DENIED),
    ("<user@xn--rlay-9ra.example>", False, DENIED),
    ("<user@r\u00e9lay.example>", True, DENIED),
    ("<user@relay\u3002example>", True, DENIED),
    # malformed
    ("<user@relay.example.>", False, SYNTAX),
    ("<user@relay..example>", False, SYNTAX),
    ("<user(other.example)@relay.example>", False, SYNTAX),
    ("user@relay.example", False, SYNTAX),
    ("<user@[tag:other.example]>", False, SYNTAX),
    ("<user@r\u00e9lay.example>", False, NEED_UTF8),
]

# The control: what the relay domain must still accept from anybody.
ACCEPTED = [
    ("<user@relay.example>", False),
    ("<USER@RELAY.EXAMPLE>", False),
    ('<"user name"@relay.example>', False),
    ("<user+tag@relay.example>", False),
    ("<\u00fcser@relay.example>", True),
]


def test_open_relay_matrix(relay):
    # greet_pause 0: one session per address, without a second's wait each
    relay.configure(relay_from="10.0.0.0/8", relay_domains=RELAY_DOMAINS,
                    greet_pause=0)
    relay.start_fg()
    wrong = []
    for addr, utf8, want in MATRIX:
        if want == DENIED:
            want = DENIED % addr[1:-1]
        code, text = rcpt_reply(relay, addr, utf8)
        got = "%d %s" % (code, text)
        if got != want:
            wrong.append((addr, got, want))
    for addr, utf8 in ACCEPTED:
        code, text = rcpt_reply(relay, addr, utf8)
        if code != 250:
            wrong.append((addr, "%d %s" % (code, text), "250"))
    assert not wrong, "\n".join("%r: got %r, want %r" % w for w in wrong)
    assert len(MATRIX) >= 30
    assert relay.queue_ids() == []


def test_trusted_client_routing_refused_too(relay):
    """Routing is refused from every client, trusted ones included."""
    relay.configure(greet_pause=0)  # default relay_from: 127.0.0.0/8
    relay.start_fg()
    for addr in ('<"user@other.example"@relay.example>',
                 "<user%other.example@relay.example>"):
        code, text = rcpt_reply(relay, addr)
        assert "%d %s" % (code, text) == ROUTING, (addr, code, text)


def send(s, sender, rcpts, body=b"Subject: t\r\n\r\nhi\r\n"):
    """MAIL, each RCPT (returns their codes), DATA if one was accepted;
    returns ({rcpt: (code, text)}, queue id or None)."""
    code, msg = s.docmd("MAIL", "FROM:<%s>" % sender)
    assert code == 250, msg
    got = {}
    for r in rcpts:
        code, msg = s.docmd("RCPT", "TO:<%s>" % r)
        got[r] = (code, msg.decode())
    if not any(c == 250 for c, _ in got.values()):
        return got, None
    code, msg = s.data(body)
    assert code == 250, msg
    return got, QUEUED_RE.match("250 " + msg.decode()).group(1)


def write_table(relay, text, mode=0o640, uid=0, gid=None):
    """ROOT/etc/mail/relay_recipients, root:<relay group> 0640 by default
    (share/layout's rule for files in /etc/mail)."""
    gid = relay.gid if gid is None else gid
    path = os.path.join(relay.root, TABLE)
    tmp = path + ".e2e"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, text.encode())
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.rename(tmp, path)


UNKNOWN = ("550 5.1.1 <%s>: Recipient address rejected: User unknown in "
           "relay recipient table")


def test_relay_recipients_at_rcpt(relay):
    write_table(relay, "# known users\nknown@relay.example\n"
                "@open.example\n")
    relay.configure(relay_from="127.0.0.2/32",
                    relay_domains="relay.example open.example "
                    "closed.example",
                    relay_recipients="/" + TABLE, greet_pause=0)
    relay.start_fg()
    want = {
        "known@relay.example": 250,
        "KNOWN@Relay.Example": 250,
        '"known"@relay.example': 250,
        "anyone@open.example": 250,
        "unknown@relay.example": 550,
        "known2@relay.example": 550,
        "known@closed.example": 550,
        "x@closed.example": 550,
        "x@sub.open.example": 554,
        "x@other.example": 554,
    }
    s = smtp(relay)
    try:
        got, qid = send(s, "forged@victim.example", list(want))
        s.docmd("QUIT")
    finally:
        s.close()
    assert {r: c for r, (c, _) in got.items()} == want, got
    for r, (c, text) in got.items():
        if c == 550:
            assert "%d %s" % (c, text) == UNKNOWN % r, (r, text)
    q = relay.read_queue(qid)
    assert [p for p, _, _ in q["rcpts"]] == [
        "<%s>" % r for r, c in want.items() if c == 250]
    assert q["client"] == "127.0.0.1" and q["trusted"] is False, q

    # A client inside relay_from is not checked, and is marked trusted.
    s = smtp(relay, source="127.0.0.2")
    try:
        got, qid = send(s, "a@client.test", ["unknown@relay.example",
                                             "x@other.example"])
        s.docmd("QUIT")
    finally:
        s.close()
    assert {r: c for r, (c, _) in got.items()} == {
        "unknown@relay.example": 250, "x@other.example": 250}, got
    q = relay.read_queue(qid)
    assert q["client"] == "127.0.0.2" and q["trusted"] is True, q


def reloads(relay, pattern):
    return len(re.findall(pattern, relay.stderr()))


def hup_and_wait(relay, pattern):
    n = reloads(relay, pattern)
    relay.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: reloads(relay, pattern) > n, 10,
             what="%r in relayd's stderr" % pattern)


def rcpt_code(relay, addr):
    s = smtp(relay)
    try:
        assert s.docmd("MAIL", "FROM:<f@victim.example>")[0] == 250
        return s.docmd("RCPT", "TO:<%s>" % addr)[0]
    finally:
        s.close()


def test_relay_recipients_reload(relay):
    write_table(relay, "known@relay.example\n")
    relay.configure(relay_from="10.0.0.0/8", relay_domains=RELAY_DOMAINS,
                    relay_recipients="/" + TABLE, greet_pause=0)
    relay.start_fg()
    assert rcpt_code(relay, "new@relay.example") == 550
    write_table(relay, "known@relay.example\nnew@relay.example\n")
    hup_and_wait(relay, r"configuration reloaded")
    assert rcpt_code(relay, "new@relay.example") == 250
    assert rcpt_code(relay, "other@relay.example") == 550
    # A bad table keeps the running one, and says where it is wrong.
    write_table(relay, "known@relay.example\nnew%x@relay.example\n")
    hup_and_wait(relay, r"reload failed")
    assert re.search(r"relayd: reload failed: /etc/mail/relay_recipients:2: "
                     r"sender-specified routing in address; keeping the old "
                     r"configuration", relay.stderr()), relay.stderr()
    assert rcpt_code(relay, "new@relay.example") == 250
    # Unset: every local part again.
    relay.configure(relay_from="10.0.0.0/8", relay_domains=RELAY_DOMAINS,
                    greet_pause=0)
    hup_and_wait(relay, r"configuration reloaded")
    assert rcpt_code(relay, "other@relay.example") == 250
    assert relay.proc.poll() is None


@pytest.mark.parametrize("case", ["syntax", "group-writable", "relay-owned",
                                  "symlink", "missing"])
def test_relay_recipients_bad_table_refused_at_start(relay, case):
    want = {
        "syntax": r"/etc/mail/relay_recipients:3: one address per line",
        "group-writable": r"/etc/mail/relay_recipients: writable by group "
                          r"or others \(chmod go-w\)",
        "relay-owned": r"/etc/mail/relay_recipients: not owned by root",
        "symlink": r"/etc/mail/relay_recipients: ",
        "missing": r"/etc/mail/relay_recipients: No such file or directory",
    }[case]
    if case == "syntax":
        write_table(relay, "a@relay.example\n\nb@relay.example c\n")
    elif case == "group-writable":
        write_table(relay, "a@relay.example\n", mode=0o620)
    elif case == "relay-owned":
        write_table(relay, "a@relay.example\n", uid=relay.uid, gid=relay.gid)
    elif case == "symlink":
        write_table(relay, "a@relay.example\n")
        path = os.path.join(relay.root, TABLE)
        os.rename(path, path + ".real")
        os.symlink(path + ".real", path)
    relay.configure(relay_domains=RELAY_DOMAINS,
                    relay_recipients="/" + TABLE)
    cp = subprocess.run([relayd_path(), "-f", "--root", relay.root],
                        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 78, cp
    assert re.match(r"^relayd: %s" % want, cp.stderr), cp.stderr
    assert len(cp.stderr.splitlines()) == 1, cp.stderr
