"""Shared helpers for the relayd end-to-end tests (test_relayd_*.py).

A Relay is one throw-away installation: a Debian fixture root (conftest's
make_root), `relayctl setup --root ROOT`, our own ROOT/etc/mail/relayd.conf
(root:<relay group> 0640, listen on a free high port) and a relayd started
either with `relayctl start` (daemon) or as `relayd -f` (foreground, stderr
captured).  The `relay` fixture stops every daemon it started, kills what is
left of their process groups and removes the root, even when a test fails.

Also: a raw SMTP client that reads replies line by line, the master's
children by title, and `userns-exec`, a launcher that runs a command in
a new user namespace whose setgroups(2) is denied.  The /proc readers,
ports, the queue-file readers and waiting are harness.py's (and stay
importable from here).

The master has two kinds of children: one smtp session per connection
(title "relayd: server ...") and the permanent queue runner ("relayd:
queue runner", with its delivery workers below it).  sessions_of() and
runner_of() tell them apart by title.  Tests that look at queue files
use the `held_relay` fixture (or Relay.hold_mail()): its smarthost is a
port that refuses connections and retries are an hour apart, so every
message stays in queue/; the runner may have recorded one deferred
attempt by the time the test reads the file (check_delivery_state).

    /usr/bin/python3 relayd_harness.py userns-exec ARGV...
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest  # noqa: E402
# The shared helpers, importable from here as before.
from harness import (PATH_RE, QUEUE_ID_RE, alive,  # noqa: E402,F401
                     all_pids, bind_retry, children_of, descendants_of,
                     free_port, listening, parse_queue_file, peer,
                     peers_dir, proc_stat, proc_status, proc_title,
                     procs_titled, relay_env, relayd_path, split_path,
                     titled, traced_env, wait_for)

HOSTNAME = "relay.test"
SPOOL = "var/spool/mqueue"
CONF = "etc/mail/relayd.conf"
PIDFILE = "run/relayd.pid"
QUEUED_RE = re.compile(r"^250 2\.0\.0 Ok: queued as ([0-9A-Z]{12,32})$")
# KILL, SETGID, SETUID, NET_BIND_SERVICE, SYS_CHROOT
MASTER_CAPS = "00000000000404e0"
NO_CAPS = "0000000000000000"
SESSION_PREFIX = "relayd: server "
RUNNER_TITLE = "relayd: queue runner"
IDLE_TITLE = "relayd: idle server"
WORKER_PREFIX = "relayd: deliver "
HOLD_RETRY = "1h, 2h"
HOLD_RETRY_S = 3600
SANITIZER_RE = re.compile(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|"
                          r"runtime error: ")


# ------------------------------------------------------------ /proc

def sessions_of(master):
    """The master's smtp session children (not the queue runner)."""
    return titled(children_of(master), SESSION_PREFIX)


def idle_servers_of(master):
    """The master's pooled smtp children waiting for a connection."""
    return [p for p in titled(children_of(master), IDLE_TITLE)
            if proc_title(p) == IDLE_TITLE]


def runner_of(master):
    """The master's queue runner children (a list: [] or [pid])."""
    return [p for p in titled(children_of(master), RUNNER_TITLE)
            if proc_title(p) == RUNNER_TITLE]


def workers_of(master):
    """The delivery workers below master's queue runner."""
    return procs_titled(WORKER_PREFIX, master)


def is_relayd(pid):
    """pid runs relayd (its own title, or argv[0] before it set one)."""
    try:
        first = proc_title(pid).split(" ")[0]
    except OSError:
        return False
    return first == "relayd:" or os.path.basename(first) == "relayd"


# ------------------------------------------------------------ queue files

def split_received(message):
    """(our Received: field unfolded, the rest of the message)."""
    assert message.startswith(b"Received: "), message[:200]
    lines = message.split(b"\r\n")
    n = 1
    while n < len(lines) and lines[n][:1] in (b" ", b"\t"):
        n += 1
    field = b" ".join(x.strip() for x in lines[:n]).decode()
    rest = b"\r\n".join(lines[n:])
    return field, rest


SESSION_FIELDS = ("id", "arrival", "client", "helo", "trusted", "sender",
                  "sender_params", "rcpts", "size", "message")


def session_fields(q):
    """What the smtp session wrote and delivery never changes."""
    return {k: q[k] for k in SESSION_FIELDS}


def check_delivery_state(q, smarthost_port=None):
    """The delivery-state fields of a held message (see Relay.hold_mail):
    either as the session wrote them (attempts 0, next-try 0, no
    last-error) or after deferred attempts (every recipient still pending
    with a 4.x.x last-error naming the refusing smarthost, the next try an
    hour or more after the last attempt).  Returns the number of
    attempts."""
    assert all(r[1] == "pending" for r in q["rcpts"]), q["rcpts"]
    if q["attempts"] == 0:
        assert q["next_try"] == 0, q["next_try"]
        assert q["last_errors"] == [None] * len(q["rcpts"]), q["last_errors"]
        return 0
    assert q["next_try"] >= q["arrival"] + HOLD_RETRY_S, (
        q["arrival"], q["next_try"])
    for err in q["last_errors"]:
        assert err is not None and err[0].startswith("4."), q["last_errors"]
        if smarthost_port is not None:
            assert "127.0.0.1" in err[1] and str(smarthost_port) in err[1], \
                err
    return q["attempts"]


# ------------------------------------------------------------ SMTP client

class Client:
    """A raw SMTP client: bytes in, reply lines out, nothing hidden."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.timeout = timeout

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        """One reply line without CRLF, or None at EOF (or reset)."""
        while b"\r\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                if self.buf:
                    raise AssertionError("partial line before EOF: %r"
                                         % self.buf)
                return None
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", errors="replace")

    def reply(self):
        """(code, [lines]) of one (multi-line) reply; (None, []) at EOF."""
        lines = []
        while True:
            ln = self.line()
            if ln is None:
                assert not lines, "EOF inside a reply: %r" % lines
                return None, []
            assert re.match(r"^\d{3}[ -]", ln) or re.match(r"^\d{3}$", ln), \
                "not a reply line: %r" % ln
            lines.append(ln)
            if len(ln) == 3 or ln[3] == " ":
                return int(ln[:3]), lines

    def expect(self, code, pattern=None):
        c, lines = self.reply()
        assert c == code, "expected %d, got %r" % (code, lines)
        if pattern is not None:
            assert re.search(pattern, lines[-1]), (pattern, lines)
        return lines

    def greet(self):
        return self.expect(220, r"^220 %s ESMTP relayd$" % re.escape(
            HOSTNAME))

    def ehlo(self, name="client.test"):
        self.send("EHLO %s\r\n" % name)
        return self.expect(250)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def eof(self, timeout=5.0):
        """True if the server closes (no more data) within timeout."""
        self.sock.settimeout(timeout)
        try:
            ln = self.line()
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)
        assert ln is None, "expected EOF, got %r" % ln
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ------------------------------------------------------------ the relay

def passwd_ids(root, name="sendmail"):
    with open(os.path.join(root, "etc/passwd")) as f:
        for line in f:
            p = line.rstrip("\n").split(":")
            if p[0] == name:
                return int(p[2]), int(p[3])
    raise AssertionError("no %s account in %s/etc/passwd" % (name, root))


class Relay:
    def __init__(self, root):
        self.root = root
        self.port = free_port()
        self.uid, self.gid = passwd_ids(root)
        self.procs = []       # Popen objects we started
        self.masters = set()  # master pids ever seen
        self.logdir = tempfile.mkdtemp(prefix="relayd-e2e-log-")
        self.stderr_path = None
        self.proc = None
        self.conf_lines = []
        self.conf_kv = None
        self.fixed = {}          # settings every configure() keeps
        self.refuser = None      # bound, never listening: connect refused

    # -- configuration
    def conf_text(self, listen=None, **kv):
        settings = {
            "hostname": HOSTNAME,
            "listen": listen or "127.0.0.1:%d" % self.port,
            "run_as": "sendmail",
            "spool": "/" + SPOOL,
            "pidfile": "/" + PIDFILE,
            "timeout_command": "20s",
            "timeout_data_block": "20s",
        }
        # RELAY_TEST_CONF="max_use=100 ...": the whole suite on other
        # defaults (a test's own keys still win).
        for kv_env in os.environ.get("RELAY_TEST_CONF", "").split():
            k, _, v = kv_env.partition("=")
            settings[k] = v
        settings.update(self.fixed)
        settings.update({k: str(v) for k, v in kv.items()})
        return "[relayd]\n" + "".join("%s = %s\n" % (k, v)
                                      for k, v in settings.items())

    def configure(self, text=None, **kv):
        """Write ROOT/etc/mail/relayd.conf (root:relay group 0640)."""
        # What start_fg() rewrites with a new port if another test took
        # this one first: only a configuration made here from self.port.
        self.conf_kv = kv if text is None and "listen" not in kv else None
        if text is None:
            text = self.conf_text(**kv)
        self.conf_lines = text.split("\n")
        path = os.path.join(self.root, CONF)
        tmp = path + ".e2e"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                     os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, text.encode())
            os.fchown(fd, 0, self.gid)
            os.fchmod(fd, 0o640)
        finally:
            os.close(fd)
        os.rename(tmp, path)
        os.makedirs(os.path.join(self.root, "run"), mode=0o755, exist_ok=True)

    def hold_mail(self):
        """From now on every configuration keeps mail in queue/: the
        smarthost is a 127.0.0.1 port bound by us and never listening
        (connections are refused, nobody else can take it), and retries
        are an hour apart.  Rewrites relayd.conf; returns the port."""
        if self.refuser is None:
            self.refuser = socket.socket()
            self.refuser.bind(("127.0.0.1", 0))
        port = self.refuser.getsockname()[1]
        self.fixed = {"smarthost": "[127.0.0.1]:%d" % port,
                      "retry": HOLD_RETRY}
        self.configure()
        return port

    @property
    def smarthost_port(self):
        return self.refuser.getsockname()[1] if self.refuser else None

    # -- processes
    def spawn(self, argv, env=None, **kw):
        """Popen in a new session (its own process group), tracked."""
        self.stderr_path = os.path.join(self.logdir, "stderr.%d"
                                        % len(self.procs))
        err = open(self.stderr_path, "wb")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=err, stderr=err,
                                 start_new_session=True,
                                 env=env or conftest.relay_env(), **kw)
        finally:
            err.close()
        self.procs.append(p)
        return p

    def start_fg(self, wait=True, argv_prefix=(), extra=(), env=None):
        """relayd -f --root ROOT; returns the Popen.  With wait, returns
        only once the listener is up (seen in /proc, no connection); if
        the port was taken meanwhile (by a test running beside this one)
        it tries again on a new one."""
        for attempt in range(3):
            p = self.spawn(list(argv_prefix) + [relayd_path(), "-f",
                                                "--root", self.root] +
                           list(extra), env=env)
            self.proc = p
            if not wait:
                return p
            try:
                self.wait_listening(p)
                return p
            except AssertionError:
                if (attempt == 2 or self.conf_kv is None or
                        p.poll() is None or
                        "Address already in use" not in self.stderr()):
                    raise
            self.port = free_port()
            self.configure(**self.conf_kv)
        raise AssertionError("unreachable")

    def wait_listening(self, p, pid=None, timeout=10.0):
        def up():
            if p.poll() is not None:
                raise AssertionError("relayd exited with %r; stderr:\n%s"
                                     % (p.returncode, self.stderr()))
            return listening(self.port, pid or p.pid)
        wait_for(up, timeout, what="relayd to listen on %d" % self.port)
        self.masters.add(pid or p.pid)

    def stderr(self):
        if not self.stderr_path:
            return ""
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def all_stderr(self):
        out = []
        for name in sorted(os.listdir(self.logdir)):
            with open(os.path.join(self.logdir, name), "rb") as f:
                out.append(f.read().decode(errors="replace"))
        return "".join(out)

    def relayctl(self, *args, timeout=60):
        return conftest.run_relayctl(*args, "--root", self.root,
                                     timeout=timeout)

    def pidfile_pid(self):
        try:
            with open(os.path.join(self.root, PIDFILE)) as f:
                return int(f.read().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def master_pid(self):
        """The running master: the relayd we started, else (relayd under
        strace or a launcher, or started by relayctl) the pidfile's."""
        if self.proc is not None and self.proc.poll() is None and \
                is_relayd(self.proc.pid):
            return self.proc.pid
        return self.pidfile_pid()

    def children(self, master=None):
        return children_of(master or self.master_pid())

    def sessions(self, master=None):
        """The master's smtp session children."""
        return sessions_of(master or self.master_pid())

    def runner(self, master=None, timeout=10.0):
        """The master's queue runner (waits for it to be up)."""
        m = master or self.master_pid()
        return wait_for(lambda: (runner_of(m) or [None])[0], timeout,
                        what="the queue runner of %d" % m)

    def kill9_group(self, p=None):
        """SIGKILL relayd's whole process group (master and children)."""
        p = p or self.proc
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        def in_group(pid):
            st = proc_stat(pid)  # once: the process may exit meanwhile
            return st is not None and st[1] == p.pid
        wait_for(lambda: not any(in_group(pid) for pid in all_pids()),
                 5, what="process group %d to die" % p.pid)

    def stop(self):
        """SIGTERM every master we know, then SIGKILL what is left of
        their process groups and of our Popen sessions."""
        pids = set(self.masters)
        pf = self.pidfile_pid()
        if pf:
            pids.add(pf)
        for p in self.procs:
            if p.poll() is None:
                pids.add(p.pid)
        groups, ours = set(), os.getpgid(0)
        for pid in pids:
            st = proc_stat(pid)
            if st is None:
                continue
            try:
                tt = proc_title(pid)
            except OSError:
                continue
            if "relayd" not in tt and pid not in {p.pid for p in self.procs}:
                continue  # a recycled pid: not ours
            for d in descendants_of(pid):
                dst = proc_stat(d)
                if dst and dst[1] != ours:
                    groups.add(dst[1])
            if st[1] != ours:
                groups.add(st[1])
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        end = time.monotonic() + 3
        while time.monotonic() < end and any(alive(x) for x in pids):
            time.sleep(0.05)
        for p in self.procs:
            if p.poll() is None:
                groups.add(p.pid)
        for g in groups:
            if g == ours or g <= 1:
                continue
            try:
                os.killpg(g, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()

    # -- the spool
    def spool(self, *parts):
        return os.path.join(self.root, SPOOL, *parts)

    def queue_ids(self):
        return sorted(os.listdir(self.spool("queue")))

    def tmp_files(self):
        return sorted(os.listdir(self.spool("tmp")))

    def read_queue(self, qid):
        path = self.spool("queue", qid)
        st = os.lstat(path)
        with open(path, "rb") as f:
            q = parse_queue_file(f.read())
        q["st"] = st
        assert q["id"] == qid, (q["id"], qid)
        return q

    def put_queue_file(self, where, qid, data):
        """SPOOL/where/qid as the relay user, 0600 (as relayd writes
        it); data from harness.queue_file_bytes()."""
        path = self.spool(where, qid)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                     os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, self.uid, self.gid)
        finally:
            os.close(fd)
        return path

    def wait_deferred(self, ids=None, timeout=15.0):
        """Held mail (hold_mail): wait until the runner has recorded a
        deferred attempt for every message in queue/ (or for ids), so no
        worker is rewriting one any more (no tmp/ID.update left); returns
        {id: parsed file}."""
        def done():
            out = {}
            for qid in (ids if ids is not None else self.queue_ids()):
                q = self.read_queue(qid)
                if q["attempts"] < 1:
                    return None
                out[qid] = q
            return out
        try:
            return wait_for(done, timeout, step=0.05,
                            what="a deferred attempt for every queued "
                            "message")
        except AssertionError as e:
            raise AssertionError("%s; relayd said:\n%s"
                                 % (e, self.all_stderr())) from None

    def client(self, greet=True, ehlo="client.test"):
        c = Client(self.port)
        self.clients.append(c)
        if greet:
            c.greet()
        if ehlo:
            c.ehlo(ehlo)
        return c


def _relay(make_root, hold):
    root = make_root("debian")
    r = conftest.run_relayctl("setup", "--root", root)
    assert r.rc == 0, r
    rl = Relay(root)
    rl.clients = []
    rl.configure()
    try:
        if hold:
            rl.hold_mail()
        yield rl
    finally:
        for c in rl.clients:
            c.close()
        rl.stop()
        if rl.refuser is not None:
            rl.refuser.close()
        logs = rl.all_stderr()
        shutil.rmtree(rl.logdir, ignore_errors=True)
    # A sanitizer build (-DRELAY_SANITIZE=ON) reports memory errors on
    # stderr: that is a failure even if every reply was right.
    bad = [ln for ln in logs.splitlines() if SANITIZER_RE.search(ln)]
    assert not bad, "sanitizer report in relayd's stderr:\n" + logs


@pytest.fixture
def relay(make_root):
    """A set-up root with a Relay for it; relayd stopped and the root
    removed afterwards (make_root's finalizer runs after ours)."""
    yield from _relay(make_root, False)


@pytest.fixture
def held_relay(make_root):
    """Like relay, with Relay.hold_mail(): mail stays in queue/."""
    yield from _relay(make_root, True)


def send_message(c, sender, rcpts, body, expect_queued=True):
    """MAIL/RCPT/DATA on an open session; returns the queue id (or the
    final reply lines if not expect_queued).  body: bytes, CRLF lines,
    sent with dot-stuffing and the end marker."""
    c.send("MAIL FROM:<%s>\r\n" % sender)
    c.expect(250)
    for r in rcpts:
        c.send("RCPT TO:<%s>\r\n" % r)
        c.expect(250)
    c.send("DATA\r\n")
    c.expect(354)
    c.send(dot_stuff(body) + b".\r\n")
    code, lines = c.reply()
    if not expect_queued:
        return code, lines
    assert code == 250, lines
    m = QUEUED_RE.match(lines[-1])
    assert m, lines
    return m.group(1)


def dot_stuff(body):
    out = []
    for ln in body.split(b"\r\n"):
        out.append(b"." + ln if ln.startswith(b".") else ln)
    data = b"\r\n".join(out)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data


# ------------------------------------------------------------ user namespace

CLONE_NEWUSER = 0x10000000


def userns_exec(argv):
    """Run argv in a new user namespace that maps ids 0..65535 to
    themselves and denies setgroups(2): the program is root with every
    capability there, but no process in it may ever call setgroups."""
    r, w = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(w2)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWUSER) != 0:
            os.write(2, b"unshare: %s\n" % os.strerror(
                ctypes.get_errno()).encode())
            os._exit(1)
        os.write(w, b"u")
        os.close(w)
        if os.read(r2, 1) != b"g":
            os._exit(1)
        os.close(r2)
        os.execvp(argv[0], argv)
    os.close(w)
    os.close(r2)
    if os.read(r, 1) != b"u":
        os.waitpid(pid, 0)
        return 1
    with open("/proc/%d/setgroups" % pid, "w") as f:
        f.write("deny")
    with open("/proc/%d/uid_map" % pid, "w") as f:
        f.write("0 0 65536\n")
    with open("/proc/%d/gid_map" % pid, "w") as f:
        f.write("0 0 65536\n")
    os.write(w2, b"g")
    os.close(w2)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: os.kill(pid, s))
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status)


def main(argv):
    if len(argv) >= 3 and argv[1] == "userns-exec":
        return userns_exec(argv[2:])
    sys.stderr.write("usage: relayd_harness.py userns-exec ARGV...\n")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))

