"""Statistics across replications.

Replications are independent and identically distributed, so a KPI's replication means x_1..x_n
give the point estimate x̄ and the Student-t confidence interval

    x̄ ± t_{1−α/2, n−1} · s / √n,     s² = Σ (x_i − x̄)² / (n − 1)

(Law, *Simulation Modeling and Analysis*, 5th ed., §9.4.1). With n = 1 the half-width is undefined
(NaN), never zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st


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
    """Mean and t-based confidence half-width of i.i.d. values (NaNs dropped)."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return Interval(np.nan, np.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, np.nan, n)
    sem = float(x.std(ddof=1)) / np.sqrt(n)
    return Interval(mean, float(_st.t.ppf(0.5 + level / 2, n - 1) * sem), n)


def summarise(table: pd.DataFrame, by: list[str], metrics: list[str], level: float = 0.95) -> pd.DataFrame:
    """Long table of mean, CI half-width and n of each metric across replications, per group ``by``."""
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
