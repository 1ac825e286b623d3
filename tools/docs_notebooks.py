"""Execute the notebooks into ``docs/notebooks/`` for the documentation site
(``make docs-notebooks``).

``notebooks/`` is committed without outputs (``make test`` executes it); the site renders these
executed copies as they are stored, so ``make docs`` runs no simulation. A copy is current when
its code cells are those of its notebook: ``tests/test_docs.py`` checks that, so a notebook
changed without rerunning this fails the tests, naming this command.

    python tools/docs_notebooks.py                 # every notebook (one after the other)
    python tools/docs_notebooks.py 01_quickstart   # only these
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks"
TARGET = ROOT / "docs" / "notebooks"


def code_cells(nb: nbformat.NotebookNode) -> list[str]:
    """The sources of a notebook's code cells (what decides whether a stored copy is current)."""
    return [c.source for c in nb.cells if c.cell_type == "code"]


def stale() -> list[str]:
    """Notebooks whose executed copy is missing or whose code differs from the copy's."""
    out = []
    for path in sorted(SOURCE.glob("*.ipynb")):
        copy = TARGET / path.name
        if not copy.exists() or code_cells(nbformat.read(path, 4)) != code_cells(
            nbformat.read(copy, 4)
        ):
            out.append(path.name)
    return out


def execute(path: Path) -> Path:
    """Run ``path`` in a fresh kernel from the notebooks folder and store it with its outputs."""
    nb = nbformat.read(path, 4)
    NotebookClient(nb, timeout=1800, resources={"metadata": {"path": str(path.parent)}}).execute()
    TARGET.mkdir(parents=True, exist_ok=True)
    out = TARGET / path.name
    nbformat.write(nb, out)
    return out


def main(argv: list[str]) -> int:
    names = argv or [p.stem for p in sorted(SOURCE.glob("*.ipynb"))]
    for name in names:
        t0 = time.perf_counter()
        out = execute(SOURCE / f"{Path(name).stem}.ipynb")
        print(f"{out.relative_to(ROOT)}: executed in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
