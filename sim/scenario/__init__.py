"""The scenario language: schema, cross-references and loading (``load_scenario``)."""

from sim.scenario.loading import (
    apply_override,
    bundled_scenarios_dir,
    deep_merge,
    load_scenario,
    parse_override,
)
from sim.scenario.references import ResolvedMember
from sim.scenario.schema import (
    BodySpec,
    Chair,
    ConstructiveAbstention,
    DecisionRuleSpec,
    ExperimentSpec,
    Level,
    MemberBehaviour,
    NegotiationSpec,
    PoissonArrivals,
    ProposalTypeSpec,
    QualifiedMajority,
    Scenario,
    ScenarioError,
    ScheduledArrivals,
    Unanimity,
)

__all__ = [
    "BodySpec",
    "Chair",
    "ConstructiveAbstention",
    "DecisionRuleSpec",
    "ExperimentSpec",
    "Level",
    "MemberBehaviour",
    "NegotiationSpec",
    "PoissonArrivals",
    "ProposalTypeSpec",
    "QualifiedMajority",
    "ResolvedMember",
    "Scenario",
    "ScenarioError",
    "ScheduledArrivals",
    "Unanimity",
    "apply_override",
    "bundled_scenarios_dir",
    "deep_merge",
    "load_scenario",
    "parse_override",
]
