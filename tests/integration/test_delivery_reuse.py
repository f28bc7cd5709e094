"""Delivery workers that live across jobs: a worker keeps its connection
to a next hop open between jobs (RSET before the next transaction), goes
after RUNNER_IDLE_MS (2 s) without a job, and a connection the next hop
closed meanwhile costs a new connection, never a deferral; max_per_hop
workers at most send to one next hop at once (default 20)."""

import socket
import threading
import time

from delivery_harness import (configure, delivery_logs, inject,  # noqa: F401
                              peers, relay, wait_for, wait_log, wait_runner)
from relayd_harness import children_of, proc_title

IDLE_WORKER = "relayd: idle delivery to "


def workers(relay):
    """pid -> title of every process below the queue runner."""
    runner = [p for p in children_of(relay.master_pid())
              if proc_title(p).startswith("relayd: queue runner")]
    if not runner:
        return {}
    out = {}
    for p in children_of(runner[0]):
        try:
            out[p] = proc_title(p)
        except OSError:
            pass
    return out


def sent(relay, qid, timeout=15.0):
    return wait_log(relay, lambda d: d["id"] == qid and d["status"] == "sent",
                    timeout, what="status=sent for %s" % qid)


def test_one_worker_and_one_connection_carry_jobs_one_after_another(
        relay, peers):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    wait_runner(relay)
    ids, pids = [], set()
    for i in range(4):
        qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"],
                        subject="reuse%d" % i)
        ids.append(qid)
        sent(relay, qid)
        # Between jobs the worker waits, idle, with its connection open.
        wait_for(lambda: any(t.startswith(IDLE_WORKER)
                             for t in workers(relay).values()), 5,
                 step=0.02, what="an idle delivery worker")
        pids |= set(workers(relay))
    got = sink.wait(4, relay=relay)
    assert [r.queue_id() for r in got] == ids
    # One TCP connection (the relay's source address and port) and one
    # worker process for all four jobs.
    assert len({r.peer for r in got}) == 1, [r.peer for r in got]
    assert len(pids) == 1, pids
    assert [d["status"] for d in delivery_logs(relay)] == ["sent"] * 4


def test_idle_worker_goes_after_two_seconds(relay, peers):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    wait_runner(relay)
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    sent(relay, qid)
    wait_for(lambda: any(t.startswith(IDLE_WORKER)
                         for t in workers(relay).values()), 5, step=0.02,
             what="an idle delivery worker")
    idle_at = time.monotonic()
    wait_for(lambda: not workers(relay), 10, step=0.05,
             what="the idle worker to go")
    # Not before RUNNER_IDLE_MS (less the time it took to see it idle).
    assert time.monotonic() - idle_at >= 1.5
    # It went through the runner's EOF, not a signal: nothing logged.
    text = relay.all_stderr()
    assert "killed" not in text and "no next job" not in text, text


class DropAfterData:
    """A next hop that closes every connection right after its 250 for
    the end of DATA, as a server that drops idle clients would: a cached
    connection is then dead when the next job comes."""

    def __init__(self):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(8)
        self.port = self.s.getsockname()[1]
        self.lock = threading.Lock()
        self.connections = 0
        self.messages = []
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(c,),
                             daemon=True).start()

    def _serve(self, c):
        f = c.makefile("rb")
        try:
            c.sendall(b"220 drop.test ESMTP\r\n")
            for line in f:
                verb = line[:4].upper()
                if verb == b"DATA":
                    c.sendall(b"354 go on\r\n")
                    body = b"".join(iter(f.readline, b".\r\n"))
                    with self.lock:
                        self.messages.append(body)
                    c.sendall(b"250 2.0.0 Ok\r\n")
                    return
                if verb == b"QUIT":
                    c.sendall(b"221 2.0.0 Bye\r\n")
                    return
                c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            f.close()
            c.close()

    def close(self):
        self.s.close()


def test_connection_the_hop_closed_while_idle_costs_no_deferral(relay):
    hop = DropAfterData()
    try:
        # retry_min of an hour: a deferral would leave the message queued.
        configure(relay, smarthost="[127.0.0.1]:%d" % hop.port,
                  retry="1h, 2h")
        relay.start_fg()
        wait_runner(relay)
        first, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
        sent(relay, first)
        wait_for(lambda: any(t.startswith(IDLE_WORKER)
                             for t in workers(relay).values()), 5,
                 step=0.02, what="an idle delivery worker")
        second, _ = inject(relay, "alice@sender.test", ["carol@dest.test"])
        sent(relay, second, timeout=10)
        assert [d["status"] for d in delivery_logs(relay)] == ["sent"] * 2
        assert hop.connections == 2 and len(hop.messages) == 2
        assert relay.queue_ids() == []
    finally:
        relay.stop()
        hop.close()


def stalled_in_parallel(relay, sink, n):
    """Inject n messages one after another, each once the ones before it
    are in workers (a message that arrives while its hop is at the
    limit waits in the queue); returns how many DATAs the sink holds at
    once, a second after the last injection."""
    ids = []
    for i in range(n):
        qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"],
                        subject="par%d" % i)
        ids.append(qid)
        time.sleep(0.3)
    time.sleep(1)
    held = len(sink.stalled_ids())
    sink.release.set()
    sink.wait(n, relay=relay)
    return held, ids


def test_max_per_hop_caps_the_connections_to_one_hop(relay, peers):
    sink = peers.sink()
    sink.stall_data, sink.stall_after = True, 0
    configure(relay, smarthost=sink.nexthop, max_per_hop=2)
    relay.start_fg()
    wait_runner(relay)
    held, ids = stalled_in_parallel(relay, sink, 4)
    assert held == 2
    assert sorted(r.queue_id() for r in sink.accepted()) == sorted(ids)


def test_default_per_hop_is_postfix_concurrency_not_four(relay, peers):
    sink = peers.sink()
    sink.stall_data, sink.stall_after = True, 0
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    wait_runner(relay)
    held, ids = stalled_in_parallel(relay, sink, 6)
    assert held == 6
    assert sorted(r.queue_id() for r in sink.accepted()) == sorted(ids)
