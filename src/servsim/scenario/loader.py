"""Load a scenario file: YAML (safe, located) -> validated :class:`Scenario` -> cross-checked.

Any problem becomes a :class:`ScenarioError` listing ``file:line:col: field: message (hint)``.

Files a scenario names (traces, empirical CSVs) are read under a file policy
(:mod:`servsim.scenario.files`): ``roots=None`` is the command line's default (the working
directory, the scenario's folder, ``SERVSIM_ALLOW_DIRS``); explicit ``roots`` are the only folders
read from — then the scenario file itself must be inside them too.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from servsim.scenario.checks import check_scenario
from servsim.scenario.distributions import Empirical
from servsim.scenario.errors import Problem, ScenarioError, located_validation_error
from servsim.scenario.files import CONTEXT_KEY, FilePolicy, policy_for
from servsim.scenario.schema import Scenario
from servsim.scenario.yamlio import LocatedDoc, load_yaml, load_yaml_text

TOP_LEVEL = list(Scenario.model_fields)
Roots = Iterable[str | Path] | FilePolicy | None


def load_scenario(path: str | Path, *, roots: Roots = None) -> Scenario:
    """Read, validate and check the scenario file at ``path`` (``roots``: see the module docstring)."""
    policy = policy_for(roots, top_file=path)
    doc = load_yaml(path, expected_keys=TOP_LEVEL, policy=None if roots is None else policy)
    return scenario_from_doc(doc, base_dir=Path(path).resolve().parent, roots=policy)


def scenario_from_text(text: str, file: str = "<string>", base_dir: str | Path = ".", *,
                       roots: Roots = None) -> Scenario:
    """Validate a scenario given as YAML text (files it names are relative to ``base_dir``; by
    default they may be read from ``base_dir`` and the working directory)."""
    policy = policy_for(roots, extra=[base_dir])
    return scenario_from_doc(load_yaml_text(text, file=file, expected_keys=TOP_LEVEL), base_dir=Path(base_dir),
                             roots=policy)


def scenario_from_dict(data: dict[str, Any], base_dir: str | Path = ".", file: str = "<dict>", *,
                       roots: Roots = None) -> Scenario:
    """Validate a scenario given as plain data (as read from YAML); files as in :func:`scenario_from_text`."""
    policy = policy_for(roots, extra=[base_dir])
    return scenario_from_doc(LocatedDoc(data=copy.deepcopy(data), file=file, locations={}), base_dir=Path(base_dir),
                             roots=policy)


def scenario_from_doc(doc: LocatedDoc, base_dir: Path, roots: Roots = None) -> Scenario:
    """Validate and check loaded YAML; files it names are relative to ``base_dir``."""
    context = {"base_dir": str(base_dir), CONTEXT_KEY: policy_for(roots, extra=[base_dir])}
    try:
        scenario = Scenario.model_validate(doc.data, context=context)
    except ValidationError as exc:
        raise located_validation_error(exc, doc, Scenario) from None
    issues = check_scenario(scenario)
    if issues:
        problems = []
        for issue in issues:
            line, col = doc.where(issue.path)
            field = ".".join(str(p) for p in issue.path) or "(top level)"
            problems.append(Problem(doc.file, line, col, field, issue.message, issue.hint))
        raise ScenarioError(problems)
    return scenario


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the scenario's validated content, including data read from trace and CSV files."""
    h = hashlib.sha256(scenario.model_dump_json().encode())
    for ch in scenario.channels.values():
        if ch.arrivals.trace is not None:
            h.update(json.dumps(ch.arrivals.trace.times).encode())
    dists = [ch.patience for ch in scenario.channels.values()]
    dists += [seg.patience for seg in scenario.segments.values()]
    dists += [step.handle_time for step in scenario.steps.values()]
    dists += [step.wrap_up for step in scenario.steps.values()]
    for d in dists:
        if isinstance(d, Empirical) and d.file is not None:
            h.update(json.dumps(d.data).encode())
    return h.hexdigest()
