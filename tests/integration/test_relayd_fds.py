"""What relayd's processes hold: nothing the caller left open (closefrom
at start), and never the invoking terminal in a child (stdin and stdout
are /dev/null; stderr too when it is a tty, relayd -f on a terminal), so
an unprivileged child can neither read root's file nor push keystrokes
into root's shell (TIOCSTI) or escapes onto its screen."""

import os
import pty
import subprocess

from relayd_harness import (Client, held_relay, relayd_path,  # noqa: F401
                            runner_of, sessions_of, wait_for)
import conftest


def fd_targets(pid):
    out = {}
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except FileNotFoundError:
            pass
    return out


def session_pid(relay, master):
    c = Client(relay.port)
    c.greet()
    pid = wait_for(lambda: (sessions_of(master) or [None])[0], 10,
                   what="a session child")
    return c, pid


def test_inherited_descriptors_are_closed(held_relay):
    relay = held_relay
    secret = os.path.join(relay.root, "secret")
    with open(secret, "w") as f:
        f.write("root only\n")
    os.chmod(secret, 0o600)
    fd = os.open(secret, os.O_RDONLY)  # inheritable, as a careless caller
    err = open(os.path.join(relay.logdir, "fds.err"), "wb")
    p = subprocess.Popen([relayd_path(), "-f", "--root", relay.root],
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                         pass_fds=(fd,), start_new_session=True,
                         env=conftest.relay_env())
    relay.procs.append(p)
    err.close()
    os.close(fd)
    relay.wait_listening(p)
    runner = wait_for(lambda: (runner_of(p.pid) or [None])[0], 10,
                      what="the runner")
    c, child = session_pid(relay, p.pid)
    try:
        for pid in (p.pid, runner, child):
            held = fd_targets(pid)
            assert secret not in held.values(), (pid, held)
            assert fd not in held or held[fd] != secret, (pid, held)
    finally:
        c.close()


def test_children_never_hold_the_terminal(held_relay):
    """relayd -f with a pseudo-terminal as stdin, stdout and stderr: the
    master keeps it for its own log lines, the children do not."""
    relay = held_relay
    mfd, sfd = pty.openpty()
    tty = os.ttyname(sfd)
    try:
        p = subprocess.Popen([relayd_path(), "-f", "--root", relay.root],
                             stdin=sfd, stdout=sfd, stderr=sfd,
                             start_new_session=True,
                             env=conftest.relay_env())
        relay.procs.append(p)
        os.close(sfd)
        sfd = -1
        relay.wait_listening(p)
        assert tty in fd_targets(p.pid).values()
        runner = wait_for(lambda: (runner_of(p.pid) or [None])[0], 10,
                          what="the runner")
        c, child = session_pid(relay, p.pid)
        try:
            for pid in (runner, child):
                held = fd_targets(pid)
                assert tty not in held.values(), (pid, held)
                assert held[0] == held[1] == held[2] == "/dev/null", held
        finally:
            c.close()
    finally:
        if sfd != -1:
            os.close(sfd)
        os.close(mfd)


def test_children_stdin_stdout_are_dev_null(held_relay):
    """Not on a terminal (stderr a log file): the children keep stderr for
    their log lines, but stdin and stdout are /dev/null."""
    relay = held_relay
    p = relay.start_fg()
    runner = wait_for(lambda: (runner_of(p.pid) or [None])[0], 10,
                      what="the runner")
    c, child = session_pid(relay, p.pid)
    try:
        for pid in (runner, child):
            held = fd_targets(pid)
            assert held[0] == held[1] == "/dev/null", held
            assert held[2] == relay.stderr_path, held
    finally:
        c.close()
