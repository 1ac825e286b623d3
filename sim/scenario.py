"""The scenario language: TOML files, ``extends``, ``--set`` overrides and the validated schema.

A scenario is read with :mod:`tomllib`, merged over the files it ``extends`` (tables keyed by id
merge deeply, everything else is replaced), patched by ``--set key.path=value`` overrides, and
only then validated by the pydantic models below, which forbid unknown keys. Every problem is
raised as one :class:`ScenarioError` naming the file, the key path and the problem.
:func:`load_scenario` is the one entry point.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    ValidationError,
    model_validator,
)

from sim.distributions import Distribution
from sim.meetings import CalendarSpec, MonthDay, Recess, meeting_days

Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class ScenarioError(Exception):
    """A scenario that cannot be used: names the file, the key path and the problem."""

    def __init__(self, file: str | Path, key: str, problem: str) -> None:
        self.file, self.key, self.problem = str(file), key, problem
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {problem}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- member states -------------------------------------------------------------------------


class MemberBehaviour(_Model):
    """How a member state behaves in negotiations (all fields required in ``member_defaults``).

    Positions are on each proposal type's issue dimension in [0, 1]: the original text stands at
    the type's ``ambition``; a state objects to a text ``x`` when ``x - position > tolerance``.
    """

    salience: Probability
    tolerance: NonNegativeFloat
    instruction_delay: Distribution
    objection_probability: Probability
    scrutiny_probability: Probability
    scrutiny_days: Distribution
    holdout_probability: Probability
    holdout_days: Distribution
    abstain_probability: Probability
    brake_probability: Probability
    written_objection_probability: Probability
    positions: dict[str, Probability] = Field(default_factory=dict)


class MemberStateSpec(_Model):
    """One member state: reference data (name, population) and behaviour overrides."""

    name: str | None = None
    population: Annotated[int, Field(gt=0)] | None = None
    population_source: str | None = None
    salience: Probability | None = None
    tolerance: NonNegativeFloat | None = None
    instruction_delay: Distribution | None = None
    objection_probability: Probability | None = None
    scrutiny_probability: Probability | None = None
    scrutiny_days: Distribution | None = None
    holdout_probability: Probability | None = None
    holdout_days: Distribution | None = None
    abstain_probability: Probability | None = None
    brake_probability: Probability | None = None
    written_objection_probability: Probability | None = None
    positions: dict[str, Probability] = Field(default_factory=dict)


# --- decision rules ------------------------------------------------------------------------


class Unanimity(_Model):
    """Any vote against blocks; abstention does not (Art. 238(4) TFEU)."""

    kind: Literal["unanimity"]
    description: str | None = None


class ConstructiveAbstention(_Model):
    """Unanimity where formal abstainers block only if at least ``states_limit`` of the states
    comprising at least ``population_limit`` of the population (Art. 31(1) TEU: one third each)."""

    kind: Literal["constructive_abstention"]
    states_limit: Share
    population_limit: Share
    description: str | None = None


class QualifiedMajority(_Model):
    """QMV: ``states_threshold`` of the members comprising ``population_threshold`` of the
    population; a blocking minority needs ``min_blocking_states`` (Art. 16(4) TEU, Art. 238(2)-(3)
    TFEU). ``emergency_brake`` lets an outvoted state refer the item to the European Council
    (Art. 31(2) TEU)."""

    kind: Literal["qmv"]
    states_threshold: Share
    population_threshold: Share
    min_blocking_states: Annotated[int, Field(ge=0)]
    emergency_brake: bool = False
    description: str | None = None


DecisionRuleSpec = Annotated[
    Unanimity | ConstructiveAbstention | QualifiedMajority, Field(discriminator="kind")
]


# --- bodies --------------------------------------------------------------------------------


class Level(StrEnum):
    """Rungs of the Council ladder, lowest first."""

    working_party = "working_party"
    committee = "committee"
    coreper = "coreper"
    council = "council"
    european_council = "european_council"


class Chair(StrEnum):
    """Who chairs a body (and tables compromises)."""

    presidency = "presidency"
    eeas = "eeas"
    hr_vp = "hr_vp"
    euco_president = "euco_president"


class BodySpec(_Model):
    """A Council body: its calendar, agenda room and how it negotiates.

    ``capacity`` is the number of discussion (B) items a meeting takes; ``max_rounds`` the
    failed rounds before the item escalates; ``compromise_step`` the largest move of the text
    on the issue dimension the chair tables in one round."""

    name: str
    level: Level
    chair: Chair
    calendar: CalendarSpec
    capacity: Annotated[int, Field(ge=1)]
    max_rounds: Annotated[int, Field(ge=1)]
    compromise_step: Share
    rule: str | None = None


# --- proposal types ------------------------------------------------------------------------


class PoissonArrivals(_Model):
    """Poisson arrivals at ``rate_per_year``, optionally shaped by twelve ``month_weights``."""

    kind: Literal["poisson"]
    rate_per_year: PositiveFloat
    month_weights: list[NonNegativeFloat] | None = None

    @model_validator(mode="after")
    def _twelve(self) -> PoissonArrivals:
        w = self.month_weights
        if w is not None and (len(w) != 12 or sum(w) <= 0):
            raise ValueError("month_weights needs 12 non-negative values, not all zero")
        return self


class ScheduledArrivals(_Model):
    """``count`` proposals due every year on each of ``deadlines`` (``"MM-DD"``), each tabled
    ``lead_days`` before its deadline — e.g. six-monthly sanctions renewals."""

    kind: Literal["scheduled"]
    deadlines: list[MonthDay] = Field(min_length=1)
    lead_days: NonNegativeFloat
    count: Annotated[int, Field(ge=1)] = 1


ArrivalSpec = Annotated[PoissonArrivals | ScheduledArrivals, Field(discriminator="kind")]


class ProposalTypeSpec(_Model):
    """A kind of CFSP proposal: how it arrives, where it goes, how it is decided."""

    description: str
    arrivals: ArrivalSpec
    route: list[str] = Field(min_length=1)
    rule: str
    position: Probability
    contestation: NonNegativeFloat
    ambition: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    urgent: bool = False
    written_procedure: bool = False
    instruction_scale: PositiveFloat = 1.0
    deadline_days: PositiveFloat | None = None
    withdraw_probability: Probability = 0.0


class WrittenProcedureSpec(_Model):
    """Written / silence procedure (Council Rules of Procedure, Art. 12(2))."""

    days: Distribution


class ExperimentSpec(_Model):
    """Defaults for a run of this scenario (the command line may override them)."""

    replications: Annotated[int, Field(ge=1)] = 20
    seed: Annotated[int, Field(ge=0)] | None = None


class Scenario(_Model):
    """A complete, validated scenario."""

    name: str
    description: str
    start_date: dt.date
    horizon_days: PositiveFloat
    membership: Literal["eu27", "none"]
    recesses: list[Recess] = Field(default_factory=list)
    member_defaults: MemberBehaviour
    member_states: dict[str, MemberStateSpec] = Field(default_factory=dict)
    decision_rules: dict[str, DecisionRuleSpec]
    bodies: dict[str, BodySpec] = Field(min_length=1)
    proposal_types: dict[str, ProposalTypeSpec] = Field(min_length=1)
    escalation_body: str | None = None
    written_procedure: WrittenProcedureSpec | None = None
    experiment: ExperimentSpec = Field(default_factory=ExperimentSpec)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        _check_cross_references(self)
        return self

    def resolved_members(self) -> list[ResolvedMember]:
        """Every member state with reference data and behaviour filled in, in a stable order
        (reference order, then additions in file order)."""
        return _resolve_members(self)

    def to_toml(self) -> str:
        """The fully resolved scenario as TOML; loading it gives an equal scenario."""
        data = self.model_dump(mode="python", by_alias=True, exclude_none=True)
        return tomli_w.dumps(data)

    def sha256(self) -> str:
        """Content hash of the resolved scenario."""
        return hashlib.sha256(self.to_toml().encode()).hexdigest()


class _KeyedError(ValueError):
    """A cross-field problem at a known key path."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


def _check_cross_references(s: Scenario) -> None:
    for rule_id, rule in s.decision_rules.items():
        if isinstance(rule, QualifiedMajority) and rule.emergency_brake and not s.escalation_body:
            raise _KeyedError(
                f"decision_rules.{rule_id}.emergency_brake",
                "the emergency brake needs an escalation_body (the European Council)",
            )
    for body_id, body in s.bodies.items():
        if body.rule is not None and body.rule not in s.decision_rules:
            raise _KeyedError(f"bodies.{body_id}.rule", f"unknown decision rule {body.rule!r}")
        recesses = s.recesses if body.calendar.recesses is None else body.calendar.recesses
        if len(meeting_days(body.calendar, recesses, s.start_date, max(s.horizon_days, 366))) == 0:
            raise _KeyedError(
                f"bodies.{body_id}.calendar", "no meeting day in a year (recesses cover them all?)"
            )
    if s.escalation_body is not None and s.escalation_body not in s.bodies:
        raise _KeyedError("escalation_body", f"unknown body {s.escalation_body!r}")
    for type_id, pt in s.proposal_types.items():
        for i, body_id in enumerate(pt.route):
            if body_id not in s.bodies:
                known = ", ".join(sorted(s.bodies))
                raise _KeyedError(
                    f"proposal_types.{type_id}.route[{i}]",
                    f"unknown body {body_id!r} (known: {known})",
                )
        if len(set(pt.route)) != len(pt.route):
            raise _KeyedError(f"proposal_types.{type_id}.route", "a body appears twice")
        if pt.rule not in s.decision_rules:
            raise _KeyedError(
                f"proposal_types.{type_id}.rule", f"unknown decision rule {pt.rule!r}"
            )
        if pt.written_procedure and s.written_procedure is None:
            raise _KeyedError(
                f"proposal_types.{type_id}.written_procedure",
                "needs a [written_procedure] table in the scenario",
            )
        if isinstance(pt.arrivals, ScheduledArrivals) and pt.deadline_days is not None:
            raise _KeyedError(
                f"proposal_types.{type_id}.deadline_days",
                "scheduled arrivals take their deadlines from arrivals.deadlines",
            )
    positions = [("member_defaults", s.member_defaults.positions)] + [
        (f"member_states.{c}", m.positions) for c, m in s.member_states.items()
    ]
    for where, table in positions:
        for type_id in table:
            if type_id not in s.proposal_types:
                raise _KeyedError(f"{where}.positions.{type_id}", "unknown proposal type")
    _resolve_members(s)


# --- member resolution ---------------------------------------------------------------------


class ResolvedMember(_Model):
    """A member state with every parameter known."""

    code: str
    name: str
    population: int
    behaviour: MemberBehaviour


def _reference_states() -> dict[str, dict[str, Any]]:
    text = resources.files("sim").joinpath("data/eu27.toml").read_text(encoding="utf-8")
    states: dict[str, dict[str, Any]] = tomllib.loads(text)["states"]
    return states


def _resolve_members(s: Scenario) -> list[ResolvedMember]:
    reference = _reference_states() if s.membership == "eu27" else {}
    seen: dict[str, str] = {}
    for code in s.member_states:
        if code.upper() in seen:
            first = seen[code.upper()]
            raise _KeyedError(f"member_states.{code}", f"duplicate member code (also {first!r})")
        seen[code.upper()] = code
        if not (2 <= len(code) <= 3 and code.isalpha() and code.isupper()):
            raise _KeyedError(f"member_states.{code}", "a member code is 2-3 capital letters")
    codes = list(reference) + [c for c in s.member_states if c not in reference]
    if not codes:
        raise _KeyedError("member_states", "no member states (membership = 'none' and none given)")
    defaults = s.member_defaults.model_dump(by_alias=True)
    out = []
    for code in codes:
        spec = s.member_states.get(code, MemberStateSpec())
        ref = reference.get(code, {})
        name = spec.name or ref.get("name")
        population = spec.population or ref.get("population")
        if name is None or population is None:
            raise _KeyedError(
                f"member_states.{code}",
                "a state outside the reference data needs a name and a population",
            )
        overrides = spec.model_dump(
            by_alias=True, exclude_none=True, exclude={"name", "population", "population_source"}
        )
        positions = {**defaults["positions"], **overrides.pop("positions", {})}
        behaviour = MemberBehaviour.model_validate(
            {**defaults, **overrides, "positions": positions}
        )
        out.append(ResolvedMember(code=code, name=name, population=population, behaviour=behaviour))
    return out


# --- loading -------------------------------------------------------------------------------


_DISCRIMINATORS = ("dist", "kind")


def _same_variant(base: Mapping[str, Any], override: Mapping[str, Any]) -> bool:
    return all(override.get(d, base.get(d)) == base.get(d) for d in _DISCRIMINATORS if d in base)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` over ``base``: tables merge recursively, other values are replaced.

    A table that switches variant (another ``dist`` or ``kind``) replaces the old one whole.

    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
    {'a': {'x': 1, 'y': 3}, 'b': [2]}
    >>> deep_merge({"d": {"dist": "fixed", "value": 1}}, {"d": {"dist": "exponential", "mean": 2}})
    {'d': {'dist': 'exponential', 'mean': 2}}
    """
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and _same_variant(old, value):
            out[key] = deep_merge(old, value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path, referrer: Path | None) -> dict[str, Any]:
    where = referrer if referrer is not None else path
    key = "extends" if referrer is not None else ""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(where, key, f"file not found: {path}") from None
    except IsADirectoryError:
        raise ScenarioError(where, key, f"is a directory, not a scenario file: {path}") from None
    except PermissionError:
        raise ScenarioError(where, key, f"cannot read file: {path}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "", f"not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"invalid TOML: {exc}") from None


def _read_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The file and every file it extends, most basic first."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    current, referrer = path, None
    while True:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join(p.name for p in [*seen, resolved])
            raise ScenarioError(referrer or current, "extends", f"cyclic extends: {cycle}")
        seen.append(resolved)
        raw = _read_toml(current, referrer)
        chain.append((current, raw))
        parent = raw.pop("extends", None)
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ScenarioError(current, "extends", "must be a file name (a string)")
        referrer, current = current, (current.parent / parent)
    chain.reverse()
    return chain


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"key.path=value"``; the value is read as TOML, else taken as a string.

    >>> parse_override("bodies.PSC.capacity=8")
    (['bodies', 'PSC', 'capacity'], 8)
    >>> parse_override("name=my run")
    (['name'], 'my run')
    """
    key, sep, value = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise ScenarioError("--set", text, "expected KEY.PATH=VALUE")
    try:
        parsed: Any = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return [p.strip() for p in parts], parsed


def apply_override(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set ``raw[parts[0]][parts[1]]... = value`` in place, creating tables as needed."""
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            path = ".".join(parts[: i + 1])
            raise ScenarioError("--set", ".".join(parts), f"{path} is a value, not a table")
        node = child
    node[parts[-1]] = value


def _origin(chain: list[tuple[Path, dict[str, Any]]], loc: Sequence[str | int]) -> Path:
    """The most specific file of the chain that writes the key path ``loc``."""
    for path, raw in reversed(chain):
        node: Any = raw
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        else:
            return path
    return chain[-1][0]


def _loc_to_key(loc: Sequence[str | int]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _clean_loc(raw: Mapping[str, Any], loc: Sequence[str | int]) -> list[str | int]:
    """Drop pydantic's union-branch tags (e.g. ``'lognormal'``) from an error location,
    keeping only the steps that exist in the input."""
    out: list[str | int] = []
    node: Any = raw
    for part in loc:
        if isinstance(node, Mapping) and part not in node:
            if any(node.get(d) == part for d in _DISCRIMINATORS):
                continue
            if isinstance(part, str) and not part.isidentifier():  # e.g. 'function-after[...]'
                continue
        out.append(part)
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return out


def load_scenario(path: str | Path, overrides: Sequence[str] | None = None) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path
        The scenario's TOML file.
    overrides
        ``"key.path=value"`` strings applied, in order, before validation.

    Raises
    ------
    ScenarioError
        On any problem, naming the file, the key path and what is wrong.
    """
    path = Path(path)
    chain = _read_chain(path)
    raw: dict[str, Any] = {}
    for _, layer in chain:
        raw = deep_merge(raw, layer)
    set_keys: list[list[str]] = []
    for text in overrides or ():
        parts, value = parse_override(text)
        apply_override(raw, parts, value)
        set_keys.append(parts)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _clean_loc(raw, err["loc"])
        problem = err["msg"]
        keyed = err.get("ctx", {}).get("error")
        if isinstance(keyed, _KeyedError):
            key, problem = keyed.key, str(keyed)
            loc = [
                int(p) if p.isdigit() else p
                for p in key.replace("[", ".").replace("]", "").split(".")
            ]
        else:
            keyed = None
            key = _loc_to_key(loc)
        if err["type"] == "extra_forbidden":
            problem = "unknown key"
        elif err["type"] == "missing":
            problem = "required key is missing"
        problem = problem.removeprefix("Value error, ")
        if any(list(map(str, loc[: len(p)])) == p for p in set_keys):
            return_file: str | Path = "--set"
        elif keyed is not None:  # a cross-reference: the cause may be in any file of the chain
            return_file = path
        else:
            return_file = _origin(chain, loc)
        raise ScenarioError(return_file, key, problem) from None


def bundled_scenarios_dir() -> Path:
    """The project's ``scenarios/`` folder (next to the package in a source checkout)."""
    return Path(__file__).resolve().parent.parent / "scenarios"
