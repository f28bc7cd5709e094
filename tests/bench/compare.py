"""relayd beside Postfix, one pipeline each, same machine, same run.

    smtp-source -> relay (relayd | Postfix) -> smtp-sink

Both relays run with their default settings but for what makes them a
relay on loopback: relayd from `relayctl setup` on a fixture root with a
smarthost; Postfix as a private instance (`postfix -c DIR`) with a
relayhost, mynetworks 127.0.0.0/8 and no chroot.  For each load (sessions
x message size) and each of --runs alternating runs it measures:

  accepted msg/s   messages / time smtp-source took
  delivered msg/s  messages / time until the relay's queue was empty and
                   the sink had them all
  CPU ms/msg       user+system time of the relay's whole process tree
  p50/p99 ms       end of DATA to the 250 reply, on one session of
                   --latency messages (a separate phase)
  RSS KiB          the master's, and the largest SMTP server process seen
                   (relayd runs as deployed, `relayctl start`, a daemon
                   like Postfix's master; --foreground: relayd -f)

then prints a table of medians with the ratios relayd/Postfix and writes
every run as CSV.  --reuse sends many messages per connection
(smtp-source -d) instead of one.  --smoke runs relayd alone on a tiny load (ctest runs
it so this harness cannot rot); --no-postfix skips Postfix.

Needs root, a built tree (RELAY_BUILD_DIR), the peers of
tests/peers/get-postfix-tools and, unless --no-postfix, Debian's postfix
package installed (tests/bench/compare installs it with debconf's "No
configuration": no main.cf, no daemon).
"""

import argparse
import csv
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import fixtures  # noqa: E402
from harness import (descendants_of, free_port, peers_dir,  # noqa: E402
                     proc_status, run_relayctl)
from relayd_harness import Relay  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------ /proc

def cpu_ticks(pid):
    """utime+stime+cutime+cstime of pid, 0 if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return sum(int(x) for x in fields[11:15])


def tree_cpu_ms(pid):
    """CPU of pid and its live descendants; the dead ones are in their
    parents' cutime/cstime once reaped."""
    ticks = cpu_ticks(pid) + sum(cpu_ticks(p) for p in descendants_of(pid))
    return ticks * 1000.0 / CLK


def rss_kib(pid):
    try:
        return int(proc_status(pid).get("VmRSS", "0 kB").split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return 0


def title(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


# ------------------------------------------------------------ peers

def tool(name):
    d = peers_dir()
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(d, "usr/lib/postfix"))
    return os.path.join(d, "usr/sbin", name), env


class Sink:
    """smtp-sink on a loopback port; counts what it was given (-c)."""

    def __init__(self, workdir):
        self.port = free_port()
        path, env = tool("smtp-sink")
        self.out = open(os.path.join(workdir, "sink-%d.out" % self.port),
                        "w+b")
        self.p = subprocess.Popen(
            [path, "-c", "-u", "nobody", "127.0.0.1:%d" % self.port,
             "1000"],
            stdout=self.out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not listen")

    def count(self):
        """The last "mesg=N" of smtp-sink's running counter (-c)."""
        with open(self.out.name, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 200))
            data = f.read()
        i = data.rfind(b"mesg=")
        if i < 0:
            return 0
        digits = data[i + 5:].split(b"\r")[0].strip()
        return int(digits) if digits.isdigit() else 0

    def stop(self):
        self.p.terminate()
        self.p.wait(10)
        self.out.close()


# ------------------------------------------------------------ relays

class RelaydSide:
    name = "relayd"

    def __init__(self, workdir, sink_port, extra=None, foreground=False):
        self.root = tempfile.mkdtemp(prefix="bench-relayd-", dir=workdir)
        os.chmod(self.root, 0o755)
        fixtures.build("debian", self.root)
        r = run_relayctl("setup", "--root", self.root, timeout=600)
        if r.rc != 0:
            raise RuntimeError("relayctl setup: %s" % r)
        self.relay = Relay(self.root)
        # Defaults but for where mail goes and when it is retried.
        self.relay.configure(smarthost="[127.0.0.1]:%d" % sink_port,
                             **(extra or {}))
        self.foreground = foreground
        if foreground:
            self.relay.start_fg()
            self.master = self.relay.proc.pid
        else:
            # As deployed (systemd Type=forking), and as Postfix runs:
            # the master is the daemon relayd forks, whose RSS holds
            # only what it touches from then on.
            os.makedirs(os.path.join(self.root, "run"), exist_ok=True)
            r = self.relay.relayctl("start")
            if r.rc != 0:
                raise RuntimeError("relayctl start: %s" % r)
            self.master = self.relay.pidfile_pid()
        self.port = self.relay.port
        self.queue = os.path.join(self.root, "var/spool/mqueue/queue")

    def queued(self):
        return len(os.listdir(self.queue))

    def is_server(self, pid):
        # A pooled server between sessions is the same process (as
        # Postfix's smtpd waiting for its next connection).
        return title(pid).startswith(("relayd: server", "relayd: idle "
                                      "server"))

    def log_tail(self):
        if not self.foreground:
            return "(relayd logs to syslog; --foreground for its stderr)"
        return self.relay.stderr()[-3000:]

    def stop(self):
        self.relay.stop()
        shutil.rmtree(self.relay.logdir, ignore_errors=True)


POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{sink}
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
"""


class PostfixSide:
    name = "postfix"

    def __init__(self, workdir, sink_port):
        if not os.path.exists("/usr/sbin/postfix"):
            raise RuntimeError("postfix is not installed (tests/bench/"
                               "compare installs it)")
        self.d = tempfile.mkdtemp(prefix="bench-postfix-", dir=workdir)
        os.chmod(self.d, 0o755)
        self.port = free_port()
        etc = os.path.join(self.d, "etc")
        os.makedirs(etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN.format(d=self.d, sink=sink_port))
        with open("/usr/share/postfix/master.cf.dist") as f:
            master = f.read()
        out = []
        for line in master.splitlines():
            cols = line.split()
            if cols[:2] == ["smtp", "inet"]:
                cols[0] = "127.0.0.1:%d" % self.port
            if len(cols) >= 8 and not line.startswith(("#", " ", "\t")):
                cols[4] = "n"  # no chroot: nothing copied into the spool
                line = " ".join(cols)
            out.append(line)
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.write("\n".join(out) + "\n")
        for sub in ("spool", "data"):
            os.makedirs(os.path.join(self.d, sub), exist_ok=True)
        shutil.chown(os.path.join(self.d, "data"), "postfix")
        self.pf(["check"])
        self.pf(["start"])
        pidfile = os.path.join(self.d, "spool/pid/master.pid")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with open(pidfile) as f:
                    self.master = int(f.read().split()[0])
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                break
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)
        else:
            raise RuntimeError("postfix did not start: %s"
                               % self.log_tail())

    def pf(self, args):
        cp = subprocess.run(["/usr/sbin/postfix", "-c",
                             os.path.join(self.d, "etc")] + args,
                            capture_output=True, text=True, timeout=60)
        if cp.returncode != 0:
            raise RuntimeError("postfix %s: %s%s" % (args, cp.stdout,
                                                    cp.stderr))

    def queued(self):
        n = 0
        for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.d, "spool", sub)):
                n += len(files)
        return n

    def is_server(self, pid):
        return title(pid).startswith("smtpd")

    def log_tail(self):
        try:
            with open(os.path.join(self.d, "maillog"), errors="replace") as f:
                return f.read()[-3000:]
        except OSError as e:
            return str(e)

    def stop(self):
        try:
            self.pf(["stop"])
        finally:
            time.sleep(1)
            shutil.rmtree(self.d, ignore_errors=True)


# ------------------------------------------------------------ one run

def source(port, sessions, messages, size, errfile, reuse=False):
    """smtp-source started (its stderr into errfile); returns the Popen.
    reuse: each session sends message after message on one connection
    (smtp-source -d), instead of one message per connection."""
    path, env = tool("smtp-source")
    return subprocess.Popen(
        [path, "-s", str(sessions), "-m", str(messages), "-l", str(size),
         "-f", "bench@source.test", "-t", "sink@dest.test",
         "-M", "source.test"] + (["-d"] if reuse else []) +
        ["127.0.0.1:%d" % port],
        stdout=subprocess.DEVNULL, stderr=errfile, env=env)


def sample_servers(side, peak):
    for p in descendants_of(side.master):
        if side.is_server(p):
            peak[0] = max(peak[0], rss_kib(p))


def run_load(side, sink, sessions, messages, size, timeout, reuse=False):
    """One run; returns a dict of figures.  The SMTP servers' RSS is
    sampled all along."""
    base = sink.count()
    cpu0 = tree_cpu_ms(side.master)
    peak = [0]
    errs = tempfile.TemporaryFile()
    t0 = time.monotonic()
    deadline = t0 + timeout
    p = source(side.port, sessions, messages, size, errs, reuse)
    took = None
    while time.monotonic() < deadline:
        sample_servers(side, peak)
        if took is None and p.poll() is not None:
            took = time.monotonic() - t0
            if p.returncode != 0:
                errs.seek(0)
                raise RuntimeError("smtp-source: %s"
                                   % errs.read()[-2000:].decode())
        if (took is not None and sink.count() - base >= messages and
                side.queued() == 0):
            break
        time.sleep(0.1)  # sampling /proc costs CPU the relays share
    else:
        p.kill()
        raise RuntimeError("%s: %d of %d delivered in %ds (%d queued); %s"
                           % (side.name, sink.count() - base, messages,
                              timeout, side.queued(), side.log_tail()))
    done = time.monotonic() - t0
    cpu = tree_cpu_ms(side.master) - cpu0
    errs.seek(0)
    refused = errs.read().count(b" 421 ")
    return {"relay": side.name, "sessions": sessions, "size": size,
            "messages": messages,
            "accepted_per_s": messages / took,
            "delivered_per_s": messages / done,
            "cpu_ms_per_msg": cpu / messages,
            "master_rss_kib": rss_kib(side.master),
            "server_rss_kib": peak[0],
            "refused": refused}


def reply(f):
    while True:
        line = f.readline()
        if not line:
            raise RuntimeError("connection closed")
        if line[3:4] != b"-":
            return int(line[:3])


def latency(side, count, size):
    """ms from the end of DATA to the 250, count messages, one session."""
    s = socket.create_connection(("127.0.0.1", side.port), 30)
    # Else the client's own Nagle holds ".\r\n" behind the body until the
    # relay's delayed ACK (40 ms): that, not the relay, was the figure.
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    body = b"Subject: latency\r\n\r\n" + b"x" * max(size - 40, 1) + b"\r\n"
    out = []
    try:
        assert reply(f) == 220
        s.sendall(b"EHLO latency.test\r\n")
        assert reply(f) == 250
        for _ in range(count):
            s.sendall(b"MAIL FROM:<l@source.test>\r\n")
            assert reply(f) == 250
            s.sendall(b"RCPT TO:<sink@dest.test>\r\n")
            assert reply(f) == 250
            s.sendall(b"DATA\r\n")
            assert reply(f) == 354
            s.sendall(body)
            t0 = time.monotonic()
            s.sendall(b".\r\n")
            code = reply(f)
            out.append((time.monotonic() - t0) * 1000)
            assert code == 250, code
        s.sendall(b"QUIT\r\n")
    finally:
        s.close()
    out.sort()
    return (statistics.median(out),
            out[min(len(out) - 1, int(len(out) * 0.99))])


# ------------------------------------------------------------ table

COLS = [("delivered_per_s", "delivered msg/s", "%.0f"),
        ("accepted_per_s", "accepted msg/s", "%.0f"),
        ("cpu_ms_per_msg", "CPU ms/msg", "%.2f"),
        ("p50_ms", "p50 ms", "%.2f"),
        ("p99_ms", "p99 ms", "%.2f"),
        ("master_rss_kib", "master RSS KiB", "%d"),
        ("server_rss_kib", "server RSS KiB", "%d")]


def table(rows, sides):
    keys = sorted({(r["sessions"], r["size"]) for r in rows})
    lines = ["| sessions | size | what | " + " | ".join(sides) +
             (" | relayd/postfix |" if len(sides) == 2 else " |"),
             "|---|---|---|" + "---|" * (len(sides) +
                                         (1 if len(sides) == 2 else 0))]
    for k in keys:
        for col, label, fmt in COLS:
            med = {}
            for s in sides:
                vals = [r[col] for r in rows if r["relay"] == s and
                        (r["sessions"], r["size"]) == k and col in r]
                med[s] = statistics.median(vals) if vals else None
            cells = [fmt % med[s] if med[s] is not None else "-"
                     for s in sides]
            if len(sides) == 2:
                a, b = med[sides[0]], med[sides[1]]
                cells.append("%.2fx" % (a / b) if a and b else "-")
            lines.append("| %d | %d | %s | %s |" % (k[0], k[1], label,
                                                    " | ".join(cells)))
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--sessions", default="1,20,100")
    ap.add_argument("--sizes", default="1024")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--latency", type=int, default=500)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--csv", default="")
    ap.add_argument("--no-postfix", action="store_true")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--reuse", action="store_true",
                    help="many messages per connection (smtp-source -d)")
    ap.add_argument("--foreground", action="store_true",
                    help="run relayd -f (its log on stderr) instead of "
                    "as a daemon (relayctl start)")
    ap.add_argument("--relayd", action="append", default=[],
                    metavar="KEY=VALUE",
                    help="a relayd.conf key beside the defaults")
    a = ap.parse_args(argv)
    if a.smoke:
        a.messages, a.sessions, a.sizes, a.runs = 20, "2", "1024", 1
        a.latency, a.no_postfix, a.timeout = 10, True, 30
    workdir = tempfile.mkdtemp(prefix="relayd-bench-")
    os.chmod(workdir, 0o755)  # the postfix user walks into its spool
    sides, rows = [], []
    try:
        extra = dict(kv.split("=", 1) for kv in a.relayd)
        sink = Sink(workdir)
        sides.append((RelaydSide(workdir, sink.port, extra,
                                 a.foreground or a.smoke), sink))
        if not a.no_postfix:
            sink = Sink(workdir)
            sides.append((PostfixSide(workdir, sink.port), sink))
        for sessions in [int(x) for x in a.sessions.split(",")]:
            for size in [int(x) for x in a.sizes.split(",")]:
                for i in range(a.runs):
                    # Alternate who goes first, run by run.
                    order = sides if i % 2 == 0 else sides[::-1]
                    for side, sink in order:
                        r = run_load(side, sink, sessions, a.messages, size,
                                     a.timeout, a.reuse)
                        r["reuse"] = a.reuse
                        r["p50_ms"], r["p99_ms"] = latency(side, a.latency,
                                                           size)
                        r["run"] = i + 1
                        rows.append(r)
                        print("%s: %s" % (side.name, r), flush=True)
    finally:
        for side, sink in sides:
            for fn in (side.stop, sink.stop):
                try:
                    fn()
                except Exception as e:  # report, keep cleaning
                    print("cleanup: %s" % e, file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    names = [s.name for s, _ in sides]
    print()
    print(table(rows, names))
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=sorted(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if a.smoke:
        bad = [r for r in rows if r["delivered_per_s"] <= 0 or r["refused"]]
        return 1 if bad or not rows else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
