"""Shared fixtures: small scenarios written inline, so each test shows the system it simulates."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import servsim

ROOT = Path(__file__).resolve().parent.parent

#: A small call centre with abandonment: 90 minutes, about 270 calls, 4 agents. Tests of execution
#: and storage use it as the base of their experiments (cheap, and every mechanism they need).
TINY_CENTRE = """\
name: tiny centre
horizon: {start: "08:00", end: "09:30", interval: 30min}
channels:
  calls: {arrivals: {rate: 3/min}, entry: answer, patience: {dist: exponential, mean: 2min}}
pools:
  agents: {agents: 4, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
"""


def scenario(text: str, base_dir: Path | str = ".") -> servsim.Scenario:
    """A scenario from an indented YAML snippet."""
    return servsim.scenario_from_text(textwrap.dedent(text), base_dir=base_dir)


@pytest.fixture
def write(tmp_path: Path):
    """Write a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text), encoding="utf-8")
        return p

    return _write
