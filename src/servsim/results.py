"""Results of runs: plain DataFrames that pickle across processes and machines.

Every table carries a ``replication`` column. Column contracts are listed in :mod:`servsim.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

import numpy as np

from servsim.capacity import Load
from servsim.economics import cost_summary, priced
from servsim.engine import Plan, Records
from servsim.metrics import CellSums, records
from servsim.metrics.cells import summary_frame
from servsim.metrics.registry import REGISTRY, columns, names
from servsim.stats import summarise
from servsim.targets import run_targets, verdicts


@dataclass(frozen=True)
class RunResult:
    """One replication: its tables and status.

    ``summary``: KPIs overall/per channel/per segment (one row each); ``pool_summary``: staffed, busy
    and paid agent-seconds and occupancy per pool over exactly [warm-up end, end of run];
    ``contacts``, ``visits``, ``intervals``, ``pools``: see :mod:`servsim.metrics`. ``stopped`` is
    empty unless the run hit a limit; ``load`` compares offered load with capacity (``unstable``:
    stopped, or over capacity where abandonment does not hold the queue).
    ``log`` is false for a run kept without a per-contact log (``simulate(..., log=False)``): then
    ``contacts`` and ``visits`` are empty and the other tables come from per-interval sums (see
    :mod:`servsim.metrics.cells`; interval percentiles are NaN, summary percentiles within 0.5 %).
    """

    scenario: str
    replication: int
    seed: tuple[int, ...]
    load: Load
    stopped: str
    summary: pd.DataFrame
    intervals: pd.DataFrame
    sums: CellSums = field(repr=False)
    per_contact: ContactLog = field(repr=False)
    log: bool = True

    @cached_property
    def pool_summary(self) -> pd.DataFrame:
        """Built from the run's per-cell sums when first read."""
        return pd.DataFrame({k: v for k, v in self.sums.pool_total_columns(self.replication).items() if k != "served"})

    @cached_property
    def pools(self) -> pd.DataFrame:
        """Built from the run's per-cell sums when first read (few callers need it per interval)."""
        return self.sums.pools(self.replication)

    @cached_property
    def agents(self) -> pd.DataFrame:
        """Per agent of each pool of individual agents (``pools.<name>.agent_proficiency``): its proficiency,
        staffed, busy seconds, visits served and occupancy over [warm-up end, end of run]; see
        :meth:`servsim.metrics.CellSums.agents`. Empty when no pool has individual agents."""
        return self.sums.agents(self.replication)

    @property
    def contacts(self) -> pd.DataFrame:
        return self.per_contact.tables()[0]

    @property
    def visits(self) -> pd.DataFrame:
        return self.per_contact.tables()[1]

    @property
    def status(self) -> str:
        return "; ".join(x for x in (self.stopped, self.load.describe()) if x)

    @property
    def unstable(self) -> bool:
        return bool(self.stopped) or self.load.unstable

    def __repr__(self) -> str:
        log = "" if self.log else ", no per-contact log"
        return (f"<RunResult {self.scenario[:80]!r}, replication {self.replication}{log}: {self.status[:160]}; "
                ".summary, .intervals, .pools, .pool_summary, .contacts, .visits, .targets>")

    @property
    def targets(self) -> pd.DataFrame:
        """This replication's targets: a row per channel row of the summary and target, with the
        value, the goal and whether it is met (:func:`servsim.targets.run_targets`)."""
        # the plan travels with the per-contact log (even an empty one), so the goals need no extra field
        return _tag(run_targets(self.per_contact.plan.scenario, self.summary, self.intervals), self.replication)


def _tag(df: pd.DataFrame, replication: int) -> pd.DataFrame:
    df.insert(0, "replication", replication)
    return df


class ContactLog:
    """A run's per-contact records and the ``contacts`` and ``visits`` tables built from them.

    It holds and pickles the records (about 60 bytes a contact, a third of the two tables) and builds
    the tables, identically each time, when they are first read (31 ms per 100,000 contacts). Most
    callers only read the summaries: replications held in memory stay small, and those run in worker
    processes cross the pipe quickly.
    """

    __slots__ = ("plan", "rec", "replication", "_tables")

    def __init__(self, plan: Plan, rec: Records, replication: int,
                 tables: tuple[pd.DataFrame, pd.DataFrame] | None = None) -> None:
        self.plan, self.rec, self.replication, self._tables = plan, rec, replication, tables

    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(contacts, visits), each with its ``replication`` column."""
        if self._tables is None:
            v = records.visit_columns(self.plan, self.rec)
            visits = records.visit_table(self.plan, self.rec, v)
            contacts = records.contact_table(self.plan, self.rec, records.contact_columns(self.plan, self.rec, v))
            self._tables = (_tag(contacts, self.replication), _tag(visits, self.replication))
        return self._tables

    def __getstate__(self) -> tuple[Plan, Records, int]:
        return self.plan, self.rec, self.replication

    def __setstate__(self, state: tuple[Plan, Records, int]) -> None:
        self.plan, self.rec, self.replication = state
        self._tables = None


@dataclass(frozen=True)
class Replications:
    """Several replications of one scenario; tables are the replications' tables stacked."""

    scenario: str
    runs: tuple[RunResult, ...]

    def __repr__(self) -> str:
        n, stopped = len(self.runs), len(self.stopped)
        status = (f"{stopped} stopped by a run limit; " if stopped else "") + (self.load.describe()[:160] if n else "")
        return (f"<Replications {self.scenario[:80]!r}: {n} replication{'s' if n != 1 else ''}, {status}; "
                ".kpi_table(), .targets(), .summary, .intervals, .pools, .pool_summary, .contacts, .visits>")

    def _stack(self, name: str) -> pd.DataFrame:
        return pd.concat([getattr(r, name) for r in self.runs], ignore_index=True)

    @property
    def summary(self) -> pd.DataFrame:
        return self._stack("summary")

    @property
    def pool_summary(self) -> pd.DataFrame:
        return self._stack("pool_summary")

    @property
    def intervals(self) -> pd.DataFrame:
        return self._stack("intervals")

    @property
    def pools(self) -> pd.DataFrame:
        return self._stack("pools")

    @property
    def agents(self) -> pd.DataFrame:
        return self._stack("agents")

    @property
    def contacts(self) -> pd.DataFrame:
        return self._stack("contacts")

    @property
    def visits(self) -> pd.DataFrame:
        return self._stack("visits")

    @property
    def load(self) -> Load:
        return self.runs[0].load

    @property
    def stopped(self) -> list[str]:
        return [f"replication {r.replication}: {r.stopped}" for r in self.runs if r.stopped]

    @property
    def unstable(self) -> bool:
        return any(r.unstable for r in self.runs)

    def targets(self, level: float = 0.95) -> pd.DataFrame:
        """Whether each target is met, per channel and overall, across replications: columns
        ``channel, target, op, goal, mean, half_width, n, share_met, intervals_missed, verdict``
        (verdict ``met``, ``missed``, or ``uncertain`` when the CI straddles the goal); see
        :mod:`servsim.targets`."""
        return verdicts(pd.concat([r.targets for r in self.runs], ignore_index=True), level)

    def _shown(self) -> list[str]:
        """The KPIs a run shows by default: the registry's headline ones, then those shown when used
        (any replication has a non-zero value); the split of the cost is shown only when there is one."""
        summary = self.summary
        used = [m for m in names(show="when_used") if m in summary and (summary[m].fillna(0) != 0).any()]
        costs = [m for m in used if REGISTRY[m].source == "costs"]
        wanted = [m for m in names(show="headline") if REGISTRY[m].source != "costs"]
        wanted += [m for m in used if m not in costs]
        if len(costs) > 1:
            wanted += costs
        return wanted + [m for m in names(show="headline") if REGISTRY[m].source == "costs"]

    def kpi_table(self, level: float = 0.95, metrics_: list[str] | None = None) -> pd.DataFrame:
        """Mean and CI half-width across replications of each KPI, per channel/segment row, plus
        occupancy per pool (channel = 'pool:NAME')."""
        wanted = self._shown() if metrics_ is None else metrics_
        main = summarise(self.summary, ["channel", "segment"], wanted, level)
        occ = self.pool_summary.rename(columns={"pool": "channel"})
        occ["channel"] = "pool:" + occ["channel"].astype(str)
        occ["segment"] = "all"
        occ_t = summarise(occ, ["channel", "segment"], ["occupancy"], level)
        return pd.concat([main, occ_t], ignore_index=True)


def build(plan: Plan, sums: CellSums, end_time: float, stopped: str, replication: int, seed: tuple[int, ...],
          load: Load, rec: Records | None = None) -> RunResult:
    """A :class:`RunResult` from a run's per-cell sums (:mod:`servsim.metrics.cells`), and its
    per-contact log ``rec`` if it kept one (without it ``contacts`` and ``visits`` are empty).
    Costs read the overall row's counts and the exact post-warm-up pool totals, so they cover
    exactly the contact KPIs' window."""
    kpis = sums.summary_columns(end_time)
    intervals = sums.intervals(replication)
    n = len(kpis["channel"])
    charges = priced(plan.scenario, *sums.pool_post())
    econ = cost_summary(None, intervals, plan.scenario, int(kpis["abandoned"][0]),
                        int(kpis["handled"][0] + kpis["contained"][0]), charges)
    overall = np.arange(n) == 0
    summary = summary_frame({"replication": np.full(n, replication)} | kpis
                            | {"load_ratio": np.full(n, load.ratio), "stopped": np.full(n, bool(stopped))}
                            | {key: np.where(overall, econ[key], np.nan) for key in columns("summary", "costs")})
    return RunResult(
        scenario=plan.scenario.name, replication=replication, seed=seed, load=load, stopped=stopped,
        summary=summary,
        intervals=intervals, sums=sums,
        per_contact=ContactLog(plan, rec if rec is not None else Records(), replication), log=rec is not None,
    )
