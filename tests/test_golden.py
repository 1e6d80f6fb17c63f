"""Every example scenario's tables equal their golden copy (``tests/golden_tables.py`` wrote it).

This is a regression guard, not validation: theory tests live in ``test_statistical.py``. Counts
must be equal exactly; floats to 1e-9 relative, the rounding a different numpy summation order
may give.
"""

from __future__ import annotations

import pandas as pd
import pytest

from golden_tables import GOLDEN, SCENARIOS, tables


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_tables_equal_their_golden_copy(path):
    expected = {f.stem: pd.read_parquet(f) for f in sorted((GOLDEN / path.stem).glob("*.parquet"))}
    assert expected, f"no golden tables for {path.stem}: run python tests/golden_tables.py"
    actual = tables(path)
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        got = actual[name].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, want, check_dtype=False, check_categorical=False,
                                      check_exact=False, rtol=1e-9, atol=0, obj=f"{path.stem}.{name}")
