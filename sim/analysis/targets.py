"""The calibration targets, each declared once: its name, label, check, and how it is measured
on the observed record (:class:`~sim.analysis.record.Record`) and on a run
(:class:`~sim.analysis.replications.Run`, one value per replication).

Names and labels are templates over the thresholds of ``sim/data/calibration.toml``
(``{package_within_days}``); the targets of :class:`EachKind` are repeated for each renewal kind
(``{kind}``). Adding a target is one entry of :data:`TARGETS` plus its data: a threshold, or a
soft range (``[soft.<name>]``: ``low``, ``high``, ``statistic``, ``note``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from sim.analysis.record import Record, confidence, held, lapsed
from sim.analysis.replications import Run, is_one_of, ratio

Check = Literal["interval", "range", "above"]

CHECKS: dict[str, Callable[[pd.DataFrame, pd.Series], pd.Series]] = {
    "interval": lambda fit, _: (fit["p5"] <= fit["observed"]) & (fit["observed"] <= fit["p95"]),
    "range": lambda fit, value: (fit["low"] <= value) & (value <= fit["high"]),
    "above": lambda fit, value: value > fit["low"],
}
"""When a target fits, given the fit table's rows and the simulated statistic: ``interval``,
the observed value inside the simulated 90% interval; ``range``, the statistic in [low, high];
``above``, the statistic above ``low``."""


class Measured(NamedTuple):
    """A target on the observed record: its value, the rows it comes from, and how."""

    value: float
    rows: pd.DataFrame
    note: str


@dataclass(frozen=True)
class Target:
    """One calibration target: ``observed`` measures it on the record, ``simulated`` on each
    replication of a run (NaN where a replication has nothing to measure)."""

    name: str
    label: str
    check: Check
    observed: Callable[[Record], Measured]
    simulated: Callable[[Run], np.ndarray]


@dataclass(frozen=True)
class KindTarget:
    """A target of one renewal kind: as :class:`Target`, the kind passed to both sides."""

    name: str
    label: str
    check: Check
    observed: Callable[[Record, str], Measured]
    simulated: Callable[[Run, str], np.ndarray]

    def of(self, kind: str, th: Mapping[str, Any]) -> Target:
        """The target for renewals of ``kind``."""
        return Target(
            self.name.format(kind=kind, **th),
            self.label.format(kind=kind, **th),
            self.check,
            lambda record: self.observed(record, kind),
            lambda run: self.simulated(run, kind),
        )


@dataclass(frozen=True)
class EachKind:
    """Targets repeated, in order, for each renewal kind."""

    targets: tuple[KindTarget, ...]


def _packages(r: Record, value: float, what: str) -> Measured:
    """A package target on the packages with a proposal date."""
    how = f"adopted Russia packages with a proposal date ({confidence(r.packages)})"
    return Measured(value, r.packages, f"{what}, {how}")


def _package_share(r: Record, hit: np.ndarray, what: str) -> Measured:
    return _packages(r, float(np.mean(hit)), f"share with {what}")


def _package_within(threshold: str, mode: str = "") -> Target:
    """The share of packages adopted within the days of ``threshold``."""
    return Target(
        f"package_share_within_{{{threshold}}}d",
        f"packages adopted within {{{threshold}}} days{mode}",
        "interval",
        lambda r: _package_share(
            r, r.package_days <= r.th[threshold], f"days <= {r.th[threshold]}"
        ),
        lambda s: s.groups.share(s.package_adopted, s.duration <= s.th[threshold]),
    )


def _renewal_held(r: Record, kind: str) -> Measured:
    part = r.renewal(kind)
    hit = held(part)
    ids = ", ".join(part["id"][hit])
    return Measured(
        hit.mean(),
        part,
        f"share with a blocker or a concession recorded ({ids} of {len(part)}; "
        f"{confidence(part)}); simulated: a state raised a hold-out",
    )


def _tail_observed(r: Record) -> Measured:
    days = r.th["package_tail_days"]
    m = _package_share(r, r.package_days >= days, f"days >= {days}")
    return m._replace(note=f"{m.note}; simulated: packages not adopted after so long count too")


def _tail_simulated(run: Run) -> np.ndarray:
    """The share of packages taking ``package_tail_days`` or more: those still or never
    adopted after so long are in the tail too."""
    days = run.th["package_tail_days"]
    unadopted = run.package_unadopted_after(days)
    return ratio(
        run.groups.count((run.package_adopted & (run.duration >= days)) | unadopted),
        run.groups.count(run.package_adopted | unadopted),
    )


def _lapses(rows: pd.DataFrame, what: str) -> Measured:
    hit = lapsed(rows)
    ids = ", ".join(rows["id"][hit]) or "none"
    return Measured(
        hit.mean() if len(rows) else np.nan,
        rows,
        f"share of {what} not adopted by their deadline_date ({ids} of {len(rows)}; "
        f"{confidence(rows)})",
    )


def _ministerial(run: Run) -> np.ndarray:
    """The share of adopted Council decisions with a round of talks at ministerial level."""
    soft = run.config.get("soft", {}).get("ministerial_share", {})
    not_decisions = soft.get("not_council_decisions", [])
    decisions = run.adopted & ~is_one_of(run.p["type"], *not_decisions)  # CN01: decisions
    return run.groups.share(decisions, run.talked)


def _epf_held(r: Record) -> Measured:
    ep, rows = r.epf, r.epf_held
    return Measured(
        len(rows) / len(ep) if len(ep) else np.nan,
        rows,
        f"EPF rows adopted after > {r.th['epf_long_days']} days or never adopted after a failed "
        f"attempt ({', '.join(rows['id'])}), of {len(ep)} EPF rows ({confidence(rows)})",
    )


def _epf_quick(r: Record) -> Measured:
    days = r.th["epf_within_days"]
    quick = r.epf_dated[r.epf_dated["days_proposal_to_adoption"] <= days]
    rows = r.epf_measured
    return Measured(
        len(quick) / len(rows) if len(rows) else np.nan,
        rows,
        f"EPF rows with a proposal date adopted within {days} days ({', '.join(quick['id'])}) "
        f"of those with a proposal date or held ({confidence(rows)}); simulated: of the EPF "
        "measures not withdrawn",
    )


TARGETS: tuple[Target | EachKind, ...] = (
    Target(
        "package_days_median",
        "sanctions packages: median days proposal to adoption",
        "interval",
        lambda r: _packages(
            r, float(np.median(r.package_days)), "median of days_proposal_to_adoption"
        ),
        lambda s: s.groups.median(s.package_adopted, s.duration[s.package_adopted]),
    ),
    _package_within("package_within_days"),
    _package_within("package_fast_days", " (fast mode)"),
    _package_within("package_crisis_days", " (crisis mode)"),
    Target(
        "package_share_{package_contested_low_days}_{package_contested_high_days}d",
        "packages taking {package_contested_low_days}-{package_contested_high_days} days "
        "(contested mode)",
        "interval",
        lambda r: _package_share(
            r,
            (r.package_days >= r.th["package_contested_low_days"])
            & (r.package_days <= r.th["package_contested_high_days"]),
            f"{r.th['package_contested_low_days']} <= days <= "
            f"{r.th['package_contested_high_days']}",
        ),
        lambda s: s.groups.share(
            s.package_adopted,
            (s.duration >= s.th["package_contested_low_days"])
            & (s.duration <= s.th["package_contested_high_days"]),
        ),
    ),
    Target(
        "package_share_{package_tail_days}d_or_more",
        "packages taking {package_tail_days} days or more (the tail)",
        "interval",
        _tail_observed,
        _tail_simulated,
    ),
    Target(
        "package_share_beyond_{package_beyond_days}d",
        "packages taking more than {package_beyond_days} days",
        "range",
        lambda r: _package_share(
            r,
            r.package_days > r.th["package_beyond_days"],
            f"days > {r.th['package_beyond_days']}",
        ),
        lambda s: ratio(  # the packages still or never adopted after so long count too
            s.groups.count(s.package_adopted & (s.duration > s.th["package_beyond_days"]))
            + s.groups.count(s.package_stuck),
            s.groups.count(s.package_adopted | s.package_stuck),
        ),
    ),
    Target(
        "package_share_failed_attempt",
        "packages with a failed attempt before agreement",
        "interval",
        lambda r: _packages(
            r,
            len(r.contested) / len(r.packages),
            "share with a first_failed_date (a failed Coreper/FAC/EUCO attempt)",
        ),
        lambda s: s.groups.share(s.package_adopted, s.contested[0]),
    ),
    Target(
        "package_failed_to_agreement_days_median",
        "contested packages: median days first failed attempt to Coreper agreement",
        "interval",
        lambda r: Measured(
            float(
                np.median((r.gap["coreper_agreement_date"] - r.gap["first_failed_date"]).dt.days)
            ),
            r.gap,
            "coreper_agreement_date - first_failed_date, packages with both "
            f"({confidence(r.gap)}); simulated: first failed round at Coreper or above to the "
            "last political agreement",
        ),
        lambda s: s.groups.median(s.contested[1], s.contested[2]),
    ),
    Target(
        "renewal_margin_median",
        "renewals: median days adopted before expiry",
        "interval",
        lambda r: Measured(
            float(np.median(r.margins)),
            r.renewals,
            f"median days_before_deadline, all renewals ({confidence(r.renewals)})",
        ),
        lambda s: s.groups.median(s.renewal_adopted, s.margin[s.renewal_adopted]),
    ),
    Target(
        "renewal_share_margin_{renewal_margin_low_days}_{renewal_margin_high_days}d",
        "renewals adopted {renewal_margin_low_days}-{renewal_margin_high_days} days before expiry",
        "range",
        lambda r: Measured(
            float(
                np.mean(
                    (r.margins >= r.th["renewal_margin_low_days"])
                    & (r.margins <= r.th["renewal_margin_high_days"])
                )
            ),
            r.renewals,
            f"observed margins span {r.margins.min():g}-{r.margins.max():g} days "
            f"({confidence(r.renewals)})",
        ),
        lambda s: s.groups.share(
            s.renewal_adopted,
            (s.margin >= s.th["renewal_margin_low_days"])
            & (s.margin <= s.th["renewal_margin_high_days"]),
        ),
    ),
    Target(
        "renewal_lapse_share",
        "renewals that lapsed",
        "range",
        lambda r: _lapses(r.due, "the renewals with a deadline"),
        lambda s: s.groups.share(s.renewal_adopted | s.renewal_lapsed, s.renewal_lapsed),
    ),
    EachKind(
        (
            KindTarget(
                "renewal_margin_{kind}_median",
                "{kind} renewals: median days before expiry",
                "interval",
                lambda r, kind: Measured(
                    r.renewal(kind)["days_before_deadline"].median(),
                    r.renewal(kind),
                    f"median days_before_deadline, renewal_{kind} ({confidence(r.renewal(kind))})",
                ),
                lambda s, kind: s.groups.median(
                    s.due(kind) & s.renewal_adopted, s.margin[s.due(kind) & s.renewal_adopted]
                ),
            ),
            KindTarget(
                "renewal_share_held_{kind}",
                "{kind} renewals held by a state's demand",
                "interval",
                _renewal_held,
                lambda s, kind: (
                    s.groups.share(s.due(kind), s.held)
                    if s.held is not None
                    else np.full(s.groups.n, np.nan)  # runs from before hold-outs were recorded
                ),
            ),
            KindTarget(
                "renewal_lapse_share_{kind}",
                "{kind} renewals that lapsed",
                "range",
                lambda r, kind: _lapses(r.due_of(kind), f"renewal_{kind} rows with a deadline"),
                lambda s, kind: s.groups.share(s.due(kind), s.renewal_lapsed),
            ),
        )
    ),
    Target(
        "ministerial_share",
        "adopted Council decisions discussed by ministers (B items)",
        "range",
        lambda r: Measured(
            1 - r.a_item_percents[0] / 100 if r.a_item_percents else np.nan,
            r.counts,
            f"1 - the A-item share in the count row's event text ({confidence(r.counts)})",
        ),
        _ministerial,
    ),
    Target(
        "epf_share_beyond_{epf_long_days}d",
        "EPF measures held more than {epf_long_days} days",
        "above",
        _epf_held,
        lambda s: s.groups.share(s.epf, s.duration > s.th["epf_long_days"]),
    ),
    Target(
        "epf_share_within_{epf_within_days}d",
        "EPF measures adopted within {epf_within_days} days",
        "interval",
        _epf_quick,
        lambda s: s.groups.share(s.epf, s.adopted & (s.duration <= s.th["epf_within_days"])),
    ),
)
"""Every calibration target, in the order of the observed and simulated tables."""


def targets(th: Mapping[str, Any], kinds: Sequence[str]) -> list[Target]:
    """The targets with their names and labels filled in from the thresholds ``th``, those of
    :class:`EachKind` once for each of the renewal ``kinds``."""
    out = []
    for entry in TARGETS:
        if isinstance(entry, EachKind):
            out += [t.of(kind, th) for kind in kinds for t in entry.targets]
        else:
            out.append(
                Target(
                    entry.name.format(**th),
                    entry.label.format(**th),
                    entry.check,
                    entry.observed,
                    entry.simulated,
                )
            )
    return out
