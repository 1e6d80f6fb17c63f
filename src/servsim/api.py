"""The Python API: simulate one replication, or several.

    >>> import servsim
    >>> s = servsim.load_scenario("scenarios/mmc.yaml")
    >>> r = servsim.replicate(s, replications=10, seed=1)
    >>> r.kpi_table()            # mean and 95% CI across replications
    >>> r.contacts               # one row per contact, with a 'replication' column

``simulate(scenario, seed)`` is a pure function: the same scenario and seed give the same tables in
any process, on any machine.

``log=False`` keeps no per-contact log: contacts are folded into per-interval sums as they leave, so
memory follows the number of intervals (and of contacts present at once), not the number of contacts.
The summary, intervals and pools tables and the costs are the same (percentiles: see
:mod:`servsim.streaming`); ``contacts`` and ``visits`` are empty.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from servsim.capacity import offered_load
from servsim.engine import compile_plan, run, stream
from servsim.random import Seed, replication_seeds, seed_sequence
from servsim.results import Replications, RunResult, build, build_streaming
from servsim.scenario import Scenario
from servsim.streaming import Accumulator
from servsim.workers import resilient_map


def simulate(scenario: Scenario, seed: Seed = 0, replication: int = 0, log: bool = True) -> RunResult:
    """Run one replication of ``scenario`` with ``seed`` (an int or a ``numpy.random.SeedSequence``).
    ``log=False``: keep no per-contact log (module docstring)."""
    ss = seed_sequence(seed)
    plan = compile_plan(scenario)
    key = (int(ss.entropy), *ss.spawn_key) if isinstance(ss.entropy, int) else tuple(ss.spawn_key)
    if not log:
        acc = Accumulator(plan)
        rec = stream.run(plan, ss, acc)
        return build_streaming(plan, acc, rec.end_time, rec.stopped, replication, key, offered_load(plan))
    rec = run(plan, ss)
    return build(plan, rec, replication, key, offered_load(plan))


def _one(args: tuple[Scenario, np.random.SeedSequence, int, bool]) -> RunResult:
    scenario, ss, r, log = args
    return simulate(scenario, ss, replication=r, log=log)


def replicate(
    scenario: Scenario,
    replications: int = 10,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    log: bool = True,
) -> Replications:
    """Run ``replications`` independent replications; replication r uses seed ``SeedSequence(seed)``
    spawned child r. ``workers > 1`` runs them in a process pool (same numbers either way) that
    survives a dead worker (:mod:`servsim.workers`; raises :class:`servsim.workers.WorkerDied` when
    one replication keeps killing its worker) and whose workers end with this process, however it
    ends; interrupted (KeyboardInterrupt), it stops them at once.
    ``log=False``: keep no per-contact log (see :func:`simulate`)."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    tasks = [(scenario, ss, r, log) for r, ss in enumerate(replication_seeds(seed, replications))]
    runs: list[RunResult] = []
    if workers <= 1:
        for t in tasks:
            runs.append(_one(t))
            if progress:
                progress(1)
    else:
        # a worker that dies (out of memory, killed) costs only its replication, run again
        done: dict[int, RunResult] = {}
        for r, res in resilient_map(_one, tasks, min(workers, replications, os.cpu_count() or 1),
                                    lambda r: f"replication {r}"):
            done[r] = res
            if progress:
                progress(1)
        runs = [done[r] for r in range(replications)]
    return Replications(scenario.name, tuple(runs))
