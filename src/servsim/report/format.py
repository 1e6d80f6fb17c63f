"""The one formatter: every number servsim shows to people goes through here.

Terminal tables, the HTML report, figure annotations and axes, and messages such as constraint
lines all call these functions, so a value reads the same wherever it appears. How a value is shown
follows its *kind* in the KPI registry (:mod:`servsim.metrics.registry`):

=========  ==========================  ==================  ========================
kind       value                       difference          mean ± half-width
=========  ==========================  ==================  ========================
share      ``84.1%``                   ``+3.1 pp``         ``84.1% ± 2.4 pp``
duration   ``13.5 s`` / ``2.7 min`` /  ``−4.2 s``          ``20.6 ± 1.3 h``
           ``20.6 h``
hours      as duration (``170.1 h``)   ``−2.7 min``        ``170.1 ± 0.04 h``
money      ``4,526 EUR``, ``3.40 EUR``  ``+275 EUR``        ``4,526 ± 3 EUR``
count      ``1,421``, ``8.7``          ``−178``            ``1,421 ± 94``
ratio      ``0.82×``                   ``+0.05×``          ``0.82× ± 0.03×``
=========  ==========================  ==================  ========================

Conventions, the same everywhere:

* **Shares** are percentages of a whole; a *difference* of shares, and the half-width of a share,
  is in **percentage points** (pp): 84.1% − 81.0% = +3.1 pp, never "+3.1%".
* **Durations** (kind ``duration``, in seconds, and ``hours``, in hours) are shown in the unit that
  fits the value: seconds below 2 minutes, minutes below 2 hours, hours above. A value and its
  half-width (or an interval's two ends) always share one unit, chosen from the larger of them.
* A **unit** is written once, after the last number of an expression ("20.6 ± 1.3 h",
  "−1.2 to +3.4 pp"), except ``%`` and ``×``, which belong to each number they follow.
* **Money** carries the scenario's currency code after the number ("4,526 EUR"), and none when
  no currency is known.
* **Counts** are means of counts over replications, so they may have decimals.
* Thousands are separated by commas (12,345).
* Decimals: one for shares and durations, two for ratios; counts none from 100 up, money none
  from 10 up (both none for whole numbers), else one and two. The numbers of one expression
  share their decimals; a small half-width that would round to 0 gets one more (170.1 ± 0.04 h).
* A signed number (a difference) starts with ``+`` or ``−`` (U+2212); zero has no sign.
* Not a number (NaN, None) is shown as ``–`` (an en dash).

Labels come from the registry too: :func:`label` gives a KPI's label for people, optionally its
``short`` form for narrow tables and its unit ("ASA (s)", "service level (%)", "total cost (EUR)").
Names the registry does not know are read by their suffix (``*_s`` durations, ``*rate`` shares,
``*cost*`` money, see :func:`info`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from servsim.metrics.registry import REGISTRY, resolve

if TYPE_CHECKING:
    from matplotlib.ticker import FuncFormatter, Locator

__all__ = [
    "NAN", "MINUS", "MetricInfo", "info", "kind_of", "label", "unit_text", "duration_unit", "value", "estimate",
    "difference", "interval", "p_value", "confidence", "constraint", "violation", "parameter", "axis_unit",
    "axis_formatter", "axis_locator",
]

#: How a missing value (NaN, None) is shown.
NAN = "–"
#: The minus sign of every negative number shown (U+2212, as wide as "+").
MINUS = "−"

#: Seconds per duration unit, smallest first; a duration is shown in the largest unit it reaches
#: twice (2 min, 2 h): 119 s stays "119.0 s", 120 s becomes "2.0 min".
_DURATION_UNITS: tuple[tuple[str, float], ...] = (("s", 1.0), ("min", 60.0), ("h", 3600.0))
_SWITCH_AT = 2.0
#: Seconds per stored unit of each time kind.
_STORED = {"duration": 1.0, "hours": 3600.0}
#: Older spellings of kinds that callers may still pass.
_ALIASES = {"seconds": "duration"}


# ---------------------------------------------------------------------------------------------
# Metrics: label, kind and direction
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricInfo:
    """How to show a metric: ``label`` for people, ``short`` for narrow tables (the label when the
    registry gives none), the unit ``kind`` (count, share, duration, hours, money, ratio) and which
    direction is ``better`` ("lower", "higher", or None when it depends)."""

    label: str
    kind: str
    better: str | None
    short: str = ""

    def __post_init__(self) -> None:
        if not self.short:
            object.__setattr__(self, "short", self.label)


_SEPARATORS = ("_", ".", ":", "/", "@", " ", "-")


def _qualified(m: str) -> MetricInfo | None:
    """A registry name qualified by a channel, segment or pool before or after it
    (``service_level_phone``, ``phone:asa_s``, ``pool:clerks occupancy``): the known unit, with the
    qualifier in the label. Longest names first, so ``abandon_rate_waited`` wins over ``abandon_rate``."""
    for known in sorted(REGISTRY, key=lambda k: (-len(k), k)):
        entry = REGISTRY[known]
        for sep in _SEPARATORS:
            if m.startswith(known + sep) and len(m) > len(known) + 1:
                rest = m[len(known) + 1:]
                return MetricInfo(f"{entry.label}, {rest}", entry.kind, entry.better, f"{entry.short_label}, {rest}")
            if m.endswith(sep + known) and len(m) > len(known) + 1:
                qualifier = m[:-len(known) - 1]
                if known == "occupancy" and qualifier.startswith("pool") and len(qualifier) > 5:
                    pool = qualifier[5:].strip("_.:/@ ")
                    return MetricInfo(f"occupancy {pool}", entry.kind, entry.better, f"occ. {pool}")
                return MetricInfo(f"{entry.label}, {qualifier}", entry.kind, entry.better,
                                  f"{entry.short_label}, {qualifier}")
    return None


def info(metric: str) -> MetricInfo:
    """Label, short label, unit kind and better direction of a KPI column name.

    Names and patterns (``occupancy_<pool>``) come from :mod:`servsim.metrics.registry`; a registry
    name qualified by a channel, segment or pool keeps its unit with the qualifier in the label.
    Unknown names (e.g. a user's column): ``*cost*`` are money, ``*_s`` durations, ``*_hours`` /
    ``*_h`` hours, ``*rate`` / ``*share`` / ``*level`` shares, anything else a plain count.
    """
    m = str(metric)
    entry = resolve(m)
    if entry is not None:
        return MetricInfo(entry.label, entry.kind, entry.better, entry.short_label)
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


def kind_of(metric: str) -> str:
    """The unit kind of a metric (see :func:`info`)."""
    return info(metric).kind


def unit_text(kind: str, *, signed: bool = False, currency: str | None = None, scale: str | None = None) -> str:
    """The unit a label names for a kind: ``%`` for shares (``pp`` when ``signed``: differences),
    ``s``/``min``/``h`` for durations and hours (``scale`` when given: the unit an axis or a
    column is drawn in; else the stored unit), the currency for money, ``×`` for ratios, and
    nothing for counts or money without a currency."""
    k = _kind(kind)
    if k == "share":
        return "pp" if signed else "%"
    if k in _STORED:
        return scale or ("s" if k == "duration" else "h")
    if k == "money":
        return currency or ""
    if k == "ratio":
        return "×"
    return ""


def label(metric: str, unit: bool = False, *, short: bool = False, better: bool = False, signed: bool = False,
          currency: str | None = None, scale: str | None = None) -> str:
    """People's label of a metric: its registry entry's ``label`` (or a qualified or guessed one).

    ``short`` gives the registry's short form for narrow tables ("ASA"); ``unit`` appends the unit
    in brackets as :func:`unit_text` names it (``signed`` for a difference, ``currency`` for money,
    ``scale`` for the duration unit of an axis): "service level (%)", "total cost (EUR)",
    "ASA (min)"; ``better`` appends "— lower is better" where the metric has a direction.
    """
    i = info(metric)
    text = i.short if short else i.label
    u = unit_text(i.kind, signed=signed, currency=currency, scale=scale) if unit else ""
    if u and text.endswith(")"):  # "ASA (mean wait, answered; s)", not "... answered) (s)"
        inner = text[text.rindex("(") + 1:-1]
        if not (u == "%" and "%" in inner) and u not in inner.replace(",", " ").split():
            text = f"{text[:-1]}; {u})"
    elif u:
        text += f" ({u})"
    if better and i.better:
        text += f" — {i.better} is better"
    return text


# ---------------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------------


def _kind(kind: str | None) -> str:
    k = str(kind) if kind is not None else "count"
    return _ALIASES.get(k, k)


def _missing(x: object) -> bool:
    try:
        return x is None or math.isnan(float(x))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def duration_unit(seconds: float) -> str:
    """The unit a duration of ``seconds`` reads best in: "s" below 2 minutes, "min" below 2 hours,
    "h" from there on (by magnitude; NaN gives "s")."""
    size = abs(float(seconds)) if not _missing(seconds) else 0.0
    chosen = _DURATION_UNITS[0][0]
    for name, per in _DURATION_UNITS:
        if size >= _SWITCH_AT * per or per == 1.0:
            chosen = name
    return chosen


def _per(unit_name: str) -> float:
    return dict(_DURATION_UNITS)[unit_name]


def _scale(kind: str, reference: float, scale: str | None = None) -> tuple[float, str]:
    """(factor to multiply stored values by, unit text) for ``kind``: for durations and hours the
    unit ``scale``, or else the one that fits ``reference`` (a stored value); (1, "") for other kinds."""
    if kind not in _STORED:
        return 1.0, ""
    u = scale or duration_unit(reference * _STORED[kind])
    return _STORED[kind] / _per(u), u


def _places(kind: str, *numbers: float) -> int:
    """Decimals shared by the numbers of one expression (in their display unit), from the largest:
    money none from 10 up, counts none from 100 up (either none when every number is whole), else
    two for money and one for counts; two for ratios; one for shares and durations."""
    ref = max(abs(x) for x in numbers)
    whole = all(float(x).is_integer() for x in numbers)
    if kind == "money":
        return 0 if ref >= 10 or whole else 2
    if kind == "count":
        return 0 if ref >= 100 or whole else 1
    if kind == "ratio":
        return 2
    return 1


def _decimals(x: float, base: int) -> int:
    """``base`` decimals, or one more when that keeps a small value that is not zero from showing
    as 0 (170.1 ± 0.04 h); a value smaller still shows as 0 at ``base``."""
    if x != 0 and round(abs(x), base) == 0 and round(abs(x), base + 1) != 0:
        return base + 1
    return base


def _number(x: float, decimals: int, signed: bool = False) -> str:
    """``x`` with thousands separators and ``decimals`` decimals; a sign when ``signed`` (none on
    zero); negatives with U+2212."""
    text = f"{abs(x):,.{decimals}f}"
    zero = float(text.replace(",", "")) == 0
    if zero:
        return text
    if x < 0:
        return MINUS + text
    return ("+" if signed else "") + text


def _glued(kind: str) -> str:
    """The suffix that belongs to each number of ``kind`` (% and ×), else ''."""
    return {"share": "%", "ratio": "×"}.get(kind, "")


def _trailing(kind: str, signed: bool, currency: str | None, scaled: str) -> str:
    """The unit written once after the last number of an expression, with its leading space."""
    if kind == "share":
        return " pp" if signed else ""
    if kind in _STORED:
        return f" {scaled}"
    if kind == "money" and currency:
        return f" {currency}"
    return ""


def _display(x: float, kind: str, factor: float) -> float:
    """A stored value in the unit it is shown in: shares ×100, durations in their chosen unit."""
    if kind == "share":
        return x * 100
    return x * factor


def value(x: float | None, kind: str, currency: str | None = None, *, signed: bool = False,
          scale: str | None = None) -> str:
    """One number in its unit: "82.3%", "41.2 s", "2.7 min", "20.6 h", "1,234", "4,526 EUR",
    "0.82×". ``signed`` shows a difference: a sign, and shares in percentage points ("+2.1 pp").
    ``scale`` ("s", "min" or "h") fixes the unit of a duration, e.g. to match the other cells of a
    figure. NaN or None gives "–"."""
    if _missing(x):
        return NAN
    k = _kind(kind)
    v = float(x)  # type: ignore[arg-type]
    factor, scaled = _scale(k, v, scale)
    shown = _display(v, k, factor)
    d = _decimals(shown, _places(k, shown))
    glue = "" if (k == "share" and signed) else _glued(k)
    return _number(shown, d, signed) + glue + _trailing(k, signed, currency, scaled)


def estimate(mean: float | None, half_width: float | None, kind: str, currency: str | None = None, *,
             signed: bool = False, scale: str | None = None) -> str:
    """A mean with the half-width of its confidence interval, in one unit: "84.1% ± 2.4 pp",
    "20.6 ± 1.3 h", "4,526 ± 3 EUR", "1,421 ± 94". The duration unit and the decimals follow the
    larger of the two numbers, so both read alike (a mean near zero is as large as its interval:
    "−1.6 ± 4.9 min", not "−99.0 ± 294.9 s"); a NaN half-width gives the mean alone (as
    :func:`value`), a NaN mean "–". ``signed`` shows a difference ("+3.1 ± 4.9 pp"); ``scale``
    fixes the duration unit as in :func:`value`."""
    if _missing(mean):
        return NAN
    if _missing(half_width):
        return value(mean, kind, currency, signed=signed, scale=scale)
    k = _kind(kind)
    m, hw = float(mean), abs(float(half_width))  # type: ignore[arg-type]
    factor, scaled = _scale(k, max(abs(m), hw), scale)
    sm, sh = _display(m, k, factor), _display(hw, k, factor)
    base = _places(k, sm, sh)
    glue = "" if (k == "share" and signed) else _glued(k)
    hw_glue = "" if k == "share" else _glued(k)
    hw_unit = " pp" if (k == "share" and not signed) else ""
    main = _number(sm, _decimals(sm, base), signed) + glue
    spread = _number(sh, _decimals(sh, base)) + hw_glue + hw_unit
    return f"{main} ± {spread}" + _trailing(k, signed, currency, scaled)


def difference(diff: float | None, kind: str, currency: str | None = None, *,
               half_width: float | None = None, scale: str | None = None) -> str:
    """A difference (option minus baseline) in its unit, signed; shares in percentage points:
    "+3.1 pp", "−2.7 min", "+275 EUR"; with ``half_width``, "+3.1 ± 4.9 pp"."""
    return estimate(diff, half_width, kind, currency, signed=True, scale=scale)


def interval(low: float | None, high: float | None, kind: str, currency: str | None = None, *,
             signed: bool = False, scale: str | None = None) -> str:
    """A confidence interval "low to high" in one unit (for durations the one that fits the larger
    end): "80.1% to 85.3%", "12.0 to 15.5 s"; ``signed`` for an interval of a difference
    ("−1.2 to +3.4 pp", "−12 to +40 EUR"). An end that is NaN gives "–"."""
    if _missing(low) or _missing(high):
        return NAN
    k = _kind(kind)
    lo, hi = float(low), float(high)  # type: ignore[arg-type]
    ref = max(abs(lo), abs(hi))
    factor, scaled = _scale(k, ref, scale)
    slo, shi = _display(lo, k, factor), _display(hi, k, factor)
    base = _places(k, slo, shi)
    d = max(_decimals(slo, base), _decimals(shi, base))
    glue = "" if (k == "share" and signed) else _glued(k)
    return (f"{_number(slo, d, signed)}{glue} to {_number(shi, d, signed)}{glue}"
            + _trailing(k, signed, currency, scaled))


def p_value(p: float | None) -> str:
    """A p-value: "< 0.001", "0.042", "1.000"; NaN gives "–"."""
    if _missing(p):
        return NAN
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"  # type: ignore[arg-type]


def constraint(metric: str, op: str, bound: float, currency: str | None = None, *, short: bool = False) -> str:
    """A bound on a metric for people: "service level ≥ 80.0%", "ASA ≤ 20.0 s" (``op`` is "<=" or
    ">=", ``bound`` in the metric's stored unit)."""
    return f"{label(metric, short=short)} {'≤' if op == '<=' else '≥'} {value(bound, kind_of(metric), currency)}"


def violation(metric: str, mean: float, op: str, bound: float, currency: str | None = None) -> str:
    """Why a mean misses a bound: "service level 76.2%, needs ≥ 80.0%" ("has no value" for NaN)."""
    k = kind_of(metric)
    if _missing(mean):
        return f"{label(metric)} has no value (needs {'≤' if op == '<=' else '≥'} {value(bound, k, currency)})"
    return f"{label(metric)} {value(mean, k, currency)}, needs {'≤' if op == '<=' else '≥'} {value(bound, k, currency)}"


def confidence(level: float) -> str:
    """A confidence level: "95%", "97.5%", "98.33%" (never rounded to a level that was not used)."""
    return NAN if _missing(level) else f"{float(level) * 100:.4g}%"


def parameter(x: object) -> str:
    """A sweep parameter value as a person would write it: 12, not 12.0; text as written."""
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


# ---------------------------------------------------------------------------------------------
# Figure axes
# ---------------------------------------------------------------------------------------------


def axis_unit(kind: str, values: Iterable[float]) -> str | None:
    """The unit an axis of durations (or hours) is drawn in, chosen from the largest finite value
    (as :func:`duration_unit`); None for other kinds, whose axes need no scale."""
    k = _kind(kind)
    if k not in _STORED:
        return None
    finite = [abs(float(v)) for v in values if not _missing(v) and math.isfinite(float(v))]
    return duration_unit(max(finite, default=0.0) * _STORED[k])


def _axis_factor(kind: str, scale: str | None) -> float:
    k = _kind(kind)
    if k == "share":
        return 100.0
    if k in _STORED:
        return _STORED[k] / _per(scale or ("s" if k == "duration" else "h"))
    return 1.0


def axis_formatter(kind: str, signed: bool = False, *, scale: str | None = None) -> FuncFormatter:
    """Tick labels of an axis of ``kind``: shares as percentages ("80%"; bare signed percentage
    points when ``signed``), durations and hours in ``scale`` (from :func:`axis_unit`), everything
    with thousands separators, "−" for negatives and no "−0". The unit itself belongs in the axis
    label (:func:`label` with ``unit=True`` and the same ``scale``)."""
    from matplotlib.ticker import FuncFormatter

    k = _kind(kind)
    factor = _axis_factor(k, scale)
    suffix = "%" if (k == "share" and not signed) else ""

    def tick(v: float, _pos: object = None) -> str:
        x = float(v) * factor
        text = f"{abs(x):,.6g}"
        if float(text.replace(",", "")) == 0:
            return "0" + suffix
        sign = MINUS if x < 0 else ("+" if signed else "")
        return sign + text + suffix

    return FuncFormatter(tick)


def axis_locator(kind: str, *, scale: str | None = None, nbins: int = 5) -> Locator:
    """At most about ``nbins`` ticks at round values *in the shown unit* (every 10 min, not every
    500 s), for an axis whose data stay in the stored unit."""
    from matplotlib.ticker import MaxNLocator

    factor = _axis_factor(kind, scale)

    class _Scaled(MaxNLocator):
        def tick_values(self, vmin: float, vmax: float):  # type: ignore[no-untyped-def]
            return super().tick_values(vmin * factor, vmax * factor) / factor

    return _Scaled(nbins=nbins, steps=[1, 2, 2.5, 5, 10])
