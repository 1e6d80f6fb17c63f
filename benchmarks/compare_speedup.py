"""Parallel speed-up of `servsim compare`: 16 replications of one option on 1 and 2 local workers.

    python benchmarks/compare_speedup.py [--replications 16] [--rounds 3]

Prints the wall time of each configuration (median of the rounds, interleaved) and the speed-up,
and appends a row to benchmarks/results/compare_speedup.csv. The numbers of both runs are checked to
be identical. Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from servsim.experiments.runner import run_experiment
from servsim.experiments.spec import load_experiment

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = """\
name: speed-up benchmark
base: {base}
replications: {replications}
seed: 1
metrics: [service_level, asa_s]
options:
  baseline: []
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "mmc.yaml"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exp_file = Path(tmp) / "exp.yaml"
        exp_file.write_text(EXPERIMENT.format(base=Path(args.scenario).resolve(), replications=args.replications))
        exp = load_experiment(exp_file)
        times: dict[int, list[float]] = {1: [], 2: []}
        results: dict[int, pd.DataFrame] = {}
        for r in range(args.rounds):
            for workers in (1, 2):
                out = Path(tmp) / f"w{workers}-r{r}"
                t0 = time.perf_counter()
                results[workers] = run_experiment(exp, out, workers=workers)
                times[workers].append(time.perf_counter() - t0)
        pd.testing.assert_frame_equal(results[1], results[2])
    t1, t2 = statistics.median(times[1]), statistics.median(times[2])
    print(f"{args.replications} replications of {Path(args.scenario).name}: "
          f"1 worker {t1:.2f} s, 2 workers {t2:.2f} s, speed-up {t1 / t2:.2f}x (median of {args.rounds})")
    out_csv = ROOT / "benchmarks" / "results" / "compare_speedup.csv"
    out_csv.parent.mkdir(exist_ok=True)
    new = not out_csv.exists()
    with out_csv.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["machine", "cpus", "replications", "rounds", "one_worker_s", "two_workers_s", "speedup"])
        w.writerow([platform.node(), os.cpu_count(), args.replications, args.rounds, f"{t1:.3f}", f"{t2:.3f}",
                    f"{t1 / t2:.3f}"])


if __name__ == "__main__":
    main()
