"""Sentences formatted from results: the words of a claim follow its numbers.

A claim about a difference says which way it goes only when its 95% interval excludes zero;
otherwise it says the run cannot tell it from no change. Reports, ``compare``, the console and
the notebooks use these functions, so their prose cannot contradict the table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from sim.report.names import body_name

INCLUDES_ZERO = "the interval includes zero, so this run cannot tell it from no change"
"""The caveat of an interval that includes zero."""


def signed(value: float, digits: int = 1) -> str:
    """``+1.2``, ``-0.4``, ``0.0`` (no ``-0.0``)."""
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def interval(diff: float, low: float, high: float, unit: str = "days", digits: int = 1) -> str:
    """``+1.2 days (95% CI -0.3 to +2.7)``."""
    space = "" if unit in ("%", "") else " "
    return (
        f"{signed(diff, digits)}{space}{unit} (95% CI {signed(low, digits)} to "
        f"{signed(high, digits)}{space}{unit})"
    )


def side(low: float, high: float) -> str:
    """``above zero``, ``below zero`` or ``includes zero`` (an interval's relation to 0)."""
    if low > 0:
        return "above zero"
    if high < 0:
        return "below zero"
    return "includes zero"


def effect_sentence(
    subject: str,
    diff: float,
    low: float,
    high: float,
    *,
    unit: str = "days",
    more: str = "slower",
    less: str = "faster",
    digits: int = 1,
    basis: str = "",
) -> str:
    """One sentence: ``subject`` changes by the interval, and what that means.

    >>> s = effect_sentence("QMV changes the days", 2.0, 0.5, 3.5, basis="from 20 years")
    >>> s.startswith("QMV changes the days by +2.0 days (95% CI +0.5 to +3.5 days), from 20")
    True
    >>> s.endswith("years: slower, the interval is above zero.")
    True
    >>> effect_sentence("X", -0.2, -1.0, 0.6).endswith(INCLUDES_ZERO + ".")
    True
    """
    where = side(low, high)
    verdict = {
        "above zero": f"{more}, the interval is above zero",
        "below zero": f"{less}, the interval is below zero",
        "includes zero": INCLUDES_ZERO,
    }[where]
    basis = f", {basis}" if basis else ""
    return f"{subject} by {interval(diff, low, high, unit, digits)}{basis}: {verdict}."


def compare_intervals(
    first: Mapping[str, float], second: Mapping[str, float], names: tuple[str, str]
) -> str:
    """How a second interval relates to a first: wider or narrower, and whether the two agree
    on the sign (``difference``, ``ci_low``, ``ci_high`` in each)."""
    w1 = first["ci_high"] - first["ci_low"]
    w2 = second["ci_high"] - second["ci_low"]
    a, b = side(first["ci_low"], first["ci_high"]), side(second["ci_low"], second["ci_high"])
    width = "wider" if w2 > w1 else "narrower"
    verb = {"above zero": "is above zero", "below zero": "is below zero"}
    agreement = (
        f"both intervals {'include zero' if a == 'includes zero' else 'are ' + a}"
        if a == b
        else f"the {names[0]} interval {verb.get(a, a)}, the {names[1]} interval "
        f"{verb.get(b, b)}: they disagree, and neither settles the answer at this number "
        "of replications"
    )
    return (
        f"The {names[1]} interval is {width} than the {names[0]} one ({w2:.1f} against "
        f"{w1:.1f} days); {agreement}."
    )


def time_split_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per body: visits a run and mean days per visit waiting for a meeting, waiting for
    instructions and negotiating; ``days a run`` (visits times days per visit) and each body's
    share of all days at bodies. Rows in descending order of days a run."""
    parts = ["wait_meeting_days", "wait_instructions_days", "negotiating_days"]
    per = (
        metrics[metrics["metric"].isin(parts)]
        .groupby(["group", "metric"])["value"]
        .mean()
        .unstack("metric")
        .reindex(columns=parts)
        .fillna(0.0)
    )
    visits = metrics[metrics["metric"] == "visits"].groupby("group")["value"].mean()
    per = per[per.index.isin(visits[visits > 0].index)]
    out = per.assign(visits=visits.reindex(per.index))
    out["days_per_visit"] = out[parts].sum(axis=1)
    out["days_a_run"] = out["days_per_visit"] * out["visits"]
    out["share_of_days"] = out["days_a_run"] / out["days_a_run"].sum()
    out.index = [body_name(b) for b in out.index]
    out.index.name = "body"
    return out.sort_values("days_a_run", ascending=False)


def time_split_claim(metrics: pd.DataFrame) -> str:
    """Which body takes most of the time and what its time is mostly spent on."""
    t = time_split_table(metrics)
    top = t.iloc[0]
    parts = {
        "waiting for a meeting": top["wait_meeting_days"],
        "waiting for instructions": top["wait_instructions_days"],
        "negotiating": top["negotiating_days"],
    }
    total = sum(parts.values()) or 1.0
    main, value = max(parts.items(), key=lambda kv: kv[1])
    rest = ", ".join(f"{100 * v / total:.0f}% {k}" for k, v in parts.items() if k != main)
    return (
        f"{t.index[0]} has the largest share of the days proposals spend at bodies: "
        f"{100 * top['share_of_days']:.0f}% ({top['visits']:.0f} visits a run, "
        f"{top['days_per_visit']:.1f} days each); of that time {100 * value / total:.0f}% is "
        f"{main} ({rest})."
    )
