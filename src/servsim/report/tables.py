"""KPI tables for people: formatted cells, one column per channel/segment group."""

from __future__ import annotations

import math

import pandas as pd

from servsim.metrics.registry import resolve

def fmt(value: float, half_width: float, kind: str) -> str:
    """``mean ± half-width`` in the metric's unit (kinds of :mod:`servsim.metrics.registry`)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    hw = "" if half_width is None or math.isnan(half_width) else half_width
    if kind == "share":
        return f"{value:.1%}" + (f" ± {hw:.1%}" if hw != "" else "")
    if kind in ("duration", "seconds"):
        return f"{value:,.1f}s" + (f" ± {hw:,.1f}" if hw != "" else "")
    return f"{value:,.1f}" + (f" ± {hw:,.1f}" if hw != "" else "")


def metric_label(metric: str) -> str:
    """People's label of a metric (the registry's; an unknown name with its underscores as spaces)."""
    m = resolve(metric)
    return m.label if m is not None else metric.replace("_", " ")


def metric_kind(metric: str) -> str:
    """The unit kind of a metric for :func:`fmt` (the registry's; an unknown name is a count)."""
    m = resolve(metric)
    return m.kind if m is not None else "count"


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
        label, kind = metric_label(metric), metric_kind(metric)
        cells = []
        for c, s in groups:
            hit = kpi[(kpi["channel"] == c) & (kpi["segment"] == s) & (kpi["metric"] == metric)]
            cells.append(fmt(hit["mean"].iloc[0], hit["half_width"].iloc[0], kind) if len(hit) else "")
        if theory is not None:
            cells.append(fmt(theory[metric], math.nan, kind) if metric in theory else "")
        rows.append((label, cells))
    for _, r in pools.iterrows():
        cells = [fmt(r["mean"], r["half_width"], "share")] + [""] * (len(columns) - 1 + (theory is not None))
        rows.append((metric_label(f"occupancy_{str(r['channel'])[5:]}"), cells))
    return columns, rows
