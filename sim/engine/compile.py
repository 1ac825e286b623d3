"""The scenario compiled once into plain runtime objects, and the public way to run it.

:func:`compile_scenario` turns a validated :class:`~sim.scenario.Scenario` into what a run
needs (member arrays, meeting times, decision rules, routes, arrival specs): the core and the
SimPy shell never see the pydantic schema, and thousands of replications pay for compiling once.
:class:`Model` and :func:`run_replication` are the entry points: scenario, seed and replication
number in; the proposal table, the event log, the stage table and the meeting table out.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.core.arrivals import PoissonSpec, ScheduledSpec, poisson_arrivals, scheduled_arrivals
from sim.core.calendars import Recess, meeting_days, recess_days
from sim.core.distributions import Distribution
from sim.core.ladder import Route
from sim.core.members import DelayGroups, MemberArrays
from sim.core.outcomes import WRITTEN_PROCEDURE
from sim.core.rng import Stream, name_key, stream
from sim.core.voting import (
    ConstructiveAbstentionRule,
    QualifiedMajorityRule,
    UnanimityRule,
    VotingRule,
)
from sim.engine.arrow import ReplicationResult
from sim.scenario import (
    Chair,
    ConstructiveAbstention,
    DecisionRuleSpec,
    NegotiationSpec,
    PoissonArrivals,
    ProposalTypeSpec,
    QualifiedMajority,
    ResolvedMember,
    Scenario,
    Unanimity,
)


@dataclass(frozen=True)
class CompiledBody:
    """A body's meeting times and negotiating parameters."""

    idx: int
    id: str
    level: str
    times: np.ndarray
    capacity: int
    max_rounds: int
    compromise_step: float
    rule: VotingRule | None
    rank: int  # the body's level on the ladder (working party = 0)
    extraordinary_days: float | None  # urgent items: a meeting at short notice within this
    extraordinary_weekends: bool = False  # ... also on a Saturday or Sunday
    recess: np.ndarray | None = None  # per day from the first simulated day: in a recess


@dataclass(frozen=True, slots=True)
class Profile:
    """How a proposal of a type is handled: in the ordinary course, or urgent (its crisis
    profile, :class:`~sim.scenario.practice.CrisisSpec`). A proposal carries one, picked at
    tabling and swapped for the crisis one by deadline pressure."""

    urgent: bool  # first on agendas, extraordinary meetings, the shorter silence period
    instruction_scale: float  # capitals' instruction delays scaled
    holdout_scale: float  # the states' hold-out propensities scaled
    skip: tuple[tuple[int, float], ...]  # bodies of the route skipped with a probability


@dataclass(frozen=True, slots=True)
class Workaround:
    """A declaration blocked by a few states issued all the same by the High Representative
    (:class:`~sim.scenario.proposals.WorkaroundSpec`; :func:`sim.core.ladder.workaround`)."""

    probability: float  # the chance, when it would otherwise end unadopted
    max_objectors: int  # only while at most this many states still object


@dataclass(frozen=True)
class CompiledType:
    """A proposal type: its route as body indices, its rule and its parameters."""

    idx: int
    name: str
    route: Route
    rule: VotingRule
    arrivals: PoissonSpec | ScheduledSpec
    deadline_days: float | None
    ambition: float
    contestation: float
    withdraw_probability: float
    normal: Profile
    crisis: Profile
    crisis_share: float  # share of proposals tabled as urgent
    run_up_days: float | None  # urgent from this many days before the deadline
    scrutiny: bool  # national parliaments may hold a scrutiny reservation on it
    holdout_duration_scale: float  # the states' hold-out durations scaled for this type
    ministers_discuss: float  # share of agreed texts ministers discuss (B item), not A items
    silence_first: bool = False  # circulated under silence procedure before any meeting
    workaround: Workaround | None = None  # blocked declarations issued by the HR (None: never)


@dataclass(frozen=True)
class BargainingPractice:
    """How hold-outs bargain (:class:`~sim.scenario.practice.BargainingSpec`), levels as ranks."""

    rank: int  # demands are raised at bodies of this rank or above
    at_closing: bool  # ... when the text is ripe, not as soon as it is on the agenda
    concession_margin: Distribution | None
    escalate: bool
    concession_meeting: bool  # the last concession convenes the body, below the Council
    release: bool = False  # the last concession frees an item waiting for ministers
    ally_distance: float | None = None  # holders anticipate the vote, with these allies
    tandem: tuple[float, Distribution] | None = None  # a second state joins: chance, stagger
    climb_after: float | None = None  # days a held item waits at a rung before it climbs


@dataclass(frozen=True)
class BrakePractice:
    """The brake by the treaty path (:class:`~sim.scenario.practice.BrakeSpec`)."""

    mediation_days: Distribution
    settles: float


@dataclass(frozen=True)
class Practice:
    """How negotiations are conducted (:class:`~sim.scenario.practice.NegotiationSpec`):
    bargaining (None: hold-outs as plain timers) and how capitals instruct."""

    bargaining: BargainingPractice | None
    instruction_shock: Distribution | None
    reinstruct_objectors_only: bool
    reinstruct_on_escalation: bool
    discuss_under_reservation: bool
    brake: BrakePractice | None = None  # None: a brake refers the item at once
    meeting_hours: tuple[float, float] = (7 / 24, 21 / 24)  # opens, closes (fractions of a day)


@dataclass(frozen=True)
class CompiledScenario:
    """Everything a replication needs, as plain objects and arrays."""

    start_date: dt.date
    horizon: float
    members: MemberArrays
    bodies: list[CompiledBody]
    types: list[CompiledType]
    escalation: int | None
    written_days: Distribution | None
    written_urgent_days: Distribution | None  # ... of an urgent item (None: as any other)
    written_deadline_share: float | None  # a silence period ends by this share of time left
    practice: Practice
    schedules: dict[int, list[tuple[float, float]]]  # scheduled types' (arrival, deadline)
    warmup: float = 0.0  # days simulated before ``start_date`` (day 0), not counted

    @property
    def first_day(self) -> dt.date:
        """The date the simulation starts: ``start_date`` less the warm-up."""
        return self.start_date - dt.timedelta(days=self.warmup)

    @property
    def written_stage(self) -> int:
        """The stage-table body code of the written procedure (after the bodies)."""
        return len(self.bodies)

    def dtypes(self) -> dict[str, pd.CategoricalDtype]:
        """Categorical dtypes of the tables' ``type``, ``body``, stage ``body`` and member
        columns (built once per model: constructing one validates its categories)."""
        bodies = [b.id for b in self.bodies]
        return {
            "type": pd.CategoricalDtype([t.name for t in self.types]),
            "body": pd.CategoricalDtype(bodies),
            "stage_body": pd.CategoricalDtype([*bodies, WRITTEN_PROCEDURE]),
            "member": pd.CategoricalDtype(list(self.members.codes)),
        }

    def arrivals(self, seed: int, replication: int) -> list[tuple[float, int, float | None]]:
        """All arrivals of the replication as ``(day, type index, deadline day)``, by time.

        Each type draws from its own stream, so adding a type leaves the others' arrivals as
        they were (common random numbers across scenarios).
        """
        out: list[tuple[float, int, float | None]] = []
        w = self.warmup
        for t in self.types:
            arr = t.arrivals
            if isinstance(arr, PoissonSpec):
                rng = stream(seed, replication, Stream.ARRIVALS, name_key(t.name))
                d = t.deadline_days
                days = poisson_arrivals(arr, self.first_day, w + self.horizon, rng) - w
                out.extend((float(x), t.idx, None if d is None else float(x) + d) for x in days)
            else:
                out.extend((a, t.idx, dl) for a, dl in self.schedules[t.idx])
        out.sort(key=lambda x: (x[0], x[1]))
        return out


def compile_scenario(scenario: Scenario) -> CompiledScenario:
    """The runtime form of ``scenario``."""
    horizon, warmup = float(scenario.horizon_days), float(scenario.warmup_days)
    first, span = scenario.start_date - dt.timedelta(days=scenario.warmup_days), warmup + horizon
    types = scenario.proposal_types
    rules = {name: make_rule(name, spec) for name, spec in scenario.decision_rules.items()}
    members = scenario.resolved_members()
    bodies = [
        CompiledBody(
            idx=i,
            id=bid,
            level=spec.level.value,
            times=meeting_days(spec.calendar, scenario.recesses, first, span) - warmup,
            capacity=scenario.meeting_capacity(spec, len(members)),
            max_rounds=spec.max_rounds,
            compromise_step=min(1.0, spec.compromise_step * _chair_factor(scenario, spec.chair)),
            rule=rules[spec.rule] if spec.rule else None,
            rank=spec.level.rank,
            extraordinary_days=spec.extraordinary_days,
            extraordinary_weekends=spec.extraordinary_weekends,
            recess=recess_days(spec.calendar, scenario.recesses, first, span),
        )
        for i, (bid, spec) in enumerate(scenario.bodies.items())
    ]
    index = {b.id: b.idx for b in bodies}
    top = index[scenario.escalation_body] if scenario.escalation_body else None
    neg = scenario.negotiation
    a_items = index[neg.agenda.a_item_body] if neg.agenda.a_item_body else None
    compiled_types = [
        _compile_type(i, name, spec, index, (top, a_items), rules, scenario.recesses)
        for i, (name, spec) in enumerate(types.items())
    ]
    wp = scenario.written_procedure
    schedules = {
        t.idx: [(a - warmup, d - warmup) for a, d in scheduled_arrivals(t.arrivals, first, span)]
        for t in compiled_types
        if isinstance(t.arrivals, ScheduledSpec)
    }
    return CompiledScenario(
        schedules=schedules,
        start_date=scenario.start_date,
        horizon=horizon,
        members=member_arrays(members, {t: pt.position for t, pt in types.items()}),
        bodies=bodies,
        types=compiled_types,
        escalation=top,
        written_days=wp.days if wp else None,
        written_urgent_days=wp.urgent_days if wp else None,
        written_deadline_share=wp.deadline_share if wp else None,
        practice=_practice(neg),
        warmup=warmup,
    )


def _compile_type(
    i: int,
    name: str,
    spec: ProposalTypeSpec,
    index: dict[str, int],
    tops: tuple[int | None, int | None],
    rules: dict[str, VotingRule],
    recesses: list[Recess],
) -> CompiledType:
    """One proposal type: ``tops`` are the escalation body and the A-item Council."""
    top, a_items = tops
    arr = spec.arrivals
    arrivals: PoissonSpec | ScheduledSpec = (
        PoissonSpec(
            arr.rate_per_year, None if arr.month_weights is None else tuple(arr.month_weights)
        )
        if isinstance(arr, PoissonArrivals)
        else ScheduledSpec(
            tuple(arr.deadlines),
            arr.lead_days,
            arr.count,
            tuple(recesses) if arr.lead_skips_recesses else (),
        )
    )
    crisis = spec.crisis
    skip = {index[b]: pr for b, pr in spec.skip.items()}
    crisis_skip = skip | {index[b]: pr for b, pr in ((crisis and crisis.skip) or {}).items()}
    return CompiledType(
        idx=i,
        name=name,
        route=Route(tuple(index[b] for b in spec.route), top, spec.written_procedure, a_items),
        rule=rules[spec.rule],
        arrivals=arrivals,
        deadline_days=spec.deadline_days,
        ambition=spec.ambition,
        contestation=spec.contestation,
        withdraw_probability=spec.withdraw_probability,
        normal=Profile(False, spec.instruction_scale, spec.holdout_scale, tuple(skip.items())),
        crisis=Profile(
            True,
            (crisis and crisis.instruction_scale) or spec.instruction_scale,
            spec.holdout_scale * (1.0 if crisis is None else crisis.holdout_scale),
            tuple(crisis_skip.items()),
        ),
        crisis_share=0.0 if crisis is None else crisis.share,
        run_up_days=None if crisis is None else crisis.run_up_days,
        scrutiny=spec.scrutiny,
        holdout_duration_scale=spec.holdout_duration_scale,
        ministers_discuss=spec.ministers_discuss,
        silence_first=spec.silence_first,
        workaround=(
            None
            if spec.workaround is None
            else Workaround(spec.workaround.probability, spec.workaround.max_objectors)
        ),
    )


def _chair_factor(scenario: Scenario, chair: Chair) -> float:
    """The compromise factor of a kind of chair (``[chairs.<chair>]``; 1 if not given)."""
    spec = scenario.chairs.get(chair)
    return 1.0 if spec is None else spec.compromise_factor


def _practice(neg: NegotiationSpec) -> Practice:
    """The scenario's negotiating practice, with levels as ranks (without a bargaining table:
    hold-outs as plain timers, raised on any body's agenda)."""
    spec, capitals = neg.bargaining, neg.capitals
    bargaining = None
    if spec is not None:
        bargaining = BargainingPractice(
            rank=spec.level.rank,
            at_closing=spec.moment == "closing",
            concession_margin=spec.concession_margin,
            escalate=spec.escalate,
            concession_meeting=spec.concession_meeting,
            release=spec.release,
            climb_after=spec.climb_after_days,
            ally_distance=None if spec.shadow is None else spec.shadow.ally_distance,
            tandem=(
                None if spec.tandem is None else (spec.tandem.join_probability, spec.tandem.stagger)
            ),
        )
    brake = neg.brake
    return Practice(
        brake=None if brake is None else BrakePractice(brake.mediation_days, brake.settles),
        bargaining=bargaining,
        instruction_shock=capitals.shock,
        reinstruct_objectors_only=capitals.reinstruct == "objectors",
        reinstruct_on_escalation=capitals.reinstruct_on_escalation,
        discuss_under_reservation=capitals.discuss_under_reservation,
        meeting_hours=(neg.agenda.meeting_hours[0] / 24, neg.agenda.meeting_hours[1] / 24),
    )


ENGINES = ("compiled", "python")
"""A :class:`Model`'s engines: numba's (:mod:`sim.engine.kernel`) and SimPy's, the reference
(:mod:`sim.engine.replication`); the same tables to the bit."""


class Model:
    """A scenario compiled for fast repeated replications."""

    def __init__(self, scenario: Scenario, engine: str = "compiled") -> None:
        """``engine``: ``"compiled"`` (where the scenario allows: :func:`sim.engine.arrays.
        kernel`) or ``"python"``."""
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
        from sim.engine.arrays import kernel

        self.scenario = scenario
        self.compiled = compile_scenario(scenario)
        self.dtypes = self.compiled.dtypes()
        self._kernel = kernel(self.compiled, self.dtypes) if engine == "compiled" else None

    @property
    def engine(self) -> str:
        """The engine this model's replications run on."""
        return "python" if self._kernel is None else "compiled"

    @property
    def horizon(self) -> float:
        """The horizon in days."""
        return self.compiled.horizon

    @property
    def bodies(self) -> list[CompiledBody]:
        """The compiled bodies, in scenario order."""
        return self.compiled.bodies

    def run(self, seed: int, replication: int, detail: bool = True) -> ReplicationResult:
        """Run one replication on :attr:`engine` and return its tables (``detail=False``:
        metrics only, with empty event and meeting tables). Python's cyclic garbage collector
        is paused meanwhile (the Python engine's many short-lived objects: 5-7% faster)."""
        from sim.engine.replication import Replication

        enabled = gc.isenabled()
        gc.disable()
        try:
            if self._kernel is not None:
                return self._kernel.run(seed, replication, detail)
            rep = Replication(self.compiled, self.dtypes, seed, replication, detail=detail)
            rep.run()
            return rep.result()
        finally:
            if enabled:
                gc.enable()

    def run_tables(self, seed: int, replication: int, detail: bool = True) -> dict[str, pa.Table]:
        """:meth:`run`'s tables as a results folder stores them: Arrow, with a ``replication``
        column (the compiled engine builds them without DataFrames)."""
        if self._kernel is not None and not self.compiled.warmup:
            return self._kernel.run_arrow(seed, replication, detail)
        return self.run(seed, replication, detail).arrow(replication)


def run_replication(
    scenario: Scenario, seed: int, replication: int, detail: bool = True
) -> ReplicationResult:
    """Run one seeded replication of ``scenario`` (``detail=False``: metrics only, see
    :meth:`Model.run`).

    Examples
    --------
    >>> from sim.scenario import load_scenario, bundled_scenarios_dir
    >>> s = load_scenario(bundled_scenarios_dir() / "eu27_baseline.toml")
    >>> r = run_replication(s, seed=1, replication=0)
    >>> bool(r.proposals["outcome"].notna().all())
    True
    """
    return Model(scenario).run(seed, replication, detail)


def member_arrays(members: list[ResolvedMember], type_positions: dict[str, float]) -> MemberArrays:
    """Arrays for ``members``; ``type_positions``: each proposal type's default position."""
    b = [m.behaviour for m in members]

    def arr(name: str) -> np.ndarray:
        return np.array([getattr(x, name) for x in b], dtype=float)

    positions = {
        t: np.array([x.positions.get(t, default) for x in b])
        for t, default in type_positions.items()
    }
    return MemberArrays(
        codes=tuple(m.code for m in members),
        population=np.array([m.population for m in members], dtype=float),
        salience=arr("salience"),
        tolerance=arr("tolerance"),
        objection_p=arr("objection_probability"),
        scrutiny_p=arr("scrutiny_probability"),
        holdout_p=arr("holdout_probability"),
        abstain_p=arr("abstain_probability"),
        brake_p=arr("brake_probability"),
        written_p=arr("written_objection_probability"),
        declaration_p=arr("declaration_probability"),
        concession_abstain_p=arr("abstain_after_concession"),
        instruction_delay=DelayGroups.of([x.instruction_delay for x in b]),
        scrutiny_days=DelayGroups.of([x.scrutiny_days for x in b]),
        holdout_days=DelayGroups.of([x.holdout_days for x in b]),
        positions=positions,
        demands={
            t: (
                np.array(
                    [
                        x.demands[t].probability if t in x.demands else x.holdout_probability
                        for x in b
                    ]
                ),
                DelayGroups.of(
                    [(x.demands[t].days if t in x.demands else None) or x.holdout_days for x in b]
                ),
            )
            for t in type_positions
            if any(t in x.demands for x in b)
        },
    )


def make_rule(name: str, spec: DecisionRuleSpec) -> VotingRule:
    """Build the runtime rule for a scenario's ``decision_rules.<name>`` table."""
    if isinstance(spec, Unanimity):
        return UnanimityRule(name)
    if isinstance(spec, ConstructiveAbstention):
        return ConstructiveAbstentionRule(name, spec.states_limit, spec.population_limit)
    if isinstance(spec, QualifiedMajority):
        return QualifiedMajorityRule(
            name,
            spec.states_threshold,
            spec.population_threshold,
            spec.min_blocking_states,
            spec.emergency_brake,
            -1 if spec.vote_level is None else spec.vote_level.rank,
            spec.consensus_rounds,
            spec.vote_as_a_item,
        )
    raise TypeError(f"unknown rule spec {spec!r}")  # pragma: no cover
