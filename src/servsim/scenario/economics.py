"""The scenario's ``economics`` section: what the system costs and how customers are scored.

Staff are priced on the pools themselves (``pools.<name>.cost_per_hour``, per agent-hour *paid*);
this section adds what the pools do not know about:

* ``currency`` — the unit of every price in the scenario (a label; nothing is converted);
* ``penalties`` — contractual or notional penalties per abandoned contact and per reporting
  interval that misses the service-level goal;
* ``satisfaction`` — a **satisfaction proxy**: a documented, configurable per-contact score in
  [0, 1] from the contact's wait, outcome and channel. It is a modelling device for comparing
  options, not a claim about what real customers feel.

The formulas that use these numbers live in :mod:`servsim.economics` (pure functions of the result
tables). Durations carry their unit in the file ("20s", "5min"); inside, seconds::

    economics:
      currency: EUR
      penalties: {per_abandoned: 2.5, per_interval_missing_target: 50}
      satisfaction:
        shape: linear          # score 1 up to full_until, 0 from zero_at, a straight line between
        full_until: 20s
        zero_at: 5min
        channel_weight: {chat: 0.9}
        satisfied_at: 0.7
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from servsim.scenario.base import Duration, Factor, Name, Share, Strict

#: Non-negative, finite money amount (in the scenario's currency).
Price = Annotated[float, Field(ge=0.0)]

_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class Penalties(Strict):
    """Penalties, in the scenario's currency, added to the staff cost.

    * ``per_abandoned`` — charged for every contact that arrived after the warm-up and abandoned
      (currency per contact, >= 0; default 0: no penalty);
    * ``per_interval_missing_target`` — charged for every reporting interval of every channel that
      had offered contacts and whose service level fell below ``targets.service_level.goal``
      (currency per channel-interval, >= 0; default 0). An interval with no measurable service level
      (nothing offered, or only contacts abandoning within the threshold) is not counted as missing.
    """

    per_abandoned: Price = 0.0
    per_interval_missing_target: Price = 0.0


class WaitCurve(Strict):
    """How the wait part of the satisfaction proxy falls with the wait (see :class:`Satisfaction`)."""

    shape: Literal["linear", "logistic"] = "linear"
    full_until: Duration = 20.0
    zero_at: Duration = 300.0
    midpoint: Duration = 120.0
    steepness_per_min: Factor = 1.5

    @model_validator(mode="after")
    def _consistent(self) -> WaitCurve:
        other = ("midpoint", "steepness_per_min") if self.shape == "linear" else ("full_until", "zero_at")
        given = [f for f in other if f in self.model_fields_set]
        if given:
            raise ValueError(
                f"{' and '.join(repr(f) for f in given)} {'does' if len(given) == 1 else 'do'} not apply to "
                f"shape {self.shape!r}; "
                "linear uses 'full_until' and 'zero_at', logistic uses 'midpoint' and 'steepness_per_min'"
            )
        if self.zero_at <= self.full_until:
            raise ValueError(
                f"'zero_at' ({self.zero_at:g}s) must be longer than 'full_until' ({self.full_until:g}s): "
                "the score falls from 1 at full_until to 0 at zero_at"
            )
        return self


class Satisfaction(WaitCurve):
    """The satisfaction **proxy**: one score in [0, 1] per contact, from wait, outcome and channel.

    Wait score s(w), with w the contact's wait at its first step in seconds:

    * ``shape: linear`` (default) — s = 1 for w <= ``full_until``; s = 0 for w >= ``zero_at``;
      between them a straight line, s = (zero_at − w) / (zero_at − full_until).
      ``full_until`` is a duration (default "20s"); ``zero_at`` a duration strictly greater than
      ``full_until`` (default "5min").
    * ``shape: logistic`` — s = 1 / (1 + exp(k · (w − m) / 60)), with m = ``midpoint`` (a duration,
      default "2min": the wait at which s = 0.5) and k = ``steepness_per_min`` (> 0, per minute,
      default 1.5: how fast the score falls around the midpoint). Note s(0) < 1.

    The fields of the other shape must not be given.

    Outcome factors (shares in [0, 1]):

    * ``resolved`` (default 1.0) — a handled contact scores s(w) × resolved;
    * ``abandoned`` (default 0.0) — an abandoned contact scores this factor (its wait is not used);
    * ``unresolved`` (default 0.3) — reserved: a handled contact known to be unresolved scores
      s(w) × unresolved (used once results record resolution);
    * ``contained`` (default 0.8) — reserved: a contact contained by a bot scores s(w) × contained.

    Contacts still in the system at the end of the horizon have no score.

    ``channel_weight`` maps a channel name to a multiplier (> 0, default 1 for channels not listed);
    the score is multiplied by it and capped at 1. ``curves`` maps a channel name to its own wait
    curve (``shape`` and its parameters, as above) — e.g. email judged in hours:
    ``curves: {email: {full_until: 4h, zero_at: 48h}}``; channels not listed use the curve above. ``satisfied_at`` (a share, default 0.7) is the
    score from which a contact counts as satisfied (score >= satisfied_at).
    """

    abandoned: Share = 0.0
    unresolved: Share = 0.3
    contained: Share = 0.8
    resolved: Share = 1.0
    channel_weight: dict[Name, Factor] = Field(default_factory=dict)
    curves: dict[Name, WaitCurve] = Field(default_factory=dict)
    satisfied_at: Share = 0.7


class Economics(Strict):
    """Prices and the satisfaction proxy of a scenario.

    * ``currency`` — three capital letters (ISO 4217 style, default "EUR"); the unit of
      ``pools.*.cost_per_hour`` and of the penalties; a label only;
    * ``penalties`` — see :class:`Penalties` (default: none);
    * ``satisfaction`` — see :class:`Satisfaction` (default: linear, 1 up to 20 s, 0 from 5 min).
    """

    currency: str = "EUR"
    penalties: Penalties = Penalties()
    satisfaction: Satisfaction = Satisfaction()

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not _CURRENCY_RE.match(v):
            raise ValueError(f"{v!r} is not a currency code; expected three capital letters, e.g. 'EUR' or 'USD'")
        return v
