"""Integration tests for relayctl's command line: version, help, usage
errors (64, the same words in every subcommand); and the Postfix peer
tools that later tests drive (fetched by tests/peers/get-postfix-tools).

Anything that could reach `setup` gets --root and --plan on a fixture root,
so a parsing bug can never act on the host.
"""

import re
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


# ------------------------------------------- one front end, same words
#
# The same mistake gets the same message, exit 64 and the command's usage
# line in every subcommand.  Each call carries what keeps a parsing bug
# from acting: setup plans only, the relayd commands name a configuration
# that does not exist (so they fail before they find any relayd), and
# every command but the --root case gets a fixture root.

SAFE = {"setup": ("--plan",), "check": ()}
NO_CONFIG = ("--config", "/nonexistent/relayctl-test/relayd.conf")


def _safe(cmd):
    return SAFE.get(cmd, NO_CONFIG)


def _same_usage_error(r, cmd, message):
    """Exit 64, nothing on stdout, 'relayctl: CMD: MESSAGE' then the
    command's usage line on stderr."""
    assert r.rc == 64, r
    assert r.out == "", r
    lines = r.err.splitlines()
    assert lines[0] == "relayctl: %s: %s" % (cmd, message), r
    assert lines[1].startswith("usage: relayctl %s " % cmd), r
    assert len(lines) == 2, r


@pytest.mark.parametrize("cmd", COMMANDS)
def test_root_needs_an_argument_everywhere(relayctl, cmd):
    r = relayctl(cmd, *_safe(cmd), "--root")
    _same_usage_error(r, cmd, "option '--root' needs an argument")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_unknown_option_everywhere(relayctl, tmp_path, cmd):
    r = relayctl(cmd, "--root", str(tmp_path), *_safe(cmd), "--frobnicate")
    _same_usage_error(r, cmd, "unknown option '--frobnicate'")
    r = relayctl(cmd, "--root", str(tmp_path), *_safe(cmd), "-x")
    _same_usage_error(r, cmd, "unknown option '-x'")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_switch_with_an_argument_everywhere(relayctl, tmp_path, cmd):
    r = relayctl(cmd, "--root", str(tmp_path), *_safe(cmd), "--help=yes")
    _same_usage_error(r, cmd, "option '--help' takes no argument")


@pytest.mark.parametrize("cmd", [c for c in COMMANDS if c != "queue"])
def test_unexpected_argument_everywhere(relayctl, tmp_path, cmd):
    r = relayctl(cmd, "--root", str(tmp_path), *_safe(cmd), "extra")
    _same_usage_error(r, cmd, "unexpected argument 'extra'")


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_exits_0_and_names_the_command(relayctl, cmd):
    a = relayctl(cmd, "--help")
    assert (a.rc, a.err) == (0, ""), a
    assert a.out.startswith("usage: relayctl %s " % cmd), a
    assert "see relayctl(8)" in a.out, a
    # --help wins wherever it stands, and 'help CMD' says the same.
    b = relayctl(cmd, *_safe(cmd), "--help")
    c = relayctl("help", cmd)
    assert a.out == b.out == c.out and b.rc == c.rc == 0, (a, b, c)


def _usage_options(out):
    """{'--root': 'DIR', '--plan': None, ...} from a usage line."""
    line = out.splitlines()[0]
    opts = {}
    for m in re.finditer(r"\[(--[a-z-]+)(?: ([A-Z]+))?\]", line):
        opts[m.group(1)] = m.group(2)
    return opts


@pytest.mark.parametrize("cmd", COMMANDS)
def test_usage_line_is_what_the_parser_takes(relayctl, tmp_path, cmd):
    """Every option the usage line shows is parsed as it shows it: one
    with an argument needs one, a switch takes none."""
    opts = _usage_options(relayctl(cmd, "--help").out)
    assert "--root" in opts, opts
    for opt, arg in opts.items():
        if arg is None:
            r = relayctl(cmd, "--root", str(tmp_path), *_safe(cmd),
                         opt + "=x")
            _same_usage_error(r, cmd, "option '%s' takes no argument" % opt)
        else:
            r = relayctl(cmd, *_safe(cmd), opt)
            _same_usage_error(r, cmd, "option '%s' needs an argument" % opt)


@pytest.mark.parametrize("cmd,opt", [
    ("start", "--json"), ("stop", "--json"), ("restart", "--json"),
    ("reload", "--json"), ("check", "--config"), ("setup", "--config"),
    ("status", "--quiet"), ("queue", "--plan"), ("check", "--plan"),
])
def test_another_commands_option_is_unknown(relayctl, tmp_path, cmd, opt):
    r = relayctl(cmd, "--root", str(tmp_path), *_safe(cmd), opt)
    _same_usage_error(r, cmd, "unknown option '%s'" % opt)


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
