"""``python -m sim``: the same program as ``cfsp-sim``."""

from sim.cli import entry

entry()
