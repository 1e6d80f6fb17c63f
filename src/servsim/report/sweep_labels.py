"""How a sweep's parameters and money are named in its tables and figures: a parameter path as
people say it, its values as numbers with their unit, the currency of the base scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd

from servsim.experiments.sweep import Sweep, _split_unit


def numeric(values: pd.Series) -> tuple[np.ndarray, str]:
    """Parameter values as numbers, and their unit ('' for plain numbers): '9.5/min' -> 9.5, '/min'."""
    pairs = [_split_unit(v) for v in values]
    units = {u for _, u in pairs}
    return np.array([x for x, _ in pairs]), (units.pop() if len(units) == 1 else "")


def currency(sw: Sweep) -> str:
    """The currency money is shown in: the base scenario's ``economics.currency``."""
    return sw.scenarios[0].economics.currency if sw.scenarios else "EUR"


def parameter_label(path: str, unit: str = "") -> str:
    """A swept path as people say it: ``pools.clerks.agents`` → "agents of clerks",
    ``channels.calls.arrivals.rate`` with unit "/min" → "arrivals rate of calls (per min)"."""
    parts = path.split(".")
    text = path if len(parts) < 3 else f"{' '.join(parts[2:])} of {parts[1]}"
    text = text.replace("_", " ")
    if unit:
        text += f" (per {unit[1:]})" if unit.startswith("/") else f" ({unit})"
    return text
