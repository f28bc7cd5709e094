"""Delivery workers across stop, reload and kill: a worker asked to stop
finishes the reply it is waiting for (so the message is not sent again),
no worker outlives its runner (no orphans after a reload, none left by
stop), and a worker killed while the end of a message is still in its
send queue resets the connection, so the next hop never completes that
copy behind relayd's back."""

import os
import signal
import socket
import threading
import time

from delivery_harness import (WORKER_PREFIX, alive, configure,  # noqa: F401
                              inject, peers, pid_of_client, proc_title,
                              relay, wait_for, wait_queue_empty, wait_runner)
from relayd_harness import proc_stat

GRACE = 8  # relayd's WORKER_GRACE: seconds a stopped worker may finish


def stalled(peers):
    sink = peers.sink()
    sink.stall_data = True
    return sink


def worker_of(sink):
    with sink.lock:
        peer, _ = sink.stalled[0]
    pid = pid_of_client(peer[1])
    assert pid is not None, "no process holds %r" % (peer,)
    assert proc_title(pid).startswith(WORKER_PREFIX), proc_title(pid)
    return pid


def test_stop_lets_the_worker_read_its_final_reply(relay, peers):
    """TERM while the next hop holds its reply to the final dot: the worker
    waits for it, records the recipient as sent, and nothing is resent
    after a restart."""
    sink = stalled(peers)
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    p = relay.start_fg()
    wait_runner(relay)
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"],
                    subject="stop")
    wait_for(lambda: sink.stalled, 15, what="the transaction to stall")
    worker = worker_of(sink)
    p.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    # Told to stop, the worker is still there, waiting for the reply.
    assert alive(worker), relay.stderr()
    sink.release.set()
    p.wait(timeout=GRACE + 10)
    assert not alive(worker)
    assert relay.queue_ids() == [], relay.stderr()
    assert "status=sent" in relay.stderr(), relay.stderr()
    # Restarted, relayd has nothing to send again.
    relay.start_fg()
    time.sleep(2.0)
    assert len(sink.accepted()) == 1, sink.accepted()
    assert relay.queue_ids() == []


def test_reload_leaves_no_orphan_worker(relay, peers):
    """HUP while a worker is mid-transaction: the old runner keeps its
    worker (never reparented to init) until it finishes, and only then
    does the new runner start, so the per-hop limit holds."""
    sink = stalled(peers)
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    p = relay.start_fg()
    old = wait_runner(relay)
    inject(relay, "alice@sender.test", ["bob@dest.test"], subject="hup")
    wait_for(lambda: sink.stalled, 15, what="the transaction to stall")
    worker = worker_of(sink)
    p.send_signal(signal.SIGHUP)
    time.sleep(1.0)
    assert alive(worker)
    assert proc_stat(worker)[0] == old, "worker %d reparented" % worker
    assert alive(old), "the old runner left its worker behind"
    sink.release.set()
    new = wait_runner(relay, not_pid=old, timeout=GRACE + 10)
    assert new != old and not alive(worker)
    wait_queue_empty(relay)
    assert len(sink.accepted()) == 1
    assert p.poll() is None


def test_stop_after_reload_ends_every_worker(relay, peers):
    """A next hop that never answers: reload, then stop; when stop is done
    no delivery worker of ours is left, as orphan or otherwise."""
    sink = stalled(peers)
    configure(relay, smarthost=sink.nexthop, retry="1s, 2s")
    p = relay.start_fg()
    wait_runner(relay)
    inject(relay, "alice@sender.test", ["bob@dest.test"], subject="hung")
    wait_for(lambda: sink.stalled, 15, what="the transaction to stall")
    worker = worker_of(sink)
    p.send_signal(signal.SIGHUP)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=GRACE + 15)
    # Before relayd exits, its worker has (orphans used to stay behind).
    assert not alive(worker), "worker %d outlived relayd" % worker
    # The message was not lost: it waits in the queue for the next start.
    assert len(relay.queue_ids()) == 1


class SlowReader:
    """A next hop that answers up to 354, then reads a few kB of the
    message and stops reading until resume(); records whether the
    message's final dot ever arrived."""

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.paused = threading.Event()
        self.go = threading.Event()
        self.outcome = None  # "complete", "reset", "eof"
        self.peer = None
        self.t = threading.Thread(target=self.serve, daemon=True)
        self.t.start()

    def serve(self):
        c, self.peer = self.ls.accept()
        # A small receive buffer keeps most of the message on our side.
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        f = c.makefile("rb")
        c.sendall(b"220 slow.test ESMTP\r\n")
        while True:
            line = f.readline()
            if not line:
                self.outcome = "eof"
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                c.sendall(b"250-slow.test\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                c.sendall(b"354 go ahead\r\n")
                break
            else:
                c.sendall(b"250 ok\r\n")
        f.read(4096)
        self.paused.set()
        self.go.wait(60)
        tail = b""
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    self.outcome = "eof"
                    return
                tail = (tail + b)[-5:]
                if tail == b"\r\n.\r\n":
                    self.outcome = "complete"
                    return
        except ConnectionResetError:
            self.outcome = "reset"
        finally:
            c.close()

    def close(self):
        self.go.set()
        self.ls.close()


def test_killed_worker_resets_the_connection(relay, peers):
    """kill -9 of a worker whose message is still in its send queue: the
    kernel must not go on to deliver the rest and the final dot."""
    nh = SlowReader()
    try:
        configure(relay, smarthost="[127.0.0.1]:%d" % nh.port,
                  retry="1h, 2h")
        relay.start_fg()
        wait_runner(relay)
        body = ("x" * 998 + "\r\n") * 2048  # 2 MB, far beyond the buffers
        inject(relay, "alice@sender.test", ["bob@dest.test"],
               subject="reset", body=body)
        assert nh.paused.wait(20), "the worker never reached DATA"
        pid = wait_for(lambda: pid_of_client(nh.peer[1]), 5,
                       what="the worker's pid")
        assert proc_title(pid).startswith(WORKER_PREFIX)
        time.sleep(0.5)  # the worker is blocked on a full send queue
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not alive(pid), 5, what="the worker to die")
        nh.go.set()
        t0 = time.monotonic(); nh.t.join(60); print("JOIN", time.monotonic() - t0, nh.outcome, nh.t.is_alive())
        assert nh.outcome == "reset", nh.outcome
    finally:
        nh.close()
