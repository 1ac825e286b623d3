"""Named random streams."""

from __future__ import annotations

import numpy as np

from sim.core.rng import Stream, name_key, stream


def test_same_address_same_draws() -> None:
    a = stream(42, 3, Stream.ARRIVALS, name_key("listing")).random(5)
    b = stream(42, 3, Stream.ARRIVALS, name_key("listing")).random(5)
    assert np.array_equal(a, b)


def test_streams_do_not_depend_on_creation_order() -> None:
    first = stream(1, 0, Stream.OBJECTIONS).random(3)
    stream(1, 0, Stream.ARRIVALS).random(100)  # another purpose in between
    assert np.array_equal(first, stream(1, 0, Stream.OBJECTIONS).random(3))


def test_purposes_replications_and_keys_differ() -> None:
    base = stream(1, 0, Stream.OBJECTIONS).random(4)
    assert not np.array_equal(base, stream(1, 1, Stream.OBJECTIONS).random(4))
    assert not np.array_equal(base, stream(1, 0, Stream.ABSTENTIONS).random(4))
    assert not np.array_equal(base, stream(2, 0, Stream.OBJECTIONS).random(4))
    a = stream(1, 0, Stream.ARRIVALS, name_key("a")).random(4)
    assert not np.array_equal(a, stream(1, 0, Stream.ARRIVALS, name_key("b")).random(4))


def test_streams_look_independent() -> None:
    a = stream(7, 0, Stream.INSTRUCTIONS).standard_normal(50_000)
    b = stream(7, 0, Stream.OBJECTIONS).standard_normal(50_000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.02
