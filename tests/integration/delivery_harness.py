"""Shared helpers for the relayd delivery tests (test_delivery*.py).

Real peers for the queue runner and its delivery workers:
- Sink: an aiosmtpd server in a thread on 127.0.0.x:PORT that records
  every envelope and message and can be told to answer 451 to the first
  DATA, 550 to chosen recipients, or to stall in DATA until released;
- SmtpSink: Postfix's smtp-sink (tests/peers) dumping each transaction;
- Hostile: a raw TCP next hop that sends 100 kB reply lines, 10 000
  continuation lines, binary garbage or nothing at all, and samples the
  memory of the delivery worker talking to it (/proc VmHWM);
- Dns: dnsmasq on 127.0.0.1:PORT with MX / A / raw (null MX) records;
- a private network namespace (so MX hosts can listen on 127.0.0.x:25).
The `peers` fixture stops every one of them, even when a test fails.
relayd itself is run with relayd_harness's `relay` fixture (relayd -f,
stderr captured, which is where the delivery log lines go).
"""

import asyncio
import ctypes
import email
import email.policy
import os
import random
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The shared helpers (harness.py, relayd_harness.py), importable from here.
from harness import (bind_retry, mem_kb, pick_seed,  # noqa: E402,F401
                     pid_of_client, procs_titled, read_envelope)
from relayd_harness import (HOSTNAME, QUEUED_RE,  # noqa: E402,F401
                            RUNNER_TITLE, WORKER_PREFIX, Client, alive,
                            all_pids, children_of, descendants_of,
                            dot_stuff, free_port, peer, proc_stat,
                            proc_status, proc_title, relay, send_message,
                            wait_for, workers_of)

from aiosmtpd.controller import Controller  # noqa: E402
from aiosmtpd.smtp import AuthResult  # noqa: E402

TRANSPORT = "etc/mail/transport"
# "relayd: ID: to=<rcpt>, relay=host[ip]:port, delay=1.2, dsn=2.0.0,
#  status=sent (250 2.0.0 Ok ...)"; a note may follow the status:
# "status=bounced, queue lifetime exceeded (...)"
LOG_RE = re.compile(
    r"^relayd: (?P<id>[0-9A-Z]{12,32}): to=(?P<to><[^>]*>), "
    r"relay=(?P<relay>[^,]*), delay=(?P<delay>[0-9.]+), "
    r"(?:delays=[^,]*, )?dsn=(?P<dsn>[245]\.\d{1,3}\.\d{1,3}), "
    r"status=(?P<status>sent|deferred|bounced)(?:, (?P<note>[^(]*))? "
    r"\((?P<text>.*)\)$")


# ------------------------------------------------------------ relay setup

def write_root_file(relay, rel, text, mode=0o640):
    """ROOT/rel as root:<relay group> 0640 (the /etc/mail layout)."""
    path = os.path.join(relay.root, rel)
    tmp = path + ".e2e"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, text.encode())
        os.fchown(fd, 0, relay.gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    return path


def configure(relay, transport=None, **kv):
    """relayd.conf for delivery tests: quick retries unless overridden;
    transport: {domain: nexthop} written to ROOT/etc/mail/transport."""
    settings = {"retry": "1s, 2s"}
    if transport is not None:
        write_root_file(relay, TRANSPORT, "# delivery tests\n" + "".join(
            "%s\t%s\n" % (d, nh) for d, nh in transport.items()))
        settings["transport"] = "/" + TRANSPORT
    settings.update(kv)
    relay.configure(**settings)


def inject(relay, sender, rcpts, subject="test", body=None, ehlo=None):
    """Submit one message to relayd over SMTP; returns (queue id, the
    message as submitted)."""
    tag = "%s-%d" % (subject, random.randrange(1 << 30))
    if body is None:
        body = "This is message %s.\r\n" % tag
    msg = ("From: <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@e2e.test>"
           "\r\n\r\n%s" % (sender or "mailer-daemon@e2e.test",
                           ", ".join("<%s>" % r for r in rcpts), subject,
                           tag, body)).encode()
    c = Client(relay.port)
    try:
        c.greet()
        c.ehlo(ehlo or "client.test")
        qid = send_message(c, sender, rcpts, msg)
        c.cmd("QUIT")
    finally:
        c.close()
    return qid, msg


def log_lines(relay):
    return relay.all_stderr().splitlines()


def delivery_logs(relay, qid=None):
    """Parsed delivery log lines (LOG_RE groupdicts), optionally of one
    queue id."""
    out = []
    for ln in log_lines(relay):
        m = LOG_RE.match(ln)
        if m and (qid is None or m.group("id") == qid):
            out.append(m.groupdict())
    return out


def wait_log(relay, pred, timeout=15.0, what="a log line"):
    """Wait for a delivery log entry satisfying pred; returns it."""
    def find():
        for d in delivery_logs(relay):
            if pred(d):
                return d
        return None
    try:
        return wait_for(find, timeout, step=0.05, what=what)
    except AssertionError as e:
        raise AssertionError("%s; relayd stderr:\n%s" % (e,
                                                         relay.all_stderr()))


def wait_log_text(relay, regex, timeout=15.0):
    rx = re.compile(regex)

    def find():
        for ln in log_lines(relay):
            if rx.search(ln):
                return ln
        return None
    try:
        return wait_for(find, timeout, step=0.05, what="log /%s/" % regex)
    except AssertionError as e:
        raise AssertionError("%s; relayd stderr:\n%s" % (e,
                                                         relay.all_stderr()))


def wait_queue_empty(relay, timeout=15.0):
    try:
        wait_for(lambda: relay.queue_ids() == [], timeout, step=0.05,
                 what="an empty queue")
    except AssertionError as e:
        raise AssertionError("%s: %r; relayd stderr:\n%s" % (
            e, relay.queue_ids(), relay.all_stderr()))


# ------------------------------------------------------------ queue files

def envelope(relay, qid, where="queue"):
    return read_envelope(relay.spool(where, qid))


# ------------------------------------------------------------ /proc

def runner_pid(relay):
    pids = procs_titled(RUNNER_TITLE, relay.master_pid())
    return pids[0] if len(pids) == 1 else None


def wait_runner(relay, timeout=10.0, not_pid=None):
    def find():
        p = runner_pid(relay)
        return p if p and p != not_pid else None
    return wait_for(find, timeout, step=0.05, what="the queue runner")


# ------------------------------------------------------------ aiosmtpd sink

def queue_id_of(content):
    """relayd's queue id from the Received: field on top of content (a
    DSN relayd made has none), or None."""
    m = re.match(rb"Received: [^;]*\(relayd\)\s+with E?SMTP id "
                 rb"([0-9A-Z]{12,32})", content)
    return m.group(1).decode() if m else None


class Received:
    """One DATA the sink answered: envelope, content, the reply given."""

    def __init__(self, mail_from, mail_options, rcpts, content, reply, peer):
        self.mail_from = mail_from
        self.mail_options = mail_options
        self.rcpts = rcpts
        self.content = content
        self.reply = reply
        self.peer = peer

    @property
    def accepted(self):
        return self.reply.startswith("250")

    def queue_id(self):
        return queue_id_of(self.content)

    def parse(self):
        return email.message_from_bytes(self.content)

    def __repr__(self):
        return "<%s -> %r %s: %r>" % (self.mail_from, self.rcpts, self.reply,
                                      self.content[:300])


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        s = self.sink
        with s.lock:
            s.rcpt_log.append(address)
            reply = s.rcpt_replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        s = self.sink
        peer = session.peer
        with s.lock:
            s.data_seen += 1
            n = s.data_seen
            stall = s.stall_data and n > s.stall_after
            if stall:
                s.stalled.append((peer, envelope.content))
        if stall:
            while not s.release.is_set():
                await asyncio.sleep(0.02)
        with s.lock:
            if s.data_replies:
                reply = s.data_replies.pop(0)
            else:
                reply = "250 2.0.0 Ok: queued as SINK%05d" % n
            s.received.append(Received(envelope.mail_from,
                                       list(envelope.mail_options),
                                       list(envelope.rcpt_tos),
                                       bytes(envelope.content), reply, peer))
        return reply


class Sink:
    """aiosmtpd on host:port in a thread.  rcpt_replies: {addr: reply}
    for RCPT; data_replies: replies for the first DATAs (then 250);
    stall_data: hold every DATA reply after the first stall_after ones
    until release is set.  Without a port it takes a free one (another
    if that one is taken before it binds).
    TLS and AUTH: tls="starttls" (offered, required before MAIL when
    users are set) or "implicit" (port 465 style) with cert=(cert, key);
    users={login: password} asks for AUTH (auth_require_tls: only over
    TLS, as a submission service); every attempt is recorded in logins as
    (mechanism, login, password, over TLS?, accepted?)."""

    def __init__(self, host="127.0.0.1", port=None, name="sink", tls=None,
                 cert=None, users=None, auth_require_tls=True,
                 mechanisms=None):
        self.tls = tls
        self.cert = cert
        self.users = users
        self.auth_require_tls = auth_require_tls
        self.mechanisms = mechanisms
        self.logins = []
        self.host = host
        self.fixed_port = port
        self.port = port or free_port()
        self.name = name
        self.lock = threading.Lock()
        self.received = []
        self.rcpt_log = []
        self.rcpt_replies = {}
        self.data_replies = []
        self.data_seen = 0
        self.stall_data = False
        self.stall_after = 0
        self.stalled = []
        self.release = threading.Event()
        self.controller = None

    def _authenticate(self, server, session, envelope, mechanism, data):
        tr = getattr(server, "transport", None)
        tls = bool(tr is not None and tr.get_extra_info("ssl_object"))
        login = data.login.decode(errors="replace")
        password = data.password.decode(errors="replace")
        ok = self.users.get(login) == password
        with self.lock:
            self.logins.append((mechanism, login, password, tls, ok))
        # handled=False: aiosmtpd answers 535 itself on a failure.
        return AuthResult(success=ok, handled=False)

    def _tls_kwargs(self):
        kw = {}
        if self.tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*self.cert)
            kw["ssl_context" if self.tls == "implicit"
               else "tls_context"] = ctx
        if self.users is not None:
            # aiosmtpd counts only STARTTLS as TLS: with implicit TLS
            # the whole session is encrypted anyway.
            kw.update(authenticator=self._authenticate,
                      auth_required=True,
                      auth_require_tls=(self.auth_require_tls and
                                        self.tls != "implicit"))
            if self.mechanisms is not None:
                kw["auth_exclude_mechanism"] = [
                    m for m in ("PLAIN", "LOGIN")
                    if m not in self.mechanisms]
        return kw

    def start(self):
        def bind(port):
            self.port = port
            c = Controller(_Handler(self), hostname=self.host, port=port,
                           ready_timeout=10,
                           server_hostname=self.name + ".test",
                           **self._tls_kwargs())
            c.start()
            self.controller = c
        bind_retry(bind, self.fixed_port, first=self.port)
        return self

    def stop(self):
        self.release.set()
        if self.controller is not None:
            try:
                self.controller.stop()
            except Exception:  # already stopped / loop gone
                pass
            self.controller = None

    @property
    def nexthop(self):
        return "[%s]:%d" % (self.host, self.port)

    def accepted(self):
        with self.lock:
            return [r for r in self.received if r.accepted]

    def stalled_ids(self):
        """Queue ids of the transactions stalled in DATA so far."""
        with self.lock:
            return {queue_id_of(c) for _, c in self.stalled}

    def wait(self, n, timeout=15.0, relay=None):
        """Wait until n messages were accepted; returns them."""
        try:
            wait_for(lambda: len(self.accepted()) >= n, timeout, step=0.05,
                     what="%d message(s) at %s" % (n, self.name))
        except AssertionError as e:
            extra = relay.all_stderr() if relay is not None else ""
            raise AssertionError("%s; got %r; relayd stderr:\n%s"
                                 % (e, self.received, extra))
        return self.accepted()


# ------------------------------------------------------------ smtp-sink

class SmtpSink:
    """Postfix smtp-sink on 127.0.0.1:port, one dump file per
    transaction (-d) in a directory nobody may write."""

    def __init__(self, port=None, extra=()):
        self.fixed_port = port
        self.port = port or free_port()
        self.extra = list(extra)
        self.dir = tempfile.mkdtemp(prefix="relayd-e2e-smtp-sink-")
        os.chown(self.dir, 65534, 65534)
        self.proc = None

    def start(self):
        for attempt in range(3):
            try:
                return self._start()
            except AssertionError as e:
                if (self.fixed_port or attempt == 2 or
                        "in use" not in str(e)):
                    raise
            self.port = free_port()
        raise AssertionError("unreachable")

    def _start(self):
        path, env = peer("smtp-sink")
        self.proc = subprocess.Popen(
            [path, "-u", "nobody", "-h", "smtp-sink.test"] + self.extra + [
             "-d",
             self.dir + "/%M.", "127.0.0.1:%d" % self.port, "10"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=env, start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("smtp-sink exited: %s"
                                     % self.proc.stderr.read())
            with socket.socket() as s:
                s.settimeout(1)
                return s.connect_ex(("127.0.0.1", self.port)) == 0
        wait_for(up, 10, step=0.05, what="smtp-sink to listen")
        return self

    @property
    def nexthop(self):
        return "[127.0.0.1]:%d" % self.port

    def dumps(self):
        """[(smtp-sink headers {name: [values]}, message bytes)] of the
        transactions dumped so far."""
        out = []
        for name in sorted(os.listdir(self.dir)):
            with open(os.path.join(self.dir, name), "rb") as f:
                data = f.read()
            hdrs, rest = {}, data
            # X-Client-Addr ... X-Rcpt-Args, then smtp-sink's Received.
            while rest.startswith(b"X-"):
                ln, _, rest = rest.partition(b"\n")
                k, _, v = ln.decode().partition(": ")
                hdrs.setdefault(k, []).append(v)
            if rest.startswith(b"Received: "):
                ln, _, rest = rest.partition(b"\n")
                while rest[:1] in (b" ", b"\t"):
                    ln, _, rest = rest.partition(b"\n")
            out.append((hdrs, rest))
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------ hostile peer

def _payload(mode):
    if mode == "longline":
        return b"220 " + b"A" * 100 * 1024 + b"\r\n"
    if mode == "continuation":
        return b"".join(b"220-line %05d of a reply that never ends\r\n" % i
                        for i in range(10000)) + b"220 ok\r\n"
    if mode == "garbage":
        rnd = random.Random(pick_seed(8794))
        return bytes(rnd.randrange(256) for _ in range(64 * 1024))
    if mode == "silent":
        return b""
    raise ValueError(mode)


class Hostile:
    """A next hop that answers the connection with a hostile greeting
    (see _payload) and then only reads.  For every connection it records
    the peak VmHWM (kB) of the client process while the connection was
    open (the delivery worker, found through /proc)."""

    def __init__(self, mode, host="127.0.0.1", port=None):
        self.mode = mode
        self.host = host
        self.fixed_port = port
        self.port = port or free_port()
        self.sock = None
        self.stop_ev = threading.Event()
        self.threads = []
        self.conns = []  # dicts: peer, pid, title, hwm_kb, rss_kb
        self.lock = threading.Lock()

    @property
    def nexthop(self):
        return "[%s]:%d" % (self.host, self.port)

    def start(self):
        def bind(port):
            s = socket.socket()
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((self.host, port))
            except OSError:
                s.close()
                raise
            self.port, self.sock = port, s
        bind_retry(bind, self.fixed_port, first=self.port)
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def _accept(self):
        while not self.stop_ev.is_set():
            try:
                c, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c, addr),
                                 daemon=True)
            t.start()
            self.threads.append(t)

    def _sample(self, rec):
        pid = rec["pid"]
        if pid is None:
            rec["pid"] = pid = pid_of_client(rec["peer"][1])
            if pid is not None:
                try:
                    rec["title"] = proc_title(pid)
                except OSError:
                    pass
        if pid is not None:
            m = mem_kb(pid)
            if m:
                rec["rss_kb"] = max(rec["rss_kb"], m[0])
                rec["hwm_kb"] = max(rec["hwm_kb"], m[1])

    def _serve(self, c, addr):
        rec = {"peer": addr, "pid": None, "title": None, "hwm_kb": 0,
               "rss_kb": 0, "sent": 0, "closed_by_peer": False}
        with self.lock:
            self.conns.append(rec)
        data = _payload(self.mode)
        c.settimeout(0.05)
        try:
            # Find the client process first (it waits for our greeting),
            # so even a worker that gives up after one read is measured.
            end = time.monotonic() + 2
            while rec["pid"] is None and time.monotonic() < end:
                self._sample(rec)
            while rec["sent"] < len(data) and not self.stop_ev.is_set():
                try:
                    rec["sent"] += c.send(data[rec["sent"]:
                                               rec["sent"] + 4096])
                except socket.timeout:
                    pass
                self._sample(rec)
            while not self.stop_ev.is_set():
                self._sample(rec)
                try:
                    if not c.recv(65536):
                        rec["closed_by_peer"] = True
                        break
                except socket.timeout:
                    continue
        except OSError:
            rec["closed_by_peer"] = True
        finally:
            c.close()

    def stop(self):
        self.stop_ev.set()
        if self.sock is not None:
            self.sock.close()
        for t in self.threads:
            t.join(timeout=5)


# ------------------------------------------------------------ dnsmasq

def dns_query(port, name, qtype, timeout=1.0):
    """One UDP query to 127.0.0.1:port; returns (rcode, ancount) or None
    on timeout."""
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(q, ("127.0.0.1", port))
        try:
            r = s.recv(4096)
        except socket.timeout:
            return None
    rid, flags, _, an = struct.unpack(">HHHH", r[:8])
    assert rid == qid
    return flags & 0xF, an


class Dns:
    """dnsmasq on 127.0.0.1:port answering only what it is told:
    mx [(domain, host, pref)], hosts [(name, ipv4)], null_mx [domain].
    It is authoritative for zone (--local): a known name without the
    asked type is NODATA (what implicit MX needs), an unknown one NXDOMAIN;
    names outside the zone are REFUSED."""

    def __init__(self, mx=(), hosts=(), null_mx=(), port=None, zone="test"):
        self.fixed_port = port
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="relayd-e2e-dns-")
        self.args = ["/usr/sbin/dnsmasq", "--no-daemon", "--port=%d"
                     % self.port, "--listen-address=127.0.0.1",
                     "--bind-interfaces", "--no-resolv", "--no-hosts",
                     "--conf-file=/dev/null", "--user=root", "--group=root",
                     "--pid-file=%s/dnsmasq.pid" % self.dir,
                     "--local=/%s/" % zone,
                     "--log-queries", "--log-facility=-"]
        for domain, host, pref in mx:
            self.args.append("--mx-host=%s,%s,%d" % (domain, host, pref))
        for name, ip in hosts:
            self.args.append("--host-record=%s,%s" % (name, ip))
        for domain in null_mx:
            # RFC 7505: one MX with preference 0 and the root as exchange.
            self.args.append("--dns-rr=%s,15,000000" % domain)
        self.proc = None
        self.log = os.path.join(self.dir, "log")
        self.probe = hosts[0][0] if hosts else None

    def start(self):
        for attempt in range(3):
            try:
                return self._start()
            except AssertionError as e:
                if (self.fixed_port or attempt == 2 or
                        "in use" not in str(e)):
                    raise
            old = "--port=%d" % self.port
            self.port = free_port()
            self.args[self.args.index(old)] = "--port=%d" % self.port
        raise AssertionError("unreachable")

    def _start(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log,
                                         start_new_session=True)

        def up():
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited: %s" % self.text())
            return dns_query(self.port, self.probe or "probe.test", 1,
                             timeout=0.2) is not None
        wait_for(up, 10, step=0.05, what="dnsmasq to answer")
        return self

    def text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    @property
    def resolver(self):
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


# ------------------------------------------------------------ netns

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: %s" % os.strerror(e))


class NetNS:
    """A private network namespace with lo up, held by a sleeping
    `unshare -n` process.  enter() moves this (main) thread into it:
    processes and threads started afterwards live there too, so relayd,
    the sinks (on 127.0.0.x:25) and dnsmasq share it.  leave() returns."""

    def __init__(self):
        self.holder = None
        self.orig = None

    def enter(self):
        self.holder = subprocess.Popen(
            ["unshare", "-n", "--", "sh", "-c",
             "ip link set lo up && echo up && exec sleep 3600"],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True)
        line = self.holder.stdout.readline()
        assert line == b"up\n", "unshare -n / ip link set lo up failed"
        nsfd = os.open("/proc/%d/ns/net" % self.holder.pid, os.O_RDONLY)
        self.orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        try:
            _setns(nsfd)
        finally:
            os.close(nsfd)
        return self

    def leave(self):
        if self.orig is not None:
            _setns(self.orig)
            os.close(self.orig)
            self.orig = None
        if self.holder is not None:
            os.killpg(self.holder.pid, signal.SIGKILL)
            self.holder.wait(timeout=10)
            self.holder = None


# ------------------------------------------------------------ fixture

class Peers:
    def __init__(self):
        self.items = []
        self.ns = None

    def add(self, p):
        self.items.append(p)
        return p.start()

    def sink(self, **kw):
        return self.add(Sink(**kw))

    def smtp_sink(self, **kw):
        return self.add(SmtpSink(**kw))

    def hostile(self, mode, **kw):
        return self.add(Hostile(mode, **kw))

    def dns(self, **kw):
        return self.add(Dns(**kw))

    def netns(self):
        self.ns = NetNS()
        self.ns.enter()
        return self.ns

    def close(self):
        for p in reversed(self.items):
            try:
                p.stop()
            except Exception as e:  # keep stopping the others
                sys.stderr.write("stopping %r: %r\n" % (p, e))
        if self.ns is not None:
            self.ns.leave()


@pytest.fixture
def peers(relay):
    """Sinks, hostile servers, dnsmasq and a netns, all stopped (and the
    namespace left) after the test.  relayd is stopped first (no retry
    storm against dead peers); the relay fixture's own stop afterwards
    finds nothing left."""
    p = Peers()
    try:
        yield p
    finally:
        try:
            relay.stop()
        finally:
            p.close()


# ------------------------------------------------------------ DSN

def parse_dsn(content):
    """Parse an RFC 3464 DSN; returns (message, per-message fields,
    [per-recipient field blocks], the returned headers/message part)."""
    msg = email.message_from_bytes(content, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report", msg.get_content_type()
    assert msg.get_param("report-type") == "delivery-status", msg.get_params()
    parts = msg.get_payload()
    assert isinstance(parts, list) and len(parts) >= 2, parts
    assert parts[0].get_content_maintype() == "text", parts[0]
    assert parts[1].get_content_type() == "message/delivery-status", \
        parts[1].get_content_type()
    blocks = parts[1].get_payload()
    assert isinstance(blocks, list) and len(blocks) >= 2, blocks
    returned = parts[2] if len(parts) > 2 else None
    return msg, blocks[0], blocks[1:], returned
