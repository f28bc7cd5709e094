"""relayd's memory over many messages: does anything grow?

    smtp-source -> relayd (as deployed, relayctl start) -> smtp-sink

Sends --messages in --rounds equal rounds (smtp-source -s --sessions,
one message per connection) and after each round, once the queue is
empty, samples VmRSS of the master, the queue runner and the largest SMTP
server and delivery worker alive, and the number of open fds of the
master and the runner.  Prints one row per round and, at the end, the
growth from the first round to the last (the first round is the warm-up:
pools filled, libraries touched).  Not run by ctest; see RESULTS.md.

    bash tests/bench/soak --messages 100000 --rounds 10
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from compare import (RelaydSide, Sink, descendants_of, rss_kib,  # noqa: E402
                     source, title)


def fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except (FileNotFoundError, ProcessLookupError):
        return 0


def sample(side):
    """{what: KiB or count} for the relay's processes now."""
    kids = descendants_of(side.master)
    runner = [p for p in kids if title(p).startswith("relayd: queue runner")]
    servers = [rss_kib(p) for p in kids
               if title(p).startswith(("relayd: server", "relayd: idle "
                                       "server"))]
    workers = [rss_kib(p) for p in kids
               if title(p).startswith(("relayd: deliver ", "relayd: idle "
                                       "delivery"))]
    return {"master_kib": rss_kib(side.master),
            "runner_kib": rss_kib(runner[0]) if runner else 0,
            "server_kib": max(servers or [0]),
            "worker_kib": max(workers or [0]),
            "master_fds": fds(side.master),
            "runner_fds": fds(runner[0]) if runner else 0}


def round_trip(side, sink, sessions, n, size, timeout):
    base = sink.count()
    with tempfile.TemporaryFile() as errs:
        p = source(side.port, sessions, n, size, errs)
        if p.wait(timeout) != 0:
            errs.seek(0)
            raise RuntimeError("smtp-source: %s" % errs.read()[-2000:])
    deadline = time.monotonic() + timeout
    while sink.count() - base < n or side.queued() > 0:
        if time.monotonic() > deadline:
            raise RuntimeError("%d of %d delivered" % (sink.count() - base,
                                                       n))
        time.sleep(0.1)


COLS = ("master_kib", "runner_kib", "server_kib", "worker_kib",
        "master_fds", "runner_fds")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--timeout", type=int, default=1800)
    a = ap.parse_args(argv)
    workdir = tempfile.mkdtemp(prefix="relayd-soak-")
    os.chmod(workdir, 0o755)
    side = sink = None
    rows = []
    try:
        sink = Sink(workdir)
        side = RelaydSide(workdir, sink.port)
        per = a.messages // a.rounds
        print("| round | messages | " + " | ".join(COLS) + " |")
        print("|---" * (len(COLS) + 2) + "|")
        for i in range(a.rounds):
            t0 = time.monotonic()
            round_trip(side, sink, a.sessions, per, a.size, a.timeout)
            s = sample(side)
            rows.append(s)
            print("| %d | %d | %s | (%.0f s)" % (
                i + 1, per * (i + 1), " | ".join(str(s[c]) for c in COLS),
                time.monotonic() - t0), flush=True)
    finally:
        for x in (side, sink):
            if x is not None:
                x.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if len(rows) >= 2:
        print("\ngrowth from round 1 to round %d: %s" % (len(rows), ", ".join(
            "%s %+d" % (c, rows[-1][c] - rows[0][c]) for c in COLS)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
