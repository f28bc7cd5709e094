"""relayd's SMTP client TLS and AUTH with real peers: an aiosmtpd sink as
smarthost with STARTTLS (587 style) and implicit TLS (465 style) that
wants a login; smarthost_tls = verify against a test CA (smtp_tls_ca_file)
and the hop's name or address; wrong certificates, a missing STARTTLS
and a login in clear are deferrals (4.7.x) that name the reason, never
clear text; the credentials file is read by the master as root and stays
root's (no worker has it open, the relay account cannot open it).  The
CAs and certificates are made with openssl in a temporary directory."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

from delivery_harness import (configure, delivery_logs, envelope,  # noqa
                              inject, peers, relay, wait_for, wait_log,
                              wait_log_text, wait_queue_empty, workers_of)

AUTH = "etc/mail/smarthost.auth"
CA_FILE = "etc/mail/tls/nexthop-ca.pem"
USER, PASSWORD = "relay@example.test", "s3cret pass:word"
TLS_RE = r"TLSv1\.[23] with cipher [A-Z0-9_-]+ \(\d+/\d+ bits\)"


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stderr)


class CA:
    """A throw-away CA (EC P-256) in its own directory."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix="relayd-tlsc-")
        self.pem = os.path.join(self.dir, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                "ca.key", "-out", "ca.pem", "-days", "30", "-subj",
                "/CN=" + name, cwd=self.dir)
        self.n = 0

    def issue(self, san="IP:127.0.0.1"):
        """(cert, key) for a server with subjectAltName san."""
        self.n += 1
        name = "srv%d" % self.n
        with open(os.path.join(self.dir, name + ".ext"), "w") as f:
            f.write("subjectAltName = %s\n" % san)
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                name + ".key", "-out", name + ".csr", "-subj",
                "/CN=sink.test", cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", "30",
                "-extfile", name + ".ext", "-out", name + ".pem",
                cwd=self.dir)
        return (os.path.join(self.dir, name + ".pem"),
                os.path.join(self.dir, name + ".key"))


@pytest.fixture
def ca():
    c = CA("relayd next-hop test CA")
    yield c
    shutil.rmtree(c.dir, ignore_errors=True)


@pytest.fixture
def other_ca():
    c = CA("some other CA")
    yield c
    shutil.rmtree(c.dir, ignore_errors=True)


def install_ca(relay, ca):
    d = os.path.join(relay.root, os.path.dirname(CA_FILE))
    os.makedirs(d, mode=0o755, exist_ok=True)
    shutil.copyfile(ca.pem, os.path.join(relay.root, CA_FILE))
    os.chmod(os.path.join(relay.root, CA_FILE), 0o644)
    return "/" + CA_FILE


def install_auth(relay, text="%s %s\n" % (USER, PASSWORD), mode=0o600):
    """The credentials file, root:root mode (0600 as the layout wants)."""
    path = os.path.join(relay.root, AUTH)
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC |
                 os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, text.encode())
        os.fchown(fd, 0, 0)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    os.rename(path + ".new", path)
    return "/" + AUTH


def deferred(relay, qid, timeout=15.0):
    """The first deferral logged for qid."""
    return wait_log(relay, lambda d: d["id"] == qid and
                    d["status"] == "deferred", timeout,
                    what="status=deferred for %s" % qid)


def delivered(relay, sink, qid):
    got = sink.wait(1, relay=relay)
    wait_log(relay, lambda d: d["id"] == qid and d["status"] == "sent",
             what="status=sent for %s" % qid)
    assert got[0].queue_id() == qid, got
    return got[0]


# ------------------------------------------------------------ delivered

@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_starttls_verify_auth_delivers(relay, peers, ca, mech):
    sink = peers.sink(tls="starttls", cert=ca.issue(),
                      users={USER: PASSWORD}, mechanisms=[mech])
    configure(relay, smarthost=sink.nexthop, smarthost_tls="verify",
              smtp_tls_ca_file=install_ca(relay, ca),
              smarthost_auth=install_auth(relay))
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    delivered(relay, sink, qid)
    # One login, over TLS, with the file's user and password.
    assert sink.logins == [(mech, USER, PASSWORD, True, True)], sink.logins
    line = wait_log_text(relay, r"%s: Verified TLS connection established "
                         r"to 127\.0\.0\.1\[127\.0\.0\.1\]:%d: %s"
                         % (qid, sink.port, TLS_RE))
    assert line
    # The password is in no log line.
    assert PASSWORD not in relay.all_stderr()


def test_implicit_tls_wrapper_auth_delivers(relay, peers, ca):
    sink = peers.sink(tls="implicit", cert=ca.issue(),
                      users={USER: PASSWORD})
    configure(relay, smarthost=sink.nexthop, smarthost_tls="wrapper",
              smtp_tls_ca_file=install_ca(relay, ca),
              smarthost_auth=install_auth(relay, "%s:%s\n"
                                          % (USER, PASSWORD)))
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    delivered(relay, sink, qid)
    assert sink.logins == [("PLAIN", USER, PASSWORD, True, True)]
    wait_log_text(relay, r"%s: Verified TLS connection established to "
                  r"\S+: %s" % (qid, TLS_RE))


def test_may_is_the_default_and_does_not_verify(relay, peers, other_ca):
    # A certificate nobody vouches for: fine for may (opportunistic).
    sink = peers.sink(tls="starttls", cert=other_ca.issue("DNS:x.test"))
    configure(relay, smarthost=sink.nexthop)
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    delivered(relay, sink, qid)
    wait_log_text(relay, r"%s: Untrusted TLS connection established to "
                  r"\S+: %s" % (qid, TLS_RE))


def test_none_stays_in_clear(relay, peers, ca):
    sink = peers.sink(tls="starttls", cert=ca.issue())
    configure(relay, smarthost=sink.nexthop, smtp_tls="none")
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    delivered(relay, sink, qid)
    wait_log_text(relay, r"%s: cleartext connection to \S+ \(TLS off"
                  % qid)


# ------------------------------------------------------------ deferred

def check_deferred(relay, sink, qid, status, reason):
    d = deferred(relay, qid)
    assert d["dsn"] == status, d
    assert re.search(reason, d["text"]), d
    # The reason is the queue file's last error too, once the worker has
    # rewritten it (it logs first).
    def recorded():
        with open(relay.spool("queue", qid), errors="replace") as f:
            return re.search(reason, f.read())
    wait_for(recorded, what="the reason in the queue file")
    assert sink.received == [], sink.received


@pytest.mark.parametrize("which", ["other CA", "wrong name"])
def test_verify_wrong_certificate_defers(relay, peers, ca, other_ca, which):
    cert = (other_ca.issue() if which == "other CA"
            else ca.issue("DNS:sink.test, IP:127.0.0.2"))
    sink = peers.sink(tls="starttls", cert=cert, users={USER: PASSWORD})
    configure(relay, smarthost=sink.nexthop, smarthost_tls="verify",
              smtp_tls_ca_file=install_ca(relay, ca),
              smarthost_auth=install_auth(relay))
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    why = ("unable to get local issuer certificate" if which == "other CA"
           else "IP address mismatch")
    check_deferred(relay, sink, qid, "4.7.5",
                   r"TLS handshake with \S+ failed: certificate "
                   r"verification failed: " + why)
    assert sink.logins == [], sink.logins


def test_wrapper_wrong_ca_defers(relay, peers, ca, other_ca):
    sink = peers.sink(tls="implicit", cert=other_ca.issue())
    configure(relay, smarthost=sink.nexthop, smarthost_tls="wrapper",
              smtp_tls_ca_file=install_ca(relay, ca))
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    check_deferred(relay, sink, qid, "4.7.5", r"certificate verification "
                   r"failed: unable to get local issuer certificate")


def test_encrypt_without_starttls_defers(relay, peers):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop, smarthost_tls="encrypt")
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    check_deferred(relay, sink, qid, "4.7.4", r"TLS is required, but was "
                   r"not offered by 127\.0\.0\.1\[127\.0\.0\.1\]:%d"
                   % sink.port)


def test_credentials_never_sent_in_clear(relay, peers):
    # The sink offers AUTH without TLS; the relay must not use it.
    sink = peers.sink(users={USER: PASSWORD}, auth_require_tls=False)
    configure(relay, smarthost=sink.nexthop, smarthost_tls="may",
              smarthost_auth=install_auth(relay))
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    check_deferred(relay, sink, qid, "4.7.0", r"not sending credentials "
                   r"to \S+ without TLS")
    assert sink.logins == [], sink.logins


def test_auth_refused_defers_not_bounces(relay, peers, ca):
    """A 535 from the smarthost is a deferral (4.7.8), as Postfix's
    smtp_sasl_auth_soft_bounce: no bounce, the mail stays queued."""
    sink = peers.sink(tls="starttls", cert=ca.issue(),
                      users={USER: "another password"})
    configure(relay, smarthost=sink.nexthop, smarthost_tls="verify",
              smtp_tls_ca_file=install_ca(relay, ca),
              smarthost_auth=install_auth(relay))
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@dest.test"])
    d = deferred(relay, qid)
    assert re.search(r"SASL authentication with \S+ failed: 535", d["text"]), d
    assert d["dsn"].startswith("4."), d
    assert not any(x["status"] == "bounced" for x in delivery_logs(relay))
    assert os.path.exists(relay.spool("queue", qid))
    # One login over TLS with the file's password; nothing accepted.
    assert sink.logins and all(x == ("PLAIN", USER, PASSWORD, True, False)
                               for x in sink.logins), sink.logins
    assert sink.received == [], sink.received


# ------------------------------------------------------------ the file

def test_auth_file_kept_from_the_relay(relay, peers, ca):
    sink = peers.sink(tls="starttls", cert=ca.issue(),
                      users={USER: PASSWORD})
    sink.stall_data = True
    path = install_auth(relay)
    configure(relay, smarthost=sink.nexthop, smarthost_tls="verify",
              smtp_tls_ca_file=install_ca(relay, ca), smarthost_auth=path)
    relay.start_fg()
    inject(relay, "alice@sender.test", ["bob@dest.test"])
    wait_for(lambda: sink.stalled, 15, step=0.05, what="a stalled DATA")
    real = os.path.realpath(os.path.join(relay.root, AUTH))
    pids = workers_of(relay.master_pid())
    assert pids, "no delivery worker"
    for pid in pids + [relay.master_pid()]:
        fds = os.listdir("/proc/%d/fd" % pid)
        links = []
        for fd in fds:
            try:
                links.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except OSError:
                pass
        assert real not in links, (pid, links)
    # The relay account cannot open it.
    r = subprocess.run(["setpriv", "--reuid=%d" % relay.uid,
                        "--regid=%d" % relay.gid, "--clear-groups", "cat",
                        real], capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r
    sink.release.set()
    sink.wait(1, relay=relay)
    assert sink.logins == [("PLAIN", USER, PASSWORD, True, True)]


@pytest.mark.parametrize("mode", [0o640, 0o604])
def test_auth_file_readable_by_others_is_refused(relay, peers, mode):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop,
              smarthost_auth=install_auth(relay, mode=mode))
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=15) == 78, relay.all_stderr()
    assert re.search(r"smarthost_auth '/etc/mail/smarthost\.auth': "
                     r"group or others may access it \(want root:root 0600\)",
                     relay.all_stderr()), relay.all_stderr()


def test_auth_needs_tls_policy(relay, peers):
    sink = peers.sink()
    configure(relay, smarthost=sink.nexthop, smarthost_tls="none",
              smarthost_auth=install_auth(relay))
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=15) == 78, relay.all_stderr()
    assert "credentials are only sent over TLS" in relay.all_stderr()


# ------------------------------------------------ per-destination policy

def test_transport_tls_column_per_domain(relay, peers):
    """tls=encrypt in the transport map holds for its domain only: the
    other recipient of the same message, to the same sink, goes in clear
    under the default may, in its own connection."""
    sink = peers.sink()  # no STARTTLS
    configure(relay, transport={"strict.test": sink.nexthop +
                                " tls=encrypt", "open.test": sink.nexthop})
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test",
                    ["bob@strict.test", "carol@open.test"])
    got = sink.wait(1, relay=relay)
    assert got[0].rcpts == ["carol@open.test"], got[0].rcpts
    sent = wait_log(relay, lambda d: d["id"] == qid and
                    d["status"] == "sent", what="carol sent")
    assert sent["to"] == "<carol@open.test>", sent
    d = deferred(relay, qid)
    assert d["to"] == "<bob@strict.test>", d
    assert d["dsn"] == "4.7.4", d
    assert re.search(r"TLS is required, but was not offered", d["text"]), d
    assert len(sink.received) == 1, sink.received


def test_transport_dash_keeps_route_sets_verify(relay, peers, ca, other_ca):
    """A "-" next hop keeps the usual route (the smarthost here) and sets
    the policy: verify fails on a certificate of another CA for that
    domain, while other mail to the same smarthost goes under may."""
    sink = peers.sink(tls="starttls", cert=other_ca.issue())
    configure(relay, smarthost=sink.nexthop,
              smtp_tls_ca_file=install_ca(relay, ca),
              transport={"checked.test": "- tls=verify"})
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test",
                    ["bob@checked.test", "carol@other.test"])
    got = sink.wait(1, relay=relay)
    assert got[0].rcpts == ["carol@other.test"], got[0].rcpts
    wait_log_text(relay, r"%s: Untrusted TLS connection established to "
                  r"\S+: %s" % (qid, TLS_RE))
    d = deferred(relay, qid)
    assert d["to"] == "<bob@checked.test>", d
    assert d["dsn"] == "4.7.5", d
    assert "certificate verification failed" in d["text"], d


def test_transport_tls_column_error_delivers_nothing(relay, peers):
    """A bad tls= value: the runner names file and line and delivers
    nothing (mail meant for the map never goes out another way)."""
    sink = peers.sink()
    configure(relay, transport={"a.test": sink.nexthop,
                                "b.test": sink.nexthop + " tls=maybe"})
    relay.start_fg()
    qid, _ = inject(relay, "alice@sender.test", ["bob@a.test"])
    wait_log_text(relay, r"queue runner: /etc/mail/transport:\d+: want "
                  r"tls=none, may, encrypt, verify or wrapper; not "
                  r"delivering")
    assert sink.received == [], sink.received
    assert os.path.exists(relay.spool("queue", qid))
