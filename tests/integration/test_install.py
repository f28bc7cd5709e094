"""cmake --install into a temporary DESTDIR, and the systemd unit.

The installed tree is listed and compared with what the build and share/
hold (every man page, whoever adds one); the unit is checked with
systemd-analyze verify where its paths are real (a private mount namespace
puts the DESTDIR's /usr/local over /usr/local, nothing else sees it), and
relayd runs under the unit's capability bounding set.
"""

import glob
import os
import re
import subprocess

import pytest

from harness import SOURCE_DIR, build_dir
from relayd_harness import Client, relay  # noqa: F401 (fixture)

UNIT = "lib/systemd/system/relayd.service"


def cmake_cache(key):
    with open(os.path.join(build_dir(), "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split("=", 1)[1].strip()
    raise AssertionError("%s not in CMakeCache.txt" % key)


def install(destdir, prefix=None):
    cmd = ["cmake", "--install", build_dir()]
    if prefix:
        cmd += ["--prefix", prefix]
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                        env=dict(os.environ, DESTDIR=str(destdir)))
    assert cp.returncode == 0, cp.stdout + cp.stderr
    return cp.stdout


def listing(destdir):
    out = {}
    for dirpath, _, files in os.walk(destdir):
        for name in files:
            p = os.path.join(dirpath, name)
            out[os.path.relpath(p, destdir)] = os.stat(p).st_mode & 0o7777
    return out


def expected(prefix):
    p = prefix.lstrip("/")
    want = {}
    # relayctl, relayd and any other relayd-* program the build makes
    for exe in glob.glob(os.path.join(build_dir(), "relay*")):
        if os.path.isfile(exe) and os.access(exe, os.X_OK):
            want["%s/sbin/%s" % (p, os.path.basename(exe))] = 0o755
    for page in glob.glob(os.path.join(SOURCE_DIR, "share/man/*.[0-9]")):
        name = os.path.basename(page)
        want["%s/share/man/man%s/%s" % (p, name[-1], name)] = 0o644
    for name in ("layout", "relayd.conf.sample"):
        want["%s/share/relayctl/%s" % (p, name)] = 0o644
    want["%s/%s" % (p, UNIT)] = 0o644
    want["%s/lib/sysusers.d/relayd.conf" % p] = 0o644
    want["%s/lib/tmpfiles.d/relayd.conf" % p] = 0o644
    want["%s/share/bash-completion/completions/relayctl" % p] = 0o644
    return want


@pytest.mark.parametrize("prefix", [None, "/usr", "/opt/relay"])
def test_install_tree_under_destdir(tmp_path, prefix):
    dest = tmp_path / "dest"
    out = install(dest, prefix)
    assert str(dest) in out
    p = prefix or cmake_cache("CMAKE_INSTALL_PREFIX")
    assert listing(dest) == expected(p)
    # nothing outside DESTDIR: every installed path was under it
    for line in out.splitlines():
        if line.startswith("-- Installing: ") or \
                line.startswith("-- Up-to-date: "):
            assert line.split(": ", 1)[1].startswith(str(dest) + "/"), line


def test_installed_relayctl_runs_with_installed_data(tmp_path, make_root):
    dest = tmp_path / "dest"
    install(dest, "/usr")
    root = make_root("debian")
    exe = str(dest / "usr/sbin/relayctl")
    env = dict(os.environ, LC_ALL="C",
               RELAYCTL_DATADIR=str(dest / "usr/share/relayctl"))
    cp = subprocess.run([exe, "setup", "--root", root], capture_output=True,
                        text=True, env=env, timeout=60)
    assert cp.returncode == 0, cp.stderr
    cp = subprocess.run([exe, "check", "--root", root, "--quiet"],
                        capture_output=True, text=True, env=env, timeout=60)
    assert cp.returncode == 0, cp.stdout + cp.stderr


def unit_text():
    with open(os.path.join(build_dir(), "relayd.service")) as f:
        return f.read()


def unit_values(key):
    return [ln.split("=", 1)[1] for ln in unit_text().splitlines()
            if ln.startswith(key + "=")]


def test_unit_paths_follow_the_configured_prefix():
    sbin = cmake_cache("CMAKE_INSTALL_PREFIX") + "/sbin"
    assert unit_values("ExecStart") == [sbin + "/relayd"]
    assert unit_values("ExecStartPre") == ["+" + sbin +
                                           "/relayctl check --quiet"]
    assert unit_values("ExecReload") == ["/bin/kill -HUP $MAINPID"]
    assert unit_values("Type") == ["forking"]
    assert unit_values("PIDFile") == ["/run/relayd.pid"]
    assert unit_values("NoNewPrivileges") == []
    assert unit_values("ProtectSystem") == ["strict"]
    assert unit_values("PrivateTmp") == ["yes"]
    assert unit_values("ProtectHome") == ["yes"]
    assert unit_values("ReadWritePaths") == ["/var/spool/mqueue /run"]


def master_keep():
    with open(os.path.join(SOURCE_DIR, "relayd/master_start.c")) as f:
        src = f.read()
    m = re.search(r"master_keep\[\] = \{([^}]*)\}", src)
    assert m, "master_keep not found in relayd/master_start.c"
    return set(re.findall(r"CAP_[A-Z_]+", m.group(1)))


# What the master needs only before it drops to master_keep (see the unit).
STARTUP_ONLY = {"CAP_DAC_READ_SEARCH", "CAP_SETPCAP"}


def test_bounding_set_is_the_masters_capabilities():
    keep = master_keep()
    assert len(keep) == 5
    (bset,) = unit_values("CapabilityBoundingSet")
    assert set(bset.split()) == keep | STARTUP_ONLY


def test_relayd_works_under_the_units_bounding_set(relay):  # noqa: F811
    (bset,) = unit_values("CapabilityBoundingSet")
    caps = ",".join("+" + c[4:].lower() for c in bset.split())
    relay.configure()
    relay.start_fg(argv_prefix=["setpriv", "--bounding-set=-all," + caps])
    c = Client(relay.port)
    c.greet()
    c.ehlo()
    c.close()
    with open("/proc/%d/status" % relay.master_pid()) as f:
        status = dict(ln.split(":\t", 1) for ln in f.read().splitlines())
    names = subprocess.run(["capsh", "--decode=" + status["CapEff"].strip()],
                           capture_output=True, text=True).stdout
    eff = {c.upper() for c in names.split("=", 1)[1].strip().split(",")}
    assert eff == master_keep()
    assert int(status["CapBnd"], 16) == 0


def test_bounding_set_without_startup_caps_fails(relay):  # noqa: F811
    """Why the unit has the two start-up capabilities: without them the
    master cannot open the spool or empty its bounding set."""
    caps = ",".join("+" + c[4:].lower() for c in master_keep())
    relay.configure()
    p = relay.start_fg(wait=False,
                       argv_prefix=["setpriv", "--bounding-set=-all," + caps])
    assert p.wait(timeout=30) != 0
    assert "Permission denied" in relay.stderr() or \
        "Operation not permitted" in relay.stderr()


def verify_installed(tmp_path, remove=None):
    """systemd-analyze verify on the unit as installed, its paths real:
    the DESTDIR's copy of the prefix is bound over the prefix in a private
    mount namespace (the host sees nothing)."""
    pfx = cmake_cache("CMAKE_INSTALL_PREFIX")
    assert pfx not in ("/", "/usr"), "needs a build configured for " \
        "a prefix systemd-analyze does not live in (default /usr/local)"
    dest = tmp_path / "dest"
    install(dest)
    if remove:
        os.unlink(str(dest) + pfx + "/" + remove)
    script = 'mount --bind "$1$2" "$2" && exec systemd-analyze verify "$2/$3"'
    return subprocess.run(["unshare", "--mount", "--propagation", "private",
                           "sh", "-c", script, "sh", str(dest), pfx, UNIT],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, LC_ALL="C"))


def test_systemd_analyze_verify_clean(tmp_path):
    # also resolves the Documentation= man pages against the installed ones
    cp = verify_installed(tmp_path)
    assert cp.returncode == 0, cp.stderr
    # clean: no word about our unit (other units' noise is not ours)
    ours = [ln for ln in cp.stderr.splitlines() if "relayd.service" in ln]
    assert ours == [], cp.stderr


def test_systemd_analyze_catches_a_bad_unit(tmp_path):
    """The verify test can fail: the unit's relayd is not installed."""
    cp = verify_installed(tmp_path, remove="sbin/relayd")
    assert cp.returncode != 0
    assert "relayd is not executable" in cp.stderr
