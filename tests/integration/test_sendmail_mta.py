"""relayctl setup/check --mta sendmail against Debian 12's real sendmail.

sendmail-bin and sendmail-cf are unpacked (never installed: that would
start a daemon on port 25) by tests/peers/get-sendmail.  Each root gets the
package's stock sendmail.mc and macros; setup adds confRUN_AS_USER and
rebuilds sendmail.cf with m4.  sendmail itself then reads that root: it runs
in a private mount (and UTS) namespace where ROOT/etc, ROOT/var and ROOT/run
are bound over /etc, /var and /run, so every path the compiled sendmail.cf
names (access map, queue, pid file, the account in passwd) is the root's,
the host's stay untouched, and the mounts vanish with the process.
"""

import json
import os
import shutil
import signal
import smtplib
import subprocess

import pytest

import check_fixtures as cf
import fixtures
from conftest import run_relayctl, snapshot, snapshot_diff
from harness import (descendants_of, free_port, listening, peers_dir,
                     proc_status, proc_title, scaled, titled, wait_for)

MC = "etc/mail/sendmail.mc"
CF = "etc/mail/sendmail.cf"
OUR_LINE = ("define(`confRUN_AS_USER', `sendmail:sendmail')dnl "
            "# relayctl setup --mta sendmail")
# Debian's sendmail-base makes these two; its debian.m4 names smmta as
# TrustedUser, so sendmail refuses a configuration without it.
SM_USERS = (("smmta", 115, 121), ("smmsp", 116, 122))


def sendmail_tree():
    d = os.path.join(peers_dir(), "sendmail")
    if not os.access(os.path.join(d, "usr/libexec/sendmail/sendmail"),
                     os.X_OK):
        pytest.fail("%s has no sendmail: run tests/peers/get-sendmail "
                    "(tests/run does)" % d)
    return d


def sm_root(make_root, kind="debian", mc=True, conf='HANDS_OFF="No";\n'):
    """A root like a Debian host with sendmail: its accounts, the macros,
    the stock sendmail.mc (mc=True), sendmail.conf, and what sendmail
    needs to start (hosts, nsswitch, services, /var/lib/sendmail)."""
    root = make_root(kind)
    tree = sendmail_tree()
    for name, uid, gid in SM_USERS:
        cf.append(root, "group", "%s:x:%d:" % (name, gid))
        cf.append(root, "gshadow", "%s:!::" % name)
        cf.add_user(root, name, uid, gid)
    shutil.copytree(os.path.join(tree, "usr/share/sendmail/cf"),
                    os.path.join(root, "usr/share/sendmail/cf"),
                    symlinks=True)
    if mc:
        with open(os.path.join(tree, "usr/share/sendmail/cf/debian/"
                               "sendmail.mc")) as f:
            fixtures.write(root, MC, f.read(), 0o644)
        if os.path.exists(os.path.join(root, CF)):
            os.unlink(os.path.join(root, CF))  # the fixture's placeholder
    for name in ("dialup.m4", "provider.m4"):  # what update_mc touches
        fixtures.write(root, "etc/mail/m4/" + name, "", 0o644)
    if conf is not None:
        fixtures.write(root, "etc/mail/sendmail.conf", conf, 0o644)
    fixtures.write(root, "etc/hosts",
                   "127.0.0.1 localhost\n127.0.1.1 mx.relay.test mx\n")
    fixtures.write(root, "etc/nsswitch.conf",
                   "passwd: files\ngroup: files\nshadow: files\n"
                   "hosts: files\n")
    shutil.copy("/etc/services", os.path.join(root, "etc/services"))
    for d in ("var/lib/sendmail/host_status", "run/sendmail/mta"):
        fixtures.mkdir(root, d)
    os.symlink("/run", os.path.join(root, "var/run"))
    return root


def setup(root, *extra):
    return run_relayctl("setup", "--mta", "sendmail", "--root", root, *extra)


def check(root):
    r = run_relayctl("check", "--mta", "sendmail", "--root", root, "--json")
    assert r.rc in (0, 2, 3), r
    doc = json.loads(r.out)
    assert doc["exit"] == r.rc, r
    return r.rc, doc


def serious(doc):
    """Findings other than advice."""
    return {f["id"] for f in doc["findings"] if f["severity"] != "advice"}


def account(root):
    with open(os.path.join(root, "etc/passwd")) as f:
        for line in f:
            v = line.split(":")
            if v[0] == "sendmail":
                return int(v[2]), int(v[3])
    raise AssertionError("no sendmail account in %s" % root)


def read(root, rel):
    with open(os.path.join(root, rel)) as f:
        return f.read()


def in_root(root, argv, **kw):
    """argv (a list) inside root's namespace: exec'd, so the pid of the
    returned Popen is the program's."""
    script = ("hostname mx && mount --bind \"$1/etc\" /etc && "
              "mount --bind \"$1/var\" /var && "
              "mount --bind \"$1/run\" /run && shift && exec \"$@\"")
    return subprocess.Popen(
        ["unshare", "--mount", "--uts", "--propagation", "private", "sh",
         "-c", script, "sh", root] + argv, **kw)


def sm_bin(name):
    return os.path.join(sendmail_tree(), name)


def test_stock_mc(make_root):
    root = sm_root(make_root)
    stock = read(root, MC)
    before = snapshot(root)
    r = setup(root, "--plan")
    assert r.rc == 0, r
    assert snapshot_diff(before, snapshot(root)) == [], r
    assert "+" + OUR_LINE + "\n MAILER_DEFINITIONS" in r.out, r
    assert "+O RunAsUser=sendmail:sendmail\n" in r.out, r
    assert "not applied (--plan)" in r.out, r
    # Debian's scripts will run (HANDS_OFF="No"): setup says what they undo
    assert "update_sys" in r.err, r

    r = setup(root)
    assert r.rc == 0, r
    mc = read(root, MC)
    assert mc.count("confRUN_AS_USER") == 1, mc
    assert mc.replace(OUR_LINE + "\n", "") == stock
    assert read(root, MC + ".old") == stock
    cfl = read(root, CF).splitlines()
    assert [ln for ln in cfl if ln.startswith("O RunAsUser")] == [
        "O RunAsUser=sendmail:sendmail"], r
    st = os.stat(os.path.join(root, CF))
    uid, gid = account(root)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, gid, 0o644)
    assert root not in read(root, CF)  # m4 saw the root; the .cf does not

    # a second run changes nothing at all
    before = snapshot(root)
    r = setup(root)
    assert r.rc == 0 and "relayctl: nothing to do" in r.out, r
    assert snapshot_diff(before, snapshot(root)) == [], r
    rc, doc = check(root)
    assert rc == 0 and serious(doc) == set(), doc
    assert "mta.debian-scripts" in {f["id"] for f in doc["findings"]}, doc

    # sendmail 8.17 reads the result without a complaint
    p = in_root(root, [sm_bin("usr/libexec/sendmail/sendmail"), "-C",
                       "/" + CF, "-bt", "-d0.1"],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
    out = p.communicate(timeout=scaled(60))[0]
    assert p.returncode == 0, out
    assert "Version 8.17" in out and "ADDRESS TEST MODE" in out, out
    assert "$j = mx.relay.test" in out, out
    assert "sendmail.cf: line" not in out, out


def test_compiled_cf_drift(make_root):
    """The .mc is right but sendmail.cf was never rebuilt: check says
    drift, setup rebuilds only the .cf and keeps the old one."""
    root = sm_root(make_root)
    assert setup(root).rc == 0
    text = read(root, CF)
    fixtures.write(root, CF, text.replace("O RunAsUser=sendmail:sendmail\n",
                                          ""), 0o644, 0, account(root)[1])
    rc, doc = check(root)
    assert rc == 2 and serious(doc) == {"mta.cf-run-as"}, doc
    r = setup(root, "--plan")
    assert "+O RunAsUser=sendmail:sendmail" in r.out, r
    assert "sendmail.mc" not in r.out.split("plan for")[1].split("---")[0]
    r = setup(root)
    assert r.rc == 0, r
    assert read(root, CF) == text
    assert "O RunAsUser" not in read(root, CF + ".old")


def test_own_line_corrected(make_root):
    """relayctl's own marked line with another account is corrected."""
    root = sm_root(make_root)
    assert setup(root).rc == 0
    mc = read(root, MC)
    fixtures.write(root, MC, mc.replace("`sendmail:sendmail'",
                                        "`nobody:nogroup'"),
                   0o644, 0, account(root)[1])
    r = setup(root)
    assert r.rc == 0, r
    assert "confRUN_AS_USER nobody:nogroup -> sendmail:sendmail" in r.out
    assert read(root, MC) == mc


@pytest.mark.parametrize("case", ["conflict", "duplicate", "hands-off",
                                  "untrusted"])
def test_refused(make_root, case):
    root = sm_root(make_root)
    stock = read(root, MC)
    at = stock.index("MAILER_DEFINITIONS")
    if case == "conflict":
        fixtures.write(root, MC, stock[:at] +
                       "define(`confRUN_AS_USER', `mail:mail')dnl\n" +
                       stock[at:])
        want = "mta.run-as-conflict"
    elif case == "duplicate":
        fixtures.write(root, MC, stock[:at] + OUR_LINE + "\n" +
                       "define(`confRUN_AS_USER', `sendmail')dnl\n" +
                       "define(`confRUN_AS_USER', `mail')dnl\n" + stock[at:])
        want = "mta.run-as-duplicate"
    elif case == "hands-off":
        fixtures.write(root, "etc/mail/sendmail.conf",
                       'HANDS_OFF="No";\nHANDS_OFF="Yes";\n')
        want = "mta.hands-off"
    else:
        os.chmod(os.path.join(root, MC), 0o664)
        want = "mta.mc-untrusted"
    before = snapshot(root)
    r = setup(root)
    assert r.rc == 3, r
    assert "(%s)" % want in r.out and "refused: nothing changed" in r.out
    assert snapshot_diff(before, snapshot(root)) == [], r  # not even the account
    rc, doc = check(root)
    assert rc == 3 and want in serious(doc), doc


def test_hands_off_when_done(make_root):
    """HANDS_OFF after the work is done refuses nothing: nothing to do."""
    root = sm_root(make_root)
    assert setup(root).rc == 0
    fixtures.write(root, "etc/mail/sendmail.conf", 'HANDS_OFF="Yes";\n',
                   0o644, 0, account(root)[1])
    r = setup(root)
    assert r.rc == 0 and "relayctl: nothing to do" in r.out, r
    rc, doc = check(root)
    assert rc == 0 and "mta.debian-scripts" not in {
        f["id"] for f in doc["findings"]}, doc


HAND_CF = ("# written by hand\nV10/Berkeley\nO QueueDirectory=/var/spool/"
           "mqueue\nO LogLevel=9\n\nS0\nR$*\t$#error $: 550 no\n")


def test_hand_written_cf(make_root):
    root = sm_root(make_root, mc=False, conf=None)
    fixtures.write(root, CF, HAND_CF)
    r = setup(root, "--plan")
    assert r.rc == 0 and "+O RunAsUser=sendmail:sendmail" in r.out, r
    assert setup(root).rc == 0
    want = HAND_CF.replace(
        "O LogLevel=9\n", "O LogLevel=9\n# RunAsUser: relayctl setup --mta "
        "sendmail\nO RunAsUser=sendmail:sendmail\n")
    assert read(root, CF) == want
    assert read(root, CF + ".old") == HAND_CF
    before = snapshot(root)
    r = setup(root)
    assert r.rc == 0 and "nothing to do" in r.out, r
    assert snapshot_diff(before, snapshot(root)) == []
    rc, doc = check(root)
    assert rc == 0 and serious(doc) == set(), doc

    # a hand-written RunAsUser for another account: a human decides
    fixtures.write(root, CF, HAND_CF + "O RunAsUser=smmta:smmsp\n")
    before = snapshot(root)
    r = setup(root)
    assert r.rc == 3 and "(mta.run-as-conflict)" in r.out, r
    assert snapshot_diff(before, snapshot(root)) == []


def test_no_sendmail(make_root):
    root = sm_root(make_root, mc=False, conf=None)
    os.unlink(os.path.join(root, CF))
    r = setup(root)
    assert r.rc == 3 and "(mta.no-config)" in r.out, r


def test_mta_name(make_root):
    root = make_root("debian")
    for cmd in ("setup", "check"):
        r = run_relayctl(cmd, "--mta", "postfix", "--root", root)
        assert r.rc == 64 and "knows only 'sendmail'" in r.err, r


def test_fake_proc_root_child(make_root):
    """check flags an SMTP child of sendmail that kept root (ROOT/proc)."""
    root = sm_root(make_root, kind="clean")
    assert setup(root).rc == 0
    master = dict(uid=0, gid=0, name="sendmail")
    cf.fake_sysctls(root)
    cf.fake_process(root, cf.MASTER, 1, cf.status_text(**master),
                    "sendmail: MTA: accepting connections")
    child = cf.status_text(uid="24\t0\t24\t24", gid=24, name="sendmail")
    cf.fake_process(root, cf.CHILD, cf.MASTER, child,
                    "sendmail: MTA: server client.test [192.0.2.1] cmd read")
    fixtures.write(root, "run/sendmail/mta/sendmail.pid",
                   "%d\n/usr/sbin/sendmail-mta -bd\n" % cf.MASTER)
    rc, doc = check(root)
    assert rc == 3 and serious(doc) == {"mta.child-creds"}, doc
    # the same child as the account: clean, and it was looked at
    cf.fake_process(root, cf.CHILD, cf.MASTER,
                    cf.status_text(uid=24, gid=24, name="sendmail"),
                    "sendmail: MTA: server client.test [192.0.2.1] cmd read")
    rc, doc = check(root)
    assert rc == 0 and serious(doc) == set(), doc
    runtime = [f for f in doc["findings"] if f["id"] == "mta.runtime"]
    assert "1 SMTP session checked" in runtime[0]["actual"], doc


def start_sendmail(root):
    """sendmail -bD in root's namespace on a free loopback port; queue
    only (no delivery attempts).  Returns (Popen, port)."""
    for _ in range(5):
        port = free_port()
        p = in_root(root, [
            sm_bin("usr/libexec/sendmail/sendmail"), "-C", "/" + CF, "-bD",
            "-ODaemonPortOptions=Name=MTA-test,Port=%d,Addr=127.0.0.1"
            % port, "-ODeliveryMode=queue"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: listening(port) or p.poll() is not None,
                     what="sendmail listening on %d" % port)
        except AssertionError:
            p.kill()
            raise
        if p.poll() is None:
            return p, port
    raise AssertionError("sendmail did not start: %s" % p.stdout.read())


def test_daemon_child_runs_as_account(make_root):
    root = sm_root(make_root)
    # the access map before setup, as root: setup then gives /etc/mail
    # to the relay group, so the unprivileged child can read it
    fixtures.write(root, "etc/mail/access", "Connect:localhost RELAY\n")
    fixtures.write(root, CF, "V10/Berkeley\n")  # makemap reads one
    mk = in_root(root, [sm_bin("usr/sbin/makemap"), "hash",
                        "/etc/mail/access"],
                 stdin=open(os.path.join(root, "etc/mail/access")))
    assert mk.wait(timeout=scaled(30)) == 0
    os.unlink(os.path.join(root, CF))
    assert setup(root).rc == 0
    uid, gid = account(root)
    p, port = start_sendmail(root)
    try:
        # sendmail sets its title after it listens: wait, do not race
        wait_for(lambda: proc_title(p.pid).startswith(
            "sendmail: MTA: accepting") or None, 10,
            what="sendmail's title")
        with smtplib.SMTP("127.0.0.1", port, timeout=scaled(30)) as s:
            s.ehlo("client.test")
            kids = wait_for(lambda: titled(descendants_of(p.pid),
                                           "sendmail: MTA: server"),
                            what="the SMTP child")
            assert len(kids) == 1, kids
            st = proc_status(kids[0])
            assert st["Uid"].split() == [str(uid)] * 4, st
            assert st["Gid"].split() == [str(gid)] * 4, st
            assert "0" not in st["Groups"].split(), st
            assert int(st["CapPrm"], 16) == int(st["CapEff"], 16) == 0, st
            rc, doc = check(root)
            assert rc == 0 and serious(doc) == set(), doc
            runtime = [f for f in doc["findings"] if f["id"] == "mta.runtime"]
            assert "1 SMTP session checked" in runtime[0]["actual"], doc
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % port, "--helo",
             "client.test", "--from", "a@mx.relay.test", "--to",
             "b@example.org"], capture_output=True, text=True,
            timeout=scaled(60))
        assert r.returncode == 0 and "Message accepted" in r.stdout, r
        spool = os.path.join(root, "var/spool/mqueue")
        qf = [n for n in os.listdir(spool) if n.startswith("qf") and
              n != "qfA1B2C3"]
        assert len(qf) == 1, os.listdir(spool)
        st = os.lstat(os.path.join(spool, qf[0]))
        assert (st.st_uid, st.st_gid) == (uid, gid)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=scaled(30))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
