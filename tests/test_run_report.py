"""``servsim run --out DIR`` writes a self-contained report of the day, interval by interval."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import servsim
from browser import page_of
from conftest import ROOT
from servsim.cli import app

BANK = ROOT / "scenarios" / "bank_contact_centre.yaml"
REPS, SEED = 6, 3


@pytest.fixture(scope="module")
def bank_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bank")
    res = CliRunner().invoke(app, ["run", str(BANK), "-n", str(REPS), "-s", str(SEED), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


def _below_goal_from_intervals() -> list[tuple[str, int]]:
    """The half-hours after the warm-up whose mean service level over the replications is below the
    channel's goal, computed here from r.intervals alone."""
    s = servsim.load_scenario(BANK)
    r = servsim.replicate(s, replications=REPS, seed=SEED)
    goal = {n: (ch.service_level or s.targets.service_level).goal for n, ch in s.channels.items()}
    iv = r.intervals[r.intervals["channel"].astype(str).isin(goal)]
    iv = iv[iv["start_s"] >= s.horizon.start + s.horizon.warmup]
    mean = iv.groupby(["channel", "interval"], observed=True)["service_level"].mean()
    return sorted((str(c), int(k)) for (c, k), v in mean.items() if v < goal[str(c)])


def test_run_writes_the_report_and_its_figures(bank_run):
    html = (bank_run / "report.html").read_text(encoding="utf-8")
    for name in ("day", "pools"):
        png = (bank_run / "figures" / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert html.count("data:image/png;base64,") == 2
    # self-contained: nothing but the embedded figures is referenced
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(r.startswith("data:") for r in refs), refs


def test_the_listed_half_hours_are_those_below_the_goal(bank_run):
    html = (bank_run / "report.html").read_text(encoding="utf-8")
    listed = sorted((c, int(k)) for c, k in re.findall(r'data-channel="([^"]+)" data-interval="(\d+)"', html))
    want = _below_goal_from_intervals()
    assert listed == want and len(want) > 0
    n = re.search(r"(\d+) of (\d+) half-hours after the warm-up are below", html)
    assert n and int(n.group(1)) == len(want)


def test_the_report_opens_offline_in_chromium(bank_run):
    with page_of(bank_run / "report.html") as (page, requests):
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
        assert [u for u in requests if u.startswith("file:")] == [(bank_run / "report.html").resolve().as_uri()]
        rows = page.locator("#missed tbody tr")
        assert rows.count() == len(_below_goal_from_intervals())
        for img in page.locator("img").all():  # every figure decoded and laid out
            assert img.evaluate("i => i.complete && i.naturalWidth > 500")
        assert "half-hours after the warm-up" in page.locator("#missed-summary").inner_text()


def test_no_report_leaves_the_tables_only(tmp_path):
    res = CliRunner().invoke(app, ["run", str(ROOT / "scenarios" / "mmc.yaml"), "-n", "2", "--out", str(tmp_path),
                                   "--no-report"])
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "figures").exists()
    assert (tmp_path / "summary.parquet").exists()


def test_interval_estimates_equal_the_t_interval_of_each_row():
    from servsim.report.day import interval_estimates
    from servsim.stats import t_interval

    r = servsim.replicate(servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml"),
                          replications=4, seed=1, log=False)
    est = interval_estimates(r.intervals, ["service_level", "asa_s"], 0.9)
    assert len(est) == r.intervals.groupby(["channel", "interval"], observed=True).ngroups
    for row in est.sample(20, random_state=0).itertuples(index=False):
        sub = r.intervals[(r.intervals["channel"] == row.channel) & (r.intervals["interval"] == row.interval)]
        for m in ("service_level", "asa_s"):
            ci = t_interval(sub[m].to_numpy(float), 0.9)
            assert getattr(row, m) == pytest.approx(ci.mean, nan_ok=True)
            assert getattr(row, f"{m}_half_width") == pytest.approx(ci.half_width, nan_ok=True)
            assert getattr(row, f"{m}_n") == ci.n
