"""relayctl setup and check on a big spool, beside the shell recipe.

For each --files N it builds, for each of --runs runs, two identical
trees of N empty files (1000 per directory) with the wrong owner and
mode: one is the spool of a fixture root (tests/integration/fixtures.py,
"clean"), the other a plain directory.  Then it times

  setup   relayctl setup --root ROOT           (fd-safe walk, ACLs, plan)
  chown   chown -R UID:GID TREE; chmod -R u=rwX,go= TREE
  check   relayctl check --root ROOT --quiet    (after setup: clean)
  find    find TREE -printf '%u %g %m %p\\n'

and prints the medians with the ratios setup/chown and check/find; with
--csv every run.  Needs root and a built tree (RELAY_BUILD_DIR).
"""

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import fixtures  # noqa: E402

SPOOL = "var/spool/mqueue"
WRONG = (0, 0)  # root-owned: what setup may fix (another user is unsafe)
PER_DIR = 1000


def fill(top, n):
    """n empty files under top, PER_DIR per directory, all root-owned
    and mode 0666 (directories 0777): everything needs a change."""
    os.makedirs(top, exist_ok=True)
    os.chown(top, *WRONG)
    os.chmod(top, 0o777)
    for i in range(n):
        if i % PER_DIR == 0:
            d = os.path.join(top, "d%04d" % (i // PER_DIR))
            os.mkdir(d)
            os.chown(d, *WRONG)
            os.chmod(d, 0o777)
        p = os.path.join(d, "qf%07d" % i)
        fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o666)
        os.fchown(fd, *WRONG)
        os.fchmod(fd, 0o666)
        os.close(fd)


def timed(argv, **kw):
    t = time.monotonic()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, **kw)
    dt = time.monotonic() - t
    return r, dt


def settle():
    """Both trees written back before anything is timed (both stay in
    the page, dentry and inode caches: a warm-cache comparison)."""
    subprocess.run(["sync"], check=True)


def one_run(relayctl, n, base):
    root = tempfile.mkdtemp(prefix="tree-root-", dir=base)
    plain = tempfile.mkdtemp(prefix="tree-plain-", dir=base)
    try:
        fixtures.build("clean", root)
        shutil.rmtree(os.path.join(root, SPOOL))
        fill(os.path.join(root, SPOOL), n)
        fill(os.path.join(plain, "mqueue"), n)
        settle()
        env = dict(os.environ)
        r, t_setup = timed([relayctl, "setup", "--root", root], env=env)
        if r.returncode != 0:
            raise SystemExit("setup failed (%d): %s" % (
                r.returncode, r.stderr.decode(errors="replace")))
        st = os.stat(os.path.join(root, SPOOL))
        ids = "%d:%d" % (st.st_uid, st.st_gid)
        tree = os.path.join(plain, "mqueue")
        t = time.monotonic()
        subprocess.run(["chown", "-R", ids, tree], check=True)
        subprocess.run(["chmod", "-R", "u=rwX,go=", tree], check=True)
        t_chown = time.monotonic() - t
        r, t_check = timed([relayctl, "check", "--root", root, "--quiet"])
        if r.returncode not in (0, 2):
            raise SystemExit("check failed (%d): %s" % (
                r.returncode, r.stderr.decode(errors="replace")))
        r, t_find = timed(["find", tree, "-printf", "%u %g %m %p\n"])
        return {"files": n, "setup_s": t_setup, "chown_chmod_s": t_chown,
                "check_s": t_check, "find_s": t_find}
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(plain, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", default="100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--csv", default="")
    ap.add_argument("--dir", default=os.environ.get("RELAY_BUILD_DIR",
                                                    "/var/tmp"),
                    help="where the trees are made (same filesystem)")
    a = ap.parse_args()
    relayctl = os.environ["RELAYCTL"]
    rows = []
    for n in (int(x) for x in a.files.split(",")):
        for i in range(a.runs):
            row = one_run(relayctl, n, a.dir)
            row["run"] = i + 1
            rows.append(row)
            print("files=%d run=%d setup %.2fs chown+chmod %.2fs "
                  "check %.2fs find %.2fs" % (
                      n, i + 1, row["setup_s"], row["chown_chmod_s"],
                      row["check_s"], row["find_s"]), flush=True)
    print("\n%9s %9s %12s %7s %9s %9s %7s" % (
        "files", "setup s", "chown+chmod", "ratio", "check s", "find s",
        "ratio"))
    for n in sorted({r["files"] for r in rows}):
        rs = [r for r in rows if r["files"] == n]

        def med(k):
            return statistics.median(r[k] for r in rs)
        print("%9d %9.2f %12.2f %6.2fx %9.2f %9.2f %6.2fx" % (
            n, med("setup_s"), med("chown_chmod_s"),
            med("setup_s") / med("chown_chmod_s"), med("check_s"),
            med("find_s"), med("check_s") / med("find_s")))
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["files", "run", "setup_s",
                                              "chown_chmod_s", "check_s",
                                              "find_s"])
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
