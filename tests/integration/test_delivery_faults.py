"""relayd delivery under faults: a next hop that is down for a while, the
queue runner and a delivery worker killed with SIGKILL in the middle of
their work, and hostile next hops (100 kB reply lines, 10 000
continuation lines, binary garbage, silence).  Nothing may be lost,
duplicates are allowed only for the one transaction in flight at a kill,
and relayd's master and runner survive with bounded memory."""

import collections
import os
import signal
import time

import pytest

from delivery_harness import (RUNNER_TITLE, WORKER_PREFIX,  # noqa: F401
                              alive, configure, delivery_logs, envelope,
                              free_port, inject, mem_kb, peers, queue_id_of,
                              pid_of_client, proc_title, relay, runner_pid,
                              wait_for, wait_log, wait_queue_empty,
                              wait_runner, workers_of)
from harness import queue_file_bytes
from relayd_harness import proc_stat

MEM_LIMIT_KB = 64 * 1024


def settle(relay, timeout=20.0):
    wait_queue_empty(relay, timeout)
    wait_for(lambda: not workers_of(relay.master_pid()), timeout, step=0.05,
             what="delivery workers to finish")
    assert relay.queue_ids() == []


def copies(sink):
    """{queue id: number of accepted copies}."""
    return collections.Counter(r.queue_id() for r in sink.accepted())


def test_sink_down_then_up_delivered_without_restart(relay, peers):
    port = free_port()
    configure(relay, smarthost="[127.0.0.1]:%d" % port, retry="1s, 2s")
    p = relay.start_fg()
    runner = wait_runner(relay)
    qid, msg = inject(relay, "alice@sender.test", ["bob@dest.test"],
                      subject="down")
    # Refused at least twice: the retry schedule works while it is down.
    wait_for(lambda: len([d for d in delivery_logs(relay, qid)
                          if d["status"] == "deferred"]) >= 2, 15,
             what="two deferrals")
    d = [d for d in delivery_logs(relay, qid)][0]
    assert d["dsn"].startswith("4."), d
    env = envelope(relay, qid)
    assert env is not None and int(env["attempts"]) >= 1, env
    assert env["rcpts"][0]["state"] == "pending", env
    sink = peers.sink(port=port)
    got = sink.wait(1, timeout=15, relay=relay)
    settle(relay)
    assert [r.queue_id() for r in got] == [qid]
    assert got[0].content.endswith(msg)
    assert len(sink.received) == 1
    # Same master, same runner: no restart was needed.
    assert p.poll() is None and relay.master_pid() == p.pid
    assert runner_pid(relay) == runner
    assert delivery_logs(relay, qid)[-1]["status"] == "sent"


def stalled_sink(peers):
    sink = peers.sink()
    sink.stall_data = True
    return sink


def test_runner_killed_nothing_lost(relay, peers):
    sink = stalled_sink(peers)
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    p = relay.start_fg()
    old = wait_runner(relay)
    ids = [inject(relay, "alice@sender.test", ["r%d@dest.test" % i],
                  subject="runner%d" % i)[0] for i in range(3)]
    wait_for(lambda: sink.stalled, 15, what="a transaction stalled in DATA")
    os.kill(old, signal.SIGKILL)
    # The transactions in flight at the kill: the only ones that may be
    # delivered twice.
    in_flight = sink.stalled_ids()
    # Mail that arrives while no runner lives is found by the next one.
    ids += [inject(relay, "alice@sender.test", ["s%d@dest.test" % i],
                   subject="norunner%d" % i)[0] for i in range(2)]
    new = wait_runner(relay, not_pid=old)
    assert new != old and proc_title(new) == RUNNER_TITLE
    sink.stall_data = False
    sink.release.set()
    wait_for(lambda: set(copies(sink)) >= set(ids), 30, step=0.05,
             what="every message at the sink")
    settle(relay)
    n = copies(sink)
    assert set(n) == set(ids), (n, ids)
    dups = {q: c for q, c in n.items() if c > 1}
    assert set(dups) <= in_flight and all(c == 2 for c in dups.values()), \
        (dups, in_flight)
    assert p.poll() is None


def test_runner_dies_with_a_killed_master(relay, peers):
    """kill -9 of the master takes the runner with it: a restarted relayd
    must never find a second runner working on the same queue."""
    sink = stalled_sink(peers)
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    p = relay.start_fg()
    master = p.pid
    runner = wait_runner(relay)
    assert proc_stat(runner)[0] == master
    os.kill(master, signal.SIGKILL)
    wait_for(lambda: not alive(runner), 5,
             what="the runner to exit after its master died")


def test_worker_killed_mid_data_nothing_lost(relay, peers):
    sink = stalled_sink(peers)
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    p = relay.start_fg()
    runner = wait_runner(relay)
    ids = [inject(relay, "alice@sender.test", ["w%d@dest.test" % i],
                  subject="worker%d" % i)[0] for i in range(4)]
    wait_for(lambda: sink.stalled, 15, what="a transaction stalled in DATA")
    with sink.lock:
        peer, content = sink.stalled[0]
    victim_id = queue_id_of(content)
    assert victim_id in ids, content[:300]
    pid = pid_of_client(peer[1], p.pid)
    assert pid is not None, "no process holds %r" % (peer,)
    title = proc_title(pid)
    assert title.startswith(WORKER_PREFIX), title
    assert alive(runner)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 5, what="the worker to die")
    # Whatever other workers had stalled goes on normally.
    sink.stall_data = False
    sink.release.set()
    wait_for(lambda: set(copies(sink)) >= set(ids), 30, step=0.05,
             what="every message at the sink")
    settle(relay)
    n = copies(sink)
    assert set(n) == set(ids), (n, ids)
    dups = {q: c for q, c in n.items() if c > 1}
    # Only the transaction in flight in the killed worker may repeat.
    assert set(dups) <= {victim_id} and all(c == 2 for c in dups.values()), \
        (dups, victim_id)
    # The runner survived its worker's death; no restart was needed.
    assert runner_pid(relay) == runner and p.poll() is None


BATCH_IDS = ["1K13M7DWXVW00BA1", "1K13M7DWXVW00BA2", "1K13M7DWXVW00BA3"]


def batch_message(qid):
    """A message as a session would have queued it: our Received: field
    names its queue id (what the sink's queue_id() reads)."""
    return ("Received: from client.test ([192.0.2.1])\r\n\tby relay.test "
            "(relayd) with ESMTP id %s;\r\n\tThu, 1 Jan 2026 00:00:00 "
            "+0000\r\nSubject: batch %s\r\n\r\nhello\r\n"
            % (qid, qid)).encode()


def test_worker_killed_after_first_of_batch_records_it(relay, peers):
    """Three messages due at once for one next hop are one worker's batch
    over one connection.  The worker is killed once the next hop has
    acknowledged the first and the second is in DATA: the first was
    recorded before the second began (its file is gone), so it is never
    sent again; the other two are delivered by the next worker."""
    sink = stalled_sink(peers)
    sink.stall_after = 1  # the first DATA is answered at once
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    now = int(time.time())
    for i, qid in enumerate(BATCH_IDS):
        relay.put_queue_file("queue", qid, queue_file_bytes(
            qid, batch_message(qid), sender="<alice@sender.test>",
            rcpts=[("<b%d@dest.test>" % i, "pending", [])], arrival=now))
    # Started after the files are in queue/: the start-up scan finds all
    # three due at once, and due messages for one hop share a worker.
    p = relay.start_fg()
    wait_for(lambda: sink.stalled, 15, what="a second transaction stalled "
             "in DATA")
    first = sink.accepted()
    assert [r.queue_id() for r in first] == BATCH_IDS[:1], first
    with sink.lock:
        peer, content = sink.stalled[0]
    assert queue_id_of(content) == BATCH_IDS[1], content[:300]
    assert peer == first[0].peer, "not one batch: %r, %r" % (peer, first)
    # Acknowledged, so recorded (removed) before the next message began.
    assert envelope(relay, BATCH_IDS[0]) is None, \
        envelope(relay, BATCH_IDS[0])
    for qid in BATCH_IDS[1:]:
        env = envelope(relay, qid)
        assert env is not None and env["rcpts"][0]["state"] == "pending", \
            (qid, env)
    pid = pid_of_client(peer[1], p.pid)
    assert pid is not None, "no process holds %r" % (peer,)
    assert proc_title(pid).startswith(WORKER_PREFIX), proc_title(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 5, what="the worker to die")
    sink.stall_data = False
    sink.release.set()
    wait_for(lambda: set(copies(sink)) >= set(BATCH_IDS), 30, step=0.05,
             what="every message at the sink")
    settle(relay)
    n = copies(sink)
    assert set(n) == set(BATCH_IDS), n
    # The first is never sent again; only the one in flight may repeat.
    assert n[BATCH_IDS[0]] == 1, n
    assert n[BATCH_IDS[1]] in (1, 2), n
    assert n[BATCH_IDS[2]] == 1, n
    assert p.poll() is None


# ------------------------------------------------------------ hostile

@pytest.mark.parametrize("mode", ["longline", "continuation", "garbage",
                                  "silent"])
def test_hostile_next_hop_defers_without_crash(relay, peers, mode):
    bad = peers.hostile(mode)
    # Small timeouts so that a silent server costs seconds, not minutes.
    configure(relay, smarthost=bad.nexthop, retry="1h, 2h",
              timeout_greeting="3s", timeout_command="3s",
              timeout_data_init="3s", timeout_data_block="3s",
              timeout_data_term="3s")
    p = relay.start_fg()
    runner = wait_runner(relay)
    t0 = time.monotonic()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"],
                    subject=mode)
    d = wait_log(relay, lambda d: d["id"] == qid, timeout=45,
                 what="the verdict on %s" % mode)
    elapsed = time.monotonic() - t0
    assert d["status"] == "deferred", d
    assert d["dsn"].startswith("4."), d
    # Each mode connected, so the log names the hop, never relay=none.
    assert "127.0.0.1" in d["relay"], d
    if mode == "silent":
        assert "timeout" in d["text"].lower() or "timed out" in \
            d["text"].lower(), d
    else:
        assert "protocol error" in d["text"].lower(), d
    assert elapsed < 40, elapsed
    # The message is still queued, its recipient pending, one attempt.
    wait_for(lambda: not workers_of(p.pid), 10, what="the worker to exit")
    env = envelope(relay, qid)
    assert env is not None, relay.all_stderr()
    assert env["rcpts"][0]["state"] == "pending", env
    assert int(env["attempts"]) == 1, env
    # No crash: master and runner alive, with their titles.
    assert p.poll() is None
    assert alive(runner) and proc_title(runner) == RUNNER_TITLE
    assert proc_title(p.pid).startswith("relayd: accepting connections")
    assert "Segmentation" not in relay.all_stderr()
    # Memory stayed bounded in the worker while it talked to us, and in
    # the runner afterwards.
    conns = [c for c in bad.conns if c["pid"] is not None]
    assert conns, bad.conns
    for c in conns:
        assert c["title"] and c["title"].startswith(WORKER_PREFIX), c
        assert 0 < c["hwm_kb"] < MEM_LIMIT_KB, c
    if mode != "silent":
        assert bad.conns[0]["sent"] > 0
    m = mem_kb(runner)
    assert m is not None and m[1] < MEM_LIMIT_KB, m
