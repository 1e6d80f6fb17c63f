"""The output folder of ``servsim run``: which run wrote it, so the files of two runs never mix.

``compare`` and ``sweep`` know their folder by the manifest of its result store
(:mod:`servsim.experiments.store`): ``DIR/store/manifest.json`` records the hash of what was run,
and a different experiment is refused unless ``--overwrite``. A run folder uses the same manifest,
holding the hash of the run's identity (:func:`run_fields`): the scenario's validated content
(:func:`servsim.scenario.scenario_hash`, data read from trace and CSV files included), the seed,
the number of replications, whether the per-contact log is kept, the confidence level and the
servsim version — everything that changes a number in the outputs, and nothing that does not
(``--workers`` and ``--scheduler`` give the same numbers; ``--no-report`` only leaves the report out,
so a report found in the folder is always of the run that wrote the tables).

* A folder holding no servsim output (or not there yet) is written into.
* **The same run again** (same identity) may write into its own folder: it gives the same numbers,
  so it replaces its own files with the same tables; nothing of another run is there to mix with.
* **A different run's folder** — another scenario, seed, replications, ``--no-log`` or level; an
  experiment's or a sweep's folder; or servsim output without a manifest (written before run
  folders had one, or damaged) — is refused by :func:`check` before anything runs, changing
  nothing, with a message saying what differs (:class:`RunFolderError`, exit status 2).
* **With overwrite**, :func:`claim` removes every output file servsim writes (:data:`OUTPUTS`;
  ``run.json`` first, the store's tasks by resetting the store) before the first new file is
  written, so a new ``--no-log`` run never leaves an earlier run's ``contacts.parquet`` beside its
  own ``run.json``. Files that are not servsim's own are left alone.

``run.json`` is written last: a folder without it holds a run that did not finish writing. Files
are written all or nothing (:mod:`servsim.atomic`); nothing here reads, writes or deletes through a
symbolic link (a link at an output's name is not counted as output; the writer replaces the link
itself). :func:`claim` holds the store's lock while the files are written, so a second live servsim
writing the same folder gets :class:`servsim.status.BusyError` (exit status 5).

A new output file of any command belongs in :data:`OUTPUTS`, so that overwriting removes it too.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from servsim import __version__
from servsim.atomic import ensure_dir, output_error, read_bytes
from servsim.experiments.store import (
    BATCHES, LEGACY_TASKS, ResultStore, StoreMismatchError, config_hash, locked, stored_hash,
)
from servsim.scenario import Scenario, scenario_hash

#: The store folder inside an output folder (as for compare and sweep).
STORE = "store"
#: Files ``servsim run`` writes, ``run.json`` last (and ``agents.parquet`` when a pool has individual agents).
RUN_TABLES = ("summary", "intervals", "pools", "pool_summary", "contacts", "visits")
RUN_FILES = (*(f"{name}.parquet" for name in RUN_TABLES), "kpis.csv", "run.json")
#: Every file any servsim command writes at the top of its output folder (run, compare, sweep).
OUTPUTS = (*RUN_FILES, "agents.parquet", "results.parquet", "summary.csv", "differences.csv", "pareto.csv", "cells.csv",
           "experiment.json", "study.json", "report.html")
#: The figures folder, and what in it is servsim's.
FIGURES, FIGURE_SUFFIX = "figures", ".png"


class RunFolderError(StoreMismatchError):
    """The output folder holds another run's (or command's) results; the message says what differs."""


def run_fields(scenario: Scenario, seed: int, replications: int, log: bool, level: float) -> dict[str, object]:
    """A run's identity (module docstring), as ``run.json`` names its fields."""
    return {"scenario": scenario.name, "scenario_sha256": scenario_hash(scenario), "seed": seed,
            "replications": replications,
            "per_contact_log": log, "level": level, "servsim_version": __version__}


def _identity(fields: dict[str, object]) -> str:
    """The hash a run folder's manifest records."""
    return config_hash({"command": "run", **fields})


def _is_file(path: Path) -> bool:
    """A regular file, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    return os.path.isdir(path) and not os.path.islink(path)


def _outputs(folder: Path) -> list[Path]:
    """servsim's own output files in ``folder``, ``run.json`` first (it marks a finished run)."""
    found = [folder / name for name in ("run.json", *[n for n in OUTPUTS if n != "run.json"])
             if _is_file(folder / name)]
    figures = folder / FIGURES
    if _is_dir(figures):
        found += sorted(p for p in figures.iterdir() if p.name.endswith(FIGURE_SUFFIX) and _is_file(p))
    return found


def _read_json(path: Path) -> dict[str, object]:
    try:
        data = json.loads(read_bytes(path).decode("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _differences(old: dict[str, object], new: dict[str, object]) -> list[str]:
    """What differs between an earlier run's ``run.json`` and this run, in words."""
    said = []
    if old.get("scenario_sha256") != new["scenario_sha256"]:
        name = old.get("scenario")
        if not isinstance(name, str):
            said.append("another scenario")
        elif name != new["scenario"]:
            said.append(f"scenario {name!r} (this run: {new['scenario']!r})")
        else:
            said.append(f"scenario {name!r} with other content than this file's")
    for key, what in (("seed", "seed"), ("replications", "replications"), ("level", "level"),
                      ("servsim_version", "servsim version")):
        if key in old and old[key] != new[key]:
            said.append(f"{what} {old[key]} (this run: {new[key]})")
    if "per_contact_log" in old and old["per_contact_log"] != new["per_contact_log"]:
        said.append("per-contact log " + ("kept (this run: --no-log)" if old["per_contact_log"] else
                                          "not kept, --no-log (this run: kept)"))
    return said


def _conflict(folder: Path, this_run: dict[str, object]) -> str | None:
    """Why ``folder`` may not take this run's files without overwrite, or None if it may."""
    ident = _identity(this_run)
    if not _is_dir(folder):
        return None  # not there yet (or a link or a file, which writing refuses with its own message)
    store = folder / STORE
    recorded = stored_hash(store)
    if recorded == ident:
        return None
    outputs = _outputs(folder)
    if recorded is None and not outputs and not any(_is_dir(store / name) for name in (BATCHES, LEGACY_TASKS)):
        return None  # an empty folder, or only the lock of a run that stopped before its manifest
    what = "other results"
    if _is_file(folder / "experiment.json"):
        what = "the results of an experiment (servsim compare)"
    elif _is_file(folder / "cells.csv"):
        what = "the results of a sweep (servsim sweep)"
    elif _is_file(folder / "run.json"):
        if recorded is None:
            what = "the output of a run it cannot tell apart from this one (it has no store/manifest.json)"
        else:
            differs = _differences(_read_json(folder / "run.json"), this_run)
            what = "the output of a different run" + (f": {'; '.join(differs)}" if differs else "")
    elif recorded is None:
        what = "servsim output without a store/manifest.json saying which run wrote it"
    return (f"{folder} holds {what}; use --overwrite to replace it (its servsim files are removed first), "
            "or choose another --out folder")


def check(folder: Path, this_run: dict[str, object], overwrite: bool = False) -> None:
    """Refuse (:class:`RunFolderError`) a folder holding another run's output unless ``overwrite``;
    reads only, so a refusal changes nothing. ``this_run``: the run's :func:`run_fields`."""
    if overwrite:
        return
    problem = _conflict(Path(folder), this_run)
    if problem is not None:
        raise RunFolderError(problem)


def remove_outputs(folder: Path) -> None:
    """Delete servsim's own output files in ``folder`` (``run.json`` first), never through a link;
    the figures folder too when nothing else is left in it."""
    for path in _outputs(folder):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise output_error(path, exc) from None
    figures = folder / FIGURES
    if _is_dir(figures) and not any(figures.iterdir()):
        try:
            os.rmdir(figures)
        except OSError as exc:
            raise output_error(figures, exc) from None


@contextmanager
def claim(folder: Path, this_run: dict[str, object], overwrite: bool = False) -> Iterator[None]:
    """Write a run's files into ``folder`` inside this block: under the store's lock, check the folder
    again (:func:`check`), remove another run's files when ``overwrite`` says so, and record this
    run's identity in the manifest — all before the first file of the run is written."""
    folder = Path(folder)
    store = ensure_dir(folder / STORE, inside=folder)
    with locked(store):
        problem = _conflict(folder, this_run)
        if problem is not None:
            if not overwrite:
                raise RunFolderError(problem)
            remove_outputs(folder)
        # a store of another identity (an experiment's tasks included) is reset; the same one is kept
        ident = _identity(this_run)
        with ResultStore(store, ident, overwrite=stored_hash(store) != ident):
            yield
