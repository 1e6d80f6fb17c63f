"""The metric registry is the one place KPI names, labels and units are declared."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import servsim
from servsim.experiments.runner import run_task  # noqa: F401  (the results row's producer)
from servsim.metrics import registry
from servsim.metrics.registry import PATTERNS, REGISTRY, columns, experiment_metrics, resolve
from servsim.runlevel import run_metrics
from conftest import ROOT

SRC = ROOT / "src" / "servsim"
KEYS = {"replication", "channel", "segment", "interval", "start_s", "day", "pool", "agent"}


@pytest.fixture(scope="module")
def claims():
    s = servsim.load_scenario(ROOT / "scenarios" / "claims_rpa.yaml")
    return s, servsim.replicate(s, replications=1, seed=2)


def test_every_column_of_every_table_is_a_registry_entry(claims):
    s, r = claims
    for name in ("summary", "intervals", "pools", "pool_summary", "agents"):
        table = getattr(r, name)
        unknown = [c for c in table.columns if c not in KEYS and resolve(c) is None]
        assert not unknown, (name, unknown)
        assert [c for c in table.columns if c in REGISTRY] == [c for c in columns(name) if c in table.columns]
    row = run_metrics(s, r.runs[0].summary, r.runs[0].pool_summary, r.runs[0].intervals)
    assert all(resolve(m, s.pools) is not None for m in row), row
    assert set(row) <= set(experiment_metrics(s))


def test_a_pattern_member_must_name_a_part_of_the_scenario(claims):
    s, _ = claims
    pool = next(iter(s.pools))
    assert resolve(f"occupancy_{pool}", s.pools).label == f"occupancy {pool}"
    assert resolve("occupancy_nobody", s.pools) is None
    assert resolve("occupancy_nobody").kind == "share"  # a stored report: any part passes
    assert resolve("no_such_kpi") is None


def _string_literals(path: Path) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)]


def test_each_label_is_written_once_in_src():
    labels = [m.label for m in REGISTRY.values()] + [p.label for p in PATTERNS]
    assert len(set(labels)) == len(labels), "two KPIs share a label"
    counts = dict.fromkeys(labels, 0)
    for path in SRC.rglob("*.py"):
        for text in _string_literals(path):
            if text in counts:
                counts[text] += 1
    # every label occurs as a literal once (some labels are also short names, e.g. "offered": those
    # appear as names in computations, so only labels that are not also names are counted)
    assert {lab: n for lab, n in counts.items() if lab not in REGISTRY and n != 1} == {}


#: Declarations allowed outside the registry: the sums the cells add up (their names are the inputs
#: of the KPIs, not declarations of them).
ALLOWED = {("metrics/cells.py", "SUMS")}


def _declarations(tree: ast.Module):
    """(name, value) of every assignment at module or class level: where a list of names would be
    declared (a column selection inside a function is a use, not a declaration)."""
    bodies = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        yield t.id, node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                yield node.target.id, node.value


def test_no_other_module_declares_kpi_names():
    """A module- or class-level list, tuple, set or dict of three or more KPI names outside the
    registry is a second declaration waiting to disagree with it."""
    found = []
    for path in SRC.rglob("*.py"):
        rel = str(path.relative_to(SRC))
        if rel == "metrics/registry.py":
            continue
        for name, value in _declarations(ast.parse(path.read_text())):
            if (rel, name) in ALLOWED:
                continue
            kpis = {n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and n.value in REGISTRY}
            if len(kpis) >= 3:
                found.append((rel, name, sorted(kpis)))
    assert found == []


def test_entries_are_complete():
    for m in REGISTRY.values():
        assert m.formula and m.label and m.unit and m.tables, m.name
        assert (m.compute is not None) == (m.source == "cells"), m.name
        if m.kind == "money":
            assert m.unit == "currency", m.name
        if m.kind == "share":
            assert m.unit == "1", m.name
    assert set(registry.DEFAULT_EXPERIMENT_METRICS) <= set(columns("results"))
