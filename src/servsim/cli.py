"""The ``servsim`` command line: parse, call one library function, render.

    servsim run scenarios/mmc.yaml --replications 10 --seed 1 --out results/mmc
    servsim validate scenarios/bank_contact_centre.yaml

Exit statuses are listed once, in :mod:`servsim.status`: 0 success, 1 a task kept killing its
worker, 2 bad input, 3 stopped by a run limit, 4 output not writable, 5 output folder in use,
70 internal error, 130 interrupted, 141 output pipe closed. Every command runs inside
:func:`_guarded`, so no outcome but a bug ends in a traceback, and a bug ends in one line and a
saved report rather than a screenful.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.markup import escape
from rich.table import Table

from servsim import __version__, status
from servsim.api import replicate
from servsim.report.describe import describe_scenario
from servsim.report.tables import fmt, kpi_rows, metric_label
from servsim.targets import TARGETS
from servsim.report.theory_view import predictions
from servsim.results import Replications
from servsim.scenario import Scenario, ScenarioError, load_scenario, scenario_hash
from servsim.scenario.errors import plain
from servsim.scenario.files import FilePolicy, default_policy
from servsim.execution import ExecutorError, WorkerLostError

if TYPE_CHECKING:
    from servsim.experiments.store import TaskKey

app = typer.Typer(
    name="servsim",
    help="Discrete-event simulation of service delivery systems (contact centres, back offices).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class _Console(Console):
    """A console whose closed output pipe ends the command with :data:`servsim.status.BROKEN_PIPE`
    (rich's own handling exits with status 1, which means a task fault here)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _quiet_stdout()
        raise typer.Exit(status.BROKEN_PIPE)


out = _Console(emoji=False)
err = _Console(stderr=True, emoji=False)

EXIT_TASK_FAILED = status.TASK_FAILED
EXIT_BAD_INPUT = status.BAD_INPUT
EXIT_UNSTABLE = status.STOPPED
EXIT_INTERRUPTED = status.INTERRUPTED

#: errno values that mean "the output cannot be written here", which is not a bug in servsim.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                            errno.EISDIR, errno.ELOOP})
#: How much of an unexpected error's text the one-line crash message quotes.
_CRASH_TEXT = 200


def _printable(value: object, limit: int | None = None) -> str:
    """``value`` on one line: control characters (a newline in a file name would forge message lines)
    written as escapes, at most ``limit`` characters."""
    text = plain(value)
    if limit is not None and len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    return text


def _shown(value: object, limit: int | None = None) -> str:
    """``value`` as it may appear in a rich-markup message: :func:`_printable`, markup escaped."""
    return escape(_printable(value, limit))


def _error(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def _quiet_stdout() -> None:
    """The reader of stdout went away: send what is still buffered nowhere, so that the interpreter's
    final flush does not print a second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


def _save_crash(exc: BaseException) -> str:
    """Write the traceback of a bug to a new file in the temporary folder; its path, or '' if even that fails."""
    try:
        fd, path = tempfile.mkstemp(prefix="servsim-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"servsim {__version__}, Python {sys.version.split()[0]}\nargv: {sys.argv!r}\n\n")
            fh.write("".join(traceback.format_exception(exc)))
        return path
    except OSError:
        return ""


def _guarded(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with every outcome mapped to its exit status in :mod:`servsim.status` and a message:
    output errors (disk full, read-only, links), a busy output folder, a closed output pipe and an
    interrupt each say what happened; anything else is a bug, reported in one line with the path of a
    saved traceback (``SERVSIM_DEBUG=1`` shows it instead)."""

    @functools.wraps(command)
    def guarded(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(status.BROKEN_PIPE) from None
        except status.OutputError as exc:
            _error(_shown(exc))
            raise typer.Exit(status.OUTPUT_FAILED) from None
        except status.BusyError as exc:
            _error(_shown(exc))
            raise typer.Exit(status.BUSY) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]", highlight=False)
            raise typer.Exit(status.INTERRUPTED) from None
        except OSError as exc:
            if exc.errno not in _OUTPUT_ERRNOS:
                _crash(exc)
            where = exc.filename if exc.filename is not None else "the output"
            _error(f"cannot write {_shown(where)}: {_shown(exc.strerror or exc)}")
            raise typer.Exit(status.OUTPUT_FAILED) from None
        except Exception as exc:
            _crash(exc)

    return guarded


def _crash(exc: BaseException) -> NoReturn:
    if os.environ.get("SERVSIM_DEBUG"):
        raise exc
    report = _save_crash(exc)
    where = f"the details are in {_shown(report)}" if report else "no details could be saved"
    _error(f"internal error, a bug in servsim: {_shown(type(exc).__name__)}: {_shown(exc, _CRASH_TEXT)}; "
           f"{where} (please include that file when you report it)")
    raise typer.Exit(status.INTERNAL_ERROR) from None


def command(fn: Callable[..., None]) -> Callable[..., None]:
    """Register ``fn`` as a ``servsim`` sub-command that runs :func:`_guarded`."""
    return app.command()(_guarded(fn))


OutOption = Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: results/<file stem>).")]
WorkersOption = Annotated[int, typer.Option("--workers", "-w", min=1,
                                            help="Local worker processes (not with --scheduler).")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", help="Dask scheduler address, e.g. tcp://host:8786: run the tasks on all of that cluster's "
                        "workers. Gives up if it does not answer within 10 s (SERVSIM_CONNECT_TIMEOUT=seconds).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no tables (for scripts).")]
AllowOption = Annotated[list[Path] | None, typer.Option(
    "--allow-dir", help="A folder the files named inside the input file may also be read from (repeatable; besides "
                        "the working directory, the input file's folder and SERVSIM_ALLOW_DIRS).")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Discard stored results of an earlier, different run.")]


def _refuse(path: Path, what: str, exc: ScenarioError) -> NoReturn:
    """Print located problems (one per line, never a traceback) and exit with status 2."""
    _error(f"{_shown(path)} is not a valid {what}")
    for problem in exc.problems:
        err.print(f"  {_printable(problem)}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _roots(path: Path, allow: list[Path] | None) -> FilePolicy:
    """The folders that files named in ``path`` may be read from (see :mod:`servsim.scenario.files`)."""
    return default_policy(path, extra=allow or ())


def _load(path: Path, allow: list[Path] | None = None) -> Scenario:
    try:
        return load_scenario(path, roots=_roots(path, allow))
    except ScenarioError as exc:
        _refuse(path, "scenario", exc)


def _version(value: bool) -> None:
    if value:
        out.print(f"servsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """servsim: scenario files in, KPIs with confidence intervals out."""


@command
def validate(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    allow: AllowOption = None,
) -> None:
    """Check a scenario file and print what it describes."""
    scenario = _load(file, allow)
    out.print(describe_scenario(scenario))
    out.print(f"[green]✓[/] {file} is valid")


@command
def run(
    file: Annotated[Path, typer.Argument(help="Scenario file (YAML).")],
    replications: Annotated[int, typer.Option("--replications", "-n", min=1, max=100_000,
                                              help="Independent replications.")] = 10,
    seed: Annotated[int, typer.Option("--seed", "-s", min=0, help="Root seed; replication r uses child r.")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Write tables (parquet) and run.json here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON instead of a table.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1,
                                         help="Processes to run replications in (not with --scheduler).")] = 1,
    scheduler: SchedulerOption = None,
    level: Annotated[float, typer.Option("--level", min=0.5, max=0.999, help="Confidence level.")] = 0.95,
    no_log: Annotated[bool, typer.Option(
        "--no-log", help="Keep no per-contact log: memory follows the intervals, not the contacts (long runs). "
                         "KPIs are the same except wait percentiles (within 0.5%); no contacts or visits tables.",
    )] = False,
    allow: AllowOption = None,
) -> None:
    """Run replications of a scenario and show KPIs (mean and CI half-width across replications)."""
    _check_executor(workers, scheduler)
    scenario = _load(file, allow)
    if out_dir is not None:
        _prepare_out(out_dir)
    quiet = as_json or not sys.stderr.isatty()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, disable=quiet, transient=True) as bar:
        task = bar.add_task(escape(scenario.name), total=replications)
        try:
            with _interrupts_as_keyboard():
                result = replicate(scenario, replications=replications, seed=seed, workers=workers,
                                   progress=lambda n: (_raise_if_interrupted(), bar.advance(task, n)), log=not no_log, scheduler=scheduler)
        except KeyboardInterrupt:
            from servsim.status import INTERRUPTED

            err.print("[yellow]interrupted:[/] the workers were stopped; nothing was written", highlight=False)
            raise typer.Exit(INTERRUPTED) from None
        except ExecutorError as exc:  # the scheduler did not answer, or Dask is missing
            _error(_shown(exc))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except WorkerLostError as exc:
            _error(_shown(exc.explain(hint="use fewer workers, or --no-log")))
            raise typer.Exit(EXIT_TASK_FAILED) from None
    table = result.kpi_table(level)
    if out_dir is not None:
        _write(out_dir, file, scenario, result, seed, level)
    if as_json:
        print(json.dumps(_json_summary(scenario, result, table, seed, level), indent=2, default=_nan_none))
    else:
        _render(scenario, result, table, level)
        if out_dir is not None:
            out.print(f"tables written to {_shown(out_dir)}/", highlight=False)
    if result.stopped:
        err.print("[bold red]stopped:[/] " + _shown("; ".join(result.stopped)), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_UNSTABLE)


def _render(scenario: Scenario, result: Replications, table: pd.DataFrame, level: float) -> None:
    n = len(result.runs)
    t = Table(title=f"{escape(scenario.name)} — {n} replication{'s' if n != 1 else ''}, mean ± {level:.0%} CI half-width",
              title_justify="left")
    theory = predictions(scenario)
    columns, rows = kpi_rows(table, theory[1] if theory else None)
    t.add_column("KPI")
    for col in columns:
        t.add_column(col, justify="right")
    if theory:
        t.add_column(f"theory: {theory[0]}", justify="right", style="cyan")
    for name, cells in rows:
        t.add_row(name, *cells)
    out.print(t)
    if theory:
        out.print("[dim]theory is steady state; a finite run that starts empty agrees only when the horizon is long "
                  "against the queue's relaxation time[/]")
    _render_targets(result.targets(level), level)
    load = result.load
    style = "red" if load.unstable else "yellow" if load.held else "dim"
    out.print(f"[{style}]{_shown(load.describe())}[/]", highlight=False)


_VERDICT_STYLE = {"met": "green", "missed": "bold red", "uncertain": "yellow"}


def _render_targets(targets: pd.DataFrame, level: float) -> None:
    """The Targets table: per channel and overall, each target with its mean ± CI, in how many
    replications it was met, the reporting intervals missing the goal, and the verdict."""
    t = Table(title=f"Targets — met when the whole {level:.0%} CI is on the right side of the goal",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
              caption="missed: reporting intervals below the goal (mean per replication)",
              caption_justify="left")
    t.add_column("channel")
    t.add_column("target", no_wrap=True)
    t.add_column("mean ± CI", justify="right", no_wrap=True)
    t.add_column("met in", justify="right", no_wrap=True)
    t.add_column("missed", justify="right", no_wrap=True)
    t.add_column("verdict", no_wrap=True)
    for r in targets.itertuples(index=False):
        judged = int(r.n)
        met_in = f"{round(r.share_met * judged)}/{judged}" if judged and not math.isnan(r.share_met) else "–"
        missed = "" if math.isnan(r.intervals_missed) else f"{r.intervals_missed:,.1f}"
        style = _VERDICT_STYLE.get(r.verdict, "dim")
        t.add_row("overall" if r.channel == "all" else escape(str(r.channel)),
                  f"{metric_label(TARGETS[r.target][0]) if r.target in TARGETS else r.target} "
                  f"{'≥' if r.op == '>=' else '≤'} {r.goal * 100:g}%",
                  fmt(r.mean, r.half_width, "share"), met_in, missed, f"[{style}]{r.verdict}[/]")
    out.print(t)


def _nan_none(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


def _json_summary(
    scenario: Scenario, result: Replications, table: pd.DataFrame, seed: int, level: float
) -> dict[str, object]:
    return {
        "scenario": scenario.name, "replications": len(result.runs), "seed": seed, "level": level,
        "servsim_version": __version__, "status": result.load.describe(), "unstable": result.unstable,
        "stopped": result.stopped, "kpis": _json_records(table), "targets": _json_records(result.targets(level)),
        "metrics": _units(table),
    }


def _units(table: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Label, unit and kind of every metric in a KPI table (pool rows: ``occupancy``)."""
    from servsim.metrics.registry import units

    return units(table["metric"].astype(str))


def _json_records(table: pd.DataFrame) -> list[dict[str, object]]:
    """A table's rows as JSON objects; NaN and infinities become null."""
    records = table.to_dict(orient="records")
    for r in records:
        for k, v in r.items():
            if isinstance(v, float) and not math.isfinite(v):
                r[k] = None
    return records


def _prepare_out(out_dir: Path) -> None:
    """Create the output folder before running, so a bad path costs no simulation time; a folder
    that is a link, a file, read-only or full exits with ``status.OUTPUT_FAILED``."""
    from servsim.atomic import ensure_dir, write_bytes
    from servsim.status import OutputError

    try:
        ensure_dir(out_dir, inside=out_dir)
        probe = out_dir / ".servsim-write-test"
        write_bytes(probe, b"")
        probe.unlink()
    except OutputError as exc:
        _output_failed(exc.path, exc.reason, "--out ")
    except OSError as exc:
        _output_failed(out_dir, (exc.strerror or str(exc)).lower(), "--out ")


def _output_failed(path: Path, reason: str, what: str = "") -> NoReturn:
    from servsim.status import OUTPUT_FAILED

    _error(f"cannot write to {what}{_shown(path)}: {_shown(reason)}")
    raise typer.Exit(OUTPUT_FAILED)


def _write(out_dir: Path, file: Path, scenario: Scenario, result: Replications, seed: int, level: float) -> None:
    """The run's tables, kpis.csv and run.json, each written atomically (no half file is ever left)."""
    from servsim.atomic import ensure_dir, write_bytes, write_text
    from servsim.status import OutputError

    try:
        ensure_dir(out_dir, inside=out_dir)
        log = all(r.log for r in result.runs)
        for name in ("summary", "intervals", "pools", "pool_summary", "contacts", "visits"):
            if log or name not in ("contacts", "visits"):
                write_bytes(out_dir / f"{name}.parquet", getattr(result, name).to_parquet(index=False))
        write_text(out_dir / "kpis.csv", result.kpi_table(level).to_csv(index=False))
        meta = {
            "scenario": scenario.name, "scenario_file": str(file), "scenario_sha256": scenario_hash(scenario),
            "seed": seed, "replications": len(result.runs), "servsim_version": __version__,
            "status": result.load.describe(), "unstable": result.unstable, "stopped": result.stopped,
            "per_contact_log": log, "level": level, "targets": _json_records(result.targets(level)),
            "metrics": _units(result.kpi_table(level)),
        }
        write_text(out_dir / "run.json", json.dumps(meta, indent=2, default=_nan_none) + "\n")
    except OutputError as exc:
        _output_failed(exc.path, exc.reason)


@contextmanager
def _interrupts_as_keyboard() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while tasks run, so workers are stopped and the store stays clean.

    The signal is also remembered: a KeyboardInterrupt raised while the interpreter runs a garbage
    collector's callback is swallowed there, so progress callbacks call :func:`_raise_if_interrupted`
    and the run stops at the next finished task at the latest."""

    def raise_interrupt(signum: int, frame: object) -> None:
        _INTERRUPTED.append(signum)
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    previous = {sig: signal.signal(sig, raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: Signals received inside :func:`_interrupts_as_keyboard` (see there).
_INTERRUPTED: list[int] = []


def _raise_if_interrupted() -> None:
    if _INTERRUPTED:
        raise KeyboardInterrupt


def _check_executor(workers: int, scheduler: str | None) -> None:
    """Refuse a malformed --scheduler, or --workers with --scheduler, before anything runs."""
    from servsim.execution import Executor

    try:
        Executor(workers, scheduler).check()
    except ExecutorError as exc:
        _error(_shown(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _run_stored(name: str, total: int, folder: Path, quiet: bool,
                run_all: Callable[[Callable[[int], None]], pd.DataFrame],
                describe: Callable[[TaskKey], str] | None = None) -> pd.DataFrame:
    """Run an experiment's or sweep's tasks with a progress bar; interrupts, store conflicts, an
    unusable executor and a task that keeps killing its worker end with a message, never a traceback.
    ``describe`` names a task in that message."""
    from servsim.experiments.runner import describe_task
    from servsim.experiments.store import StoreError
    from servsim.status import BUSY, OUTPUT_FAILED, BusyError, OutputError

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, disable=quiet or not sys.stderr.isatty(),
                  transient=True) as bar:
        task = bar.add_task(escape(name), total=total)

        def advance(n: int) -> None:
            _raise_if_interrupted()
            done = bar.tasks[0].completed + n
            if done > (bar.tasks[0].total or 0):  # a stopping rule added replications
                bar.update(task, total=done)
            bar.advance(task, n)

        try:
            with _interrupts_as_keyboard():
                return run_all(advance)
        except KeyboardInterrupt:
            _interrupted(folder)
        except OutputError as exc:
            store = folder / "store"
            kept = store.is_dir() and not store.is_symlink()  # not when the store itself is what failed
            _error(_shown(exc) + (f"; finished tasks stay stored in {_shown(store)}, and running the same "
                                  "command again resumes" if kept else ""))
            raise typer.Exit(OUTPUT_FAILED) from None
        except BusyError as exc:
            _error(_shown(exc))
            raise typer.Exit(BUSY) from None
        except (StoreError, ExecutorError) as exc:
            _error(_shown(exc))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except WorkerLostError as exc:
            label = "task " + (describe or describe_task)(exc.task.key)
            _error(f"{_shown(exc.explain(label))}; finished tasks are stored in {_shown(folder)}/store, and "
                   "running the same command again resumes")
            raise typer.Exit(EXIT_TASK_FAILED) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _interrupted(folder: Path) -> None:
    err.print(f"[yellow]interrupted:[/] finished tasks are stored in {_shown(folder)}/store; "
              "run the same command again to resume", highlight=False)
    raise typer.Exit(EXIT_INTERRUPTED)


def _load_experiment(path: Path, allow: list[Path] | None):  # noqa: ANN202 - Experiment, imported lazily
    from servsim.experiments.spec import load_experiment

    try:
        return load_experiment(path, roots=_roots(path, allow))
    except ScenarioError as exc:
        _refuse(path, "experiment", exc)


@command
def compare(
    file: Annotated[Path, typer.Argument(help="Experiment file (YAML).")],
    out_dir: OutOption = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    overwrite: OverwriteOption = False,
    level: Annotated[float, typer.Option("--level", min=0.5, max=0.999, help="Confidence level.")] = 0.95,
    allow: AllowOption = None,
) -> None:
    """Compare options with common random numbers: CIs, paired differences, the choice, a report.

    Finished tasks are stored as they complete; running the same command again resumes.
    """
    from servsim.experiments.compare import compare as compare_options
    from servsim.experiments.runner import run_experiment, stored_table
    from servsim.report.experiment import render_comparison, write_outputs

    _check_executor(workers, scheduler)
    exp = _load_experiment(file, allow)
    folder = out_dir or Path("results") / file.stem
    _prepare_out(folder)
    results = _run_stored(
        exp.spec.name, len(exp.options) * exp.spec.replications, folder, quiet,
        lambda progress: run_experiment(exp, folder, workers=workers, scheduler=scheduler, progress=progress,
                                        overwrite=overwrite))
    comparison = compare_options(exp, results, level, intervals=stored_table(exp, folder, "intervals"))
    write_outputs(folder, exp, comparison, level)
    if not quiet:
        render_comparison(out, exp, comparison, level)
        out.print(f"results, figures and report.html written to {_shown(folder)}/", highlight=False)


@command
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep file (YAML) with a 'sweep:' section.")],
    out_dir: OutOption = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    overwrite: OverwriteOption = False,
    allow: AllowOption = None,
) -> None:
    """Sweep a grid or Latin hypercube of scenario parameters; one row per cell × replication.

    Finished tasks are stored as they complete; running the same command again resumes.
    """
    from servsim.experiments.sweep import load_sweep, run_sweep
    from servsim.report.sweep import write_outputs as write_sweep
    from servsim.report.tables import fmt, metric_kind, parameter_text

    _check_executor(workers, scheduler)
    try:
        sw = load_sweep(file, roots=_roots(file, allow))
    except ScenarioError as exc:
        _refuse(file, "sweep", exc)
    folder = out_dir or Path("results") / file.stem
    _prepare_out(folder)
    results = _run_stored(
        sw.spec.name, len(sw.scenarios) * sw.spec.replications, folder, quiet,
        lambda progress: run_sweep(sw, folder, workers=workers, scheduler=scheduler, progress=progress,
                                   overwrite=overwrite),
        describe=lambda key: _describe_cell(sw.cells, key))
    summary = write_sweep(folder, sw, results)
    if not quiet:
        t = Table(title=f"{escape(sw.spec.name)} — mean ± 95% CI half-width per cell", title_justify="left")
        for p in sw.parameters:
            t.add_column(escape(p.split(".")[-2] + "." + p.split(".")[-1] if "." in p else p))
        t.add_column("n", justify="right")
        for m in sw.spec.metrics:
            t.add_column(escape(m), justify="right")
        for _, row in summary.iterrows():
            t.add_row(*[escape(parameter_text(row[p])) for p in sw.parameters], str(int(row["replications"])),
                      *[fmt(row[m], row[m + "_half_width"], metric_kind(m)) for m in sw.spec.metrics])
        out.print(t)
        out.print(f"results, cells.csv and figures written to {_shown(folder)}/", highlight=False)


def _describe_cell(cells: pd.DataFrame, key: TaskKey) -> str:
    """``cell 3 (pools.agents.agents=7, ...), replication 2``: a sweep task by its parameter values."""
    row = cells[cells["cell"] == key.cell]
    values = ", ".join(f"{p}={v}" for p, v in row.iloc[0].items() if p != "cell") if len(row) else ""
    return f"cell {key.cell}" + (f" ({values})" if values else "") + f", replication {key.replication}"


if __name__ == "__main__":  # pragma: no cover
    app()
