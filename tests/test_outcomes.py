"""Outcome codes have one meaning: the enum in :mod:`servsim.outcomes`, never a bare number."""

from __future__ import annotations

import ast
from pathlib import Path

import servsim
from servsim import metrics
from servsim.engine import core
from servsim.outcomes import TABLE_CODE, TABLE_OUTCOMES, Outcome, VisitOutcome
from conftest import scenario

SRC = Path(servsim.__file__).resolve().parent


def test_table_categories_are_the_table_outcomes_in_code_order():
    assert metrics.CONTACT_OUTCOMES == ["in_system", "handled", "abandoned", "balked", "contained", "blocked"]
    assert [TABLE_CODE[o] for o in TABLE_OUTCOMES] == list(range(len(TABLE_OUTCOMES)))
    # the first five table codes are the enum's values; blocked came after unresolved (never shown)
    assert [int(o) for o in TABLE_OUTCOMES[:5]] == list(range(5))
    assert (int(Outcome.BLOCKED), TABLE_CODE[Outcome.BLOCKED]) == (6, 5)
    assert metrics.VISIT_OUTCOMES == [
        "waiting", "served", "abandoned", "in_service", "preempted", "callback"]
    assert [int(o) for o in VisitOutcome] == list(range(len(VisitOutcome)))


def test_every_code_has_one_meaning():
    assert len({int(o) for o in Outcome}) == len(Outcome)
    assert Outcome.UNRESOLVED not in TABLE_OUTCOMES     # shown as handled, resolved = False
    assert Outcome.CONTAINED not in {core.IN_SYSTEM, core.HANDLED, core.ABANDONED, core.BALKED, core.UNRESOLVED}


def test_engine_binds_plain_ints():
    """The hot path loads a global int, not an enum member."""
    for name in ("IN_SYSTEM", "HANDLED", "ABANDONED", "BALKED", "UNRESOLVED", "BLOCKED", "WAITING", "SERVED", "IN_SERVICE",
                 "V_ABANDONED"):
        assert type(getattr(core, name)) is int, name


def test_unresolved_contacts_are_handled_and_not_resolved():
    r = servsim.simulate(scenario("""
        name: fcr
        horizon: {start: "08:00", end: "10:00", interval: 60min}
        channels:
          calls: {arrivals: {rate: 2/min}, entry: answer}
        pools:
          agents: {agents: 4, resolution: 0.5, skills: {answer: 1.0}}
        steps:
          answer: {handle_time: {dist: exponential, mean: 1min}}
    """), seed=3)
    c = r.contacts
    handled = c["outcome"] == "handled"
    assert (~c.loc[handled, "resolved"]).any() and c.loc[handled, "resolved"].any()
    assert list(c["outcome"].cat.categories) == metrics.CONTACT_OUTCOMES


def _outcome_operand(node: ast.expr) -> str | None:
    """The name of an outcome-looking operand: ``outcome``, ``x.v_outcome``, ``a["outcome"]``,
    ``rec.v_outcome[v]``."""
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            name = key.value
        else:
            return _outcome_operand(node.value)
    else:
        return None
    return name if name.lower().endswith("outcome") else None


def _int_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_int_literal(e) for e in node.elts)
    return isinstance(node, ast.Constant) and type(node.value) is int


def test_no_outcome_is_compared_with_a_bare_number():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if not isinstance(node, ast.Compare):
                continue
            operands = [node.left, *node.comparators]
            if any(_outcome_operand(x) for x in operands) and any(_int_literal(x) for x in operands):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "compare outcomes with servsim.outcomes names:\n" + "\n".join(found)


def test_the_scan_finds_what_it_forbids():
    bad = ["code.outcome == 1", 'a["v_outcome"] != 0', "rec.v_outcome[v] == 2", "outcome in (1, 4)"]
    good = ["outcome == Outcome.HANDLED", 'a["v_outcome"] == SERVED', "n == 1"]
    for text, expect in [(t, True) for t in bad] + [(t, False) for t in good]:
        cmp = ast.parse(text, mode="eval").body
        assert isinstance(cmp, ast.Compare)
        hit = any(_outcome_operand(x) for x in [cmp.left, *cmp.comparators]) and \
            any(_int_literal(x) for x in [cmp.left, *cmp.comparators])
        assert hit is expect, text
