"""The one error type for problems with what the user gave.

Every bad input — a scenario key, a command-line option, an output folder that may not be
replaced, a results folder that is corrupt, incomplete or not one at all, a run too large to
start without ``--allow-large`` — is a :class:`UserError` (or a subclass such as
:class:`~sim.scenario.ScenarioError`). The command line reports it as one line and exits with
status 2; anything else is a bug or an environment failure (status 1).
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""
