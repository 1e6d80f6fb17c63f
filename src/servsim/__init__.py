"""servsim — discrete-event simulation of service delivery systems.

Scenario files describe channels, arrivals, staffing and process steps; a SimPy engine runs
replications; results are pandas DataFrames. Internal time unit: seconds.
"""

from servsim.api import replicate, simulate
from servsim.results import Replications, RunResult
from servsim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict, scenario_from_text

__version__ = "0.1.0"

__all__ = [
    "Replications", "RunResult", "Scenario", "ScenarioError", "__version__", "load_scenario", "replicate",
    "scenario_from_dict", "scenario_from_text", "simulate",
]
