"""The satisfaction proxy's per-contact score, from the contacts' columns as numpy arrays.

A proxy, not a measurement of real customers: with s(w) the wait score of a contact's wait w
(seconds; :func:`wait_score`) and g the ``channel_weight`` of its channel (1 if not listed),

* handled → min(1, g · s(w) · resolved), or · unresolved when the contact was not resolved; a
  handled contact's w includes its time with bots before reaching a person (``bot_s``);
* abandoned → min(1, g · abandoned) (the wait is not used);
* contained (served by bots only) → min(1, g · s(w) · contained);
* anything else (still in the system at the end, balked) → NaN.

Factors and curves: :class:`servsim.scenario.economics.Satisfaction`. The table-level function
(:func:`servsim.economics.satisfaction_scores`) and the per-cell sums both call :func:`scores`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from servsim.outcomes import Outcome
from servsim.scenario.economics import Satisfaction, WaitCurve


def _expit(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(−x)), without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def wait_score(wait_s: object, satisfaction: WaitCurve | None = None) -> np.ndarray:
    """The wait part of the satisfaction proxy, s(w) in [0, 1], for waits w in seconds.

    * linear: s = clip((zero_at − w) / (zero_at − full_until), 0, 1) — 1 up to ``full_until``,
      0 from ``zero_at``;
    * logistic: s = 1 / (1 + exp(k · (w − m) / 60)), m = ``midpoint`` (s), k = ``steepness_per_min``.

    NaN waits give NaN.
    """
    sat = satisfaction or Satisfaction()
    w = np.asarray(wait_s, dtype=float)
    if sat.shape == "linear":
        return np.clip((sat.zero_at - w) / (sat.zero_at - sat.full_until), 0.0, 1.0)
    return _expit(-sat.steepness_per_min * (w - sat.midpoint) / 60.0)


def scores(outcome: np.ndarray, wait_s: np.ndarray, channel: np.ndarray, channel_names: Sequence[str],
           satisfaction: Satisfaction | None = None, resolved: np.ndarray | None = None,
           bot_s: np.ndarray | None = None) -> np.ndarray:
    """Score per contact (module docstring) in [0, 1] or NaN. ``outcome``: table outcome codes
    (:class:`servsim.outcomes.Outcome`); ``channel``: indices into ``channel_names``; ``resolved``
    (None: all resolved) and ``bot_s`` (None: no time with bots) are optional."""
    sat = satisfaction or Satisfaction()
    n = len(outcome)
    score = np.full(n, np.nan)
    if n == 0:
        return score
    w = np.asarray(wait_s, dtype=float)
    contained = outcome == Outcome.CONTAINED
    if bot_s is not None:
        # handed over by a bot: the time with the bot counts as waiting for help
        w = w + np.where(contained, 0.0, np.asarray(bot_s, dtype=float))
    s = wait_score(w, sat)
    for name, curve in (sat.curves or {}).items():
        if name in channel_names:
            mine = channel == list(channel_names).index(name)
            s[mine] = wait_score(w[mine], curve)
    handled = outcome == Outcome.HANDLED
    factor = sat.resolved if resolved is None else np.where(resolved, sat.resolved, sat.unresolved)
    score[handled] = (s * factor)[handled]
    score[outcome == Outcome.ABANDONED] = sat.abandoned
    score[contained] = s[contained] * sat.contained
    if sat.channel_weight:
        per = np.array([sat.channel_weight.get(str(name), 1.0) for name in channel_names] + [1.0])
        score = score * per[channel]
    return np.minimum(score, 1.0)
