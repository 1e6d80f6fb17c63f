"""One run, four outputs: the terminal table, --json, kpis.csv and report.html show every sampled
number with the same value in the same unit (the formatter's text of the CSV's value)."""

from __future__ import annotations

import html
import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

import servsim

from conftest import ROOT
from servsim.cli import app
from servsim.report import format as fmt

BANK = ROOT / "scenarios" / "bank_contact_centre.yaml"
SAMPLED = ["offered", "abandon_rate", "asa_s", "service_level", "mean_handle_s", "total_cost", "cost_per_handled"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank")
    args = ["run", str(BANK), "-n", "4", "-s", "5"]
    shown = CliRunner().invoke(app, [*args, "--out", str(out)], env={"COLUMNS": "100"})
    assert shown.exit_code == 0, shown.output
    as_json = CliRunner().invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    return shown.output, json.loads(as_json.output), pd.read_csv(out / "kpis.csv"), \
        (out / "report.html").read_text(encoding="utf-8")


def test_json_and_csv_hold_the_same_values(outputs):
    _, data, csv, _ = outputs
    rows = {(r["channel"], r["segment"], r["metric"]): r for r in data["kpis"]}
    for r in csv.itertuples(index=False):
        j = rows[(r.channel, r.segment, r.metric)]
        for col in ("mean", "half_width"):
            want = getattr(r, col)
            assert (j[col] is None and pd.isna(want)) or j[col] == pytest.approx(want, rel=1e-12, abs=0)
    assert {m: data["metrics"][m]["kind"] for m in SAMPLED} == {m: fmt.kind_of(m) for m in SAMPLED}
    currency = servsim.load_scenario(BANK).economics.currency
    assert data["metrics"]["total_cost"]["unit"] == currency and data["metrics"]["asa_s"]["unit"] == "s"


def test_terminal_and_report_show_the_csv_value_in_its_unit(outputs):
    terminal, _, csv, page = outputs
    currency = servsim.load_scenario(BANK).economics.currency
    overall = csv[(csv["channel"] == "all") & (csv["segment"] == "all")].set_index("metric")
    cells = [html.unescape(c) for c in re.findall(r'<td class="num">([^<]*)</td>', page)]
    for m in SAMPLED:
        text = fmt.estimate(overall.loc[m, "mean"], overall.loc[m, "half_width"], fmt.kind_of(m), currency)
        assert text in terminal, (m, text)
        assert text in cells, (m, text)
