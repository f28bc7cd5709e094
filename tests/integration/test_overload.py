"""relayd under load and abuse, end to end: connection churn that must
never be refused while the live sessions are within the limits, more
clients than max_children, slow clients, a per-client connection rate,
and connect/close cycles that must leak nothing in the master.  Real
relayd -f as root on a temporary root, real peers (Postfix's smtp-source,
raw sockets); mail is held (the smarthost refuses connections)."""

import os
import re
import socket
import subprocess
import time

import pytest

from relayd_harness import Client, held_relay, peer  # noqa: F401

# Connection churn: smtp-source with SESSIONS parallel sessions, one
# message per connection.  RELAY_CHURN_MESSAGES raises the count
# (tests/bench/churn runs 20 000).
SESSIONS = 20
CHURN_MESSAGES = int(os.environ.get("RELAY_CHURN_MESSAGES", "2000"))
LIMIT_RE = re.compile(r"refused .*\(max_")


@pytest.fixture
def relay(held_relay):  # noqa: F811 (the fixture, renamed)
    return held_relay


def limit_refusals(relay):
    return [ln for ln in relay.stderr().splitlines() if LIMIT_RE.search(ln)]


class SlowAccept:
    """strace attached to the master, every accept4() held for delay
    seconds after it returns: a master too busy to sleep in ppoll(), as
    a loaded one on a big machine is, with the window made wide enough
    to act in deterministically."""

    def __init__(self, pid, delay):
        self.p = subprocess.Popen(
            ["strace", "-p", str(pid), "-e", "trace=accept4",
             "-e", "inject=accept4:delay_exit=%d" % int(delay * 1e6),
             "-o", "/dev/null"],
            stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        assert "attached" in line, line

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=10)


def test_exited_sessions_do_not_count_against_the_limits(relay):
    """max_children sessions end while the master is busy accepting; the
    next clients must get 220, not 421 for children that have exited but
    were not reaped yet."""
    relay.configure(greet_pause=0, max_children=3, max_per_ip=3)
    p = relay.start_fg()
    held = [relay.client(ehlo=None) for _ in range(3)]
    tr = SlowAccept(p.pid, 1.0)
    try:
        time.sleep(0.3)  # the master is back in ppoll()
        x = Client(relay.port)  # the master now sits in accept4(x)
        relay.clients.append(x)
        time.sleep(0.2)
        for c in held:  # ... while the three sessions end
            c.send("QUIT\r\n")
            c.expect(221)
            assert c.eof()
            c.close()
        y = Client(relay.port)
        relay.clients.append(y)
        x.greet()
        y.greet()
    finally:
        tr.stop()
    assert limit_refusals(relay) == []


def smtp_source(relay, sessions, messages, timeout):
    source, env = peer("smtp-source")
    t0 = time.monotonic()
    cp = subprocess.run(
        [source, "-d", "-s", str(sessions), "-m", str(messages),
         "-M", "churn.test", "-f", "src@example.com",
         "-t", "dst@example.org", "-l", "200",
         "127.0.0.1:%d" % relay.port],
        capture_output=True, text=True, env=env, timeout=timeout)
    return cp, time.monotonic() - t0


def test_churn_is_never_refused_while_sessions_are_within_limits(relay):
    """20 sessions reconnecting for every message: ended sessions must
    not count against max_children or max_per_ip.  The limits leave room
    for one more session than the 20 live ones (one that has closed its
    socket but not exited yet), so two unreaped children trip them."""
    limit = SESSIONS + 1
    relay.configure(greet_pause=0, max_children=limit, max_per_ip=limit)
    relay.start_fg()
    cp, took = smtp_source(relay, SESSIONS, CHURN_MESSAGES, 600)
    print("churn: %d messages over %d sessions in %.1f s"
          % (CHURN_MESSAGES, SESSIONS, took))
    assert limit_refusals(relay) == []
    assert cp.returncode == 0, (cp.stdout, cp.stderr[-2000:])
    assert "421" not in cp.stderr, cp.stderr[-2000:]
    assert len(relay.queue_ids()) == CHURN_MESSAGES
