"""Statistics across replications, for comparing options and for controlling runs.

Replications are independent and identically distributed, so a KPI's replication means x_1..x_n
give the point estimate x̄ and the Student-t confidence interval

    x̄ ± t_{1−α/2, n−1} · s / √n,     s² = Σ (x_i − x̄)² / (n − 1)

(Law, *Simulation Modeling and Analysis*, 5th ed., §9.4.1). With n = 1 the half-width is undefined
(NaN), never zero.

Comparing options (Law 2015, ch. 10). Every option is run with the same replication seeds and named
random streams (common random numbers, CRN; Law 2015, §11.2), so the KPI of option A in replication
i is positively correlated with that of option B in the same replication. Differences are therefore
taken replication by replication (paired-t, :func:`paired_difference`), whose variance
Var(A) + Var(B) − 2 Cov(A, B) is what CRN reduces; :func:`unpaired_difference` (Welch's t) ignores
the pairing and is there to show how much CRN buys. Several comparisons made at once are
Bonferroni-corrected (:func:`compare_to_baseline`, :func:`select_best`).

Practical significance. A difference can be statistically significant and still too small to
matter (2.7 minutes of paid time in a 170-hour day). Given an indifference zone δ ≥ 0 — the
smallest difference that matters, in the metric's unit (:mod:`servsim.metrics.indifference`) —
:func:`practical_verdict` reads the same Bonferroni-corrected interval [L, U] three ways: beyond
the zone (L > δ or U < −δ: the difference exceeds δ, with confidence), practically equivalent
(−δ < L and U < δ: the two one-sided tests of Schuirmann 1987 both reject "the difference is at
least δ"), or inconclusive (neither; more replications would decide). The indifference zone is
that of ranking-and-selection (Bechhofer 1954; Kim & Nelson 2006); :func:`select_best` uses it
to say whether the chosen option is confidently the best, or within δ of the best.

Controlling runs: :func:`replications_needed` / :func:`precision_reached` implement the relative
precision stopping rule (Law 2015, §9.4.1); :func:`mser5` (White 1997; Franklin & White 2008) and
:func:`welch_moving_average` (Welch 1983; Law 2015, §9.5.1) choose the warm-up of steady-state runs.

References
----------
* A. M. Law (2015). *Simulation Modeling and Analysis*, 5th ed. McGraw-Hill.
* B. L. Welch (1947). The generalization of "Student's" problem when several different population
  variances are involved. *Biometrika* 34, 28–35.
* P. D. Welch (1983). The statistical analysis of simulation results. In S. S. Lavenberg (ed.),
  *The Computer Performance Modeling Handbook*, 268–328. Academic Press.
* R. E. Bechhofer (1954). A single-sample multiple decision procedure for ranking means of normal
  populations with known variances. *Annals of Mathematical Statistics* 25(1), 16–39.
* D. J. Schuirmann (1987). A comparison of the two one-sided tests procedure and the power
  approach for assessing the equivalence of average bioavailability. *Journal of
  Pharmacokinetics and Biopharmaceutics* 15(6), 657–680.
* J. C. Hsu (1996). *Multiple Comparisons: Theory and Methods*. Chapman & Hall.
* B. L. Nelson & F. J. Matejcik (1995). Using common random numbers for indifference-zone selection
  and multiple comparisons in simulation. *Management Science* 41(12), 1935–1945.
* S.-H. Kim & B. L. Nelson (2006). Selecting the best system. In S. G. Henderson & B. L. Nelson
  (eds.), *Handbooks in OR & MS* vol. 13, *Simulation*, ch. 17, 501–534. Elsevier.
* K. P. White Jr. (1997). An effective truncation heuristic for bias reduction in simulation
  output. *Simulation* 69(6), 323–334.
* W. W. Franklin & K. P. White Jr. (2008). Stationarity tests and MSER-5: exploring the intuition
  behind mean-squared-error-reduction in warm-up period determination. *Proceedings of the 2008
  Winter Simulation Conference*, 541–546.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with ``df`` degrees of freedom (scipy's ``stdtrit``, equal to
    ``scipy.stats.t.ppf``; scipy is imported on first use, so ``import servsim`` does without it)."""
    from scipy.special import stdtrit

    return float(stdtrit(df, p))


def t_tail(x: float, df: float) -> float:
    """P(T > x) for Student's t with ``df`` degrees of freedom (``scipy.stats.t.sf``)."""
    from scipy.special import stdtr

    return float(stdtr(df, -x))


#: Anything that converts to a 1-D float array: an array, a Series, a list of numbers.
Values = np.ndarray | pd.Series | Sequence[float]

__all__ = [
    "Interval", "t_interval", "summarise",
    "Difference", "paired_difference", "unpaired_difference", "practical_verdict", "compare_to_baseline",
    "Constraint", "Selection", "select_best", "pareto_front",
    "replications_needed", "precision_reached",
    "MSER", "mser", "mser5", "welch_moving_average",
]


# ---------------------------------------------------------------------------------------------
# Confidence intervals of one KPI
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def t_interval(values: np.ndarray | pd.Series | list[float], level: float = 0.95) -> Interval:
    """Mean and t-based confidence half-width of i.i.d. values (NaNs dropped).

    Method: x̄ ± t_{1−α/2, n−1} · s/√n with α = 1 − ``level`` (Law 2015, §9.4.1). The half-width is
    NaN when n < 2.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(np.nan, np.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, np.nan, n)
    sem = float(x.std(ddof=1)) / np.sqrt(n)
    return Interval(mean, float(t_quantile(0.5 + level / 2, n - 1) * sem), n)


def summarise(table: pd.DataFrame, by: list[str], metrics: list[str], level: float = 0.95) -> pd.DataFrame:
    """Long table of mean, CI half-width and n of each metric across replications, per group ``by``.

    Method: :func:`t_interval` on each group's column (Law 2015, §9.4.1).
    """
    rows = []
    groups = table.groupby(by, observed=True, sort=False) if by else [((), table)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        for m in metrics:
            if m not in sub:
                continue
            ci = t_interval(sub[m].to_numpy(dtype=float), level)
            rows.append({**dict(zip(by, key)), "metric": m, "mean": ci.mean, "half_width": ci.half_width,
                         "n": ci.n})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Differences between two options
# ---------------------------------------------------------------------------------------------


def _check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level must be strictly between 0 and 1, got {level!r}")


def _clean(values: Values) -> np.ndarray:
    x = np.asarray(values, dtype=float).ravel()
    return x[~np.isnan(x)]


@dataclass(frozen=True)
class Difference:
    """A confidence interval and two-sided test for a difference of means μ_a − μ_b.

    ``n`` is the number of pairs (paired-t) or n_a + n_b (Welch); ``df`` the t degrees of freedom;
    ``significant`` is ``p_value < 1 − level``, which is the same as the interval excluding 0.
    Undefined quantities (n too small) are NaN, and then ``significant`` is False.
    """

    mean: float
    half_width: float
    n: int
    low: float
    high: float
    p_value: float
    significant: bool
    level: float
    df: float


def _t_difference(mean: float, se: float, df: float, n: int, level: float) -> Difference:
    """Difference from a point estimate, its standard error and t degrees of freedom."""
    if not (df > 0 and math.isfinite(se)) or math.isnan(mean):
        return Difference(mean, math.nan, n, math.nan, math.nan, math.nan, False, level, df)
    if se == 0.0:  # no variability at all: the difference is known exactly
        p = 1.0 if mean == 0.0 else 0.0
        return Difference(mean, 0.0, n, mean, mean, p, p < 1 - level, level, df)
    hw = float(t_quantile(0.5 + level / 2, df)) * se
    p = float(2 * t_tail(abs(mean) / se, df))
    return Difference(mean, hw, n, mean - hw, mean + hw, p, p < 1 - level, level, df)


def paired_difference(a: Values, b: Values, level: float = 0.95) -> Difference:
    """Paired-t confidence interval and test for μ_a − μ_b from replication-wise pairs (a_i, b_i).

    Method (Law 2015, §10.2.1, "paired-t confidence interval"): with D_i = a_i − b_i,

        D̄ ± t_{1−α/2, n−1} · s_D / √n,     s_D² = Σ (D_i − D̄)² / (n − 1),

    and the two-sided p-value 2·P(T_{n−1} > |D̄| / (s_D/√n)) of H0: μ_a = μ_b. The D_i are i.i.d.
    across replications however a_i and b_i are correlated, so the interval is valid under common
    random numbers, and Var(D) = Var(a) + Var(b) − 2 Cov(a, b) is small exactly when CRN induces a
    positive correlation (Law 2015, §11.2). ``a`` and ``b`` must be aligned by replication; pairs
    with a NaN on either side are dropped.
    """
    _check_level(level)
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired difference needs equally many values on both sides, got {len(x)} and {len(y)}")
    d = x - y
    d = d[~np.isnan(d)]
    n = len(d)
    if n == 0:
        return _t_difference(math.nan, math.nan, 0.0, 0, level)
    mean = float(d.mean())
    if n < 2:
        return _t_difference(mean, math.nan, 0.0, n, level)
    return _t_difference(mean, float(d.std(ddof=1)) / math.sqrt(n), float(n - 1), n, level)


def unpaired_difference(a: Values, b: Values, level: float = 0.95) -> Difference:
    """Welch's approximate t interval and test for μ_a − μ_b from two independent samples.

    Method (Welch 1947; Law 2015, §10.2.2): x̄_a − x̄_b ± t_{1−α/2, f̂} · √(s_a²/n_a + s_b²/n_b), with
    the Welch–Satterthwaite degrees of freedom

        f̂ = (s_a²/n_a + s_b²/n_b)² / [ (s_a²/n_a)²/(n_a − 1) + (s_b²/n_b)²/(n_b − 1) ].

    It ignores any pairing, so under common random numbers it overstates the variance of the
    difference; comparing its half-width with :func:`paired_difference`'s shows the variance
    reduction CRN achieved. NaNs are dropped from each sample.
    """
    _check_level(level)
    x, y = _clean(a), _clean(b)
    na, nb = len(x), len(y)
    if na == 0 or nb == 0:
        return _t_difference(math.nan, math.nan, 0.0, na + nb, level)
    mean = float(x.mean() - y.mean())
    if na < 2 or nb < 2:
        return _t_difference(mean, math.nan, 0.0, na + nb, level)
    va, vb = float(x.var(ddof=1)) / na, float(y.var(ddof=1)) / nb
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se > 0 else float(na + nb - 2)
    return _t_difference(mean, se, df, na + nb, level)


# ---------------------------------------------------------------------------------------------
# Several options from one long table (option × replication)
# ---------------------------------------------------------------------------------------------


def _require_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"unknown column(s) {missing}; the table has {list(table.columns)}")


def _by_replication(table: pd.DataFrame, option_col: str, replication_col: str, metric: str) -> dict[object, pd.Series]:
    """Each option's metric as a Series indexed by replication id (options in order of appearance)."""
    dup = table.duplicated([option_col, replication_col])
    if dup.any():
        first = table.loc[dup, [option_col, replication_col]].iloc[0].tolist()
        raise ValueError(
            f"more than one row for ({option_col}, {replication_col}) = {tuple(first)}; "
            f"filter the table to one row per option and replication (e.g. one channel/segment) first")
    return {opt: sub.set_index(replication_col)[metric].astype(float)
            for opt, sub in table.groupby(option_col, sort=False, observed=True)}


def _pair(series: dict[object, pd.Series], a: object, b: object, replication_col: str) -> tuple[np.ndarray, np.ndarray]:
    """Values of options a and b aligned by replication id; ValueError if the ids differ."""
    ra, rb = series[a], series[b]
    ia, ib = set(ra.index), set(rb.index)
    if ia != ib:
        only_a, only_b = sorted(ia - ib, key=str), sorted(ib - ia, key=str)
        raise ValueError(
            f"cannot pair options {a!r} and {b!r} by {replication_col!r}: "
            f"{replication_col} {only_a} only in {a!r}, {only_b} only in {b!r}. "
            f"Paired comparisons need every option run on the same replications (same seeds)")
    order = ra.index
    return ra.to_numpy(dtype=float), rb.reindex(order).to_numpy(dtype=float)


Verdict = Literal["better", "worse", "higher", "lower", "equivalent", "inconclusive"]


def _check_indifference(indifference: float) -> None:
    if isinstance(indifference, bool) or not (math.isfinite(indifference) and indifference >= 0):
        raise ValueError(f"indifference zone must be a finite number ≥ 0, got {indifference!r}")


def practical_verdict(low: float, high: float, indifference: float,
                      better: Literal["higher", "lower"] | None = None) -> Verdict:
    """What a confidence interval [``low``, ``high``] for a difference says against a zone ±δ.

    * beyond the zone — ``low > δ`` ("higher") or ``high < −δ`` ("lower"): the difference exceeds
      δ in that direction, with the interval's confidence. With ``better`` (the direction that is
      better for the metric) these read "better" and "worse";
    * ``"equivalent"`` — ``−δ < low`` and ``high < δ``: the difference is smaller than δ either way.
      This is the two one-sided tests procedure (TOST, Schuirmann 1987) for H0: |difference| ≥ δ:
      for an interval at level 1 − α each one-sided test is at level α/2, so the statement is
      conservative (TOST at α uses the 1 − 2α interval);
    * ``"inconclusive"`` — anything else, including a NaN bound: the interval reaches across ±δ.
      It may still exclude 0 (statistically significant, but maybe smaller than δ).

    δ = 0 is no zone: beyond it means the interval excludes 0, and nothing is equivalent.
    """
    _check_indifference(indifference)
    if better not in ("higher", "lower", None):
        raise ValueError(f"better must be 'higher', 'lower' or None, got {better!r}")
    d = float(indifference)
    up, down = ("better", "worse") if better == "higher" else ("worse", "better") if better == "lower" \
        else ("higher", "lower")
    if low > d:
        return up  # type: ignore[return-value]
    if high < -d:
        return down  # type: ignore[return-value]
    if -d < low and high < d:
        return "equivalent"
    return "inconclusive"


def compare_to_baseline(table: pd.DataFrame, option_col: str, baseline: str, metric: str,
                        replication_col: str = "replication", level: float = 0.95,
                        adjust: Literal["bonferroni", "none"] = "bonferroni", indifference: float = 0.0,
                        better: Literal["higher", "lower"] | None = None) -> pd.DataFrame:
    """Paired difference (option − baseline) of ``metric`` for every non-baseline option.

    Method: comparisons with a standard (Law 2015, §10.3.1). For each of the k non-baseline options,
    a :func:`paired_difference` of its replication values against the baseline's, paired by
    ``replication_col`` (common random numbers). With ``adjust="bonferroni"`` each interval is at
    level 1 − α/k (α = 1 − ``level``), so that all k intervals hold simultaneously with probability
    ≥ ``level`` (Bonferroni inequality), and p-values are multiplied by k (capped at 1);
    ``significant`` is adjusted p < α, i.e. the adjusted interval excludes 0. ``adjust="none"``
    gives k unadjusted level-``level`` intervals.

    Practical significance: ``practical`` is :func:`practical_verdict` of the same interval against
    the indifference zone ±``indifference`` (δ, in the metric's unit; ``better`` the metric's better
    direction, so that a difference beyond the zone reads "better"/"worse" rather than
    "higher"/"lower"). Because the k intervals hold jointly, so do all k verdicts: with probability
    ≥ ``level`` every difference called beyond the zone exceeds δ and every one called
    "equivalent" is smaller than δ. With δ = 0 (the default) a verdict beyond the zone is the same
    as ``significant``.

    ``table`` has one row per option and replication. Returns one row per non-baseline option, in
    order of appearance, with columns ``option, baseline, metric, option_mean, baseline_mean, diff,
    half_width, low, high, n, p_value`` (adjusted), ``p_raw, significant, level`` (per interval),
    ``indifference, practical``. Raises ValueError for unknown columns or baseline, duplicate rows,
    replication ids that do not match the baseline's, or a negative or non-finite δ.
    """
    _check_level(level)
    _check_indifference(indifference)
    if adjust not in ("bonferroni", "none"):
        raise ValueError(f"adjust must be 'bonferroni' or 'none', got {adjust!r}")
    _require_columns(table, [option_col, replication_col, metric])
    series = _by_replication(table, option_col, replication_col, metric)
    if baseline not in series:
        raise ValueError(f"baseline {baseline!r} is not among the options {list(series)}")
    others = [o for o in series if o != baseline]
    k = len(others)
    each = 1 - (1 - level) / k if (adjust == "bonferroni" and k > 0) else level
    factor = k if adjust == "bonferroni" else 1
    rows = []
    for opt in others:
        x, base = _pair(series, opt, baseline, replication_col)
        d = paired_difference(x, base, each)
        p = min(1.0, d.p_value * factor) if not math.isnan(d.p_value) else math.nan
        rows.append({"option": opt, "baseline": baseline, "metric": metric,
                     "option_mean": float(np.nanmean(x)) if np.isfinite(x).any() else math.nan,
                     "baseline_mean": float(np.nanmean(base)) if np.isfinite(base).any() else math.nan,
                     "diff": d.mean, "half_width": d.half_width, "low": d.low, "high": d.high, "n": d.n,
                     "p_value": p, "p_raw": d.p_value, "significant": bool(p < 1 - level), "level": each,
                     "indifference": float(indifference),
                     "practical": practical_verdict(d.low, d.high, indifference, better)})
    columns = ["option", "baseline", "metric", "option_mean", "baseline_mean", "diff", "half_width", "low",
               "high", "n", "p_value", "p_raw", "significant", "level", "indifference", "practical"]
    return pd.DataFrame(rows, columns=columns)


# ---------------------------------------------------------------------------------------------
# Choosing the best option under constraints
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """A bound on the mean of a metric, e.g. ``Constraint("abandon_rate", "<=", 0.05)``."""

    metric: str
    op: Literal["<=", ">="]
    bound: float

    def __post_init__(self) -> None:
        if self.op not in ("<=", ">="):
            raise ValueError(f"constraint operator must be '<=' or '>=', got {self.op!r}")
        if not math.isfinite(self.bound):
            raise ValueError(f"constraint bound on {self.metric!r} must be a finite number, got {self.bound!r}")

    def holds(self, value: float) -> bool:
        """Whether ``value`` satisfies the bound (NaN never does)."""
        if math.isnan(value):
            return False
        return value <= self.bound if self.op == "<=" else value >= self.bound

    def __str__(self) -> str:
        return f"{self.metric} {'≤' if self.op == '<=' else '≥'} {self.bound:g}"


@dataclass(frozen=True, eq=False)
class Selection:
    """Outcome of :func:`select_best`.

    * ``best``: the feasible option with the best sample mean (None if no option is feasible);
    * ``feasible``: options whose sample means satisfy every constraint, in order of appearance;
    * ``infeasible``: option → the reasons it was excluded (one sentence per violated constraint);
    * ``confident``: the best is *confidently best* — better than every other feasible option by
      more than the indifference zone δ (Bonferroni-corrected paired comparisons at family level
      ``level``; with δ = 0, significantly better; vacuously True when it is the only feasible
      option, False when there is none);
    * ``comparisons``: one row per other feasible option — see :func:`select_best`;
    * ``constraints``: one row per option × constraint — mean, one-sided confidence bound, whether
      the mean satisfies the bound (``holds``) and whether the confidence bound does (``confident``);
    * ``method``: a sentence saying how the choice was made, for reports;
    * ``within_zone``: the best is *within the indifference zone of the best*: no other feasible
      option is better than it by δ or more (True when ``confident``, and when it is the only
      feasible option; False when there is none);
    * ``indifference``: δ, in the metric's unit.
    """

    best: str | None
    feasible: list[str]
    infeasible: dict[str, list[str]]
    confident: bool
    comparisons: pd.DataFrame
    constraints: pd.DataFrame
    method: str
    level: float
    within_zone: bool = False
    indifference: float = 0.0

    @property
    def constraints_confident(self) -> bool:
        """Whether every constraint of the best option holds with confidence (one-sided bounds)."""
        if self.best is None:
            return False
        rows = self.constraints[self.constraints["option"] == self.best]
        return bool(rows["confident"].all())


def _one_sided_bound(x: np.ndarray, op: str, level: float) -> float:
    """Upper (op '<=') or lower (op '>=') one-sided t confidence bound for the mean of x."""
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 2:
        return math.nan
    margin = float(t_quantile(level, n - 1)) * float(x.std(ddof=1)) / math.sqrt(n)
    return float(x.mean()) + margin if op == "<=" else float(x.mean()) - margin


_CONSTRAINT_COLUMNS = ["option", "constraint", "metric", "op", "bound", "mean", "conf_bound", "holds", "confident",
                       "level"]
_COMPARISON_COLUMNS = ["option", "mean", "best", "best_mean", "diff", "half_width", "low", "high", "n", "p_value",
                       "p_raw", "better", "level", "indifference", "practical", "within_zone"]


def select_best(table: pd.DataFrame, option_col: str, metric: str, minimize: bool,
                constraints: Sequence[Constraint] = (), level: float = 0.95,
                replication_col: str = "replication", indifference: float = 0.0) -> Selection:
    """Best option on ``metric`` among those meeting the constraints, with a statement of confidence.

    Method — Bonferroni-corrected paired comparisons with the sample best, under common random
    numbers, read against an indifference zone δ = ``indifference`` ≥ 0, the smallest difference
    in ``metric`` that matters (Law 2015, §10.3; multiple comparisons with the best, Hsu 1996,
    ch. 4, under CRN as in Nelson & Matejcik 1995; the indifference zone of ranking and selection,
    Bechhofer 1954, Kim & Nelson 2006; equivalence by two one-sided tests, Schuirmann 1987). It is
    not a sequential ranking-and-selection procedure: the number of replications is given, not
    chosen to guarantee a probability of correct selection, so the answer may be that the data do
    not decide:

    1. Feasibility: an option is feasible if the sample mean across replications of every
       constrained metric satisfies its bound. Options failing a bound are listed in
       ``infeasible`` with the reason; so is an option without any finite value of ``metric``.
    2. Choice: among the k feasible options, the one with the lowest (``minimize``) or highest
       sample mean of ``metric``; ties go to the first in order of appearance.
    3. Confidence: for each of the k − 1 other feasible options j, a paired-t interval [L_j, U_j]
       for μ_j − μ_best (paired by ``replication_col``) at level 1 − α/(k − 1), α = 1 − ``level``,
       so that the k − 1 intervals hold simultaneously with probability ≥ ``level``. Minimising
       (maximising: the same with the signs turned, U_j < −δ and U_j < δ):

       * the best is ``better`` than j if L_j > δ: it beats j by more than the zone;
       * j is ``within_zone`` if L_j > −δ: j is not better than the best by δ or more;
       * ``practical`` is "better" when better, "equivalent" when −δ < L_j and U_j < δ (the two
         options are the same in practice, :func:`practical_verdict`), else "inconclusive".

       ``confident`` ("confidently best") means better than every j; the Selection's
       ``within_zone`` ("within the indifference zone of the best") means every j is within the
       zone. If the true best option is i*, a wrong claim needs the interval for (i*, chosen) to
       miss on one side — for "confidently best" when the chosen is not i*, for "within the zone"
       when the chosen is more than δ worse than i* — so each claim is wrong with probability
       ≤ α/2 (normal differences assumed). δ = 0 gives the plain statistical statement
       (significantly better than every other option).
    4. Constraints with confidence: for every option and constraint, the one-sided t bound at level
       ``level`` — upper bound x̄ + t_{level, n−1} s/√n for "<=", lower bound x̄ − t_{level, n−1} s/√n
       for ">=" — and whether it satisfies the bound. These are per constraint, not simultaneous;
       feasibility itself (step 1) uses the sample means.

    ``comparisons`` columns: ``option, mean, best, best_mean, diff`` (option − best), ``half_width,
    low, high, n, p_value`` (Bonferroni-adjusted, ×(k − 1) capped at 1), ``p_raw, better, level``
    (per interval), ``indifference, practical, within_zone``. ``constraints`` columns: ``option,
    constraint, metric, op, bound, mean, conf_bound, holds, confident, level``. Raises ValueError
    for unknown columns (metric or constraint metric), duplicate option × replication rows,
    replication ids that differ between the best and another feasible option, or a negative or
    non-finite δ.
    """
    _check_level(level)
    _check_indifference(indifference)
    constraints = list(constraints)
    _require_columns(table, [option_col, replication_col, metric, *[c.metric for c in constraints]])
    series = _by_replication(table, option_col, replication_col, metric)
    feasible, infeasible, constraint_table = _feasibility(table, series, option_col, metric, constraints, level)
    if not feasible:
        cons = "; ".join(str(c) for c in constraints)
        method = (f"No option is feasible: none has sample means meeting every constraint ({cons or 'none'}) "
                  f"and data on {metric}, so no option was chosen.")
        return Selection(None, [], infeasible, False, pd.DataFrame(columns=_COMPARISON_COLUMNS), constraint_table,
                         method, level, False, float(indifference))

    means = {opt: float(np.nanmean(series[opt].to_numpy(dtype=float))) for opt in feasible}
    best = (min if minimize else max)(feasible, key=lambda o: means[o])  # first wins ties
    comparisons, each = _against_best(series, feasible, means, best, minimize, level, replication_col, indifference)
    confident = bool(comparisons["better"].all()) if len(comparisons) else True
    within = bool(comparisons["within_zone"].all()) if len(comparisons) else True
    method = _method_text(best, comparisons, constraints, metric, minimize, level, each, indifference)
    return Selection(str(best), [str(o) for o in feasible], infeasible, confident, comparisons, constraint_table,
                     method, level, within, float(indifference))


def _feasibility(table: pd.DataFrame, series: dict[object, pd.Series], option_col: str, metric: str,
                 constraints: list[Constraint], level: float
                 ) -> tuple[list[object], dict[str, list[str]], pd.DataFrame]:
    """Step 1 of :func:`select_best`: the feasible options (in order of appearance), the reasons of
    the others, and the constraint table (one row per option × constraint)."""
    grouped = {opt: sub for opt, sub in table.groupby(option_col, sort=False, observed=True)}
    feasible: list[object] = []
    infeasible: dict[str, list[str]] = {}
    crow = []
    for opt in series:
        reasons = []
        if not np.isfinite(series[opt].to_numpy(dtype=float)).any():
            reasons.append(f"{metric} has no finite value")
        for c in constraints:
            row, reason = _constraint_check(opt, grouped[opt], c, level)
            crow.append(row)
            if reason:
                reasons.append(reason)
        if reasons:
            infeasible[str(opt)] = reasons
        else:
            feasible.append(opt)
    return feasible, infeasible, pd.DataFrame(crow, columns=_CONSTRAINT_COLUMNS)


def _constraint_check(opt: object, sub: pd.DataFrame, c: Constraint, level: float) -> tuple[dict[str, object], str]:
    """One option against one constraint: its constraint-table row, and why it fails ("" if it holds)."""
    x = sub[c.metric].to_numpy(dtype=float)
    mean = float(np.nanmean(x)) if np.isfinite(x).any() else math.nan
    bound = _one_sided_bound(x, c.op, level)
    row = {"option": opt, "constraint": str(c), "metric": c.metric, "op": c.op, "bound": c.bound, "mean": mean,
           "conf_bound": bound, "holds": c.holds(mean), "confident": c.holds(bound), "level": level}
    if math.isnan(mean):
        return row, f"{c.metric} has no finite value (constraint {c})"
    if not c.holds(mean):
        return row, f"mean {c.metric} = {mean:.6g} violates {c}"
    return row, ""


def _against_best(series: dict[object, pd.Series], feasible: list[object], means: dict[object, float], best: object,
                  minimize: bool, level: float, replication_col: str, indifference: float = 0.0
                  ) -> tuple[pd.DataFrame, float]:
    """Step 3 of :func:`select_best`: the Bonferroni-corrected paired comparisons of every other
    feasible option with the best against the zone ±``indifference``, and the level of each interval."""
    others = [o for o in feasible if o != best]
    k1 = len(others)
    each = 1 - (1 - level) / k1 if k1 else level
    delta = float(indifference)
    rows = []
    for opt in others:
        x, xb = _pair(series, opt, best, replication_col)
        d = paired_difference(x, xb, each)
        p = min(1.0, d.p_value * k1) if not math.isnan(d.p_value) else math.nan
        # the best's margin over opt, as an interval: μ_opt − μ_best when minimising, its negative otherwise
        margin_low = d.low if minimize else -d.high
        better = bool(margin_low > delta)
        within = bool(margin_low > -delta)
        verdict = practical_verdict(d.low, d.high, delta)
        practical = "better" if better else verdict if verdict == "equivalent" else "inconclusive"
        rows.append({"option": opt, "mean": means[opt], "best": best, "best_mean": means[best], "diff": d.mean,
                     "half_width": d.half_width, "low": d.low, "high": d.high, "n": d.n, "p_value": p,
                     "p_raw": d.p_value, "better": better, "level": each, "indifference": delta,
                     "practical": practical, "within_zone": within})
    return pd.DataFrame(rows, columns=_COMPARISON_COLUMNS), each


def _names(comparisons: pd.DataFrame, mask: pd.Series) -> str:
    return ", ".join(repr(o) for o in comparisons.loc[mask, "option"])


def _method_text(best: object, comparisons: pd.DataFrame, constraints: list[Constraint], metric: str,
                 minimize: bool, level: float, each: float, indifference: float = 0.0) -> str:
    """The sentence of :attr:`Selection.method` when an option was chosen."""
    cons = "; ".join(str(c) for c in constraints)
    rule = (f"Feasible means the sample mean of every constrained metric meets its bound ({cons})" if constraints
            else "There are no constraints, so every option with data is feasible")
    k1 = len(comparisons)
    if k1 == 0:
        return (f"{rule}; "
                f"{best!r} is the only feasible option, so it is chosen without comparison.")
    goal = "lowest" if minimize else "highest"
    better = comparisons["better"].astype(bool)
    if indifference == 0:
        verdict = ("significantly better than every other feasible option." if better.all()
                   else f"not significantly better than {_names(comparisons, ~better)}.")
        zone = ""
    else:
        verdict = _zone_verdict(comparisons, better)
        zone = (f" and read against the indifference zone δ = {indifference:.3g} (the smallest difference in "
                f"{metric} that matters)")
    return (f"{rule}; "
            f"among the {k1 + 1} feasible options, {best!r} has the {goal} sample mean of {metric}. "
            f"It was compared with each of the other {k1} by paired-t intervals over common random "
            f"numbers, Bonferroni-corrected to hold jointly at {level * 100:g}% "
            f"(each at {each * 100:.4g}%){zone}: it is {verdict}")


def _zone_verdict(comparisons: pd.DataFrame, better: pd.Series) -> str:
    """The end of the method sentence with a zone δ > 0: confidently best, within the zone, or neither."""
    if better.all():
        return "better than every other feasible option by more than δ: confidently best."
    within = comparisons["within_zone"].astype(bool)
    equivalent = comparisons["practical"] == "equivalent"
    parts = []
    if better.any():
        parts.append(f"better by more than δ than {_names(comparisons, better)}")
    if equivalent.any():
        parts.append(f"practically equivalent to {_names(comparisons, equivalent)} (interval inside ±δ)")
    undecided = within & ~better & ~equivalent
    if undecided.any():
        parts.append(f"not better by more than δ than {_names(comparisons, undecided)}, which is not better by δ "
                     f"either")
    if within.all():
        return "; ".join(parts) + ": not confidently best, but within the indifference zone of the best."
    parts.append(f"{_names(comparisons, ~within)} may be better than it by δ or more")
    return "; ".join(parts) + ": not confidently best."


def pareto_front(df: pd.DataFrame, minimize: Sequence[str], maximize: Sequence[str] = ()) -> pd.Series:
    """Boolean Series (index of ``df``): True for the rows that no other row dominates.

    Method: Pareto dominance with every objective turned into one to minimise (columns in
    ``maximize`` are negated). Row j dominates row i if y_j ≤ y_i in every objective and y_j < y_i in
    at least one, so identical rows do not dominate each other and are all on the front if neither
    is dominated by a third. Rows with a NaN objective are never on the front and dominate nothing.
    O(n² · objectives) time, O(n · objectives) memory.
    """
    cols = [*minimize, *maximize]
    if not cols:
        raise ValueError("pareto_front needs at least one objective column")
    _require_columns(df, cols)
    y = np.column_stack([df[c].to_numpy(dtype=float) for c in minimize]
                        + [-df[c].to_numpy(dtype=float) for c in maximize])
    valid = ~np.isnan(y).any(axis=1)
    yv = y[valid]
    front_v = np.ones(len(yv), dtype=bool)
    for i in range(len(yv)):
        le = (yv <= yv[i]).all(axis=1)
        lt = (yv < yv[i]).any(axis=1)
        front_v[i] = not (le & lt).any()
    front = np.zeros(len(df), dtype=bool)
    front[valid] = front_v
    return pd.Series(front, index=df.index, name="pareto")


# ---------------------------------------------------------------------------------------------
# How many replications
# ---------------------------------------------------------------------------------------------


def _precision_inputs(values: Values, rel_precision: float, level: float) -> tuple[int, float, float, float]:
    _check_level(level)
    if not (rel_precision > 0 and math.isfinite(rel_precision)):
        raise ValueError(f"relative precision must be a positive number, got {rel_precision!r}")
    x = _clean(values)
    n = len(x)
    if n < 2:
        raise ValueError(f"need at least 2 replications to estimate the variance, got {n}")
    return n, float(x.mean()), float(x.std(ddof=1)), rel_precision / (1 + rel_precision)


def replications_needed(values: Values, rel_precision: float, level: float = 0.95) -> int:
    """Number of replications (in total, ≥ the current n) for a relative precision γ = ``rel_precision``.

    Method: the approximate number of replications for a relative error γ (Law 2015, §9.4.1),

        n_r*(γ) = min{ i ≥ n : t_{1−α/2, i−1} · √(S²(n)/i) ≤ γ' · |X̄(n)| },   γ' = γ / (1 + γ),

    with X̄(n), S²(n) the mean and variance of the current n replications (NaNs dropped) and
    α = 1 − ``level``. γ' rather than γ corrects for dividing by the estimate |X̄| instead of the
    unknown |μ|: if half-width/|X̄| ≤ γ', then |X̄ − μ|/|μ| ≤ γ with probability ≈ ``level``. The
    left side decreases in i, so the minimum is found by doubling then bisection. Used sequentially
    (run, recompute, run more) this is Law's sequential procedure. Raises ValueError if n < 2, or if
    X̄ = 0 with S > 0 (relative precision is then unattainable).
    """
    n, mean, sd, gamma = _precision_inputs(values, rel_precision, level)
    target = gamma * abs(mean)
    if sd == 0.0:
        return n
    if target == 0.0:
        raise ValueError("the sample mean is 0, so no number of replications reaches a relative precision")
    q = 0.5 + level / 2

    def ok(i: int) -> bool:
        return float(t_quantile(q, i - 1)) * sd / math.sqrt(i) <= target

    if ok(n):
        return n
    lo, hi = n, 2 * n  # invariant: not ok(lo)
    while not ok(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def precision_reached(values: Values, rel_precision: float, level: float = 0.95) -> bool:
    """Whether the current replications already meet the relative precision γ = ``rel_precision``.

    Method (Law 2015, §9.4.1): stop when the t half-width over |X̄| is at most γ' = γ/(1 + γ):
    t_{1−α/2, n−1} · S(n)/√n ≤ γ' · |X̄(n)|. Equivalent to ``replications_needed(...) == n``. False
    when fewer than 2 non-NaN values are available, or when X̄ = 0 with S > 0.
    """
    x = _clean(values)
    if len(x) < 2:
        _precision_inputs([0.0, 0.0], rel_precision, level)  # still validate the arguments
        return False
    n, mean, sd, gamma = _precision_inputs(x, rel_precision, level)
    return float(t_quantile(0.5 + level / 2, n - 1)) * sd / math.sqrt(n) <= gamma * abs(mean)


# ---------------------------------------------------------------------------------------------
# Warm-up of steady-state runs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class MSER:
    """Result of :func:`mser`.

    ``truncation``: observations to delete from the start of the raw series (= ``batches`` ×
    ``batch_size``); ``statistic``: MSER(d) for d = 0 … ⌊m/2⌋ batches (for a report figure);
    ``at_limit``: the minimum lies at the end of the search range, a sign the run is too short or
    never settles (Franklin & White 2008 treat this as no valid truncation point).
    """

    truncation: int
    batches: int
    batch_size: int
    statistic: np.ndarray
    at_limit: bool


def mser(series: Values, batch_size: int = 5) -> MSER:
    """MSER warm-up truncation of one output series, on batch means of ``batch_size`` observations.

    Method (White 1997; with batches of 5, MSER-5, Franklin & White 2008; Law 2015, §9.5.1): form the
    m = ⌊n/b⌋ non-overlapping batch means Z_1..Z_m of b consecutive observations (a trailing
    remainder of fewer than b observations is ignored), and for each candidate truncation of
    d = 0, 1, …, ⌊m/2⌋ batches compute

        MSER(d) = 1/(m − d)² · Σ_{j=d+1}^{m} (Z_j − Z̄(d))²,    Z̄(d) = mean of Z_{d+1..m}.

    The truncation is d* = argmin MSER(d) (smallest d on ties), returned in raw observations, d*·b.
    The statistic trades the bias of keeping the transient against the variance of a shorter sample.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    y = np.asarray(series, dtype=float).ravel()
    if not np.isfinite(y).all():
        raise ValueError("MSER needs a series of finite numbers (no NaN or infinity)")
    m = len(y) // batch_size
    if m < 2:
        raise ValueError(f"MSER needs at least 2 batches of {batch_size} observations, got {len(y)} observations")
    z = y[: m * batch_size].reshape(m, batch_size).mean(axis=1)
    z = z - z.mean()  # shift for numerical stability; MSER is shift-invariant
    d = np.arange(m // 2 + 1)
    rest = m - d
    s1 = np.cumsum(z[::-1])[::-1][d]  # Σ_{j>d} Z_j (0-based: j ≥ d)
    s2 = np.cumsum((z * z)[::-1])[::-1][d]
    ss = np.maximum(s2 - s1 * s1 / rest, 0.0)
    stat = ss / rest.astype(float) ** 2
    best = int(np.argmin(stat))
    return MSER(best * batch_size, best, batch_size, stat, at_limit=bool(best == d[-1] and best > 0))


def mser5(series: Values) -> int:
    """MSER-5 warm-up truncation point, in observations of the raw series.

    Method (White 1997; Franklin & White 2008; Law 2015, §9.5.1): batch means of 5 observations,
    MSER(d) = Σ_{j>d} (Z_j − Z̄(d))² / (m − d)² over d = 0 … ⌊m/2⌋ batches, truncation = 5·argmin_d.
    See :func:`mser` for the statistic itself and the at-limit warning.
    """
    return mser(series, 5).truncation


def welch_moving_average(series_matrix: np.ndarray, window: int) -> np.ndarray:
    """Welch's moving average of replication-averaged output, for the graphical warm-up procedure.

    Method (Welch 1983; Law 2015, §9.5.1): with Y_{ji} the i-th observation (e.g. the i-th interval's
    KPI) of replication j, average across replications, Ȳ_i = Σ_j Y_{ji}/n, i = 1..m, then smooth
    with window w:

        Ȳ_i(w) = Σ_{s=−w}^{w} Ȳ_{i+s} / (2w + 1)            for i = w+1, …, m−w,
        Ȳ_i(w) = Σ_{s=−(i−1)}^{i−1} Ȳ_{i+s} / (2i − 1)      for i = 1, …, w,

    returning the m − w values Ȳ_1(w) … Ȳ_{m−w}(w). Plot them and take the warm-up as the point
    after which the curve is flat; Law suggests trying several w ≤ ⌊m/4⌋ and the smallest w that
    gives a reasonably smooth curve. A 1-D input is one replication. Requires 0 ≤ w ≤ ⌊m/2⌋.
    """
    y = np.asarray(series_matrix, dtype=float)
    if y.ndim == 1:
        y = y[np.newaxis, :]
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"expected a (replications × time) matrix, got shape {np.shape(series_matrix)}")
    if not np.isfinite(y).all():
        raise ValueError("Welch's procedure needs finite observations (no NaN or infinity)")
    m = y.shape[1]
    if not 0 <= window <= m // 2:
        raise ValueError(f"window must be between 0 and {m // 2} (half of {m} time points), got {window}")
    ybar = y.mean(axis=0)
    c = np.concatenate([[0.0], np.cumsum(ybar)])  # c[k] = Σ_{i<k} ybar[i]
    i = np.arange(1, m - window + 1)  # 1-based output positions
    half = np.minimum(i - 1, window)
    lo, hi = i - 1 - half, i + half  # 0-based slice [lo, hi)
    return (c[hi] - c[lo]) / (2 * half + 1)
