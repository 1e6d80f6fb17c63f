"""SIGKILL the driver of ``servsim run --workers 2``, ``compare`` and ``sweep`` at random points, then
check that no servsim process it started survives it by 5 s and that a rerun's tables equal those of
an uninterrupted run.

    python tests/kill_drivers.py --times 10     # each command killed 10 times (the acceptance loop)

``tests/test_kill.py`` runs the same loop a few times per command. A driver's processes are found
by a token in their environment (workers inherit it, whatever their parent is after the kill), so
the check sees every process the driver started, not only its direct children.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TOKEN_ENV = "SERVSIM_KILL_TEST_TOKEN"
#: How long a killed driver's workers may take to end (the issue's bound).
SURVIVAL_S = 5.0
#: Most kills come this many seconds at most after the workers started (the rest: at any point).
WORKER_PHASE_S = 0.4

SCENARIO = """\
name: kill test centre
horizon: {start: "08:00", end: "16:00", interval: 30min}
channels:
  calls: {arrivals: {rate: 4/min}, entry: answer, patience: {dist: exponential, mean: 3min}}
pools:
  agents: {agents: 5, skills: {answer: 1.0}}
steps:
  answer: {handle_time: {dist: exponential, mean: 1min}}
"""

EXPERIMENT = """\
name: kill test options
base: centre.yaml
replications: 4
seed: 11
metrics: [asa_s, abandon_rate]
options:
  base: []
  more_staff: [{set: {path: pools.agents.agents, value: 6}}]
"""

SWEEP = """\
name: kill test sweep
base: centre.yaml
replications: 2
seed: 11
metrics: [asa_s]
sweep:
  parameters:
    pools.agents.agents: [4, 5, 6]
"""

COMMANDS = ("run", "compare", "sweep")


def write_files(folder: Path) -> None:
    (folder / "centre.yaml").write_text(SCENARIO)
    (folder / "exp.yaml").write_text(EXPERIMENT)
    (folder / "sweep.yaml").write_text(SWEEP)


def argv(command: str, folder: Path, out: Path) -> list[str]:
    base = [sys.executable, "-m", "servsim.cli"]
    if command == "run":
        return [*base, "run", str(folder / "centre.yaml"), "-n", "16", "-w", "2", "-s", "3", "--json",
                "--out", str(out)]
    file = "exp.yaml" if command == "compare" else "sweep.yaml"
    return [*base, command, str(folder / file), "-w", "2", "--quiet", "--out", str(out)]


def environment(token: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg", TOKEN_ENV: token}


def processes_with(token: str) -> list[int]:
    """Pids of the live processes whose environment carries ``token`` (Linux /proc)."""
    needle = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    with open(f"/proc/{entry.name}/stat", "rb") as s:
                        if s.read().rsplit(b")", 1)[-1].split()[0] != b"Z":  # a zombie is dead
                            found.append(int(entry.name))
        except OSError:
            continue
    return found


def tables(out: Path) -> dict[str, pd.DataFrame]:
    """The final tables a command wrote to ``out`` (parquet and CSV; not the store)."""
    found = {}
    for path in sorted(out.iterdir()):
        if path.suffix == ".parquet":
            found[path.name] = pd.read_parquet(path)
        elif path.suffix == ".csv":
            found[path.name] = pd.read_csv(path)
    return found


def finish(command: str, folder: Path, out: Path) -> float:
    """Run ``command`` to its end into ``out``; its duration in seconds."""
    start = time.monotonic()
    res = subprocess.run(argv(command, folder, out), env=environment(uuid.uuid4().hex), capture_output=True,
                         text=True, timeout=300)
    if res.returncode != 0:
        raise AssertionError(f"{command} exited {res.returncode}: {res.stderr[-2000:]}")
    return time.monotonic() - start


@dataclass
class Outcome:
    command: str
    kills: int = 0
    with_workers: int = 0  # kills that found workers running
    finished_first: int = 0  # runs that ended before the kill came
    slowest_exit_s: float = 0.0
    failures: list[str] = field(default_factory=list)


def kill_once(command: str, folder: Path, out: Path, reference: dict[str, pd.DataFrame], duration: float,
              rng: random.Random, outcome: Outcome) -> None:
    """Start ``command``, SIGKILL its driver at a random point, check for survivors, rerun, compare."""
    token = uuid.uuid4().hex
    proc = subprocess.Popen(argv(command, folder, out), env=environment(token), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    start = time.monotonic()
    if rng.random() < 0.3:  # any point, start-up included
        time.sleep(rng.uniform(0.0, duration))
    else:  # a point while the workers run
        while time.monotonic() - start < 2 * duration and len(processes_with(token)) < 2 and proc.poll() is None:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, WORKER_PHASE_S))
    alive = processes_with(token)
    finished = proc.poll() is not None
    proc.kill()
    proc.wait()
    outcome.kills += not finished
    outcome.finished_first += finished
    outcome.with_workers += len(alive) > 1
    killed = time.monotonic()
    survivors = processes_with(token)
    while survivors and time.monotonic() - killed < SURVIVAL_S:
        time.sleep(0.05)
        survivors = processes_with(token)
    outcome.slowest_exit_s = max(outcome.slowest_exit_s, time.monotonic() - killed)
    if survivors:
        outcome.failures.append(f"{command}: processes {survivors} outlived their killed driver by {SURVIVAL_S} s")
        for pid in survivors:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    finish(command, folder, out)
    got = tables(out)
    if set(got) != set(reference):
        outcome.failures.append(f"{command}: rerun wrote {sorted(got)}, uninterrupted {sorted(reference)}")
        return
    for name, frame in reference.items():
        try:
            pd.testing.assert_frame_equal(got[name], frame)
        except AssertionError as exc:
            outcome.failures.append(f"{command}: {name} differs after a kill and a rerun: {exc}")


def kill_loop(folder: Path, times: int, seed: int = 0, commands: tuple[str, ...] = COMMANDS,
              uninterrupted: Callable[[str, Path, Path], float] = finish) -> list[Outcome]:
    """Kill each command's driver ``times`` times in ``folder`` (scenario files are written there);
    an attempt whose driver finished before its kill does not count (at most ``3 × times`` attempts).
    ``uninterrupted(command, folder, out)`` makes the reference tables and returns its duration."""
    write_files(folder)
    rng = random.Random(seed)
    outcomes = []
    for command in commands:
        reference_out = folder / f"{command}-uninterrupted"
        duration = uninterrupted(command, folder, reference_out)
        reference = tables(reference_out)
        outcome = Outcome(command)
        attempt = 0
        while outcome.kills < times and attempt < 3 * times:  # a run that finished first was not killed
            # a fresh folder each time: a rerun leaves every task stored
            kill_once(command, folder, folder / f"{command}-killed-{attempt}", reference, duration, rng, outcome)
            attempt += 1
        outcomes.append(outcome)
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--times", type=int, default=10, help="kills per command")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill points")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = kill_loop(Path(tmp), args.times, args.seed)
    failed = False
    for o in outcomes:
        print(f"{o.command:8s} killed {o.kills} times ({o.with_workers} with workers running, {o.finished_first} "
              f"finished first); slowest end of all its processes {o.slowest_exit_s:.2f} s after the kill; "
              f"failures: {len(o.failures)}")
        for failure in o.failures:
            print("  " + failure)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
