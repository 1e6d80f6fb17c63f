"""The work around the engine: how much of a command is the event loop, and how fast servsim starts.

    python benchmarks/overhead.py [--rounds 3] [--against PATH] [--only sweep|startup|examples|year]

Every figure is a share or a ratio measured in the same run, so machine load cancels out as far as
it can; ``--against PATH`` measures another checkout of servsim (its ``src`` folder is put first on
``PYTHONPATH``) in the same rounds, interleaved, so "before" and "after" share the machine's state.
Each measurement runs in a fresh interpreter.

* **sweep** — ``servsim sweep`` of 200 cells × 1 replication of a two-hour M/M/10+M day (about
  1,000 contacts a cell), run in-process through the command line with ``-q``: the share of the
  wall time (imports included) spent in the event loop (``Engine.run``), with figures and with
  ``--no-figures``;
* **startup** — wall time of ``python -c "import servsim"`` and ``python -m servsim --help``, each
  as a ratio to ``python -c "import simpy, numpy, pandas"`` in the same round; whether scipy is
  imported by ``import servsim``;
* **examples** — ``servsim.simulate`` of the bank day and of the multichannel two days: customers
  per second and the share of the time spent building the result tables (folding the log into
  per-cell sums and building the tables from them: ``CellSums.fold_log`` and ``servsim.api.build``);
* **year** — one replication of a quiet year (M/M/10, λ = 1/min, 8-minute handle time, 30-minute
  intervals: about 526,000 contacts and 17,520 half-hours): servsim with records on and with
  ``--no-log`` against idiomatic raw SimPy (``Resource``, a process per customer) in the same
  round, as ratios of speed (> 1: servsim is faster).

Shares and ratios are medians over the rounds of the per-round values (paired).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("sweep", "startup", "examples", "year")

SWEEP_BASE = """\
name: M/M/c+M, two hours
horizon: {start: "08:00", end: "10:00", days: 1, interval: 30min}
channels:
  calls:
    arrivals: {rate: 9/min}
    entry: answer
    patience: {dist: exponential, mean: 3min}
pools:
  agents: {agents: 10, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
targets:
  service_level: {threshold: 20s, goal: 0.8}
"""
RATES = ", ".join(f"{5 + 0.5 * i:g}/min" for i in range(20))
SWEEP = f"""\
name: Sweep overhead (200 cells)
base: base.yaml
replications: 1
seed: 1
sweep:
  design: grid
  parameters:
    channels.calls.arrivals.rate: [{RATES}]
    pools.agents.agents: [12, 13, 14, 15, 16, 17, 18, 19, 20, 21]
"""
YEAR = """\
name: A quiet year (M/M/10, 30-min intervals)
horizon: {start: "00:00", end: "24:00", days: 365, interval: 30min}
channels:
  calls: {arrivals: {rate: 1/min}, entry: answer}
pools:
  agents: {agents: 10, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 8min}}
limits: {max_in_system: 10000000, max_contacts: 50000000}
"""
YEAR_LAM, YEAR_MEAN_S, YEAR_C, YEAR_S = 1 / 60, 480.0, 10, 365 * 86400.0


# --------------------------------------------------------------------------- probes (one interpreter each)
def _engine_clock() -> list[float]:
    """Time spent in ``Engine.run`` (the event loop), accumulated into the returned one-item list."""
    import servsim.engine.core as core

    spent = [0.0]
    inner = core.Engine.run

    def timed(self):  # noqa: ANN001, ANN202
        t0 = time.perf_counter()
        try:
            return inner(self)
        finally:
            spent[0] += time.perf_counter() - t0

    core.Engine.run = timed
    return spent


def probe_sweep(figures: bool) -> dict:
    """One ``servsim sweep`` in this fresh interpreter; the clock starts before the command line is
    imported, so the total includes every import the command pays."""
    t0 = time.perf_counter()
    spent = _engine_clock()
    from servsim.cli import app

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "base.yaml").write_text(SWEEP_BASE)
        (folder / "sweep.yaml").write_text(SWEEP)
        args = ["sweep", str(folder / "sweep.yaml"), "--out", str(folder / "out"), "-q"]
        if not figures:
            args.append("--no-figures")
        try:
            app(args, standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                return {"error": f"exit status {exc.code}"}
        except Exception as exc:  # an older checkout without --no-figures
            return {"error": str(exc)[:200]}
        total = time.perf_counter() - t0
    return {"total_s": total, "engine_s": spent[0]}


def _table_clock() -> list[float]:
    """Time spent building the result tables in ``simulate`` (folding the log, then the tables)."""
    spent = [0.0]
    try:
        import servsim.api as api
        from servsim.metrics.cells import CellSums
        api.build, CellSums.fold_log  # noqa: B018 - a checkout from before the per-cell sums has neither
    except (ImportError, AttributeError):
        spent[0] = float("nan")
        return spent

    def timed(inner):  # noqa: ANN001, ANN202
        def call(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - t0
        return call

    api.build = timed(api.build)
    CellSums.fold_log = timed(CellSums.fold_log)
    return spent


def probe_examples() -> dict:
    spent = _table_clock()
    import servsim

    out = {}
    for name, file in (("bank", "bank_contact_centre.yaml"), ("multichannel", "multichannel_contact_centre.yaml")):
        s = servsim.load_scenario(ROOT / "scenarios" / file)
        servsim.simulate(s, seed=0)  # caches and imports first
        runs = []
        for seed in range(1, 11):
            spent[0] = 0.0 if spent[0] == spent[0] else spent[0]
            t0 = time.perf_counter()
            r = servsim.simulate(s, seed=seed)
            r.summary, r.intervals  # what a caller reads
            runs.append((time.perf_counter() - t0, spent[0], int(r.summary["offered"].iloc[0])))
        total = sum(t for t, _, _ in runs)
        out[name] = {"customers_per_s": sum(n for _, _, n in runs) / total,
                     "tables_share": sum(e for _, e, _ in runs) / total}
    return out


def raw_simpy_year() -> int:
    """Idiomatic raw SimPy: a process per customer, ``Resource``, over the same year."""
    import random

    import simpy

    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=YEAR_C)
    rng = random.Random(1)
    waits: list[float] = []

    def customer(env: simpy.Environment):  # noqa: ANN202
        arrive = env.now
        with agents.request() as req:
            yield req
            waits.append(env.now - arrive)
            yield env.timeout(rng.expovariate(1 / YEAR_MEAN_S))

    def source(env: simpy.Environment):  # noqa: ANN202
        while True:
            yield env.timeout(rng.expovariate(YEAR_LAM))
            env.process(customer(env))

    env.process(source(env))
    env.run(until=YEAR_S)
    return len(waits)


def probe_year() -> dict:
    import servsim

    s = servsim.scenario_from_text(YEAR)
    t0 = time.perf_counter()
    raw_n = raw_simpy_year()
    raw = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = servsim.simulate(s, seed=1)
    on = time.perf_counter() - t0
    t0 = time.perf_counter()
    servsim.simulate(s, seed=1, log=False)
    off = time.perf_counter() - t0
    return {"raw_s": raw, "raw_customers": raw_n, "records_s": on, "no_log_s": off,
            "contacts": int(r.summary["offered"].iloc[0]) if "offered" in r.summary else 0}


PROBES = {"sweep": lambda: {"figures": probe_sweep(True), "no_figures": probe_sweep(False)},
          "examples": probe_examples, "year": probe_year}


# --------------------------------------------------------------------------- driver
def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def _probe(name: str, src: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--probe", name], capture_output=True, text=True,
                          env=_env(src), cwd=ROOT, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wall(cmd: list[str], src: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, env=_env(src), cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{cmd} failed: {done.stderr.decode()[-300:]}")
    return time.perf_counter() - t0


#: ``servsim --help`` as its console script runs it (older checkouts have no ``python -m servsim``).
HELP = "import sys; sys.argv = ['servsim', '--help']; from servsim.cli import app; app()"


def startup(src: Path) -> dict:
    base = _wall([sys.executable, "-c", "import simpy, numpy, pandas"], src)
    imp = _wall([sys.executable, "-c", "import servsim"], src)
    helped = _wall([sys.executable, "-c", HELP], src)
    times = subprocess.run([sys.executable, "-X", "importtime", "-c", "import servsim"], capture_output=True,
                           text=True, env=_env(src), cwd=ROOT).stderr
    return {"import_ratio": imp / base, "help_ratio": helped / base, "import_s": imp, "help_s": helped,
            "base_s": base, "scipy": " scipy" in times}


def measure(part: str, src: Path) -> dict:
    return startup(src) if part == "startup" else _probe(part, src)


def report(part: str, label: str, samples: list[dict]) -> None:
    med = statistics.median
    if part == "sweep":
        for kind in ("figures", "no_figures"):
            ok = [s[kind] for s in samples if "error" not in s[kind]]
            if not ok:
                print(f"  {label:<8} sweep, {kind.replace('_', ' '):<10}: not available ({samples[0][kind]['error']})")
                continue
            share = med(s["engine_s"] / s["total_s"] for s in ok)
            print(f"  {label:<8} sweep, {kind.replace('_', ' '):<10}: {med(s['total_s'] for s in ok):6.2f} s, "
                  f"event loop {share:6.1%} of it")
    elif part == "startup":
        print(f"  {label:<8} import servsim {med(s['import_s'] for s in samples):5.2f} s = "
              f"{med(s['import_ratio'] for s in samples):4.2f}x base; servsim --help "
              f"{med(s['help_s'] for s in samples):5.2f} s = {med(s['help_ratio'] for s in samples):4.2f}x base "
              f"(base: import simpy, numpy, pandas {med(s['base_s'] for s in samples):4.2f} s); "
              f"scipy on import: {'yes' if samples[0]['scipy'] else 'no'}")
    elif part == "examples":
        for name in ("bank", "multichannel"):
            print(f"  {label:<8} {name:<12}: {med(s[name]['customers_per_s'] for s in samples):9,.0f} customers/s, "
                  f"tables {med(s[name]['tables_share'] for s in samples):6.1%} of simulate()")
    else:
        print(f"  {label:<8} year ({samples[0]['contacts']:,} contacts): records on "
              f"{med(s['raw_s'] / s['records_s'] for s in samples):4.2f}x raw SimPy, --no-log "
              f"{med(s['raw_s'] / s['no_log_s'] for s in samples):4.2f}x raw SimPy; --no-log / records on time "
              f"{med(s['no_log_s'] / s['records_s'] for s in samples):4.2f}")


def compare(part: str, this: list[dict], against: list[dict]) -> None:
    """This checkout against the other, as the median of the per-round ratios (paired)."""
    med = statistics.median

    def ratio(value) -> float:  # noqa: ANN001
        return med(value(a) / value(b) for a, b in zip(this, against))

    if part == "examples":
        for name in ("bank", "multichannel"):
            print(f"  this / against {name:<12}: {ratio(lambda s: s[name]['customers_per_s']):4.2f}x the customers/s")
    elif part == "startup":
        print(f"  against / this: import servsim {1 / ratio(lambda s: s['import_s']):4.2f}x the time, "
              f"servsim --help {1 / ratio(lambda s: s['help_s']):4.2f}x")
    elif part == "year":
        print(f"  this / against: records on {1 / ratio(lambda s: s['records_s']):4.2f}x as fast, "
              f"--no-log {1 / ratio(lambda s: s['no_log_s']):4.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--against", type=Path, help="another checkout of servsim, measured in the same rounds")
    ap.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    ap.add_argument("--probe", choices=list(PROBES), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe:
        print(json.dumps(PROBES[args.probe]()))
        return
    checkouts = {"this": ROOT / "src"}
    if args.against:
        checkouts["against"] = args.against.resolve() / "src"
    for part in args.only or PARTS:
        samples: dict[str, list[dict]] = {k: [] for k in checkouts}
        for _ in range(args.rounds):
            for label, src in checkouts.items():
                samples[label].append(measure(part, src))
        print(f"{part}:")
        for label in checkouts:
            report(part, label, samples[label])
        if args.against:
            compare(part, samples["this"], samples["against"])


if __name__ == "__main__":
    main()
