"""The SimPy engine: the only part of servsim that imports simpy."""

from servsim.engine.core import Records, run
from servsim.engine.plan import Plan, compile_plan

__all__ = ["Plan", "Records", "compile_plan", "run"]
