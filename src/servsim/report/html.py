"""The self-contained HTML report of ``servsim compare``.

One HTML document, readable offline: inline CSS, figures embedded as ``data:image/png;base64``
URIs, no scripts, fonts or links to anything outside the file. Every piece of text that comes from
the experiment (names, meta values, selection sentences) is escaped with :func:`html.escape`.
The same inputs give the same string byte for byte: nothing depends on the clock, on random ids or
on the order of a set.

Metric names are servsim KPI columns (``service_level``, ``abandon_rate``, ``asa_s``, ``cost``,
``occupancy_<pool>``, ...); their labels, units and every number come from
:mod:`servsim.report.format`, the formatter the terminal tables and figures use too, so a value
reads the same in all three (money in the scenario's currency, differences of shares in pp).
"""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from servsim.atomic import ensure_dir, write_text
from servsim.report import format as fmt
from servsim.stats import Selection, practical_verdict

__all__ = ["experiment_report", "infeasible_reasons", "write_report"]


def infeasible_reasons(selection: Selection, currency: str | None = None) -> dict[str, list[str]]:
    """Option → why it is infeasible, one phrase per constraint its mean misses, with the numbers in
    their units ("service level 76.2%, needs ≥ 80.0%"); the selection's own sentences for an option
    whose constraint rows are missing."""
    cons = selection.constraints
    out: dict[str, list[str]] = {}
    for opt, reasons in selection.infeasible.items():
        rows = cons[(cons["option"].astype(str) == str(opt)) & ~cons["holds"].astype(bool)] \
            if cons is not None and not cons.empty else cons
        if rows is None or rows.empty:
            out[str(opt)] = list(reasons)
            continue
        out[str(opt)] = [fmt.violation(str(r.metric), r.mean, str(r.op), r.bound, currency) for r in rows.itertuples()]
    return out


# ---------------------------------------------------------------------------------------------
# HTML pieces
# ---------------------------------------------------------------------------------------------


def _isnan(x: object) -> bool:
    try:
        return x is None or math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


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
.zone { color: #0b4a8b; font-weight: 600; }
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


def _choice(selection: Selection | None, summary: pd.DataFrame, currency: str | None) -> str:
    parts = ['<section id="choice">', "<h2>Choice under the objective</h2>"]
    if selection is None:
        return "\n".join([*parts, "<p>No objective was given in the experiment file, so no option is chosen; "
                           "see the comparison and the differences below.</p>", "</section>"])
    level = fmt.confidence(selection.level)
    metric = _objective_metric(summary, selection)
    zone = _zone_text(selection.indifference, fmt.kind_of(metric) if metric else "count", currency)
    parts.extend(_verdict(selection, level, zone))
    parts.append(f'<p class="method"><strong>Method.</strong> {_e(selection.method)}</p>')
    parts.extend(_comparisons_table(selection, summary, currency, zone))
    parts.extend(_infeasible_list(selection, currency))
    parts.extend(_constraints_table(selection, level, currency))
    parts.append("</section>")
    return "\n".join(parts)


def _zone_text(delta: float, kind: str, currency: str | None = None) -> str:
    """An indifference zone as the tables show it, on the scale of differences: "±30 min", "±1.0 pp",
    or "none" for δ = 0."""
    if _isnan(delta) or not float(delta):
        return "none"
    return "±" + fmt.difference(float(delta), kind, currency).lstrip("+")


def _verdict(selection: Selection, level: str, zone: str = "none") -> list[str]:
    """The chosen option (or that there is none) and how confident the choice is: confidently best
    (beyond the objective's indifference zone against every other option), within the zone of the
    best, or neither."""
    if selection.best is None:
        return ['<p class="verdict"><span class="none">No option is chosen:</span> '
                "none meets every constraint.</p>"]
    if len(selection.feasible) == 1:
        conf = '<span class="confident">the only feasible option</span>'
    elif not selection.indifference:
        conf = (f'<span class="confident">confident</span> — significantly better than every other feasible '
                f"option (joint {_e(level)} level)" if selection.confident else
                '<span class="unsure">not confident</span> — not significantly better than every other '
                "feasible option")
    elif selection.confident:
        conf = (f'<span class="confident">confidently best</span> — better than every other feasible option by '
                f"more than the indifference zone {_e(zone)} (joint {_e(level)} level)")
    elif selection.within_zone:
        conf = (f'<span class="zone">within the indifference zone of the best</span> — no other feasible option '
                f"is better by more than {_e(zone)} (joint {_e(level)} level), but it does not beat every one "
                "by more than that either")
    else:
        conf = ('<span class="unsure">not confidently best</span> — another feasible option may be better by '
                f"more than the indifference zone {_e(zone)}")
    out = [f'<p class="verdict">Chosen: <strong>{_e(selection.best)}</strong> · {conf}.</p>']
    if not selection.constraints.empty and not selection.constraints_confident:
        out.append(f"<p>Its sample means meet every constraint, but not every constraint holds at the "
                   f"{_e(level)} one-sided confidence bound (see the table below).</p>")
    return out


_AGAINST_BEST = {"better": "better by more than the zone", "equivalent": "practically equivalent",
                 "inconclusive": "inconclusive"}


def _comparisons_table(selection: Selection, summary: pd.DataFrame, currency: str | None,
                       zone: str = "none") -> list[str]:
    """Heading and table of the chosen option against each other feasible option (none if alone),
    with the verdict against the objective's indifference zone."""
    comp = selection.comparisons
    if comp is None or comp.empty:
        return []
    metric = _objective_metric(summary, selection)
    kind = fmt.kind_of(metric) if metric else "count"
    what = _e(fmt.label(metric)) if metric else "objective"
    rows = []
    for r in comp.itertuples():
        d, ci = fmt.difference(r.diff, kind, currency), fmt.interval(r.low, r.high, kind, currency, signed=True)
        practical = getattr(r, "practical", "better" if bool(r.better) else "inconclusive")
        verdict = _AGAINST_BEST.get(str(practical), str(practical))
        if not bool(getattr(r, "within_zone", True)):
            verdict += f" ({_e(r.option)} may be better by more than the zone)"
        cls = ' class="sig-better"' if practical == "better" else ""
        rows.append(f"<tr><th>{_e(r.option)}</th><td class=\"num\">{_e(fmt.value(r.mean, kind, currency))}</td>"
                    f"<td class=\"num\">{_e(d)}</td><td class=\"num\">{_e(ci)}</td>"
                    f"<td class=\"num\">{_e(fmt.p_value(r.p_value))}</td><td{cls}>{_e(verdict)}</td></tr>")
    return [f"<h3>The chosen option against the other feasible options ({what}; indifference zone "
            f"{_e(zone)})</h3>",
            _table(["option", f"mean {what}", f"difference from {_e(selection.best)}",
                    "Bonferroni CI", "p-value (adjusted)", f"{_e(selection.best)} is"], rows)]


def _infeasible_list(selection: Selection, currency: str | None) -> list[str]:
    """Heading and list of the infeasible options with their reasons (none if every option is feasible)."""
    if not selection.infeasible:
        return []
    items = []
    for opt, reasons in infeasible_reasons(selection, currency).items():
        why = "; ".join(_e(r) for r in reasons)
        items.append(f"<li><strong>{_e(opt)}</strong>: {why}</li>")
    return ["<h3>Infeasible options</h3>", "<ul>\n" + "\n".join(items) + "\n</ul>"]


def _constraints_table(selection: Selection, level: str, currency: str | None) -> list[str]:
    """Heading and table of every option × constraint: mean and one-sided bound against the bound."""
    cons = selection.constraints
    if cons is None or cons.empty:
        return []
    rows = []
    for r in cons.itertuples():
        kind = fmt.kind_of(r.metric)
        bound_word = "upper" if r.op == "<=" else "lower"
        chosen = ' class="chosen"' if selection.best is not None and str(r.option) == selection.best else ""
        rows.append(f"<tr{chosen}><th>{_e(r.option)}</th>"
                    f"<td>{_e(fmt.constraint(r.metric, r.op, r.bound, currency))}</td>"
                    f"<td class=\"num{'' if bool(r.holds) else ' bad'}\">{_e(fmt.value(r.mean, kind, currency))}</td>"
                    f"<td>{'yes' if bool(r.holds) else 'no'}</td>"
                    f"<td class=\"num\">{_e(fmt.value(r.conf_bound, kind, currency))} ({bound_word})</td>"
                    f"<td>{'yes' if bool(r.confident) else 'no'}</td></tr>")
    return ["<h3>Constraints</h3>",
            _table(["option", "constraint", "mean", "mean meets it", f"one-sided {_e(level)} bound",
                    "bound meets it"], rows)]


def _summary_table(summary: pd.DataFrame, selection: Selection | None, baseline: str | None,
                   level: float = 0.95, currency: str | None = None) -> str:
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
    header = ["option"] + [_e(fmt.label(m, better=True)) for m in metrics] + ["replications"]
    rows = []
    for opt in options:
        tds, n = _option_cells(opt, metrics, cells, violated, currency)
        klass = ' class="chosen"' if chosen is not None and opt == chosen else ""
        rows.append(f"<tr{klass}><th>{_e(opt)}{_option_tags(opt, selection, baseline)}</th>{''.join(tds)}"
                    f"<td class=\"num\">{n}</td></tr>")
    parts.append(f"<p>Mean across replications ± half-width of the {fmt.confidence(level)} confidence interval "
                 "(Student t). Values in red miss a constraint.</p>")
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
                  violated: set[tuple[str, str]], currency: str | None = None) -> tuple[list[str], str]:
    """An option's estimate cells, one per metric (red where a constraint is missed), and its
    number of replications (the largest n of its metrics; "–" if none)."""
    tds = []
    ns = []
    for m in metrics:
        r = cells.get((opt, m))
        if r is None:
            tds.append(f'<td class="num">{fmt.NAN}</td>')
            continue
        n, mean, half_width = r.n, r.mean, r.half_width  # type: ignore[attr-defined]
        if not _isnan(n):
            ns.append(int(n))
        bad = " bad" if (opt, m) in violated else ""
        tds.append(f'<td class="num{bad}">{_e(fmt.estimate(mean, half_width, fmt.kind_of(m), currency))}</td>')
    return tds, str(max(ns)) if ns else fmt.NAN


def _differences_table(differences: pd.DataFrame, currency: str | None = None) -> str:
    parts = ['<section id="differences">', "<h2>Differences from the baseline</h2>"]
    if differences is None or differences.empty:
        parts.append("<p>There is no option other than the baseline to compare.</p></section>")
        return "\n".join(parts)
    base = _baseline(differences)
    parts.append(f"<p>Each option minus the baseline <strong>{_e(base)}</strong>, paired replication by "
                 "replication. The interval is Bonferroni-corrected over the options compared on each metric; "
                 "a difference is significant when it excludes zero (adjusted p-value below α). Whether it matters "
                 "is read against the metric's indifference zone ±δ, the smallest difference that matters: "
                 "<em>better</em> or "
                 "<em>worse</em> (<em>higher</em> or <em>lower</em> for a metric without a better direction) when the "
                 "whole interval lies beyond the zone, <em>practically equivalent</em> when it lies inside it, "
                 "<em>inconclusive</em> otherwise (see the notes). Shares differ in percentage points (pp).</p>")
    rows = []
    for r in differences.itertuples():
        info = fmt.info(r.metric)
        d = fmt.difference(r.diff, info.kind, currency)
        ci = fmt.interval(r.low, r.high, info.kind, currency, signed=True)
        delta = float(getattr(r, "indifference", 0.0))
        practical = str(getattr(r, "practical", None) or practical_verdict(r.low, r.high, delta))
        if practical in ("higher", "lower") and info.better is not None:  # a direction the registry knows
            practical = "better" if practical == info.better else "worse"
        cls = _VERDICT_CLASS.get(practical, "")
        klass = f' class="{cls}"' if cls else ""
        rows.append(f"<tr><td>{_e(info.label)}</td><th>{_e(r.option)}</th>"
                    f"<td class=\"num\">{_e(fmt.value(r.baseline_mean, info.kind, currency))}</td>"
                    f"<td class=\"num\">{_e(fmt.value(r.option_mean, info.kind, currency))}</td>"
                    f"<td class=\"num\">{_e(d)}</td><td class=\"num\">{_e(ci)}</td>"
                    f"<td class=\"num\">{_e(fmt.confidence(r.level))}</td>"
                    f"<td class=\"num\">{_e(fmt.p_value(r.p_value))}</td>"
                    f"<td class=\"num\">{_e(_zone_text(delta, info.kind, currency))}</td>"
                    f"<td{klass}>{_e(_VERDICT_WORDS.get(practical, practical))}</td></tr>")
    parts.append(_table(["metric", "option", "baseline mean", "option mean", "difference", "confidence interval",
                         "CI level", "p-value (Bonferroni)", "indifference zone", "verdict"], rows))
    parts.append("</section>")
    return "\n".join(parts)


_VERDICT_WORDS = {"equivalent": "practically equivalent"}
_VERDICT_CLASS = {"better": "sig-better", "worse": "sig-worse", "higher": "sig", "lower": "sig"}


def _pareto_section(pareto: pd.DataFrame | None, currency: str | None = None) -> str:
    if pareto is None or pareto.empty or "pareto" not in pareto.columns:
        return ""
    axes = [c for c in pareto.columns if c not in ("option", "pareto")][:2]
    parts = ['<section id="pareto">', "<h2>Trade-off (Pareto front)</h2>"]
    front = pareto[pareto["pareto"].astype(bool)]
    names = ", ".join(f"<strong>{_e(o)}</strong>" for o in front["option"].tolist()) or "none"
    if len(axes) == 2:
        parts.append(f"<p>On the front of {_e(fmt.label(axes[0]))} against {_e(fmt.label(axes[1]))}: "
                     f"{names}: no other option beats any of them on both.</p>")
    else:
        parts.append(f"<p>On the front: {names}.</p>")
    rows = []
    for row in pareto.to_dict("records"):
        tds = "".join(f'<td class="num">{_e(fmt.value(row[a], fmt.kind_of(a), currency))}</td>' for a in axes)
        on = bool(row["pareto"])
        klass = ' class="front"' if on else ""
        rows.append(f"<tr{klass}><th>{_e(row['option'])}</th>{tds}<td>{'yes' if on else 'no'}</td></tr>")
    parts.append(_table(["option"] + [_e(fmt.label(a)) for a in axes] + ["on the front"], rows))
    parts.append("</section>")
    return "\n".join(parts)


_CAPTIONS = {
    "comparison": "Each option's mean with its confidence interval (level as in the tables), one panel per metric.",
    "differences": "Each option's paired difference from the baseline with its Bonferroni-corrected interval; "
                   "filled markers are significant (the interval misses zero).",
    "pareto": "Options by the two objectives; the Pareto front (options no other beats on both) is connected.",
    "day": "Each option interval by interval against the baseline (dark; grey band: its confidence interval), "
           "with the service-level goal and the abandonment ceiling dashed: where in the day an option helps.",
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


def _zones_note(zones: Mapping[str, str] | None) -> str:
    """The notes' paragraph on indifference zones: the procedure, its references, each metric's zone."""
    rules = "; ".join(f"{_e(fmt.label(m))}: {_e(rule)}" for m, rule in (zones or {}).items())
    return ("<p><strong>Indifference zones.</strong> A difference can be significant and still too small to "
            "matter. Each metric has an indifference zone ±δ, the smallest difference that matters in practice "
            "(set under <code>indifferent:</code> in the experiment file, or the default of the metric's kind; a "
            "zone relative to the baseline's mean is resolved once from it). The same Bonferroni-corrected "
            "interval gives the verdict: beyond the zone (better or worse by more than δ) when it lies wholly "
            "beyond ±δ; <em>practically equivalent</em> when it lies wholly inside ±δ — the two one-sided tests "
            "of equivalence (Schuirmann 1987), here conservative, each at half the interval's α; "
            "<em>inconclusive</em> otherwise (more replications would decide). The choice is <em>confidently "
            "best</em> when it beats every other feasible option by more than δ, and <em>within the indifference "
            "zone of the best</em> when no other option is better by more than δ: the chosen option is then at "
            "most δ worse than the true best, unless an interval missed (probability at most half the stated "
            "α) — the guarantee of "
            "indifference-zone selection (Bechhofer 1954; Kim &amp; Nelson 2006, <em>Handbooks in OR &amp; MS</em> "
            "13, ch. 17), read here from multiple comparisons with the best under common random numbers (Nelson "
            "&amp; Matejcik 1995) with the replications given rather than chosen by a sequential procedure."
            + (f" Zones: {rules}." if rules else "") + "</p>")


def _notes(differences: pd.DataFrame, selection: Selection | None, level: float = 0.95,
           zones: Mapping[str, str] | None = None) -> str:
    k = 0
    family = selection.level if selection is not None else level
    if differences is not None and not differences.empty:
        k = int(differences.groupby(differences["metric"].astype(str), sort=False).size().max())
        each = float(differences["level"].iloc[0])
        if math.isfinite(each):
            family = 1 - (1 - each) * k
    fam = fmt.confidence(family)
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
        _zones_note(zones),
        f"<p>Intervals in <em>Options compared</em> are {fmt.confidence(level)} Student-t intervals of each option "
        "on its own; "
        "a constraint is met when the sample mean meets its bound.</p>",
        "</section>",
    ])


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------


def experiment_report(*, title: str, meta: Mapping[str, object], summary: pd.DataFrame,
                      differences: pd.DataFrame, selection: Selection | None, pareto: pd.DataFrame | None,
                      figures: Mapping[str, bytes], level: float = 0.95, currency: str | None = None,
                      zones: Mapping[str, str] | None = None) -> str:
    """One self-contained HTML document for ``servsim compare``.

    Inputs: ``summary`` long (option, metric, mean, half_width, n); ``differences`` from
    :func:`servsim.stats.compare_to_baseline` concatenated over metrics (with its ``indifference``
    and ``practical`` columns); ``zones`` each metric's indifference zone in words, for the notes
    (:func:`servsim.report.experiment.zone_rules`); ``selection`` from
    :func:`servsim.stats.select_best`; ``pareto`` with ``option``, two metric columns and a boolean
    ``pareto``; ``figures`` name → PNG bytes (names ``comparison``, ``differences``, ``pareto`` get
    captions; order kept). ``meta`` is shown as given (keep timestamps out: the output is
    deterministic). ``currency`` (the scenario's ``economics.currency``) is written after money.
    All text is HTML-escaped; no external URL, script or font is referenced.
    """
    baseline = _baseline(differences)
    body = [
        _header(title, meta),
        _choice(selection, summary, currency),
        _summary_table(summary, selection, baseline, level, currency),
        _differences_table(differences, currency),
        _pareto_section(pareto, currency),
        _figures(figures),
        _notes(differences, selection, level, zones),
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
