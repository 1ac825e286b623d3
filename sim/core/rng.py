"""Named random streams: every source of randomness has its own addressable generator.

A stream is derived from ``(seed, replication, purpose, *key)`` with
:class:`numpy.random.SeedSequence` and a ``spawn_key``, never from a global RNG and never from
the order in which streams happen to be created. Adding a purpose or a member state therefore
leaves every other stream unchanged, and two scenarios run with the same seed draw the same
arrivals (common random numbers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from enum import IntEnum

import numpy as np


class Stream(IntEnum):
    """Stable ids of random purposes. Append only; never renumber."""

    ARRIVALS = 0  # arrival times, keyed by proposal type
    PROPOSAL = 1  # per-proposal member attributes (positions, hold-outs, scrutiny), by type
    INSTRUCTIONS = 2  # instruction delays from capitals after each new text
    OBJECTIONS = 3  # idiosyncratic objections in a round
    ABSTENTIONS = 4  # objectors choosing to abstain
    WRITTEN = 5  # written-procedure periods and objections
    BRAKE = 6  # emergency-brake invocations
    OUTCOME = 7  # withdrawal of hopeless items
    ROUTE = 8  # per-proposal urgency and bodies skipped, keyed by proposal type
    SHOCK = 9  # the shared factor of all capitals' instruction delays on one text
    CONCESSION = 10  # concession margins before deadlines, abstention after a concession
    POSTERIOR = 11  # the posterior parameter draw of a replication (run --posterior)
    MEDIATION = 12  # the High Representative's mediation after an emergency brake
    WORKAROUND = 13  # a blocked declaration issued all the same (the type's workaround)


def name_key(name: str) -> int:
    """A stable 32-bit integer for a name (proposal type, member code).

    >>> name_key("FR") == name_key("FR") and name_key("FR") != name_key("DE")
    True
    """
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")


def stream(seed: int, replication: int, purpose: Stream, *key: int) -> np.random.Generator:
    """The generator for one purpose (and optional key) of one replication."""
    ss = np.random.SeedSequence(seed, spawn_key=(replication, int(purpose), *key))
    return np.random.Generator(np.random.PCG64(ss))


class Rows:
    """Rows of random numbers drawn in blocks: one generator call serves ``rows`` requests.

    ``draw(rng, rows)`` returns an array whose first axis has ``rows`` entries; :attr:`next`
    hands them out in order and draws the next block when they run out (the first block is
    drawn at once). Drawing in blocks is much cheaper than one small draw per round, and the
    sequence stays a pure function of the generator, so runs remain reproducible to the bit.
    """

    __slots__ = ("next",)

    def __init__(
        self,
        rng: np.random.Generator,
        draw: Callable[[np.random.Generator, int], np.ndarray],
        rows: int = 256,
    ) -> None:
        # the next row: a generator's own ``__next__``, cheaper to call than a method of ours
        self.next: Callable[[], np.ndarray] = _blocks(rng, draw, rows, draw(rng, rows)).__next__


def _blocks(
    rng: np.random.Generator,
    draw: Callable[[np.random.Generator, int], np.ndarray],
    rows: int,
    block: np.ndarray,
) -> Iterator[np.ndarray]:
    """The rows of ``block``, then of each block drawn when the previous one runs out."""
    while True:
        yield from block
        block = draw(rng, rows)


def draw_seed() -> int:
    """A fresh 63-bit seed from the OS, for runs without ``--seed`` (recorded in the manifest)."""
    return int(np.random.SeedSequence().generate_state(2, np.uint64)[0] >> np.uint64(1))
