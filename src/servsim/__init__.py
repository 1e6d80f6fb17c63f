"""servsim — discrete-event simulation of service delivery systems.

Scenario files describe channels, arrivals, staffing and process steps; a SimPy engine runs
replications; results are pandas DataFrames. Internal time unit: seconds. ``simulate`` and
``replicate`` run a scenario; ``compare`` and ``sweep`` run experiment and sweep files as the
command line does; ``with_changes`` applies an experiment's change kinds to a scenario.
"""

__version__ = "0.1.0"  # first: modules imported below read it

from servsim.api import replicate, simulate  # noqa: E402
from servsim.results import Replications, RunResult  # noqa: E402
from servsim.scenario import (  # noqa: E402
    Scenario, ScenarioError, load_scenario, scenario_from_dict, scenario_from_text,
)
from servsim.studies import ComparisonResult, SweepResult, compare, sweep, with_changes  # noqa: E402

__all__ = [
    "ComparisonResult", "Replications", "RunResult", "Scenario", "ScenarioError", "SweepResult", "__version__",
    "compare", "load_scenario", "replicate", "scenario_from_dict", "scenario_from_text", "simulate", "sweep",
    "with_changes",
]
