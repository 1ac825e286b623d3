"""The state one proposal carries through the Council ladder during a replication.

A slotted record (the model creates hundreds per replication-year): what the proposal is, the
text on the table and the states' stances, when capitals' instructions on that text arrive, the
current body visit (:class:`~sim.core.visit.Visit`), and how it ended.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from sim.core.ladder import Route
from sim.core.members import Holdouts, ProposalStances
from sim.core.outcomes import Outcome
from sim.core.visit import Visit

if TYPE_CHECKING:
    from sim.engine.compile import CompiledType, Profile


class Proposal:
    """One proposal in flight. Times are days since the scenario start."""

    __slots__ = (
        "abstainers",
        "arrival",
        "b_item",
        "blockers",
        "braked",
        "deadline",
        "decided_at",
        "decided_day",
        "escalations",
        "held_logged",
        "hold_started",
        "holdouts",
        "id",
        "instr_logged",
        "outcome",
        "parked",
        "pos",
        "profile",
        "ready",
        "ready_max",
        "rounds",
        "route",
        "stances",
        "text",
        "text_time",
        "type",
        "urgent",
        "visit",
        "visited_top",
    )

    def __init__(
        self,
        pid: int,
        ptype: CompiledType,
        arrival: float,
        deadline: float | None,
        stances: ProposalStances,
        n_members: int,
        route: Route,
        urgent: bool,
        b_item: bool = False,
    ) -> None:
        self.id = pid
        self.type = ptype
        self.route = route  # the type's route less the bodies skipped for this proposal
        self.profile: Profile = ptype.crisis if urgent else ptype.normal
        self.urgent = urgent  # the profile's, kept at hand: agendas sort by it
        self.b_item = b_item  # ministers will discuss it at the adopting body
        self.arrival = arrival
        self.deadline = deadline
        self.text = ptype.ambition
        self.stances = stances
        self.holdouts = Holdouts.none(n_members)  # raised when the item reaches their level
        self.hold_started = False
        self.parked = False  # held by hold-outs only: not discussed until they concede
        # instructions on the current text: the day each capital's arrive
        self.text_time = arrival
        self.ready = np.empty(n_members)
        self.ready.fill(arrival)
        self.ready_max = arrival
        self.instr_logged = True
        self.held_logged = False
        self.abstainers = np.zeros(n_members, bool)
        self.blockers = np.zeros(n_members, bool)
        self.outcome: Outcome | None = None
        self.decided_day = math.nan
        self.decided_at = ""
        self.rounds = 0
        self.escalations = 0
        self.braked = False
        self.visited_top = False
        self.pos = 0  # position on the route
        self.visit: Visit | None = None

    def _ready_on(self, ready: np.ndarray, now: float) -> None:
        """Capitals' instructions arrive on the days ``ready`` (the last of them, or ``now``)."""
        self.ready = ready
        latest = max(ready.tolist())  # a Python max: cheaper than numpy's on 27 states
        self.ready_max = latest if latest > now else now

    def on_agenda(self) -> Visit:
        """The current visit (always set while the item is on an agenda)."""
        assert self.visit is not None
        return self.visit

    def turn_urgent(self, now: float) -> None:
        """The item turns urgent at ``now`` (its deadline nears): it takes its type's crisis
        profile, and capitals still to instruct are pressed: what remains of each pending
        instruction delay is scaled by the crisis profile's instruction scale over the one it
        had."""
        before, self.profile = self.profile, self.type.crisis
        self.urgent = True
        factor = self.profile.instruction_scale / before.instruction_scale
        if factor < 1.0 and self.ready_max > now:
            ready = self.ready
            self._ready_on(np.where(ready > now, now + (ready - now) * factor, ready), now)

    def instruct(self, ready: np.ndarray, now: float) -> None:
        """A new text at ``now``: capitals' instructions arrive on the days ``ready``."""
        self._ready_on(ready, now)
        self.text_time = now
        self.instr_logged = False
        self.held_logged = False
