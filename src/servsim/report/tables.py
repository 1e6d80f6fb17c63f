"""KPI tables for people: formatted cells, one column per channel/segment group."""

from __future__ import annotations

import math

import pandas as pd

LABELS = {
    "offered": ("offered", "count"), "answered": ("answered", "count"), "handled": ("handled", "count"),
    "abandoned": ("abandoned", "count"), "abandon_rate": ("abandonment rate", "share"),
    "asa_s": ("ASA (mean wait, answered)", "seconds"), "mean_wait_s": ("mean wait", "seconds"),
    "p90_wait_s": ("90th percentile wait", "seconds"), "p95_wait_s": ("95th percentile wait", "seconds"),
    "service_level": ("service level", "share"), "mean_handle_s": ("mean handle time", "seconds"),
    "mean_lead_time_s": ("mean end-to-end time", "seconds"), "in_system_end": ("in system at end", "count"),
    "littles_gap": ("Little's law gap |L−λW|/L", "share"), "occupancy": ("occupancy", "share"),
    "p_wait": ("P(wait > 0)", "share"),
    "satisfaction_mean": ("satisfaction proxy (mean score, 0–100%)", "share"),
    "share_satisfied": ("satisfied (proxy)", "share"),
    "total_cost": ("total cost (staff + vendor + bots + penalties)", "count"),
    "vendor_cost": ("vendor cost", "count"), "bot_cost": ("bot cost", "count"),
    "balked": ("balked", "count"), "contained": ("contained by bots", "count"),
    "outsourced": ("handled by a vendor", "count"), "unresolved": ("handled, unresolved", "count"),
    "retrials": ("retrials and repeats", "count"),
    "staff_cost": ("staff cost", "count"), "penalty_cost": ("penalty cost", "count"),
    "cost_per_handled": ("cost per handled contact", "count"),
}


def fmt(value: float, half_width: float, kind: str) -> str:
    """``mean ± half-width`` in the metric's unit."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    hw = "" if half_width is None or math.isnan(half_width) else half_width
    if kind == "share":
        return f"{value:.1%}" + (f" ± {hw:.1%}" if hw != "" else "")
    if kind == "seconds":
        return f"{value:,.1f}s" + (f" ± {hw:,.1f}" if hw != "" else "")
    return f"{value:,.1f}" + (f" ± {hw:,.1f}" if hw != "" else "")


def metric_kind(metric: str) -> str:
    """The unit kind of a metric for :func:`fmt`: share, seconds or count (occupancy_<pool> is a share)."""
    if metric.startswith("occupancy"):
        return "share"
    return LABELS.get(metric, (metric, "count"))[1]


def parameter_text(value: object) -> str:
    """A sweep parameter value as a person would write it: 12, not 12.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _group_label(channel: str, segment: str) -> str:
    if channel == "all" and segment == "all":
        return "overall"
    return channel if segment == "all" else f"segment {segment}"


def kpi_rows(
    table: pd.DataFrame, theory: dict[str, float] | None = None
) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """(column labels, [(row label, cells)]) for a long KPI table from ``Replications.kpi_table``;
    with ``theory`` ({metric: value}), each row gets one more cell with the theoretical value."""
    kpi = table[~table["channel"].astype(str).str.startswith("pool:")]
    pools = table[table["channel"].astype(str).str.startswith("pool:")]
    groups = list(dict.fromkeys(zip(kpi["channel"], kpi["segment"])))
    columns = [_group_label(c, s) for c, s in groups]
    rows: list[tuple[str, list[str]]] = []
    for metric in dict.fromkeys(kpi["metric"]):
        label, kind = LABELS.get(metric, (metric, "count"))
        cells = []
        for c, s in groups:
            hit = kpi[(kpi["channel"] == c) & (kpi["segment"] == s) & (kpi["metric"] == metric)]
            cells.append(fmt(hit["mean"].iloc[0], hit["half_width"].iloc[0], kind) if len(hit) else "")
        if theory is not None:
            cells.append(fmt(theory[metric], math.nan, kind) if metric in theory else "")
        rows.append((label, cells))
    for _, r in pools.iterrows():
        cells = [fmt(r["mean"], r["half_width"], "share")] + [""] * (len(columns) - 1 + (theory is not None))
        rows.append((f"occupancy {str(r['channel'])[5:]}", cells))
    return columns, rows
