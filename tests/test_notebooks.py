"""The notebooks, executed top to bottom in a real Jupyter kernel: every cell runs, and every
cell that draws shows its figure (an ``image/png`` output), as a user in Jupyter would see it."""

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
DRAWS = re.compile(r"\bplots\.plot_|\bplt\.subplots|\bax\.hist")


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4


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
    NotebookClient(nb, timeout=600, resources={"metadata": {"path": str(path.parent)}}).execute()
    drawing = [c for c in nb.cells if c.cell_type == "code" and DRAWS.search(c.source)]
    assert drawing, f"{path.name}: no plotting cell found"
    for cell in drawing:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert images, f"{path.name}: this plotting cell shows no figure:\n{cell.source}"
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            assert "IProgress not found" not in text, f"{path.name}: {text}"
            assert out.get("output_type") != "error", f"{path.name}: {out}"
