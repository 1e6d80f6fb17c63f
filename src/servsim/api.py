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
:mod:`servsim.metrics.cells`); ``contacts`` and ``visits`` are empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from servsim.capacity import offered_load
from servsim.engine import LiveRows, compile_plan, run
from servsim.engine.agents import agent_factors
from servsim.execution import Executor, execute
from servsim.random import Seed, replication_seeds, seed_sequence
from servsim.metrics import CellSums
from servsim.results import Replications, RunResult, build
from servsim.scenario import Scenario


def simulate(scenario: Scenario, seed: Seed = 0, replication: int = 0, log: bool = True) -> RunResult:
    """Run one replication of ``scenario`` with ``seed`` (an int or a ``numpy.random.SeedSequence``).
    ``log=False``: keep no per-contact log (module docstring)."""
    ss = seed_sequence(seed)
    plan = compile_plan(scenario)
    key = (int(ss.entropy), *ss.spawn_key) if isinstance(ss.entropy, int) else tuple(ss.spawn_key)
    sums = CellSums(plan, agent_factors(plan, ss))
    if not log:
        live = run(plan, ss, LiveRows(sums))
        return build(plan, sums, live.end_time, live.stopped, replication, key, offered_load(plan))
    rec = run(plan, ss)
    sums.fold_log(rec)
    return build(plan, sums, rec.end_time, rec.stopped, replication, key, offered_load(plan), rec=rec)


@dataclass(frozen=True)
class _Replication:
    """One replication as a task: plain data, so it pickles to a worker process or a Dask worker."""

    scenario: Scenario
    seed: np.random.SeedSequence
    index: int
    log: bool


def _one(task: _Replication) -> RunResult:
    return simulate(task.scenario, task.seed, replication=task.index, log=task.log)


def _label(task: _Replication) -> str:
    return f"replication {task.index}"


def replicate(
    scenario: Scenario,
    replications: int = 10,
    seed: int = 0,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    log: bool = True,
    scheduler: str | None = None,
) -> Replications:
    """Run ``replications`` independent replications; replication r uses seed ``SeedSequence(seed)``
    spawned child r. ``workers > 1`` runs them in a local process pool, ``scheduler`` (a Dask
    scheduler address, e.g. ``tcp://host:8786``) on that cluster's workers — the same numbers
    either way (:mod:`servsim.execution`). A dead worker costs only its replication; one that keeps
    killing its worker raises :class:`servsim.execution.WorkerLostError`, and an executor that cannot
    be used :class:`servsim.execution.ExecutorError`. Local workers end with this process, however
    it ends; interrupted (KeyboardInterrupt), it stops them at once.
    ``log=False``: keep no per-contact log (see :func:`simulate`)."""
    if replications < 1:
        raise ValueError("replications must be at least 1")
    tasks = [_Replication(scenario, ss, r, log) for r, ss in enumerate(replication_seeds(seed, replications))]
    runs: list[RunResult | None] = [None] * replications
    for r, result in execute(_one, tasks, Executor(workers, scheduler), _label):
        runs[r] = result
        if progress:
            progress(1)
    return Replications(scenario.name, tuple(r for r in runs if r is not None))
