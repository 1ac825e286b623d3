"""The compiled engine from Python: a scenario as arrays, a replication's proposals and random
numbers drawn for it, and :class:`Kernel`, which runs replications on
:mod:`sim.engine.kernel` and returns the Python engine's tables (:mod:`sim.engine.tables`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core.distributions import Distribution, Fixed, Triangular, Uniform
from sim.core.rng import Stream, stream
from sim.core.voting import ConstructiveAbstentionRule, QualifiedMajorityRule, VotingRule
from sim.engine.kernel import state as S
from sim.scenario import Level

if TYPE_CHECKING:
    from sim.engine.arrow import ReplicationResult
    from sim.engine.compile import CompiledScenario


def _dist(d: Distribution | None) -> list[float] | None:
    """A flat pool's distribution as (family, parameters); None if it takes other than one
    double a value."""
    if d is None:
        return [S.D_NONE, 0.0, 0.0, 0.0]
    if isinstance(d, Fixed):
        return [S.D_FIXED, d.value, 0.0, 0.0]
    if isinstance(d, Uniform):
        return [S.D_UNIFORM, d.low, d.high, 0.0]
    if isinstance(d, Triangular):
        return [S.D_TRIANGULAR, d.low, d.mode, d.high]
    return None


def flat_distributions(c: CompiledScenario) -> np.ndarray | None:
    """The distributions drawn from mixed streams, or None if one of them is not drawn one
    double a value (such a scenario runs on the Python engine)."""
    bargaining, brake = c.practice.bargaining, c.practice.brake
    rows = [
        _dist(c.written_days),
        _dist(c.written_urgent_days),
        _dist(None if bargaining is None else bargaining.concession_margin),
        _dist(None if bargaining is None or bargaining.tandem is None else bargaining.tandem[1]),
        _dist(None if brake is None else brake.mediation_days),
    ]
    if any(r is None for r in rows):
        return None
    return np.array(rows, dtype=float)


def _rules(c: CompiledScenario) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, int]]:
    """The scenario's rules as arrays (kind, thresholds, integer parameters), and each rule
    object's row."""
    rules: list[VotingRule] = []
    index: dict[int, int] = {}
    for rule in [t.rule for t in c.types] + [b.rule for b in c.bodies if b.rule is not None]:
        if id(rule) not in index:
            index[id(rule)] = len(rules)
            rules.append(rule)
    kind = np.zeros(len(rules), dtype=np.int64)
    rule_f = np.zeros((len(rules), 2))
    rule_i = np.zeros((len(rules), 5), dtype=np.int64)
    for i, r in enumerate(rules):
        rule_i[i, S.RI_BRAKE], rule_i[i, S.RI_A_ITEM] = r.emergency_brake, r.vote_as_a_item
        if isinstance(r, QualifiedMajorityRule):
            kind[i] = S.R_QMV
            rule_f[i] = r.states_threshold, r.population_threshold
            rule_i[i, S.RI_MIN_BLOCKING] = r.min_blocking_states
            rule_i[i, S.RI_VOTE_RANK], rule_i[i, S.RI_CONSENSUS] = r.vote_rank, r.consensus_rounds
        elif isinstance(r, ConstructiveAbstentionRule):
            kind[i] = S.R_ABSTENTION
            rule_f[i] = r.states_limit, r.population_limit
    return kind, rule_f, rule_i, index


def _practice(c: CompiledScenario, detail: bool) -> np.ndarray:
    """The negotiating practice and the run's settings as one array (``PR_`` codes; NaN for a
    feature the scenario does not have)."""
    pr = np.zeros(S.NPR)
    bp, practice = c.practice.bargaining, c.practice
    if bp is not None:
        pr[S.PR_BARGAINING] = 1.0
        pr[S.PR_LEVEL], pr[S.PR_AT_CLOSING], pr[S.PR_ESCALATE] = bp.rank, bp.at_closing, bp.escalate
        pr[S.PR_CONCESSION_MEETING], pr[S.PR_RELEASE] = bp.concession_meeting, bp.release
    nan = math.nan
    pr[S.PR_ALLY_DISTANCE] = nan if bp is None or bp.ally_distance is None else bp.ally_distance
    pr[S.PR_TANDEM] = nan if bp is None or bp.tandem is None else bp.tandem[0]
    pr[S.PR_CLIMB_AFTER] = nan if bp is None or bp.climb_after is None else bp.climb_after
    pr[S.PR_REINSTRUCT_OBJECTORS] = practice.reinstruct_objectors_only
    pr[S.PR_REINSTRUCT_ESCALATION] = practice.reinstruct_on_escalation
    pr[S.PR_DISCUSS_RESERVED] = practice.discuss_under_reservation
    pr[S.PR_MEDIATION] = practice.brake is not None
    pr[S.PR_SETTLES] = 0.0 if practice.brake is None else practice.brake.settles
    pr[S.PR_OPENS], pr[S.PR_CLOSES] = practice.meeting_hours
    pr[S.PR_WARMUP], pr[S.PR_HORIZON] = c.warmup, c.horizon
    pr[S.PR_WEEKDAY0] = c.start_date.weekday()
    share = c.written_deadline_share
    pr[S.PR_WRITTEN_SHARE] = nan if share is None else share
    pr[S.PR_SHOCK] = practice.instruction_shock is not None
    pr[S.PR_TOP] = -1 if c.escalation is None else c.escalation
    a_items = c.types[0].route.a_items if c.types else None
    pr[S.PR_A_ITEMS] = -1 if a_items is None else a_items
    pr[S.PR_DETAIL] = detail
    pr[S.PR_COUNCIL_RANK] = Level.COUNCIL.rank
    return pr


def _bodies(c: CompiledScenario, index: dict[int, int]) -> dict[str, np.ndarray]:
    """The bodies' calendars and parameters (recesses as one row of days per body)."""
    bodies, nan = c.bodies, math.nan
    times = [b.times for b in bodies]
    days = max((len(b.recess) for b in bodies if b.recess is not None), default=0)
    recess = np.zeros((len(bodies), days), dtype=np.int8)
    for b in bodies:
        if b.recess is not None:
            recess[b.idx, : len(b.recess)] = b.recess
    return {
        "times": np.concatenate(times) if times else np.zeros(0),
        "times_at": np.concatenate([[0], np.cumsum([len(t) for t in times])]).astype(np.int64),
        "capacity": np.array([b.capacity for b in bodies], dtype=np.int64),
        "max_rounds": np.array([b.max_rounds for b in bodies], dtype=np.int64),
        "step": np.array([b.compromise_step for b in bodies], dtype=float),
        "rank": np.array([b.rank for b in bodies], dtype=np.int64),
        "body_rule": np.array([-1 if b.rule is None else index[id(b.rule)] for b in bodies]),
        "extra_days": np.array(
            [nan if b.extraordinary_days is None else b.extraordinary_days for b in bodies]
        ),
        "extra_weekends": np.array([b.extraordinary_weekends for b in bodies], dtype=np.bool_),
        "recess": recess,
    }


def _types(c: CompiledScenario, index: dict[int, int]) -> dict[str, np.ndarray]:
    """The proposal types' parameters."""
    types, nan = c.types, math.nan
    return {
        "type_rule": np.array([index[id(t.rule)] for t in types], dtype=np.int64),
        "ambition": np.array([t.ambition for t in types], dtype=float),
        "withdraw_p": np.array([t.withdraw_probability for t in types], dtype=float),
        "scale_normal": np.array([t.normal.instruction_scale for t in types], dtype=float),
        "scale_crisis": np.array([t.crisis.instruction_scale for t in types], dtype=float),
        "run_up": np.array([nan if t.run_up_days is None else t.run_up_days for t in types]),
        "silence_first": np.array([t.silence_first for t in types], dtype=np.bool_),
        "written_route": np.array([t.route.written_procedure for t in types], dtype=np.bool_),
        "workaround_p": np.array(
            [nan if t.workaround is None else t.workaround.probability for t in types]
        ),
        "workaround_max": np.array(
            [0 if t.workaround is None else t.workaround.max_objectors for t in types],
            dtype=np.int64,
        ),
    }


def scenario_arrays(c: CompiledScenario, detail: bool) -> S.Scenario:
    """The compiled scenario ``c`` as arrays (``detail``: keep the event and meeting logs); ``c``
    is one the compiled engine runs (:func:`kernel`)."""
    dists = flat_distributions(c)
    assert dists is not None
    m = c.members
    kind, rule_f, rule_i, index = _rules(c)
    return S.Scenario(
        population=m.population,
        salience=m.salience,
        tolerance=m.tolerance,
        weight=m.weight,
        objection_p=m.objection_p,
        abstain_p=m.abstain_p,
        brake_p=m.brake_p,
        written_p=m.written_p,
        declaration_p=m.declaration_p,
        concession_abstain_p=m.concession_abstain_p,
        holdout_p=m.holdout_p,
        rule_kind=kind,
        rule_f=rule_f,
        rule_i=rule_i,
        dists=dists,
        practice=_practice(c, detail),
        **_bodies(c, index),
        **_types(c, index),
    )


@dataclass
class Sizes:
    """Pool and buffer sizes (:class:`~sim.engine.kernel.state.Pools`: blocks of 256 rows for
    objections, abstentions and instructions, of 64 shocks; rows of states for the brake;
    doubles for the others), kept for a model's next replications. With ``floor`` each is at
    least what a replication of so many proposals needs (:meth:`at_least`, measured on the
    bundled scenarios with room to spare); one that runs out anyway is doubled and the
    replication run again."""

    pools: list[int] = field(default_factory=lambda: [1] * 10)
    heap: int = 16
    events: int = 16
    nodes: int = 4
    floor: bool = True

    def at_least(self, proposals: int, states: int) -> None:
        """Raise the sizes to what ``proposals`` proposals of ``states`` states need."""
        if not self.floor:
            return
        p, blocks = proposals, -(-5 * proposals // 512)  # 2.5 rows a proposal (2.3 seen at most)
        need = [blocks, blocks, blocks, 5 * p // 128 + 2, 64, 64, 16, p * (states + 4) + 512]
        need += [2 * p + 64, 16]
        self.pools = [max(a, b) for a, b in zip(self.pools, need, strict=True)]
        self.heap = max(self.heap, 4 * p + 256)
        self.events = max(self.events, 20 * p + 2048)
        self.nodes = max(self.nodes, p + 64)


def _pools(c: CompiledScenario, seed: int, rep: int, sizes: Sizes) -> S.Pools:
    """The replication's random numbers, each stream drawn in the blocks the Python engine
    draws it in (``k`` blocks, rows or doubles: :attr:`Sizes.pools`)."""
    n, k = c.members.n, sizes.pools

    def blocks(
        purpose: Stream, draw: Callable[[np.random.Generator], np.ndarray], m: int
    ) -> np.ndarray:
        rng = stream(seed, rep, purpose)
        return np.concatenate([draw(rng) for _ in range(m)])

    shock, delays = c.practice.instruction_shock, c.members.instruction_delay

    def shock_block(g: np.random.Generator) -> np.ndarray:
        assert shock is not None
        return shock.sample(g, 64)

    return S.Pools(
        objections=stream(seed, rep, Stream.OBJECTIONS).random((256 * k[0], n)),
        abstentions=stream(seed, rep, Stream.ABSTENTIONS).random((256 * k[1], n)),
        instructions=blocks(Stream.INSTRUCTIONS, lambda g: delays.draw(g, 256), k[2]),
        shocks=np.ones(1) if shock is None else blocks(Stream.SHOCK, shock_block, k[3]),
        brake=stream(seed, rep, Stream.BRAKE).random((k[4], n)),
        outcome=stream(seed, rep, Stream.OUTCOME).random(k[5]),
        workaround=stream(seed, rep, Stream.WORKAROUND).random(k[6]),
        written=stream(seed, rep, Stream.WRITTEN).random(k[7]),
        concession=stream(seed, rep, Stream.CONCESSION).random(k[8]),
        mediation=stream(seed, rep, Stream.MEDIATION).random(k[9]),
    )


def _proposals(c: CompiledScenario, seed: int, rep: int) -> S.Proposals:
    """The replication's proposals as tabled: arrivals and each type's block of draws
    (:func:`sim.engine.replication.tabled`)."""
    from sim.engine.replication import tabled

    arrivals = c.arrivals(seed, rep)
    P, n = len(arrivals), c.members.n
    arrival = np.array([a[0] for a in arrivals], dtype=float)
    deadline = np.array([math.nan if a[2] is None else a[2] for a in arrivals], dtype=float)
    ptype = np.array([a[1] for a in arrivals], dtype=np.int64)
    longest = max((len(t.route.bodies) for t in c.types), default=1)
    route = np.full((P, longest), -1, dtype=np.int64)
    route_len = np.zeros(P, dtype=np.int64)
    b_item = np.zeros(P, dtype=np.bool_)
    urgent = np.zeros(P, dtype=np.bool_)
    cols = {k: np.empty((P, n)) for k in ("positions", "accept", "hold_days", "scrutiny_until")}
    holders = np.zeros((P, n), dtype=np.bool_)
    least = np.empty(P)
    for t in c.types:
        idx = np.flatnonzero(ptype == t.idx)
        if not len(idx):
            continue
        block = tabled(c, t, arrival[idx].tolist(), seed, rep)
        st = block.stances
        for name in cols:
            cols[name][idx] = getattr(st, name)
        holders[idx], least[idx] = st.holders, st.least_accept
        urgent[idx], b_item[idx] = block.urgent, block.b_item
        routes = {s: t.route.without(s).bodies for s in set(block.skipped)}
        for i, s in zip(idx.tolist(), block.skipped, strict=True):
            bodies = routes[s]
            route[i, : len(bodies)] = bodies
            route_len[i] = len(bodies)
        if t.run_up_days is not None:  # tabled already within the run-up to its deadline
            with np.errstate(invalid="ignore"):
                urgent[idx] |= deadline[idx] - t.run_up_days <= arrival[idx]
    pf = np.zeros((P, S.NF))
    pi = np.zeros((P, S.NI), dtype=np.int64)
    pi[:, S.I_URGENT] = urgent
    return S.Proposals(
        arrival=arrival,
        deadline=deadline,
        ptype=ptype,
        b_item=b_item,
        route=route,
        route_len=route_len,
        holders=holders,
        least_accept=least,
        pf=pf,
        pi=pi,
        ready=np.zeros((P, n)),
        until=np.full((P, n), -np.inf),
        abstainers=np.zeros((P, n), dtype=np.bool_),
        blockers=np.zeros((P, n), dtype=np.bool_),
        wp_objecting=np.zeros((P, n), dtype=np.bool_),
        wp=np.zeros((P, 2)),
        med_declarers=np.zeros((P, n), dtype=np.bool_),
        med_move=np.zeros((P, 4), dtype=np.int64),
        med_since=np.zeros(P),
        **cols,
    )


def _run_state(c: CompiledScenario, P: int, sizes: Sizes, pools: S.Pools) -> S.Run:
    """A replication's clock, agendas, queue and log buffers, empty (the stage and meeting
    buffers grow with the event buffer)."""
    B = len(c.bodies)
    stages = 8 * P + sizes.events // 4  # grows with the events (P_EVENTS)
    meetings = sum(len(b.times) for b in c.bodies) + sizes.events // 16
    return S.Run(
        sc=np.zeros(1),
        ic=np.zeros(S.NC, dtype=np.int64),
        agenda=np.zeros((B, P + 1), dtype=np.int64),
        agenda_len=np.zeros(B, dtype=np.int64),
        keep=np.zeros(P + 1, dtype=np.int64),
        extra_at=np.full(B, -np.inf),
        extra_slot=np.full(B, -1, dtype=np.int64),
        slot_head=np.full(sizes.nodes, -1, dtype=np.int64),
        node_pid=np.zeros(sizes.nodes, dtype=np.int64),
        node_next=np.zeros(sizes.nodes, dtype=np.int64),
        heap_t=np.zeros(sizes.heap),
        heap_seq=np.zeros(sizes.heap, dtype=np.int64),
        heap_kind=np.zeros(sizes.heap, dtype=np.int64),
        heap_a=np.zeros(sizes.heap, dtype=np.int64),
        heap_b=np.zeros(sizes.heap, dtype=np.int64),
        heap_f=np.zeros(sizes.heap),
        stages_i=np.zeros((stages, 5), dtype=np.int64),
        stages_f=np.zeros((stages, 6)),
        events_i=np.zeros((sizes.events, 4), dtype=np.int64),
        events_f=np.zeros((sizes.events, 2)),
        meetings_i=np.zeros((meetings, 5), dtype=np.int64),
        meetings_f=np.zeros(meetings),
        pools=pools,
    )


def _grow(sizes: Sizes, which: int) -> None:
    if which < len(sizes.pools):
        sizes.pools[which] *= 2
    elif which == S.P_HEAP:
        sizes.heap *= 2
    elif which == S.P_EVENTS:
        sizes.events *= 2
    else:
        sizes.nodes *= 2


class Kernel:
    """The compiled engine of one :class:`~sim.engine.compile.Model`: its scenario as arrays
    (built on first use, for metrics-only runs and for runs with logs) and the sizes of its
    pools and buffers, grown when a replication runs out and kept for the next."""

    def __init__(self, compiled: CompiledScenario, dtypes: dict[str, pd.CategoricalDtype]) -> None:
        self.c, self.dtypes = compiled, dtypes
        self.sizes = Sizes()
        self._arrays: dict[bool, S.Scenario] = {}

    def run(self, seed: int, replication: int, detail: bool) -> ReplicationResult:
        """One replication's tables, as :meth:`sim.engine.compile.Model.run` gives them."""
        from sim.engine.tables import result

        return result(self.c, self.dtypes, *self._records(seed, replication, detail), detail)

    def run_arrow(self, seed: int, replication: int, detail: bool) -> dict[str, pa.Table]:
        """One replication's tables, as :meth:`sim.engine.compile.Model.run_tables` gives
        them."""
        from sim.engine.tables import arrow_result

        q, r = self._records(seed, replication, detail)
        return arrow_result(self.c, self.dtypes, q, r, replication)

    def _records(self, seed: int, replication: int, detail: bool) -> tuple[S.Proposals, S.Run]:
        """A replication run: its proposals and its records."""
        from sim.engine.kernel.loop import run_records

        if detail not in self._arrays:
            self._arrays[detail] = scenario_arrays(self.c, detail)
        while True:
            q = _proposals(self.c, seed, replication)
            self.sizes.at_least(len(q.arrival), self.c.members.n)
            pools = _pools(self.c, seed, replication, self.sizes)
            r = _run_state(self.c, len(q.arrival), self.sizes, pools)
            short = run_records(self._arrays[detail], tuple(r[:-1]), pools, q)
            if not short:
                return q, r
            _grow(self.sizes, int(short) - 1)  # void: again, with the pool that ran out larger


def kernel(compiled: CompiledScenario, dtypes: dict[str, pd.CategoricalDtype]) -> Kernel | None:
    """The compiled engine for ``compiled``; None where it cannot run it (a written-procedure
    period, concession margin, stagger or mediation drawn from a family other than fixed,
    uniform or triangular: :func:`flat_distributions`; more than 128 states)."""
    if flat_distributions(compiled) is None or compiled.members.n > 128:  # rules.add_reduce
        return None
    return Kernel(compiled, dtypes)


def ensure_compiled() -> None:
    """Compile the kernel in this process if numba has not cached it yet (one small
    replication), so that the worker processes started next load it instead of each compiling
    it at once."""
    from sim.engine import kernel

    if kernel.cached():
        return
    from sim.engine.compile import Model
    from sim.scenario import load_scenario

    Model(load_scenario("eu27_baseline")).run(0, 0, detail=False)
