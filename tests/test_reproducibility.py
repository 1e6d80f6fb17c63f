"""Same scenario + seed = same numbers, in separate processes; different seeds differ."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import servsim
from conftest import ROOT

SCRIPT = """
import hashlib, sys
import pandas as pd
import servsim
s = servsim.load_scenario(sys.argv[1])
r = servsim.replicate(s, replications=2, seed=42)
h = hashlib.sha256()
for name in ("contacts", "visits", "pools", "intervals", "summary"):
    h.update(pd.util.hash_pandas_object(getattr(r, name), index=True).values.tobytes())
print(h.hexdigest())
"""


def _digest_in_new_process(path: str) -> str:
    out = subprocess.run([sys.executable, "-c", SCRIPT, path], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "random", "PATH": ""} | _pythonpath())
    return out.stdout.strip()


def _pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT / "src")}


def test_identical_tables_in_two_separate_processes():
    path = str(ROOT / "scenarios" / "back_office_rework.yaml")
    a = _digest_in_new_process(path)
    b = _digest_in_new_process(path)
    assert len(a) == 64 and a == b


def test_same_seed_same_tables_different_seed_different_tables():
    s = servsim.load_scenario(ROOT / "scenarios" / "mmc.yaml")
    a = servsim.simulate(s, seed=5)
    b = servsim.simulate(s, seed=5)
    c = servsim.simulate(s, seed=6)
    pd.testing.assert_frame_equal(a.contacts, b.contacts)
    pd.testing.assert_frame_equal(a.visits, b.visits)
    assert not a.contacts["arrival_s"].equals(c.contacts["arrival_s"])


def test_replication_r_is_the_same_whatever_the_number_of_replications():
    s = servsim.load_scenario(ROOT / "scenarios" / "mmc.yaml")
    three = servsim.replicate(s, replications=3, seed=9)
    two = servsim.replicate(s, replications=2, seed=9)
    pd.testing.assert_frame_equal(three.summary[three.summary.replication < 2].reset_index(drop=True),
                                  two.summary)


def test_common_random_numbers_keep_arrivals_when_staffing_changes():
    s = servsim.load_scenario(ROOT / "scenarios" / "mmc.yaml")
    data = s.model_copy(update={"pools": {"agents": s.pools["agents"].model_copy(update={"agents": 12})}})
    a = servsim.simulate(s, seed=3).contacts
    b = servsim.simulate(data, seed=3).contacts
    # arrivals come from their own stream, untouched by the staffing change
    assert a["arrival_s"].equals(b["arrival_s"])


def test_a_pickled_run_rebuilds_identical_per_contact_tables_from_a_smaller_payload():
    """Workers send a run back as its records; the tables built again after unpickling are the same."""
    import pickle

    r = servsim.simulate(servsim.load_scenario(ROOT / "scenarios" / "multichannel_contact_centre.yaml"), seed=4,
                         replication=3)
    copy = pickle.loads(pickle.dumps(r))
    for name in ("contacts", "visits", "summary", "intervals", "pools"):
        pd.testing.assert_frame_equal(getattr(copy, name), getattr(r, name))
    assert (copy.contacts["replication"] == 3).all()
    tables = len(pickle.dumps((r.contacts, r.visits), protocol=pickle.HIGHEST_PROTOCOL))
    assert len(pickle.dumps(r.per_contact)) < 0.6 * tables


def test_replications_on_two_workers_equal_one_worker_table_by_table():
    s = servsim.load_scenario(ROOT / "scenarios" / "back_office_rework.yaml")
    one = servsim.replicate(s, replications=3, seed=11)
    two = servsim.replicate(s, replications=3, seed=11, workers=2)
    for name in ("contacts", "visits", "summary", "intervals", "pools", "pool_summary"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))


def test_a_run_holds_its_records_and_builds_the_tables_when_first_read():
    """Replications kept in memory cost their records (about 60 bytes a contact), not their tables."""
    import gc
    import tracemalloc

    s = servsim.load_scenario(ROOT / "scenarios" / "mmc.yaml")
    servsim.simulate(s, seed=1)  # imports and caches warm
    tracemalloc.start()
    r = servsim.simulate(s, seed=1)
    gc.collect()  # what the run holds, not garbage (cyclic garbage waits for the collector)
    held, _ = tracemalloc.get_traced_memory()
    contacts, visits = r.contacts, r.visits
    gc.collect()
    with_tables, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert r.contacts is contacts and r.visits is visits      # built once, then kept
    assert with_tables - held > 2 * held, (held, with_tables)   # the tables dwarf what was held
