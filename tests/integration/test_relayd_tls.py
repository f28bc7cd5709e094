"""relayd's TLS server side with real peers (Python's ssl and smtplib,
openssl s_client, swaks): STARTTLS on the plain listener, implicit TLS on a
"/tls" listener, tls = encrypt, the command injection of CVE-2011-0411, the
Received: field and log line, and the key kept from the SMTP children (read
by the master as root, never opened by a child).  A test CA and the server
certificates are made with openssl in the test's own temporary directory.
Mail is held (held_relay), so each accepted message stays in queue/."""

import errno
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile

import pytest

from relayd_harness import (HOSTNAME, QUEUED_RE, Client,  # noqa: F401
                            free_port, held_relay, listening, send_message,
                            split_received, wait_for)

CERT = "etc/mail/tls/relay.pem"
KEY = "etc/mail/tls/relay.key"
TLS_RE = r"TLSv1\.[23] with cipher [A-Z0-9_-]+ \(\d+/\d+ bits\)"


def openssl(*args, cwd):
    r = subprocess.run(["openssl"] + list(args), cwd=cwd,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


class PKI:
    """A test CA in a temporary directory, issuing server certificates
    for HOSTNAME (EC P-256: quick to make)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="relayd-tls-")
        self.ca = os.path.join(self.dir, "ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                "ca.key", "-out", "ca.pem", "-days", "30", "-subj",
                "/CN=relayd test CA", cwd=self.dir)
        self.n = 0

    def issue(self, days=30):
        """A new key and certificate: (cert path, key path, serial)."""
        self.n += 1
        name = "srv%d" % self.n
        ext = os.path.join(self.dir, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName = DNS:%s, IP:127.0.0.1\n" % HOSTNAME)
        openssl("req", "-newkey", "ec", "-pkeyopt",
                "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                name + ".key", "-out", name + ".csr", "-subj",
                "/CN=" + HOSTNAME, cwd=self.dir)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem",
                "-CAkey", "ca.key", "-CAcreateserial", "-days", str(days),
                "-extfile", ext, "-out", name + ".pem", cwd=self.dir)
        serial = openssl("x509", "-in", name + ".pem", "-noout", "-serial",
                         cwd=self.dir).strip().split("=")[1]
        return (os.path.join(self.dir, name + ".pem"),
                os.path.join(self.dir, name + ".key"), serial.upper())

    def context(self):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.check_hostname = True
        return ctx


def install(relay, cert, key):
    """Into ROOT/etc/mail/tls: the certificate 0644, the key root:root
    0600, each replaced by rename."""
    d = os.path.join(relay.root, "etc/mail/tls")
    os.makedirs(d, mode=0o755, exist_ok=True)
    for src, rel, mode in ((cert, CERT, 0o644), (key, KEY, 0o600)):
        dst = os.path.join(relay.root, rel)
        shutil.copyfile(src, dst + ".new")
        os.chown(dst + ".new", 0, 0)
        os.chmod(dst + ".new", mode)
        os.rename(dst + ".new", dst)


@pytest.fixture
def pki():
    p = PKI()
    yield p
    shutil.rmtree(p.dir, ignore_errors=True)


@pytest.fixture
def relay(held_relay, pki):  # noqa: F811 (the fixture, renamed)
    """A held relay with a certificate and key installed (not yet in
    relayd.conf: each test says how it wants TLS)."""
    cert, key, held_relay.serial = pki.issue()
    install(held_relay, cert, key)
    held_relay.fixed.update({"tls_cert": "/" + CERT, "tls_key": "/" + KEY,
                             "greet_pause": "0"})
    held_relay.configure()
    return held_relay


def tls_client(relay, pki, port=None):
    """A raw client on the plain listener, through STARTTLS; returns it
    with the EHLO reply after TLS."""
    c = Client(port or relay.port)
    relay.clients.append(c)
    c.greet()
    lines = c.ehlo()
    assert "250-STARTTLS" in lines, lines
    c.send("STARTTLS\r\n")
    c.expect(220, r"^220 2\.0\.0 Ready to start TLS$")
    c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    return c


def received_of(relay, qid):
    field, _ = split_received(relay.read_queue(qid)["message"])
    return field


def test_starttls_smtplib_relays_and_records_tls(relay, pki):
    relay.start_fg()
    with smtplib.SMTP("127.0.0.1", relay.port, local_hostname="client.test",
                      timeout=10) as s:
        code, _ = s.ehlo()
        assert code == 250 and s.has_extn("starttls")
        code, msg = s.starttls(context=pki.context())
        assert code == 220, msg
        cipher = s.sock.cipher()
        version = s.sock.version()
        code, _ = s.ehlo()
        assert code == 250
        assert not s.has_extn("starttls"), s.esmtp_features
        # AUTH is not part of this server: still refused over TLS.
        assert s.docmd("AUTH PLAIN AGFsaWNlAHNlY3JldA==")[0] == 502
        s.sendmail("alice@example.com", ["bob@example.net"],
                   b"Subject: tls\r\n\r\nover TLS\r\n")
    qid = relay.queue_ids()[0]
    field = received_of(relay, qid)
    want = "(using %s with cipher %s (%d/%d bits))" % (
        version, cipher[0], cipher[2], cipher[2])
    assert want in field, (want, field)
    assert " with ESMTPS id %s" % qid in field, field
    assert re.search(r"TLS connection established from \[127\.0\.0\.1\]: "
                     + re.escape(want[7:-1]), relay.stderr()), relay.stderr()


def test_plain_session_has_no_tls_in_received(relay):
    relay.start_fg()
    c = relay.client()
    qid = send_message(c, "a@example.com", ["b@example.net"],
                       b"Subject: clear\r\n\r\nx\r\n")
    field = received_of(relay, qid)
    assert "using" not in field and " with ESMTP id " in field, field


def test_openssl_s_client_starttls(relay):
    relay.start_fg()
    r = subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-crlf", "-ign_eof",
         "-connect", "127.0.0.1:%d" % relay.port, "-servername", HOSTNAME],
        input="EHLO s-client.test\nQUIT\n", capture_output=True, text=True,
        timeout=30)
    out = r.stdout
    assert "BEGIN CERTIFICATE" in out or "Server certificate" in out, out
    assert re.search(r"New, TLSv1\.[23], Cipher is", out), out
    after = out.split("---")[-1]
    assert "250-%s" % HOSTNAME in after and "221 2.0.0 Bye" in after, after
    assert "STARTTLS" not in after, after
    assert r.returncode == 0, (out, r.stderr)


def test_swaks_tls_relays(relay):
    relay.start_fg()
    r = subprocess.run(
        ["swaks", "--server", "127.0.0.1:%d" % relay.port, "--tls",
         "--helo", "swaks.test", "--from", "alice@example.com", "--to",
         "bob@example.net", "--body", "swaks over tls", "--timeout", "20"],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout, r.stdout
    m = re.search(r"<~\s+250 2\.0\.0 Ok: queued as ([0-9A-Z]+)", r.stdout)
    assert m, r.stdout
    field = received_of(relay, m.group(1))
    assert re.search(r"\(using " + TLS_RE + r"\)", field), field


def test_pipelined_commands_after_starttls_are_discarded(relay, pki):
    """CVE-2011-0411: MAIL sent in the clear right behind STARTTLS, in the
    same segment, is neither answered nor executed after the handshake."""
    relay.start_fg()
    c = Client(relay.port)
    relay.clients.append(c)
    c.greet()
    c.ehlo()
    c.send("STARTTLS\r\nEHLO evil.test\r\nMAIL FROM:<mallory@example.com>"
           "\r\nRCPT TO:<victim@example.net>\r\n")
    c.expect(220)
    assert c.buf == b"", c.buf  # nothing after the 220 in the clear
    c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    # The first reply through TLS is the one to our first command: the
    # injected ones were not answered ...
    c.send("NOOP\r\n")
    c.expect(250, r"^250 2\.0\.0 Ok$")
    c.sock.settimeout(1.0)
    with pytest.raises(socket.timeout):
        c.line()
    c.sock.settimeout(c.timeout)
    # ... and the EHLO state is gone: MAIL needs a new EHLO ...
    c.send("MAIL FROM:<alice@example.com>\r\n")
    c.expect(503, r"send HELO/EHLO first")
    lines = c.ehlo()
    assert not any("STARTTLS" in ln for ln in lines), lines
    # ... and the injected MAIL never started a transaction.
    c.send("RCPT TO:<bob@example.net>\r\n")
    c.expect(503, r"need MAIL command")
    c.send("QUIT\r\n")
    c.expect(221)
    assert c.eof()
    assert relay.queue_ids() == []


def test_starttls_twice_and_inside_a_transaction(relay, pki):
    relay.start_fg()
    c = relay.client()
    c.send("MAIL FROM:<a@example.com>\r\n")
    c.expect(250)
    c.send("STARTTLS\r\n")
    c.expect(503, r"MAIL transaction in progress")
    c.send("RSET\r\n")
    c.expect(250)
    c.send("STARTTLS\r\n")
    c.expect(220)
    c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    c.ehlo()
    c.send("STARTTLS\r\n")
    c.expect(554, r"TLS already active")


def test_tls_none_keeps_starttls_unoffered(relay):
    relay.configure(tls="none")
    relay.start_fg()
    c = relay.client()
    c.send("EHLO again.test\r\n")
    assert not any("STARTTLS" in ln for ln in c.expect(250))
    c.send("STARTTLS\r\n")
    c.expect(502)


def test_tls_encrypt_requires_starttls(relay, pki):
    relay.configure(tls="encrypt")
    relay.start_fg()
    c = Client(relay.port)
    relay.clients.append(c)
    c.greet()
    assert "250-STARTTLS" in c.ehlo()
    for cmd in ("MAIL FROM:<a@example.com>", "RCPT TO:<b@example.net>",
                "DATA", "BDAT 0 LAST", "VRFY bob", "HELP", "AUTH PLAIN"):
        c.send(cmd + "\r\n")
        c.expect(530, r"^530 5\.7\.0 Must issue a STARTTLS command first$")
    for cmd, code in (("NOOP", 250), ("RSET", 250), ("HELO c.test", 250)):
        c.send(cmd + "\r\n")
        c.expect(code)
    c.send("STARTTLS\r\n")
    c.expect(220)
    c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    c.ehlo()
    qid = send_message(c, "a@example.com", ["b@example.net"],
                       b"Subject: required\r\n\r\nx\r\n")
    assert re.search(TLS_RE, received_of(relay, qid))


def test_implicit_tls_listener(relay, pki):
    tport = free_port()
    relay.configure(listen="127.0.0.1:%d, 127.0.0.1:%d/tls"
                    % (relay.port, tport))
    relay.start_fg()
    wait_for(lambda: listening(tport), what="the /tls listener")
    r = subprocess.run(
        ["openssl", "s_client", "-crlf", "-ign_eof", "-connect",
         "127.0.0.1:%d" % tport, "-servername", HOSTNAME],
        input="EHLO s-client.test\nQUIT\n", capture_output=True, text=True,
        timeout=30)
    assert re.search(r"New, TLSv1\.[23], Cipher is", r.stdout), r.stdout
    after = r.stdout.split("---")[-1]
    assert "220 %s ESMTP relayd" % HOSTNAME in after, after
    assert "250-%s" % HOSTNAME in after and "STARTTLS" not in after, after
    assert "221 2.0.0 Bye" in after, after
    with smtplib.SMTP_SSL("127.0.0.1", tport, local_hostname="client.test",
                          context=pki.context(), timeout=10) as s:
        s.ehlo()
        assert not s.has_extn("starttls")
        version, cipher = s.sock.version(), s.sock.cipher()[0]
        s.sendmail("a@example.com", ["b@example.net"],
                   b"Subject: smtps\r\n\r\nx\r\n")
    field = received_of(relay, relay.queue_ids()[0])
    assert "(using %s with cipher %s " % (version, cipher) in field, field
    # A client that speaks SMTP in the clear there gets no greeting.
    c = Client(tport, timeout=15)
    relay.clients.append(c)
    c.send("EHLO clear.test\r\n")
    assert c.eof(15)
    assert "TLS handshake failed from [127.0.0.1]" in relay.stderr()


def served_serial(port, pki):
    c = Client(port)
    try:
        c.greet()
        c.ehlo()
        c.send("STARTTLS\r\n")
        c.expect(220)
        c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
        der = c.sock.getpeercert(binary_form=True)
        c.send("QUIT\r\n")
        c.expect(221)
    finally:
        c.close()
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout",
                        "-serial"], input=der, capture_output=True,
                       timeout=30)
    return r.stdout.decode().strip().split("=")[1].upper()


def test_hup_reloads_keys_and_keeps_old_ones_on_a_bad_key(relay, pki):
    p = relay.start_fg()
    assert served_serial(relay.port, pki) == relay.serial
    # A broken key: the reload fails and the old key keeps serving.
    keypath = os.path.join(relay.root, KEY)
    with open(keypath + ".new", "w") as f:
        f.write("-----BEGIN PRIVATE KEY-----\nbroken\n"
                "-----END PRIVATE KEY-----\n")
    os.chmod(keypath + ".new", 0o600)
    os.rename(keypath + ".new", keypath)
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: "reload failed" in relay.stderr(), what="reload failed")
    assert re.search(r"reload failed: tls_key '/%s': no unencrypted PEM "
                     r"private key" % re.escape(KEY), relay.stderr())
    assert served_serial(relay.port, pki) == relay.serial
    # A key of another certificate: refused the same way.
    cert2, key2, serial2 = pki.issue()
    install(relay, os.path.join(relay.root, CERT), key2)
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: "does not match tls_cert" in relay.stderr(),
             what="the mismatch to be logged")
    assert served_serial(relay.port, pki) == relay.serial
    # A good new pair is taken.
    install(relay, cert2, key2)
    n = relay.stderr().count("configuration reloaded")
    p.send_signal(signal.SIGHUP)
    wait_for(lambda: relay.stderr().count("configuration reloaded") > n,
             what="the reload")
    assert served_serial(relay.port, pki) == serial2


def test_bad_key_refuses_start(relay, pki):
    _, key2, _ = pki.issue()
    install(relay, os.path.join(relay.root, CERT), key2)
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=20) == 78
    assert "does not match tls_cert" in relay.stderr(), relay.stderr()


def test_smtp_child_never_has_the_key(relay, pki):
    """The key is root:root 0600: the session child (the relay account)
    holds no fd on it and could not open it."""
    relay.start_fg()
    c = tls_client(relay, pki)
    c.ehlo()
    pids = wait_for(lambda: relay.sessions(), what="the session child")
    keypath = os.path.realpath(os.path.join(relay.root, KEY))
    for pid in pids:
        fds = os.listdir("/proc/%d/fd" % pid)
        targets = []
        for fd in fds:
            try:
                targets.append(os.readlink("/proc/%d/fd/%s" % (pid, fd)))
            except FileNotFoundError:
                pass
        assert keypath not in targets, targets
        assert not any(t.endswith(".key") for t in targets), targets
        st = open("/proc/%d/status" % pid).read()
        uid = re.search(r"^Uid:\s+(\d+)", st, re.M).group(1)
        assert int(uid) == relay.uid, st
    # The relay account (what the child runs as) cannot open the key.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(relay.gid)
            os.setuid(relay.uid)
            try:
                os.close(os.open(keypath, os.O_RDONLY))
                os.write(w, b"opened")
            except OSError as e:
                os.write(w, str(e.errno).encode())
        finally:
            os._exit(0)
    os.close(w)
    got = os.read(r, 100)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == str(errno.EACCES).encode(), got
    st = os.stat(keypath)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o600)
    c.send("QUIT\r\n")
    c.expect(221)


def test_starttls_in_a_chrooted_child(relay, pki):
    """chroot = yes: the handshake needs nothing from the filesystem."""
    relay.configure(chroot="yes")
    relay.start_fg()
    c = tls_client(relay, pki)
    c.ehlo()
    qid = send_message(c, "a@example.com", ["b@example.net"],
                       b"Subject: chroot\r\n\r\nx\r\n")
    assert re.search(TLS_RE, received_of(relay, qid))


def s_client(relay, *opts):
    r = subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-crlf", "-ign_eof",
         "-connect", "127.0.0.1:%d" % relay.port, "-servername", HOSTNAME]
        + list(opts),
        input="EHLO s-client.test\nQUIT\n", capture_output=True, text=True,
        timeout=30)
    m = re.search(r"New, (TLSv1\.[0-3]), Cipher is (\S+)", r.stdout)
    return (m.groups() if m and r.returncode == 0 else None), r


def test_tls_min_version_refuses_older(relay):
    relay.configure(tls_min_version="TLSv1.3")
    relay.start_fg()
    got, r = s_client(relay, "-tls1_2")
    assert got is None, r.stdout
    got, r = s_client(relay, "-tls1_3")
    assert got is not None and got[0] == "TLSv1.3", (r.stdout, r.stderr)


def test_tls_ciphers_chooses_the_tls12_cipher(relay):
    # The test key is ECDSA P-256; the default would pick AES-256.
    relay.configure(tls_ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    relay.start_fg()
    got, r = s_client(relay, "-tls1_2")
    assert got == ("TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"), r.stdout


def test_tls_ciphers_nothing_known_refuses_start(relay):
    relay.configure(tls_ciphers="NO-SUCH-CIPHER")
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=20) == 78, relay.stderr()
    assert "tls_ciphers: no cipher OpenSSL knows in 'NO-SUCH-CIPHER'" in \
        relay.stderr(), relay.stderr()


def test_starttls_listener_requires_tls_there_only(relay, pki):
    """A /starttls listener (submission style) requires STARTTLS while the
    plain listener, with tls = may, still takes mail in the clear."""
    sport = free_port()
    relay.configure(listen="127.0.0.1:%d, 127.0.0.1:%d/starttls"
                    % (relay.port, sport), tls="may")
    relay.start_fg()
    wait_for(lambda: listening(sport), what="the /starttls listener")
    c = Client(sport)
    relay.clients.append(c)
    c.greet()
    assert "250-STARTTLS" in c.ehlo()
    c.send("MAIL FROM:<a@example.com>\r\n")
    c.expect(530, r"^530 5\.7\.0 Must issue a STARTTLS command first$")
    c.send("STARTTLS\r\n")
    c.expect(220)
    c.sock = pki.context().wrap_socket(c.sock, server_hostname=HOSTNAME)
    c.ehlo()
    qid = send_message(c, "a@example.com", ["b@example.net"],
                       b"Subject: submission\r\n\r\nx\r\n")
    assert re.search(TLS_RE, received_of(relay, qid))
    # The plain listener is not affected.
    p = Client(relay.port)
    relay.clients.append(p)
    p.greet()
    p.ehlo()
    p.send("MAIL FROM:<a@example.com>\r\n")
    p.expect(250)


def certbot_layout(relay, cert, key):
    """certbot's tree under the root: live/mx.test/*.pem are root's
    relative links into archive/, and relayd.conf names the live/ links
    (absolute links from /etc/mail would resolve under the root too)."""
    base = os.path.join(relay.root, "etc/letsencrypt")
    for d, mode in (("", 0o755), ("archive", 0o700), ("archive/mx.test",
                                                        0o755),
                    ("live", 0o700), ("live/mx.test", 0o755)):
        os.makedirs(os.path.join(base, d), exist_ok=True)
        os.chmod(os.path.join(base, d), mode)
    for src, name, mode in ((cert, "fullchain", 0o644),
                            (key, "privkey", 0o600)):
        dst = os.path.join(base, "archive/mx.test/%s1.pem" % name)
        shutil.copyfile(src, dst)
        os.chmod(dst, mode)
        os.symlink("../../archive/mx.test/%s1.pem" % name,
                   os.path.join(base, "live/mx.test/%s.pem" % name))
    return ("/etc/letsencrypt/live/mx.test/fullchain.pem",
            "/etc/letsencrypt/live/mx.test/privkey.pem")


def test_certbot_symlinks_are_followed_when_root_owns_them(relay, pki):
    """The master reads a certificate and key through root's symlinks
    (certbot's live/ -> archive/), check agrees, and a link another user
    owns is refused at start with the reason."""
    cert, key, _ = pki.issue()
    live_cert, live_key = certbot_layout(relay, cert, key)
    relay.configure(tls_cert=live_cert, tls_key=live_key)
    relay.start_fg()
    c = tls_client(relay, pki)
    c.send("QUIT\r\n")
    c.expect(221)
    r = relay.relayctl("check", "--root", relay.root, "--json")
    assert '"tls.' not in r.out, r.out
    relay.stop()
    # The same link owned by someone else: nobody but root may choose.
    os.lchown(os.path.join(relay.root, live_key[1:]), 65534, 65534)
    p = relay.start_fg(wait=False)
    assert p.wait(timeout=30) == 78, relay.stderr()
    assert re.search(r"tls_key '%s': .*not root's alone" % re.escape(
        live_key), relay.stderr()), relay.stderr()
    r = relay.relayctl("check", "--root", relay.root)
    assert "tls.unreadable" in r.out and "not root's alone" in r.out, r.out
