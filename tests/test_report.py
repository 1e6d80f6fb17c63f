"""Figures and the self-contained HTML report of ``servsim compare``.

Inputs are synthetic: a per-replication table of four options with a shared random component per
replication (as common random numbers induce), made with a fixed numpy seed, run through the real
statistics (``summarise``, ``compare_to_baseline``, ``select_best``, ``pareto_front``).
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from servsim.report import figures as F
from servsim.report import format as fmt
from servsim.report.html import experiment_report, write_report
from servsim.stats import Constraint, compare_to_baseline, pareto_front, select_best, summarise

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EVIL = "rpa <script>alert('x')</script>"
METRICS = ["service_level", "abandon_rate", "asa_s", "cost", "occupancy_tellers"]
SECTIONS = ["Choice under the objective", "Options compared", "Differences from the baseline", "Figures", "Notes"]
CONSTRAINTS = [Constraint("service_level", ">=", 0.8), Constraint("abandon_rate", "<=", 0.05)]


def replication_table(seed: int = 20240501, n: int = 10) -> pd.DataFrame:
    """Option × replication KPIs; ``plus_staff`` is the cheapest option meeting both targets."""
    rng = np.random.default_rng(seed)
    options = {  # service level, abandonment, ASA, cost
        "baseline": (0.74, 0.060, 62.0, 10_000.0),
        "plus_staff": (0.86, 0.030, 24.0, 11_000.0),
        "vendor": (0.88, 0.025, 20.0, 12_500.0),
        EVIL: (0.79, 0.048, 41.0, 10_100.0),
    }
    common = rng.normal(0.0, 1.0, (n, 4))
    rows = []
    for opt, (sl, ab, asa, cost) in options.items():
        for i in range(n):
            rows.append({
                "option": opt, "replication": i,
                "service_level": sl + 0.03 * common[i, 0] + rng.normal(0, 0.004),
                "abandon_rate": ab + 0.01 * common[i, 1] + rng.normal(0, 0.002),
                "asa_s": asa + 8.0 * common[i, 2] + rng.normal(0, 1.5),
                "cost": cost + 150.0 * common[i, 3] + rng.normal(0, 20.0),
                "occupancy_tellers": 0.8 + 0.02 * common[i, 0] + rng.normal(0, 0.003),
            })
    return pd.DataFrame(rows)


def inputs(table: pd.DataFrame, constraints=CONSTRAINTS) -> dict:
    summary = summarise(table, ["option"], METRICS)
    differences = pd.concat([compare_to_baseline(table, "option", "baseline", m) for m in METRICS],
                            ignore_index=True)
    selection = select_best(table, "option", "cost", minimize=True, constraints=constraints)
    means = summary.pivot(index="option", columns="metric", values="mean")
    pareto = means.reindex(list(dict.fromkeys(table["option"])))[["cost", "asa_s"]].reset_index()
    pareto["pareto"] = pareto_front(pareto, ["cost", "asa_s"]).to_numpy()
    return {"summary": summary, "differences": differences, "selection": selection, "pareto": pareto}


def make_figures(data: dict) -> dict[str, bytes]:
    sel = data["selection"]
    return {
        "comparison": F.png_bytes(F.comparison_figure(data["summary"], METRICS, highlight=sel.best,
                                                      constraints=CONSTRAINTS)),
        "differences": F.png_bytes(F.differences_figure(data["differences"])),
        "pareto": F.png_bytes(F.pareto_figure(data["pareto"], "cost", "asa_s", highlight=sel.best)),
    }


META = {"experiment": "Bank staffing options", "base scenario": "scenarios/bank_contact_centre.yaml",
        "replications": "10", "seed": "1", "servsim version": "0.1.0"}


def report(data: dict, figures: dict[str, bytes], currency: str | None = None) -> str:
    return experiment_report(title="Which option? <draft>", meta=META, figures=figures, currency=currency, **data)


@pytest.fixture(scope="module")
def data() -> dict:
    return inputs(replication_table())


@pytest.fixture(scope="module")
def pngs(data) -> dict[str, bytes]:
    return make_figures(data)


@pytest.fixture(scope="module")
def page(data, pngs) -> str:
    return report(data, pngs)


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------


def test_synthetic_selection_is_the_cheapest_feasible_option(data):
    sel = data["selection"]
    assert sel.best == "plus_staff" and sel.confident
    assert set(sel.infeasible) == {"baseline", EVIL}


def test_png_bytes_are_png_and_deterministic(data, pngs):
    again = make_figures(data)
    for name, png in pngs.items():
        assert png.startswith(PNG_SIGNATURE), name
        assert b"matplotlib" not in png.lower(), name  # no Software tag or version
        assert again[name] == png, f"{name} differs between two renderings of the same inputs"
    fig = F.comparison_figure(data["summary"], METRICS)
    assert isinstance(fig, Figure)
    assert F.png_bytes(fig) == F.png_bytes(fig)


def test_save_writes_the_same_png(tmp_path, data):
    fig = F.pareto_figure(data["pareto"], "cost", "asa_s")
    path = F.save(fig, tmp_path / "figs" / "pareto.png")
    assert path.read_bytes() == F.png_bytes(fig)


def test_figures_handle_degenerate_inputs(data):
    empty = F.differences_figure(data["differences"].iloc[0:0])
    assert F.png_bytes(empty).startswith(PNG_SIGNATURE)
    one_rep = summarise(replication_table(n=1), ["option"], METRICS)  # half-widths are NaN
    assert F.png_bytes(F.comparison_figure(one_rep, ["service_level"])).startswith(PNG_SIGNATURE)
    nan_pareto = data["pareto"].assign(cost=np.nan)
    assert F.png_bytes(F.pareto_figure(nan_pareto, "cost", "asa_s")).startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="not in the summary"):
        F.comparison_figure(data["summary"], ["no_such_metric"])


# ---------------------------------------------------------------------------------------------
# HTML report
# ---------------------------------------------------------------------------------------------


def test_report_is_self_contained(page, pngs):
    low = page.lower()
    assert page.startswith("<!DOCTYPE html>")
    for bad in ("http://", "https://", "<script", "<link", "@import", "url(", "<iframe"):
        assert bad not in low, bad
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", page, flags=re.IGNORECASE)
    assert len(sources) == len(pngs)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    for png in pngs.values():  # every figure embedded whole
        assert f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"' in page


def test_report_has_sections_choice_and_meta(page, data):
    for heading in SECTIONS:
        assert f">{heading}</h2>" in page, heading
    assert "<strong>plus_staff</strong>" in page
    assert "confident" in page
    for key, value in META.items():
        assert f"<th>{key}</th><td>{value}</td>" in page
    assert "Which option? &lt;draft&gt;" in page
    # infeasible options with the reason (numbers in their unit, not raw floats), and the constraints table
    cons = data["selection"].constraints.set_index(["option", "metric"])
    base_sl = cons.loc[("baseline", "service_level"), "mean"]
    assert "Infeasible options" in page and f"service level {base_sl:.1%}, needs ≥ 80.0%" in page
    assert f"{base_sl:.6g}" not in page
    assert "service level ≥ 80.0%" in page and "abandonment rate ≤ 5.0%" in page
    assert "common random numbers" in page.lower() and "Bonferroni" in page


def test_report_formats_numbers_by_unit(page, data):
    s = data["summary"].set_index(["option", "metric"])
    sl = s.loc[("plus_staff", "service_level")]
    assert f"{sl['mean']:.1%} ± {sl['half_width'] * 100:.1f} pp" in page  # share as %, its half-width in pp
    asa = s.loc[("vendor", "asa_s")]
    assert f"{asa['mean']:,.1f} ± {asa['half_width']:,.1f} s" in page  # seconds, the unit after both numbers
    cost = s.loc[("plus_staff", "cost")]
    assert f"{cost['mean']:,.0f} ± {cost['half_width']:,.0f}<" in page  # money, thousands separator, no currency
    d = data["differences"].set_index(["option", "metric"])
    sl_diff = d.loc[("vendor", "service_level")]
    assert f"+{sl_diff['diff'] * 100:.1f} pp" in page  # difference of shares in percentage points
    assert f"+{sl_diff['low'] * 100:.1f} to +{sl_diff['high'] * 100:.1f} pp" in page
    asa_diff = d.loc[("vendor", "asa_s")]
    assert f"−{abs(asa_diff['diff']):,.1f} s" in page
    assert "&lt; 0.001" in page  # strongly significant p-values
    # no zone given: the verdict is statistical significance, in the metric's better direction
    assert '<td class="sig-better">better</td>' in page and '<td class="sig-worse">worse</td>' in page
    assert "<td class=\"num\">none</td>" in page  # the zone column says there is none


def test_report_shows_zones_and_verdicts():
    """A zone turns a significant 3-minute difference in paid hours into "practically equivalent",
    and the choice into "within the indifference zone of the best"."""
    rng = np.random.default_rng(2)
    common = rng.normal(0.0, 0.3, 12)
    means = {"today": 170.09, "faster": 170.04, "more": 178.1}
    table = pd.DataFrame([{"option": o, "replication": i, "paid_hours": m + common[i] + rng.normal(0, 0.005)}
                          for o, m in means.items() for i in range(12)])
    summary = summarise(table, ["option"], ["paid_hours"])
    differences = compare_to_baseline(table, "option", "today", "paid_hours", indifference=0.5, better="lower")
    selection = select_best(table, "option", "paid_hours", minimize=True, indifference=0.5)
    assert bool(differences.set_index("option").loc["faster", "significant"])
    page = experiment_report(title="t", meta={}, summary=summary, differences=differences, selection=selection,
                             pareto=None, figures={}, zones={"paid_hours": "0.5 h (default)"})
    assert "<td>practically equivalent</td>" in page and '<td class="sig-worse">worse</td>' in page
    assert page.count('<td class="num">±0.5 h</td>') == 2  # the zone beside each difference
    assert "within the indifference zone of the best" in page and "indifference zone ±0.5 h" in page
    assert "Schuirmann 1987" in page and "Kim &amp; Nelson 2006" in page
    assert "paid agent-hours (people): 0.5 h (default)" in page


def test_report_shows_money_in_the_currency(data):
    page = report(data, {}, currency="EUR")
    cost = data["summary"].set_index(["option", "metric"]).loc[("plus_staff", "cost")]
    assert f"{cost['mean']:,.0f} ± {cost['half_width']:,.0f} EUR" in page
    diff = data["differences"].set_index(["option", "metric"]).loc[("vendor", "cost")]
    shown = fmt.difference(diff["diff"], "money", "EUR")
    assert shown.endswith(" EUR") and shown in page


def test_user_text_is_escaped(page):
    assert "<script" not in page
    assert "rpa &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_report_is_deterministic(data, page, pngs):
    assert report(data, pngs) == page
    fresh = inputs(replication_table())
    assert report(fresh, make_figures(fresh)) == page


def test_report_without_a_feasible_option(data):
    table = replication_table()
    nothing = inputs(table, constraints=[Constraint("service_level", ">=", 0.99)])
    assert nothing["selection"].best is None
    page = report(nothing, {})
    assert "No option is chosen" in page
    for heading in SECTIONS:
        assert f">{heading}</h2>" in page
    assert "src=" not in page


def test_write_report_round_trips(tmp_path, page):
    path = write_report(tmp_path / "out" / "report.html", page)
    assert path.read_text(encoding="utf-8") == page


@pytest.mark.parametrize(("metric", "kind", "better"), [
    ("service_level", "share", "higher"), ("abandon_rate", "share", "lower"), ("asa_s", "duration", "lower"),
    ("mean_wait_s", "duration", "lower"), ("cost", "money", "lower"), ("occupancy_tellers", "share", None),
    ("service_level_phone", "share", "higher"),
])
def test_metric_units(metric, kind, better):
    info = fmt.info(metric)
    assert (info.kind, info.better) == (kind, better)
