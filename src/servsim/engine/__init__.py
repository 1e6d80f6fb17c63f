"""The SimPy engine: the only part of servsim that imports simpy."""

from servsim.engine.core import run
from servsim.engine.plan import Plan, compile_plan
from servsim.engine.record import LiveRows, Recorder, Records

__all__ = ["LiveRows", "Plan", "Recorder", "Records", "compile_plan", "run"]
