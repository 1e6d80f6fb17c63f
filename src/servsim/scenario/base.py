"""Shared building blocks of the scenario schema: the strict base model and unit-carrying types."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from servsim.units import parse_clock, parse_duration, parse_late_clock, parse_rate


class Strict(BaseModel):
    """Base of every scenario model: immutable, unknown keys refused, NaN and infinity refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: A duration in seconds, written with its unit in the file ("45s", "6min", "2h").
Duration = Annotated[float, BeforeValidator(parse_duration)]
#: A clock time in seconds after midnight, written "HH:MM" ("08:30").
Clock = Annotated[float, BeforeValidator(parse_clock)]
#: A clock time that may lie past midnight, up to "48:00" (a day open 18:00–02:00 ends at "26:00").
LateClock = Annotated[float, BeforeValidator(parse_late_clock)]
#: A rate in events per second, written with its unit ("9.5/min", "120/h").
Rate = Annotated[float, BeforeValidator(parse_rate)]
#: A probability or share in [0, 1].
Share = Annotated[float, Field(ge=0.0, le=1.0)]
#: Largest factor (multiplier) accepted: a factor times the longest duration must stay finite.
MAX_FACTOR = 1e6
#: A strictly positive, finite factor (multiplier), at most ``MAX_FACTOR``.
Factor = Annotated[float, Field(gt=0.0, le=MAX_FACTOR)]
#: A name used as a key (channel, segment, pool, step): letters, digits, '_', '-', '.'.
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.\- ]*$")]
