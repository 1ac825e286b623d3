"""Human names for the model's ids, units for its numbers, and the glossary of the reports.

One place, so that a body or a proposal type has the same name in every figure, table, console
line and report. Ids a scenario adds get their id with spaces (``my_type`` -> ``my type``).
"""

from __future__ import annotations

BODY_NAMES = {
    "WP": "working parties",
    "COEST": "COEST (Eastern Europe working party)",
    "COAFR": "COAFR (Africa working party)",
    "COHOM": "COHOM (human rights working party)",
    "RELEX": "RELEX (foreign relations counsellors)",
    "PSC": "Political and Security Committee",
    "COREPER": "Coreper II",
    "FAC": "Foreign Affairs Council",
    "EUCO": "European Council",
    "COUNCIL": "Council (A items)",
    "written_procedure": "written procedure",
}
"""The bundled bodies' names (short enough for an axis label)."""

TYPE_NAMES = {
    "sanctions_package": "sanctions package",
    "sanctions_renewal": "sanctions renewal",
    "listings_renewal": "listings renewal",
    "listing": "listing",
    "csdp_mandate": "CSDP mandate",
    "council_conclusions": "Council conclusions",
    "eu_statement": "EU statement",
    "epf_measure": "EPF measure",
    "all": "all types",
}
"""The bundled proposal types' names (singular)."""

CHAIR_NAMES = {
    "presidency": "rotating presidency",
    "eeas": "EEAS (European External Action Service)",
    "hr_vp": "High Representative",
    "euco_president": "President of the European Council",
}

METRIC_NAMES = {
    "proposals": ("proposals tabled per replication", "proposals"),
    "adoption_rate": ("adopted", "%"),
    "block_rate": ("blocked for good", "%"),
    "lapse_rate": ("lapsed at their deadline", "%"),
    "hr_declaration_rate": ("declarations issued by the HR instead", "%"),
    "pending_share": ("still pending at the horizon", "%"),
    "time_to_adoption_mean": ("days to adopt, mean", "days"),
    "time_to_adoption_median": ("days to adopt, median", "days"),
    "time_to_adoption_p90": ("days to adopt, 90th percentile", "days"),
    "rounds_mean": ("negotiating rounds per proposal", "rounds"),
    "dilution_mean": ("text moved by compromises, on the 0-1 issue scale", ""),
    "brakes": ("emergency brakes pulled a year", "brakes"),
    "objections": ("objections a year", "objections"),
    "blocking_votes": ("votes against a text a year", "votes"),
    "abstentions": ("abstentions a year", "abstentions"),
}
"""Each metric's name and unit."""

OUTCOME_NAMES = {
    "adopted": "adopted",
    "adopted_with_abstentions": "adopted with abstentions",
    "blocked": "blocked",
    "lapsed": "lapsed",
    "withdrawn": "withdrawn",
    "issued_by_hr": "issued by the High Representative",
    "pending": "pending",
}
"""How each outcome is named in figures and tables."""

GLOSSARY = {
    "adopted": "the proposal became a Council or European Council decision (with or without "
    "abstentions) within the horizon",
    "blocked": "the proposal failed for good: a vote lost, or no unanimity and no way up",
    "lapsed": "the proposal had a deadline (a renewal) and it passed before adoption",
    "issued by the HR": "a declaration one state blocked (or let lapse) that the High "
    'Representative issued all the same, in her own name or with the other states ("at 26"): '
    "counted apart, never as adopted",
    "pending": "still under negotiation at the horizon: counted as censored in times to adopt, "
    "not as a failure",
    "brake": "the emergency brake (Art. 31(2) TEU): an outvoted state invokes vital national "
    "interests and the item goes to the European Council",
    "hold-out": "a state withholds agreement on an item to extract a concession on another",
    "blocking vote": "one state's vote or objection against a text in one round; a text "
    "meets many of these before a compromise, so many blocking votes go with few blocked "
    "proposals",
    "dilution": "how far compromises moved the adopted text from the tabled one, on the model's "
    "0-1 issue scale (0: adopted as tabled)",
    "paired": "both scenarios run with the same seed: replication r of each sees the same "
    "arrivals and stances, so differences are taken replication by replication",
    "95% CI": "the interval that holds the mean (or difference) across replications with 95% "
    "confidence (bootstrap); it reflects Monte Carlo noise, not parameter uncertainty, unless "
    "the run drew its parameters from a posterior",
    "p90": "the 90th percentile: nine in ten adopted proposals took at most this long",
    "pp": "percentage points: the difference of two percentages",
}
"""Terms the reports use, each in one sentence."""


def _spaced(name: object) -> str:
    return str(name).replace("_", " ")


def body_name(body: object) -> str:
    """A body's human name: ``COREPER`` -> ``Coreper II``."""
    return BODY_NAMES.get(str(body), _spaced(body))


def type_name(proposal_type: object) -> str:
    """A proposal type's human name: ``epf_measure`` -> ``EPF measure``."""
    return TYPE_NAMES.get(str(proposal_type), _spaced(proposal_type))


def plural(proposal_type: object) -> str:
    """``sanctions package`` -> ``sanctions packages``; ``Council conclusions`` unchanged."""
    name = type_name(proposal_type)
    return name if name.endswith("s") else f"{name}s"


def outcome_name(outcome: object) -> str:
    """An outcome's human name: ``issued_by_hr`` -> ``issued by the High Representative``."""
    return OUTCOME_NAMES.get(str(outcome), _spaced(outcome))


def metric_name(metric: str) -> str:
    """A metric's name with its unit: ``days to adopt, mean (days)``; shares in %."""
    name, unit = METRIC_NAMES.get(metric, (_spaced(metric), ""))
    return f"{name} ({unit})" if unit and unit not in name else name


def metric_unit(metric: str) -> str:
    """A metric's unit: ``days``, ``%``, ``brakes``... (empty when unknown)."""
    return METRIC_NAMES.get(metric, ("", ""))[1]


def chair_name(chair: object) -> str:
    """A chair's human name: ``hr_vp`` -> ``High Representative``."""
    return CHAIR_NAMES.get(str(chair), _spaced(chair))
