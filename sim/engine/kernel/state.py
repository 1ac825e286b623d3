"""The compiled engine's state: a replication as arrays, and the codes that index them.

One replication's proposals are rows of a few arrays (what the Python engine keeps in
:class:`~sim.engine.proposal.Proposal` and :class:`~sim.core.visit.Visit` objects): floats in
``pf``, integers in ``pi`` (columns named below), per-state rows in ``ready``, ``until``,
``abstainers`` and ``blockers``. Mutable scalars (the clock, counters, cursors into the random
pools) live in ``sc`` and ``ic``. The codes are module constants, which numba folds into the
compiled code.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

# --- pf: a proposal's floats --------------------------------------------------------------
F_TEXT, F_TEXT_TIME, F_READY_MAX, F_DECIDED, F_HEND = 0, 1, 2, 3, 4
V_ENTERED, V_TMARK, V_FIRST_FAILED, V_WAIT_MEETING, V_WAIT_INSTR, V_NEGOTIATING = 5, 6, 7, 8, 9, 10
NF = 11
# --- pi: a proposal's integers --------------------------------------------------------------
I_OUTCOME, I_POS, I_URGENT, I_ROUNDS, I_ESCALATIONS, I_HOLD_STARTED, I_PARKED = 0, 1, 2, 3, 4, 5, 6
I_BRAKED, I_VISITED_TOP, I_INSTR_LOGGED, I_HELD_LOGGED, I_DECIDED_AT = 7, 8, 9, 10, 11
V_BODY, V_OPEN, V_TABLED, V_ROUNDS, V_FAILED = 12, 13, 14, 15, 16
NI = 17
NO_OUTCOME = -1
AT_WRITTEN, AT_NOWHERE = -1, -2  # decided_at: in written procedure, or pending (else a body)

# --- steps of the ladder (sim.core.ladder.Step) ------------------------------------------
TABLE, SILENCE, MOVE_ON, WRITTEN, ESCALATE, VOTE, BRAKE, RELEASE = 0, 1, 2, 3, 4, 5, 6, 7
REFER_BACK, REOPEN, DEBATE, ADOPT, KEEP_TRYING, WITHDRAW, BLOCK, LAPSE, ISSUE_BY_HR = (
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
)

# --- outcomes (sim.core.outcomes.Outcome, in its order) ---------------------------------------
O_ADOPTED, O_ADOPTED_WITH, O_BLOCKED, O_LAPSED, O_WITHDRAWN, O_ISSUED, O_PENDING = range(7)
# --- stage exits (sim.core.outcomes.StageExit, in its order) ----------------------------------
X_AGREED, X_ESCALATED, X_REFERRED_BACK, X_WRITTEN = 0, 1, 2, 3
X_OF_OUTCOME = 4  # the exit of outcome o is X_OF_OUTCOME + o

# --- activities (sim.engine.logs.Activity) ------------------------------------------------
A_SUBMITTED, A_TABLED, A_INSTRUCTIONS, A_RESERVATION, A_OBJECTION, A_ABSTENTION = range(6)
A_COMPROMISE, A_AGREED, A_ESCALATED, A_REFERRED_BACK, A_WRITTEN, A_VOTE = range(6, 12)
A_BRAKE, A_ADOPTED, A_BLOCKED, A_LAPSED, A_WITHDRAWN, A_PENDING, A_CONCESSION = range(12, 19)
A_ISSUED = 19

# --- rule kinds and columns -----------------------------------------------------------------
R_UNANIMITY, R_ABSTENTION, R_QMV = 0, 1, 2
RF_STATES, RF_POPULATION = 0, 1  # rf: thresholds (QMV) or limits (constructive abstention)
RI_MIN_BLOCKING, RI_BRAKE, RI_VOTE_RANK, RI_CONSENSUS, RI_A_ITEM = 0, 1, 2, 3, 4

# --- event kinds --------------------------------------------------------------------------
E_ARRIVAL, E_MEETING, E_LAPSE, E_PRESSURE, E_WRITTEN_END, E_EXTRA_MEETING = 0, 1, 2, 3, 4, 5
E_CONCESSION, E_CLIMB, E_MEDIATION_END = 6, 7, 8

# --- ic: integer scalars --------------------------------------------------------------------
C_HEAP, C_SEQ, C_ARRIVED, C_STAGES, C_EVENTS, C_MEETINGS, C_SLOTS, C_NODES = range(8)
C_OBJ, C_ABS, C_INSTR, C_SHOCK, C_BRAKE, C_OUTCOME, C_WORKAROUND = range(8, 15)
C_WRITTEN, C_DAYS_AT, C_DAYS_LEFT, C_URGENT_AT, C_URGENT_LEFT, C_CONCESSION, C_MEDIATION = range(
    15, 22
)
C_EXHAUSTED = 22  # which pool ran out (1 + its index), 0 if none
NC = 23
# pools, in the order of Pools' fields (C_EXHAUSTED = 1 + index)
P_OBJ, P_ABS, P_INSTR, P_SHOCK, P_BRAKE, P_OUTCOME, P_WORKAROUND = range(7)
P_WRITTEN, P_CONCESSION, P_MEDIATION, P_HEAP, P_EVENTS, P_NODES = range(7, 13)

# --- distributions drawn one double a value (flat pools) ------------------------------------
D_NONE, D_FIXED, D_UNIFORM, D_TRIANGULAR = 0, 1, 2, 3
DIST_WRITTEN, DIST_URGENT, DIST_MARGIN, DIST_STAGGER, DIST_MEDIATION = range(5)


class Scenario(NamedTuple):
    """A compiled scenario's numbers as arrays (built once per model)."""

    population: np.ndarray
    salience: np.ndarray
    tolerance: np.ndarray
    weight: np.ndarray
    objection_p: np.ndarray
    abstain_p: np.ndarray
    brake_p: np.ndarray
    written_p: np.ndarray
    declaration_p: np.ndarray
    concession_abstain_p: np.ndarray
    holdout_p: np.ndarray
    times: np.ndarray  # every body's meeting days, body after body
    times_at: np.ndarray  # body b's are times[times_at[b]:times_at[b + 1]]
    capacity: np.ndarray
    max_rounds: np.ndarray
    step: np.ndarray  # compromise step
    rank: np.ndarray
    body_rule: np.ndarray  # -1: the type's
    extra_days: np.ndarray  # nan: no extraordinary meetings
    extra_weekends: np.ndarray
    recess: np.ndarray  # [bodies, days], 1 in a recess
    rule_kind: np.ndarray
    rule_f: np.ndarray
    rule_i: np.ndarray
    type_rule: np.ndarray
    ambition: np.ndarray
    withdraw_p: np.ndarray
    scale_normal: np.ndarray
    scale_crisis: np.ndarray
    run_up: np.ndarray  # nan: none
    silence_first: np.ndarray
    written_route: np.ndarray  # the type's route may end in written procedure
    workaround_p: np.ndarray  # nan: none
    workaround_max: np.ndarray
    dists: np.ndarray  # [5, 4]: family and parameters of the flat pools' distributions
    practice: np.ndarray  # floats, indexed by the PR_ codes


PR_BARGAINING, PR_LEVEL, PR_AT_CLOSING, PR_ESCALATE, PR_CONCESSION_MEETING = range(5)
PR_RELEASE, PR_ALLY_DISTANCE, PR_TANDEM, PR_CLIMB_AFTER, PR_REINSTRUCT_OBJECTORS = range(5, 10)
PR_REINSTRUCT_ESCALATION, PR_DISCUSS_RESERVED, PR_MEDIATION, PR_SETTLES = range(10, 14)
PR_OPENS, PR_CLOSES, PR_WARMUP, PR_WEEKDAY0, PR_HORIZON, PR_WRITTEN_SHARE = range(14, 20)
PR_SHOCK, PR_TOP, PR_A_ITEMS, PR_WORKAROUNDS, PR_DETAIL, PR_COUNCIL_RANK = range(20, 26)
NPR = 26


class Pools(NamedTuple):
    """A replication's random numbers, drawn before it runs from its named streams in the
    blocks the Python engine draws them in (:class:`sim.core.rng.Rows`)."""

    objections: np.ndarray  # [rows, n]
    abstentions: np.ndarray  # [rows, n]
    instructions: np.ndarray  # [rows, n]
    shocks: np.ndarray  # [rows]
    brake: np.ndarray  # [rows, n]
    outcome: np.ndarray  # doubles
    workaround: np.ndarray  # doubles
    written: np.ndarray  # doubles (periods and objections, in the order drawn)
    concession: np.ndarray  # doubles
    mediation: np.ndarray  # doubles


class Proposals(NamedTuple):
    """The replication's proposals, in arrival order: what they are (drawn at tabling) and
    their state as they move."""

    arrival: np.ndarray
    deadline: np.ndarray  # nan: none
    ptype: np.ndarray
    b_item: np.ndarray
    route: np.ndarray  # [P, longest route]
    route_len: np.ndarray
    positions: np.ndarray  # [P, n]
    accept: np.ndarray
    holders: np.ndarray
    hold_days: np.ndarray
    scrutiny_until: np.ndarray
    least_accept: np.ndarray
    pf: np.ndarray
    pi: np.ndarray
    ready: np.ndarray
    until: np.ndarray
    abstainers: np.ndarray
    blockers: np.ndarray
    wp_objecting: np.ndarray  # [P, n]: who objects in its written procedure
    wp: np.ndarray  # [P, 2]: the procedure's start, and whether it was circulated first
    med_declarers: np.ndarray  # [P, n]
    med_move: np.ndarray  # [P, 4]: the brake's move
    med_since: np.ndarray


class Run(NamedTuple):
    """The replication's clock, counters, agendas, event queue and logs."""

    sc: np.ndarray  # [1]: the clock (SimPy's env.now)
    ic: np.ndarray  # [NC]
    agenda: np.ndarray  # [bodies, P]
    agenda_len: np.ndarray
    keep: np.ndarray  # [P]: scratch for a meeting's agenda
    extra_at: np.ndarray  # [bodies]: a pending extraordinary meeting's day (-1: none)
    extra_slot: np.ndarray  # [bodies]: the set of proposals it is convened for
    slot_head: np.ndarray  # per set: the first node (-1: empty)
    node_pid: np.ndarray
    node_next: np.ndarray
    heap_t: np.ndarray
    heap_seq: np.ndarray
    heap_kind: np.ndarray
    heap_a: np.ndarray
    heap_b: np.ndarray
    heap_f: np.ndarray
    stages_i: np.ndarray  # [rows, 5]: proposal, type, body, rounds, exit
    stages_f: np.ndarray  # [rows, 6]: entered, left, meeting, instructions, negotiating, failed
    events_i: np.ndarray  # [rows, 4]: case, activity, body, member
    events_f: np.ndarray  # [rows, 2]: time, value
    meetings_i: np.ndarray  # [rows, 5]: body, discussed, I/A, backlog, extraordinary
    meetings_f: np.ndarray  # [rows]: day
    pools: Pools


# --- the same records as numba structures: a call passes one pointer, not every array -----
from numba.core import types as _types  # noqa: E402
from numba.experimental import structref as _structref  # noqa: E402


def _structure(record: type) -> type:
    """A numba structure with ``record``'s fields, and its Python proxy (built from a record's
    arrays, which it shares)."""

    class Type(_types.StructRef):
        def preprocess_fields(self, fields):
            return tuple((name, _types.unliteral(typ)) for name, typ in fields)

    Type.__name__ = Type.__qualname__ = f"{record.__name__}Type"
    globals()[Type.__name__] = _structref.register(Type)

    class Proxy(_structref.StructRefProxy):
        pass

    Proxy.__name__ = Proxy.__qualname__ = f"{record.__name__}Ref"
    _structref.define_proxy(Proxy, Type, list(record._fields))  # type: ignore[attr-defined]
    return Proxy


ScenarioRef = _structure(Scenario)
PoolsRef = _structure(Pools)
ProposalsRef = _structure(Proposals)
RunRef = _structure(Run)
