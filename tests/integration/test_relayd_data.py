"""relayd end to end, message data on its way to disk and out again.

- memory: a 9 MiB message goes through a session whose peak RSS (VmHWM
  from /proc) grows by less than 2 MiB: DATA is written to the spool as it
  arrives, never held in memory; a 20 MiB message, deferred once (its
  file rewritten) and then delivered, costs the delivery worker no more
  memory either, and arrives byte-identical;
- long lines (defect: a line over 1000 octets used to cost the whole mail)
  are accepted, stored as sent and delivered to a real next hop (aiosmtpd)
  folded the way Postfix folds them; max_line_length still refuses;
- NUL octets are refused and leave nothing behind;
- faults on the enqueue path: a full spool (a 1 MiB tmpfs mounted over it,
  unmounted in teardown) and EIO injected with strace into the session's
  write, copy_file_range and fsync calls.  Mail answered 250 is on disk;
  every other message got a 4xx and left nothing in tmp/ or queue/;
- relayctl queue list reads envelopes only: a 1 GiB sparse file is refused
  and a 64 MiB message is listed, both without reading the body (RSS).
Every relay holds its mail (held_relay) unless the test delivers.
"""

import contextlib
import fcntl
import json
import os
import re
import subprocess
import time

import pytest

from delivery_harness import (configure, peers,  # noqa: F401 (fixture)
                              pid_of_client, proc_title, queue_id_of,
                              runner_pid, wait_queue_empty)
from harness import queue_file_bytes
from relayd_harness import (QUEUED_RE, dot_stuff, held_relay,  # noqa: F401
                            proc_status, relay, send_message, wait_for)
import conftest

MIB = 1 << 20


def hwm_kb(pid):
    return int(proc_status(pid)["VmHWM"].split()[0])


def sanitized(pid):
    """An ASan build maps shadow memory: only growth means anything."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def one_session(relay):
    return wait_for(lambda: (relay.sessions() or [None])[0], 5,
                    what="the session child")


def text_lines(n, width=78, ch=b"a"):
    """About n octets of CRLF lines."""
    line = ch * width + b"\r\n"
    return line * (n // len(line))


def start_data(c, sender="a@example.com", rcpt="b@example.org"):
    c.send("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (sender, rcpt))
    c.expect(250)
    c.expect(250)
    c.expect(354)


def end_data(c, body):
    """Send body (already dot-stuffed) and the end marker; the reply."""
    for off in range(0, len(body), 65536):
        c.send(body[off:off + 65536])
    c.send(b".\r\n")
    return c.reply()


def assert_clean(relay, queued):
    """tmp/ is empty and queue/ holds exactly the acknowledged ids, each a
    complete file (once the runner has recorded its deferred attempt: it
    rewrites a file through tmp/ID.update)."""
    if queued:
        relay.wait_deferred(queued)
    assert relay.tmp_files() == [], relay.tmp_files()
    assert relay.queue_ids() == sorted(queued), (relay.queue_ids(), queued)
    for qid in queued:
        relay.read_queue(qid)


# ------------------------------------------------------------ memory

def test_9mib_message_costs_the_session_no_memory(held_relay):
    relay = held_relay
    relay.configure(max_message_size="10M")
    relay.start_fg()
    c = relay.client()
    pid = one_session(relay)
    before = hwm_kb(pid)
    start_data(c)
    body = b"Subject: big\r\n\r\n" + text_lines(9 * MIB)
    code, lines = end_data(c, dot_stuff(body))
    assert code == 250, lines
    qid = QUEUED_RE.match(lines[-1]).group(1)
    after = hwm_kb(pid)
    # The old session kept the message in a doubling buffer: +16 MiB.
    print("session VmHWM kB: before %d, after 9 MiB %d" % (before, after))
    assert after - before < 2048, (before, after)
    if not sanitized(pid):
        assert after < 4096, after
    q = relay.read_queue(qid)
    assert q["message"].endswith(body), len(q["message"])
    c.cmd("QUIT")
    assert_clean(relay, [qid])


BIG_ID, SMALL_ID = "1K13M7DWXVW00B16", "1K13M7DWXVW00SM1"


def queued_message(qid, body):
    """A message as a session queues it (our Received: names the id)."""
    return ("Received: from client.test ([192.0.2.1])\r\n\tby relay.test "
            "(relayd) with ESMTP id %s;\r\n\tThu, 1 Jan 2026 00:00:00 "
            "+0000\r\nSubject: %s\r\n\r\n" % (qid, qid)).encode() + body


def worker_hwm(relay, peer_addr):
    """VmHWM (kB) of the delivery worker holding the connection from
    peer_addr, and the runner's VmRSS (the worker's start)."""
    pid = pid_of_client(peer_addr[1], relay.master_pid())
    assert pid is not None and proc_title(pid).startswith(
        "relayd: deliver "), pid
    return hwm_kb(pid), int(proc_status(runner_pid(relay))["VmRSS"].split()[0])


def test_20mib_message_costs_the_delivery_worker_no_memory(relay,  # noqa
                                                           peers):  # noqa
    """A delivery worker sends the message from its queue file a piece at
    a time.  A 20 MiB message and a small one are one worker's batch: the
    big one gets 451 (the worker rewrites its file, copying the message
    from the old one), then the small one waits in DATA, and the worker's
    peak RSS, which covers both, stays far below 20 MiB; so does the
    retry's.  The rewritten file's message and what arrives are
    byte-identical to what was queued."""
    sink = peers.sink()
    sink.data_replies = ["451 4.3.0 try again later"]
    sink.stall_data, sink.stall_after = True, 1  # the 451 comes at once
    configure(relay, smarthost=sink.nexthop, max_message_size="25M",
              retry="4s, 8s")
    # Dot lines all through: stuffed on the way, unstuffed by the sink.
    lines = [(b"." if i % 7 == 0 else b"") + b"%07d " % i + b"x" * 70
             for i in range(20 * MIB // 80)]
    big = queued_message(BIG_ID, b"\r\n".join(lines) + b"\r\n")
    small = queued_message(SMALL_ID, b"hello\r\n")
    now = int(time.time())
    for qid, msg in ((BIG_ID, big), (SMALL_ID, small)):
        relay.put_queue_file("queue", qid, queue_file_bytes(
            qid, msg, rcpts=[("<b@dest.test>", "pending", [])],
            arrival=now))
    relay.start_fg()  # the start-up scan: one batch, big one first
    wait_for(lambda: sink.stalled, 60, what="the small message in DATA")
    with sink.lock:
        peer_addr, content = sink.stalled[0]
    assert queue_id_of(content) == SMALL_ID, content[:300]
    assert [r.reply[:3] for r in sink.received] == ["451"], sink.received
    assert sink.received[0].peer == peer_addr, "not one batch"
    hwm = [worker_hwm(relay, peer_addr)]
    q = relay.read_queue(BIG_ID)
    assert q["attempts"] == 1 and q["message"] == big, (
        q["attempts"], len(q["message"]))
    sink.release.set()
    wait_for(lambda: len(sink.accepted()) == 1, 15, what="the small one")
    sink.release.clear()
    wait_for(lambda: len(sink.stalled) == 2, 60, what="the retry in DATA")
    with sink.lock:
        peer_addr, content = sink.stalled[1]
    assert queue_id_of(content) == BIG_ID, content[:300]
    hwm.append(worker_hwm(relay, peer_addr))
    sink.release.set()
    wait_queue_empty(relay, 60)
    got = [r for r in sink.accepted() if r.queue_id() == BIG_ID]
    assert len(got) == 1 and got[0].content == big, len(got)
    assert sink.received[0].content == big
    print("worker VmHWM kB, runner VmRSS kB: %r" % hwm)
    # Holding the message would take 20 MiB at least (the old reader:
    # twice that); a sanitizer build only adds its own overhead.
    for w, runner in hwm:
        assert w < runner + 8 * 1024, hwm


# ------------------------------------------------------------ long lines

def long_body():
    return (b"Subject: long lines\r\nX-Long: " + b"h" * 3000 + b"\r\n\r\n" +
            b"x" * 5000 + b"\r\n." + b"d" * 1500 + b"\r\n" + b"y" * 998 +
            b"\r\nshort\r\n")


def test_long_lines_accepted_stored_and_delivered_folded(relay,  # noqa: F811
                                                         peers):  # noqa: F811
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    body = long_body()
    c = relay.client()
    qid = send_message(c, "a@example.com", ["b@example.org"], body)
    c.cmd("QUIT")
    got = sink.wait(1, relay=relay)[0]
    assert got.queue_id() == qid
    content = got.content
    lines = content.split(b"\r\n")
    # RFC 5321/5322: no line over 998 octets + CRLF reaches the next hop.
    assert max(len(ln) for ln in lines) == 998, [len(ln) for ln in lines]
    # Folding is CRLF + space (Postfix's smtp_line_length_limit): undone,
    # it gives the message as sent; the 998-octet line was not folded.
    assert content.replace(b"\r\n ", b"").endswith(body)
    assert b"\r\n" + b"y" * 998 + b"\r\n" in content
    assert content.count(b"\r\n ") == 3 + 5 + 1, content.count(b"\r\n ")


def test_max_line_length_refuses_and_keeps_nothing(held_relay):
    relay = held_relay
    relay.configure(max_line_length="1000")
    relay.start_fg()
    c = relay.client()
    code, lines = send_message(c, "a@example.com", ["b@example.org"],
                               b"x" * 999 + b"\r\n", expect_queued=False)
    assert (code, lines) == (552, ["552 5.6.0 Message line too long"])
    qid = send_message(c, "a@example.com", ["b@example.org"],
                       b"x" * 998 + b"\r\n")
    # BDAT is held to the same limit.
    c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           b"BDAT 1001 LAST\r\n" + b"x" * 999 + b"\r\n")
    c.expect(250)
    c.expect(250)
    assert c.reply() == (552, ["552 5.6.0 Message line too long"])
    c.cmd("QUIT")
    assert_clean(relay, [qid])


def test_nul_refused_and_nothing_kept(held_relay):
    relay = held_relay
    relay.start_fg()
    c = relay.client()
    for body in (b"Subject: a\0b\r\n\r\nx\r\n", b"Subject: x\r\n\r\n\0\r\n"):
        code, lines = send_message(c, "a@example.com", ["b@example.org"],
                                   body, expect_queued=False)
        assert code == 554 and lines[-1].startswith("554 5.6.0 NUL"), lines
    # BDAT too.
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           "BDAT 5 LAST\r\na\0b\r\n")
    c.expect(250)
    c.expect(250)
    c.expect(554)
    c.cmd("QUIT")
    assert_clean(relay, [])


# ------------------------------------------------------------ full spool

@contextlib.contextmanager
def tmpfs_spool(relay, size="1m"):
    """A small tmpfs over the spool, laid out as setup made it (owner and
    mode of the spool and of tmp/ queue/ hold/); unmounted afterwards,
    relayd stopped first."""
    spool = relay.spool()
    subs = {d: os.lstat(os.path.join(spool, d))
            for d in ("tmp", "queue", "hold")}
    top = os.lstat(spool)
    subprocess.run(["mount", "-t", "tmpfs", "-o",
                    "size=%s,mode=%o,uid=%d,gid=%d"
                    % (size, top.st_mode & 0o7777, top.st_uid, top.st_gid),
                    "relayd-test", spool], check=True)
    try:
        for d, st in subs.items():
            p = os.path.join(spool, d)
            os.mkdir(p)
            os.chown(p, st.st_uid, st.st_gid)
            os.chmod(p, st.st_mode & 0o7777)
        yield
    finally:
        relay.stop()
        subprocess.run(["umount", "-l", spool], check=True)


def test_full_spool_gets_452_and_leaves_nothing(held_relay):
    relay = held_relay
    relay.configure(max_message_size="10M")
    with tmpfs_spool(relay):
        relay.start_fg()
        c = relay.client()
        queued = []
        # 2 MiB: full while the message arrives; 600 KiB: fits as it
        # arrives, not twice (the copy behind the envelope fails).
        for n in (2 * MIB, 600 * 1024):
            start_data(c)
            code, lines = end_data(c, text_lines(n))
            assert (code, lines) == (
                452, ["452 4.3.1 Insufficient system storage"]), lines
            assert_clean(relay, queued)
        # BDAT: the chunks are taken, the last one gets the 452.
        c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n")
        c.expect(250)
        c.expect(250)
        chunk = text_lines(512 * 1024)
        for i in range(4):
            c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if i == 3
                                        else b""))
            c.send(chunk)
            code, lines = c.reply()
            assert code == (452 if i == 3 else 250), (i, lines)
        assert_clean(relay, queued)
        # The space came back: a message that fits is queued.
        start_data(c)
        code, lines = end_data(c, text_lines(300 * 1024))
        assert code == 250, lines
        queued.append(QUEUED_RE.match(lines[-1]).group(1))
        c.cmd("QUIT")
        assert_clean(relay, queued)
        st = os.statvfs(relay.spool())
        assert st.f_blocks * st.f_frsize <= 1 * MIB


# ------------------------------------------------------------ EIO

@contextlib.contextmanager
def strace_inject(pid, syscall, when, delay_us=0):
    """strace attached to pid, failing its when-th call of syscall with
    EIO (after delay_us); detached afterwards."""
    spec = "%s:error=EIO:when=%d" % (syscall, when)
    if delay_us:
        spec += ":delay_enter=%d" % delay_us
    p = subprocess.Popen(
        ["strace", "-qq", "-o", "/dev/null", "-p", str(pid),
         "-e", "trace=" + syscall, "-e", "inject=" + spec],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE)
    try:
        wait_for(lambda: p.poll() is not None or
                 proc_status(pid)["TracerPid"] != "0", 10,
                 what="strace to attach to %d" % pid)
        assert p.poll() is None, p.stderr.read()
        yield
    finally:
        p.terminate()
        p.wait(timeout=10)
        wait_for(lambda: proc_status(pid)["TracerPid"] == "0", 10,
                 what="strace to detach")


@pytest.mark.parametrize("syscall,when,size", [
    ("write", 2, 300 * 1024),          # a body write during DATA
    ("copy_file_range", 1, 100 * 1024),  # the copy behind the envelope
    ("fsync", 1, 10 * 1024),           # fsync of tmp/ID
    ("fsync", 2, 10 * 1024),           # fsync of queue/ after the rename
])
def test_eio_on_enqueue_gets_451_and_leaves_nothing(held_relay, syscall,
                                                    when, size):
    relay = held_relay
    relay.start_fg()
    c = relay.client()
    pid = one_session(relay)
    queued = []
    start_data(c)
    with strace_inject(pid, syscall, when):
        code, lines = end_data(c, text_lines(size))
    assert (code, lines) == (
        451, ["451 4.3.0 Error: queue file write error"]), lines
    assert_clean(relay, queued)
    assert re.search(r"queue file write error: Input/output error",
                     relay.stderr()), relay.stderr()
    # The same session goes on, and mail it acknowledges is on disk.
    start_data(c)
    code, lines = end_data(c, text_lines(size))
    assert code == 250, lines
    queued.append(QUEUED_RE.match(lines[-1]).group(1))
    c.cmd("QUIT")
    assert_clean(relay, queued)


def test_no_worker_takes_a_message_before_its_250(held_relay):
    """Between the rename into queue/ and the fsync of queue/ (slowed
    down and failed here), the file is in queue/ where the runner sees it:
    the enqueue holds the workers' lock (flock) until it knows, so no
    worker delivers a message whose client hears 451."""
    relay = held_relay
    relay.start_fg()
    c = relay.client()
    pid = one_session(relay)
    start_data(c)
    with strace_inject(pid, "fsync", 2, delay_us=1500000):
        c.send(text_lines(10 * 1024) + b".\r\n")
        qid = wait_for(lambda: (relay.queue_ids() or [None])[0], 5,
                       what="the message in queue/")
        fd = os.open(relay.spool("queue", qid), os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        code, lines = c.reply()
    assert code == 451, lines
    c.cmd("QUIT")
    assert_clean(relay, [])


# ------------------------------------------------------------ queue list

def put_queue_file(relay, qid, body_len, sparse):
    env = ("relayd-queue 1\nid %s\narrival 1700000000\n"
           "client 192.0.2.1 client.test\nsender <a@example.com>\n"
           "rcpt <b@example.org> pending\nattempts 0\nnext-try 0\n"
           "size %d\n\n" % (qid, body_len)).encode()
    path = relay.spool("queue", qid)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                 0o600)
    try:
        os.write(fd, env)
        if sparse:
            os.lseek(fd, body_len - 3, os.SEEK_CUR)
            os.write(fd, b"x\r\n")
        else:
            chunk = text_lines(MIB)
            left = body_len
            while left > 0:
                left -= os.write(fd, chunk[:left])
        os.fchown(fd, relay.uid, relay.gid)
    finally:
        os.close(fd)


def relayctl_rusage(relay, *args):
    """Run relayctl; (exit code, stdout, seconds, max RSS in KiB)."""
    t0 = time.monotonic()
    p = subprocess.Popen([conftest.relayctl_path()] + list(args) +
                         ["--root", relay.root], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env=conftest.relay_env())
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, out, time.monotonic() - t0, ru.ru_maxrss


def test_queue_list_reads_envelopes_only(held_relay):
    relay = held_relay
    sparse_id, big_id = "00000000000005PA", "0000000000000B16"
    # ru_maxrss counts the forked python before exec: measure the growth.
    _, _, _, base = relayctl_rusage(relay, "queue", "list", "--json")
    put_queue_file(relay, sparse_id, 1 << 30, sparse=True)
    put_queue_file(relay, big_id, 64 * MIB, sparse=False)
    rc, out, secs, rss = relayctl_rusage(relay, "queue", "list", "--json")
    ids = [m["id"] for m in json.loads(out)["messages"]]
    assert ids == [big_id], out
    assert json.loads(out)["messages"][0]["size"] == 64 * MIB, out
    # Neither body was read: no 64 MiB or 1 GiB buffer, no 6 s.
    assert rss - base < 16 * 1024, (base, rss)
    assert secs < 5, secs
    assert rc != 0  # the sparse file was reported (and not listed)
