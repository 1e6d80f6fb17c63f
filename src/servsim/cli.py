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
import shlex
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.markup import escape

from servsim import __version__, status
from servsim.execution import ExecutorError, WorkerLostError

# Everything else is imported where a command needs it, so that ``servsim --help`` loads neither
# pandas nor pydantic nor scipy.
if TYPE_CHECKING:
    import pandas as pd

    from servsim.experiments.store import TaskKey
    from servsim.results import Replications
    from servsim.scenario import Scenario, ScenarioError
    from servsim.scenario.files import FilePolicy

_T = TypeVar("_T")

class _FlagsWithoutType:
    """Help that shows no type after a flag: ``--json``, not ``--json <bool>`` — a flag takes no
    value, and a type beside it reads as if it wanted one. Mixed into the command and group classes,
    so it covers every flag, ``--help`` and ``--version`` included (they are created by typer)."""

    def get_params(self, ctx: typer.Context) -> list[Any]:
        params = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""  # what the help shows in the type column
        return params


class _Command(_FlagsWithoutType, TyperCommand):
    pass


class _Group(_FlagsWithoutType, TyperGroup):
    pass


def _statuses_epilog() -> str:
    """Every exit status and its meaning, for ``servsim --help`` (from :data:`servsim.status.MEANINGS`)."""
    rows = "\n".join(f"  {code:<4} {escape(meaning)}" for code, meaning in status.MEANINGS.items())
    return f"Exit statuses (the README's Reliability section says more):\n{rows}"


app = typer.Typer(
    name="servsim",
    help="Discrete-event simulation of service delivery systems (contact centres, back offices).",
    epilog=_statuses_epilog(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Group,
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
EXIT_STOPPED = status.STOPPED
EXIT_UNSTABLE = status.UNSTABLE
EXIT_INTERRUPTED = status.INTERRUPTED

#: errno values that mean "the output cannot be written here", which is not a bug in servsim.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.ENOTDIR,
                            errno.EISDIR, errno.ELOOP})
#: How much of an unexpected error's text the one-line crash message quotes.
_CRASH_TEXT = 200


def _printable(value: object, limit: int | None = None) -> str:
    """``value`` on one line: control characters (a newline in a file name would forge message lines)
    written as escapes, at most ``limit`` characters."""
    from servsim.scenario.errors import plain

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
    return app.command(cls=_Command)(_guarded(fn))


OutOption = Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR", help="Output folder (default: results/<file stem>).")]
WorkersOption = Annotated[int, typer.Option("--workers", "-w", min=1, metavar="N",
                                            help="Local worker processes (not with --scheduler).")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", metavar="ADDRESS",
    help="Dask scheduler, e.g. tcp://host:8786: run the tasks on all of that cluster's workers. Gives up after "
         "10 s without an answer (SERVSIM_CONNECT_TIMEOUT sets the seconds).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no tables (for scripts).")]
NoFiguresOption = Annotated[bool, typer.Option(
    "--no-figures", help="Write the tables only, without figures/*.png (and report.html); `servsim report DIR` "
                         "draws them later from the stored results.")]
AllowOption = Annotated[list[Path] | None, typer.Option(
    "--allow-dir", metavar="DIR", help="A folder the files named inside the input file may also be read from (repeatable; besides "
                        "the working directory, the input file's folder and SERVSIM_ALLOW_DIRS).")]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Discard stored results of an earlier, different run.")]


#: How messages name each kind of file.
_KIND = {"scenario": "a scenario", "experiment": "an experiment file", "sweep": "a sweep file"}


def _refuse(path: Path, what: str, exc: ScenarioError) -> NoReturn:
    """Print located problems (one per line, never a traceback) and exit with status 2. A file of
    another kind (an experiment file given to ``run``...) gets one line naming the right command
    instead of a screenful of fields that belong to that kind."""
    from servsim.experiments.spec import COMMANDS, file_kind

    kind = file_kind(path)
    if kind is not None and kind != what:
        _error(f"{_shown(path)} is {_KIND[kind]}, not {_KIND[what]}")
        hint = "; to compare options on it, name it as the base: of an experiment file" if kind == "scenario" else ""
        err.print(f"  run it with: servsim {COMMANDS[kind]} {_shown(shlex.quote(str(path)))}{hint}",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT)
    _error(f"{_shown(path)} is not a valid {what}")
    for problem in exc.problems:
        err.print(f"  {_printable(problem)}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _roots(path: Path, allow: list[Path] | None) -> FilePolicy:
    """The folders that files named in ``path`` may be read from (see :mod:`servsim.scenario.files`)."""
    from servsim.scenario.files import default_policy

    return default_policy(path, extra=allow or ())


def _load(path: Path, allow: list[Path] | None = None) -> Scenario:
    from servsim.scenario import ScenarioError, load_scenario

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
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario, experiment or sweep file (YAML).")],
    allow: AllowOption = None,
) -> None:
    """Check a scenario, experiment or sweep file and print what it describes.

    An experiment or sweep file is checked whole: its base scenario, and every option or sweep cell.
    """
    from servsim.experiments.spec import COMMANDS, file_kind
    from servsim.report.describe import describe_experiment, describe_scenario, describe_sweep

    kind = file_kind(file) or "scenario"
    if kind == "experiment":
        out.print(describe_experiment(_load_experiment(file, allow)))
    elif kind == "sweep":
        out.print(describe_sweep(_load_sweep(file, allow)))
    else:
        out.print(describe_scenario(_load(file, allow)))
    valid = _KIND[kind].replace("an ", "a ", 1).replace("a ", "a valid ", 1)
    out.print(f"[green]✓[/] {_shown(file)} is {valid}; run it with: servsim {COMMANDS[kind]} "
              f"{_shown(shlex.quote(str(file)))}", highlight=False)


@command
def run(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario file (YAML).")],
    replications: Annotated[int, typer.Option("--replications", "-n", min=1, max=100_000, metavar="N",
                                              help="Independent replications.")] = 10,
    seed: Annotated[int, typer.Option("--seed", "-s", min=0, metavar="N", help="Root seed; replication r uses child r.")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", metavar="DIR",
                                                                 help="Write tables (parquet) and run.json here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON instead of a table.")] = False,
    no_report: Annotated[bool, typer.Option(
        "--no-report", help="With --out: write the tables only, without report.html and figures/*.png (the day "
                            "interval by interval).")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, metavar="N",
                                         help="Processes to run replications in (not with --scheduler).")] = 1,
    scheduler: SchedulerOption = None,
    level: Annotated[float, typer.Option("--level", min=0.5, max=0.999, metavar="P",
                                              help="Confidence level.")] = 0.95,
    no_log: Annotated[bool, typer.Option(
        "--no-log", help="Keep no per-contact log: memory follows the intervals, not the contacts (long runs). "
                         "KPIs are the same except wait percentiles (within 0.5%); no contacts or visits tables.",
    )] = False,
    allow: AllowOption = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace the output of a different run in --out (its servsim files are removed first).",
    )] = False,
) -> None:
    """Run replications of a scenario and show KPIs (mean and CI half-width across replications).

    A different run's output in --out is refused unless --overwrite; the same run rewrites its own.
    """
    from servsim import runfolder
    from servsim.api import replicate

    report = not no_report
    _check_executor(workers, scheduler)
    scenario = _load(file, allow)
    identity = runfolder.run_fields(scenario, seed, replications, not no_log, level)
    if out_dir is not None:
        _run_folder(lambda: runfolder.check(out_dir, identity, overwrite))  # before any simulation time
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
        with _claimed(out_dir, identity, overwrite):
            _write(out_dir, file, scenario, result, seed, level)
            if report:
                _write_report(out_dir, file, scenario, result, seed, level)
    if as_json:
        print(json.dumps(_json_summary(scenario, result, table, seed, level), indent=2, default=_nan_none))
    else:
        _render(scenario, result, table, level)
        if out_dir is not None:
            what = "tables and report.html" if report else "tables"
            out.print(f"{what} written to {_shown(out_dir)}/", highlight=False)
    if result.stopped:
        err.print("[bold red]stopped:[/] " + _shown("; ".join(result.stopped)), highlight=False, soft_wrap=True)
    code = EXIT_STOPPED if result.stopped else EXIT_UNSTABLE if result.unstable else status.OK
    if code != status.OK:
        err.print(f"[bold red]exit status {code}:[/] {_shown(_status_line(code, result))}", highlight=False,
                  soft_wrap=True)
        raise typer.Exit(code)


def _status_line(code: int, result: Replications) -> str:
    """What a run's non-zero exit status means, said as its last line (see :mod:`servsim.status`)."""
    if code == EXIT_STOPPED:
        return (f"{status.MEANINGS[code]} (named above), so its tables end at the stop; raise the limit in the "
                "scenario's limits: section, or add capacity")
    load = result.load
    peak = max([load.ratio, *load.step_ratio.values()])
    return (f"{status.MEANINGS[code]}: offered load reaches {peak:.2f}× capacity and abandonment does not hold "
            "the queue, so the KPIs depend on how long the run lasts")


def _render(scenario: Scenario, result: Replications, table: pd.DataFrame, level: float) -> None:
    from servsim.report.format import confidence
    from servsim.report.tables import render_run, render_targets
    from servsim.report.theory_view import predictions

    n = len(result.runs)
    title = f"{scenario.name} — {n} replication{'s' if n != 1 else ''}, mean ± {confidence(level)} CI half-width"
    render_run(out, title, table, currency=scenario.economics.currency, theory=predictions(scenario))
    render_targets(out, result.targets(level), level)
    load = result.load
    style = "red" if load.unstable else "yellow" if load.held else "dim"
    out.print(f"[{style}]{_shown(load.describe())}[/]", highlight=False)


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
        "metrics": _units(table, scenario),
    }


def _units(table: pd.DataFrame, scenario: Scenario) -> dict[str, dict[str, str]]:
    """Label, unit and kind of every metric in a KPI table (pool rows: ``occupancy``); money is in
    the scenario's currency."""
    from servsim.metrics.registry import units

    return units(table["metric"].astype(str), currency=scenario.economics.currency)


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


def _run_folder(action: Callable[[], None]) -> None:
    """``action`` on run's --out folder; a folder holding another run's output exits with status 2."""
    from servsim.runfolder import RunFolderError

    try:
        action()
    except RunFolderError as exc:
        _error(_shown(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None


@contextmanager
def _claimed(out_dir: Path, identity: dict[str, object], overwrite: bool) -> Iterator[None]:
    """Write run's files inside this block, in a folder claimed for this run (:mod:`servsim.runfolder`:
    another run's output is refused with status 2, or removed first with ``overwrite``)."""
    from servsim.runfolder import RunFolderError, claim
    from servsim.status import OutputError

    try:
        with claim(out_dir, identity, overwrite):
            yield
    except RunFolderError as exc:
        _error(_shown(exc))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except OutputError as exc:
        _output_failed(exc.path, exc.reason)


def _write(out_dir: Path, file: Path, scenario: Scenario, result: Replications, seed: int, level: float) -> None:
    """The run's tables, kpis.csv and run.json, each written atomically (no half file is ever left)."""
    from servsim.atomic import ensure_dir, write_bytes, write_text
    from servsim.scenario import scenario_hash
    from servsim.status import OutputError

    try:
        ensure_dir(out_dir, inside=out_dir)
        log = all(r.log for r in result.runs)
        for name in ("summary", "intervals", "pools", "pool_summary", "contacts", "visits"):
            if log or name not in ("contacts", "visits"):
                write_bytes(out_dir / f"{name}.parquet", getattr(result, name).to_parquet(index=False))
        if len(result.agents):  # pools of individual agents: one row per agent and replication
            write_bytes(out_dir / "agents.parquet", result.agents.to_parquet(index=False))
        write_text(out_dir / "kpis.csv", result.kpi_table(level).to_csv(index=False))
        meta = {
            "scenario": scenario.name, "scenario_file": str(file), "scenario_sha256": scenario_hash(scenario),
            "seed": seed, "replications": len(result.runs), "servsim_version": __version__,
            "status": result.load.describe(), "unstable": result.unstable, "stopped": result.stopped,
            "per_contact_log": log, "level": level, "targets": _json_records(result.targets(level)),
            "metrics": _units(result.kpi_table(level), scenario),
        }
        write_text(out_dir / "run.json", json.dumps(meta, indent=2, default=_nan_none) + "\n")
    except OutputError as exc:
        _output_failed(exc.path, exc.reason)


def _write_report(out_dir: Path, file: Path, scenario: Scenario, result: Replications, seed: int,
                  level: float) -> None:
    """report.html and figures/ of a run (:mod:`servsim.report.run_report`), all or nothing each."""
    from servsim.report.run_report import run_report, write_run_report
    from servsim.status import OutputError

    meta = {"scenario file": str(file), "replications": len(result.runs), "seed": seed,
            "confidence level": f"{level:.0%}", "servsim": __version__}
    try:
        write_run_report(out_dir, run_report(scenario, result, level=level, meta=meta))
    except OutputError as exc:
        _output_failed(exc.path, exc.reason)


@contextmanager
def _interrupts_as_keyboard() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C while tasks run, so workers are stopped and the store stays clean.

    The signal is also remembered: a KeyboardInterrupt raised while the interpreter runs a garbage
    collector's callback or an at-fork hook is swallowed there, so progress callbacks call
    :func:`_raise_if_interrupted` and the run stops at the next finished task at the latest. Such a
    swallowed interrupt, and a pool thread writing to a pipe the stopped workers closed while the
    interpreter exits, would print "Exception ignored" with a traceback after the one-line
    "interrupted" message; once interrupted, those two are not printed (:func:`_quiet_teardown`)."""

    def raise_interrupt(signum: int, frame: object) -> None:
        _INTERRUPTED.append(signum)
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    previous = {sig: signal.signal(sig, raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_quiet_teardown, hook)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if not _INTERRUPTED:  # interrupted, teardown is still to come: keep it quiet
            sys.unraisablehook = hook


def _quiet_teardown(previous: Callable[[Any], object], unraisable: Any) -> None:
    """Drop the noise of an interrupted run (see :func:`_interrupts_as_keyboard`); pass the rest on."""
    exc = unraisable.exc_value
    if _INTERRUPTED and (isinstance(exc, KeyboardInterrupt)
                         or (isinstance(exc, OSError) and exc.errno in (errno.EBADF, errno.EPIPE))):
        return
    previous(unraisable)


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
                run_all: Callable[[Callable[[int], None]], _T],
                describe: Callable[[TaskKey], str] | None = None) -> _T:
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
    from servsim.scenario import ScenarioError

    try:
        return load_experiment(path, roots=_roots(path, allow))
    except ScenarioError as exc:
        _refuse(path, "experiment", exc)


def _load_sweep(path: Path, allow: list[Path] | None):  # noqa: ANN202 - Sweep, imported lazily
    from servsim.experiments.sweep import load_sweep
    from servsim.scenario import ScenarioError

    try:
        return load_sweep(path, roots=_roots(path, allow))
    except ScenarioError as exc:
        _refuse(path, "sweep", exc)


@command
def compare(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Experiment file (YAML).")],
    out_dir: OutOption = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    overwrite: OverwriteOption = False,
    level: Annotated[float, typer.Option("--level", min=0.5, max=0.999, metavar="P", help="Confidence level.")] = 0.95,
    allow: AllowOption = None,
    no_figures: NoFiguresOption = False,
) -> None:
    """Compare options with common random numbers: CIs, paired differences, the choice, a report.

    Finished tasks are stored as they complete; running the same command again resumes.
    """
    from servsim import studies
    from servsim.report.experiment import render_comparison

    _check_executor(workers, scheduler)
    exp = _load_experiment(file, allow)
    folder = out_dir or Path("results") / file.stem
    _prepare_out(folder)
    result = _run_stored(
        exp.spec.name, len(exp.options) * exp.spec.replications, folder, quiet,
        lambda progress: studies.compare(exp, out=folder, workers=workers, scheduler=scheduler, level=level,
                                         overwrite=overwrite, progress=progress, figures=not no_figures))
    _record_study(folder, "experiment", file, allow, level)
    if not quiet:
        render_comparison(out, exp, result.comparison, level)
        what = "results" if no_figures else "results, figures and report.html"
        out.print(f"{what} written to {_shown(folder)}/", highlight=False)
        if no_figures:
            out.print(f"draw the figures and report.html with: servsim report {_shown(shlex.quote(str(folder)))}",
                      highlight=False)


@command
def sweep(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Sweep file (YAML) with a 'sweep:' section.")],
    out_dir: OutOption = None,
    workers: WorkersOption = 1,
    scheduler: SchedulerOption = None,
    quiet: QuietOption = False,
    overwrite: OverwriteOption = False,
    allow: AllowOption = None,
    no_figures: NoFiguresOption = False,
) -> None:
    """Sweep a grid or Latin hypercube of scenario parameters; one row per cell × replication.

    Finished tasks are stored as they complete; running the same command again resumes.
    """
    from servsim import studies
    from servsim.report.sweep import render_sweep

    _check_executor(workers, scheduler)
    sw = _load_sweep(file, allow)
    folder = out_dir or Path("results") / file.stem
    _prepare_out(folder)
    result = _run_stored(
        sw.spec.name, len(sw.scenarios) * sw.spec.replications, folder, quiet,
        lambda progress: studies.sweep(sw, out=folder, workers=workers, scheduler=scheduler, overwrite=overwrite,
                                       progress=progress, figures=not no_figures),
        describe=lambda key: _describe_cell(sw.cells, key))
    _record_study(folder, "sweep", file, allow, 0.95)
    summary = result.cells
    if not quiet:
        render_sweep(out, sw, summary)
        what = "results and cells.csv" if no_figures else "results, cells.csv and figures"
        out.print(f"{what} written to {_shown(folder)}/", highlight=False)
        if no_figures:
            out.print(f"draw the figures with: servsim report {_shown(shlex.quote(str(folder)))}", highlight=False)


#: The file in a compare or sweep output folder that says which study wrote it (``servsim report``).
STUDY_FILE = "study.json"


def _record_study(folder: Path, kind: str, file: Path, allow: list[Path] | None, level: float) -> None:
    """Write ``folder/study.json``: the study's kind, its file (absolute), the extra folders its files
    may be read from and the confidence level, so ``servsim report DIR`` can redraw its outputs."""
    from servsim.atomic import write_text
    from servsim.status import OutputError

    record = {"kind": kind, "file": str(file.resolve()), "allow": [str(p.resolve()) for p in allow or ()],
              "level": level, "servsim": __version__}
    try:
        write_text(folder / STUDY_FILE, json.dumps(record, indent=2) + "\n")
    except OutputError as exc:
        _output_failed(exc.path, exc.reason)


@command
def report(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Output folder of `servsim compare` or `servsim sweep`.")],
    quiet: QuietOption = False,
) -> None:
    """Draw the figures (and, for a comparison, report.html) of a compare or sweep folder from its store.

    For a run made with --no-figures. The study's file is read again; if it changed since the run,
    nothing is drawn. Tasks not yet finished (an interrupted run) are run first.
    """
    from servsim import studies
    from servsim.experiments.store import StoreError, StoreMismatchError

    record = _study_record(folder)
    file, allow = Path(record["file"]), [Path(p) for p in record.get("allow", [])]
    command_name = "compare" if record["kind"] == "experiment" else "sweep"
    rerun = f"servsim {command_name} {shlex.quote(str(file))} --out {shlex.quote(str(folder))}"

    def redraw(run: Callable[[], _T]) -> _T:
        try:
            return run()
        except StoreMismatchError:
            raise StoreError(f"{file} changed since the run stored in {folder}, so its results no longer describe "
                             f"it; recompute them with: {rerun} --overwrite") from None

    if record["kind"] == "experiment":
        exp = _load_experiment(file, allow)
        level = float(record.get("level", 0.95))
        _run_stored(exp.spec.name, len(exp.options) * exp.spec.replications, folder, quiet,
                    lambda progress: redraw(lambda: studies.compare(exp, out=folder, level=level, progress=progress)))
        what = "figures and report.html"
    else:
        sw = _load_sweep(file, allow)
        _run_stored(sw.spec.name, len(sw.scenarios) * sw.spec.replications, folder, quiet,
                    lambda progress: redraw(lambda: studies.sweep(sw, out=folder, progress=progress)),
                    describe=lambda key: _describe_cell(sw.cells, key))
        what = "figures"
    if not quiet:
        out.print(f"{what} written to {_shown(folder)}/", highlight=False)


def _study_record(folder: Path) -> dict[str, Any]:
    """``folder/study.json`` (:func:`_record_study`), or exit 2 saying what the folder is not."""
    path = folder / STUDY_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("kind") not in ("experiment", "sweep") or not isinstance(record.get("file"), str):
            raise ValueError(record)
    except FileNotFoundError:
        hint = (" (a run folder of `servsim run --out` has its report already)" if (folder / "run.json").is_file()
                else "")
        _error(f"{_shown(folder)} is not the output folder of `servsim compare` or `servsim sweep`: it has no "
               f"{STUDY_FILE}{hint}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (OSError, ValueError, AttributeError):
        _error(f"{_shown(path)} cannot be read as a record of a compare or sweep run; run the study again")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    return record


# ---------------------------------------------------------------------------------------------
# servsim app: the live what-if page (optional extra servsim[app], Shiny for Python)
# ---------------------------------------------------------------------------------------------

#: The scenario ``servsim app`` opens when none is named (relative to the working directory).
APP_SCENARIO = Path("scenarios/mmc.yaml")


@app.command("app", cls=_Command)
@_guarded
def app_command(
    file: Annotated[Path | None, typer.Argument(
        metavar="SCENARIO", help=f"Scenario file (YAML); default: {APP_SCENARIO}.", show_default=False)] = None,
    host: Annotated[str, typer.Option("--host", metavar="ADDRESS",
                                      help="Address to serve on; another than 127.0.0.1 lets others run simulations "
                                           "here.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, metavar="N", help="Port to serve on.")] = 8000,
    allow: AllowOption = None,
) -> None:
    r"""Serve a live what-if page over a scenario: sliders, KPIs with CIs, theory beside them.

    Needs the optional extra: pip install 'servsim\[app]'. Stop it with Ctrl+C.
    """
    import socket

    from servsim.app import INSTALL_HINT, serve, shiny_missing

    if shiny_missing():
        _error(f"servsim app needs Shiny for Python, which is not installed; install it with: {_shown(INSTALL_HINT)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    path = file if file is not None else APP_SCENARIO
    if file is None and not path.is_file():
        _error(f"no SCENARIO given and {_shown(APP_SCENARIO)} is not in this folder; name a scenario file, "
               "e.g. servsim app my_centre.yaml")
        raise typer.Exit(EXIT_BAD_INPUT)
    scenario = _load(path, allow)
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        _error(f"cannot serve on {_shown(host)}:{port}: {_shown(exc.strerror or exc)}; choose another with --port "
               "or --host")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]note:[/] serving on {_shown(host)}: anyone who can reach it can run simulations here",
                  highlight=False)
    err.print(f"servsim app: {_shown(scenario.name)} on http://{_shown(host)}:{port}/ (Ctrl+C stops it)",
              highlight=False)
    serve(path, scenario, host=host, port=port)


def _describe_cell(cells: pd.DataFrame, key: TaskKey) -> str:
    """``cell 3 (pools.agents.agents=7, ...), replication 2``: a sweep task by its parameter values."""
    row = cells[cells["cell"] == key.cell]
    values = ", ".join(f"{p}={v}" for p, v in row.iloc[0].items() if p != "cell") if len(row) else ""
    return f"cell {key.cell}" + (f" ({values})" if values else "") + f", replication {key.replication}"


# --------------------------------------------------------------------------- teach


@command
def teach(
    file: Annotated[Path, typer.Argument(metavar="LESSON", help="Lesson file (YAML): a scenario, the parameters to "
                                                               "vary, the KPIs and the words around them.")],
    out_file: Annotated[Path | None, typer.Option("--out", "-o", metavar="FILE",
                                                  help="The page to write (default: LESSON with .html).")] = None,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, metavar="N",
                                         help="Processes to run the grid's replications in.")] = 1,
    quiet: QuietOption = False,
    allow: AllowOption = None,
) -> None:
    """Precompute a lesson's grid and write one self-contained HTML page: sliders, KPI cards, theory, a replay.

    The page opens from a file or a USB stick with no network; its settings live in the URL fragment.
    """
    from servsim.scenario import ScenarioError
    from servsim.teach.lesson import load_lesson
    from servsim.teach.page import teach as write_lesson

    try:
        lesson = load_lesson(file, roots=_roots(file, allow))
    except ScenarioError as exc:
        from servsim.experiments.spec import COMMANDS, file_kind

        kind = file_kind(file)
        if kind is not None:
            _error(f"{_shown(file)} is {_KIND[kind]}, not a lesson file")
            err.print(f"  run it with: servsim {COMMANDS[kind]} {_shown(shlex.quote(str(file)))}; a lesson names "
                      "it as its 'scenario:'", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        _error(f"{_shown(file)} is not a valid lesson file")
        for problem in exc.problems:
            err.print(f"  {_printable(problem)}", highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    target = out_file if out_file is not None else file.with_suffix(".html")
    runs = len(lesson.scenarios) * lesson.spec.replications
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err, disable=quiet or not sys.stderr.isatty(),
                  transient=True) as bar:
        task = bar.add_task(escape(lesson.spec.title), total=runs)
        result = write_lesson(lesson, target, workers=workers, progress=lambda n: bar.advance(task, n))
    if not quiet:
        out.print(f"{_shown(target)}: {len(lesson.cells)} cells × {lesson.spec.replications} replications, "
                  f"{result.size / 1e6:.2f} MB", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    app()
