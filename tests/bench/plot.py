"""Curves from a tests/bench/compare CSV: for each message size, the
median of each metric over the runs against the number of sessions, one
line per relay, drawn by gnuplot (Debian's gnuplot-nox) as PNG.

    plot.py RUNS.csv OUTDIR

writes OUTDIR/SIZE-METRIC.png and the .dat files gnuplot read.
"""

import csv
import os
import statistics
import subprocess
import sys

METRICS = [("delivered_per_s", "delivered msg/s"),
           ("cpu_ms_per_msg", "CPU ms per message"),
           ("p99_ms", "p99 ms, end of DATA to 250"),
           ("server_rss_kib", "largest SMTP server RSS, KiB")]


def medians(rows, relay, size, col):
    out = []
    for n in sorted({int(r["sessions"]) for r in rows}):
        # An RSS of 0: the sampler saw no server that run (not a value).
        vals = [float(r[col]) for r in rows
                if r["relay"] == relay and int(r["size"]) == size and
                int(r["sessions"]) == n and r.get(col, "") != "" and
                not (col.endswith("_kib") and float(r[col]) == 0)]
        if vals:
            out.append((n, statistics.median(vals)))
    return out


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: plot.py RUNS.csv OUTDIR")
    with open(argv[0], newline="") as f:
        rows = list(csv.DictReader(f))
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    relays = sorted({r["relay"] for r in rows})
    made = []
    for size in sorted({int(r["size"]) for r in rows}):
        for col, label in METRICS:
            plots = []
            for relay in relays:
                dat = os.path.join(outdir, "%d-%s-%s.dat" % (size, col,
                                                             relay))
                with open(dat, "w") as f:
                    for n, v in medians(rows, relay, size, col):
                        f.write("%d %g\n" % (n, v))
                plots.append("'%s' using 1:2 with linespoints title '%s'"
                             % (dat, relay))
            png = os.path.join(outdir, "%d-%s.png" % (size, col))
            script = ("set terminal png size 800,500\n"
                      "set output '%s'\n"
                      "set title '%s, %d-octet messages'\n"
                      "set xlabel 'concurrent sessions'\n"
                      "set logscale x\nset grid\nset key top left\n"
                      "plot %s\n" % (png, label, size, ", ".join(plots)))
            subprocess.run(["gnuplot"], input=script.encode(), check=True)
            made.append(png)
    print("\n".join(made))


if __name__ == "__main__":
    main(sys.argv[1:])
