"""Named random streams spawned from one root seed.

A replication's seed is a :class:`numpy.random.SeedSequence`. Each random source of the model (a
channel's arrivals, a step's handle times, a segment's patience, a step's routing) draws from its own
stream, keyed by its name itself::

    stream("handle/answer") = PCG64(SeedSequence(entropy=root.entropy,
                                                 spawn_key=root.spawn_key + stream_key("handle/answer")))

so two variants of a scenario that share a source also share its numbers (common random numbers),
whatever else differs. ``stream_key`` is the name's UTF-8 bytes packed into 32-bit words after their
count: two different names always give different keys (no hash, so no collision however many
streams a scenario names), the same on every platform and Python version. Replication r of root
seed S uses ``SeedSequence(S).spawn(...)[r]``, i.e. spawn key ``(r,)``: the same in any process, on
any machine.

Numbers are drawn in blocks (``BLOCK`` at a time, vectorised by numpy) and served one by one by an
iterator chained from C (:func:`itertools.chain`), which keeps the engine's per-draw cost to one
``next`` call that runs no Python code except once per block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import chain, repeat

import numpy as np

BLOCK = 4096

Seed = int | np.random.SeedSequence
Draw = Callable[[np.random.Generator, int], np.ndarray]


def seed_sequence(seed: Seed) -> np.random.SeedSequence:
    """Accept an int or a SeedSequence; ints must be non-negative."""
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
    return np.random.SeedSequence(int(seed))


def replication_seeds(root: int, replications: int, first: int = 0) -> list[np.random.SeedSequence]:
    """Seeds of replications ``first .. first+replications-1`` of root seed ``root``.

    Replication r always gets spawn key (r,), so adding replications later extends, never reshuffles.
    """
    base = seed_sequence(root)
    return [
        np.random.SeedSequence(entropy=base.entropy, spawn_key=(*base.spawn_key, r))
        for r in range(first, first + replications)
    ]


def stream_key(name: str) -> tuple[int, ...]:
    """Spawn-key words of a stream name: its length in bytes, then its UTF-8 bytes four to a word
    (little-endian, the last word zero-padded). One-to-one: the length tells where the name ends."""
    data = name.encode("utf-8")
    padded = data + b"\0" * (-len(data) % 4)
    return (len(data), *(int.from_bytes(padded[i:i + 4], "little") for i in range(0, len(padded), 4)))


class Streams:
    """Factory of independent, named random streams under one replication seed."""

    def __init__(self, seed: Seed) -> None:
        self.root = seed_sequence(seed)

    def generator(self, name: str) -> np.random.Generator:
        ss = np.random.SeedSequence(entropy=self.root.entropy,
                                    spawn_key=(*self.root.spawn_key, *stream_key(name)))
        return np.random.Generator(np.random.PCG64(ss))

    def sampler(self, name: str, draw: Draw, block: int = BLOCK) -> Callable[[], float]:
        """A zero-argument function returning the next value of stream ``name`` drawn by ``draw``."""
        return _blocks(self.generator(name), draw, block).__next__

    def uniform(self, name: str) -> Callable[[], float]:
        return self.sampler(name, lambda g, n: g.random(n))

    def exponential(self, name: str) -> Callable[[], float]:
        """Unit-mean exponentials (divide by a rate to get gaps)."""
        return self.sampler(name, lambda g, n: g.standard_exponential(n))


def _blocks(gen: np.random.Generator, draw: Draw, block: int) -> Iterator[float]:
    """The values of ``draw(gen, block)``, block after block, one at a time."""
    return chain.from_iterable(map(lambda _: draw(gen, block).tolist(), repeat(None)))
