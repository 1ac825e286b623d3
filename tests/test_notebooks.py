"""The notebooks, executed top to bottom in a real Jupyter kernel: every cell runs, every cell
that draws shows its figure (an ``image/png`` output), as a user in Jupyter would see it, no
output is a bare ``<Figure ...>`` repr, and each notebook's claims agree with its own numbers.

A claim check is a cell appended to the notebook: it prints, as JSON, the rows the notebook's
prose is about (a difference and its 95% interval), recomputed from the notebook's tables.
The test then finds each row's numbers in the notebook's Markdown outputs and checks the words
that follow them: "above zero", "below zero", or the caveat of an interval that includes zero."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import ROOT

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DRAWS = re.compile(r"\bplots\.plot_|\bplt\.subplots|\bax\.hist|_figure\(|\bplot_story\(")
FIGURE_REPR = re.compile(r"<Figure size [^>]*>")

_ROW = """
def _row(table, metric, group, comparison=None):
    sel = table[(table["metric"] == metric) & (table["group"] == group)]
    if comparison is not None:
        sel = sel[sel["comparison"] == comparison]
    r = sel.iloc[0]
    return [float(r["difference"]), float(r["ci_low"]), float(r["ci_high"])]
"""
CLAIMS = {
    "01_quickstart": """
import json
m = exp.metrics
parts = ["wait_meeting_days", "wait_instructions_days", "negotiating_days"]
per = m[m["metric"].isin(parts)].groupby(["group", "metric"])["value"].mean().unstack()
visits = m[m["metric"] == "visits"].groupby("group")["value"].mean()
days = per.sum(axis=1) * visits.reindex(per.index)
top = days.idxmax()
print(json.dumps({"split": [str(top), per.loc[top].idxmax()], "rows": []}))
""",
    "02_unanimity_vs_qmv": _ROW
    + """
import json
rows = [_row(t, "time_to_adoption_mean", g) for g in ("epf_measure", "csdp_mandate",
                                                      "sanctions_package")]
rows.append(_row(cmp_off.table, "time_to_adoption_mean", "sanctions_package"))
print(json.dumps({"rows": rows}))
""",
    "03_enlargement": _ROW
    + """
import json
rows = [_row(t, "time_to_adoption_mean", REFERENCE_MIX, f"{n} − eu27_baseline")
        for n in names[1:]]
rows += [[100 * x for x in _row(t, "adoption_rate", REFERENCE_MIX, f"{n} − eu27_baseline")]
         for n in names[1:]]
print(json.dumps({"rows": rows}))
""",
    "04_calibration": """
import json
rows = [[float(r["difference"]), float(r["ci_low"]), float(r["ci_high"])]
        for r in gains.values()]
print(json.dumps({"rows": [], "intervals": rows}))
""",
}
"""Per notebook: the code of the claim check appended to it (it prints the expected JSON)."""
NO_CLAIMS = "print('{\"rows\": []}')"
"""The check of a notebook whose prose states no number (the explorer's)."""


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 5
    first = nbformat.read(ROOT / "notebooks" / "05_explorer.ipynb", as_version=4).cells[0]
    assert "sim.explore()" in first.source  # the explorer's notebook opens with it


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_valid_nbformat_with_cell_ids(path: Path) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    missing = [i for i, c in enumerate(raw["cells"]) if "id" not in c]
    assert not missing, f"{path.name}: cells {missing} have no id (nbformat 4.5 needs one)"
    nbformat.validate(nbformat.from_dict(raw))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel picks Jupyter's inline backend
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CLAIMS.get(path.stem, NO_CLAIMS)))
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    expected = json.loads(nb.cells.pop().outputs[0]["text"])
    prose = "\n".join(
        out["data"]["text/markdown"]
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if "text/markdown" in out.get("data", {})
    )
    check_claims(path.name, expected, prose)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            bare = FIGURE_REPR.search(data.get("text/plain", "") + out.get("text", ""))
            assert not bare or "image/png" in data, f"{path.name}: a figure shows as {bare}"
    drawing = [c for c in nb.cells if c.cell_type == "code" and DRAWS.search(c.source)]
    widgets = [
        c
        for c in nb.cells
        if c.cell_type == "code" and "sim.explore(" in c.source
        for o in c.outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert drawing or widgets, f"{path.name}: no plotting cell (nor the explorer) found"
    for cell in drawing:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: this plotting cell shows no figure:\n{cell.source}"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            assert "IProgress not found" not in text, f"{path.name}: {text}"
            assert out.get("output_type") != "error", f"{path.name}: {out}"


def _signed(value: float) -> str:
    text = f"{value:+.1f}"
    return text[1:] if float(text) == 0 else text


def check_claims(name: str, expected: dict, prose: str) -> None:
    """Every expected row's interval is quoted in ``prose`` with the words its sign calls for;
    the time split names the body with most days and its largest part; two intervals compared
    are called wider or narrower, agreeing or not, as their numbers are."""
    for diff, low, high in expected.get("rows", []):
        quoted = f"{_signed(diff)}"
        interval = f"(95% CI {_signed(low)} to {_signed(high)}"
        at = prose.find(interval)
        assert at >= 0, f"{name}: no sentence quotes {interval}:\n{prose}"
        assert quoted in prose[max(0, at - 20) : at], f"{name}: {quoted} not before {interval}"
        verdict = prose[at : prose.find(".", prose.find(":", at)) + 1]
        if low > 0:
            assert "above zero" in verdict, (name, verdict)
        elif high < 0:
            assert "below zero" in verdict, (name, verdict)
        else:
            assert "includes zero" in verdict, (name, verdict)
            assert "cannot tell" in verdict, (name, verdict)
    if "split" in expected:
        body, part = expected["split"]
        from sim.report.names import body_name

        words = {
            "wait_meeting_days": "waiting for a meeting",
            "wait_instructions_days": "waiting for instructions",
            "negotiating_days": "negotiating",
        }
        first = prose.split("\n")[0]
        assert first.startswith(body_name(body)), (name, body, first)
        assert f"is {words[part]}" in first, (name, part, first)
    if "intervals" in expected:
        (_, l1, h1), (_, l2, h2) = expected["intervals"]
        assert ("wider" if h2 - l2 > h1 - l1 else "narrower") in prose, (name, prose)
        sides = {(lo > 0) - (hi < 0) for lo, hi in ((l1, h1), (l2, h2))}
        assert ("disagree" in prose) == (len(sides) == 2), (name, prose)


def test_check_claims_catches_a_contradiction() -> None:
    prose = "QMV changes it by +3.1 days (95% CI +0.5 to +5.6 days): the interval includes zero."
    with pytest.raises(AssertionError):
        check_claims("x", {"rows": [[3.1, 0.5, 5.6]]}, prose)
    check_claims("x", {"rows": [[3.1, 0.5, 5.6]]}, prose.replace("includes", "is above"))
