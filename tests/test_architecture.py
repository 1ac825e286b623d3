"""The package's architecture, checked: one-way imports between layers, size limits, and no
module that changes the user's matplotlib backend on import."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "sim"

LAYERS = ["core", "scenario", "engine", "analysis", "experiment", "report", "cli"]
"""Lowest first: a module may import ``sim`` modules of its own layer or a lower one only."""


def _modules() -> list[Path]:
    return sorted(p for p in SIM.rglob("*.py") if "__pycache__" not in p.parts)


def _layer(name: str) -> int | None:
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "sim":
        return None
    top = parts[1]
    return LAYERS.index(top) if top in LAYERS else None


def _sim_imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sim"):
            out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out.extend((node.lineno, a.name) for a in node.names if a.name.startswith("sim"))
    return out


def _module_name(path: Path) -> str:
    rel = path.relative_to(SIM.parent).with_suffix("")
    return ".".join(rel.parts).removesuffix(".__init__")


def test_imports_go_one_way() -> None:
    wrong = []
    for path in _modules():
        own = _layer(_module_name(path))
        if own is None:
            continue
        for line, target in _sim_imports(path):
            layer = _layer(target)
            if layer is not None and layer > own:
                wrong.append(f"{path.relative_to(SIM.parent)}:{line} imports {target}")
    assert not wrong, (
        "imports against the layering " + " < ".join(LAYERS) + ":\n" + "\n".join(wrong)
    )


def test_core_imports_nothing_outside_core() -> None:
    for path in (SIM / "core").glob("*.py"):
        for line, target in _sim_imports(path):
            assert target.startswith("sim.core"), f"{path.name}:{line} imports {target}"
        text = path.read_text(encoding="utf-8")
        assert "import simpy" not in text, f"{path.name} imports SimPy"


def test_size_limits() -> None:
    """No class over 200 lines, no function over 80 (docstrings included)."""
    too_big = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            limit = {ast.ClassDef: 200, ast.FunctionDef: 80}.get(type(node))
            if limit is None:
                continue
            assert isinstance(node, ast.ClassDef | ast.FunctionDef)
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > limit:
                too_big.append(f"{path.relative_to(SIM.parent)}:{node.lineno} {node.name} {size}")
    assert not too_big, "\n".join(too_big)


@pytest.mark.parametrize("backend", ["svg", "pdf"])
def test_importing_sim_keeps_the_users_matplotlib_backend(backend: str) -> None:
    names = [_module_name(p) for p in _modules() if p.name != "__main__.py"]
    code = (
        "import importlib, matplotlib\n"
        f"matplotlib.use({backend!r})\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(matplotlib.get_backend())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == backend


MODULE_LINES = 500


def test_no_module_over_500_lines() -> None:
    too_long = [
        f"{p.relative_to(SIM).as_posix()} {n}"
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_LINES
    ]
    assert not too_long, "\n".join(too_long)


def _calls(attribute: str) -> list[str]:
    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == attribute
            ):
                found.append(f"{path.relative_to(SIM.parent)}:{node.lineno}")
    return found


def test_one_experiment_transaction() -> None:
    """Every study publishes and abandons its folder in one place: ``experiment/study.py``."""
    for step in ("publish", "abandon"):
        assert _calls(step) == [_calls(step)[0]], f"{step} is called in {_calls(step)}"
        assert _calls(step)[0].startswith("sim/experiment/study.py"), _calls(step)


def test_public_entry_points_take_at_most_six_parameters() -> None:
    wide = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef) and node.name.startswith(("run_", "simulate")):
                a = node.args
                n = len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs)
                if n > 6:
                    wide.append(f"{path.relative_to(SIM.parent)}:{node.lineno} {node.name} {n}")
    assert not wide, "\n".join(wide)


def test_no_private_apis_of_concurrent_futures() -> None:
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        for private in ("_processes", "_result_queue", "_call_queue", "_executor_manager"):
            assert private not in text, f"{path.relative_to(SIM.parent)} uses {private}"


NOTEBOOKS = sorted((SIM.parent / "notebooks").glob("*.ipynb"))
INTERNALS = ("sim.core", "sim.engine", "sim.experiment")


def _notebook_imports(path: Path) -> tuple[list[str], str]:
    """The ``sim`` modules a notebook imports, and its code."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    tree = ast.parse(code)
    modules = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    return modules, code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebooks_use_the_public_api(path: Path) -> None:
    modules, _ = _notebook_imports(path)
    internal = [m for m in modules if m.startswith(INTERNALS)]
    assert not internal, f"{path.name} imports internals {internal}: use the sim facade"


def test_a_notebook_simulates_in_memory() -> None:
    assert any("sim.simulate(" in _notebook_imports(p)[1] for p in NOTEBOOKS)
