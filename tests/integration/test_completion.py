"""share/completion/relayctl, loaded into a real bash: commands, each
command's options (from 'relayctl help', so they follow the parser) and
queue ids from a spool with queued and held messages."""

import os
import subprocess

from harness import SOURCE_DIR, queue_file_bytes, relayctl_path
from relayd_harness import relay  # noqa: F401 (fixture)

COMPLETION = os.path.join(SOURCE_DIR, "share/completion/relayctl")

DRIVER = r'''
set -u
source "$1"; shift
complete -p relayctl >/dev/null || { echo "not registered" >&2; exit 1; }
COMP_WORDS=(relayctl "$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_relayctl
printf '%s\n' "${COMPREPLY[@]}"
'''


def complete(*words):
    env = dict(os.environ, LC_ALL="C",
               PATH=os.path.dirname(relayctl_path()) + ":" +
               os.environ["PATH"])
    cp = subprocess.run(["bash", "--norc", "--noprofile", "-c", DRIVER,
                         "bash", COMPLETION] + list(words),
                        capture_output=True, text=True, env=env, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert cp.stderr == ""
    return sorted(x for x in cp.stdout.split("\n") if x)


def test_commands():
    assert complete("") == sorted(
        "setup check start stop restart reload status metrics queue passwd "
        "help "
        "--help --version".split())
    assert complete("re") == ["reload", "restart"]
    assert complete("help", "q") == ["queue"]


def test_options_follow_the_parser():
    assert complete("setup", "--") == sorted(
        "--emit --gid --help --json --mta --plan --root --strict-ids "
        "--uid --user".split())
    assert complete("check", "--") == ["--help", "--json", "--mta",
                                       "--quiet", "--root"]
    assert complete("start", "--r") == ["--root"]
    assert complete("setup", "--emit", "") == ["sysusers", "tmpfiles"]
    assert complete("queue", "") == sorted(
        "list flush delete hold release".split())


def test_root_completes_directories(tmp_path):
    (tmp_path / "rootdir").mkdir()
    (tmp_path / "afile").write_text("")
    assert complete("check", "--root", str(tmp_path) + "/") == \
        [str(tmp_path / "rootdir")]


def put(relay, where, qid):  # noqa: F811
    path = relay.spool(where, qid)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL |
                 os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, queue_file_bytes(qid, b"Subject: t\r\n\r\nhi\r\n"))
        os.fchown(fd, relay.uid, relay.gid)
    finally:
        os.close(fd)


def test_queue_ids(relay):  # noqa: F811
    queued = ["0000000000AAAAA1", "0000000000AAAAB2"]
    held = ["0000000000BBBBB3"]
    for qid in queued:
        put(relay, "queue", qid)
    for qid in held:
        put(relay, "hold", qid)
    r = ["--root", relay.root]
    assert complete("queue", *r, "delete", "") == sorted(queued + held)
    assert complete("queue", *r, "hold", "") == queued
    assert complete("queue", "release", *r, "") == held
    assert complete("queue", *r, "delete", "0000000000AAAAB") == [queued[1]]
    # one id only: nothing after it
    assert complete("queue", *r, "delete", queued[0], "") == []


def test_bash_completion_loads_the_installed_file(tmp_path):
    """bash-completion's loader finds it where cmake --install puts it."""
    from test_install import cmake_cache, install
    install(tmp_path)
    share = str(tmp_path) + cmake_cache("CMAKE_INSTALL_PREFIX") + "/share"
    script = (". /usr/share/bash-completion/bash_completion && "
              "_completion_loader relayctl; complete -p relayctl")
    cp = subprocess.run(["bash", "--norc", "--noprofile", "-c", script],
                        capture_output=True, text=True, timeout=60,
                        env=dict(os.environ, XDG_DATA_DIRS=share))
    assert cp.stdout.strip() == "complete -F _relayctl relayctl", cp.stderr
