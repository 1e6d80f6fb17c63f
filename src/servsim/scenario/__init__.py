"""Scenario files: schema, safe YAML loading with located errors, cross-checks."""

from servsim.scenario.errors import Problem, ScenarioError
from servsim.scenario.loader import (
    load_scenario,
    scenario_from_dict,
    scenario_from_text,
    scenario_hash,
)
from servsim.scenario.schema import Scenario

__all__ = [
    "Problem", "Scenario", "ScenarioError", "load_scenario", "scenario_from_dict", "scenario_from_text",
    "scenario_hash",
]
