"""Story tests: a tiny Council with fixed delays, hand-placed arrivals and scripted draws, and
the exact sequence of events each branch of the treaty flow must produce.

The Council of three states (AA, BB, CC; populations 1000, 2000, 3000) starts on Monday
6 January 2025 at midnight. The working party (WP) meets on Mondays (days 0, 7, 14, ...),
Coreper on Wednesdays (2, 9, ...), the Council on Fridays (4, 11, 18, ...) and the European
Council (EUCO) on 23 January (day 17) and 20 February (day 45). Capitals instruct in half a day.
Unless a story says otherwise, nobody objects, and every body gives up after one failed round.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.analysis.metrics import replication_metrics
from sim.core.members import Holdouts
from sim.core.negotiation import negotiate
from sim.core.outcomes import Outcome
from sim.core.voting import ConstructiveAbstentionRule
from sim.engine.compile import compile_scenario
from sim.engine.replication import Replication
from sim.scenario import Scenario

NO = 1.0  # a uniform draw above every probability in these stories: nothing happens
YES = 0.0  # a uniform draw below any positive probability: it happens


def _body(name: str, level: str, calendar: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "level": level,
        "chair": "presidency",
        "calendar": {"hour": 0.0, **calendar},
        "capacity": 10,
        "max_rounds": 1,
        "compromise_step": 0.0,
        **extra,
    }


BASE: dict[str, Any] = {
    "name": "story",
    "description": "A three-state Council for story tests",
    "start_date": "2025-01-06",
    "horizon_days": 60,
    "membership": "none",
    "member_defaults": {
        "salience": 0.5,
        "tolerance": 1.0,
        "instruction_delay": {"dist": "fixed", "value": 0.5},
        "objection_probability": 0.0,
        "scrutiny_probability": 0.0,
        "scrutiny_days": {"dist": "fixed", "value": 0},
        "holdout_probability": 0.0,
        "holdout_days": {"dist": "fixed", "value": 0},
        "abstain_probability": 0.0,
        "brake_probability": 0.0,
        "written_objection_probability": 0.0,
    },
    "member_states": {
        "AA": {"name": "Alpha", "population": 1000},
        "BB": {"name": "Beta", "population": 2000},
        "CC": {"name": "Gamma", "population": 3000},
    },
    "decision_rules": {
        "unanimity": {"kind": "unanimity"},
        "qmv": {
            "kind": "qmv",
            "states_threshold": 0.55,
            "population_threshold": 0.65,
            "min_blocking_states": 0,
            "emergency_brake": True,
        },
        "ca": {"kind": "constructive_abstention", "states_limit": 1 / 3, "population_limit": 1 / 3},
    },
    "bodies": {
        "WP": _body("Working party", "working_party", {"weekdays": ["mon"]}),
        "COREPER": _body("Coreper", "coreper", {"weekdays": ["wed"]}),
        "COUNCIL": _body("Council", "council", {"weekdays": ["fri"]}),
        "EUCO": _body(
            "European Council",
            "european_council",
            {"dates": ["2025-01-23", "2025-02-20"]},
            rule="unanimity",
        ),
    },
    "escalation_body": "EUCO",
    "written_procedure": {"days": {"dist": "fixed", "value": 3}},
    "proposal_types": {
        "item": {
            "description": "A proposal",
            "arrivals": {"kind": "poisson", "rate_per_year": 1},
            "route": ["WP", "COREPER", "COUNCIL"],
            "rule": "unanimity",
            "position": 0.5,
            "contestation": 0.0,
        },
        "urgent_item": {
            "description": "An urgent proposal",
            "arrivals": {"kind": "poisson", "rate_per_year": 1},
            "route": ["WP", "COREPER", "COUNCIL"],
            "rule": "unanimity",
            "position": 0.5,
            "contestation": 0.0,
            "crisis": {"share": 1.0},
        },
    },
    # the first model's capitals (the measured practice is the default): the stories below
    # change them where they tell the practice's story
    "negotiation": {
        "capitals": {
            "reinstruct": "all",
            "reinstruct_on_escalation": True,
            "discuss_under_reservation": False,
        },
        # the stories' bodies meet at midnight (whole days); meeting hours are a story of their own
        "agenda": {"meeting_hours": [0.0, 24.0]},
    },
}


def bargaining(**keys: Any) -> dict[str, Any]:
    """A ``[negotiation.bargaining]`` table: the first model's bargaining (demands raised on
    Coreper's agenda, escalated when rounds run out, concessions convening nothing), changed
    by ``keys``."""
    return {
        "level": "coreper",
        "moment": "agenda",
        "escalate": True,
        "concession_meeting": False,
        **keys,
    }


class ScriptedDraws:
    """Round draws from scripts: one row per round that needs it, ``NO`` once a script ends."""

    def __init__(
        self,
        objections: list[list[float]] | None = None,
        abstentions: list[list[float]] | None = None,
        brake: list[list[float]] | None = None,
    ) -> None:
        self.scripts = {
            "objections": list(objections or []),
            "abstentions": list(abstentions or []),
            "brake": list(brake or []),
        }

    def _next(self, name: str) -> np.ndarray:
        script = self.scripts[name]
        return np.asarray(script.pop(0) if script else [NO, NO, NO], dtype=float)

    def objections(self) -> np.ndarray:
        return self._next("objections")

    def abstentions(self) -> np.ndarray:
        return self._next("abstentions")

    def brake(self) -> np.ndarray:
        return self._next("brake")


def scenario(**changes: Any) -> dict[str, Any]:
    """The base scenario with ``changes`` at dotted key paths (``"bodies.WP.capacity"``)."""
    s = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = s
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return s


def story(
    spec: dict[str, Any],
    arrivals: list[tuple[float, int, float | None]],
    draws: ScriptedDraws | None = None,
) -> tuple[list[tuple[float, str, str, str]], pd.DataFrame, Any]:
    """Run the story: ``(day, activity, body, member)`` of every event, the proposals, and
    the replication's tables."""
    compiled = compile_scenario(Scenario.model_validate(spec))
    rep = Replication(compiled, compiled.dtypes(), seed=0, replication=0, draws=draws)
    rep.run(arrivals)
    r = rep.result()
    ev = r.events
    events = [
        (round(float(t), 6), str(a), "" if pd.isna(b) else str(b), "" if pd.isna(m) else str(m))
        for t, a, b, m in zip(
            ev["time_day"], ev["activity"], ev["body"], ev["member_state"], strict=True
        )
    ]
    return events, r.proposals, r


ITEM, URGENT = 0, 1


def test_uncontested_item_climbs_the_ladder_and_is_adopted_as_an_a_item() -> None:
    events, props, r = story(BASE, [(0.5, ITEM, None)])
    assert events == [
        (0.5, "submitted", "", ""),
        (1.0, "instructions_received", "WP", ""),
        (7.0, "tabled", "WP", ""),
        (7.0, "agreed", "WP", ""),
        (9.0, "agreed", "COREPER", ""),
        (11.0, "vote", "COUNCIL", ""),
        (11.0, "adopted", "COUNCIL", ""),
    ]
    assert props["outcome"].tolist() == ["adopted"]
    assert props["duration_days"].tolist() == [10.5]
    stages = r.stages
    assert stages["body"].astype(str).tolist() == ["WP", "COREPER", "COUNCIL"]
    assert stages["exit"].astype(str).tolist() == ["agreed", "agreed", "adopted"]
    # at the WP (6.5 days): half a day waiting for instructions, then 6 for the meeting
    assert stages.loc[0, ["wait_instructions_days", "wait_meeting_days"]].tolist() == [0.5, 6.0]


def test_scrutiny_reservation_holds_the_item_until_the_parliament_has_spoken() -> None:
    spec = scenario(
        member_states__AA__scrutiny_probability=1.0,
        member_states__AA__scrutiny_days={"dist": "fixed", "value": 10},
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    assert events[:5] == [
        (0.5, "submitted", "", ""),
        (7.0, "tabled", "WP", ""),
        (7.0, "reservation", "WP", "AA"),  # only AA: the others were instructed on day 1
        (10.5, "instructions_received", "WP", ""),
        (14.0, "agreed", "WP", ""),
    ]
    assert r.events.loc[r.events["activity"] == "reservation", "value"].tolist() == [3.5]
    assert props["outcome"].tolist() == ["adopted"]


def test_compromise_moves_the_text_step_by_step_until_the_objector_can_accept() -> None:
    spec = scenario(
        member_states__AA__positions={"item": 0.2},
        member_states__AA__tolerance=0.3,  # AA accepts texts up to 0.5; the text starts at 1.0
        bodies__WP__compromise_step=0.25,
        bodies__WP__max_rounds=5,
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    wp = [e for e in events if e[2] == "WP" and e[1] != "abstention"]
    assert wp == [
        (1.0, "instructions_received", "WP", ""),
        (7.0, "tabled", "WP", ""),
        (7.0, "objection", "WP", "AA"),
        (7.0, "compromise", "WP", ""),
        (7.5, "instructions_received", "WP", ""),
        (14.0, "objection", "WP", "AA"),
        (14.0, "compromise", "WP", ""),
        (14.5, "instructions_received", "WP", ""),
        (21.0, "agreed", "WP", ""),
    ]
    texts = r.events.loc[r.events["activity"] == "compromise", "value"].tolist()
    assert texts == [0.75, 0.5]
    assert props["dilution"].tolist() == [0.5]
    assert props["rounds"].tolist() == [3]


def test_escalation_to_the_european_council_and_referral_back_for_adoption() -> None:
    spec = scenario(member_states__AA__objection_probability=0.5)
    aa_objects = [[YES, NO, NO]] * 3  # at the WP, in Coreper and in the Council
    events, props, _ = story(spec, [(0.5, ITEM, None)], ScriptedDraws(objections=aa_objects))
    flow = [(t, a, b) for t, a, b, _ in events if a not in ("objection", "abstention")]
    assert flow == [
        (0.5, "submitted", ""),
        (1.0, "instructions_received", "WP"),
        (7.0, "tabled", "WP"),
        (7.0, "escalated", "WP"),
        (7.5, "instructions_received", "COREPER"),
        (9.0, "tabled", "COREPER"),
        (9.0, "escalated", "COREPER"),
        (9.5, "instructions_received", "COUNCIL"),
        (11.0, "tabled", "COUNCIL"),
        (11.0, "escalated", "COUNCIL"),
        (11.5, "instructions_received", "EUCO"),
        (17.0, "tabled", "EUCO"),
        (17.0, "agreed", "EUCO"),
        (17.0, "referred_back", "EUCO"),
        (18.0, "vote", "COUNCIL"),
        (18.0, "adopted", "COUNCIL"),
    ]
    assert props[["outcome", "escalations", "decided_at"]].values.tolist() == [
        ["adopted", 3, "COUNCIL"]
    ]


@pytest.mark.parametrize(("withdraw_p", "outcome"), [(0.0, "blocked"), (1.0, "withdrawn")])
def test_an_item_that_fails_at_the_top_is_blocked_or_withdrawn(
    withdraw_p: float, outcome: str
) -> None:
    spec = scenario(
        member_states__AA__objection_probability=0.5,
        proposal_types__item__withdraw_probability=withdraw_p,
    )
    aa_objects = [[YES, NO, NO]] * 4  # ... and at the European Council
    events, props, _ = story(spec, [(0.5, ITEM, None)], ScriptedDraws(objections=aa_objects))
    assert events[-3:] == [
        (17.0, "tabled", "EUCO", ""),
        (17.0, "objection", "EUCO", "AA"),
        (17.0, outcome, "EUCO", ""),
    ]
    assert props[["outcome", "decided_at"]].values.tolist() == [[outcome, "EUCO"]]
    assert props["blocking_states"].tolist() == (["AA"] if outcome == "blocked" else [""])


def test_an_item_with_a_deadline_keeps_trying_at_the_top_until_it_lapses() -> None:
    spec = scenario(
        member_states__AA__positions={"item": 0.0},
        member_states__AA__tolerance=0.1,  # AA objects to the text whatever happens
    )
    events, props, _ = story(spec, [(0.5, ITEM, 50.0)])
    euco = [(t, a) for t, a, b, m in events if b == "EUCO" and a != "abstention"]
    assert euco == [
        (11.5, "instructions_received"),
        (17.0, "tabled"),
        (17.0, "objection"),  # rounds exhausted at the top: the deadline keeps it alive
        (45.0, "objection"),
        (50.0, "lapsed"),
    ]
    assert props[["outcome", "blocking_states"]].values.tolist() == [["lapsed", "AA"]]


def _declaration(objectors: tuple[str, ...], **workaround: Any) -> dict[str, Any]:
    """An item the states ``objectors`` object to whatever happens, with a workaround table
    (none if ``workaround`` is empty)."""
    changes: dict[str, Any] = {}
    for state in objectors:
        changes[f"member_states__{state}__positions"] = {"item": 0.0}
        changes[f"member_states__{state}__tolerance"] = 0.1
    if workaround:
        changes["proposal_types__item__workaround"] = workaround
    return scenario(**changes)


@pytest.mark.parametrize(
    ("workaround", "outcome"), [({}, "blocked"), ({"probability": 1.0}, "issued_by_hr")]
)
def test_a_declaration_one_state_blocks_is_issued_by_the_high_representative_instead(
    workaround: dict[str, Any], outcome: str
) -> None:
    """ST01: Hungary blocked the EU-27 statement on the ICC's arrest warrant; Borrell issued it
    in his own name. Counted apart: not adopted, not blocked."""
    events, props, r = story(_declaration(("AA",), **workaround), [(0.5, ITEM, None)])
    assert events[-3:] == [
        (17.0, "tabled", "EUCO", ""),
        (17.0, "objection", "EUCO", "AA"),  # the lone blocker, at the top
        (17.0, outcome, "EUCO", ""),
    ]
    assert props[["outcome", "decided_at", "blocking_states"]].values.tolist() == [
        [outcome, "EUCO", "AA"]
    ]
    assert r.stages["exit"].astype(str).tolist()[-1] == outcome
    m = replication_metrics(r.proposals, r.stages, r.events, r.meetings, 60.0)
    value = m.set_index(["metric", "group"])["value"]
    issued = outcome == "issued_by_hr"
    assert value["hr_declaration_rate", "item"] == float(issued)
    assert value["block_rate", "item"] == float(not issued)
    assert value["adoption_rate", "item"] == 0.0  # the HR's own declaration is no adoption
    assert value["proposals_blocked", "AA"] == 1.0  # AA blocked the EU's declaration either way


@pytest.mark.parametrize(("max_objectors", "outcome"), [(1, "blocked"), (2, "issued_by_hr")])
def test_the_workaround_goes_over_no_more_objectors_than_its_limit(
    max_objectors: int, outcome: str
) -> None:
    spec = _declaration(("AA", "BB"), probability=1.0, max_objectors=max_objectors)
    _, props, _ = story(spec, [(0.5, ITEM, None)])
    assert props[["outcome", "blocking_states"]].values.tolist() == [[outcome, "AA,BB"]]


def test_a_declaration_that_lapses_over_one_objection_is_issued_instead() -> None:
    spec = _declaration(("AA",), probability=1.0)
    compiled = compile_scenario(Scenario.model_validate(spec))
    rep = Replication(compiled, compiled.dtypes(), seed=0, replication=0)
    rep.run([(0.5, ITEM, 50.0)])
    assert not any(rep.desk.agendas)  # off the European Council's agenda it waited on
    r = rep.result()
    assert r.events["activity"].astype(str).tolist()[-1] == "issued_by_hr"
    assert r.proposals[["outcome", "decided_day", "blocking_states"]].values.tolist() == [
        ["issued_by_hr", 50.0, "AA"]
    ]


def test_emergency_brake_refers_an_outvoted_state_to_the_european_council() -> None:
    spec = scenario(
        proposal_types__item__rule="qmv",
        member_states__AA__objection_probability=0.5,
        member_states__AA__brake_probability=0.5,
    )
    draws = ScriptedDraws(objections=[[YES, NO, NO]], brake=[[YES, NO, NO]])
    events, props, _ = story(spec, [(0.5, ITEM, None)], draws)
    assert events[2:9] == [
        (7.0, "tabled", "WP", ""),
        (7.0, "vote", "WP", ""),
        (7.0, "objection", "WP", "AA"),  # outvoted: BB and CC are a qualified majority
        (7.0, "emergency_brake", "WP", "AA"),
        (7.0, "escalated", "WP", ""),
        (7.5, "instructions_received", "EUCO", ""),
        (17.0, "tabled", "EUCO", ""),
    ]
    assert events[-4:] == [
        (17.0, "agreed", "EUCO", ""),
        (17.0, "referred_back", "EUCO", ""),
        (18.0, "vote", "COUNCIL", ""),
        (18.0, "adopted", "COUNCIL", ""),
    ]
    assert draws.scripts["brake"] == []  # the brake was drawn once, when AA was outvoted
    assert props[["outcome", "escalations"]].values.tolist() == [["adopted", 1]]


def test_urgent_items_are_discussed_first_when_agenda_room_is_short() -> None:
    spec = scenario(bodies__WP__capacity=1)
    events, _, r = story(spec, [(0.5, ITEM, None), (1.0, URGENT, None)])
    tabled = [(t, b) for t, a, b, _ in events if a == "tabled"]
    assert tabled == [(7.0, "WP"), (14.0, "WP")]
    first = r.events[r.events["activity"] == "tabled"]["case_id"].tolist()
    assert first == [1, 0]  # the urgent item (id 1) first, although it came later
    wp = r.meetings[(r.meetings["body"] == "WP") & (r.meetings["time_day"] == 7.0)]
    assert wp[["discussed", "backlog"]].values.tolist() == [[1, 1]]


def test_ia_items_pass_without_using_discussion_room() -> None:
    spec = scenario(bodies__COREPER__capacity=1)
    _, props, r = story(spec, [(0.5, ITEM, None), (0.6, ITEM, None)])
    coreper = r.meetings[(r.meetings["body"] == "COREPER") & (r.meetings["time_day"] == 9.0)]
    assert coreper[["discussed", "ia_items", "backlog"]].values.tolist() == [[0, 2, 0]]
    assert props["decided_day"].tolist() == [11.0, 11.0]


@pytest.mark.parametrize("objects", [False, True])
def test_written_procedure_adopts_unless_a_state_objects(objects: bool) -> None:
    spec = scenario(
        proposal_types__item__route=["WP", "COUNCIL"],
        proposal_types__item__written_procedure=True,
        member_states__AA__written_objection_probability=1.0 if objects else 0.0,
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    assert events[2:4] == [(7.0, "tabled", "WP", ""), (7.0, "agreed", "WP", "")]
    assert events[4] == (7.0, "written_procedure", "", "")
    if objects:
        assert events[5:] == [
            (10.0, "objection", "", "AA"),  # silence broken: back to the Council's agenda
            (11.0, "tabled", "COUNCIL", ""),
            (11.0, "agreed", "COUNCIL", ""),
            (11.0, "adopted", "COUNCIL", ""),
        ]
    else:
        assert events[5:] == [(10.0, "adopted", "", "")]
        assert props["decided_at"].tolist() == ["written_procedure"]
    written = r.stages[r.stages["body"] == "written_procedure"]
    assert written[["wait_meeting_days", "exit"]].astype(str).values.tolist() == [
        ["3.0", "written_procedure"]
    ]


def test_a_formal_abstention_below_the_limits_lets_the_act_pass() -> None:
    spec = scenario(
        proposal_types__item__rule="ca",
        member_states__AA__objection_probability=0.5,
        member_states__AA__declaration_probability=0.5,  # willingness 0.5 * (1 - salience 0.5)
    )
    draws = ScriptedDraws(objections=[[YES, NO, NO]], abstentions=[[YES, NO, NO]])
    events, props, _ = story(spec, [(0.5, ITEM, None)], draws)
    assert (7.0, "abstention", "WP", "AA") in events
    assert props[["outcome", "abstaining_states"]].values.tolist() == [
        ["adopted_with_abstentions", "AA"]
    ]


def test_constructive_abstention_limits_bind_when_abstainers_hold_a_third_of_both() -> None:
    """Art. 31(1) TEU: abstainers with a declaration comprising at least one third of the
    states and one third of the population stop the decision. CC alone is one state of three
    and half the population: the round fails and CC is the one blocking; AA alone (a sixth of
    the population) does not stop it."""
    compiled = compile_scenario(
        Scenario.model_validate(
            scenario(
                member_states__AA__declaration_probability=0.5,
                member_states__CC__declaration_probability=0.5,
                member_states__AA__objection_probability=0.5,
                member_states__CC__objection_probability=0.5,
            )
        )
    )
    m = compiled.members
    from sim.core.members import proposal_stances

    stances = proposal_stances(m, "item", 0.0, False, np.array([0.0]), np.random.default_rng(0))[0]
    rule = ConstructiveAbstentionRule("ca", 1 / 3, 1 / 3)
    for who, adopted in (([YES, NO, NO], True), ([NO, NO, YES], False)):
        r = negotiate(
            m,
            1.0,
            stances,
            Holdouts.none(3),
            rule,
            1.0,
            ScriptedDraws(objections=[who], abstentions=[who]),
            compromise_step=0.0,
            brake_possible=False,
        )
        assert r.agreed is adopted
        assert r.decision is not None
        assert r.votes is not None
        assert (r.votes == 3).tolist() == [w == YES for w in who]  # formal declarations
        assert r.decision.blocking.tolist() == ([False] * 3 if adopted else [False, False, True])


# --- the negotiating practice ([negotiation.*] and the QMV practice) ------------------------------


@pytest.mark.parametrize(("moment", "raised"), [("agenda", 7.0), ("closing", 9.0)])
def test_a_holdout_raises_its_demand_in_coreper_and_ends_with_a_concession(
    moment: str, raised: float
) -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(moment=moment),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        member_states__BB__abstain_after_concession=1.0,
        bodies__COREPER__max_rounds=5,
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    flow = [(t, a, b, m) for t, a, b, m in events if a not in ("abstention", "tabled")]
    assert flow == [
        (0.5, "submitted", "", ""),
        (1.0, "instructions_received", "WP", ""),
        (7.0, "agreed", "WP", ""),  # no demand raised in the working party
        # raised on day 7 (on the agenda) or 9 (an I item is ripe): discussed, not passed, on 9
        (16.0, "objection", "COREPER", "BB"),
        (raised + 10, "concession", "COREPER", "BB"),  # ten days after it was raised
        (23.0, "agreed", "COREPER", ""),
        (25.0, "vote", "COUNCIL", ""),
        (25.0, "adopted", "COUNCIL", ""),
    ]
    assert r.events.loc[r.events["activity"] == "concession", "value"].tolist() == [10.0]
    assert props[["outcome", "abstaining_states", "dilution"]].values.tolist() == [
        ["adopted_with_abstentions", "BB", 0.0]  # it abstained after conceding; no dilution
    ]


def test_a_holdout_concedes_before_the_deadline_while_the_item_is_parked_in_coreper() -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(concession_margin={"dist": "fixed", "value": 5}),
        proposal_types__item__deadline_days=39.5,  # the arrivals below state the deadline
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 400},
    )
    events, props, _ = story(spec, [(0.5, ITEM, 40.0)])
    objections = [(t, b) for t, a, b, _ in events if a == "objection"]
    assert objections == [(16.0, "COREPER")]  # then parked: only the hold-out blocks it
    assert [(t, a, b) for t, a, b, _ in events if t > 16] == [
        (35.0, "concession", "COREPER"),  # the deadline binds: 5 days before it
        (37.0, "agreed", "COREPER"),
        (39.0, "vote", "COUNCIL"),
        (39.0, "adopted", "COUNCIL"),
    ]
    # without a deadline it climbs to ministers, where it is parked until the concession
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    assert props[["outcome", "decided_at"]].values.tolist() == [["pending", ""]]
    assert events[-2:] == [(16.0, "escalated", "COREPER", ""), (60.0, "pending", "COUNCIL", "")]
    assert "blocked" not in {a for _, a, _, _ in events}


@pytest.mark.parametrize(("moment", "raised"), [("agenda", 7.0), ("closing", 16.0)])
def test_a_holdout_raises_its_demand_at_closing_once_the_text_is_ripe(
    moment: str, raised: float
) -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(moment=moment),
        member_states__AA__positions={"item": 0.2},
        member_states__AA__tolerance=0.3,  # AA accepts texts up to 0.5; the text starts at 1.0
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        bodies__COREPER__compromise_step=0.5,
        bodies__COREPER__max_rounds=5,
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    flow = [(t, a, m) for t, a, b, m in events if b == "COREPER" and a != "abstention"]
    assert flow == [
        (7.5, "instructions_received", ""),  # escalated from the WP on day 7
        (9.0, "tabled", ""),
        (9.0, "objection", "AA"),  # the text is not ripe: AA objects to the text itself
        *([(9.0, "objection", "BB")] if moment == "agenda" else []),
        (9.0, "compromise", ""),
        (9.5, "instructions_received", ""),
        (16.0, "objection", "BB"),  # ripe for everyone else: at closing, BB's demand now
        (raised + 10, "concession", "BB"),
        (23.0 if moment == "agenda" else 30.0, "agreed", ""),
    ]
    conceded = r.events[r.events["activity"] == "concession"]
    assert conceded[["time_day", "value"]].values.tolist() == [[raised + 10, 10.0]]
    stage = r.stages[r.stages["body"] == "COREPER"]
    assert stage["first_failed_day"].tolist() == [9.0]  # AA's objection failed the first round
    assert props["outcome"].tolist() == ["adopted"]


def test_an_earlier_flat_practice_key_is_refused_with_where_it_moved() -> None:
    spec = scenario(negotiation={"holdout_moment": "closing"})
    with pytest.raises(ValueError, match=r"moved to negotiation\.bargaining\.moment"):
        Scenario.model_validate(spec)


def test_proposals_tabled_together_after_a_rounded_wait_all_arrive() -> None:
    # 37.52... + (111.11 - 37.52...) rounds to one ulp past 111.11 in floating point
    first, day = 37.524463776481205, 111.11
    assert first + (day - first) > day
    _, props, _ = story(scenario(horizon_days=200), [(first, ITEM, None)] + [(day, ITEM, None)] * 3)
    assert props["arrival_day"].tolist() == [first, day, day, day]


def test_an_unchanged_text_escalates_without_new_instructions() -> None:
    spec = scenario(
        negotiation__capitals__reinstruct_on_escalation=False,
        member_states__AA__objection_probability=0.5,
    )
    draws = ScriptedDraws(objections=[[YES, NO, NO]])
    events, _, _ = story(spec, [(0.5, ITEM, None)], draws)
    instructed = [(t, b) for t, a, b, _ in events if a == "instructions_received"]
    assert instructed == [(1.0, "WP")]  # once, on the first text
    assert (9.0, "agreed", "COREPER", "") in events  # discussed at the next Coreper at once


def test_after_a_compromise_only_the_objectors_re_instruct_and_talks_go_on_meanwhile() -> None:
    spec = scenario(
        negotiation__capitals__reinstruct="objectors",
        negotiation__capitals__discuss_under_reservation=True,
        member_states__AA__positions={"item": 0.2},
        member_states__AA__tolerance=0.3,
        member_states__AA__instruction_delay={"dist": "fixed", "value": 8},
        bodies__WP__compromise_step=0.25,
        bodies__WP__max_rounds=5,
    )
    events, _, _ = story(spec, [(0.5, ITEM, None)])
    reservations = [(t, m) for t, a, _, m in events if a == "reservation"]
    assert reservations == [(7.0, "AA"), (14.0, "AA"), (21.0, "AA")]  # AA alone re-instructs
    compromises = [t for t, a, _, _ in events if a == "compromise"]
    assert compromises == [7.0, 14.0]  # the first under AA's reservation: discussion went on
    assert (21.0, "objection", "WP", "AA") not in events
    assert (28.0, "agreed", "WP", "") in events  # AA's instructions on 0.5 came on day 22


def test_bodies_not_required_are_skipped_and_a_items_go_to_any_council() -> None:
    spec = scenario(
        proposal_types__item__skip={"COREPER": 1.0},
        negotiation__agenda={"a_item_body": "AITEMS"},
        bodies__AITEMS=_body("Council (any configuration)", "council", {"weekdays": ["tue"]}),
    )
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    assert [(t, a, b) for t, a, b, _ in events][-3:] == [
        (7.0, "agreed", "WP"),  # straight on: the PSC-style body was not required
        (8.0, "vote", "AITEMS"),  # the next day's Council adopts it as an A item
        (8.0, "adopted", "AITEMS"),
    ]
    assert props["decided_at"].tolist() == ["AITEMS"]


def test_urgent_items_get_extraordinary_meetings() -> None:
    spec = scenario(bodies__WP__extraordinary_days=1.0, bodies__COREPER__extraordinary_days=1.0)
    _, props, r = story(spec, [(0.5, URGENT, None), (0.5, ITEM, None)])
    # the WP meets the next day instead of on day 7 for the urgent item; the ordinary one
    # waits for the regular meetings (an extraordinary meeting is not for it)
    assert props["decided_day"].tolist() == [4.0, 11.0]
    extra = r.meetings[r.meetings["extraordinary"]]
    assert extra[["body", "time_day"]].astype(str).values.tolist() == [["WP", "1.5"]]


def test_under_qmv_the_chair_seeks_consensus_and_votes_only_in_the_council() -> None:
    rule = dict(BASE["decision_rules"]["qmv"], vote_level="council", consensus_rounds=1)
    spec = scenario(
        decision_rules__qmv=rule,
        proposal_types__item__rule="qmv",
        member_states__AA__positions={"item": 0.0},
        member_states__AA__tolerance=0.1,  # AA objects to the text throughout
        member_states__AA__brake_probability=0.5,
        bodies__COUNCIL__max_rounds=3,
    )
    draws = ScriptedDraws(brake=[[YES, NO, NO]])
    events, props, _ = story(spec, [(0.5, ITEM, None)], draws)
    # one consensus round per body below the Council, then up: no vote there
    assert [(t, a, b) for t, a, b, _ in events if a in ("objection", "escalated")][:4] == [
        (7.0, "objection", "WP"),
        (7.0, "escalated", "WP"),
        (9.0, "objection", "COREPER"),
        (9.0, "escalated", "COREPER"),
    ]
    council = [(t, a) for t, a, b, _ in events if b == "COUNCIL" and a != "abstention"]
    assert council[-5:] == [
        (11.0, "tabled"),
        (11.0, "vote"),
        (11.0, "objection"),  # a QMV vote outvotes AA ...
        (11.0, "emergency_brake"),  # ... who pulls the brake, at the Council only
        (11.0, "escalated"),
    ]
    assert props[["outcome", "decided_at"]].values.tolist() == [["blocked", "EUCO"]]


@pytest.mark.parametrize("a_item_vote", [True, False])
def test_under_qmv_a_text_without_consensus_may_be_voted_as_an_a_item(a_item_vote: bool) -> None:
    rule = dict(
        BASE["decision_rules"]["qmv"],
        vote_level="council",
        consensus_rounds=1,
        vote_as_a_item=a_item_vote,
    )
    spec = scenario(
        decision_rules__qmv=rule,
        proposal_types__item__rule="qmv",
        member_states__AA__positions={"item": 0.0},
        member_states__AA__tolerance=0.1,  # AA objects to the text throughout
        negotiation__agenda={"a_item_body": "AITEMS"},
        bodies__AITEMS=_body("Council (any configuration)", "council", {"weekdays": ["tue"]}),
        # ministers of the adopting configuration meet monthly: Friday 24 January is day 18
        bodies__COUNCIL=_body("Council", "council", {"monthly": [{"weekday": "fri", "nth": 4}]}),
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    assert [(t, a, b) for t, a, b, _ in events if a == "escalated"] == [
        (7.0, "escalated", "WP"),
        (9.0, "escalated", "COREPER"),  # consensus failed one rung below the vote
    ]
    after = [(t, a, b, m) for t, a, b, m in events if t > 9.0 and a != "instructions_received"]
    if a_item_vote:  # the next Council of any configuration votes AA down without debate
        assert after == [(15.0, "vote", "AITEMS", ""), (15.0, "adopted", "AITEMS", "")]
        vote = r.events[r.events["activity"] == "vote"]
        assert vote["value"].tolist() == [2.0]  # BB and CC for: a qualified majority
    else:  # the text waits for its ministers' monthly meeting, who vote after a debate
        assert after == [
            (18.0, "tabled", "COUNCIL", ""),
            (18.0, "vote", "COUNCIL", ""),
            (18.0, "objection", "COUNCIL", "AA"),
            (18.0, "agreed", "COUNCIL", ""),
            (18.0, "adopted", "COUNCIL", ""),
        ]
        vote = r.events[r.events["activity"] == "vote"]
        assert vote["value"].tolist() == [2.0]  # the ministers' vote: BB and CC for
    assert props["outcome"].tolist() == ["adopted"]


def test_a_holder_cannot_stop_a_qmv_vote_on_an_a_item_by_asking_for_a_debate() -> None:
    rule = dict(
        BASE["decision_rules"]["qmv"], vote_level="council", consensus_rounds=1, vote_as_a_item=True
    )
    spec = scenario(
        decision_rules__qmv=rule,
        proposal_types__item__rule="qmv",
        negotiation__bargaining=bargaining(),
        negotiation__agenda={"a_item_body": "AITEMS"},
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 30},
        bodies__AITEMS=_body("Council (any configuration)", "council", {"weekdays": ["tue"]}),
    )
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    flow = [(t, a, b, m) for t, a, b, m in events if t >= 9.0 and a != "instructions_received"]
    assert flow == [
        # raised on day 7, when the item reached Coreper's agenda: discussed from day 16
        (16.0, "tabled", "COREPER", ""),
        (16.0, "objection", "COREPER", "BB"),  # BB's demand fails the consensus round
        (16.0, "escalated", "COREPER", ""),
        (22.0, "vote", "AITEMS", ""),  # AA and CC (4,000 of 6,000) outvote BB, no debate
        (22.0, "adopted", "AITEMS", ""),
    ]
    assert "concession" not in {a for _, a, _, _ in events}  # BB would have held to day 37
    assert props[["outcome", "abstaining_states"]].values.tolist() == [["adopted", ""]]


def test_an_item_near_its_deadline_becomes_urgent_and_gets_an_extraordinary_meeting() -> None:
    spec = scenario(
        proposal_types__item__deadline_days=30.0,  # the arrivals state the deadline
        proposal_types__item__crisis={"run_up_days": 10},
        bodies__COREPER__extraordinary_days=1.0,
        member_states__AA__objection_probability=0.5,
        bodies__WP__max_rounds=5,
    )
    draws = ScriptedDraws(objections=[[YES, NO, NO]] * 2)  # AA objects on days 7 and 14
    events, props, r = story(spec, [(0.5, ITEM, 26.0)], draws)
    assert props["urgent"].tolist() == [True]  # from day 16
    assert (21.0, "agreed", "WP", "") in events
    assert (22.0, "agreed", "COREPER", "") in events  # at short notice, not on day 23
    extra = r.meetings[r.meetings["extraordinary"]]
    assert extra[["body", "time_day"]].astype(str).values.tolist() == [["COREPER", "22.0"]]
    assert props["outcome"].tolist() == ["adopted"]


@pytest.mark.parametrize("pressed", [True, False])
def test_capitals_still_to_instruct_are_pressed_when_the_deadline_nears(pressed: bool) -> None:
    spec = scenario(
        proposal_types__item__deadline_days=30.0,  # the arrivals state the deadline
        proposal_types__item__crisis={
            "run_up_days": 10,
            "instruction_scale": 0.1 if pressed else 1.0,
        },
        bodies__COREPER__extraordinary_days=1.0,
        member_states__AA__instruction_delay={"dist": "fixed", "value": 30},
    )
    events, props, _ = story(spec, [(0.5, ITEM, 26.0)])
    if pressed:  # urgent on day 16: AA's remaining 14.5 days shrink to 1.45
        assert (17.45, "instructions_received", "WP", "") in events
        assert (21.0, "agreed", "WP", "") in events
        assert props[["outcome", "decided_day"]].values.tolist() == [["adopted", 25.0]]
    else:  # AA's instructions would come on day 30.5, after the deadline
        assert props[["outcome", "decided_at"]].values.tolist() == [["lapsed", "WP"]]


def test_an_item_tabled_within_its_deadline_run_up_is_urgent_from_the_start() -> None:
    spec = scenario(
        proposal_types__item__deadline_days=30.0,  # the arrivals state the deadline
        proposal_types__item__crisis={"run_up_days": 10},
        bodies__COREPER__extraordinary_days=1.0,
    )
    events, props, r = story(spec, [(0.5, ITEM, 9.5)])
    assert props["urgent"].tolist() == [True]  # tabled 9 days before expiry, inside the 10
    assert (7.0, "agreed", "WP", "") in events
    extra = r.meetings[r.meetings["extraordinary"]]
    assert extra[["body", "time_day"]].astype(str).values.tolist() == [["COREPER", "8.0"]]
    assert (8.0, "agreed", "COREPER", "") in events  # at short notice, not on day 9


def test_a_renewal_is_tabled_its_lead_days_of_working_time_before_expiry() -> None:
    import datetime as dt

    from sim.core.arrivals import ScheduledSpec, scheduled_arrivals
    from sim.core.calendars import Recess

    summer = Recess(name="summer", start="07-25", end="08-31")
    spec = ScheduledSpec(("07-31",), 35, 1, (summer,))
    # 31 July 2025 is day 211; 25-30 July are recess days, so 35 working days start on day 170
    assert scheduled_arrivals(spec, dt.date(2025, 1, 1), 365) == [(170.0, 211.0)]
    plain = ScheduledSpec(("07-31",), 35, 1)
    assert scheduled_arrivals(plain, dt.date(2025, 1, 1), 365) == [(176.0, 211.0)]
    # 15 September is day 257; 20 working days would reach back into the summer recess, so
    # the renewal is tabled when work resumes on 1 September (day 243), not in July
    autumn = ScheduledSpec(("09-15",), 20, 1, (summer,))
    assert scheduled_arrivals(autumn, dt.date(2025, 1, 1), 365) == [(243.0, 257.0)]


def test_an_effective_chair_moves_the_text_further_in_one_round() -> None:
    spec = scenario(
        member_states__AA__positions={"item": 0.2},
        member_states__AA__tolerance=0.3,
        bodies__WP__compromise_step=0.25,
        bodies__WP__max_rounds=5,
        chairs={"presidency": {"compromise_factor": 2.0}},  # the WP's chair
    )
    _, props, r = story(spec, [(0.5, ITEM, None)])
    texts = r.events.loc[r.events["activity"] == "compromise", "value"].tolist()
    assert texts == [0.5]  # one step of 0.5 instead of two of 0.25
    assert props["rounds"].tolist() == [2]


def test_an_item_tabled_during_the_warm_up_is_simulated_but_not_counted() -> None:
    spec = scenario(warmup_days=14)  # the run starts on Monday 23 December 2024, day -14
    compiled = compile_scenario(Scenario.model_validate(spec))
    rep = Replication(compiled, compiled.dtypes(), seed=0, replication=0)
    rep.run([(-13.5, ITEM, None), (0.5, ITEM, None)])
    early = rep.desk.proposals[0]  # climbed the ladder during the warm-up: WP -7, Council -3
    assert (early.outcome, early.decided_day) == (Outcome.ADOPTED, -3.0)
    r = rep.result()
    assert r.proposals["proposal_id"].tolist() == [0]  # only the item tabled on day 0.5
    assert r.proposals["arrival_day"].tolist() == [0.5]
    assert r.proposals["decided_day"].tolist() == [11.0]
    assert set(r.events["case_id"]) == {0}
    assert r.events["time_day"].min() == 0.5
    assert r.stages["proposal_id"].tolist() == [0, 0, 0]
    assert r.meetings["time_day"].min() == 0.0  # the warm-up's meetings are not in the table
    assert str(r.meetings["timestamp"].min()) == "2025-01-06 00:00:00"


def test_after_a_warm_up_items_are_counted_in_the_period_they_fall_due() -> None:
    spec = scenario(warmup_days=14)
    compiled = compile_scenario(Scenario.model_validate(spec))
    rep = Replication(compiled, compiled.dtypes(), seed=0, replication=0)
    # due on day 20 though tabled in the warm-up; due after the 60-day horizon; due in the warm-up
    rep.run([(-13.5, ITEM, 20.0), (-13.0, ITEM, -1.0), (50.5, ITEM, 90.0)])
    r = rep.result()
    assert r.proposals["arrival_day"].tolist() == [-13.5]
    assert r.proposals["outcome"].tolist() == ["adopted"]
    assert rep.desk.proposals[2].outcome is Outcome.PENDING  # the next period's: not counted


# --- the presidency's calendar and the silence procedure ----------------------------------------


@pytest.mark.parametrize(
    ("share", "outcome", "day"), [(None, "lapsed", 9.0), (0.5, "adopted", 8.0)]
)
def test_a_silence_period_ends_before_a_legal_deadline(
    share: float | None, outcome: str, day: float
) -> None:
    spec = scenario(
        proposal_types__item__route=["WP", "COUNCIL"],
        proposal_types__item__written_procedure=True,
        written_procedure={"days": {"dist": "fixed", "value": 3}, "deadline_share": share},
    )
    events, props, _ = story(spec, [(0.5, ITEM, 9.0)])
    # agreed on day 7, two days before expiry: 3 days of silence would end after it
    assert (7.0, "written_procedure", "", "") in events
    assert props[["outcome", "decided_day"]].values.tolist() == [[outcome, day]]


@pytest.mark.parametrize("objects", [False, True])
def test_a_text_circulated_under_silence_first_needs_no_meeting_unless_silence_is_broken(
    objects: bool,
) -> None:
    spec = scenario(
        proposal_types__item__silence_first=True,
        member_states__AA__positions={"item": 0.0 if objects else 0.5},
        member_states__AA__tolerance=0.1 if objects else 1.0,  # AA objects to the text
    )
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    assert events[:2] == [(0.5, "submitted", "", ""), (0.5, "written_procedure", "", "")]
    if objects:  # silence broken: up the route from its first body
        assert (3.5, "objection", "", "AA") in events
        assert next((t, b) for t, a, b, _ in events if a == "tabled") == (7.0, "WP")
    else:
        assert events[2:] == [(3.5, "adopted", "", "")]
        assert props["decided_at"].tolist() == ["written_procedure"]


def test_silence_first_needs_the_written_procedure_table() -> None:
    spec = scenario(proposal_types__item__silence_first=True)
    del spec["written_procedure"]
    with pytest.raises(ValueError, match=r"needs a \[written_procedure\] table"):
        Scenario.model_validate(spec)


@pytest.mark.parametrize(
    ("weekends", "deadline", "met"), [(False, None, 7.5), (True, None, 5.5), (False, 7.0, 5.5)]
)
def test_an_extraordinary_meeting_due_at_a_weekend_is_held_on_the_monday(
    weekends: bool, deadline: float | None, met: float
) -> None:
    spec = scenario(
        proposal_types__urgent_item__route=["COREPER", "COUNCIL"],
        bodies__COREPER__extraordinary_days=1.0,
        bodies__COREPER__extraordinary_weekends=weekends,
    )
    # tabled on Friday (day 4.5): a day's notice is Saturday; Monday is day 7, unless the body
    # meets at weekends or the item would lapse by then
    _, _, r = story(spec, [(4.5, URGENT, deadline)])
    extra = r.meetings[r.meetings["extraordinary"]]
    assert extra[["body", "time_day"]].astype(str).values.tolist() == [["COREPER", str(met)]]


def test_an_urgent_item_gets_a_shorter_silence_period() -> None:
    spec = scenario(
        proposal_types__item__route=["WP", "COUNCIL"],
        proposal_types__item__written_procedure=True,
        proposal_types__urgent_item__route=["WP", "COUNCIL"],
        proposal_types__urgent_item__written_procedure=True,
        written_procedure={
            "days": {"dist": "fixed", "value": 3},
            "urgent_days": {"dist": "fixed", "value": 0.5},
        },
    )
    _, props, _ = story(spec, [(0.5, ITEM, None), (0.5, URGENT, None)])
    assert props["decided_day"].tolist() == [10.0, 7.5]  # both agreed in the WP on day 7


def test_no_hostage_taking_on_urgent_items_when_their_holdouts_are_scaled_to_zero() -> None:
    spec = scenario(
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        proposal_types__urgent_item__crisis={"share": 1.0, "holdout_scale": 0.0},
    )
    _, props, _ = story(spec, [(0.5, ITEM, None), (0.5, URGENT, None)])
    assert props["holding_states"].tolist() == ["BB", ""]
    assert props["outcome"].tolist() == ["adopted", "adopted"]


def test_an_item_held_until_a_concession_calls_no_meetings_meanwhile() -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        bodies__COREPER__extraordinary_days=1.0,
        bodies__COREPER__max_rounds=5,
    )
    events, props, r = story(spec, [(0.5, URGENT, None)])
    # agreed in the WP on day 7, where BB raises its demand (ten days); Coreper meets at a
    # day's notice (8), then as usual (9), where BB objects: parked, no meeting is called until
    # the concession on day 17, which calls one the next day
    assert (9.0, "objection", "COREPER", "BB") in events
    assert (17.0, "concession", "COREPER", "BB") in events
    extra = r.meetings[r.meetings["extraordinary"]]
    assert extra["time_day"].tolist() == [8.0, 18.0]  # none on days 10-16
    assert props[["outcome", "decided_day"]].values.tolist() == [["adopted", 25.0]]


@pytest.mark.parametrize("crisis_skips", [True, False])
def test_urgent_items_skip_by_their_crisis_skip_in_place_of_skip(crisis_skips: bool) -> None:
    """The crisis profile's ``skip`` replaces ``skip`` for an urgent item: a crisis package goes
    straight to Coreper while an ordinary one climbs from the working party, or the other way
    round."""
    plain, crisis = ({}, {"WP": 1.0}) if crisis_skips else ({"WP": 1.0}, {"WP": 0.0})
    spec = scenario(
        proposal_types__item__skip=plain,
        proposal_types__urgent_item__skip=plain,
        proposal_types__urgent_item__crisis={"share": 1.0, "skip": crisis},
    )
    _, props, r = story(spec, [(0.5, ITEM, None), (0.5, URGENT, None)])
    # straight to Coreper (day 2) and the Council (day 4), or through the WP (7, 9, 11)
    assert props["decided_day"].tolist() == ([11.0, 4.0] if crisis_skips else [4.0, 11.0])
    visited = r.stages.groupby("proposal_id")["body"].apply(lambda b: "WP" in set(b.astype(str)))
    assert visited.tolist() == ([True, False] if crisis_skips else [False, True])


@pytest.mark.parametrize("convenes", [True, False])
def test_the_last_concession_convenes_coreper_when_the_practice_says_so(convenes: bool) -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(concession_meeting=convenes, escalate=False),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        member_states__CC__holdout_probability=1.0,
        member_states__CC__holdout_days={"dist": "fixed", "value": 5},
        bodies__COREPER__extraordinary_days=1.0,
        bodies__COUNCIL__calendar={"hour": 0.0, "weekdays": ["mon"]},
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    # raised on day 7 (on Coreper's agenda); both object on day 9, then the item is parked;
    # CC concedes on day 12 (no meeting: BB still holds), BB on day 17, the last
    assert [(t, m) for t, a, _, m in events if a == "concession"] == [(12.0, "CC"), (17.0, "BB")]
    extra = r.meetings[r.meetings["extraordinary"]]
    if convenes:  # Coreper the next day (Friday), the Council on the Monday after
        assert extra[["body", "time_day"]].astype(str).values.tolist() == [["COREPER", "18.0"]]
        assert (18.0, "agreed", "COREPER", "") in events
        assert props["decided_day"].tolist() == [21.0]
    else:  # Coreper as usual (Wednesday, day 23), the Council on the Monday after
        assert extra.empty
        assert (23.0, "agreed", "COREPER", "") in events
        assert props["decided_day"].tolist() == [28.0]


def test_a_concession_convenes_no_council() -> None:
    """Ministers do not meet for one concession: an item held at the Council waits for its
    next meeting even when concessions convene meetings and the Council holds extraordinary
    ones."""
    spec = scenario(
        negotiation__bargaining=bargaining(concession_meeting=True),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 15},
        bodies__COREPER__extraordinary_days=1.0,  # a body a concession could convene
        bodies__COUNCIL__extraordinary_days=1.0,
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    # raised on day 7, BB objects in Coreper on day 16: the item climbs to the Council, where
    # it is parked; BB concedes on Tuesday 22 and the Council adopts it on Friday 25
    assert (16.0, "escalated", "COREPER", "") in events
    assert (22.0, "concession", "COUNCIL", "BB") in events
    assert r.meetings["extraordinary"].sum() == 0
    assert props["decided_day"].tolist() == [25.0]


# --- hold-outs as actors (issue 27) --------------------------------------------------------------


@pytest.mark.parametrize("release", [True, False])
def test_a_concession_frees_an_item_waiting_for_the_ministers_vote(release: bool) -> None:
    """Under QMV as practised a held item goes up to the monthly Council after one failed
    consensus round at Coreper; its holder concedes before the ministers meet. With ``release``
    the concession sends it on at once as an A item of the next Council of any configuration;
    without, it waits for the ministers' vote."""
    rule = dict(BASE["decision_rules"]["qmv"], vote_level="council", consensus_rounds=1)
    spec = scenario(
        decision_rules__qmv=rule,
        proposal_types__item__rule="qmv",
        negotiation__bargaining=bargaining(release=release),
        negotiation__agenda={"a_item_body": "AITEMS"},
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        bodies__COUNCIL__calendar={"hour": 0.0, "dates": ["2025-02-14"]},  # day 39
        bodies__AITEMS=_body("Council (any configuration)", "council", {"weekdays": ["tue"]}),
    )
    events, props, r = story(spec, [(0.5, ITEM, None)])
    # BB asks for a debate of the I item on day 9; its demand fails the consensus round on 16
    assert (16.0, "escalated", "COREPER", "") in events
    assert (17.0, "concession", "COUNCIL", "BB") in events  # raised on day 7, ten days held
    if release:  # the next Tuesday's Council adopts it as an A item
        assert events[-2:] == [(22.0, "vote", "AITEMS", ""), (22.0, "adopted", "AITEMS", "")]
        exits = r.stages.loc[r.stages["body"] == "COUNCIL", "exit"].astype(str).tolist()
        assert exits == ["agreed"]
    else:  # it waits for the ministers' monthly meeting
        assert props[["outcome", "decided_at", "decided_day"]].values.tolist() == [
            ["adopted", "COUNCIL", 39.0]
        ]


@pytest.mark.parametrize(
    ("rule_id", "ally_distance", "holds"),
    [
        ("qmv", 0.1, False),  # alone, BB (a third of the population) cannot block a QMV vote
        ("qmv", 0.8, True),  # with AA and CC counted on, it can
        ("unanimity", 0.1, True),  # under unanimity anyone can block: nothing changes
    ],
)
def test_in_the_shadow_of_the_vote_a_holder_without_a_blocking_minority_does_not_hold(
    rule_id: str, ally_distance: float, holds: bool
) -> None:
    rule = dict(BASE["decision_rules"]["qmv"], vote_level="council", consensus_rounds=1)
    spec = scenario(
        decision_rules__qmv=rule,
        proposal_types__item__rule=rule_id,
        negotiation__bargaining=bargaining(shadow={"ally_distance": ally_distance}),
        member_states__AA__positions={"item": 0.2},
        member_states__CC__positions={"item": 0.2},
        member_states__BB__positions={"item": 0.9},
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
    )
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    held = [(t, a, b) for t, a, b, m in events if m == "BB" and a in ("objection", "concession")]
    if holds:  # BB raises its demand on Coreper's agenda (day 7), concedes ten days later
        assert held[0] == (16.0, "objection", "COREPER")
        assert [t for t, a, _ in held if a == "concession"] == [17.0]
        assert props["decided_day"].tolist()[0] > 17.0
    else:  # no demand: the item climbs as if BB had none
        assert held == []
        assert props[["outcome", "decided_day"]].values.tolist() == [["adopted", 11.0]]


@pytest.mark.parametrize("join", [1.0, 0.0])
def test_a_second_state_joins_a_holdout_in_tandem_and_concedes_after_the_first(
    join: float,
) -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(
            tandem={"join_probability": join, "stagger": {"dist": "fixed", "value": 7}}
        ),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        member_states__CC__holdout_probability=1e-9,  # the only other state that holds out
        bodies__COREPER__max_rounds=5,
    )
    events, _, _ = story(spec, [(0.5, ITEM, None)])
    conceded = [(t, m) for t, a, _, m in events if a == "concession"]
    objecting = {m for t, a, _, m in events if a == "objection"}
    if join:  # raised on day 7: BB concedes on 17, CC a week after it
        assert conceded == [(17.0, "BB"), (24.0, "CC")]
        assert objecting == {"BB", "CC"}
        assert (30.0, "agreed", "COREPER", "") in events  # the Wednesday after the last
    else:
        assert conceded == [(17.0, "BB")]
        assert objecting == {"BB"}
        assert (23.0, "agreed", "COREPER", "") in events


@pytest.mark.parametrize("settles", [True, False])
def test_the_brake_by_the_treaty_path_mediation_then_a_vote_or_a_referral(settles: bool) -> None:
    """Art. 31(2) TEU: AA, outvoted at the working party on day 7, declares its opposition;
    no vote while the High Representative mediates (five days); if she settles it AA concedes
    and the next meeting votes, else the Council refers the item to the European Council."""
    spec = scenario(
        proposal_types__item__rule="qmv",
        member_states__AA__objection_probability=0.5,
        member_states__AA__brake_probability=0.5,
        negotiation__brake={
            "mediation_days": {"dist": "fixed", "value": 5},
            "settles": 1.0 if settles else 0.0,
        },
    )
    draws = ScriptedDraws(objections=[[YES, NO, NO]], brake=[[YES, NO, NO]])
    events, props, _ = story(spec, [(0.5, ITEM, None)], draws)
    assert events[2:6] == [
        (7.0, "tabled", "WP", ""),
        (7.0, "vote", "WP", ""),
        (7.0, "objection", "WP", "AA"),
        (7.0, "emergency_brake", "WP", "AA"),
    ]
    if settles:
        assert events[6] == (12.0, "concession", "WP", "AA")  # no vote while she mediates
        assert (14.0, "agreed", "WP", "") in events  # the next meeting
        assert props[["outcome", "escalations", "decided_day"]].values.tolist() == [
            ["adopted", 0, 18.0]
        ]
    else:
        assert events[6] == (12.0, "escalated", "WP", "")  # referred when mediation failed
        assert (17.0, "tabled", "EUCO", "") in events
        assert props[["outcome", "escalations"]].values.tolist() == [["adopted", 1]]


def test_a_holdout_is_a_demand_on_a_kind_of_file() -> None:
    """BB holds out on everything by default (ten days), but its demands say: never on the
    ordinary item, three days on the urgent one."""
    spec = scenario(
        negotiation__bargaining=bargaining(),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        member_states__BB__demands={
            "item": {"probability": 0.0},
            "urgent_item": {"probability": 1.0, "days": {"dist": "fixed", "value": 3}},
        },
    )
    _, props, r = story(spec, [(0.5, ITEM, None), (0.5, URGENT, None)])
    ev = r.events
    held = ev[(ev["member_state"] == "BB") & ev["activity"].isin(["objection", "concession"])]
    assert set(held["case_id"]) == {1}  # the urgent item only
    conceded = held[held["activity"] == "concession"]
    assert conceded["value"].tolist() == [3.0]  # its demand's duration, not the default ten
    assert props["outcome"].tolist() == ["adopted", "adopted"]


@pytest.mark.parametrize("release", [True, False])
def test_a_linkage_hold_out_climbs_to_the_european_council_and_its_concession_frees_it(
    release: bool,
) -> None:
    """A hold-out that outlasts Coreper (``climb_after_days``) takes the item to ministers,
    then to the European Council, each failing on it; the concession frees it from the top at
    once with ``release`` (an A item of the next Council), else it waits for the next summit
    (day 45) to be referred back."""
    spec = scenario(
        negotiation__bargaining=bargaining(
            concession_meeting=False, escalate=False, release=release, climb_after_days=7.0
        ),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 30},
    )
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    held = [e for e in events if e[1] in ("objection", "escalated", "concession")]
    assert held == [
        (16.0, "objection", "COREPER", "BB"),  # raised on day 7; Coreper fails on it
        (21.0, "escalated", "COREPER", ""),  # 14 days after the demand, still held: up
        (25.0, "objection", "COUNCIL", "BB"),  # ministers fail on it
        (28.0, "escalated", "COUNCIL", ""),  # seven days later: to the European Council
        (37.0, "concession", "EUCO", "BB"),
    ]
    assert props["decided_day"].tolist() == ([39.0] if release else [46.0])


def test_without_climbing_a_held_item_is_bargained_where_it_is() -> None:
    spec = scenario(
        negotiation__bargaining=bargaining(concession_meeting=False, escalate=False),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 30},
    )
    events, props, _ = story(spec, [(0.5, ITEM, None)])
    assert "escalated" not in {a for _, a, _, _ in events}
    assert (37.0, "agreed", "COREPER", "") in events
    assert props["decided_day"].tolist() == [39.0]


@pytest.mark.parametrize(
    ("hours", "deadline", "meets"),
    [((7.0, 21.0), 26.0, 22 + 7 / 24), ((0.0, 24.0), 26.0, 22.0), ((7.0, 21.0), 22.1, 22.0)],
)
def test_an_extraordinary_meeting_keeps_meeting_hours(
    hours: tuple[float, float], deadline: float, meets: float
) -> None:
    """Coreper convened at a day's notice for an urgent item: due at midnight, it meets at
    the next opening hour (07:00) when meeting hours are kept, unless the item's deadline
    falls before then (a night meeting rather than a lapse)."""
    spec = scenario(
        proposal_types__item__deadline_days=30.0,
        proposal_types__item__crisis={"run_up_days": 10},
        bodies__COREPER__extraordinary_days=1.0,
        member_states__AA__objection_probability=0.5,
        bodies__WP__max_rounds=5,
        negotiation__agenda={"meeting_hours": list(hours)},
    )
    draws = ScriptedDraws(objections=[[YES, NO, NO]] * 2)  # AA objects on days 7 and 14
    _, _, r = story(spec, [(0.5, ITEM, deadline)], draws)
    extra = r.meetings[r.meetings["extraordinary"]]
    assert extra["body"].astype(str).tolist() == ["COREPER"]
    assert extra["time_day"].tolist() == pytest.approx([meets])


@pytest.mark.parametrize(("deadline", "convened"), [(None, False), (60.0, True)])
def test_in_a_recess_a_concession_convenes_coreper_only_for_an_item_with_a_deadline(
    deadline: float | None, convened: bool
) -> None:
    """The last concession (day 17) would convene Coreper the next day; in a recess (from
    day 14) the presidency convenes it only for an item bound by a deadline."""
    spec = scenario(
        negotiation__bargaining=bargaining(concession_meeting=True, escalate=False),
        member_states__BB__holdout_probability=1.0,
        member_states__BB__holdout_days={"dist": "fixed", "value": 10},
        bodies__COREPER__extraordinary_days=1.0,
        recesses=[{"start": "01-20", "end": "02-28"}],
    )
    _, _, r = story(spec, [(0.5, ITEM, deadline)])
    extra = r.meetings[r.meetings["extraordinary"]]
    assert (extra["body"].astype(str).tolist() == ["COREPER"]) is convened
