"""The compiled engine: a replication as numba-compiled functions over arrays.

The same model as the Python engine (:mod:`sim.engine.replication` and the pure core it
drives), step for step: the same moves, rounds, rules and timeouts in the same order, with the
random numbers of the same named streams drawn beforehand in the same blocks
(:mod:`sim.engine.kernel.draws`), so both engines give the same tables to the bit (tested on
every bundled scenario). :mod:`sim.engine.arrays` packs a scenario and a replication for it and
:mod:`sim.engine.tables` turns its arrays into the engine's tables;
:meth:`sim.engine.compile.Model.run` picks this engine where it can run the scenario.

Modules, lowest first: ``state`` (the arrays and their codes), ``queue`` (SimPy's event order),
``draws``, ``rules`` (the treaty's rules), ``logs``, ``ladder``, ``presidency``, ``holdouts``,
``desk`` (the one place a proposal moves), ``chair`` (rounds and meetings), ``timers``, ``loop``.
numba compiles them on first use and caches the machine code beside them (``__pycache__``):
about a minute and a half once per checkout, under half a second per process after that.
"""

import hashlib
from pathlib import Path

_HERE = Path(__file__).parent
_CACHE = _HERE / "__pycache__"


def cached() -> bool:
    """Whether numba has cached the compiled engine here (else its first use compiles it)."""
    return any(_CACHE.glob("loop.run-*.nbi"))


def _drop_stale_cache() -> None:
    """numba's cache checks each function against its own file only: a caller cached before a
    change to a function of another module keeps the old code. So the whole cache is dropped
    when any of the kernel's sources changed (their digest is kept beside it)."""
    sources = b"".join(p.read_bytes() for p in sorted(_HERE.glob("*.py")))
    digest = hashlib.sha256(sources).hexdigest()
    stamp = _CACHE / "sources.sha256"
    try:
        if stamp.exists() and stamp.read_text() == digest:
            return
        for f in _CACHE.glob("*.nb[ic]"):
            f.unlink(missing_ok=True)
        _CACHE.mkdir(exist_ok=True)
        stamp.write_text(digest)
    except OSError:  # a read-only installation: numba caches elsewhere, its sources never change
        pass


_drop_stale_cache()
