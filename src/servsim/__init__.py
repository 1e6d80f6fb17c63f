"""servsim — discrete-event simulation of service delivery systems.

Scenario files describe channels, arrivals, staffing and process steps; a SimPy engine runs
replications; results are pandas DataFrames. Internal time unit: seconds. ``simulate`` and
``replicate`` run a scenario; ``compare`` and ``sweep`` run experiment and sweep files as the
command line does; ``with_changes`` applies an experiment's change kinds to a scenario.

The names below are loaded on first use (lazy loading of submodules, as Scientific Python's
SPEC 1 describes): ``import servsim`` itself costs almost nothing, so ``servsim --help`` and a
worker process that only unpickles a task do not pay for modules they never touch. ``from servsim
import simulate`` and ``servsim.simulate`` work as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_WHERE = {
    "replicate": "servsim.api", "simulate": "servsim.api",
    "Replications": "servsim.results", "RunResult": "servsim.results",
    "Scenario": "servsim.scenario", "ScenarioError": "servsim.scenario", "load_scenario": "servsim.scenario",
    "scenario_from_dict": "servsim.scenario", "scenario_from_text": "servsim.scenario",
    "ComparisonResult": "servsim.studies", "SweepResult": "servsim.studies", "compare": "servsim.studies",
    "sweep": "servsim.studies", "with_changes": "servsim.studies",
}

__all__ = sorted([*_WHERE, "__version__"])

if TYPE_CHECKING:  # what type checkers and editors see
    from servsim.api import replicate, simulate
    from servsim.results import Replications, RunResult
    from servsim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict, scenario_from_text
    from servsim.studies import ComparisonResult, SweepResult, compare, sweep, with_changes


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:  # a submodule, e.g. ``servsim.theory`` after a bare ``import servsim``
        try:
            return importlib.import_module(f"servsim.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"servsim.{name}":
                raise
            raise AttributeError(f"module 'servsim' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
