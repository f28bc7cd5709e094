"""relayd's server pool (max_use > 1): a child that has dropped to the
relay account serves one connection after another, each passed by the
master.  What must hold: the child is dropped before its first byte and
stays so; mail of a later session is queued like any other; the master's
per-client counts follow sessions, not processes (a session that ended in
a pooled child frees its client's slot); a child is let go after max_use
sessions, after max_idle seconds idle and on a reload (it holds the old
configuration); a pooled child killed mid-session costs that session only.
Mail is held (held_relay) so that what a session queued stays in queue/."""

import json
import os
import re
import signal
import threading
import time

import pytest

from relayd_harness import (NO_CAPS, Client, alive, children_of,
                            held_relay, runner_of, proc_status, proc_title,  # noqa: F401
                            idle_servers_of, send_message, sessions_of,
                            wait_for)

BODY = b"Subject: pooled\r\n\r\nhello\r\n"


@pytest.fixture
def relay(held_relay):  # noqa: F811 (the fixture, renamed)
    return held_relay


def one_session(master):
    kids = wait_for(lambda: sessions_of(master) or None, 10,
                    what="a session child")
    assert len(kids) == 1, kids
    return kids[0]


def assert_dropped(pid, relay):
    st = proc_status(pid)
    assert st["Uid"] == "\t".join([str(relay.uid)] * 4), st["Uid"]
    assert st["Gid"] == "\t".join([str(relay.gid)] * 4), st["Gid"]
    assert st["CapEff"] == NO_CAPS and st["CapPrm"] == NO_CAPS, st
    assert st["NoNewPrivs"] == "1"


def session(relay, name, mail=True):
    """One whole session; returns (server pid, queue id or None)."""
    c = relay.client(ehlo=name)
    pid = one_session(relay.proc.pid)
    assert re.match(r"^relayd: server %s \[127\.0\.0\.1\] " % re.escape(name),
                    proc_title(pid)), proc_title(pid)
    assert_dropped(pid, relay)
    qid = None
    if mail:
        qid = send_message(c, "a@client.test", ["b@dest.test"], BODY)
    c.send("QUIT\r\n")
    c.expect(221)
    assert c.eof()
    return pid, qid


def wait_idle(master, pid):
    wait_for(lambda: idle_servers_of(master) == [pid] or None, 10,
             what="server %d idle" % pid)
    assert sessions_of(master) == []


def gone(pid):
    return not alive(pid)


def test_one_child_serves_max_use_sessions_then_goes(relay):
    relay.configure(max_use=3, relay_domains="dest.test")
    p = relay.start_fg()
    master = p.pid
    first, q1 = session(relay, "one.test")
    wait_idle(master, first)
    assert_dropped(first, relay)  # idle, still the relay account
    # relayctl check finds an idle server as it should be: no runtime.*
    with open(os.path.join(relay.root, "run/relayd.pid"), "w") as f:
        f.write("%d\n" % master)  # -f: relayd may not write one
    # The delivery worker that tried q1 (no MX for dest.test) stays 2 s
    # for a next job; once it is gone: the runner and the idle server.
    runner = wait_for(lambda: (runner_of(master) or [None])[0], 10,
                      what="the queue runner")
    wait_for(lambda: children_of(runner) == [], 10,
             what="no delivery worker")
    r = relay.relayctl("check", "--json")
    doc = json.loads(r.out)
    assert [f for f in doc["findings"]
            if f["id"].startswith("runtime.")] == [], doc
    assert doc["running"] is True and doc["children"] == 2, doc
    second, q2 = session(relay, "two.test")
    wait_idle(master, second)
    third, q3 = session(relay, "three.test")
    assert first == second == third
    # Each session queued its own message, in full.
    ids = relay.queue_ids()
    assert sorted(ids) == sorted([q1, q2, q3])
    for qid, helo in ((q1, "one.test"), (q2, "two.test"),
                      (q3, "three.test")):
        q = relay.read_queue(qid)
        assert q["helo"] == helo, q
        assert q["message"].endswith(BODY), q["message"][-80:]
    # max_use reached: let go; the next session is a new child.
    wait_for(lambda: gone(first) or None, 10, what="server let go")
    fourth, _ = session(relay, "four.test", mail=False)
    assert fourth != first
    assert p.poll() is None


def test_per_client_limit_follows_sessions_not_processes(relay):
    relay.configure(max_use=10, max_per_ip=1, greet_pause="0s",
                    relay_from="127.0.0.5/32")
    p = relay.start_fg()
    master = p.pid
    a = relay.client(ehlo="a.test")
    pid = one_session(master)
    b = Client(relay.port)
    b.expect(421, r"Too many connections")
    b.close()
    a.send("QUIT\r\n")
    a.expect(221)
    assert a.eof()
    wait_idle(master, pid)
    # The slot is free again although the process lives on.
    c = relay.client(ehlo="c.test")
    assert one_session(master) == pid
    c.send("QUIT\r\n")
    c.expect(221)


def test_reload_lets_idle_children_go(relay):
    relay.configure(max_use=10)
    p = relay.start_fg()
    master = p.pid
    pid, _ = session(relay, "before.test", mail=False)
    wait_idle(master, pid)
    relay.configure(max_use=10, hostname="reloaded.test")
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: gone(pid) or None, 10, what="idle server let go")
    c = Client(relay.port)
    c.expect(220, r"^220 reloaded\.test ESMTP relayd$")
    c.send("QUIT\r\n")
    c.expect(221)
    c.close()


def test_idle_child_goes_after_max_idle(relay):
    relay.configure(max_use=10, max_idle="1s")
    p = relay.start_fg()
    pid, _ = session(relay, "idle.test", mail=False)
    wait_for(lambda: gone(pid) or None, 10, what="server gone after max_idle")
    assert p.poll() is None
    assert idle_servers_of(p.pid) == []


def test_pooled_child_killed_mid_session_costs_that_session(relay):
    relay.configure(max_use=10, max_children=1, relay_domains="dest.test")
    p = relay.start_fg()
    master = p.pid
    pid, q1 = session(relay, "first.test")
    wait_idle(master, pid)
    c = relay.client(ehlo="victim.test")
    assert one_session(master) == pid
    c.send("MAIL FROM:<a@client.test>\r\n")
    c.expect(250)
    os.kill(pid, signal.SIGKILL)
    assert c.eof()
    # max_children=1: the dead child's slot must be free again.
    wait_for(lambda: gone(pid) or None, 10, what="killed server reaped")
    pid2, q2 = session(relay, "after.test")
    assert pid2 != pid
    assert sorted(relay.queue_ids()) == sorted([q1, q2])
    assert p.poll() is None


def sockets_of(pid):
    out = set()
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, n))
        except FileNotFoundError:
            continue
        if t.startswith("socket:"):
            out.add(t)
    return out


def test_children_hold_no_socket_of_the_master(relay):
    """Two sessions at once: the second child is forked while the first
    is in the pool, yet holds none of the master's sockets (its end of
    the first child's pair, the listeners): only its connection and its
    own end of its pair."""
    relay.configure(max_use=10)
    p = relay.start_fg()
    master = p.pid
    a = relay.client(ehlo="a.test")
    first = one_session(master)
    b = relay.client(ehlo="b.test")
    kids = wait_for(lambda: len(sessions_of(master)) == 2 and
                    sessions_of(master) or None, 10, what="two sessions")
    second = [k for k in kids if k != first][0]
    mine = sockets_of(master)
    assert len(mine) >= 3, mine  # a listener and the two pairs' ends
    for kid in (first, second):
        held = sockets_of(kid)
        assert len(held) == 2, (kid, held)
        assert not held & mine, (kid, held & mine)
    for c in (a, b):
        c.send("QUIT\r\n")
        c.expect(221)


def test_quit_ends_the_session_for_the_master_before_221(relay):
    """A pooled server reports at QUIT, before its 221: a client that
    connects again at once is never refused for a session that has
    ended (max_children 1; the master's count must already be 0)."""
    relay.configure(max_use=100, max_children=1)
    p = relay.start_fg()
    seen = set()
    for i in range(40):
        c = Client(relay.port)
        c.greet()
        seen.update(sessions_of(p.pid))
        c.send("QUIT\r\n")
        c.expect(221)
        c.close()
    # One child served them all (max_use 100), and it is idle now.
    kids = wait_for(lambda: idle_servers_of(p.pid) or None, 10,
                    what="the server idle")
    assert len(kids) == 1 and sessions_of(p.pid) == [], kids
    assert seen == set(kids), (seen, kids)


def test_next_client_does_not_wait_for_the_lingering_close(relay):
    """After its 221 a server discards what its client still sends, for
    a while, before it closes (no reset over the 221).  A pooled server
    that has a next client waiting stops doing that at once: here the
    first client goes on trickling after the 221 and the second is
    greeted by the same process while it does (max_children 1)."""
    relay.configure(max_use=100, max_children=1)
    p = relay.start_fg()
    c1 = Client(relay.port)
    c1.greet()
    first = one_session(p.pid)
    c1.send("QUIT\r\n")
    c1.expect(221)
    stop = threading.Event()
    trickled = []

    def trickle():
        # A byte every 50 ms for up to 10 s keeps the lingering close
        # going for as long (it waits at most 1 s per read).
        end = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < end:
            try:
                c1.sock.send(b"x")
            except OSError:
                return  # closed by the server: done lingering
            trickled.append(time.monotonic())
            time.sleep(0.05)

    t = threading.Thread(target=trickle, daemon=True)
    t.start()
    try:
        wait_for(lambda: len(trickled) >= 3, 5, what="the trickle")
        c2 = Client(relay.port)
        c2.greet()
        # Greeted while the first client was still sending.
        assert t.is_alive(), "the trickle had ended before the greeting"
        assert sessions_of(p.pid) == [first]
        c2.send("QUIT\r\n")
        c2.expect(221)
        c2.close()
    finally:
        stop.set()
        t.join()
        c1.close()


def test_max_use_1_gives_each_connection_a_process_of_its_own(relay):
    """max_use = 1: the fork-per-connection model; a server ends with its
    session and never waits idle for another client."""
    relay.configure(max_use=1, relay_domains="dest.test")
    p = relay.start_fg()
    first, q1 = session(relay, "one.test")
    wait_for(lambda: gone(first) or None, 10, what="the first server gone")
    second, q2 = session(relay, "two.test")
    assert second != first
    wait_for(lambda: gone(second) or None, 10, what="the second server gone")
    assert idle_servers_of(p.pid) == []
    assert sorted(relay.queue_ids()) == sorted([q1, q2])
