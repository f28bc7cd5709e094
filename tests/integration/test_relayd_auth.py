"""SMTP AUTH for clients (relayd.8, AUTHENTICATION) with real peers (swaks,
Python smtplib, a raw client through STARTTLS): PLAIN (initial response and
334 continuation) and LOGIN, offered and accepted only over TLS; after AUTH
a client outside relay_from (10.0.0.0/8 here, the client is 127.0.0.1) may
relay, and its queue file says "trusted"; wrong passwords get 535 and
auth_max_failures of them end the guessing with 421; the Received: field
says "(authenticated)" but never the login.  The credentials file is made
with "relayctl passwd" from stdin, root:root 0600, read by the master as
root: the session child holds no fd on it and the relay account cannot
open it.  Mail is held (held_relay), so accepted messages stay in queue/."""

import base64
import errno
import os
import re
import signal
import smtplib
import subprocess

import pytest

from relayd_harness import (HOSTNAME, Client, held_relay,  # noqa: F401
                            wait_for)
from harness import relay_env, relayctl_path
from test_relayd_tls import CERT, KEY, PKI, install, received_of

PASSWD = "etc/mail/relayd.passwd"
USER, PASSWORD = "alice@example.org", "correct horse 42"


def b64(s):
    return base64.b64encode(s.encode()).decode()


def passwd(relay, user, password=None, *extra):
    """relayctl passwd USER --root ROOT, the password on stdin."""
    cp = subprocess.run([relayctl_path(), "passwd", user, "--root",
                         relay.root] + list(extra),
                        input=None if password is None else password + "\n",
                        stdin=subprocess.DEVNULL if password is None
                        else None, capture_output=True, text=True,
                        env=relay_env(), timeout=60)
    return cp


@pytest.fixture
def pki():
    p = PKI()
    yield p
    import shutil
    shutil.rmtree(p.dir, ignore_errors=True)


@pytest.fixture
def relay(held_relay, pki):  # noqa: F811 (the fixture, renamed)
    """A held relay with TLS, auth_users from relayctl passwd, and a
    relay_from that leaves the client (127.0.0.1) out."""
    cert, key, _ = pki.issue()
    install(held_relay, cert, key)
    cp = passwd(held_relay, USER, PASSWORD)
    assert cp.returncode == 0, cp.stderr
    held_relay.fixed.update({"tls_cert": "/" + CERT, "tls_key": "/" + KEY,
                             "greet_pause": "0", "relay_from": "10.0.0.0/8",
                             "auth_users": "/" + PASSWD})
    held_relay.configure()
    return held_relay


def swaks(relay, *args):
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % relay.port, "--helo",
         "swaks.test", "--from", "sender@client.test", "--to",
         "bob@example.net", "--body", "relayed after AUTH", "--timeout",
         "20"] + list(args), capture_output=True, text=True, timeout=60)
    return r


def tls_client(relay, pki):
    c = Client(relay.port)
    relay.clients.append(c)
    c.greet()
    c.ehlo()
    c.send("STARTTLS\r\n")
    c.expect(220)
    c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    return c


def auth_code(relay, pki, user, password):
    """The reply code of AUTH PLAIN on a new session through STARTTLS."""
    with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="c.test",
                      timeout=10) as s:
        s.starttls(context=pki.context())
        s.ehlo()
        return s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (user,
                                                             password)))[0]


def queued_id(out):
    m = re.search(r"<~\s+250 2\.0\.0 Ok: queued as ([0-9A-Z]+)", out)
    assert m, out
    return m.group(1)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_auth_relays_from_outside_relay_from(relay, mech):
    relay.start_fg()
    # Without AUTH the same client may not relay: the control.
    r = swaks(relay, "--tls")
    assert r.returncode != 0, r.stdout
    assert re.search(r"<~?\* 554 5\.7\.1 <bob@example\.net>: Relaying "
                     r"denied", r.stdout), r.stdout
    assert relay.queue_ids() == []
    r = swaks(relay, "--tls", "--auth", mech, "--auth-user", USER,
              "--auth-password", PASSWORD)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0 Authentication successful" in r.stdout, r.stdout
    qid = queued_id(r.stdout)
    q = relay.read_queue(qid)
    assert q["client"] == "127.0.0.1" and q["trusted"] is True, q
    field = received_of(relay, qid)
    assert "(authenticated)" in field, field
    assert " with ESMTPSA id %s" % qid in field, field
    assert "alice" not in field and PASSWORD not in field, field
    log = relay.stderr()
    assert "AUTH %s: sasl_username=%s" % (mech, USER) in log, log
    assert re.search(r"%s: client=\[127\.0\.0\.1\], helo=swaks\.test, "
                     r"sasl_username=%s, from=" % (qid, re.escape(USER)),
                     log), log
    assert PASSWORD not in log


def test_auth_never_in_clear_text(relay, pki):
    relay.start_fg()
    c = relay.client()
    lines = c.ehlo()
    assert not any("AUTH" in ln for ln in lines), lines
    code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (USER, PASSWORD)))
    assert code == 538, lines
    assert lines[-1] == ("538 5.7.11 Encryption required for requested "
                         "authentication mechanism"), lines
    code, lines = c.cmd("MAIL FROM:<a@client.test>")
    assert code == 250
    code, lines = c.cmd("RCPT TO:<bob@example.net>")
    assert code == 554, lines  # the refused AUTH did not count
    # swaks without --tls finds no AUTH to use.
    r = swaks(relay, "--auth", "PLAIN", "--auth-user", USER,
              "--auth-password", PASSWORD)
    assert r.returncode != 0, r.stdout
    assert "did not advertise authentication" in r.stderr, r.stderr
    # After STARTTLS it is offered.
    t = tls_client(relay, pki)
    assert "250-AUTH PLAIN LOGIN" in t.ehlo()
    assert relay.queue_ids() == []


def test_plain_continuation_login_steps_and_cancel(relay, pki):
    relay.start_fg()
    c = tls_client(relay, pki)
    c.ehlo()
    # PLAIN without an initial response: an empty 334, then "*" cancels.
    c.send("AUTH PLAIN\r\n")
    c.expect(334, r"^334 $")
    code, lines = c.cmd("*")
    assert lines == ["501 5.7.0 Authentication aborted"], lines
    # Not base64: 501, nothing verified.
    assert c.cmd("AUTH PLAIN !!!!")[1] == ["501 5.5.2 Cannot decode "
                                           "response"]
    # An unknown mechanism.
    assert c.cmd("AUTH CRAM-MD5")[0] == 504
    # LOGIN, step by step.
    c.send("AUTH LOGIN\r\n")
    c.expect(334, r"^334 VXNlcm5hbWU6$")
    c.send(b64(USER) + "\r\n")
    c.expect(334, r"^334 UGFzc3dvcmQ6$")
    c.send(b64(PASSWORD) + "\r\n")
    c.expect(235, r"^235 2\.7\.0 Authentication successful$")
    assert c.cmd("AUTH LOGIN")[0] == 503  # once per session
    code, _ = c.cmd("MAIL FROM:<a@client.test>")
    assert code == 250
    code, lines = c.cmd("RCPT TO:<bob@example.net>")
    assert code == 250, lines
    # PLAIN through the continuation, on a new session.
    d = tls_client(relay, pki)
    d.ehlo()
    d.send("AUTH PLAIN\r\n")
    d.expect(334, r"^334 $")
    d.send(b64("\0%s\0%s" % (USER, PASSWORD)) + "\r\n")
    d.expect(235)


def test_wrong_password_535_then_421(relay, pki):
    # Failures counted per session only: the second session starts afresh.
    relay.configure(auth_max_failures=2, auth_failure_window="0")
    relay.start_fg()
    c = tls_client(relay, pki)
    c.ehlo()
    bad = "AUTH PLAIN " + b64("\0%s\0wrong" % USER)
    unknown = "AUTH PLAIN " + b64("\0nobody@example.org\0%s" % PASSWORD)
    assert c.cmd(bad)[1] == ["535 5.7.8 Authentication credentials invalid"]
    assert c.cmd(unknown)[1] == ["535 5.7.8 Authentication credentials "
                                 "invalid"]
    # The limit is reached: even the right password is not checked now.
    code, lines = c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (USER, PASSWORD)))
    assert code == 421, lines
    assert "too many authentication failures" in lines[-1], lines
    assert c.eof()
    # A new session: one failure is below the limit.
    with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="c.test",
                      timeout=10) as s:
        s.starttls(context=pki.context())
        s.ehlo()
        assert s.docmd("AUTH", "PLAIN " + b64("\0%s\0x" % USER))[0] == 535
        assert s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (
            USER, PASSWORD)))[0] == 235
        s.sendmail("a@client.test", ["bob@example.net"], b"Subject: x\r\n\r\n")
    assert len(relay.queue_ids()) == 1
    assert "wrong" not in relay.stderr()


def auth_session(relay, pki, password):
    """One session: AUTH PLAIN as USER; the reply code, then QUIT."""
    with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="c.test",
                      timeout=10) as s:
        s.starttls(context=pki.context())
        s.ehlo()
        code, text = s.docmd("AUTH", "PLAIN " + b64("\0%s\0%s" % (
            USER, password)))
        if code != 421:
            s.quit()
        return code


def test_failures_count_across_sessions(relay, pki):
    """A client cannot reset its guesses by reconnecting: the master adds
    each session's failures (its exit status) to the client's count for
    auth_failure_window, and the next session starts from it."""
    relay.configure(auth_max_failures=2)
    relay.start_fg()
    for n in (1, 2):
        assert auth_session(relay, pki, "wrong%d" % n) == 535
        wait_for(lambda: "127.0.0.1: 1 failed AUTH, %d in this window of "
                 "3600s" % n in relay.stderr(), what="failure %d counted" % n)
    assert "AUTH refused until it ends" in relay.stderr()
    # The right password is not even checked now, in a new session.
    assert auth_session(relay, pki, PASSWORD) == 421
    assert "too many AUTH failures" in relay.stderr()
    # A reload with another window starts the counts afresh.
    relay.configure(auth_max_failures=2, auth_failure_window="10m")
    os.kill(relay.master_pid(), signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in relay.stderr(),
             what="reload")
    assert auth_session(relay, pki, PASSWORD) == 235


def test_passwd_file_rules_and_reload(relay, pki):
    path = os.path.join(relay.root, PASSWD)
    st = os.stat(path)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o600)
    line = open(path).read()
    assert re.match(r"^alice@example\.org:\$y\$\S+\n$", line), line
    # Readable by the group: relayd refuses to start, naming the file.
    os.chmod(path, 0o640)
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=20) == 78
    assert ("%s: group or others may access it (want root:root 0600)"
            % ("/" + PASSWD)) in relay.stderr(), relay.stderr()
    os.chmod(path, 0o600)
    relay.start_fg()
    # A second user, then a bad file on HUP keeps the old table.
    assert passwd(relay, "bob", "hunter2").returncode == 0
    with open(path, "a") as f:
        f.write("broken line\n")
    os.kill(relay.master_pid(), signal.SIGHUP)
    wait_for(lambda: "reload failed" in relay.stderr(), what="reload")
    assert ("%s:3: want 'user:hash'" % ("/" + PASSWD)) in relay.stderr()
    assert auth_code(relay, pki, "bob", "hunter2") == 535  # not loaded
    assert auth_code(relay, pki, USER, PASSWORD) == 235  # the old table
    # relayctl passwd refuses to build on the broken file, then --delete.
    cp = passwd(relay, "carol", "pw")
    assert cp.returncode == 65 and ":3: want 'user:hash'" in cp.stderr, cp
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("broken line\n", ""))
    cp = passwd(relay, USER, None, "--delete")
    assert cp.returncode == 0, cp.stderr
    os.kill(relay.master_pid(), signal.SIGHUP)
    wait_for(lambda: relay.stderr().count("configuration reloaded") >= 1,
             what="reload")
    assert auth_code(relay, pki, "bob", "hunter2") == 235
    assert auth_code(relay, pki, USER, PASSWORD) == 535


def test_auth_users_needs_tls(relay):
    relay.configure(text=relay.conf_text().replace(
        "tls_cert = /%s\n" % CERT, "").replace("tls_key = /%s\n" % KEY, ""))
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=20) == 78
    assert "auth_users: needs TLS" in relay.stderr(), relay.stderr()


def test_smtp_child_never_has_the_passwd_file(relay, pki):
    relay.start_fg()
    c = tls_client(relay, pki)
    c.ehlo()
    assert c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (USER, PASSWORD)))[0] \
        == 235
    path = os.path.realpath(os.path.join(relay.root, PASSWD))
    pids = wait_for(lambda: relay.sessions(), what="the session child")
    for pid in pids:
        targets = []
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except FileNotFoundError:
                pass
        assert path not in targets, targets
        st = open("/proc/%d/status" % pid).read()
        assert int(re.search(r"^Uid:\s+(\d+)", st, re.M).group(1)) \
            == relay.uid, st
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(relay.gid)
            os.setuid(relay.uid)
            try:
                os.close(os.open(path, os.O_RDONLY))
                os.write(w, b"opened")
            except OSError as e:
                os.write(w, str(e.errno).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 100)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == str(errno.EACCES).encode(), got
    c.send("QUIT\r\n")
    c.expect(221)


def test_auth_senders_restricts_mail_from(relay, pki):
    """auth_senders: a login may send only as its own addresses."""
    path = os.path.join(relay.root, "etc/mail/relayd.senders")
    with open(path, "w") as f:
        f.write("# login: senders\n%s: @example.org, alice@home.example\n"
                % USER)
    os.chown(path, 0, 0)
    os.chmod(path, 0o644)

    def mail_from(sender, auth=True):
        c = tls_client(relay, pki)
        c.ehlo()
        if auth:
            assert c.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (
                USER, PASSWORD)))[0] == 235
        code, lines = c.cmd("MAIL FROM:<%s>" % sender)
        c.send("QUIT\r\n")
        return code, lines[-1]

    # The control: without the key a login may use any sender.
    relay.start_fg()
    assert mail_from("ceo@bank.example")[0] == 250
    relay.configure(auth_senders="/etc/mail/relayd.senders")
    os.kill(relay.master_pid(), signal.SIGHUP)
    wait_for(lambda: "configuration reloaded" in relay.stderr(),
             what="reload")
    assert mail_from("bob@Example.ORG")[0] == 250
    assert mail_from("Alice@home.example")[0] == 250
    assert mail_from("")[0] == 250  # the null sender
    code, line = mail_from("ceo@bank.example")
    assert code == 553, line
    assert line == ("553 5.7.1 <ceo@bank.example>: Sender address "
                    "rejected: not owned by user %s" % USER), line
    assert mail_from("x@sub.example.org")[0] == 553
    # Not authenticated: not this map's business.
    assert mail_from("ceo@bank.example", auth=False)[0] == 250
    # Writable by the group: a reload keeps the running map.
    os.chmod(path, 0o664)
    os.kill(relay.master_pid(), signal.SIGHUP)
    wait_for(lambda: "writable by group or others" in relay.stderr(),
             what="the refused reload")
    assert mail_from("ceo@bank.example")[0] == 553
