"""share/examples/relayctl-playbook.yml run by Debian's ansible-core
against a fixture root over the local connection: the first run changes
the root, the second changes nothing, and the audit is clean both times."""

import os
import re
import subprocess

from harness import SOURCE_DIR, relayctl_path

PLAYBOOK = os.path.join(SOURCE_DIR, "share/examples/relayctl-playbook.yml")


def play(root, tmp_path):
    """(exit status, the recap's counters for localhost, the output)."""
    env = dict(os.environ, LC_ALL="C.UTF-8", ANSIBLE_HOME=str(tmp_path),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3")
    cp = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c",
                         "local", "-e", "relayctl=" + relayctl_path(),
                         "-e", "relay_root=" + root, PLAYBOOK],
                        capture_output=True, text=True, env=env, timeout=300)
    m = re.search(r"^localhost\s+:\s+(.*)$", cp.stdout, re.M)
    assert m, cp.stdout + cp.stderr
    recap = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))}
    return cp.returncode, recap, cp.stdout


def summary(out):
    """The Findings task's message: check's summary counters."""
    m = re.search(r'"msg": \{([^}]*)\}', out)
    assert m, out
    return {k: int(v) for k, v in re.findall(r'"(\w+)": (\d+)', m.group(1))}


def test_playbook_is_idempotent_and_check_is_clean(make_root, tmp_path):
    root = make_root("debian")
    rc, recap, out = play(root, tmp_path)
    assert rc == 0, out
    assert recap["changed"] == 1 and recap["failed"] == 0, out
    assert summary(out)["unsafe"] == 0 and summary(out)["drift"] == 0
    rc, recap, out = play(root, tmp_path)
    assert rc == 0, out
    assert recap["changed"] == 0 and recap["failed"] == 0, out
    assert summary(out)["drift"] == 0


def test_playbook_fails_on_what_setup_cannot_fix(make_root, tmp_path):
    """The play can fail: a hard-linked file in the spool is unsafe, setup
    leaves it to a human (exit 3) and the play stops there."""
    root = make_root("debian")
    spool = os.path.join(root, "var/spool/mqueue")
    os.link(os.path.join(spool, "qfA1B2C3"), os.path.join(root, "qf-link"))
    rc, recap, out = play(root, tmp_path)
    assert rc != 0
    assert recap["failed"] == 1 and recap["changed"] == 0, out
