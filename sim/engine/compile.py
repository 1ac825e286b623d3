"""The model: a scenario compiled once into arrays, and one seeded replication run from it.

:class:`Model` turns a validated :class:`~sim.scenario.Scenario` into what a run needs (member
arrays, meeting times, decision rules, routes) so that thousands of replications pay for it
once. :func:`run_replication` is the pure entry point: scenario, seed and replication number
in; the proposal table, the event log, the per-body stage table and the meeting table out.
"""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core.calendars import meeting_days, presidency_term
from sim.core.distributions import Distribution
from sim.core.members import DelayGroups, MemberArrays
from sim.core.rng import Stream, name_key, stream
from sim.core.voting import (
    ConstructiveAbstentionRule,
    QualifiedMajorityRule,
    UnanimityRule,
    VotingRule,
)
from sim.engine.logs import timestamps
from sim.engine.proposal import poisson_arrivals, scheduled_arrivals
from sim.engine.replication import Replication
from sim.scenario import (
    ConstructiveAbstention,
    DecisionRuleSpec,
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


@dataclass(frozen=True)
class CompiledType:
    """A proposal type with its route as body indices and its rule."""

    idx: int
    name: str
    spec: ProposalTypeSpec
    route: tuple[int, ...]
    rule: VotingRule


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication produces (without the ``replication`` column; the runner adds it)."""

    proposals: pd.DataFrame
    events: pd.DataFrame
    stages: pd.DataFrame
    meetings: pd.DataFrame


class Model:
    """A scenario compiled for fast repeated replications."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.horizon = float(scenario.horizon_days)
        members = scenario.resolved_members()
        types = scenario.proposal_types
        self.members = member_arrays(members, {t: pt.position for t, pt in types.items()})
        rules = {name: make_rule(name, spec) for name, spec in scenario.decision_rules.items()}
        self.bodies = [
            CompiledBody(
                idx=i,
                id=bid,
                level=spec.level.value,
                times=meeting_days(
                    spec.calendar, scenario.recesses, scenario.start_date, self.horizon
                ),
                capacity=spec.capacity,
                max_rounds=spec.max_rounds,
                compromise_step=spec.compromise_step,
                rule=rules[spec.rule] if spec.rule else None,
            )
            for i, (bid, spec) in enumerate(scenario.bodies.items())
        ]
        index = {b.id: b.idx for b in self.bodies}
        self.types = [
            CompiledType(i, name, spec, tuple(index[b] for b in spec.route), rules[spec.rule])
            for i, (name, spec) in enumerate(types.items())
        ]
        self.escalation = index[scenario.escalation_body] if scenario.escalation_body else None
        wp = scenario.written_procedure
        self.written_days: Distribution | None = wp.days if wp else None
        # categorical dtypes built once: constructing one validates its categories
        self.type_dtype = pd.CategoricalDtype([t.name for t in self.types])
        self.body_dtype = pd.CategoricalDtype([b.id for b in self.bodies])
        self.stage_body_dtype = pd.CategoricalDtype(
            [b.id for b in self.bodies] + ["written_procedure"]
        )
        self.member_dtype = pd.CategoricalDtype(list(self.members.codes))

    def arrivals(self, seed: int, replication: int) -> list[tuple[float, int, float | None]]:
        """All arrivals of the replication as ``(day, type index, deadline day)``, by time.

        Each type draws from its own stream, so adding a type leaves the others' arrivals as
        they were (common random numbers across scenarios).
        """
        s = self.scenario
        out: list[tuple[float, int, float | None]] = []
        for t in self.types:
            arr = t.spec.arrivals
            if isinstance(arr, PoissonArrivals):
                rng = stream(seed, replication, Stream.ARRIVALS, name_key(t.name))
                d = t.spec.deadline_days
                out.extend(
                    (float(x), t.idx, None if d is None else float(x) + d)
                    for x in poisson_arrivals(arr, s.start_date, self.horizon, rng)
                )
            else:
                out.extend(
                    (a, t.idx, dl) for a, dl in scheduled_arrivals(arr, s.start_date, self.horizon)
                )
        out.sort(key=lambda x: (x[0], x[1]))
        return out

    def run(self, seed: int, replication: int) -> ReplicationResult:
        """Run one replication and return its tables.

        Python's cyclic garbage collector is paused while the replication runs (it allocates
        many short-lived objects and no long-lived cycles; measured 5-7% faster) and resumed
        afterwards, when the replication's own cycles are collected as usual.
        """
        rep = Replication(self, seed, replication)
        enabled = gc.isenabled()
        gc.disable()
        try:
            rep.run()
        finally:
            if enabled:
                gc.enable()
        return ReplicationResult(
            proposals=self._proposal_table(rep),
            events=rep.log.to_frame(self.scenario.start_date),
            stages=self._stage_table(rep),
            meetings=self._meeting_table(rep),
        )

    def _proposal_table(self, rep: Replication) -> pd.DataFrame:
        codes = np.array(self.members.codes)
        ps = rep.proposals
        arrival = np.array([p.arrival for p in ps], dtype=float)
        decided = np.array([p.decided_day for p in ps], dtype=float)
        pending = np.array([p.outcome == "pending" for p in ps], dtype=bool)
        return pd.DataFrame(
            {
                "proposal_id": np.array([p.id for p in ps], dtype=np.int64),
                "type": pd.Categorical.from_codes(
                    np.array([p.type for p in ps], dtype=np.int64), dtype=self.type_dtype
                ),
                "arrival_day": arrival,
                "arrival_time": timestamps(self.scenario.start_date, arrival),
                "outcome": pd.Categorical.from_codes(
                    np.array([_OUTCOME_CODE[str(p.outcome)] for p in ps], dtype=np.int64),
                    dtype=OUTCOME_DTYPE,
                ),
                "decided_day": np.where(pending, np.nan, decided),
                "duration_days": decided - arrival,
                "rounds": np.array([p.rounds for p in ps], dtype=np.int64),
                "decided_at": [p.decided_at for p in ps],
                "escalations": np.array([p.escalations for p in ps], dtype=np.int64),
                "blocking_states": [
                    ",".join(codes[p.blockers]) if p.outcome in ("blocked", "lapsed") else ""
                    for p in ps
                ],
                "abstaining_states": [",".join(codes[p.abstainers]) for p in ps],
                "dilution": np.array([p.ambition - p.text for p in ps], dtype=float),
                "deadline_day": np.array(
                    [np.nan if p.deadline is None else p.deadline for p in ps], dtype=float
                ),
                "urgent": np.array([p.urgent for p in ps], dtype=bool),
            }
        )

    def _stage_table(self, rep: Replication) -> pd.DataFrame:
        cols = list(zip(*rep.stage_rows, strict=True)) if rep.stage_rows else [()] * 10
        body = np.asarray(cols[2], dtype=np.int64)
        floats = [np.asarray(c, dtype=float) for c in cols[3:8]]
        return pd.DataFrame(
            {
                "proposal_id": np.asarray(cols[0], dtype=np.int64),
                "type": pd.Categorical.from_codes(
                    np.asarray(cols[1], dtype=np.int64), dtype=self.type_dtype
                ),
                "body": pd.Categorical.from_codes(
                    # -1 (the written procedure) is the last category
                    np.where(body < 0, len(self.bodies), body),
                    dtype=self.stage_body_dtype,
                ),
                "entered_day": floats[0],
                "left_day": floats[1],
                "wait_meeting_days": floats[2],
                "wait_instructions_days": floats[3],
                "negotiating_days": floats[4],
                "rounds": np.asarray(cols[8], dtype=np.int64),
                "exit": pd.Categorical.from_codes(
                    np.array([_EXIT_CODE[x] for x in cols[9]], dtype=np.int64), dtype=EXIT_DTYPE
                ),
            }
        )

    def _meeting_table(self, rep: Replication) -> pd.DataFrame:
        cols = list(zip(*rep.meeting_rows, strict=True)) if rep.meeting_rows else [()] * 5
        body = np.asarray(cols[0], dtype=np.int64)
        time = np.asarray(cols[1], dtype=float)
        ts = timestamps(self.scenario.start_date, time)
        capacity = np.array([b.capacity for b in self.bodies], dtype=np.int64)
        return pd.DataFrame(
            {
                "body": pd.Categorical.from_codes(body, dtype=self.body_dtype),
                "time_day": time,
                "timestamp": ts,
                "presidency": _presidency_terms(ts),
                "discussed": np.asarray(cols[2], dtype=np.int64),
                "ia_items": np.asarray(cols[3], dtype=np.int64),
                "backlog": np.asarray(cols[4], dtype=np.int64),
                "capacity": capacity[body],
            }
        )


def _presidency_terms(ts: np.ndarray) -> pd.Categorical:
    """The presidency term of each timestamp, e.g. ``2025-H2`` (see
    :func:`sim.meetings.presidency_term`), computed on the array at once."""
    months = np.asarray(ts).astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    term = (months // 12) * 2 + (months % 12 >= 6)  # half-years since 1970-H1
    unique, codes = np.unique(term, return_inverse=True)
    labels = [presidency_term(dt.date(1970 + int(u) // 2, 1 + 6 * (int(u) % 2), 1)) for u in unique]
    return pd.Categorical.from_codes(codes, labels)


OUTCOMES = ["adopted", "adopted_with_abstentions", "blocked", "lapsed", "withdrawn", "pending"]
"""Every proposal ends in exactly one of these."""

STAGE_EXITS = ["agreed", "escalated", "referred_back", "written_procedure", *OUTCOMES]
"""How a visit to a body ends: moving on, or the proposal's outcome."""

OUTCOME_DTYPE, EXIT_DTYPE = pd.CategoricalDtype(OUTCOMES), pd.CategoricalDtype(STAGE_EXITS)
_OUTCOME_CODE = {o: i for i, o in enumerate(OUTCOMES)}
_EXIT_CODE = {x: i for i, x in enumerate(STAGE_EXITS)}


def run_replication(scenario: Scenario, seed: int, replication: int) -> ReplicationResult:
    """Run one seeded replication of ``scenario``.

    Examples
    --------
    >>> from sim.scenario import load_scenario, bundled_scenarios_dir
    >>> s = load_scenario(bundled_scenarios_dir() / "eu27_baseline.toml")
    >>> r = run_replication(s, seed=1, replication=0)
    >>> bool(r.proposals["outcome"].notna().all())
    True
    """
    return Model(scenario).run(seed, replication)


__all__ = ["OUTCOMES", "Model", "ReplicationResult", "run_replication"]


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
        instruction_delay=DelayGroups.of([x.instruction_delay for x in b]),
        scrutiny_days=DelayGroups.of([x.scrutiny_days for x in b]),
        holdout_days=DelayGroups.of([x.holdout_days for x in b]),
        positions=positions,
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
        )
    raise TypeError(f"unknown rule spec {spec!r}")  # pragma: no cover
