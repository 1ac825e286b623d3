"""Reading a scenario: TOML files, ``extends``, ``--set`` overrides, then validation.

A scenario is read with :mod:`tomllib`, merged over the files it ``extends`` (tables keyed by id
merge deeply, everything else is replaced), patched by ``--set key.path=value`` overrides, and
only then validated by :class:`~sim.scenario.schema.Scenario`. Every problem is raised as one
:class:`~sim.scenario.schema.ScenarioError` naming the file, the key path and the problem.
:func:`load_scenario` is the one entry point.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from sim.scenario.references import KeyedError
from sim.scenario.schema import Scenario, ScenarioError

_DISCRIMINATORS = ("dist", "kind")


def _same_variant(base: Mapping[str, Any], override: Mapping[str, Any]) -> bool:
    return all(override.get(d, base.get(d)) == base.get(d) for d in _DISCRIMINATORS if d in base)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` over ``base``: tables merge recursively, other values are replaced.

    A table that switches variant (another ``dist`` or ``kind``) replaces the old one whole.

    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": [1]}, {"a": {"y": 3}, "b": [2]})
    {'a': {'x': 1, 'y': 3}, 'b': [2]}
    >>> deep_merge({"d": {"dist": "fixed", "value": 1}}, {"d": {"dist": "exponential", "mean": 2}})
    {'d': {'dist': 'exponential', 'mean': 2}}
    """
    out = dict(base)
    for key, value in override.items():
        old = out.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping) and _same_variant(old, value):
            out[key] = deep_merge(old, value)
        else:
            out[key] = value
    return out


def _read_toml(path: Path, referrer: Path | None) -> dict[str, Any]:
    where = referrer if referrer is not None else path
    key = "extends" if referrer is not None else ""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(where, key, f"file not found: {path}") from None
    except IsADirectoryError:
        raise ScenarioError(where, key, f"is a directory, not a scenario file: {path}") from None
    except PermissionError:
        raise ScenarioError(where, key, f"cannot read file: {path}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(path, "", f"not UTF-8 text: {exc.reason}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, "", f"invalid TOML: {exc}") from None


def _read_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The file and every file it extends, most basic first."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    seen: list[Path] = []
    current, referrer = path, None
    while True:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join(p.name for p in [*seen, resolved])
            raise ScenarioError(referrer or current, "extends", f"cyclic extends: {cycle}")
        seen.append(resolved)
        raw = _read_toml(current, referrer)
        chain.append((current, raw))
        parent = raw.pop("extends", None)
        if parent is None:
            break
        if not isinstance(parent, str):
            raise ScenarioError(current, "extends", "must be a file name (a string)")
        referrer, current = current, (current.parent / parent)
    chain.reverse()
    return chain


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"key.path=value"``; the value is read as TOML, else taken as a string.

    >>> parse_override("bodies.PSC.capacity=8")
    (['bodies', 'PSC', 'capacity'], 8)
    >>> parse_override("name=my run")
    (['name'], 'my run')
    """
    key, sep, value = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise ScenarioError("--set", text, "expected KEY.PATH=VALUE")
    try:
        parsed: Any = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return [p.strip() for p in parts], parsed


def apply_override(raw: dict[str, Any], parts: list[str], value: Any) -> None:
    """Set ``raw[parts[0]][parts[1]]... = value`` in place, creating tables as needed."""
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            path = ".".join(parts[: i + 1])
            raise ScenarioError("--set", ".".join(parts), f"{path} is a value, not a table")
        node = child
    node[parts[-1]] = value


def _origin(chain: list[tuple[Path, dict[str, Any]]], loc: Sequence[str | int]) -> Path:
    """The most specific file of the chain that writes the key path ``loc``."""
    for path, raw in reversed(chain):
        node: Any = raw
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        else:
            return path
    return chain[-1][0]


def _loc_to_key(loc: Sequence[str | int]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _clean_loc(raw: Mapping[str, Any], loc: Sequence[str | int]) -> list[str | int]:
    """Drop pydantic's union-branch tags (e.g. ``'lognormal'``) from an error location,
    keeping only the steps that exist in the input."""
    out: list[str | int] = []
    node: Any = raw
    for part in loc:
        if isinstance(node, Mapping) and part not in node:
            if any(node.get(d) == part for d in _DISCRIMINATORS):
                continue
            if isinstance(part, str) and not part.isidentifier():  # e.g. 'function-after[...]'
                continue
        out.append(part)
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return out


def load_scenario(path: str | Path, overrides: Sequence[str] | None = None) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path
        The scenario's TOML file.
    overrides
        ``"key.path=value"`` strings applied, in order, before validation.

    Raises
    ------
    ScenarioError
        On any problem, naming the file, the key path and what is wrong.
    """
    path = Path(path)
    chain = _read_chain(path)
    raw: dict[str, Any] = {}
    for _, layer in chain:
        raw = deep_merge(raw, layer)
    set_keys: list[list[str]] = []
    for text in overrides or ():
        parts, value = parse_override(text)
        apply_override(raw, parts, value)
        set_keys.append(parts)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _clean_loc(raw, err["loc"])
        problem = err["msg"]
        keyed = err.get("ctx", {}).get("error")
        if isinstance(keyed, KeyedError):
            key, problem = keyed.key, str(keyed)
            loc = [
                int(p) if p.isdigit() else p
                for p in key.replace("[", ".").replace("]", "").split(".")
            ]
        else:
            keyed = None
            key = _loc_to_key(loc)
        if err["type"] == "extra_forbidden":
            problem = "unknown key"
        elif err["type"] == "missing":
            problem = "required key is missing"
        problem = problem.removeprefix("Value error, ")
        if any(list(map(str, loc[: len(p)])) == p for p in set_keys):
            return_file: str | Path = "--set"
        elif keyed is not None:  # a cross-reference: the cause may be in any file of the chain
            return_file = path
        else:
            return_file = _origin(chain, loc)
        raise ScenarioError(return_file, key, problem) from None


def bundled_scenarios_dir() -> Path:
    """The project's ``scenarios/`` folder (next to the package in a source checkout)."""
    return Path(__file__).resolve().parents[2] / "scenarios"
