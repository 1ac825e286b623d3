"""A proposal's visit to one body, and where its time goes while there.

Each interval between two looks at the item is split into *waiting for instructions* (while some
capital has not sent instructions on the current text), then *negotiating* (after the item's
first round at this body) or *waiting for a meeting* (before it). Items passing as I/A items
(``open`` false) wait for no instructions.
"""

from __future__ import annotations

import math


class Visit:
    """One stay of a proposal on one body's agenda. Times are days since the scenario start."""

    __slots__ = (
        "body",
        "entered",
        "failed",
        "first_failed",
        "negotiating",
        "open",
        "rounds",
        "t_mark",
        "tabled",
        "wait_instructions",
        "wait_meeting",
    )

    def __init__(self, body: int, now: float, open_: bool) -> None:
        self.body = body
        self.open = open_  # discussed (B item) rather than passed without discussion (I/A)
        self.entered = now
        self.t_mark = now
        self.tabled = False
        self.rounds = 0  # rounds held at this body
        self.failed = 0  # failed rounds since the last escalation or restart
        self.first_failed = math.nan  # the day of the first round that failed here
        self.wait_meeting = 0.0
        self.wait_instructions = 0.0
        self.negotiating = 0.0

    def account(self, now: float, ready_max: float) -> None:
        """Split the time since the last look into the three kinds.

        >>> v = Visit(0, 0.0, True)
        >>> v.account(10.0, ready_max=4.0)
        >>> v.wait_instructions, v.wait_meeting, v.negotiating
        (4.0, 6.0, 0.0)
        >>> v.rounds = 1
        >>> v.account(15.0, ready_max=4.0)
        >>> v.negotiating
        5.0
        """
        interval = now - self.t_mark
        if interval > 0:
            instr = min(max(ready_max - self.t_mark, 0.0), interval) if self.open else 0.0
            self.wait_instructions += instr
            if self.rounds:
                self.negotiating += interval - instr
            else:
                self.wait_meeting += interval - instr
        self.t_mark = now
