"""relayctl queue (run as root) over a spool the relay account controls.

The relay account owns the spool and may replace queue/, hold/ or tmp/
with a symlink to a root-owned directory elsewhere (here: the fixture
root's etc/mail, where relayd.conf lives).  Whatever it plants, root must
not create, move, unlink or read anything outside the spool: the whole
fixture root outside the spool (type, owner, mode, ACLs, content) is the
same before and after, and the command refuses with exit 3 and one line
naming the directory.  setup, check and start meet the same spool.
"""

import os
import sys

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conftest  # noqa: E402
from relayd_harness import SPOOL, relay  # noqa: E402,F401
from test_queue_cmd import ID1, ID2, put, queue_file  # noqa: E402

VICTIM = "etc/mail"  # root-owned, outside the spool
EXIT_UNSAFE = 3


def snapshot(root):
    """conftest.snapshot (type, owner, mode, ACLs, content, inode, times)
    of everything under root but the spool's subtree."""
    return {k: v for k, v in conftest.snapshot(root).items()
            if k != SPOOL and not k.startswith(SPOOL + os.sep)}


def root_file(relay, qid, sender):
    """ROOT/etc/mail/QID: root's 0600 file, in the queue format so that a
    reader that follows the link would accept it."""
    p = os.path.join(relay.root, VICTIM, qid)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, queue_file(qid, sender=sender))
    finally:
        os.close(fd)
    return p


def swap_for_link(relay, sub):
    """What a compromised relay account can do: SPOOL/sub becomes a
    symlink to ROOT/etc/mail (its old content kept aside in the spool)."""
    p = relay.spool(sub)
    if os.path.isdir(p):
        os.rename(p, p + ".old")
    os.symlink(os.path.join(relay.root, VICTIM), p)
    os.lchown(p, relay.uid, relay.gid)


def assert_refused(r, sub, what="symbolic link"):
    assert r.rc == EXIT_UNSAFE, r
    lines = r.err.splitlines()
    assert len(lines) == 1, r
    assert "'/%s/%s'" % (SPOOL, sub) in lines[0] and what in lines[0], r
    assert "secret@" not in r.out, r


# (verb, id or None, the directory made a link, where the message is)
CASES = [
    ("hold", ID1, "hold", "queue"),      # root would move it out
    ("hold", ID1, "queue", "victim"),    # root's file into the spool
    ("release", ID1, "hold", "victim"),  # root's file into the spool
    ("release", ID1, "queue", "hold"),   # the relay's file into etc/mail
    ("delete", ID1, "queue", "victim"),  # root's file unlinked
    ("delete", ID1, "hold", "victim"),
    ("list", None, "queue", "victim"),   # root's file read and shown
    ("list", None, "hold", "victim"),
    ("flush", None, "queue", "queue"),
    ("hold", ID1, "tmp", "queue"),
    ("delete", ID1, "tmp", "queue"),
    ("list", None, "tmp", "queue"),
]


@pytest.mark.parametrize("verb,qid,sub,where", CASES,
                         ids=["%s-%s-link-msg-in-%s" % (c[0], c[2], c[3])
                              for c in CASES])
def test_symlinked_spool_directory(relay, verb, qid, sub, where):
    if where == "victim":
        root_file(relay, ID1, "<secret@example.net>")
    else:
        put(relay, where, ID1, queue_file(ID1))
    swap_for_link(relay, sub)
    before = snapshot(relay.root)
    r = relay.relayctl("queue", verb, *([qid] if qid else []))
    assert snapshot(relay.root) == before, r
    assert_refused(r, sub)


def test_symlinked_hold_when_queue_is_real(relay):
    # Nothing to move yet: hold/ is checked before the message is looked
    # up, and a second message in queue/ stays where it is.
    put(relay, "queue", ID2, queue_file(ID2))
    swap_for_link(relay, "hold")
    before = snapshot(relay.root)
    r = relay.relayctl("queue", "hold", ID1)
    assert snapshot(relay.root) == before, r
    assert_refused(r, "hold")
    assert os.path.exists(relay.spool("queue", ID2))


@pytest.mark.parametrize("sub", ["queue", "hold", "tmp"])
def test_spool_directory_writable_by_others(relay, sub):
    # A world-writable directory lets anyone plant names root acts on.
    put(relay, "queue", ID1, queue_file(ID1))
    os.chmod(relay.spool(sub), 0o777)
    before = snapshot(relay.root)
    r = relay.relayctl("queue", "hold", ID1)
    assert snapshot(relay.root) == before, r
    assert_refused(r, sub, "writable by group or others")
    assert os.path.exists(relay.spool("queue", ID1))


def test_spool_directory_of_another_owner(relay):
    # hold/ that is not the relay account's: not the spool we know.
    put(relay, "queue", ID1, queue_file(ID1))
    os.chown(relay.spool("hold"), 0, 0)
    r = relay.relayctl("queue", "hold", ID1)
    assert_refused(r, "hold", "owned by uid 0")
    assert os.path.exists(relay.spool("queue", ID1))


def test_symlinked_spool(relay):
    root_file(relay, ID1, "<secret@example.net>")
    spool = os.path.join(relay.root, SPOOL)
    os.rename(spool, spool + ".old")
    os.symlink(os.path.join(relay.root, VICTIM), spool)
    before = snapshot(relay.root)
    for args in (("list",), ("delete", ID1), ("hold", ID1), ("flush",)):
        r = relay.relayctl("queue", *args)
        assert snapshot(relay.root) == before, r
        assert r.rc == EXIT_UNSAFE, r
        assert len(r.err.splitlines()) == 1, r
        assert "'/%s'" % SPOOL in r.err and "symbolic link" in r.err, r


@pytest.mark.parametrize("qid", ["../x", "a/b", "..", ".", "",
                                 ID1 + "/", "../" + ID1, ID1 + "/..",
                                 "/etc/passwd", ID1.lower()])
@pytest.mark.parametrize("verb", ["hold", "release", "delete"])
def test_id_is_one_name(relay, verb, qid):
    put(relay, "queue", ID1, queue_file(ID1))
    before = snapshot(relay.root)
    r = relay.relayctl("queue", verb, qid)
    assert r.rc == 64, r
    assert r.out == "" and "is not a queue id" in r.err, r
    assert snapshot(relay.root) == before
    assert os.path.exists(relay.spool("queue", ID1))


@pytest.mark.parametrize("sub", ["queue", "hold", "tmp"])
@pytest.mark.parametrize("cmd", ["setup", "check", "start"])
def test_other_root_commands(relay, cmd, sub):
    # setup and check walk the tree by fd; start checks the layout first:
    # none of them follows the link, all report it as unsafe.  The file
    # behind it is as the layout wants it in etc/mail (no drift to fix).
    p = root_file(relay, ID1, "<secret@example.net>")
    os.chown(p, 0, relay.gid)
    os.chmod(p, 0o640)
    swap_for_link(relay, sub)
    before = snapshot(relay.root)
    r = relay.relayctl(cmd)
    assert snapshot(relay.root) == before, r
    assert r.rc == EXIT_UNSAFE, r
    assert "/%s/%s" % (SPOOL, sub) in r.out + r.err, r
