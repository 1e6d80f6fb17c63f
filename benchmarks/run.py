"""Throughput and memory of servsim against idiomatic raw SimPy (and Ciw when installed), in one run.

    python benchmarks/run.py [--customers 200000] [--rounds 3] [--memory-contacts 1000000]

Models (λ = 9.5/min, μ = 1/min, c = 10, ρ = 0.95):
* ``mmc``      — M/M/10: servsim (records on) vs raw SimPy (``Resource``, one process per customer);
* ``mmc_ab2``  — M/M/10+M (patience mean 5 min) with two priority classes (30% high): servsim vs raw
  SimPy (``PriorityResource`` and ``req | timeout(patience)``), and Ciw (reneging) when installed;
* ``bank``     — the example bank contact centre (servsim only, one day);
* ``multichannel`` — the full-featured example (phone, chat with concurrency behind a chatbot,
  blended email, breaks, shrinkage, retrials and repeats; servsim only, two days).

Each configuration runs ``rounds`` times, interleaved, and the median is reported: customers per
second (engine + result tables, records on), the ratio to raw SimPy, the mean wait beside Erlang C
/ Erlang A, and peak traced memory per customer of the whole call (tables included). For M/M/10+M,
servsim's P(abandon) with its 95% confidence interval over daily batches, beside Erlang A's.

Then, in fresh subprocesses so that nothing else is on the heap:

* **memory** — the engine alone on M/M/10 with ``--memory-contacts`` arrivals: peak traced memory
  above the baseline after import and plan compilation, per contact, with records on (and with the
  per-contact log off, when the installed servsim has it);
* **replications** — 8 replications of the M/M/10 model on 1 and on 2 local workers
  (``servsim.replicate``, records on), wall time and speed-up (median of ``rounds``).

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
from servsim.engine import compile_plan, run, stream
from servsim.streaming import Accumulator
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
    rec = stream.run(plan, 1, acc)
    count = rec.contacts
_, peak = tracemalloc.get_traced_memory()
print(json.dumps({{"contacts": count, "peak_above_base": peak - base}}))
"""


def memory_probe(contacts: int, log: bool) -> dict | None:
    """Peak traced memory of one engine run in a fresh interpreter (see the module docstring)."""
    import json

    code = MEMORY_PROBE.format(path=[str(ROOT / "src"), str(ROOT / "benchmarks")], n=contacts, log=log)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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


def replication_speedup(customers: int, rounds: int) -> tuple[float, float]:
    """Median wall time of 8 replications on 1 and on 2 workers (interleaved rounds), each in a fresh
    interpreter: a forked worker of a long-lived parent copies the parent's heap as it touches it."""
    import json

    times: dict[int, list[float]] = {1: [], 2: []}
    digests: set[int] = set()
    for _ in range(rounds):
        for workers in (1, 2):
            code = REPLICATION_PROBE.format(path=[str(ROOT / "src"), str(ROOT / "benchmarks")], n=customers,
                                            workers=workers)
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            times[workers].append(res["seconds"])
            digests.add(res["digest"])
    assert len(digests) == 1, "1 and 2 workers must give identical numbers"
    return statistics.median(times[1]), statistics.median(times[2])


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--memory-contacts", type=int, default=1_000_000)
    ap.add_argument("--replication-customers", type=int, default=100_000,
                    help="customers per replication in the 8-replication speed-up run")
    args = ap.parse_args()
    n = args.customers
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
    for _ in range(args.rounds):
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
        ratio = rate / (raw[0][1] / statistics.median(r[0] for r in raw)) if raw else float("nan")
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
        r.update(p_abandon=float("nan"), p_abandon_half_width=float("nan"), theory_p_abandon=float("nan"))
        if r["config"] == "mmc_ab2/servsim":
            r.update(p_abandon=round(p, 5), p_abandon_half_width=round(half, 5), theory_p_abandon=round(pa, 5))
    print()
    for log in (True, False):
        m = memory_probe(args.memory_contacts, log)
        label = "records on " if log else "log off    "
        if m is None:
            print(f"memory, engine only, {label}: not available in this version")
            continue
        per = m["peak_above_base"] / m["contacts"]
        print(f"memory, engine only, {label}: {m['contacts']:,} contacts, peak +{m['peak_above_base'] / 1e6:,.1f} MB "
              f"= {per:,.1f} B/contact")
        rows.append({"config": f"memory/{'records' if log else 'log_off'}", "customers": m["contacts"],
                     "seconds": float("nan"), "customers_per_s": float("nan"), "ratio_to_raw_simpy": float("nan"),
                     "mean_wait_min": float("nan"), "theory_wait_min": float("nan"),
                     "peak_bytes_per_customer": round(per, 1)})
    t1, t2 = replication_speedup(args.replication_customers, args.rounds)
    print(f"8 replications of {args.replication_customers:,} customers: 1 worker {t1:.2f} s, 2 workers {t2:.2f} s, "
          f"speed-up {t1 / t2:.2f}x (identical numbers checked)")
    rows.append({"config": "replications_8/speedup_2_workers", "customers": 8 * args.replication_customers,
                 "seconds": round(t2, 3), "customers_per_s": round(8 * args.replication_customers / t2),
                 "ratio_to_raw_simpy": round(t1 / t2, 2), "mean_wait_min": float("nan"),
                 "theory_wait_min": float("nan"), "peak_bytes_per_customer": float("nan")})
    out = ROOT / "benchmarks" / "results" / "run.csv"
    out.parent.mkdir(exist_ok=True)
    fields = ["when", "machine", "cpus", "python", "simpy", *rows[0].keys()]
    if out.exists() and out.read_text().split("\n", 1)[0] != ",".join(fields):
        out.rename(out.with_name(f"run.{time.strftime('%Y%m%d%H%M%S')}.csv"))  # older columns: keep apart
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


if __name__ == "__main__":
    main()
