"""Where relayctl finds its data (the manifest and relayd.conf.sample).

The relayctl the build tree made uses share/ of the source tree, so it
works before it is installed; any other copy uses the installed data
directory, and when that is missing it says in one line what it could not
read, why (the real errno) and how to fix it (RELAYCTL_DATADIR).
"""

import os
import shutil
import subprocess

from harness import SHARE_DEFAULT, relayctl_path


def run(binary, *args, env=None):
    e = {k: v for k, v in os.environ.items() if k != "RELAYCTL_DATADIR"}
    e["LC_ALL"] = "C"
    e.update(env or {})
    return subprocess.run([binary] + [str(a) for a in args],
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=e, timeout=60)


def test_build_tree_binary_finds_share_without_env(make_root):
    root = make_root("debian")
    cp = run(relayctl_path(), "setup", "--root", root)
    assert cp.returncode == 0, cp.stderr
    with open(os.path.join(SHARE_DEFAULT, "relayd.conf.sample")) as f:
        sample = f.read()
    with open(os.path.join(root, "etc/mail/relayd.conf")) as f:
        installed = f.read()
    # setup rewrites run_as to the account it chose; the rest is the sample
    strip = [ln for ln in sample.splitlines() if not ln.startswith("run_as")]
    assert [ln for ln in installed.splitlines()
            if not ln.startswith("run_as")] == strip


def test_missing_datadir_says_errno_path_and_fix(make_root, tmp_path):
    root = make_root("debian")
    missing = tmp_path / "no-such-dir"
    cp = run(relayctl_path(), "setup", "--root", root,
             env={"RELAYCTL_DATADIR": str(missing)})
    assert cp.returncode == 1
    lines = [ln for ln in cp.stderr.splitlines() if "sample" in ln]
    assert lines == [
        "relayctl: cannot read sample '%s/relayd.conf.sample': "
        "No such file or directory (set RELAYCTL_DATADIR to the directory "
        "with layout and relayd.conf.sample, or install relayctl)" % missing]
    assert not os.path.exists(os.path.join(root, "etc/mail/relayd.conf"))


def test_datadir_not_a_directory_gives_its_errno(make_root, tmp_path):
    root = make_root("debian")
    notdir = tmp_path / "file"
    notdir.write_text("")
    cp = run(relayctl_path(), "setup", "--root", root,
             env={"RELAYCTL_DATADIR": str(notdir)})
    assert cp.returncode == 1
    assert ("cannot read sample '%s/relayd.conf.sample': Not a directory"
            % notdir) in cp.stderr


def test_a_copy_never_uses_the_source_tree(make_root, tmp_path):
    """Only the very file the build made uses share/ of the source tree:
    a copy (an installed relayctl) looks in the installed data directory."""
    root = make_root("debian")
    copy = tmp_path / "relayctl"
    shutil.copy2(relayctl_path(), copy)
    cp = run(str(copy), "setup", "--root", root)
    # (tests never install into the host's prefix, so it is missing)
    installed = "/share/relayctl/relayd.conf.sample"
    assert cp.returncode == 1, cp.stdout
    assert installed + "': No such file or directory" in cp.stderr
    assert SHARE_DEFAULT not in cp.stderr
    assert "RELAYCTL_DATADIR" in cp.stderr
    # and with the variable it works like the build-tree binary
    cp = run(str(copy), "setup", "--root", root,
             env={"RELAYCTL_DATADIR": SHARE_DEFAULT})
    assert cp.returncode == 0, cp.stderr
