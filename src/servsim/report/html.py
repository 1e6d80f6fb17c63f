"""The self-contained HTML report of ``servsim compare``, and the metric labels/units it shares
with :mod:`servsim.report.figures`.

One HTML document, readable offline: inline CSS, figures embedded as ``data:image/png;base64``
URIs, no scripts, fonts or links to anything outside the file. Every piece of text that comes from
the experiment (names, meta values, selection sentences) is escaped with :func:`html.escape`.
The same inputs give the same string byte for byte: nothing depends on the clock, on random ids or
on the order of a set.

Metric names are servsim KPI columns (``service_level``, ``abandon_rate``, ``asa_s``, ``cost``,
``occupancy_<pool>``, ...); :func:`metric_info` gives a label, a unit kind and which direction is
better, also for names qualified by a channel or pool (``service_level_phone``, ``phone.asa_s``).
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from servsim.atomic import ensure_dir, write_text
from servsim.metrics.registry import REGISTRY, resolve
from servsim.report.tables import fmt
from servsim.stats import Selection

__all__ = [
    "MetricInfo", "metric_info", "metric_label", "format_value", "format_estimate", "format_difference",
    "format_p", "experiment_report", "write_report",
]


# ---------------------------------------------------------------------------------------------
# Metrics: label, unit and direction
# ---------------------------------------------------------------------------------------------

_SEPARATORS = ("_", ".", ":", "/", "@", " ", "-")


@dataclass(frozen=True)
class MetricInfo:
    """How to show a metric: ``label`` for people, unit ``kind`` (:mod:`servsim.metrics.registry`:
    count, share, duration, hours, money, ratio) and ``better`` ("lower", "higher" or None when it
    depends)."""

    label: str
    kind: str
    better: str | None


def _qualified(m: str) -> MetricInfo | None:
    """A registry name qualified by a channel, segment or pool before or after it
    (``service_level_phone``, ``phone:asa_s``, ``pool:clerks occupancy``): the known unit, with the
    qualifier in the label. Longest names first, so ``abandon_rate_waited`` wins over ``abandon_rate``."""
    for known in sorted(REGISTRY, key=lambda k: (-len(k), k)):
        entry = REGISTRY[known]
        for sep in _SEPARATORS:
            if m.startswith(known + sep) and len(m) > len(known) + 1:
                return MetricInfo(f"{entry.label}, {m[len(known) + 1:]}", entry.kind, entry.better)
            if m.endswith(sep + known) and len(m) > len(known) + 1:
                qualifier = m[:-len(known) - 1]
                if known == "occupancy" and qualifier.startswith("pool") and len(qualifier) > 5:
                    return MetricInfo(f"occupancy {qualifier[5:].strip('_.:/@ ')}", entry.kind, entry.better)
                return MetricInfo(f"{entry.label}, {qualifier}", entry.kind, entry.better)
    return None


def metric_info(metric: str) -> MetricInfo:
    """Label, unit kind and better direction of a KPI column name.

    Names and patterns (``occupancy_<pool>``) come from :mod:`servsim.metrics.registry`; a registry
    name qualified by a channel, segment or pool keeps its unit with the qualifier in the label.
    Unknown names (e.g. a user's column): ``*_s`` are durations, ``*rate``/``*share``/``*level``
    shares, ``*cost*`` money, ``*_hours`` hours, anything else a plain number.
    """
    m = str(metric)
    entry = resolve(m)
    if entry is not None:
        return MetricInfo(entry.label, entry.kind, entry.better)
    qualified = _qualified(m)
    if qualified is not None:
        return qualified
    low = m.lower()
    if "cost" in low:
        return MetricInfo(m.replace("_", " "), "money", "lower")
    if low.endswith("_s"):
        return MetricInfo(m[:-2].replace("_", " "), "duration", None)
    if low.endswith("_hours") or low.endswith("_h"):
        return MetricInfo(m.rsplit("_", 1)[0].replace("_", " "), "hours", None)
    if low.endswith("rate") or low.endswith("share") or low.endswith("level"):
        return MetricInfo(m.replace("_", " "), "share", None)
    return MetricInfo(m.replace("_", " "), "count", None)


_UNIT_NOTE = {"share": "%", "duration": "s", "hours": "h", "money": "", "count": "", "ratio": "×"}


def metric_label(metric: str, unit: bool = False, better: bool = False) -> str:
    """People's label of a metric, optionally with its unit and the better direction."""
    info = metric_info(metric)
    text = info.label
    if unit and _UNIT_NOTE.get(info.kind):
        text += f" ({_UNIT_NOTE[info.kind]})"
    if better and info.better:
        text += f" — {info.better} is better"
    return text


def _isnan(x: object) -> bool:
    try:
        return x is None or math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _money_decimals(value: float) -> int:
    return 0 if abs(value) >= 1000 else 2


def _minus(text: str) -> str:
    return text.replace("-", "−")


def format_value(value: float, kind: str, signed: bool = False) -> str:
    """One number in its unit: 82.3%, 41.2s, 1,234, 12,345 (money), 310.5 h. ``signed`` gives a
    difference: shares in percentage points (+2.1 pp), every value with its sign. NaN gives "–"."""
    if _isnan(value):
        return "–"
    v = float(value)
    s = "+" if signed else ""
    if kind == "share":
        out = f"{v * 100:{s},.1f} pp" if signed else f"{v:.1%}"
    elif kind in ("duration", "seconds"):
        out = f"{v:{s},.1f}s"
    elif kind == "hours":
        out = f"{v:{s},.1f} h"
    elif kind == "money":
        out = f"{v:{s},.{_money_decimals(v)}f}"
    else:
        out = f"{v:{s},.1f}" if abs(v) >= 1 or v == 0 else f"{v:{s}.3g}"
    return _minus(out)


def format_estimate(mean: float, half_width: float, kind: str) -> str:
    """``mean ± half-width`` in the metric's unit (NaN half-width: the mean alone)."""
    if _isnan(mean):
        return "–"
    if kind in ("share", "duration", "seconds", "count"):
        return _minus(fmt(float(mean), math.nan if _isnan(half_width) else float(half_width), kind))
    main = format_value(mean, kind)
    if _isnan(half_width):
        return main
    hw = float(half_width)
    if kind == "money":
        return f"{main} ± {hw:,.{_money_decimals(float(mean))}f}"
    return f"{main} ± {hw:,.1f}"


def format_difference(diff: float, low: float, high: float, kind: str) -> tuple[str, str]:
    """(signed difference, its interval as "low to high") in the metric's unit."""
    d = format_value(diff, kind, signed=True)
    if _isnan(low) or _isnan(high):
        return d, "–"
    return d, f"{format_value(low, kind, signed=True)} to {format_value(high, kind, signed=True)}"


def format_p(p: float) -> str:
    """A p-value: "< 0.001", "0.042", "1.000"; NaN gives "–"."""
    if _isnan(p):
        return "–"
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


# ---------------------------------------------------------------------------------------------
# HTML pieces
# ---------------------------------------------------------------------------------------------


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; background: #fff; margin: 0; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.5rem 3rem; }
h1 { font-size: 1.7rem; margin: 0 0 .6rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 2px solid #d0d7de; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-size: .92rem; }
th, td { border: 1px solid #d0d7de; padding: .3rem .6rem; vertical-align: top; }
th { background: #f6f8fa; text-align: left; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.meta th { background: none; border: none; padding: .1rem 1rem .1rem 0; color: #57606a; font-weight: 500; }
table.meta td { border: none; padding: .1rem 0; }
tr.chosen td, tr.chosen th { background: #eaf5ea; font-weight: 600; }
tr.front th { color: #0b4a8b; }
td.bad { color: #a40e26; }
td.sig-better { background: #e6f0fa; color: #0b4a8b; font-weight: 600; }
td.sig-worse { background: #fbe9e7; color: #a40e26; font-weight: 600; }
td.sig { font-weight: 600; }
.tag { display: inline-block; font-size: .75rem; font-weight: 600; padding: 0 .4rem; border-radius: .6rem;
       margin-left: .35rem; background: #eef1f4; color: #57606a; vertical-align: middle; }
.tag.chosen { background: #1a7f37; color: #fff; }
.verdict { font-size: 1.15rem; margin: .4rem 0; }
.confident { color: #1a7f37; font-weight: 600; }
.unsure { color: #9a6700; font-weight: 600; }
.none { color: #a40e26; font-weight: 600; }
.method { color: #3d444d; max-width: 60rem; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: .9rem; margin-top: .3rem; max-width: 60rem; }
.notes { color: #57606a; font-size: .88rem; max-width: 60rem; }
.notes p { margin: .4rem 0; }
@media print { h2 { break-after: avoid; } figure, table { break-inside: avoid; } }
""".strip()


def _table(header: list[str], rows: list[str], cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    klass = f' class="{cls}"' if cls else ""
    return f"<table{klass}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>"


def _options_in_order(*frames: pd.DataFrame) -> list[str]:
    out: dict[str, None] = {}
    for f in frames:
        if f is not None and "option" in f.columns:
            for o in f["option"].tolist():
                out.setdefault(str(o), None)
    return list(out)


def _baseline(differences: pd.DataFrame) -> str | None:
    if differences is None or differences.empty or "baseline" not in differences.columns:
        return None
    return str(differences["baseline"].iloc[0])


def _objective_metric(summary: pd.DataFrame, selection: Selection) -> str | None:
    """The metric ``selection`` was made on: the summary metric whose means match the comparisons'."""
    comp = selection.comparisons
    if selection.best is None or summary is None or summary.empty or comp is None or comp.empty:
        return None
    target = {str(r.option): float(r.mean) for r in comp.itertuples()}
    target[str(selection.best)] = float(comp["best_mean"].iloc[0])
    s = summary.assign(option=summary["option"].astype(str))
    for metric in dict.fromkeys(s["metric"].tolist()):
        sub = s[s["metric"] == metric].set_index("option")["mean"]
        if all(o in sub.index and math.isclose(float(sub[o]), v, rel_tol=1e-9, abs_tol=1e-12)
               for o, v in target.items()):
            return str(metric)
    return None


def _header(title: str, meta: Mapping[str, object]) -> str:
    rows = "\n".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in meta.items())
    out = f"<header>\n<h1>{_e(title)}</h1>\n"
    if rows:
        out += f'<table class="meta">\n<tbody>\n{rows}\n</tbody>\n</table>\n'
    return out + "</header>"


def _choice(selection: Selection | None, summary: pd.DataFrame) -> str:
    parts = ['<section id="choice">', "<h2>Choice under the objective</h2>"]
    if selection is None:
        return "\n".join([*parts, "<p>No objective was given in the experiment file, so no option is chosen; "
                           "see the comparison and the differences below.</p>", "</section>"])
    level = f"{selection.level * 100:g}%"
    parts.extend(_verdict(selection, level))
    parts.append(f'<p class="method"><strong>Method.</strong> {_e(selection.method)}</p>')
    parts.extend(_comparisons_table(selection, summary))
    parts.extend(_infeasible_list(selection))
    parts.extend(_constraints_table(selection, level))
    parts.append("</section>")
    return "\n".join(parts)


def _verdict(selection: Selection, level: str) -> list[str]:
    """The chosen option (or that there is none) and how confident the choice is."""
    if selection.best is None:
        return ['<p class="verdict"><span class="none">No option is chosen:</span> '
                "none meets every constraint.</p>"]
    if selection.confident:
        conf = (f'<span class="confident">confident</span> — significantly better than every other feasible '
                f"option (joint {_e(level)} level)")
        if len(selection.feasible) == 1:
            conf = '<span class="confident">the only feasible option</span>'
    else:
        conf = ('<span class="unsure">not confident</span> — not significantly better than every other '
                "feasible option")
    out = [f'<p class="verdict">Chosen: <strong>{_e(selection.best)}</strong> · {conf}.</p>']
    if not selection.constraints.empty and not selection.constraints_confident:
        out.append(f"<p>Its sample means meet every constraint, but not every constraint holds at the "
                   f"{_e(level)} one-sided confidence bound (see the table below).</p>")
    return out


def _comparisons_table(selection: Selection, summary: pd.DataFrame) -> list[str]:
    """Heading and table of the chosen option against each other feasible option (none if alone)."""
    comp = selection.comparisons
    if comp is None or comp.empty:
        return []
    metric = _objective_metric(summary, selection)
    kind = metric_info(metric).kind if metric else "count"
    what = _e(metric_label(metric)) if metric else "objective"
    rows = []
    for r in comp.itertuples():
        d, ci = format_difference(r.diff, r.low, r.high, kind)
        rows.append(f"<tr><th>{_e(r.option)}</th><td class=\"num\">{_e(format_value(r.mean, kind))}</td>"
                    f"<td class=\"num\">{_e(d)}</td><td class=\"num\">{_e(ci)}</td>"
                    f"<td class=\"num\">{_e(format_p(r.p_value))}</td>"
                    f"<td>{'yes' if bool(r.better) else 'no'}</td></tr>")
    return [f"<h3>The chosen option against the other feasible options ({what})</h3>",
            _table(["option", f"mean {what}", f"difference from {_e(selection.best)}",
                    "Bonferroni CI", "p-value (adjusted)", f"{_e(selection.best)} significantly better"], rows)]


def _infeasible_list(selection: Selection) -> list[str]:
    """Heading and list of the infeasible options with their reasons (none if every option is feasible)."""
    if not selection.infeasible:
        return []
    items = []
    for opt, reasons in selection.infeasible.items():
        why = "; ".join(_e(r) for r in reasons)
        items.append(f"<li><strong>{_e(opt)}</strong>: {why}</li>")
    return ["<h3>Infeasible options</h3>", "<ul>\n" + "\n".join(items) + "\n</ul>"]


def _constraints_table(selection: Selection, level: str) -> list[str]:
    """Heading and table of every option × constraint: mean and one-sided bound against the bound."""
    cons = selection.constraints
    if cons is None or cons.empty:
        return []
    rows = []
    for r in cons.itertuples():
        kind = metric_info(r.metric).kind
        bound_word = "upper" if r.op == "<=" else "lower"
        chosen = ' class="chosen"' if selection.best is not None and str(r.option) == selection.best else ""
        rows.append(f"<tr{chosen}><th>{_e(r.option)}</th><td>{_e(metric_label(r.metric))} "
                    f"{'≤' if r.op == '<=' else '≥'} {_e(format_value(r.bound, kind))}</td>"
                    f"<td class=\"num{'' if bool(r.holds) else ' bad'}\">{_e(format_value(r.mean, kind))}</td>"
                    f"<td>{'yes' if bool(r.holds) else 'no'}</td>"
                    f"<td class=\"num\">{_e(format_value(r.conf_bound, kind))} ({bound_word})</td>"
                    f"<td>{'yes' if bool(r.confident) else 'no'}</td></tr>")
    return ["<h3>Constraints</h3>",
            _table(["option", "constraint", "mean", "mean meets it", f"one-sided {_e(level)} bound",
                    "bound meets it"], rows)]


def _summary_table(summary: pd.DataFrame, selection: Selection | None, baseline: str | None,
                   level: float = 0.95) -> str:
    parts = ['<section id="options">', "<h2>Options compared</h2>"]
    if summary is None or summary.empty:
        parts.append("<p>No results.</p></section>")
        return "\n".join(parts)
    s = summary.assign(option=summary["option"].astype(str), metric=summary["metric"].astype(str))
    options = list(dict.fromkeys(s["option"].tolist()))
    metrics = list(dict.fromkeys(s["metric"].tolist()))
    cells = {(r.option, r.metric): r for r in s.itertuples()}
    violated = _violations(selection)
    chosen = selection.best if selection is not None else None
    header = ["option"] + [_e(metric_label(m, better=True)) for m in metrics] + ["replications"]
    rows = []
    for opt in options:
        tds, n = _option_cells(opt, metrics, cells, violated)
        klass = ' class="chosen"' if chosen is not None and opt == chosen else ""
        rows.append(f"<tr{klass}><th>{_e(opt)}{_option_tags(opt, selection, baseline)}</th>{''.join(tds)}"
                    f"<td class=\"num\">{n}</td></tr>")
    parts.append(f"<p>Mean across replications ± half-width of the {level * 100:g}% confidence interval (Student t). "
                 "Values in red miss a constraint.</p>")
    parts.append(_table(header, rows))
    parts.append("</section>")
    return "\n".join(parts)


def _violations(selection: Selection | None) -> set[tuple[str, str]]:
    """(option, metric) pairs whose sample mean misses a constraint."""
    if selection is None or selection.constraints is None or selection.constraints.empty:
        return set()
    return {(str(r.option), str(r.metric)) for r in selection.constraints.itertuples() if not bool(r.holds)}


def _option_tags(opt: str, selection: Selection | None, baseline: str | None) -> str:
    """The chosen / baseline / infeasible tags after an option's name."""
    tags = ""
    if selection is not None and selection.best is not None and opt == selection.best:
        tags += '<span class="tag chosen">chosen</span>'
    if baseline is not None and opt == baseline:
        tags += '<span class="tag">baseline</span>'
    if selection is not None and opt in selection.infeasible:
        tags += '<span class="tag">infeasible</span>'
    return tags


def _option_cells(opt: str, metrics: list[str], cells: Mapping[tuple[str, str], tuple[object, ...]],
                  violated: set[tuple[str, str]]) -> tuple[list[str], str]:
    """An option's estimate cells, one per metric (red where a constraint is missed), and its
    number of replications (the largest n of its metrics; "–" if none)."""
    tds = []
    ns = []
    for m in metrics:
        r = cells.get((opt, m))
        if r is None:
            tds.append('<td class="num">–</td>')
            continue
        n, mean, half_width = r.n, r.mean, r.half_width  # type: ignore[attr-defined]
        if not _isnan(n):
            ns.append(int(n))
        bad = " bad" if (opt, m) in violated else ""
        tds.append(f'<td class="num{bad}">{_e(format_estimate(mean, half_width, metric_info(m).kind))}</td>')
    return tds, str(max(ns)) if ns else "–"


def _differences_table(differences: pd.DataFrame) -> str:
    parts = ['<section id="differences">', "<h2>Differences from the baseline</h2>"]
    if differences is None or differences.empty:
        parts.append("<p>There is no option other than the baseline to compare.</p></section>")
        return "\n".join(parts)
    base = _baseline(differences)
    parts.append(f"<p>Each option minus the baseline <strong>{_e(base)}</strong>, paired replication by "
                 "replication. The interval is Bonferroni-corrected over the options compared on each metric; "
                 "a difference is significant when it excludes zero. Shares differ in percentage points (pp).</p>")
    rows = []
    for r in differences.itertuples():
        info = metric_info(r.metric)
        d, ci = format_difference(r.diff, r.low, r.high, info.kind)
        sig = bool(r.significant)
        if sig and info.better is not None and not _isnan(r.diff) and float(r.diff) != 0:
            good = (float(r.diff) < 0) == (info.better == "lower")
            verdict, cls = ("yes, better", "sig-better") if good else ("yes, worse", "sig-worse")
        elif sig:
            verdict, cls = "yes", "sig"
        else:
            verdict, cls = "no", ""
        klass = f' class="{cls}"' if cls else ""
        rows.append(f"<tr><td>{_e(info.label)}</td><th>{_e(r.option)}</th>"
                    f"<td class=\"num\">{_e(format_value(r.baseline_mean, info.kind))}</td>"
                    f"<td class=\"num\">{_e(format_value(r.option_mean, info.kind))}</td>"
                    f"<td class=\"num\">{_e(d)}</td><td class=\"num\">{_e(ci)}</td>"
                    f"<td class=\"num\">{_e(_level_text(r.level))}</td>"
                    f"<td class=\"num\">{_e(format_p(r.p_value))}</td><td{klass}>{verdict}</td></tr>")
    parts.append(_table(["metric", "option", "baseline mean", "option mean", "difference", "confidence interval",
                         "CI level", "p-value (Bonferroni)", "significant"], rows))
    parts.append("</section>")
    return "\n".join(parts)


def _level_text(level: float) -> str:
    return "–" if _isnan(level) else f"{float(level) * 100:.4g}%"


def _pareto_section(pareto: pd.DataFrame | None) -> str:
    if pareto is None or pareto.empty or "pareto" not in pareto.columns:
        return ""
    axes = [c for c in pareto.columns if c not in ("option", "pareto")][:2]
    parts = ['<section id="pareto">', "<h2>Trade-off (Pareto front)</h2>"]
    front = pareto[pareto["pareto"].astype(bool)]
    names = ", ".join(f"<strong>{_e(o)}</strong>" for o in front["option"].tolist()) or "none"
    if len(axes) == 2:
        parts.append(f"<p>On the front of {_e(metric_label(axes[0]))} against {_e(metric_label(axes[1]))}: "
                     f"{names}: no other option beats any of them on both.</p>")
    else:
        parts.append(f"<p>On the front: {names}.</p>")
    rows = []
    for row in pareto.to_dict("records"):
        tds = "".join(f'<td class="num">{_e(format_value(row[a], metric_info(a).kind))}</td>' for a in axes)
        on = bool(row["pareto"])
        klass = ' class="front"' if on else ""
        rows.append(f"<tr{klass}><th>{_e(row['option'])}</th>{tds}<td>{'yes' if on else 'no'}</td></tr>")
    parts.append(_table(["option"] + [_e(metric_label(a)) for a in axes] + ["on the front"], rows))
    parts.append("</section>")
    return "\n".join(parts)


_CAPTIONS = {
    "comparison": "Each option's mean with its confidence interval (level as in the tables), one panel per metric.",
    "differences": "Each option's paired difference from the baseline with its Bonferroni-corrected interval; "
                   "filled markers are significant (the interval misses zero).",
    "pareto": "Options by the two objectives; the Pareto front (options no other beats on both) is connected.",
}


def _figures(figures: Mapping[str, bytes]) -> str:
    parts = ['<section id="figures">', "<h2>Figures</h2>"]
    if not figures:
        parts.append("<p>No figures.</p>")
    for name, png in figures.items():
        stem = Path(str(name)).stem
        caption = _CAPTIONS.get(stem, stem.replace("_", " "))
        data = base64.b64encode(bytes(png)).decode("ascii")
        parts.append(f'<figure id="figure-{_e(stem)}">\n<img src="data:image/png;base64,{data}" alt="{_e(stem)}">\n'
                     f"<figcaption>{_e(caption)}</figcaption>\n</figure>")
    parts.append("</section>")
    return "\n".join(parts)


def _notes(differences: pd.DataFrame, selection: Selection | None, level: float = 0.95) -> str:
    k = 0
    family = selection.level if selection is not None else level
    if differences is not None and not differences.empty:
        k = int(differences.groupby(differences["metric"].astype(str), sort=False).size().max())
        each = float(differences["level"].iloc[0])
        if math.isfinite(each):
            family = 1 - (1 - each) * k
    fam = f"{family * 100:.4g}%"
    bonf = (f"With {k} option(s) compared with the baseline on each metric, each interval is at level "
            f"1 − α/{k} and each p-value is multiplied by {k} (capped at 1), so that all intervals of a metric "
            f"hold together with probability at least {fam}.") if k else ""
    return "\n".join([
        '<section id="notes" class="notes">', "<h2>Notes</h2>",
        "<p><strong>Common random numbers.</strong> Every option ran the same replications with the same seeds "
        "and the same named random stream for each source of randomness (arrivals, handle times, patience, "
        "routing), so in replication <em>i</em> all options meet the same customers. Differences are taken "
        "replication by replication (paired-t intervals); this removes the shared noise and gives much "
        "narrower intervals than comparing independent runs.</p>",
        "<p><strong>Bonferroni correction.</strong> Several comparisons made at once are corrected so that "
        f"the whole family holds at the stated level. {_e(bonf)} The choice under the objective compares the "
        "chosen option with each other feasible option the same way (Law, <em>Simulation Modeling and "
        "Analysis</em>, 5th ed., §10.2–10.3 and §11.2).</p>",
        f"<p>Intervals in <em>Options compared</em> are {level * 100:g}% Student-t intervals of each option on its own; "
        "a constraint is met when the sample mean meets its bound.</p>",
        "</section>",
    ])


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def experiment_report(*, title: str, meta: Mapping[str, object], summary: pd.DataFrame,
                      differences: pd.DataFrame, selection: Selection | None, pareto: pd.DataFrame | None,
                      figures: Mapping[str, bytes], level: float = 0.95) -> str:
    """One self-contained HTML document for ``servsim compare``.

    Inputs: ``summary`` long (option, metric, mean, half_width, n); ``differences`` from
    :func:`servsim.stats.compare_to_baseline` concatenated over metrics; ``selection`` from
    :func:`servsim.stats.select_best`; ``pareto`` with ``option``, two metric columns and a boolean
    ``pareto``; ``figures`` name → PNG bytes (names ``comparison``, ``differences``, ``pareto`` get
    captions; order kept). ``meta`` is shown as given (keep timestamps out: the output is
    deterministic). All text is HTML-escaped; no external URL, script or font is referenced.
    """
    baseline = _baseline(differences)
    body = [
        _header(title, meta),
        _choice(selection, summary),
        _summary_table(summary, selection, baseline, level),
        _differences_table(differences),
        _pareto_section(pareto),
        _figures(figures),
        _notes(differences, selection, level),
    ]
    return ("<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n<main>\n"
            + "\n".join(b for b in body if b)
            + "\n</main>\n</body>\n</html>\n")


def write_report(path: str | os.PathLike[str], html: str) -> Path:  # noqa: A002 (the brief's name)
    """Write the report as UTF-8 (atomically: a temporary file renamed into place); returns the path."""
    p = Path(path)
    ensure_dir(p.parent)
    write_text(p, html)
    return p
