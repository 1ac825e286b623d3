"""The scenario language: schema, cross-references and loading (``load_scenario``)."""

from sim.scenario.bodies import BodySpec, Chair
from sim.scenario.fields import Level
from sim.scenario.loading import (
    PRIORS,
    apply_override,
    bundled_scenarios,
    bundled_scenarios_dir,
    deep_merge,
    did_you_mean,
    load_scenario,
    parse_override,
    resolve_scenario,
)
from sim.scenario.members import MemberBehaviour
from sim.scenario.practice import CrisisSpec, NegotiationSpec
from sim.scenario.proposals import PoissonArrivals, ProposalTypeSpec, ScheduledArrivals
from sim.scenario.references import ResolvedMember
from sim.scenario.rules import (
    ConstructiveAbstention,
    DecisionRuleSpec,
    QualifiedMajority,
    Unanimity,
)
from sim.scenario.schema import ExperimentSpec, Scenario, ScenarioError

__all__ = [
    "PRIORS",
    "BodySpec",
    "Chair",
    "ConstructiveAbstention",
    "CrisisSpec",
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
    "bundled_scenarios",
    "bundled_scenarios_dir",
    "deep_merge",
    "did_you_mean",
    "load_scenario",
    "parse_override",
    "resolve_scenario",
]
