"""Golden copies of every example scenario's result tables, so a refactoring of how KPIs are
computed can show that it changed no number.

    python tests/golden_tables.py          # rewrite tests/golden/ from the current code

Regenerate only in a commit that says which columns changed and why; ``test_golden.py`` compares.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
TABLES = ("summary", "intervals", "pools", "pool_summary")
REPLICATIONS, SEED = 2, 7


def tables(path: Path, log: bool = True) -> dict[str, pd.DataFrame]:
    """The result tables of ``path`` for :data:`SEED` and :data:`REPLICATIONS`, plus the KPI table."""
    import servsim

    r = servsim.replicate(servsim.load_scenario(path), replications=REPLICATIONS, seed=SEED, log=log)
    out = {name: getattr(r, name) for name in TABLES}
    out["kpis"] = r.kpi_table()
    return out


def main() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    for path in SCENARIOS:
        folder = GOLDEN / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in tables(path).items():
            df.to_parquet(folder / f"{name}.parquet", index=False)
        print(f"wrote {folder.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
