"""Named random streams spawned from one root seed.

A replication's seed is a :class:`numpy.random.SeedSequence`. Each random source of the model (a
channel's arrivals, a step's handle times, a segment's patience, a step's routing) draws from its own
stream, keyed by a stable hash of its name::

    stream("handle/answer") = PCG64(SeedSequence(entropy=root.entropy,
                                                 spawn_key=root.spawn_key + (crc32("handle/answer"),)))

so two variants of a scenario that share a source also share its numbers (common random numbers),
whatever else differs. Replication r of root seed S uses ``SeedSequence(S).spawn(...)[r]``, i.e.
spawn key ``(r,)``: the same in any process, on any machine.

Numbers are drawn in blocks (``BLOCK`` at a time, vectorised by numpy) and served one by one by an
iterator chained from C (:func:`itertools.chain`), which keeps the engine's per-draw cost to one
``next`` call that runs no Python code except once per block.
"""

from __future__ import annotations

import zlib
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


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (crc32: same on every platform and Python version)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of independent, named random streams under one replication seed."""

    def __init__(self, seed: Seed) -> None:
        self.root = seed_sequence(seed)

    def generator(self, name: str) -> np.random.Generator:
        ss = np.random.SeedSequence(entropy=self.root.entropy,
                                    spawn_key=(*self.root.spawn_key, stream_key(name)))
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
