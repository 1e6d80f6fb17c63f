"""Results of runs: plain DataFrames that pickle across processes and machines.

Every table carries a ``replication`` column. Column contracts are listed in :mod:`servsim.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

import numpy as np

from servsim import metrics
from servsim.economics import cost_summary, economics_summary, satisfaction_scores
from servsim.capacity import Load
from servsim.engine import Plan, Records
from servsim.stats import summarise
from servsim.streaming import Accumulator
from servsim.targets import run_targets, verdicts

#: KPIs shown by default, in this order.
HEADLINE = ["offered", "answered", "abandoned", "abandon_rate", "p_wait", "asa_s", "mean_wait_s", "p90_wait_s",
            "p95_wait_s", "service_level", "mean_handle_s", "mean_lead_time_s", "in_system_end",
            "littles_gap", "satisfaction_mean", "share_satisfied", "total_cost", "cost_per_handled"]
#: Shown as well when the scenario uses the mechanism (any replication has a non-zero value).
OPTIONAL = ["balked", "contained", "outsourced", "unresolved", "retrials", "staff_cost", "vendor_cost", "bot_cost"]


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
    :mod:`servsim.streaming`; interval percentiles are NaN, summary percentiles within 0.5 %).
    """

    scenario: str
    replication: int
    seed: tuple[int, ...]
    load: Load
    stopped: str
    summary: pd.DataFrame
    pool_summary: pd.DataFrame
    intervals: pd.DataFrame
    pools: pd.DataFrame
    per_contact: ContactLog = field(repr=False)
    log: bool = True

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
            visits = metrics.visit_table(self.plan, self.rec)
            contacts = metrics.contact_table(self.plan, self.rec, visits)
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

    def kpi_table(self, level: float = 0.95, metrics_: list[str] | None = None) -> pd.DataFrame:
        """Mean and CI half-width across replications of each KPI, per channel/segment row, plus
        occupancy per pool (channel = 'pool:NAME')."""
        if metrics_ is None:
            used = [m for m in OPTIONAL if m in self.summary and (self.summary[m].fillna(0) != 0).any()]
            costs = [m for m in used if m.endswith("_cost")]
            wanted = HEADLINE + [m for m in used if m not in costs]
            if len(costs) > 1:  # the split of the total is worth showing only when there is one
                wanted += costs
        else:
            wanted = metrics_
        main = summarise(self.summary, ["channel", "segment"], wanted, level)
        occ = self.pool_summary.rename(columns={"pool": "channel"})
        occ["channel"] = "pool:" + occ["channel"].astype(str)
        occ["segment"] = "all"
        occ_t = summarise(occ, ["channel", "segment"], ["occupancy"], level)
        return pd.concat([main, occ_t], ignore_index=True)


def pool_summary(totals: pd.DataFrame) -> pd.DataFrame:
    """The ``pool_summary`` table from a run's exact post-warm-up pool totals
    (:func:`servsim.metrics.pool_summary_frame`): per pool ``staffed_s, busy_s, paid_s, occupancy``."""
    return totals.drop(columns="served")


def _add_economics(summary: pd.DataFrame, plan: Plan, contacts: pd.DataFrame, pools: pd.DataFrame,
                   intervals: pd.DataFrame, acc: Accumulator | None = None) -> None:
    """Costs on the overall row; the satisfaction proxy on every row (its own contacts). ``pools`` are
    the exact post-warm-up pool totals (:func:`servsim.metrics.pool_summary_frame`), so staff, vendor
    and bot costs cover exactly the contact KPIs' window. Without a per-contact log (``acc`` given),
    contact counts and scores come from the run's sums."""
    s = plan.scenario
    overall = ((summary["channel"] == "all") & (summary["segment"] == "all")).to_numpy()
    if acc is None:
        econ = economics_summary(contacts, pools, intervals, s)
    else:
        row = summary[overall].iloc[0]
        econ = cost_summary(pools, intervals, s, int(row["abandoned"]), int(row["handled"] + row["contained"]))
    for key in ("staff_cost", "penalty_cost", "total_cost", "cost_per_handled", "vendor_cost", "bot_cost"):
        summary[key] = np.where(overall, econ[key], np.nan)
    if acc is not None:
        summary["satisfaction_mean"], summary["share_satisfied"] = acc.satisfaction_rows(summary)
        return
    scores = satisfaction_scores(contacts, s.economics.satisfaction)
    keep = ~contacts["warmup"].to_numpy()
    channel = contacts["channel"].astype(str).to_numpy()
    segment = contacts["segment"].astype(str).to_numpy()
    means, shares = [], []
    for ch, seg in zip(summary["channel"], summary["segment"]):
        mask = keep & ~np.isnan(scores)
        if ch != "all":
            mask &= channel == ch
        if seg != "all":
            mask &= segment == seg
        x = scores[mask]
        means.append(float(x.mean()) if len(x) else np.nan)
        shares.append(float((x >= s.economics.satisfaction.satisfied_at).mean()) if len(x) else np.nan)
    summary["satisfaction_mean"] = means
    summary["share_satisfied"] = shares


def build_streaming(plan: Plan, acc: Accumulator, end_time: float, stopped: str, replication: int,
                    seed: tuple[int, ...], load: Load) -> RunResult:
    """A :class:`RunResult` from the sums of a run kept without a per-contact log (see
    :mod:`servsim.streaming`); ``contacts`` and ``visits`` are empty."""
    empty = Records()
    visits = metrics.visit_table(plan, empty)
    contacts = metrics.contact_table(plan, empty, visits)
    pools = acc.pools()
    totals = acc.pool_totals()
    summary = acc.summary(end_time)
    intervals = acc.intervals()
    summary["load_ratio"] = load.ratio
    summary["stopped"] = bool(stopped)
    _add_economics(summary, plan, contacts, totals, intervals, acc)
    return RunResult(
        scenario=plan.scenario.name, replication=replication, seed=seed, load=load, stopped=stopped,
        summary=_tag(summary, replication), pool_summary=_tag(pool_summary(totals), replication),
        intervals=_tag(intervals, replication), pools=_tag(pools, replication),
        per_contact=ContactLog(plan, Records(), replication), log=False,
    )


def build(plan: Plan, rec: Records, replication: int, seed: tuple[int, ...], load: Load) -> RunResult:
    """Turn one run's records into a :class:`RunResult`."""
    visits = metrics.visit_table(plan, rec)
    contacts = metrics.contact_table(plan, rec, visits)
    pools, totals = metrics.pool_tables(plan, rec)
    summary = metrics.summary_rows(plan, contacts, visits, rec.end_time)
    intervals = metrics.interval_table(plan, contacts, visits)
    summary["load_ratio"] = load.ratio
    summary["stopped"] = bool(rec.stopped)
    _add_economics(summary, plan, contacts, totals, intervals)
    return RunResult(
        scenario=plan.scenario.name, replication=replication, seed=seed, load=load, stopped=rec.stopped,
        summary=_tag(summary, replication), pool_summary=_tag(pool_summary(totals), replication),
        intervals=_tag(intervals, replication), pools=_tag(pools, replication),
        per_contact=ContactLog(plan, rec, replication),
    )
