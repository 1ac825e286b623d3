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
about a minute once per checkout, a second per process after that.
"""

from pathlib import Path


def cached() -> bool:
    """Whether numba has cached the compiled engine here (else its first use compiles it)."""
    return any((Path(__file__).parent / "__pycache__").glob("loop.run-*.nbi"))
