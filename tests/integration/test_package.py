"""The Debian package: cpack -G DEB from a tree configured for /usr.

Builds its own tree (testing off) once per run, then checks the package
with dpkg-deb (listing, control fields, conffiles), lintian (no error, no
warning) and installs it with dpkg --root into a fresh Debian-like root
(accounts only; maintainer scripts without chroot, DPKG_ROOT honoured):
postinst's sysusers and tmpfiles leave a root relayctl check accepts, but
for the one difference test_snippets.py documents (the default ACL's name
is looked up on the host when tmpfiles runs with --root).
"""

import glob
import json
import os
import shutil
import subprocess
import tempfile

import pytest

import fixtures
from harness import SOURCE_DIR


def run(argv, **kw):
    kw.setdefault("timeout", 600)
    return subprocess.run(argv, capture_output=True, text=True,
                          env=dict(os.environ, LC_ALL="C"), **kw)


@pytest.fixture(scope="module")
def deb():
    work = tempfile.mkdtemp(prefix="relayctl-deb-", dir="/tmp")
    b = os.path.join(work, "build")
    try:
        for argv in (["cmake", "-S", SOURCE_DIR, "-B", b,
                      "-DCMAKE_INSTALL_PREFIX=/usr", "-DBUILD_TESTING=OFF",
                      "-DRELAY_WERROR=ON"],
                     ["cmake", "--build", b, "-j2"]):
            cp = run(argv)
            assert cp.returncode == 0, cp.stdout[-3000:] + cp.stderr
        cp = run(["cpack", "-G", "DEB"], cwd=b)
        assert cp.returncode == 0, cp.stdout + cp.stderr
        (path,) = glob.glob(os.path.join(b, "relayctl_*_*.deb"))
        yield path
    finally:
        shutil.rmtree(work)


def listing(deb):
    cp = run(["dpkg-deb", "-c", deb])
    assert cp.returncode == 0, cp.stderr
    out = {}
    for line in cp.stdout.splitlines():
        f = line.split()
        out[f[-1].lstrip(".")] = (f[0], f[1])
    return out


def test_dpkg_listing(deb):
    files = {p: v for p, v in listing(deb).items() if not p.endswith("/")}
    pages = glob.glob(os.path.join(SOURCE_DIR, "share/man/*.[1-9]"))
    want = {
        "/etc/mail/relayd.conf": ("-rw-r--r--", "root/root"),
        "/usr/lib/systemd/system/relayd.service": ("-rw-r--r--", "root/root"),
        "/usr/lib/sysusers.d/relayd.conf": ("-rw-r--r--", "root/root"),
        "/usr/lib/tmpfiles.d/relayd.conf": ("-rw-r--r--", "root/root"),
        "/usr/share/bash-completion/completions/relayctl":
            ("-rw-r--r--", "root/root"),
        "/usr/share/doc/relayctl/changelog.gz": ("-rw-r--r--", "root/root"),
        "/usr/share/doc/relayctl/copyright": ("-rw-r--r--", "root/root"),
        "/usr/share/relayctl/layout": ("-rw-r--r--", "root/root"),
        "/usr/share/relayctl/relayd.conf.sample": ("-rw-r--r--", "root/root"),
    }
    for page in pages:
        name = os.path.basename(page)
        want["/usr/share/man/man%s/%s.gz" % (name[-1], name)] = \
            ("-rw-r--r--", "root/root")
    sbin = {p for p in files if p.startswith("/usr/sbin/")}
    assert {"/usr/sbin/relayctl", "/usr/sbin/relayd"} <= sbin
    for p in sbin:
        want[p] = ("-rwxr-xr-x", "root/root")
    assert files == want


def test_control_fields_and_conffiles(deb):
    cp = run(["dpkg-deb", "-f", deb, "Package", "Section", "Depends"])
    assert cp.returncode == 0, cp.stderr
    fields = dict(ln.split(": ", 1) for ln in cp.stdout.splitlines())
    assert fields["Package"] == "relayctl"
    assert fields["Section"] == "mail"
    deps = fields["Depends"]
    for lib in ("libc6", "libssl3", "libcap2", "libacl1", "libbsd0",
                "libinih1", "libc-ares2"):
        assert lib + " (" in deps, deps
    assert "systemd | systemd-standalone-sysusers" in deps
    cp = run(["dpkg-deb", "-I", deb, "conffiles"])
    assert cp.stdout == "/etc/mail/relayd.conf\n"


def test_lintian_no_errors_or_warnings(deb):
    cp = run(["lintian", "--tag-display-limit", "0", deb])
    tags = [ln for ln in cp.stdout.splitlines()
            if ln.startswith(("E:", "W:"))]
    assert tags == [], cp.stdout
    assert cp.returncode == 0, cp.stdout + cp.stderr


def test_dpkg_root_install_gives_a_working_check(deb, make_root):
    root = make_root("empty")
    os.makedirs(os.path.join(root, "var/lib/dpkg/info"))
    os.makedirs(os.path.join(root, "var/lib/dpkg/updates"))
    open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
    fixtures.write_accounts(root, fixtures.DEBIAN_PASSWD,
                            fixtures.DEBIAN_GROUP)
    # the root holds no libc: dependencies are the host's
    cp = run(["dpkg", "--root=" + root, "--force-depends",
              "--force-script-chrootless", "-i", deb])
    assert cp.returncode == 0, cp.stdout + cp.stderr
    cp = run(["dpkg-query", "--root=" + root, "-W",
              "-f=${Status} ${Conffiles}", "relayctl"])
    assert cp.stdout.startswith("install ok installed")
    assert "/etc/mail/relayd.conf " in cp.stdout
    relayctl = os.path.join(root, "usr/sbin/relayctl")
    cp = run([relayctl, "check", "--root", root, "--json"])
    doc = json.loads(cp.stdout)
    findings = [(f["id"], f["path"]) for f in doc["findings"]
                if f["severity"] != "advice"]
    assert findings == [("acl.default", "/etc/mail")]
    # which 'relayctl setup' fixes, and then check is clean
    cp = run([relayctl, "setup", "--root", root])
    assert cp.returncode == 0, cp.stderr
    cp = run([relayctl, "check", "--root", root, "--quiet"])
    assert cp.returncode == 0, cp.stdout + cp.stderr
