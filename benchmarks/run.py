"""Throughput and memory of servsim against idiomatic raw SimPy (and Ciw when installed), in one run.

    python benchmarks/run.py [--customers 200000] [--rounds 3] [--memory-contacts 1000000]
                             [--only throughput|memory|replications]

Models (λ = 9.5/min, μ = 1/min, c = 10, ρ = 0.95):
* ``mmc``      — M/M/10: servsim (records on) vs raw SimPy (``Resource``, one process per customer);
* ``mmc_ab2``  — M/M/10+M (patience mean 5 min) with two priority classes (30% high): servsim vs raw
  SimPy (``PriorityResource`` and ``req | timeout(patience)``), and Ciw (reneging) when installed;
* ``bank``     — the example bank contact centre (servsim only, one day);
* ``multichannel`` — the full-featured example (phone, chat with concurrency behind a chatbot,
  blended email, breaks, shrinkage, retrials and repeats; servsim only, two days).

Each configuration runs ``rounds`` times, interleaved, and the median is reported: customers per
second (engine + result tables, records on), the ratio to raw SimPy (paired: the median of the
per-round ratios, each from two runs back to back, so machine load cancels out), the mean wait beside Erlang C
/ Erlang A, and peak traced memory per customer of the whole call (tables included). For M/M/10+M,
servsim's P(abandon) with its 95% confidence interval over daily batches, beside Erlang A's.

Then, in fresh subprocesses so that nothing else is on the heap:

* **memory** — the engine alone on M/M/10 with ``--memory-contacts`` arrivals: peak traced memory
  above the baseline after import and plan compilation, per contact, with records on (and with the
  per-contact log off, when the installed servsim has it);
* **replications** — 8 replications of the M/M/10 model on 1 and on 2 local workers
  (``servsim.replicate``, records on), wall time and speed-up (median of ``rounds``), beside the
  machine's ceiling: the speed-up of 8 pure-CPU tasks on 2 processes, in the same rounds.

Results are appended to ``benchmarks/results/run.csv``. Timings depend on the machine: compare
ratios measured in the same run, not absolute numbers across machines.
"""

from __future__ import annotations

import argparse
import csv
import gc
import os
import platform
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import subprocess
import sys

import simpy

import servsim
from servsim import theory

ROOT = Path(__file__).resolve().parent.parent
LAM, MU, C = 9.5, 1.0, 10          # per minute
PATIENCE_MIN = 5.0
HIGH_SHARE = 0.3


def servsim_scenario(customers: int, abandonment: bool) -> servsim.Scenario:
    minutes = customers / LAM
    days = max(1, int(minutes // 1440) + 1)
    patience = f"\n    patience: {{dist: exponential, mean: {PATIENCE_MIN}min}}" if abandonment else ""
    segments = (f"segments:\n  high: {{share: {HIGH_SHARE}, priority: 1}}\n  low: {{share: {1 - HIGH_SHARE}, priority: 0}}\n"
                if abandonment else "")
    return servsim.scenario_from_text(f"""
name: benchmark
horizon: {{start: "00:00", end: "24:00", days: {days}, interval: 60min}}
{segments}channels:
  calls:
    arrivals: {{rate: {LAM}/min}}
    entry: answer{patience}
pools:
  agents: {{agents: {C}, skills: {{answer: 1.0}}}}
steps:
  answer: {{handle_time: {{dist: exponential, mean: {1 / MU}min}}}}
limits: {{max_in_system: 10000000, max_contacts: 50000000}}
""")


def run_servsim(scenario: servsim.Scenario, customers: int) -> tuple[int, float]:
    """Engine plus tables (records on), cut at ``customers`` arrivals' worth of horizon."""
    r = servsim.simulate(scenario, seed=1)
    s = r.summary.iloc[0]
    return int(s["offered"]), float(s["mean_wait_s"]) / 60


def erlang_a_check(customers: int) -> tuple[float, float, float, int]:
    """servsim's P(abandon) on M/M/10+M with two priority classes, with its 95% CI over days (batch
    means: one batch per simulated day), and Erlang A's. With equal exponential patience and service
    for both classes, the total in system evolves as in single-class Erlang A, so the overall P(abandon)
    is Erlang A's whatever the priorities."""
    from servsim.stats import t_interval

    r = servsim.simulate(servsim_scenario(customers, abandonment=True), seed=1)
    c = r.contacts
    daily = c.groupby("day")["outcome"].apply(lambda o: float((o == "abandoned").mean()))
    ci = t_interval(daily.to_numpy())
    return ci.mean, ci.half_width, theory.erlang_a(LAM, MU, C, 1 / PATIENCE_MIN).p_abandon, len(daily)


def raw_simpy_mmc(customers: int) -> tuple[int, float]:
    env = simpy.Environment()
    agents = simpy.Resource(env, capacity=C)
    rng = random.Random(1)
    waits: list[float] = []

    def customer(env: simpy.Environment):
        arrive = env.now
        with agents.request() as req:
            yield req
            waits.append(env.now - arrive)
            yield env.timeout(rng.expovariate(MU))

    def source(env: simpy.Environment):
        for _ in range(customers):
            yield env.timeout(rng.expovariate(LAM))
            env.process(customer(env))

    env.process(source(env))
    env.run()
    return len(waits), statistics.fmean(waits)


def raw_simpy_abandon(customers: int) -> tuple[int, float]:
    env = simpy.Environment()
    agents = simpy.PriorityResource(env, capacity=C)
    rng = random.Random(1)
    waits: list[float] = []

    def customer(env: simpy.Environment, priority: int):
        arrive = env.now
        patience = rng.expovariate(1 / PATIENCE_MIN)
        with agents.request(priority=priority) as req:
            result = yield req | env.timeout(patience)
            waits.append(env.now - arrive)
            if req in result:
                yield env.timeout(rng.expovariate(MU))

    def source(env: simpy.Environment):
        for _ in range(customers):
            yield env.timeout(rng.expovariate(LAM))
            env.process(customer(env, 0 if rng.random() < HIGH_SHARE else 1))

    env.process(source(env))
    env.run()
    return len(waits), statistics.fmean(waits)


def ciw_mmc(customers: int) -> tuple[int, float] | None:
    try:
        import ciw
    except ImportError:
        return None
    network = ciw.create_network(arrival_distributions=[ciw.dists.Exponential(LAM)],
                                 service_distributions=[ciw.dists.Exponential(MU)], number_of_servers=[C])
    ciw.seed(1)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    recs = sim.get_all_records()
    return len(recs), statistics.fmean(r.waiting_time for r in recs)


def ciw_abandon(customers: int) -> tuple[int, float] | None:
    """M/M/10+M with two priority classes in Ciw (reneging; mean wait over all arrivals)."""
    try:
        import ciw
    except ImportError:
        return None
    classes = {"high": HIGH_SHARE, "low": 1 - HIGH_SHARE}
    network = ciw.create_network(
        arrival_distributions={k: [ciw.dists.Exponential(LAM * p)] for k, p in classes.items()},
        service_distributions={k: [ciw.dists.Exponential(MU)] for k in classes},
        number_of_servers=[C], priority_classes={"high": 0, "low": 1},
        reneging_time_distributions={k: [ciw.dists.Exponential(1 / PATIENCE_MIN)] for k in classes})
    ciw.seed(1)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(customers, method="Finish")
    recs = sim.get_all_records()
    return len(recs), statistics.fmean(r.waiting_time for r in recs)


MEMORY_PROBE = """
import sys, gc, tracemalloc, json
sys.path[:0] = {path!r}
import servsim
from servsim.engine import LiveRows, compile_plan, run
from servsim.metrics.cells import CellSums as Accumulator
from run import servsim_scenario
plan = compile_plan(servsim_scenario({n}, abandonment=False))
gc.collect()
tracemalloc.start()
base, _ = tracemalloc.get_traced_memory()
if {log!r}:
    rec = run(plan, 1)
    count = len(rec.arrival)
else:
    acc = Accumulator(plan)     # per-interval sums: part of what log-off keeps, so it is measured
    rec = run(plan, 1, LiveRows(acc))
    count = rec.contacts
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({{"contacts": count, "peak_above_base": peak - base}}))
"""


def memory_probe(contacts: int, log: bool) -> dict:
    """Peak traced memory of one engine run in a fresh interpreter (see the module docstring)."""
    return _probe(MEMORY_PROBE.format(path=[str(ROOT / "src"), str(ROOT / "benchmarks")], n=contacts, log=log))


REPLICATION_PROBE = """
import sys, time, json
sys.path[:0] = {path!r}
import pandas as pd
import servsim
from run import servsim_scenario
scenario = servsim_scenario({n}, abandonment=False)
t0 = time.perf_counter()
r = servsim.replicate(scenario, replications=8, seed=1, workers={workers})
dt = time.perf_counter() - t0
print(json.dumps({{"seconds": dt, "digest": int(pd.util.hash_pandas_object(r.summary, index=False).sum())}}))
"""


CEILING_PROBE = """
import time, json
from concurrent.futures import ProcessPoolExecutor

def spin(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s

if __name__ == "__main__":
    t0 = time.perf_counter()
    if {workers} == 1:
        [spin({n}) for _ in range(8)]
    else:
        with ProcessPoolExecutor({workers}) as pool:
            list(pool.map(spin, [{n}] * 8))
    print(json.dumps({{"seconds": time.perf_counter() - t0}}))
"""
#: loop iterations of one ceiling task: about as long as one 100k-customer replication (0.7 s)
CEILING_SPINS = 12_000_000


def _probe(code: str) -> dict:
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def replication_speedup(customers: int, rounds: int) -> tuple[float, float, float]:
    """Median wall time of 8 replications on 1 and on 2 workers (interleaved rounds), each in a fresh
    interpreter: a forked worker of a long-lived parent copies the parent's heap as it touches it.

    Also the machine's own ceiling, measured in the same rounds: the speed-up of 8 pure-Python CPU
    tasks (no data in or out) on 2 processes. A virtual machine whose host is busy can fall well
    short of 2.0; servsim's speed-up is best read against this figure."""
    path = [str(ROOT / "src"), str(ROOT / "benchmarks")]
    times: dict[int, list[float]] = {1: [], 2: []}
    ceiling: dict[int, list[float]] = {1: [], 2: []}
    digests: set[int] = set()
    for _ in range(rounds):
        for workers in (1, 2):
            res = _probe(REPLICATION_PROBE.format(path=path, n=customers, workers=workers))
            times[workers].append(res["seconds"])
            digests.add(res["digest"])
            ceiling[workers].append(_probe(CEILING_PROBE.format(n=CEILING_SPINS, workers=workers))["seconds"])
    assert len(digests) == 1, "1 and 2 workers must give identical numbers"
    med = statistics.median
    return med(times[1]), med(times[2]), med(ceiling[1]) / med(ceiling[2])


def measure(fn: Callable[[], tuple[int, float]]) -> tuple[float, int, float, int]:
    gc.collect()
    t0 = time.perf_counter()
    n, wait = fn()
    dt = time.perf_counter() - t0
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return dt, n, wait, peak


#: Columns of benchmarks/results/run.csv after the machine's description; a row leaves empty what
#: does not apply to it.
ROW_FIELDS = ["config", "customers", "seconds", "customers_per_s", "ratio_to_raw_simpy", "mean_wait_min",
              "theory_wait_min", "peak_bytes_per_customer", "p_abandon", "p_abandon_half_width", "theory_p_abandon"]
PARTS = ("throughput", "memory", "replications")


def throughput(n: int, rounds: int) -> list[dict]:
    """Customers per second of every configuration, interleaved, median of ``rounds``; P(abandon)."""
    mmc = servsim_scenario(n, abandonment=False)
    ab2 = servsim_scenario(n, abandonment=True)
    bank = servsim.load_scenario(ROOT / "scenarios" / "bank_contact_centre.yaml")
    multi = servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml")
    configs: dict[str, Callable[[], tuple[int, float]] | None] = {
        "mmc/servsim": lambda: run_servsim(mmc, n),
        "mmc/raw_simpy": lambda: raw_simpy_mmc(n),
        "mmc/ciw": (lambda: ciw_mmc(n)) if ciw_mmc(10) is not None else None,  # type: ignore[dict-item]
        "mmc_ab2/servsim": lambda: run_servsim(ab2, n),
        "mmc_ab2/raw_simpy": lambda: raw_simpy_abandon(n),
        "mmc_ab2/ciw": (lambda: ciw_abandon(n)) if ciw_abandon(10) is not None else None,  # type: ignore[dict-item]
        "bank/servsim": lambda: run_servsim(bank, n),
        "multichannel/servsim": lambda: run_servsim(multi, n),
    }
    samples: dict[str, list[tuple[float, int, float, int]]] = {k: [] for k, v in configs.items() if v}
    for _ in range(rounds):
        for name, fn in configs.items():
            if fn is not None:
                samples[name].append(measure(fn))
    erlang_c = theory.erlang_c_asa(LAM, MU, C)
    erlang_a = theory.erlang_a(LAM, MU, C, 1 / PATIENCE_MIN).mean_wait
    rows = []
    for name, runs in samples.items():
        dt = statistics.median(r[0] for r in runs)
        count = runs[0][1]
        rate = count / dt
        model = name.split("/")[0]
        raw = samples.get(f"{model}/raw_simpy")
        # paired: the ratio of each round (both ran back to back), then the median of those ratios
        ratio = statistics.median((r[1] / r[0]) / (q[1] / q[0]) for r, q in zip(runs, raw)) if raw else float("nan")
        theory_wait = {"mmc": erlang_c, "mmc_ab2": erlang_a}.get(model, float("nan"))
        rows.append({"config": name, "customers": count, "seconds": round(dt, 3), "customers_per_s": round(rate),
                     "ratio_to_raw_simpy": round(ratio, 2), "mean_wait_min": round(runs[0][2], 3),
                     "theory_wait_min": round(theory_wait, 3),
                     "peak_bytes_per_customer": round(runs[0][3] / max(count, 1), 1)})
    width = max(len(r["config"]) for r in rows)
    print(f"{'config':<{width}}  customers  cust/s     ×raw   wait(min)  theory   peak B/cust")
    for r in rows:
        print(f"{r['config']:<{width}}  {r['customers']:>9}  {r['customers_per_s']:>8,}  {r['ratio_to_raw_simpy']:>5}"
              f"  {r['mean_wait_min']:>9}  {r['theory_wait_min']:>7}  {r['peak_bytes_per_customer']:>10}")
    p, half, pa, days = erlang_a_check(n)
    inside = "inside" if abs(p - pa) <= half else "OUTSIDE"
    print(f"\nmmc_ab2 P(abandon): servsim {p:.4f} ± {half:.4f} (95% CI over {days} daily batches), "
          f"Erlang A {pa:.4f}: {inside} the interval")
    for r in rows:
        if r["config"] == "mmc_ab2/servsim":
            r.update(p_abandon=round(p, 5), p_abandon_half_width=round(half, 5), theory_p_abandon=round(pa, 5))
    return rows


def memory(contacts: int) -> list[dict]:
    """Peak memory of the engine alone, records on and log off."""
    rows = []
    for log in (True, False):
        m = memory_probe(contacts, log)
        label = "records on " if log else "log off    "
        per = m["peak_above_base"] / m["contacts"]
        print(f"memory, engine only, {label}: {m['contacts']:,} contacts, peak +{m['peak_above_base'] / 1e6:,.1f} MB "
              f"= {per:,.1f} B/contact")
        rows.append({"config": f"memory/{'records' if log else 'log_off'}", "customers": m["contacts"],
                     "peak_bytes_per_customer": round(per, 1)})
    return rows


def replications(customers: int, rounds: int) -> list[dict]:
    """8 replications on 1 and 2 workers, beside the machine's ceiling."""
    t1, t2, ceiling = replication_speedup(customers, rounds)
    print(f"8 replications of {customers:,} customers: 1 worker {t1:.2f} s, 2 workers {t2:.2f} s, "
          f"speed-up {t1 / t2:.2f}x (identical numbers checked); this machine's ceiling in the same rounds "
          f"(8 pure-CPU tasks): {ceiling:.2f}x")
    return [{"config": "replications_8/speedup_2_workers", "customers": 8 * customers, "seconds": round(t2, 3),
             "customers_per_s": round(8 * customers / t2), "ratio_to_raw_simpy": round(t1 / t2, 2)},
            {"config": "replications_8/cpu_ceiling_2_workers", "ratio_to_raw_simpy": round(ceiling, 2)}]


def write_csv(rows: list[dict]) -> None:
    """Append ``rows`` to benchmarks/results/run.csv (a file with other columns is kept aside)."""
    out = ROOT / "benchmarks" / "results" / "run.csv"
    out.parent.mkdir(exist_ok=True)
    fields = ["when", "machine", "cpus", "python", "simpy", *ROW_FIELDS]
    if out.exists() and out.read_text().split("\n", 1)[0] != ",".join(fields):
        out.rename(out.with_name(f"run.{time.strftime('%Y%m%d%H%M%S')}.csv"))
    new = not out.exists()
    when = time.strftime("%Y-%m-%dT%H:%M:%S")
    with out.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({"when": when, "machine": platform.node(), "cpus": os.cpu_count(),
                        "python": platform.python_version(), "simpy": simpy.__version__, **r})
    print(f"\nrows appended to {out.relative_to(ROOT)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory-contacts", type=int, default=1_000_000)
    ap.add_argument("--replication-customers", type=int, default=100_000,
                    help="customers per replication in the 8-replication speed-up run")
    ap.add_argument("--only", choices=PARTS, action="append", help="run only this part (repeatable)")
    args = ap.parse_args()
    parts = args.only or PARTS
    rows: list[dict] = []
    if "throughput" in parts:
        rows += throughput(args.customers, args.rounds)
        print()
    if "memory" in parts:
        rows += memory(args.memory_contacts)
    if "replications" in parts:
        rows += replications(args.replication_customers, args.rounds)
    write_csv(rows)


if __name__ == "__main__":
    main()
