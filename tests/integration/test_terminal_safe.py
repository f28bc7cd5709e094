"""Names under the spool are the relay account's choice, so nothing relayctl
prints for a person may carry them raw: a planted file whose name holds
terminal escapes, a bell and a newline shows up encoded (vis(3)) in the
plan of setup and in the findings of check, on its one line."""

import os
import re

import fixtures

SPOOL = "var/spool/mqueue"
# ESC ] 0 ; title BEL, ESC [ 2 J (clear screen), CR, a newline.
EVIL = "df\x1b]0;pwned\x07\x1b[2J\rX\nHARD"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def plant(root):
    spool = os.path.join(root, SPOOL)
    target = fixtures.write(root, "etc/hardtarget", "precious\n", 0o644)
    os.link(target, os.path.join(spool, EVIL))


def assert_encoded(out, what):
    assert not CONTROL.search(out), (what, out)
    lines = [l for l in out.splitlines() if "pwned" in l]
    # One line, the escapes spelled out.
    assert len(lines) == 1, (what, out)
    assert "\\033]0;pwned\\007\\033[2J\\015X\\012HARD" in lines[0], \
        (what, lines)


def test_setup_plan_encodes_unsafe_names(make_root, relayctl):
    root = make_root("debian")
    plant(root)
    r = relayctl("setup", "--root", root, "--plan")
    assert r.rc == 3, r
    assert_encoded(r.out, "setup --plan")
    r = relayctl("setup", "--root", root)
    assert r.rc == 3, r
    assert_encoded(r.out, "setup")


def test_check_encodes_unsafe_names(make_root, relayctl):
    root = make_root("debian")
    r = relayctl("setup", "--root", root)
    assert r.rc == 0, r
    plant(root)
    r = relayctl("check", "--root", root)
    assert r.rc == 3, r
    assert_encoded(r.out, "check")
