"""MkDocs hooks (``hooks:`` in ``mkdocs.yml``): the generated reference pages.

``on_files`` adds the pages :mod:`docs_reference` writes from the code — the scenario keys from
the pydantic schema, the command line from its argparse parser, the results folder from a real
tiny run — so they exist only in the built site, never as hand-kept copies in ``docs/``.
``on_page_markdown`` fills ``<!-- docs:NAME -->`` placeholders in hand-written pages (the
calibration fit table from ``docs/calibration/fit.csv``); ``on_page_content`` drops the Sphinx
roles (``:func:``) mkdocstrings leaves in front of names in the API pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tools"):  # the checkout's sim and this folder's generators
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import docs_reference  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402

GENERATED = {
    "reference/scenario-keys.md": docs_reference.scenario_keys_page,
    "reference/cli.md": docs_reference.cli_page,
    "reference/results-folder.md": docs_reference.results_page,
    "explanation/assumptions.md": docs_reference.assumptions_page,
}
PLACEHOLDERS = {"fit-table": docs_reference.fit_table}
SPHINX_ROLE = re.compile(r":(?:func|class|mod|meth|data|attr|exc):(?=<code)")
"""A Sphinx cross-reference role left in front of its name by mkdocstrings (the docstrings use
``:func:`name```): the name is shown as code, the role text dropped."""


def on_files(files: Files, config: Any) -> Files:
    for uri, page in GENERATED.items():
        if files.get_file_from_path(uri) is not None:
            raise RuntimeError(f"docs/{uri} is generated: delete the hand-kept copy")
        files.append(File.generated(config, uri, content=page()))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    for name, make in PLACEHOLDERS.items():
        marker = f"<!-- docs:{name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, make())
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return SPHINX_ROLE.sub("", html)
