"""Every example scenario's tables equal their golden copy (``tests/golden_tables.py`` wrote it).

This is a regression guard, not validation: theory tests live in ``test_statistical.py``. Counts
must be equal exactly; floats to 1e-9 relative, the rounding a different numpy summation order
may give.

Columns and KPI rows added since the golden copy was written are listed in :data:`ADDED` (with
why); every other column must be present and equal. The KPI table is compared row by row keyed by
(channel, segment, metric), since its row order follows the registry's declaration order.
"""

from __future__ import annotations

import pandas as pd
import pytest

from golden_tables import GOLDEN, SCENARIOS, tables

#: Columns (or, for ``kpis``, metrics) added after the golden copy, per table, and why: wrap-up
#: (``mean_wrap_s``, pools' ``wrap_s``) and preemption of interruptible work (``preempted``), NaN or
#: 0 where a scenario does not use them; ``blocked`` and ``blocking_rate`` (trunk lines and queue
#: capacity; 0 in every example, which uses neither); callbacks (``channels.<c>.callback``):
#: offered, accepted and their wait, zero or NaN where unused; ``overtime_s`` (pools,
#: pool_summary): paid time beyond the schedule, added with horizon.closing.
_WRAP_PREEMPT = {"mean_wrap_s", "preempted", "blocked", "blocking_rate"}
_CALLBACKS = {"callbacks_offered", "callbacks_accepted", "callback_wait_s"}
ADDED: dict[str, set[str]] = {"intervals": _WRAP_PREEMPT | _CALLBACKS, "summary": _WRAP_PREEMPT | _CALLBACKS,
                              "kpis": set(), "pools": {"wrap_s", "overtime_s"},
                              "pool_summary": {"wrap_s", "overtime_s"}}
KEY = ["replication", "channel", "segment", "metric"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_tables_equal_their_golden_copy(path):
    expected = {f.stem: pd.read_parquet(f) for f in sorted((GOLDEN / path.stem).glob("*.parquet"))}
    assert expected, f"no golden tables for {path.stem}: run python tests/golden_tables.py"
    actual = tables(path)
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        got = actual[name].reset_index(drop=True)
        if name == "kpis":
            key = [k for k in KEY if k in want.columns]
            assert set(got["metric"]) - set(want["metric"]) == ADDED["kpis"]
            got = got[got["metric"].isin(set(want["metric"]))]
            got, want = (df.sort_values(key, kind="stable").reset_index(drop=True) for df in (got, want))
        else:
            # a copy written before a column was added lacks it; one written later (a new example) has it
            assert set(got.columns) - set(want.columns) <= ADDED.get(name, set()), name
            got = got[list(want.columns)]
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False,
                                      check_exact=False, rtol=1e-9, atol=0, obj=f"{path.stem}.{name}")
