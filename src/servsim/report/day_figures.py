"""Figures of one scenario's day: KPIs per reporting interval with confidence bands, and pools.

Each panel plots the mean across replications per interval as a line, its confidence interval as
a band, and the goal (service level) or ceiling (abandonment) as a dashed line; intervals whose
mean misses the goal are marked. The x axis is the time of day; with several days, the days follow
each other and the line breaks overnight. Under :data:`servsim.report.figures.STYLE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from servsim.report.day import DAY_METRICS, interval_estimates
from servsim.report.figures import BLUE, DARK, RED, STYLE, _axis, _freeze
from servsim.report import format as fmt
from servsim.units import DAY, HOUR

#: At most this many channels side by side; beyond, the overall rows alone.
MAX_CHANNELS = 3
BAND = "#cfe0f1"


def _clock_axis(ax: Axes, starts: np.ndarray) -> None:
    """Ticks at round hours of the intervals starting at ``starts`` (x = interval index), labelled
    "08:00"; with several days, a thin line and "day 2" where each new day starts."""
    starts = np.asarray(starts, dtype=float)
    if not len(starts):
        return
    day, tod = np.divmod(starts, DAY)
    for step in (1, 2, 3, 4, 6, 8, 12, 24):
        at = np.flatnonzero(np.isclose(np.mod(tod, step * HOUR), 0.0))
        if len(at) <= 7:
            break

    def label(i: int) -> str:
        m = int(round(tod[i] / 60.0))
        return f"{m // 60:02d}:{m % 60:02d}"

    ax.set_xticks(at.astype(float), [label(i) for i in at])
    for k in np.flatnonzero(np.diff(day) > 0) + 1:
        ax.axvline(k - 0.5, color="#bbbbbb", linewidth=0.8)
        ax.text(k - 0.3, 1.0, f"day {int(day[k]) + 1}", transform=ax.get_xaxis_transform(), va="top",
                fontsize=7.5, color="#777777")


def _series(rows: pd.DataFrame, n_int: int, *columns: str) -> list[np.ndarray]:
    """Columns of per-interval rows on the full interval axis (NaN where a row is missing, e.g. an
    interval nobody arrived in), so lines break there."""
    out = []
    k = rows["interval"].to_numpy(dtype=np.int64)
    for c in columns:
        full = np.full(n_int, np.nan)
        full[k] = rows[c].to_numpy(dtype=float)
        out.append(full)
    return out


def _panel(ax: Axes, rows: pd.DataFrame, metric: str, starts: np.ndarray, line: float | None,
           op: str) -> str | None:
    """One KPI of one channel over the day: mean line, CI band, goal line, misses marked; returns the
    unit a duration axis is drawn in (for its title)."""
    x = np.arange(len(starts), dtype=float)
    mean, hw = _series(rows, len(starts), metric, f"{metric}_half_width")
    day = np.floor(np.asarray(starts) / DAY)
    cut = np.flatnonzero(np.diff(day) > 0) + 1  # no line from one evening to the next morning
    xb, mb, lo, hi = (np.insert(a, cut, np.nan) for a in (x, mean, mean - np.nan_to_num(hw),
                                                         mean + np.nan_to_num(hw)))
    floor = 0.0 if np.nanmin(np.r_[mean, 0.0]) >= 0 else -np.inf  # a band never suggests negative waits
    ax.fill_between(xb, np.maximum(lo, floor), hi, color=BAND, linewidth=0, label="CI")
    ax.plot(xb, mb, color=BLUE, linewidth=1.6, label="mean")
    if line is not None:
        ax.axhline(line, color=RED, linestyle="--", linewidth=1.0,
                   label=("goal" if op == ">=" else "ceiling"))
        with np.errstate(invalid="ignore"):
            bad = mean < line if op == ">=" else mean > line
        ax.plot(x[bad], mean[bad], "o", color=RED, markersize=3.5, label="misses")
    scale = _scale(metric, mean, hw)
    _axis(ax.yaxis, fmt.kind_of(metric), scale=scale)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
    ax.set_axisbelow(True)
    return scale


def _scale(metric: str, mean: np.ndarray, hw: np.ndarray) -> str | None:
    """The unit a duration axis is drawn in (s, min or h, from the range it shows)."""
    return fmt.axis_unit(fmt.kind_of(metric), np.nan_to_num(mean) + np.nan_to_num(hw))


def day_figure(intervals: pd.DataFrame, goals: Mapping[str, float], abandon_max: float, length_s: float,
               level: float = 0.95, channels: Sequence[str] | None = None) -> Figure:
    """Offered, service level (with each channel's goal), ASA, abandonment rate (with the ceiling)
    and mean number waiting per interval, from a stacked ``intervals`` table: a column per channel
    (up to :data:`MAX_CHANNELS`, else the overall rows); one channel's panels in two columns."""
    est = interval_estimates(intervals, DAY_METRICS, level)
    starts = _starts(est)
    names = list(channels) if channels is not None else list(dict.fromkeys(est["channel"].astype(str)))
    if len(names) > 1:  # the channels themselves when they fit, else all together
        names = [n for n in names if n != "all"] if len(names) - 1 <= MAX_CHANNELS else ["all"]
    n_rep = int(intervals["replication"].nunique()) if "replication" in intervals else 1
    with mpl.rc_context(STYLE):
        if len(names) == 1:
            fig = Figure(figsize=(8.6, 6.6), layout="constrained")
            grid = fig.subplots(3, 2, sharex=True, squeeze=False)
            cells = [(grid.flat[i], names[0], m) for i, m in enumerate(DAY_METRICS)]
            grid.flat[-1].set_axis_off()
        else:
            fig = Figure(figsize=(3.4 * len(names) + 0.8, 1.75 * len(DAY_METRICS) + 0.9), layout="constrained")
            grid = fig.subplots(len(DAY_METRICS), len(names), sharex=True, squeeze=False)
            cells = [(grid[i, j], name, m) for j, name in enumerate(names) for i, m in enumerate(DAY_METRICS)]
        for ax, name, metric in cells:
            line, op = None, ">="
            if metric == "service_level":
                line = goals.get(name, goals.get("all"))
            elif metric == "abandon_rate":
                line, op = abandon_max, "<="
            scale = _panel(ax, est[est["channel"].astype(str) == name], metric, starts, line, op)
            title = _axis_label(metric, scale)
            ax.set_title(title if len(names) == 1 else f"{_channel(name)}: {title}", loc="left",
                         fontsize=9.5)
            _clock_axis(ax, starts)
            ax.tick_params(labelbottom=True)
        handles, labels = cells[1][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
        where = "" if len(names) != 1 else f" — {_channel(names[0])}"
        fig.suptitle(f"By reporting interval{where}: mean and {level:.0%} CI over {n_rep} replications")
        return _freeze(fig)


def _starts(est: pd.DataFrame) -> np.ndarray:
    """Start time of every interval index 0..max seen (NaN for one no row has)."""
    if not len(est):
        return np.zeros(0)
    k = est["interval"].to_numpy(dtype=np.int64)
    out = np.full(int(k.max()) + 1, np.nan)
    out[k] = est["start_s"].to_numpy(dtype=float)
    return out


def _channel(name: str) -> str:
    return "all channels" if name == "all" else name


def _axis_label(metric: str, scale: str | None = None) -> str:
    """The registry label with its unit: "ASA (mean wait, answered; s)"."""
    return fmt.label(metric, unit=True, scale=scale)


def _short(metric: str) -> str:
    """A y-axis label: the registry label, broken onto two lines when long."""
    text = fmt.label(metric)
    if len(text) <= 16:
        return text
    cut = text.rfind(" ", 0, 17)
    return text if cut < 0 else text[:cut] + "\n" + text[cut + 1:]


def pools_figure(pools: pd.DataFrame, length_s: float, level: float = 0.95,
                 unlimited: Sequence[str] = ()) -> Figure:
    """Per pool: occupancy per interval (mean and CI) and the headcount on duty (staffed
    agent-time / interval length), from a stacked ``pools`` table. An ``unlimited`` pool has no
    capacity to occupy: its lower panel shows how many were busy on average (busy time / length)."""
    p = pools.assign(headcount=pools["staffed_s"].to_numpy(dtype=float) / length_s, channel=pools["pool"])
    unlimited = set(unlimited)
    est = interval_estimates(p, ["occupancy", "headcount"], level)
    names = list(dict.fromkeys(est["channel"].astype(str)))
    starts = _starts(est)
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(3.3 * min(len(names), 3) + 0.6, 3.9 * int(np.ceil(len(names) / 3))),
                     layout="constrained")
        cols = min(len(names), 3)
        grid = fig.subplots(2 * int(np.ceil(len(names) / 3)), cols, sharex=True, squeeze=False)
        for k, name in enumerate(names):
            r, c = divmod(k, cols)
            rows = est[est["channel"].astype(str) == name]
            occ, head = grid[2 * r, c], grid[2 * r + 1, c]
            if name in unlimited:
                occ.text(0.5, 0.5, "unlimited pool:\nno occupancy", ha="center", va="center",
                         transform=occ.transAxes, color="#777777")
                occ.set_yticks([])
            else:
                _panel(occ, rows, "occupancy", starts, None, ">=")
                occ.set_ylim(0, 1.05)
            occ.set_title(name)
            (count,) = _series(rows, len(starts), "headcount")
            head.step(np.arange(len(starts)) - 0.5, count, where="post", color=DARK, linewidth=1.4)
            head.set_ylim(bottom=0)
            head.grid(axis="y", color="#e6e6e6", linewidth=0.6)
            if c == 0:
                occ.set_ylabel("occupancy")
            head.set_ylabel("busy (mean)" if name in unlimited else "on duty")
            _clock_axis(head, starts)
            _clock_axis(occ, starts)
            head.tick_params(labelbottom=True)
        for k in range(len(names), grid.shape[0] // 2 * cols):
            r, c = divmod(k, cols)
            grid[2 * r, c].set_visible(False)
            grid[2 * r + 1, c].set_visible(False)
        fig.suptitle(f"Pools by reporting interval — occupancy (mean, {level:.0%} CI) and agents on duty")
        return _freeze(fig)


#: The KPIs of :func:`options_day_figure`, top to bottom.
OPTION_METRICS = DAY_METRICS[1:4]
#: Line colours of the options after the baseline (the baseline is drawn dark and thick).
OPTION_COLOURS = ["#1f6fb4", "#e08214", "#1a9850", "#8e44ad", "#c0392b", "#17becf", "#7f7f7f"]


def options_day_figure(intervals: pd.DataFrame, baseline: str, goals: Mapping[str, float], abandon_max: float,
                       level: float = 0.95) -> Figure:
    """Each option against the baseline, interval by interval: service level (with the goal), ASA
    and abandonment rate (with the ceiling), means across replications, a column per channel (up
    to :data:`MAX_CHANNELS`, else all channels together), from the stored ``intervals`` of a
    comparison (with an ``option`` column). The baseline's band is its confidence interval."""
    options = list(dict.fromkeys(intervals["option"].astype(str)))
    options = [baseline] + [o for o in options if o != baseline]
    names = list(dict.fromkeys(intervals["channel"].astype(str)))
    if len(names) > 1:
        names = [n for n in names if n != "all"] if len(names) - 1 <= MAX_CHANNELS else ["all"]
    est = {o: interval_estimates(intervals[intervals["option"].astype(str) == o], OPTION_METRICS, level)
           for o in options}
    starts = _starts(pd.concat(list(est.values()), ignore_index=True))
    x = np.arange(len(starts), dtype=float)
    day = np.floor(starts / DAY)
    cut = np.flatnonzero(np.diff(day) > 0) + 1
    with mpl.rc_context(STYLE):
        if len(names) == 1:  # one channel: the three panels side by side
            fig = Figure(figsize=(10.5, 3.6), layout="constrained")
            grid = fig.subplots(1, len(OPTION_METRICS), squeeze=False).T
        else:
            fig = Figure(figsize=(3.6 * len(names) + 0.8, 2.0 * len(OPTION_METRICS) + 1.1), layout="constrained")
            grid = fig.subplots(len(OPTION_METRICS), len(names), sharex=True, squeeze=False)
        for j, name in enumerate(names):
            for i, metric in enumerate(OPTION_METRICS):
                ax = grid[i, j]
                for k, option in enumerate(options):
                    rows = est[option][est[option]["channel"].astype(str) == name]
                    mean, hw = _series(rows, len(starts), metric, f"{metric}_half_width")
                    xb, mb, lo, hi = (np.insert(a, cut, np.nan) for a in (x, mean, mean - np.nan_to_num(hw),
                                                                         mean + np.nan_to_num(hw)))
                    if k == 0:
                        ax.fill_between(xb, np.maximum(lo, 0.0), hi, color="#dddddd", linewidth=0)
                        ax.plot(xb, mb, color=DARK, linewidth=2.0, label=f"{option} (baseline)")
                    else:
                        ax.plot(xb, mb, color=OPTION_COLOURS[(k - 1) % len(OPTION_COLOURS)], linewidth=1.3,
                                label=option)
                if metric == "service_level":
                    ax.axhline(goals.get(name, goals.get("all", np.nan)), color=RED, linestyle="--", linewidth=1.0,
                               label="goal / ceiling")
                elif metric == "abandon_rate":
                    ax.axhline(abandon_max, color=RED, linestyle="--", linewidth=1.0)
                base = est[baseline][est[baseline]["channel"].astype(str) == name]
                scale = _scale(metric, base[metric].to_numpy(float), base[f"{metric}_half_width"].to_numpy(float))
                _axis(ax.yaxis, fmt.kind_of(metric), scale=scale)
                ax.grid(axis="y", color="#e6e6e6", linewidth=0.6)
                ax.set_axisbelow(True)
                title = _axis_label(metric, scale)
                ax.set_title(f"{_channel(name)}: {title}" if len(names) > 1 else title, loc="left", fontsize=9.5)
                _clock_axis(ax, starts)
                ax.tick_params(labelbottom=True)
        handles, labels = grid[0, 0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
        fig.suptitle(f"Options by reporting interval (means; grey band: the baseline's {level:.0%} CI)")
        return _freeze(fig)


__all__ = ["DAY_METRICS", "day_figure", "options_day_figure", "pools_figure"]
