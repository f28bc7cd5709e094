"""Shared pytest fixtures for the relayctl integration tests.

Every test gets its own throw-away root under /tmp (built by fixtures.py),
runs the real relayctl binary as root against it with --root, and removes
the root afterwards, unmounting anything a test mounted inside it first.
Nothing here touches the host's /etc or /var.  The helpers themselves
live in harness.py; the names below stay importable from here.
"""

import os
import sys
import tempfile

import pytest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
from harness import (SHARE_DEFAULT, Result, datadir,  # noqa: E402,F401
                     mounts_under, relay_env, relayctl_path, remove_root,
                     run_relayctl, snapshot, snapshot_diff)


@pytest.fixture
def make_root():
    """make_root(kind) -> path of a fresh fixture root (debian, clean,
    existing or empty).  All are removed after the test."""
    roots = []

    def make(kind="debian"):
        root = tempfile.mkdtemp(prefix="relayctl-itest-", dir="/tmp")
        os.chmod(root, 0o755)
        roots.append(root)
        if kind != "empty":
            fixtures.build(kind, root)
        return root

    yield make
    for root in roots:
        remove_root(root)


@pytest.fixture
def relayctl():
    return run_relayctl
