"""relayctl setup --emit sysusers|tmpfiles, applied by systemd's own tools.

A fresh Debian-like root (accounts only: GID 24 is cdrom) gets the
installed tree (cmake --install with DESTDIR), then systemd-sysusers
--root and systemd-tmpfiles --root --create apply the installed snippets,
and relayctl check --root must find it clean.  The one documented
difference: systemd-tmpfiles --root looks the names in an "a" (ACL) line
up in the host's user database, not the root's, so with --root alone the
default ACL on /etc/mail is missing (on a real system, where sysusers ran
first, the name resolves); the clean run puts the root's passwd and group
over the host's in a private mount namespace, the way they are at boot.
"""

import json
import os
import subprocess

import fixtures
from harness import build_dir, relayctl_path
from test_install import cmake_cache, install


def run(argv, **kw):
    cp = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                        env=dict(os.environ, LC_ALL="C"), **kw)
    return cp


def fresh_root(make_root):
    root = make_root("empty")
    fixtures.write_accounts(root, fixtures.DEBIAN_PASSWD,
                            fixtures.DEBIAN_GROUP)
    install(root)
    return root


def snippets(root):
    lib = root + cmake_cache("CMAKE_INSTALL_PREFIX") + "/lib"
    return lib + "/sysusers.d/relayd.conf", lib + "/tmpfiles.d/relayd.conf"


def apply(root, host_names=True):
    su, tf = snippets(root)
    cp = run(["systemd-sysusers", "--root=" + root, su])
    assert cp.returncode == 0, cp.stderr
    tmpfiles = ["systemd-tmpfiles", "--root=" + root, "--create", tf]
    if host_names:
        cp = run(tmpfiles)
    else:
        script = ('mount --bind "$1/etc/passwd" /etc/passwd && '
                  'mount --bind "$1/etc/group" /etc/group && '
                  'shift && exec "$@"')
        cp = run(["unshare", "--mount", "--propagation", "private",
                  "sh", "-c", script, "sh", root] + tmpfiles)
    assert cp.returncode == 0, cp.stderr
    return cp


def check(root):
    cp = run([relayctl_path(), "check", "--root", root, "--json"])
    doc = json.loads(cp.stdout)
    return cp.returncode, [(f["id"], f["path"]) for f in doc["findings"]
                           if f["severity"] != "advice"]


def test_installed_snippets_are_what_emit_prints():
    for kind in ("sysusers", "tmpfiles"):
        cp = run([relayctl_path(), "setup", "--emit", kind])
        assert cp.returncode == 0, cp.stderr
        with open(os.path.join(build_dir(), "relayd-%s.conf" % kind)) as f:
            assert f.read() == cp.stdout


def test_emit_refuses_another_kind():
    cp = run([relayctl_path(), "setup", "--emit", "passwd"])
    assert cp.returncode == 64
    assert "option '--emit' takes sysusers or tmpfiles, not 'passwd'" \
        in cp.stderr


def test_sysusers_and_tmpfiles_give_a_clean_check(make_root):
    root = fresh_root(make_root)
    apply(root, host_names=False)
    rc, findings = check(root)
    assert findings == []
    assert rc == 0
    # the account: sysusers kept off cdrom's GID 24, locked, no shell
    with open(os.path.join(root, "etc/passwd")) as f:
        line = [ln for ln in f if ln.startswith("sendmail:")][0]
    assert line.rstrip("\n").split(":")[5:] == ["/var/spool/mqueue",
                                                "/usr/sbin/nologin"]
    with open(os.path.join(root, "etc/group")) as f:
        assert "cdrom:x:24:\n" in f.read()


def test_with_root_alone_the_default_acl_is_the_one_difference(make_root):
    root = fresh_root(make_root)
    cp = apply(root, host_names=True)
    assert "Failed to parse ACL" in cp.stderr
    rc, findings = check(root)
    assert findings == [("acl.default", "/etc/mail")]
    assert rc == 2


def test_tmpfiles_is_idempotent_and_setup_agrees(make_root):
    root = fresh_root(make_root)
    apply(root, host_names=False)
    apply(root, host_names=False)
    cp = run([relayctl_path(), "setup", "--root", root, "--plan"])
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout == "relayctl: nothing to do\n"
