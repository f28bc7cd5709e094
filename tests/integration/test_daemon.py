"""relayd's master and `relayctl start|stop|restart|reload|status`.

Each test builds a fixture root, runs `relayctl setup --root` on it, writes
a relayd.conf listening on a free loopback port and runs the real relayd as
root against that root.  Asserted: LSB exit codes, start-up refusals and
their one-line reasons, the master's and a child's ids and capabilities in
/proc, process titles, the 421 limits, reload and graceful TERM.
The master has two kinds of children, told apart by title: smtp sessions
("relayd: server ...", what status counts and the limits apply to) and
the queue runner ("relayd: queue runner"), unprivileged like them.
"""

import os
import re
import select
import signal
import socket
import subprocess
import time

import pytest

from conftest import relay_env, run_relayctl
from delivery_harness import Sink
from relayd_harness import (RUNNER_TITLE, Client,  # noqa: F401
                            alive, children_of as children, free_port,
                            idle_servers_of,
                            passwd_ids as relay_ids, relayd_path, runner_of,
                            send_message, sessions_of as sessions, wait_for)

# CAP_KILL(5) SETGID(6) SETUID(7) NET_BIND_SERVICE(10) SYS_CHROOT(18)
MASTER_CAPS = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 18)
HOST = "mx.example.org"


def write_conf(root, text):
    path = os.path.join(root, "etc/mail/relayd.conf")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, text.encode())
        os.fchown(fd, 0, relay_ids(root)[1])
        os.fchmod(fd, 0o640)
    finally:
        os.close(fd)


def conf(port, **extra):
    lines = ["[relayd]", "listen = 127.0.0.1:%d" % port,
             "hostname = %s" % HOST]
    lines += ["%s = %s" % kv for kv in extra.items()]
    return "\n".join(lines) + "\n"


def status_of(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.split()
    return out


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode()


def not_runner(pid):
    """Children of pid other than the queue runner and idle pooled
    servers (sessions, and any child that has not set its title yet)."""
    run = runner_of(pid) + idle_servers_of(pid)
    return [k for k in children(pid) if k not in run]


def assert_unprivileged(pid, uid, gid):
    st = status_of(pid)
    assert st["Uid"] == [str(uid)] * 4
    assert st["Gid"] == [str(gid)] * 4
    assert st["Groups"] == []
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(st[k][0], 16) == 0, (k, st[k])
    assert st["NoNewPrivs"] == ["1"]


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.settimeout(10)
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(1)
        if not chunk:
            break
        buf += chunk
    return buf.decode()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        # The listener closed with our SYN in its backlog: closing, not
        # closed yet; the caller asks again.
        return False
    return False


class Daemon:
    """A set-up root with a relayd.conf; stops whatever relayd it ran."""

    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.pidfile = os.path.join(root, "run/relayd.pid")
        self.procs = []
        os.makedirs(os.path.join(root, "run"), exist_ok=True)
        r = run_relayctl("setup", "--root", root)
        assert r.rc == 0, r
        write_conf(root, conf(self.port))

    def ctl(self, *args):
        return run_relayctl(*args, "--root", self.root,
                            env={"RELAYD": relayd_path()})

    def relayd(self, *args):
        cp = subprocess.run([relayd_path(), "--root", self.root] +
                            list(args), capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=60)
        return cp

    def new_port(self):
        """Another free port in relayd.conf's listen line: the one we
        had was taken (by a test running beside this one) before relayd
        could bind it."""
        path = os.path.join(self.root, "etc/mail/relayd.conf")
        with open(path) as f:
            text = f.read()
        old = "listen = 127.0.0.1:%d\n" % self.port
        assert old in text, text
        self.port = free_port()
        write_conf(self.root, text.replace(
            old, "listen = 127.0.0.1:%d\n" % self.port))

    def foreground(self):
        """relayd -f; returns once it logged that it accepts and its queue
        runner is up (a child holds the listeners from its fork until it
        closes them: tests about listeners wait for that)."""
        for attempt in range(3):
            p = subprocess.Popen([relayd_path(), "-f", "--root", self.root],
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, env=relay_env())
            self.procs.append(p)
            try:
                self.expect_log(p, r"accepting connections \(pid %d\)"
                                % p.pid)
                break
            except AssertionError as e:
                if attempt == 2 or "Address already in use" not in str(e):
                    raise
                p.wait(timeout=10)
                self.new_port()
        wait_for(lambda: runner_of(p.pid), 10, what="the queue runner")
        return p

    @staticmethod
    def expect_log(p, pattern, timeout=10):
        """The next stderr line of p matching pattern (lines before it are
        consumed).  Reads the pipe unbuffered: with the queue runner
        logging too, several lines often come in one read, and a line
        left in a file object's buffer would never wake select()."""
        end = time.monotonic() + timeout
        seen = []
        buf = getattr(p, "log_buf", b"")
        eof = False
        while True:
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode() + "\n"
                seen.append(line)
                if re.search(pattern, line):
                    p.log_buf = buf
                    assert line.startswith("relayd: "), line
                    return line
            if eof or time.monotonic() >= end:
                break
            ready, _, _ = select.select([p.stderr], [], [], 0.2)
            if ready:
                chunk = os.read(p.stderr.fileno(), 65536)
                eof = not chunk
                buf += chunk
        p.log_buf = buf
        raise AssertionError("no log line %r in %r" % (pattern, seen))

    def start(self):
        """relayctl start, then wait until the queue runner is up and the
        session of its connect probe has ended, so tests count only their
        own children."""
        for attempt in range(3):
            r = self.ctl("start")
            if r.rc == 0 or attempt == 2 or \
                    "Address already in use" not in r.err:
                break
            self.new_port()
        assert r.rc == 0, r
        pid = self.pid()
        wait_for(lambda: runner_of(pid), 10, what="the queue runner")
        wait_for(lambda: not_runner(pid) == [], 10, what="the probe session")
        return pid

    def pid(self):
        with open(self.pidfile) as f:
            return int(f.read().strip())

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=20)
            p.stderr.close()
        if os.path.exists(self.pidfile):
            pid = self.pid()
            if alive(pid) and cmdline(pid).startswith("relayd"):
                os.kill(pid, signal.SIGKILL)
                wait_for(lambda: not alive(pid), 10, what="relayd to die")


@pytest.fixture
def daemon(make_root):
    d = Daemon(make_root("debian"))
    yield d
    d.stop_all()


def test_start_status_stop_lsb_codes(daemon):
    r = daemon.ctl("status")
    assert r.rc == 3 and "relayd is not running" in r.out, r
    r = daemon.ctl("reload")
    assert r.rc == 7, r
    r = daemon.ctl("stop")
    assert r.rc == 0 and "relayd is not running" in r.out, r

    r = daemon.ctl("start")
    assert r.rc == 0, r
    pid = daemon.pid()
    assert r.out == "relayd started (pid %d)\n" % pid
    assert alive(pid)
    s = connect(daemon.port)
    assert read_line(s) == "220 %s ESMTP relayd\r\n" % HOST
    s.close()
    # idle: no session left, only the queue runner, which is no session
    wait_for(lambda: runner_of(pid), 10, what="the queue runner")
    wait_for(lambda: not_runner(pid) == [], 10, what="the sessions to end")

    r = daemon.ctl("start")
    assert r.rc == 0 and r.out == \
        "relayd is already running (pid %d)\n" % pid, r
    r = daemon.ctl("status")
    assert r.rc == 0 and "relayd is running (pid %d)" % pid in r.out, r
    r = daemon.ctl("status", "--json")
    assert r.rc == 0, r
    assert r.out.startswith(
        '{"running": true, "pid": %d, "sessions": 0, "queue": 0, "listen": '
        '["127.0.0.1:%d"], "metrics": {"start": ' % (pid, daemon.port)), r
    assert r.out.endswith("}}}\n"), r
    r = daemon.ctl("reload")
    assert r.rc == 0 and alive(pid), r

    r = daemon.ctl("stop")
    assert r.rc == 0 and r.out == "relayd stopped\n", r
    assert not alive(pid)
    assert not os.path.exists(daemon.pidfile)
    assert refused(daemon.port)
    r = daemon.ctl("status", "--json")
    assert r.rc == 3 and '"running": false, "pid": null' in r.out, r
    assert r.out.endswith('"metrics": null}\n'), r


def test_status_counts_sessions_and_queue(daemon):
    qdir = os.path.join(daemon.root, "var/spool/mqueue/queue")
    uid, gid = relay_ids(daemon.root)
    for name in ("0000000000000A", "0000000000000B"):
        # Well-formed and due in an hour: the runner leaves them queued
        # (a malformed file would be set aside in corrupt/).
        msg = b"Subject: t\r\n\r\nhi\r\n"
        env = ("relayd-queue 1\nid %s\narrival 1700000000\nclient "
               "192.0.2.1 client.example\nsender <a@example.net>\nrcpt "
               "<b@example.org> pending\nattempts 1\nnext-try %d\n"
               "size %d\n\n" % (name, time.time() + 3600, len(msg)))
        fd = os.open(os.path.join(qdir, name), os.O_CREAT | os.O_WRONLY,
                     0o600)
        os.write(fd, env.encode() + msg)
        os.fchown(fd, uid, gid)
        os.close(fd)
    pid = daemon.start()
    socks = [connect(daemon.port) for _ in range(3)]
    wait_for(lambda: len(sessions(pid)) == 3, 5, what="3 sessions")
    # four children: the runner is one of them, but not a session
    assert len(runner_of(pid)) == 1 and len(children(pid)) == 4
    r = daemon.ctl("status", "--json")
    assert r.rc == 0, r
    assert '"sessions": 3, "queue": 2,' in r.out, r
    r = daemon.ctl("status")
    assert r.rc == 0 and "\nsessions: 3\nqueue: 2\n" in r.out, r
    for s in socks:
        s.close()


def test_stale_pidfile_is_status_1(daemon):
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    with open(daemon.pidfile, "w") as f:
        f.write("%d\n" % p.pid)
    r = daemon.ctl("status")
    assert r.rc == 1 and "is gone" in r.out, r
    # A stale pidfile does not stop a start, and stop leaves strangers.
    r = daemon.ctl("stop")
    assert r.rc == 0 and "not running" in r.out, r
    r = daemon.ctl("start")
    assert r.rc == 0, r
    assert daemon.pid() != p.pid


def test_restart_gives_a_new_master(daemon):
    daemon.start()
    old = daemon.pid()
    r = daemon.ctl("restart")
    assert r.rc == 0, r
    assert "relayd stopped\n" in r.out and "relayd started" in r.out
    new = daemon.pid()
    assert new != old and alive(new) and not alive(old)
    s = connect(daemon.port)
    assert read_line(s).startswith("220 ")
    s.close()


def test_bad_config_is_exit_78_with_file_line_key(daemon):
    write_conf(daemon.root, conf(daemon.port) + "max_children = lots\n")
    cp = daemon.relayd()
    assert cp.returncode == 78, cp
    want = r"^relayd: /etc/mail/relayd\.conf:4: max_children: .+\n$"
    assert re.match(want, cp.stderr), cp.stderr
    r = daemon.ctl("start")
    assert r.rc == 1, r
    assert re.search(r"relayd\.conf:4: max_children: ", r.err), r
    assert not os.path.exists(daemon.pidfile)


def test_missing_run_as_is_exit_78(daemon):
    write_conf(daemon.root, conf(daemon.port, run_as="nosuchuser"))
    cp = daemon.relayd()
    assert cp.returncode == 78, cp
    assert cp.stderr == ("relayd: run_as account 'nosuchuser' not found "
                         "in %s/etc/passwd\n" % daemon.root)


def test_port_in_use_says_why(daemon):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", daemon.port))
        s.listen(1)
        cp = daemon.relayd()
        assert cp.returncode == 1, cp
        assert cp.stderr == ("relayd: cannot listen on 127.0.0.1:%d: bind: "
                             "Address already in use\n" % daemon.port)
        r = daemon.ctl("start")
        assert r.rc == 1 and "Address already in use" in r.err, r
    assert not os.path.exists(daemon.pidfile)


def test_spool_with_wrong_mode_refused(daemon):
    os.chmod(os.path.join(daemon.root, "var/spool/mqueue"), 0o755)
    cp = daemon.relayd()
    assert cp.returncode == 1, cp
    assert "must be a directory owned by 'sendmail' with mode 0700" in \
        cp.stderr and "mode 0755" in cp.stderr, cp.stderr
    assert refused(daemon.port)


def test_start_refuses_unsafe_root(daemon):
    os.symlink("/etc/shadow",
               os.path.join(daemon.root, "var/spool/mqueue/evil"))
    r = daemon.ctl("start")
    assert r.rc == 3, r
    assert "unsafe /var/spool/mqueue/evil: " in r.err, r
    assert "refusing to start relayd" in r.err, r
    assert not os.path.exists(daemon.pidfile)
    assert refused(daemon.port)


def test_stale_tmp_files_removed_at_start(daemon):
    tmp = os.path.join(daemon.root, "var/spool/mqueue/tmp/0000STALE000")
    with open(tmp, "w") as f:
        f.write("half a message")
    daemon.start()
    assert not os.path.exists(tmp)


def test_master_keeps_uid_0_and_exactly_five_caps(daemon):
    daemon.start()
    pid = daemon.pid()
    st = status_of(pid)
    assert st["Uid"] == ["0"] * 4
    assert int(st["CapPrm"][0], 16) == MASTER_CAPS == 0x404e0
    assert int(st["CapEff"][0], 16) == MASTER_CAPS
    assert int(st["CapBnd"][0], 16) == 0
    assert int(st["CapInh"][0], 16) == 0
    assert int(st["CapAmb"][0], 16) == 0
    assert cmdline(pid) == \
        "relayd: accepting connections on 127.0.0.1:%d" % daemon.port
    # Daemonized: its own session, not our child.
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    assert int(fields[3]) == pid  # session id


def test_child_is_dropped_before_it_talks(daemon):
    uid, gid = relay_ids(daemon.root)
    daemon.start()
    s = connect(daemon.port)
    assert read_line(s).startswith("220 %s " % HOST)
    kids = sessions(daemon.pid())
    assert len(kids) == 1
    assert not_runner(daemon.pid()) == kids
    assert_unprivileged(kids[0], uid, gid)
    assert re.match(r"relayd: server \S+ \[127\.0\.0\.1\] ",
                    cmdline(kids[0])), cmdline(kids[0])
    s.close()


def test_queue_runner_is_unprivileged(daemon):
    uid, gid = relay_ids(daemon.root)
    pid = daemon.start()
    run = runner_of(pid)
    assert len(run) == 1, run
    assert_unprivileged(run[0], uid, gid)
    assert cmdline(run[0]).rstrip() == RUNNER_TITLE
    assert os.readlink("/proc/%d/root" % run[0]) == "/"


def test_chroot_child_runs_in_the_spool(daemon):
    write_conf(daemon.root, conf(daemon.port, chroot="yes"))
    daemon.start()
    s = connect(daemon.port)
    assert read_line(s).startswith("220 ")
    kids = sessions(daemon.pid())
    assert len(kids) == 1, kids
    assert os.readlink("/proc/%d/root" % kids[0]) == \
        os.path.join(daemon.root, "var/spool/mqueue")
    # the runner needs DNS: dropped, but not chrooted
    assert os.readlink("/proc/%d/root" % runner_of(daemon.pid())[0]) == "/"
    s.close()


def test_421_when_max_children_is_reached(daemon):
    write_conf(daemon.root, conf(daemon.port, max_children=2))
    daemon.start()
    held = [connect(daemon.port) for _ in range(2)]  # never read
    wait_for(lambda: len(sessions(daemon.pid())) == 2, 5, what="2 sessions")
    s = connect(daemon.port)
    t0 = time.monotonic()
    assert read_line(s) == \
        "421 4.7.0 %s Too many connections, try again later\r\n" % HOST
    assert time.monotonic() - t0 < 0.5  # at once: no session, no pregreet
    assert s.recv(1) == b""
    s.close()
    assert len(not_runner(daemon.pid())) == 2  # no third child was forked
    held[0].close()
    wait_for(lambda: len(not_runner(daemon.pid())) == 1, 10,
             what="a child reaped")
    s = connect(daemon.port)
    assert read_line(s).startswith("220 ")
    s.close()
    held[1].close()


def test_421_when_max_per_ip_is_reached(daemon):
    # relay_from leaves 127.0.0.1 out: per-client limits hold for it.
    write_conf(daemon.root, conf(daemon.port, max_per_ip=1,
                                 relay_from="10.0.0.0/8"))
    daemon.start()
    held = connect(daemon.port)
    wait_for(lambda: len(sessions(daemon.pid())) == 1, 5, what="a session")
    s = connect(daemon.port)
    assert read_line(s).startswith("421 4.7.0 %s Too many connections" %
                                   HOST)
    s.close()
    held.close()


def test_term_is_graceful(daemon):
    p = daemon.foreground()
    s = connect(daemon.port)
    assert read_line(s).startswith("220 ")
    kids = sessions(p.pid)
    assert len(kids) == 1, kids
    kid = kids[0]
    runner = wait_for(lambda: runner_of(p.pid), 10, what="the runner")[0]
    p.send_signal(signal.SIGTERM)
    wait_for(lambda: refused(daemon.port), 5, what="listener closed")
    wait_for(lambda: not os.path.exists(daemon.pidfile), 5,
             what="pidfile removed")
    # The session in progress may finish; the master waits for it.
    assert p.poll() is None and alive(kid)
    s.sendall(b"QUIT\r\n")
    assert read_line(s).startswith("221 ")
    s.close()
    assert p.wait(timeout=5) == 0
    assert not alive(kid)
    assert not alive(runner)  # stopped with the master, not orphaned


def test_second_term_ends_sessions_now(daemon):
    p = daemon.foreground()
    s = connect(daemon.port)
    assert read_line(s).startswith("220 ")
    p.send_signal(signal.SIGTERM)
    daemon.expect_log(p, r"stopping: 1 sessions to finish")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=5) == 0
    assert s.recv(100) == b""
    s.close()


def test_hup_reload_keeps_old_config_when_bad(daemon):
    """A bad file changes nothing: it names another hostname, listen
    address and smarthost than the good one, and after the failed reload
    the greeting, the listeners, the title and the runner (same process,
    mail to the old smarthost) are all the old ones."""
    good, bad = Sink(name="good").start(), Sink(name="bad").start()
    try:
        write_conf(daemon.root, conf(daemon.port, smarthost=good.nexthop,
                                     retry="1s, 2s"))
        p = daemon.foreground()
        runner = runner_of(p.pid)
        assert len(runner) == 1, runner
        new = free_port()
        text = conf(new, smarthost=bad.nexthop, retry="1s, 2s").replace(
            "hostname = %s" % HOST, "hostname = bad.example.org")
        text += "max_children = lots\n"
        write_conf(daemon.root, text)
        p.send_signal(signal.SIGHUP)
        line = daemon.expect_log(p, r"reload failed")
        assert re.match(r"relayd: reload failed: /etc/mail/relayd\.conf:6: "
                        r"max_children: .+; keeping the old configuration"
                        r"\n$", line), line
        s = connect(daemon.port)
        assert read_line(s) == "220 %s ESMTP relayd\r\n" % HOST
        s.close()
        assert refused(new)
        assert cmdline(p.pid) == "relayd: accepting connections on " \
            "127.0.0.1:%d" % daemon.port
        assert runner_of(p.pid) == runner
        c = Client(daemon.port)
        try:
            c.expect(220, r"^220 %s ESMTP relayd$" % re.escape(HOST))
            c.ehlo()
            qid = send_message(c, "a@example.com", ["b@example.org"],
                               b"Subject: after a bad reload\r\n\r\nhi\r\n")
            c.cmd("QUIT")
        finally:
            c.close()
        got = good.wait(1, timeout=15)
        assert [r.queue_id() for r in got] == [qid], got
        assert bad.received == [] and bad.rcpt_log == [], bad.received
        assert runner_of(p.pid) == runner
        assert p.poll() is None
    finally:
        good.stop()
        bad.stop()


def test_hup_rebinds_changed_listeners(daemon):
    p = daemon.foreground()
    new = free_port()
    write_conf(daemon.root, conf(new))
    p.send_signal(signal.SIGHUP)
    daemon.expect_log(p, r"configuration reloaded")
    assert refused(daemon.port)
    s = connect(new)
    assert read_line(s).startswith("220 ")
    s.close()
    assert cmdline(p.pid) == "relayd: accepting connections on " \
        "127.0.0.1:%d" % new


def test_hup_with_port_in_use_keeps_old_listener(daemon):
    p = daemon.foreground()
    new = free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", new))
        busy.listen(1)
        write_conf(daemon.root, conf(new))
        p.send_signal(signal.SIGHUP)
        line = daemon.expect_log(p, r"reload failed")
        assert "cannot listen on 127.0.0.1:%d: bind: Address already in " \
            "use; keeping the old configuration" % new in line, line
    s = connect(daemon.port)
    assert read_line(s).startswith("220 ")
    s.close()


def test_usage_errors():
    r = run_relayctl("status", "--bogus")
    assert r.rc == 64, r
    r = run_relayctl("start", "extra")
    assert r.rc == 64, r
    cp = subprocess.run([relayd_path(), "-x"], capture_output=True,
                        text=True)
    assert cp.returncode == 64
    assert cp.stderr == ("relayd: unknown option '-x'\n"
                         "usage: relayd [-f] [-c FILE] [--root DIR]\n")
