"""The SimPy shell: arrivals, body meetings and deadlines for one replication.

Processes only orchestrate: wait for the next meeting, ask the pure core what happens
(:func:`sim.core.negotiation.negotiate` for a round, :mod:`sim.core.ladder` for where the item
goes next), and record it through the :class:`~sim.engine.secretariat.Secretariat`. A body's
meetings are one chain of timeouts (:func:`chain`) that sleeps until each meeting on its calendar
and takes up to ``capacity`` discussion items from its agenda (urgent first, then oldest); items
agreed lower down pass as I/A items without using discussion room. Arrivals are one such chain;
deadlines and written procedures (:mod:`sim.engine.written`) are timeouts with callbacks, so
nothing costs a SimPy process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import compress
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
import simpy

from sim.core.ladder import Move, Route, Step, on_tabling
from sim.core.members import ProposalStances, StanceBlock, stance_arrays
from sim.core.negotiation import Draws
from sim.core.outcomes import Outcome
from sim.core.rng import Stream, name_key, stream
from sim.engine.arrow import ReplicationResult
from sim.engine.bargaining import Bargaining, HoldoutTimers
from sim.engine.chair import Chair, StreamDraws
from sim.engine.logs import Activity, proposal_frame
from sim.engine.mediation import HighRepresentative, Referral
from sim.engine.presidency import Presidency
from sim.engine.proposal import Proposal
from sim.engine.secretariat import Secretariat

if TYPE_CHECKING:
    from sim.engine.compile import (
        CompiledBody,
        CompiledScenario,
        CompiledType,
    )

# activities bound once: looking up enum members is slow in the per-round loop
_PENDING = int(Activity.PENDING)
_SUBMITTED = int(Activity.SUBMITTED)


class Replication:
    """One seeded run of the Council machinery over the horizon."""

    def __init__(
        self,
        compiled: CompiledScenario,
        dtypes: dict[str, pd.CategoricalDtype],
        seed: int,
        replication: int,
        draws: Draws | None = None,
        detail: bool = True,
    ) -> None:
        """``draws``: the rounds' uniform draws (default: the replication's named streams;
        tests script them). ``detail=False`` (metrics only) records no event log and no meeting
        log (their frames come back empty); proposals, stages and every draw are the same."""
        self.c = compiled
        self.dtypes = dtypes
        self.env = simpy.Environment(-compiled.warmup if compiled.warmup else 0.0)
        self._seed, self._rep = seed, replication
        self.desk = Secretariat(
            compiled, dtypes, self.env, seed, replication, self._on_enqueue, detail
        )
        self.presidency = Presidency(compiled, self.env, self._hold_meeting)
        practice = compiled.practice.bargaining
        self.bargaining = (
            HoldoutTimers(compiled)
            if practice is None
            else Bargaining(
                compiled, practice, self.env, self.desk, seed, replication, self.presidency
            )
        )
        brake = compiled.practice.brake
        mediation = (
            Referral(self.desk)
            if brake is None
            else HighRepresentative(self.desk, brake, self.env, seed, replication)
        )
        self.chair = Chair(
            compiled,
            self.desk,
            draws or StreamDraws(seed, replication, compiled.members.n),
            stream(seed, replication, Stream.OUTCOME),
            self.bargaining,
            mediation,
        )

    # --- timeout chains ----------------------------------------------------------------------

    def run(self, arrivals: list[tuple[float, int, float | None]] | None = None) -> None:
        """Run to the horizon and close every open proposal as ``pending``.

        ``arrivals``: ``(day, type index, deadline day)`` of each proposal, by time (default:
        drawn from the scenario, :meth:`~sim.engine.compile.CompiledScenario.arrivals`).
        """
        if arrivals is None:
            arrivals = self.c.arrivals(self._seed, self._rep)
        chain(self.env, self._arrivals(arrivals))
        for body in self.c.bodies:
            if len(body.times):
                chain(self.env, self._meetings(body))
        self.env.run(until=self.c.horizon)
        for p in self.desk.proposals:
            if p.outcome is None:
                self.desk.finish(p, Outcome.PENDING, _PENDING, self.c.horizon)

    def result(self) -> ReplicationResult:
        """The replication's tables (see :func:`tables`)."""
        d, start = self.desk, self.c.start_date
        return tables(
            self.c,
            proposal_frame(d.proposals, self.dtypes["type"], self.c.members.codes, start),
            d.events.to_frame(start),
            d.stages.to_frame(),
            d.meetings.to_frame(start),
        )

    def _arrivals(self, arrivals: list[tuple[float, int, float | None]]) -> Iterator[float]:
        c, env, desk = self.c, self.env, self.desk
        times: dict[int, list[float]] = {t.idx: [] for t in c.types}
        for day, type_idx, _ in arrivals:
            times[type_idx].append(day)
        tabling = {t.idx: _tabling(c, t, times[t.idx], self._seed, self._rep) for t in c.types}
        for day, type_idx, deadline in arrivals:
            yield max(day - env.now, 0.0)  # now may be an ulp past ``day``
            ptype = c.types[type_idx]
            stances, route, urgent, b_item = next(tabling[type_idx])
            pressure = ptype.run_up_days
            if deadline is not None and pressure is not None and deadline - pressure <= day:
                urgent = True  # tabled already within the presidency's run-up to the deadline
            p = Proposal(
                len(desk.proposals),
                ptype,
                day,
                deadline,
                stances,
                c.members.n,
                route,
                urgent,
                b_item,
            )
            desk.proposals.append(p)
            desk.events.record(day, p.id, _SUBMITTED, value=p.text)
            desk.new_text(p, day, not_before=stances.scrutiny_until)
            if deadline is not None:
                env.timeout(deadline - day).callbacks.append(self._lapse_callback(p))
                if pressure is not None and deadline - pressure > day:
                    wait = deadline - pressure - day
                    env.timeout(wait).callbacks.append(self.presidency.pressure(p))
            desk.apply(p, on_tabling(route, ptype.silence_first), day)

    def _meetings(self, body: CompiledBody) -> Iterator[float]:
        env = self.env
        for t in body.times.tolist():  # Python floats: cheaper arithmetic, the same values
            yield t - env.now
            self._hold_meeting(body, t)

    # --- a meeting ---------------------------------------------------------------------------

    def _hold_meeting(
        self, body: CompiledBody, now: float, convened_for: set[int] | None = None
    ) -> None:
        """A meeting of ``body`` at ``now``: a regular one, or an extraordinary one convened
        for the proposals ``convened_for``, which takes them and pressing items only."""
        b, desk, chair, capacity = body.idx, self.desk, self.chair, body.capacity
        agenda = desk.agendas[b]
        if not agenda:  # nothing to take up (a third of the meetings): only the meeting counts
            desk.meetings.record(b, now, 0, 0, 0, convened_for is not None)
            return
        keep: list[Proposal] = []
        order = []
        for p in agenda:
            v = p.visit  # set while on an agenda (Proposal.on_agenda, without the call)
            assert v is not None
            if convened_for is not None and not (
                p.urgent or p.deadline is not None or p.id in convened_for
            ):
                keep.append(p)  # not what the extraordinary meeting is for
            elif v.entered < now:  # urgent first, then oldest; ids unique: nothing else compared
                order.append((not p.urgent, v.entered, p.id, p, v))
            else:
                keep.append(p)
        order.sort()
        used = ia = 0
        for _, _, _, p, v in order:  # a round changes only its own item's visit
            if p.parked and p.holdouts.end > now:
                pass  # parked until its hold-outs concede: not discussed, no agenda room used
            elif not v.open:
                ia += 1
                v.account(now, p.ready_max)
                chair.pass_closed(p, body, now)
            elif used < capacity:
                used += 1
                v.account(now, p.ready_max)
                chair.round(p, v, body, now)
            if p.visit is not None and p.visit.body == b and p.outcome is None:
                keep.append(p)
        desk.agendas[b] = keep
        for p in keep:  # urgent items not settled: the body meets again at short notice,
            # unless held until a concession (which convenes it: Bargaining)
            if p.urgent and p.on_agenda().open and not (p.parked and p.holdouts.end > now):
                self.presidency.convene_for(p)
        desk.meetings.record(b, now, used, ia, len(keep), convened_for is not None)

    def _on_enqueue(self, p: Proposal, body: int, now: float) -> None:
        """An item put on ``body``'s agenda: its hold-outs may be raised there, and an urgent
        one may need an extraordinary meeting."""
        if not p.hold_started:
            self.bargaining.on_agenda(p, self.c.bodies[body].rank, now)
        if p.urgent:
            self.presidency.convene_for(p)

    # --- deadlines ----------------------------------------------------------------------------

    def _lapse_callback(self, p: Proposal) -> Callable[[simpy.Event], None]:
        return lambda _: self._lapse(p)

    def _lapse(self, p: Proposal) -> None:
        """The deadline passed with the item still open (e.g. a sanctions regime expires)."""
        if p.outcome is None:
            self.desk.apply(p, Move(Step.LAPSE, None, p.pos), self.env.now)


def chain(env: simpy.Environment, delays: Iterator[float]) -> None:
    """Run ``delays`` as a chain of timeouts: each delay it yields is waited for before it is
    resumed. A SimPy process over a generator that yields only timeouts, without the process's
    own events; the timeouts are scheduled at the same points, so in the same order."""

    def resume(_: simpy.Event | None) -> None:
        delay = next(delays, None)
        if delay is not None:
            env.timeout(delay).callbacks.append(resume)

    resume(None)


def tables(
    c: CompiledScenario,
    proposals: pd.DataFrame,
    events: pd.DataFrame,
    stages: pd.DataFrame,
    meetings: pd.DataFrame,
) -> ReplicationResult:
    """A replication's tables, of either engine: after a warm-up, of the proposals counted (see
    :func:`counted`; renumbered from 0 in order) and the meetings from day 0 on."""
    if c.warmup:
        keep = counted(
            proposals["arrival_day"].to_numpy(), proposals["deadline_day"].to_numpy(), c.horizon
        )
        new_id = np.cumsum(keep) - 1  # proposal ids are positions in arrival order
        proposals = proposals[keep].reset_index(drop=True)
        proposals["proposal_id"] = np.arange(len(proposals), dtype=np.int64)
        events, stages = (
            _renumbered(events, "case_id", keep, new_id),
            _renumbered(stages, "proposal_id", keep, new_id),
        )
        meetings = meetings[meetings["time_day"] >= 0.0].reset_index(drop=True)
    return ReplicationResult(proposals, events, stages, meetings)


def counted(arrival: np.ndarray, deadline: np.ndarray, horizon: float) -> np.ndarray:
    """Which proposals of a run with a warm-up its tables count: an item with a deadline when
    the deadline falls in ``[0, horizon)`` (a renewal belongs to the period it falls due in,
    even if tabled during the warm-up; one due after the horizon is the next period's, not a
    pending failure), any other item when it was tabled from day 0 on (``deadline`` NaN)."""
    with np.errstate(invalid="ignore"):
        due = (deadline >= 0.0) & (deadline < horizon)
    return np.where(np.isnan(deadline), arrival >= 0.0, due)


def _renumbered(
    table: pd.DataFrame, column: str, keep: np.ndarray, new_id: np.ndarray
) -> pd.DataFrame:
    """The rows of ``table`` whose proposal (``column``) is kept, with the proposals' new ids."""
    ids = table[column].to_numpy()
    out = table[keep[ids]].reset_index(drop=True)
    out[column] = new_id[ids[keep[ids]]]
    return out


class Tabled(NamedTuple):
    """New proposals of one type, drawn in one block: the states' stances, the bodies each
    skips, whether each is urgent and whether ministers will discuss it."""

    stances: StanceBlock
    skipped: list[tuple[int, ...]]
    urgent: np.ndarray
    b_item: np.ndarray


def tabled(
    c: CompiledScenario, t: CompiledType, days: list[float], seed: int, replication: int
) -> Tabled:
    """The new proposals of type ``t`` tabled on ``days``, drawn in one block per type from the
    type's streams (route and stances)."""
    times = np.array(days)
    k, share = len(times), t.crisis_share
    urgent = np.full(k, share >= 1.0)
    b_item = np.zeros(k, dtype=bool)
    skipped: list[tuple[int, ...]] = [()] * k
    plain, crisis = dict(t.normal.skip), dict(t.crisis.skip)
    if 0.0 < share < 1.0 or plain or crisis or t.ministers_discuss > 0.0:
        rng = stream(seed, replication, Stream.ROUTE, name_key(t.name))
        # one column per body skipped by some: those of the plain profile first, then the
        # crisis profile's own (the crisis skips are the plain ones with its own in place)
        bodies = [*plain, *(b for b in crisis if b not in plain)]
        u = rng.random((k, 2 + len(bodies)))
        urgent = u[:, 0] < share if share < 1.0 else urgent
        b_item = u[:, 1] < t.ministers_discuss
        p_plain = np.array([plain.get(b, 0.0) for b in bodies])
        p_urgent = np.array([crisis.get(b, 0.0) for b in bodies])
        skips = u[:, 2:] < np.where(urgent[:, None], p_urgent, p_plain)
        skipped = [tuple(compress(bodies, row)) for row in skips.tolist()]
    rng = stream(seed, replication, Stream.PROPOSAL, name_key(t.name))
    exempt = urgent | (not t.scrutiny)  # no scrutiny reservation on these
    holdout_scale = np.where(urgent, t.crisis.holdout_scale, t.normal.holdout_scale)
    stances = stance_arrays(
        c.members,
        t.name,
        t.contestation,
        exempt,
        times,
        rng,
        holdout_scale,
        t.holdout_duration_scale,
    )
    return Tabled(stances, skipped, urgent, b_item)


def _tabling(
    c: CompiledScenario,
    t: CompiledType,
    days: list[float],
    seed: int,
    replication: int,
) -> Iterator[tuple[ProposalStances, Route, bool, bool]]:
    """Each new proposal of type ``t`` (tabled on ``days``): the states' stances, its route
    (optional bodies skipped), whether it is urgent and whether ministers will discuss it
    (:func:`tabled`, one proposal at a time)."""
    block = tabled(c, t, days, seed, replication)
    stances = block.stances.rows()
    routes = [t.route.without(s) for s in block.skipped]
    yield from zip(stances, routes, block.urgent.tolist(), block.b_item.tolist(), strict=True)
