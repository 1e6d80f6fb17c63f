"""Sweep figures say what they plot: true units, the parameter's own name, the goal, the theory curve,
and a sampled design drawn as scatter panels, not an empty grid."""

from __future__ import annotations

from pathlib import Path

import pytest

from servsim.experiments.sweep import load_sweep, run_sweep
from servsim.report.sweep import cell_summary, write_outputs
from servsim.report.sweep_labels import parameter_label
from servsim.report.sweep_figures import heatmap_figure, line_figure, scatter_figure
from test_sweep import GRID, SCENARIO

LHS = """\
name: lhs
base: centre.yaml
replications: 2
seed: 5
metrics: [service_level]
sweep:
  design: lhs
  samples: 6
  parameters:
    channels.calls.arrivals.rate: {low: 3/min, high: 5/min}
    pools.agents.agents: {low: 6, high: 8}
"""


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("grid")
    (folder / "centre.yaml").write_text(SCENARIO)
    (folder / "grid.yaml").write_text(GRID)
    sw = load_sweep(folder / "grid.yaml")
    return sw, cell_summary(sw, run_sweep(sw, folder / "o"))


def _ticks(axis) -> list[str]:
    axis.figure.draw_without_rendering()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def test_a_share_is_drawn_in_percent_with_its_goal_and_the_parameter_named(grid):
    sw, summary = grid
    fig = line_figure(sw, summary, "service_level")
    ax = fig.axes[0]
    assert all(t.endswith("%") for t in _ticks(ax.yaxis)), _ticks(ax.yaxis)
    assert ax.get_xlabel() == "arrivals rate of calls (per min)"
    assert "arrivals rate of calls" in ax.get_title()
    labels = [line.get_label() for line in ax.get_lines()]
    assert "goal" in labels
    goal = next(line for line in ax.get_lines() if line.get_label() == "goal")
    assert goal.get_ydata()[0] == pytest.approx(sw.scenarios[0].targets.service_level.goal)


def test_an_mmc_sweep_carries_the_erlang_c_curve(grid):
    sw, summary = grid
    ax = line_figure(sw, summary, "asa_s").axes[0]
    theory = [line for line in ax.get_lines() if "Erlang C" in line.get_label()]
    assert len(theory) == 2  # one per agent count
    assert all(not (line.get_label() == "goal") for line in ax.get_lines())  # ASA has no goal here


def test_heatmap_cells_show_the_unit(grid):
    sw, summary = grid
    ax = heatmap_figure(sw, summary, "service_level").axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 6 and all(t.endswith("%") for t in texts)
    assert ax.get_ylabel() == "agents of agents"


def test_a_latin_hypercube_gets_scatter_panels_not_a_heatmap(tmp_path: Path):
    (tmp_path / "centre.yaml").write_text(SCENARIO)
    (tmp_path / "lhs.yaml").write_text(LHS)
    sw = load_sweep(tmp_path / "lhs.yaml")
    results = run_sweep(sw, tmp_path / "o")
    write_outputs(tmp_path / "o", sw, results)
    names = sorted(p.name for p in (tmp_path / "o" / "figures").iterdir())
    assert names == ["scatter_service_level.png"]
    fig = scatter_figure(sw, cell_summary(sw, results), "service_level")
    assert [ax.get_xlabel() for ax in fig.axes] == ["arrivals rate of calls (per min)", "agents of agents"]
    assert all(len(ax.collections) + len(ax.lines) > 0 for ax in fig.axes)


def test_parameter_labels():
    assert parameter_label("pools.clerks.agents") == "agents of clerks"
    assert parameter_label("steps.register.automation.level") == "automation level of register"
    assert parameter_label("seed") == "seed"
