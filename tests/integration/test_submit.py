"""Local submission end to end: relayd-sendmail, run as an unprivileged
user (setpriv to a uid that exists only in the test root's etc/passwd),
hands mail to relayd over its submit_socket; the queue runner delivers
it to an aiosmtpd sink.  Real callers: Debian's bsd-mailx (`mail -s`,
pointed at our binary through MAILRC's `set sendmail=`), a cron-style
invocation, -t with Bcc, an -bs dialogue.  Also: relayd stopped -> 75,
a forged sender under local_senders = own -> 77, uid=N in the log."""

import os
import re
import shutil
import stat
import subprocess

from delivery_harness import (configure, peers, relay,  # noqa: F401
                              wait_for, wait_log_text)
from harness import build_dir

USER, UID = "alice", 4242
SOCK = "/run/relayd/submit"
OWN = "alice@relay.test"


def add_user(root, name=USER, uid=UID):
    with open(os.path.join(root, "etc/passwd"), "a") as f:
        f.write("%s:x:%d:%d:Alice:/nonexistent:/usr/sbin/nologin\n"
                % (name, uid, uid))


def sendmail_path(root):
    """Our binary at ROOT/usr/sbin/sendmail (0755, the user can run it;
    the host's /usr/sbin/sendmail is never touched)."""
    dst = os.path.join(root, "usr/sbin/sendmail")
    if not os.path.exists(dst):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(os.path.join(build_dir(), "relayd-sendmail"), dst)
        os.chmod(dst, 0o755)
    return dst


def submit_ready(path):
    """The socket accepts connections (relayd binds it after its TCP
    listeners, which are what start_fg waits for)."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def start(relay, peers, **kv):  # noqa: F811
    add_user(relay.root)
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop, submit_socket=SOCK, **kv)
    relay.start_fg()
    wait_for(lambda: submit_ready(relay.root + SOCK), what="submit_socket")
    return sink


def run(relay, argv, data=b"", uid=UID, env=None, prog=None):
    """argv after the program, as uid (root: no setpriv)."""
    e = {"PATH": "/usr/bin:/bin", "LC_ALL": "C",
         "RELAYD_SUBMIT_SOCKET": relay.root + SOCK}
    e.update(env or {})
    cmd = [prog or sendmail_path(relay.root)] + list(argv)
    if uid != 0:
        cmd = ["setpriv", "--reuid", str(uid), "--regid", str(uid),
               "--clear-groups"] + cmd
    return subprocess.run(cmd, input=data, capture_output=True, env=e,
                          timeout=60)


def headers(content):
    head = content.split(b"\r\n\r\n", 1)[0].decode()
    return re.sub(r"\r\n[ \t]+", " ", head).split("\r\n")


def field(content, name):
    out = [h.split(":", 1)[1].strip() for h in headers(content)
           if h.lower().startswith(name.lower() + ":")]
    return out


def test_mailx_delivers_with_user_address(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    st = os.lstat(relay.root + SOCK)
    assert stat.S_ISSOCK(st.st_mode), st
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o666), st
    # The user's home and mailrc in the root (the user can read them).
    home = os.path.join(relay.root, "home", USER)
    os.makedirs(home)
    os.chown(home, UID, UID)
    rc = os.path.join(home, ".mailrc")
    with open(rc, "w") as f:
        f.write("set sendmail=%s\n" % sendmail_path(relay.root))
    r = run(relay, ["-s", "hello from mailx", "bob@dest.test"],
            b"mail body\n", prog="/usr/bin/bsd-mailx",
            env={"HOME": home, "MAILRC": rc})
    assert r.returncode == 0, r
    got = sink.wait(1, relay=relay)[0]
    assert got.mail_from == OWN, got
    assert got.rcpts == ["bob@dest.test"], got
    assert field(got.content, "Subject") == ["hello from mailx"], got
    assert field(got.content, "From") == ["<%s>" % OWN], got
    msgid = field(got.content, "Message-ID")
    assert len(msgid) == 1 and msgid[0].endswith("@relay.test>"), got
    assert len(field(got.content, "Date")) == 1, got
    assert b"\r\n\r\nmail body\r\n" in got.content, got
    assert re.search(r"^Received: from localhost \(uid %d\)" % UID,
                     got.content.decode(), re.M), got
    line = wait_log_text(relay, r"client=\[local\], helo=localhost, "
                         r"uid=%d, from=<%s>" % (UID, OWN))
    assert "nrcpt=1" in line, line
    wait_log_text(relay, r"local submission: uid=%d \(alice\)" % UID)


def test_cron_style_invocation(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    body = (b"Subject: Cron <alice@host> run-parts\n"
            b"\n"
            b"line one\n.\nafter a dot line\n\xc3\xa9t\xc3\xa9\n")
    r = run(relay, ["-FCronDaemon", "-i", "-B8BITMIME", "-oem", USER],
            body)
    assert r.returncode == 0, r
    got = sink.wait(1, relay=relay)[0]
    assert got.mail_from == OWN and got.rcpts == [OWN], got
    assert "BODY=8BITMIME" in got.mail_options, got
    assert field(got.content, "From") == ['"CronDaemon" <%s>' % OWN], got
    assert len(field(got.content, "Message-ID")) == 1, got
    assert got.content.endswith(
        b"\r\n\r\nline one\r\n.\r\nafter a dot line\r\n"
        b"\xc3\xa9t\xc3\xa9\r\n"), got


def test_dot_line_ends_input_without_i(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    r = run(relay, ["bob@dest.test"],
            b"Subject: dot\nFrom: Alice <alice@relay.test>\n\nkept\n.\n"
            b"dropped\n")
    assert r.returncode == 0, r
    got = sink.wait(1, relay=relay)[0]
    assert got.content.endswith(b"\r\n\r\nkept\r\n"), got
    # The message's own From stays, and there is only one.
    assert field(got.content, "From") == ["Alice <alice@relay.test>"], got


def test_t_takes_recipients_and_removes_bcc(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    msg = (b"To: Bob <bob@dest.test>, carol@dest.test\n"
           b"Cc: \"Dee, D.\" <dee@other.test>\n"
           b"Bcc: hidden@secret.test,\n\tdave@secret.test\n"
           b"Subject: -t\n\nbody\n")
    r = run(relay, ["-t", "-i"], msg)
    assert r.returncode == 0, r
    got = sink.wait(1, relay=relay)[0]
    assert sorted(got.rcpts) == sorted([
        "bob@dest.test", "carol@dest.test", "dee@other.test",
        "hidden@secret.test", "dave@secret.test"]), got
    assert field(got.content, "Bcc") == [], got
    assert b"secret.test" not in got.content.split(b"\r\n\r\n")[0], got
    assert field(got.content, "Cc") == ['"Dee, D." <dee@other.test>'], got


def test_bs_dialogue(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    dialogue = (b"EHLO me\n"
                b"MAIL FROM:<alice@relay.test>\n"
                b"RCPT TO:<bob@dest.test>\n"
                b"DATA\n"
                b"Subject: bs\n\nover -bs\n.\n"
                b"QUIT\n")
    r = run(relay, ["-bs"], dialogue)
    assert r.returncode == 0, r
    out = r.stdout.decode()
    assert out.startswith("220 relay.test ESMTP relayd\r\n"), out
    assert "250-relay.test local submission from <%s>\r\n" % OWN in out, out
    assert re.search(r"\r\n250 2\.0\.0 Ok: queued as [0-9A-Z]+\r\n", out), \
        out
    assert out.endswith("221 2.0.0 Bye\r\n"), out
    got = sink.wait(1, relay=relay)[0]
    assert got.mail_from == OWN and got.rcpts == ["bob@dest.test"], got
    assert len(field(got.content, "Message-ID")) == 1, got


def test_stopped_relayd_is_tempfail(relay, peers):  # noqa: F811
    start(relay, peers)
    path = relay.root + SOCK
    assert os.path.exists(path)
    relay.stop()
    # A graceful stop removes the socket; a user's mail is not lost
    # silently: 75 and one line.
    assert not os.path.exists(path)
    r = run(relay, ["bob@dest.test"], b"Subject: x\n\nbody\n")
    assert r.returncode == 75, r
    assert b"relayd is not running: message not sent" in r.stderr, r


def test_forged_sender_refused_under_own(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    r = run(relay, ["-f", "root@relay.test", "bob@dest.test"],
            b"Subject: forged\n\nbody\n")
    assert r.returncode == 77, r
    assert re.search(rb"553 5\.7\.1 <root@relay\.test>: Sender address "
                     rb"rejected: not owned by user alice", r.stderr), r
    assert b"message not sent" in r.stderr, r
    # Its own address (and the null sender) are fine.
    r = run(relay, ["-f", OWN, "bob@dest.test"], b"Subject: own\n\nbody\n")
    assert r.returncode == 0, r
    # root may use any sender.
    r = run(relay, ["-f", "boss@elsewhere.test", "bob@dest.test"],
            b"Subject: root\n\nbody\n", uid=0)
    assert r.returncode == 0, r
    got = sink.wait(2, relay=relay)
    assert sorted(g.mail_from for g in got) == sorted(
        [OWN, "boss@elsewhere.test"]), got
    wait_log_text(relay, r"uid=%d \(alice\): sender <root@relay\.test> "
                  r"refused" % UID)


def test_local_senders_any(relay, peers):  # noqa: F811
    sink = start(relay, peers, local_senders="any")
    r = run(relay, ["-f", "list@relay.test", "bob@dest.test"],
            b"Subject: any\n\nbody\n")
    assert r.returncode == 0, r
    got = sink.wait(1, relay=relay)[0]
    assert got.mail_from == "list@relay.test", got
    assert field(got.content, "From") == ["<list@relay.test>"], got


def test_unknown_uid_fails_closed(relay, peers):  # noqa: F811
    start(relay, peers)
    r = run(relay, ["bob@dest.test"], b"Subject: x\n\nbody\n", uid=4343)
    assert r.returncode == 75, r
    assert b"421 4.3.0" in r.stderr, r
    wait_log_text(relay, r"local submission refused: uid=4343: no account")
    assert relay.queue_ids() == []


def test_group_restricted_socket(relay, peers):  # noqa: F811
    with open(os.path.join(relay.root, "etc/group"), "a") as f:
        f.write("mailers:x:4300:\n")
    start(relay, peers, submit_group="mailers")
    st = os.lstat(relay.root + SOCK)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (
        0, 4300, 0o660), st
    r = run(relay, ["bob@dest.test"], b"Subject: x\n\nbody\n")
    assert r.returncode == 77, r
    assert b"not allowed to talk to relayd" in r.stderr, r
    assert b"message not sent" in r.stderr, r


def test_options(relay, peers):  # noqa: F811
    sink = start(relay, peers)
    r = run(relay, ["-X", "bob@dest.test"], b"x\n")
    assert r.returncode == 64, r
    assert b"unknown option '-X'" in r.stderr, r
    r = run(relay, ["-q"])
    assert r.returncode == 77, r
    r = run(relay, [], b"Subject: x\n\nno rcpt\n")
    assert r.returncode == 64, r
    r = run(relay, ["-oQ/var/spool", "-odb", "-N", "success,failure",
                    "-R", "hdrs", "-V", "env+id", "-v", "-bm",
                    "bob@dest.test"], b"Subject: opts\n\nbody\n")
    assert r.returncode == 0, r
    assert b"warning: ignoring option -oQ/var/spool" in r.stderr, r
    assert b">>> MAIL FROM:<alice@relay.test> RET=HDRS ENVID=env+2Bid" \
        in r.stderr, r
    assert b">>> RCPT TO:<bob@dest.test> NOTIFY=SUCCESS,FAILURE" \
        in r.stderr, r
    sink.wait(1, relay=relay)


def test_bp_lists_only_own_messages(relay, peers):  # noqa: F811
    """mailq for a user: relayd lists, over the socket, the user's own
    queued messages (the spool is 0700, the relay account's) with each
    recipient's last error; another user's message is not shown; over
    TCP the command does not exist."""
    sink = start(relay, peers)
    sink.rcpt_replies["bob@dest.test"] = "451 4.3.0 Try again later"
    add_user(relay.root, "carol", 4243)
    r = run(relay, ["bob@dest.test"], b"Subject: mine\n\nbody\n")
    assert r.returncode == 0, r
    r = run(relay, ["-f", "carol@relay.test", "bob@dest.test"],
            b"Subject: hers\n\nbody\n", uid=4243)
    assert r.returncode == 0, r
    wait_for(lambda: len(relay.queue_ids()) == 2, what="two queued")
    # Each user's first delivery try is refused with 451 and recorded.
    wait_for(lambda: sum(
        1 for q in queue_list(relay) if q["attempts"] > 0) == 2, 30,
        what="a failed try for both")
    mine = [q for q in queue_list(relay)
            if q["sender"] == "<%s>" % OWN][0]
    r = run(relay, ["-bp"])
    assert r.returncode == 0, r
    out = r.stdout.decode()
    assert out.startswith(mine["id"] + " "), out
    assert "<%s>" % OWN in out, out
    assert "    pending  <bob@dest.test>\n" in out, out
    assert "last error: 4.3.0 451 4.3.0 Try again later\n" in out, out
    assert "carol" not in out, out
    assert out.endswith("\n1 message in the queue from you\n"), out
    # As "mailq" (argv[0]).
    mailq = os.path.join(relay.root, "usr/bin/mailq")
    os.makedirs(os.path.dirname(mailq), exist_ok=True)
    os.symlink(sendmail_path(relay.root), mailq)
    r = run(relay, [], prog=mailq, uid=4243)
    assert r.returncode == 0, r
    assert "<carol@relay.test>" in r.stdout.decode(), r
    assert OWN not in r.stdout.decode(), r
    # A user with nothing queued.
    add_user(relay.root, "dave", 4244)
    r = run(relay, ["-bp"], uid=4244)
    assert (r.returncode, r.stdout) == (
        0, b"0 messages in the queue from you\n"), r
    # Not a command over TCP.
    import smtplib
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as c:
        assert c.docmd("XQUEUE")[0] == 500
    # relayd stopped: 75 and one line, nothing on stdout.
    relay.stop()
    r = run(relay, ["-bp"])
    assert r.returncode == 75, r
    assert b"relayd is not running: no queue listing" in r.stderr, r


def queue_list(relay):
    import json
    r = relay.relayctl("queue", "list", "--json")
    assert r.rc == 0, r
    return json.loads(r.out)["messages"]


def submit_findings(relay):
    import json
    r = relay.relayctl("check", "--json")
    doc = json.loads(r.out)
    return {f["id"]: f for f in doc["findings"]
            if f["id"].startswith("submit.")}


def test_check_says_who_answers_sendmail(relay, peers):  # noqa: F811
    """relayctl check: ROOT/usr/sbin/sendmail ours (a copy or a link), none,
    or another program's, said as advice while local submission is in
    use; nothing when it is not."""
    configure(relay, submit_socket=SOCK)
    path = os.path.join(relay.root, "usr/sbin/sendmail")
    f = submit_findings(relay)
    assert list(f) == ["submit.no-sendmail"], f
    assert f["submit.no-sendmail"]["severity"] == "advice"
    sendmail_path(relay.root)  # a copy of ours
    assert submit_findings(relay) == {}
    os.unlink(path)
    os.symlink("relayd-sendmail", path)  # a link to ours
    assert submit_findings(relay) == {}
    os.unlink(path)
    with open(path, "w") as out:
        out.write("#!/bin/sh\nexec /usr/lib/other-mta/sendmail \"$@\"\n")
    f = submit_findings(relay)
    assert list(f) == ["submit.other-mta"], f
    assert "local mail bypasses relayd" in f["submit.other-mta"]["fix"]
    os.unlink(path)
    os.symlink("../lib/sm.bin/sendmail", path)
    f = submit_findings(relay)
    assert f["submit.other-mta"]["actual"] == "../lib/sm.bin/sendmail", f
    # Ours, but relayd.conf has no submit_socket: it cannot deliver.
    os.unlink(path)
    sendmail_path(relay.root)
    configure(relay)
    assert list(submit_findings(relay)) == ["submit.no-socket"]
    # Neither ours nor configured: not relayd's business.
    os.unlink(path)
    assert submit_findings(relay) == {}
