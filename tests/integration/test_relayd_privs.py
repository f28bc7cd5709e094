"""relayd end to end: what the processes really hold.  The master keeps
uid 0 and five capabilities; every smtp child is the relay account with
no capability, no supplementary group and no_new_privs, read from
/proc/PID/status while real sessions are open; the drop also holds on the
real port 25; a drop that cannot complete gives 421 and no session, and
so does one whose system calls "succeed" without changing anything (the
verification after the drop is on every child's path).
The queue runner, the master's other child, is dropped the same way.
Mail is held (held_relay) so that what a session queued stays in queue/."""

import json
import os
import re
import subprocess
import sys

import pytest

from harness import relay_env, shim_path
from relayd_harness import (HOSTNAME, MASTER_CAPS, NO_CAPS,  # noqa: F401
                            QUEUED_RE, RUNNER_TITLE, Client,
                            check_delivery_state, children_of, held_relay,
                            idle_servers_of,
                            proc_status, proc_title, relayd_path,
                            runner_of, sessions_of, wait_for)

HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "relayd_harness.py")
CAPS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def assert_dropped(st, uid, gid):
    """One smtp child's /proc status: the relay account, nothing more."""
    ids = "\t".join([str(uid)] * 4)
    assert st["Uid"] == ids, st["Uid"]
    assert st["Gid"] == "\t".join([str(gid)] * 4), st["Gid"]
    assert st["Groups"] == "", st["Groups"]
    for cap in CAPS:
        assert st[cap] == NO_CAPS, (cap, st[cap])
    assert st["NoNewPrivs"] == "1", st["NoNewPrivs"]


@pytest.fixture
def relay(held_relay):  # noqa: F811 (the fixture, renamed)
    return held_relay


def assert_runner_dropped(relay, master):
    """The queue runner: the relay account, no capability, no
    supplementary group, no_new_privs, not chrooted (it needs DNS)."""
    runner = relay.runner(master)
    assert proc_title(runner) == RUNNER_TITLE
    assert_dropped(proc_status(runner), relay.uid, relay.gid)
    assert os.readlink("/proc/%d/root" % runner) == "/"
    return runner


def test_twenty_sessions_children_dropped_master_capped(relay):
    relay.configure(max_per_ip=30)
    p = relay.start_fg()
    master = p.pid
    clients = [relay.client(greet=False, ehlo=None) for _ in range(20)]
    for i, c in enumerate(clients):
        c.greet()
        c.ehlo("e2e%d.test" % i)
    kids = sessions_of(master)
    assert len(kids) == 20, kids
    runner = assert_runner_dropped(relay, master)
    # the master has exactly these children: 20 sessions and the runner
    assert children_of(master) == sorted(kids + [runner])
    titles = set()
    for pid in kids:
        assert_dropped(proc_status(pid), relay.uid, relay.gid)
        t = proc_title(pid)
        m = re.match(r"^relayd: server (e2e\d+\.test) \[127\.0\.0\.1\] "
                     r"cmd read$", t)
        assert m, t
        titles.add(m.group(1))
    assert titles == {"e2e%d.test" % i for i in range(20)}
    st = proc_status(master)
    assert st["Uid"] == "0\t0\t0\t0", st["Uid"]
    assert st["CapPrm"] == MASTER_CAPS, st["CapPrm"]
    assert st["CapEff"] == MASTER_CAPS, st["CapEff"]
    assert st["CapBnd"] == NO_CAPS, st["CapBnd"]  # emptied at start
    assert st["CapAmb"] == NO_CAPS, st["CapAmb"]
    assert proc_title(master) == \
        "relayd: accepting connections on 127.0.0.1:%d" % relay.port
    for c in clients:
        assert c.cmd("QUIT")[0] == 221
        assert c.eof()
    wait_for(lambda: sessions_of(master) == [] or None, 5,
             what="the sessions to end")
    # What is left: the runner and pooled servers (max_use; none with
    # max_use = 1), idle and still the relay account.
    idle = idle_servers_of(master)
    assert children_of(master) == sorted(idle + [runner])
    assert len(idle) <= 20, idle
    for pid in idle:
        assert_dropped(proc_status(pid), relay.uid, relay.gid)


# Runs inside the network namespace: one session on port 25, the status
# of the child serving it read while the session is open.
PORT25_CLIENT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
from relayd_harness import (Client, proc_status, proc_title, runner_of,
                            sessions_of)
master = int(sys.argv[2])
c = Client(25)
out = {"greeting": c.greet()}
out["ehlo"] = c.ehlo("ns.test")
kids = sessions_of(master)
out["kids"] = kids
out["runner"] = [proc_status(k) for k in runner_of(master)]
out["status"] = [proc_status(k) for k in kids]
out["titles"] = [proc_title(k) for k in kids]
c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
out["replies"] = [c.reply()[1], c.reply()[1], c.reply()[1]]
c.send("Subject: port 25\r\n\r\nhello\r\n.\r\n")
out["replies"].append(c.reply()[1])
out["replies"].append(c.cmd("QUIT")[1])
print(json.dumps(out))
"""


def test_port_25_in_a_network_namespace(relay):
    relay.port = 25  # a private network namespace: nobody else's port 25
    relay.configure()  # still held: the refusing smarthost is in there too
    p = relay.start_fg(wait=False, argv_prefix=[
        "unshare", "-n", "sh", "-c",
        'ip link set lo up && exec "$0" "$@"'])
    # unshare and sh exec: p.pid is relayd, in the new namespace
    relay.wait_listening(p)
    assert os.readlink("/proc/self/ns/net") != \
        os.readlink("/proc/%d/ns/net" % p.pid)
    cp = subprocess.run(
        ["nsenter", "--net=/proc/%d/ns/net" % p.pid, sys.executable, "-c",
         PORT25_CLIENT, os.path.dirname(HARNESS), str(p.pid)],
        capture_output=True, text=True, timeout=30)
    assert cp.returncode == 0, (cp.stdout, cp.stderr, relay.stderr())
    out = json.loads(cp.stdout)
    assert len(out["kids"]) == 1, out
    assert_dropped(out["status"][0], relay.uid, relay.gid)
    assert len(out["runner"]) == 1, out
    assert_dropped(out["runner"][0], relay.uid, relay.gid)
    assert out["titles"][0] == \
        "relayd: server ns.test [127.0.0.1] cmd read", out["titles"]
    r = out["replies"]
    assert r[0][-1].startswith("250 2.1.0") and \
        r[1][-1].startswith("250 2.1.5") and r[2][-1].startswith("354"), r
    m = QUEUED_RE.match(r[3][-1])
    assert m, r
    assert r[4][-1].startswith("221"), r
    assert relay.queue_ids() == [m.group(1)]
    q = relay.read_queue(m.group(1))
    assert (q["client"], q["helo"]) == ("127.0.0.1", "ns.test")
    assert q["rcpts"] == [("<b@example.org>", "pending", [])]
    check_delivery_state(q)
    st = proc_status(p.pid)
    assert st["Uid"] == "0\t0\t0\t0"
    assert st["CapEff"] == MASTER_CAPS, st["CapEff"]
    assert proc_title(p.pid) == \
        "relayd: accepting connections on 127.0.0.1:25"


def test_drop_that_cannot_complete_gives_421_and_no_session(relay):
    # In a user namespace whose setgroups is denied the master starts
    # (it is root there), but no child can setgroups(0, NULL): the drop
    # fails before a byte of SMTP.
    p = relay.spawn([sys.executable, HARNESS, "userns-exec", relayd_path(),
                     "-f", "--root", relay.root])
    relay.proc = p
    relay.wait_listening(p)
    master = wait_for(lambda: children_of(p.pid), 5,
                      what="relayd under userns-exec")[0]
    relay.masters.add(master)
    assert open("/proc/%d/setgroups" % master).read().strip() == "deny"
    c = Client(relay.port)
    relay.clients.append(c)
    first = c.line()
    assert first == "421 4.3.0 %s Service not available" % HOSTNAME, first
    assert c.eof()
    wait_for(lambda: children_of(master) == [], 5, what="the child to exit")
    assert relay.queue_ids() == []
    assert relay.tmp_files() == []
    # the session child said why (the runner fails the same way, and
    # is restarted after a pause, never running undropped)
    assert re.search(r"^relayd: privilege drop failed: .*setgroups",
                     relay.stderr(), re.M), relay.stderr()
    wait_for(lambda: re.search(r"^relayd: queue runner: privilege drop "
                               r"failed: .*setgroups", relay.stderr(), re.M),
             5, what="the runner's drop failure on stderr")
    assert runner_of(master) == []
    # the master itself is unharmed and keeps refusing the same way
    c2 = Client(relay.port)
    relay.clients.append(c2)
    assert c2.line() == first
    assert c2.eof()


def test_drop_that_changes_nothing_gives_421_and_no_session(relay):
    # The noop_drop shim (tests/shim) makes setgroups, setresgid and
    # setresuid return 0 without doing anything: the child is still root
    # after privdrop_apply's calls, and only its verification can tell.
    env = relay_env({"LD_PRELOAD": shim_path("noop_drop"),
                     # a sanitizer build: the shim is loaded before libasan
                     "ASAN_OPTIONS": "verify_asan_link_order=0"})
    p = relay.start_fg(env=env)
    c = Client(relay.port)
    relay.clients.append(c)
    first = c.line()
    assert first == "421 4.3.0 %s Service not available" % HOSTNAME, \
        (first, relay.stderr())
    assert c.eof()
    wait_for(lambda: sessions_of(p.pid) == [] and
             [k for k in children_of(p.pid) if k not in runner_of(p.pid)]
             == [], 5, what="the child to exit")
    assert relay.queue_ids() == []
    assert relay.tmp_files() == []
    want = r"verify: uid 0/0/0, want %d" % relay.uid
    assert re.search(r"^relayd: privilege drop failed: %s$" % want,
                     relay.stderr(), re.M), relay.stderr()
    # The runner refuses the same way and never runs undropped.
    wait_for(lambda: re.search(r"^relayd: queue runner: privilege drop "
                               r"failed: %s$" % want, relay.stderr(),
                               re.M),
             5, what="the runner's drop failure on stderr")
    assert runner_of(p.pid) == []
    # The master is unharmed and keeps refusing the same way.
    assert p.poll() is None
    c2 = Client(relay.port)
    relay.clients.append(c2)
    assert c2.line() == first
    assert c2.eof()


def test_chroot_children_enqueue_from_inside_the_spool(relay):
    relay.configure(chroot="yes")
    p = relay.start_fg()
    c = relay.client()
    kids = sessions_of(p.pid)
    assert len(kids) == 1, kids
    assert os.readlink("/proc/%d/root" % kids[0]) == \
        os.path.realpath(relay.spool()), os.readlink("/proc/%d/root"
                                                     % kids[0])
    assert_dropped(proc_status(kids[0]), relay.uid, relay.gid)
    assert_runner_dropped(relay, p.pid)  # chroot is for sessions only
    c.send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n"
           "DATA\r\n")
    c.expect(250)
    c.expect(250)
    c.expect(354)
    c.send("Subject: chroot\r\n\r\nhi\r\n.\r\n")
    qid = QUEUED_RE.match(c.expect(250)[-1]).group(1)
    assert relay.queue_ids() == [qid]
    q = relay.read_queue(qid)
    assert q["rcpts"] == [("<b@example.org>", "pending", [])]
    assert q["message"].endswith(b"\r\nSubject: chroot\r\n\r\nhi\r\n")
    check_delivery_state(q, relay.smarthost_port)
