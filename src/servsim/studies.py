"""The Python API of experiments and sweeps: what ``servsim compare`` and ``servsim sweep`` do.

    >>> import servsim
    >>> c = servsim.compare("experiments/bank_options.yaml", replications=5, workers=2)
    >>> c.summary          # per option and metric: mean, CI half-width (as summary.csv)
    >>> c.differences      # paired differences from the baseline (as differences.csv)
    >>> c.report("bank.html")
    >>> s = servsim.sweep("experiments/utilisation_sweep.yaml", replications=3)
    >>> s.cells            # one row per cell, mean and half-width per metric (as cells.csv)

The command line calls these functions (one code path), so the tables are the CLI's own. An
experiment or sweep is a file, a dict of the same fields (files it names are relative to
``base_dir``, default the working directory), or one loaded already. ``replications=`` and ``seed=``
replace the file's before it is validated. ``out=DIR`` stores each finished task in ``DIR/store``
— an interrupted call resumes when called again — and writes every file the CLI writes; without
``out``, tasks are stored in a temporary folder removed at the end. ``workers`` and ``scheduler``
run the tasks in local processes or on a Dask cluster, with the same numbers
(:mod:`servsim.execution`).

:func:`with_changes` applies the change kinds of experiment files (``set``, ``scale``,
``add_agents``, ``add_vendor``, ``automate``, ``patch``) to a scenario file or dict, through the same
code an experiment's options go through.
"""

from __future__ import annotations

import html
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from servsim.experiments.compare import Comparison
from servsim.experiments.compare import compare as compare_options
from servsim.experiments.runner import run_experiment, stored_table
from servsim.experiments.spec import (
    SCENARIO_FIELDS, Experiment, apply_changes, experiment_from_dict, load_experiment,
)
from servsim.experiments.sweep import Sweep, load_sweep, run_sweep, sweep_from_dict
from servsim.scenario import Scenario, scenario_from_dict
from servsim.scenario.files import policy_for
from servsim.scenario.loader import Roots
from servsim.scenario.yamlio import load_yaml

__all__ = ["ComparisonResult", "SweepResult", "compare", "sweep", "with_changes"]

#: The most option or cell names a ``repr`` lists before saying how many more there are.
_NAMES_SHOWN = 8
#: The most rows ``_repr_html_`` shows.
_HTML_ROWS = 20

Progress = Callable[[int], None]


def _overrides(replications: int | None, seed: int | None) -> dict[str, int]:
    return {k: v for k, v in (("replications", replications), ("seed", seed)) if v is not None}


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:_NAMES_SHOWN])
    return shown + (f" and {len(names) - _NAMES_SHOWN} more" if len(names) > _NAMES_SHOWN else "")


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@contextmanager
def _folder(out: str | Path | None, prefix: str) -> Iterator[Path]:
    """``out``, or a temporary folder removed at the end."""
    if out is not None:
        yield Path(out)
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


# --------------------------------------------------------------------------- compare


@dataclass(frozen=True)
class ComparisonResult:
    """What ``servsim compare`` shows and writes, as DataFrames.

    ``summary``: per option and metric, mean and CI half-width (summary.csv); ``differences``: each
    option's paired difference from the baseline (differences.csv); ``results``: one row per option
    × replication (results.parquet); ``pareto``: means on the cost/wait axes with the front
    (pareto.csv); ``selection``: the choice under the objective, if the file has one."""

    experiment: Experiment
    comparison: Comparison
    level: float = 0.95
    out: Path | None = None

    @property
    def name(self) -> str:
        return self.experiment.spec.name

    @property
    def summary(self) -> pd.DataFrame:
        return self.comparison.summary

    @property
    def differences(self) -> pd.DataFrame:
        return self.comparison.differences

    @property
    def results(self) -> pd.DataFrame:
        return self.comparison.results

    @property
    def pareto(self) -> pd.DataFrame:
        return self.comparison.pareto

    @property
    def selection(self) -> Any:
        """:class:`servsim.stats.Selection`, or None without an objective."""
        return self.comparison.selection

    @property
    def choice(self) -> str | None:
        """The option chosen under the objective (None without one, or when none is feasible)."""
        return self.selection.best if self.selection is not None else None

    def report(self, path: str | Path) -> Path:
        """Write the self-contained HTML report ``servsim compare`` writes (report.html) to ``path``."""
        from servsim.report import html as report_html
        from servsim.report.experiment import report_page

        return report_html.write_report(path, report_page(self.experiment, self.comparison, self.level))

    def _choice_text(self) -> str:
        s = self.selection
        if s is None:
            return "no objective"
        if s.best is None:
            return "no option meets every constraint"
        return f"choice {s.best!r} ({'confident' if s.confident else 'not confident'})"

    def __repr__(self) -> str:
        exp = self.experiment
        return (f"<ComparisonResult {_short(self.name)!r}: {len(exp.options)} options ({_names(exp.options)}) × "
                f"{exp.spec.replications} replications, baseline {exp.baseline!r}, {self._choice_text()}; "
                f".summary, .differences, .results, .pareto, .report(path)>")

    def _repr_html_(self) -> str:
        from servsim.report import format as fmt

        exp, s = self.experiment, self.summary
        metrics = list(dict.fromkeys(exp.spec.metrics))
        head = "".join(f"<th>{html.escape(fmt.label(m))}</th>" for m in metrics)
        rows = []
        for option in exp.options[:_HTML_ROWS]:
            cells = []
            for m in metrics:
                row = s[(s["option"] == option) & (s["metric"] == m)]
                cells.append(fmt.estimate(row["mean"].iloc[0], row["half_width"].iloc[0], fmt.kind_of(m))
                             if len(row) else "")
            label = option + (" (baseline)" if option == exp.baseline else "")
            rows.append(f"<tr><th>{html.escape(label)}</th>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
                        + "</tr>")
        more = len(exp.options) - _HTML_ROWS
        caption = (f"{self.name} — {exp.spec.replications} replications per option, mean ± {fmt.confidence(self.level)} CI "
                   f"half-width; {self._choice_text()}" + (f"; {more} more options in .summary" if more > 0 else ""))
        return (f"<table><caption>{html.escape(caption)}</caption><thead><tr><th>option</th>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")


def _study(given: Any, kind: type, from_dict: Callable[..., Any], load: Callable[..., Any],
           base_dir: str | Path | None, roots: Roots, overrides: dict[str, int]) -> Any:
    """A loaded experiment or sweep (``kind``) from a loaded one, a dict or a file path."""
    if isinstance(given, kind):
        if overrides:
            raise ValueError(f"replications= and seed= apply to a file or dict, not to a loaded {kind.__name__}")
        return given
    if isinstance(given, Mapping):
        return from_dict({**given, **overrides}, "." if base_dir is None else base_dir, roots=roots)
    return load(given, roots=roots, overrides=overrides or None)


def compare(
    experiment: str | Path | Mapping[str, Any] | Experiment,
    *,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    level: float = 0.95,
    replications: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    base_dir: str | Path | None = None,
    roots: Roots = None,
    progress: Progress | None = None,
    figures: bool = True,
) -> ComparisonResult:
    """Run an experiment's options with common random numbers and compare them, as
    ``servsim compare`` does (module docstring): CIs, paired differences from the baseline, the
    choice under the objective and the Pareto front.

    ``out``: the output folder (resumable store and every file the CLI writes; refused if it holds
    a different experiment unless ``overwrite``; ``figures=False`` leaves out figures/*.png and
    report.html, which ``servsim report`` draws later). ``progress(n)`` is called as tasks finish.
    Raises :class:`servsim.ScenarioError` for an invalid experiment,
    :class:`servsim.experiments.store.StoreMismatchError` for a folder of another experiment, and
    the errors of :func:`servsim.replicate` for the executor."""
    exp = _study(experiment, Experiment, experiment_from_dict, load_experiment, base_dir, roots,
                 _overrides(replications, seed))
    with _folder(out, "servsim-compare-") as folder:
        results = run_experiment(exp, folder, workers=workers, scheduler=scheduler, progress=progress,
                                 overwrite=overwrite)
        comparison = compare_options(exp, results, level, intervals=stored_table(exp, folder, "intervals"))
        if out is not None:
            from servsim.report.experiment import write_outputs

            write_outputs(folder, exp, comparison, level, figures=figures)
    return ComparisonResult(exp, comparison, level, None if out is None else Path(out))


# --------------------------------------------------------------------------- sweep


@dataclass(frozen=True)
class SweepResult:
    """What ``servsim sweep`` shows and writes, as DataFrames.

    ``cells``: one row per cell — parameter values, replications, and each metric's mean and CI
    half-width (cells.csv, the table the CLI prints); ``summary``: the same numbers long, one row per
    cell and metric (``cell``, the parameters, ``metric``, ``mean``, ``half_width``,
    ``replications``); ``results``: one row per cell × replication (results.parquet)."""

    sweep: Sweep
    results: pd.DataFrame
    cells: pd.DataFrame
    level: float = 0.95
    out: Path | None = None

    @property
    def name(self) -> str:
        return self.sweep.spec.name

    @property
    def summary(self) -> pd.DataFrame:
        keys = ["cell", *self.sweep.parameters, "replications"]
        rows = []
        for metric in self.sweep.spec.metrics:
            part = self.cells[keys].copy()
            part["metric"] = metric
            part["mean"] = self.cells[metric].to_numpy()
            part["half_width"] = self.cells[f"{metric}_half_width"].to_numpy()
            rows.append(part)
        long = pd.concat(rows, ignore_index=True)
        return long[["cell", *self.sweep.parameters, "metric", "mean", "half_width", "replications"]]

    def report(self, folder: str | Path) -> Path:
        """Write what ``servsim sweep`` writes — results.parquet, cells.csv and the line and heatmap
        figures (figures/*.png) — into ``folder``; a sweep has no HTML page."""
        from servsim.report.sweep import write_outputs

        write_outputs(Path(folder), self.sweep, self.results, self.level)
        return Path(folder)

    def __repr__(self) -> str:
        sw = self.sweep
        design = "Latin hypercube" if sw.spec.sweep.design == "lhs" else "grid"
        return (f"<SweepResult {_short(self.name)!r}: {len(sw.scenarios)} cells ({design} over "
                f"{_names(sw.parameters)}) × {sw.spec.replications} replications, metrics "
                f"{_names(sw.spec.metrics)}; .cells, .summary, .results, .report(folder)>")

    def _repr_html_(self) -> str:
        from servsim.report import format as fmt

        sw = self.sweep
        head = "".join(f"<th>{html.escape(p)}</th>" for p in sw.parameters) + "<th>n</th>" + "".join(
            f"<th>{html.escape(m)}</th>" for m in sw.spec.metrics)
        rows = []
        for _, row in self.cells.head(_HTML_ROWS).iterrows():
            cells = [fmt.parameter(row[p]) for p in sw.parameters] + [str(int(row["replications"]))]
            cells += [fmt.estimate(row[m], row[m + "_half_width"], fmt.kind_of(m)) for m in sw.spec.metrics]
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        more = len(self.cells) - _HTML_ROWS
        caption = (f"{self.name} — mean ± {fmt.confidence(self.level)} CI half-width per cell"
                   + (f"; {more} more cells in .cells" if more > 0 else ""))
        return (f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")


def sweep(
    spec: str | Path | Mapping[str, Any] | Sweep,
    *,
    out: str | Path | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    level: float = 0.95,
    replications: int | None = None,
    seed: int | None = None,
    overwrite: bool = False,
    base_dir: str | Path | None = None,
    roots: Roots = None,
    progress: Progress | None = None,
    figures: bool = True,
) -> SweepResult:
    """Run a sweep's cells × replications, as ``servsim sweep`` does (module docstring); with
    ``out``, its files are written there too (figures/*.png unless ``figures`` is false). Errors as
    for :func:`compare`."""
    sw = _study(spec, Sweep, sweep_from_dict, load_sweep, base_dir, roots, _overrides(replications, seed))
    with _folder(out, "servsim-sweep-") as folder:
        results = run_sweep(sw, folder, workers=workers, scheduler=scheduler, progress=progress, overwrite=overwrite)
        if out is not None:
            from servsim.report.sweep import write_outputs

            cells = write_outputs(folder, sw, results, level, figures=figures)
        else:
            from servsim.report.sweep import cell_summary

            cells = cell_summary(sw, results, level)
    return SweepResult(sw, results, cells, level, None if out is None else Path(out))


# --------------------------------------------------------------------------- changes


def with_changes(
    scenario: str | Path | Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    roots: Roots = None,
) -> Scenario:
    """A validated scenario: ``scenario`` (a file, or its fields as a dict) with ``changes`` applied
    in order — the changes an experiment file's option lists, in the same form::

        servsim.with_changes("scenarios/bank_contact_centre.yaml",
                             [{"add_agents": {"pool": "tellers", "count": 2, "start": "10:00", "end": "14:00"}},
                              {"set": {"path": "steps.follow_up.handle_time.mean", "value": "6min"}}])

    Files named inside (traces, ``patch:`` files) are relative to the scenario file's folder, or to
    ``base_dir`` (default: the working directory) for a dict. A validated :class:`Scenario` holds
    times in seconds, not as written, so give the file or the dict it came from. Raises
    :class:`servsim.ScenarioError` naming the change that is malformed or does not apply
    (``changes.1``), or the problems of the changed scenario."""
    if isinstance(scenario, Scenario):
        raise TypeError("with_changes needs the scenario's file or its fields as a dict (a validated Scenario "
                        "holds times in seconds, not as written); e.g. with_changes('scenario.yaml', [...])")
    if isinstance(scenario, Mapping):
        folder = Path("." if base_dir is None else base_dir)
        policy = policy_for(roots, extra=[folder])
        data, name = dict(scenario), "<dict>"
    else:
        path = Path(scenario)
        policy = policy_for(roots, top_file=path)
        data = load_yaml(path, expected_keys=SCENARIO_FIELDS, policy=None if roots is None else policy).data
        folder, name = (path.parent if base_dir is None else Path(base_dir)), str(path)
    changed = apply_changes(data, changes, folder, policy, file=f"{name} [changes]")
    return scenario_from_dict(changed, base_dir=folder, file=f"{name} [changed]", roots=policy)
