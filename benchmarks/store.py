"""Cost of the result store in a researcher's sweep: 200 cells x 1 replication of a ~1,000-contact
M/M/10+M scenario (2 hours), the tables each task really returns.

    python benchmarks/store.py [--cells 200] [--rounds 3]

The tasks are simulated once, in this process; then, for each round, a fresh store takes all of
them (``put`` per task, then ``close``), is read back (``load`` of each table), reopened (checking
every stored file) and reset (``overwrite=True``, what ``--overwrite`` does). Prints the median of
the rounds: milliseconds per task for ``put`` (with the final ``close``), and milliseconds for the
whole read-back, the reopen and the reset; and the simulation's own milliseconds per task for
scale. Not a test: timings depend on the machine and its disk.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from servsim.experiments.runner import Task, run_task
from servsim.experiments.store import ResultStore, TaskKey, config_hash
from servsim.random import replication_seeds
from servsim.scenario import scenario_from_dict

SCENARIO = {
    "name": "store benchmark M/M/10+M",
    "horizon": {"start": "08:00", "end": "10:00", "interval": "30min"},
    "channels": {"calls": {"arrivals": {"rate": "8.5/min"}, "entry": "answer",
                           "patience": {"dist": "exponential", "mean": "3min"}}},
    "pools": {"agents": {"agents": 10, "skills": {"answer": 1.0}}},
    "steps": {"answer": {"handle_time": {"dist": "exponential", "mean": "1min"}}},
    "targets": {"service_level": {"threshold": "20s", "goal": 0.8}},
}
TABLES = ("results", "summary", "intervals")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    seeds = replication_seeds(3, 1)
    start = time.perf_counter()
    finished = []
    for cell in range(args.cells):
        data = {**SCENARIO, "channels": {"calls": {**SCENARIO["channels"]["calls"],
                                                   "arrivals": {"rate": f"{7 + cell * 0.01:.2f}/min"}}}}
        finished.append(run_task(Task(TaskKey("sweep", cell, 0), scenario_from_dict(data), seeds[0])))
    simulate_ms = (time.perf_counter() - start) * 1e3 / args.cells

    ident = config_hash({"benchmark": "store"})
    put_ms, load_ms, reopen_ms, reset_ms = [], [], [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
            root = Path(tmp) / "store"
            start = time.perf_counter()
            store = ResultStore(root, ident)
            for key, tables in finished:
                store.put(key, tables)
            store.close()
            put_ms.append((time.perf_counter() - start) * 1e3 / len(finished))

            start = time.perf_counter()
            with ResultStore(root, ident) as store:
                reopen_ms.append((time.perf_counter() - start) * 1e3)
                start = time.perf_counter()
                rows = sum(len(store.load(name)) for name in TABLES)
                load_ms.append((time.perf_counter() - start) * 1e3)

            start = time.perf_counter()
            ResultStore(root, ident, overwrite=True).close()
            reset_ms.append((time.perf_counter() - start) * 1e3)

    print(f"{args.cells} tasks, {rows} stored rows in {len(TABLES)} tables; median of {args.rounds} rounds")
    print(f"  simulate (run_task)  {simulate_ms:8.2f} ms per task")
    print(f"  put + close          {statistics.median(put_ms):8.2f} ms per task")
    print(f"  reopen (checks all)  {statistics.median(reopen_ms):8.1f} ms")
    print(f"  load {'+'.join(TABLES)}  {statistics.median(load_ms):8.1f} ms")
    print(f"  reset (--overwrite)  {statistics.median(reset_ms):8.1f} ms")


if __name__ == "__main__":
    main()
