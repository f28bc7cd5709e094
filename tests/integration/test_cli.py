"""Integration tests for relayctl's command line: version, help, usage
errors (64); and the Postfix peer tools that
later tests drive (fetched by tests/peers/get-postfix-tools).

Anything that could reach `setup` gets --root and --plan on a fixture root,
so a parsing bug can never act on the host.
"""

import socket
import subprocess
import time

import pytest

from relayd_harness import free_port, peer

SETUP_OPTIONS = ("--root", "--plan", "--json", "--uid", "--gid",
                 "--strict-ids", "--user")
COMMANDS = ("setup", "check", "start", "stop", "restart", "reload",
            "status", "queue")


def test_version(relayctl):
    r = relayctl("--version")
    assert r.rc == 0, r
    assert r.out == "relayctl 0.1.0\n", r
    assert r.err == "", r


def test_help_lists_every_command(relayctl):
    r = relayctl("--help")
    assert r.rc == 0, r
    assert r.err == "", r
    assert "usage" in r.out.lower(), r
    for cmd in COMMANDS + ("help",):
        assert cmd in r.out.split() or any(
            w.startswith(cmd) for w in r.out.split()), (cmd, r)


def test_help_setup_and_setup_help_agree(relayctl):
    a = relayctl("help", "setup")
    b = relayctl("setup", "--help")
    assert a.rc == 0 and b.rc == 0, (a, b)
    assert a.err == "" and b.err == "", (a, b)
    assert a.out == b.out, (a, b)
    assert "setup" in a.out
    for opt in SETUP_OPTIONS:
        assert opt in a.out, (opt, a)


def _usage_error(r, word):
    assert r.rc == 64, r
    assert r.out == "", r
    lines = r.err.splitlines()
    assert lines and lines[0].startswith("relayctl: "), r
    assert word in lines[0], r


def test_unknown_command(relayctl):
    _usage_error(relayctl("frobnicate"), "frobnicate")


def test_bad_global_option(relayctl):
    _usage_error(relayctl("--frobnicate"), "frobnicate")


@pytest.mark.parametrize("args,word", [
    (("--frobnicate",), "frobnicate"),
    (("--uid", "abc"), "abc"),
    (("--gid", "-1"), "-1"),
    (("--uid", "99999999999999999999"), "99999999999999999999"),
    (("--user",), "user"),
], ids=["unknown", "uid-text", "gid-negative", "uid-overflow", "user-noarg"])
def test_bad_setup_option(make_root, relayctl, args, word):
    root = make_root("debian")
    from conftest import snapshot, snapshot_diff
    before = snapshot(root)
    r = relayctl("setup", "--root", root, "--plan", *args)
    _usage_error(r, word)
    assert snapshot_diff(before, snapshot(root)) == []


# ------------------------------------------------ Postfix peer tools

def test_postfix_peer_tools_run():
    source, env = peer("smtp-source")
    sink, _ = peer("smtp-sink")
    for tool in (source, sink):
        cp = subprocess.run([tool], capture_output=True, text=True, env=env,
                            timeout=30)
        assert "fatal: usage:" in cp.stderr, cp
    # One real exchange: smtp-source delivers 3 messages to smtp-sink.
    port = free_port()
    sinkp = subprocess.Popen([sink, "-u", "nobody", "-c",
                              "127.0.0.1:%d" % port, "10"],
                             stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        cp = subprocess.run([source, "-m", "3", "127.0.0.1:%d" % port],
                            capture_output=True, text=True, env=env,
                            timeout=30)
        assert cp.returncode == 0, cp
    finally:
        sinkp.terminate()
        out, err = sinkp.communicate(timeout=10)
    assert "mesg=3" in out, (out, err)
