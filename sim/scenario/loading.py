"""Reading a scenario: TOML files, ``extends``, ``--set`` overrides, then validation.

A scenario is read with :mod:`tomllib`, merged over the files it ``extends`` (tables keyed by id
merge deeply, everything else is replaced), patched by ``--set key.path=value`` overrides, and
only then validated by :class:`~sim.scenario.schema.Scenario`. Every problem is raised as one
:class:`~sim.scenario.schema.ScenarioError` naming the file, the key path and the problem.
:func:`load_scenario` is the one entry point.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.scenario.files import MAX_KEY_PARTS, check_depth, read_toml
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
    """Read one scenario file (:func:`sim.scenario.files.read_toml`); one named by an
    ``extends`` that does not exist is reported there, with the bundled name it may mean."""
    key = "extends" if referrer is not None else ""
    try:
        return read_toml(path, referrer, key)
    except FileNotFoundError:
        hint = did_you_mean(path.name.removesuffix(".toml"), bundled_scenarios()) if key else ""
        raise ScenarioError(referrer or path, key, f"file not found: {path}{hint}") from None


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
        referrer, current = current, _extended(current, parent)
    chain.reverse()
    return chain


def _extended(child: Path, parent: str) -> Path:
    """The file ``extends = parent`` names: next to ``child`` (with or without ``.toml``),
    else the bundled scenario of that name, else the sibling path (reported as not found)."""
    if "\0" in parent or not Path(parent).name or len(parent.encode()) > 4096:
        raise ScenarioError(child, "extends", f"names no scenario file: {parent[:80]!r}")
    sibling = child.parent / parent
    try:
        for candidate in (sibling, sibling.with_name(sibling.name + ".toml")):
            if candidate.is_file():
                return candidate
    except OSError as exc:  # e.g. a name too long for the file system
        raise ScenarioError(
            child, "extends", f"cannot use {parent[:80]!r}: {exc.strerror}"
        ) from None
    bundled = bundled_scenarios().get(Path(parent).name.removesuffix(".toml"))
    return bundled if bundled is not None and "/" not in parent else sibling


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or ``""``.

    >>> did_you_mean("capcity", ["capacity", "calendar"])
    " (did you mean 'capacity'?)"
    >>> did_you_mean("zzz", ["capacity"])
    ''
    """
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def bundled_scenarios_dir() -> Path:
    """The bundled scenarios: package data ``sim/scenarios`` (in a checkout, a link to the
    repository's ``scenarios/`` folder)."""
    return Path(str(resources.files("sim") / "scenarios"))


def bundled_scenarios() -> dict[str, Path]:
    """Bundled scenario files by name (file stem), sorted; empty if none is installed. A
    scenario's priors (``<name>.priors.toml``) are not scenarios."""
    folder = bundled_scenarios_dir()
    if not folder.is_dir():
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.toml")) if not p.name.endswith(PRIORS)}


PRIORS = ".priors.toml"
"""The suffix of a priors file beside its scenario (``eu27_baseline.priors.toml``)."""


def resolve_scenario(spec: str | Path) -> Path:
    """The scenario file ``spec`` names: the path itself if it exists, else a bundled scenario
    (``"qmv_art31"`` or ``"qmv_art31.toml"``); a missing plain name suggests the closest. A
    plain name that is only a folder here (e.g. the results folder ``eu27_baseline`` a run
    wrote) still means the bundled scenario."""
    path = Path(spec)
    bundled = bundled_scenarios()
    name = path.name.removesuffix(".toml")
    if len(path.parts) != 1 or (path.exists() and not (path.is_dir() and name in bundled)):
        return path
    if name in bundled:
        return bundled[name]
    hint = did_you_mean(name, bundled) or " (cfsp-sim scenarios lists the bundled ones)"
    raise ScenarioError(path, "", f"file not found, and no bundled scenario {name!r}{hint}")


def parse_override(text: str, label: str = "--set") -> tuple[list[str], Any]:
    """Split ``"key.path=value"``; the value is read as TOML, else taken as a string.

    >>> parse_override("bodies.PSC.capacity=8")
    (['bodies', 'PSC', 'capacity'], 8)
    >>> parse_override("name=my run")
    (['name'], 'my run')
    """
    key, sep, value = text.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(p.strip() for p in parts):
        raise ScenarioError(label, text[:200], "expected KEY.PATH=VALUE")
    if len(parts) > MAX_KEY_PARTS:
        raise ScenarioError(label, key[:80] + "...", f"more than {MAX_KEY_PARTS} key parts")
    try:
        parsed: Any = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    except RecursionError:
        raise ScenarioError(label, key.strip(), "value nested too deeply") from None
    check_depth(parsed, label, key.strip())
    return [p.strip() for p in parts], parsed


def apply_override(raw: dict[str, Any], parts: list[str], value: Any, label: str = "--set") -> None:
    """Set ``raw[parts[0]][parts[1]]... = value`` in place, creating tables as needed."""
    node = raw
    for i, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            path = ".".join(parts[: i + 1])
            raise ScenarioError(label, ".".join(parts), f"{path} is a value, not a table")
        node = child
    node[parts[-1]] = value


Loc = list[str | int]
Source = tuple[str | Path, Any]
"""Who wrote keys: a file and its parsed TOML, or ``--set``/``--vary`` and the key paths written."""


def _touches(layer: Any, loc: Sequence[str | int]) -> bool:
    """Whether a file's parsed TOML writes the key path ``loc``, a table holding it, or a value
    in place of one of its tables."""
    node = layer
    for part in loc:
        if isinstance(node, dict):
            if part not in node:
                return False
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return True  # a value where the key path expects a table: this layer wrote it
    return True


def _blame(sources: list[Source], loc: Sequence[str | int]) -> str | Path:
    """The last source (files most basic first, then ``--set``, then ``--vary``) that wrote
    ``loc``, a table holding it, or a key inside it."""
    want = [str(p) for p in loc]
    for where, written in reversed(sources):
        if isinstance(written, list):  # --set / --vary: the key paths they wrote
            for parts in written:
                n = min(len(parts), len(want))
                if n and parts[:n] == want[:n]:
                    return where
        elif loc and _touches(written, loc):
            return where
    return [where for where, written in sources if not isinstance(written, list)][-1]


def _loc_to_key(loc: Sequence[str | int]) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _clean_loc(raw: Mapping[str, Any], loc: Sequence[str | int]) -> Loc:
    """Drop pydantic's union-branch tags (e.g. ``'lognormal'``) from an error location,
    keeping only the steps that exist in the input."""
    out: Loc = []
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


FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
"""Dates a scenario may use (timestamps stay well inside what pandas and numpy represent)."""


def _leaves(node: Any, loc: Loc) -> Iterator[tuple[Loc, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, [*loc, k])
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, [*loc, i])
    else:
        yield loc, node


def _leaf_problem(value: Any) -> str | None:
    """What is wrong with a single TOML value whatever key it is written at, if anything."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if isinstance(value, dt.datetime | dt.date):
        day = value.date() if isinstance(value, dt.datetime) else value
        if not FIRST_DATE <= day <= LAST_DATE:
            return f"dates must fall between {FIRST_DATE} and {LAST_DATE}, not {day}"
    return None


def _validated_at(model: Any, loc: Loc) -> Any:
    """The validated value at the raw key path ``loc`` (following field aliases), or a
    sentinel when the path does not lead to one."""
    node = model
    for part in loc:
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
            if name is None:
                return _MISSING
            node = getattr(node, name)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


_MISSING = object()


def _bool_taken_as_number(raw: dict[str, Any], scenario: Scenario) -> Loc | None:
    """The first key path where ``true``/``false`` was accepted for something else (a number)."""
    for loc, value in _leaves(raw, []):
        if isinstance(value, bool):
            got = _validated_at(scenario, loc)
            if got is not _MISSING and not isinstance(got, bool):
                return loc
    return None


def _validation_error(exc: ValidationError, raw: dict[str, Any]) -> tuple[Loc, Loc, str, bool]:
    """Key path, the key path whose writer is to blame, the problem and whether it is a
    cross-reference, from pydantic's first error."""
    err = exc.errors()[0]
    loc = _clean_loc(raw, err["loc"])
    problem = err["msg"]
    keyed = err.get("ctx", {}).get("error")
    if isinstance(keyed, KeyedError):
        parts = keyed.key.replace("[", ".").replace("]", "").split(".")
        keyed_loc: Loc = [int(p) if p.isdigit() else p for p in parts]
        return keyed_loc, keyed_loc, str(keyed), keyed.cross
    blame = loc
    if isinstance(err.get("input"), bool) and err["type"] in ("int_type", "float_type"):
        problem = "expects a number, not true/false"
    elif err["type"] == "extra_forbidden":
        problem = "unknown key" + did_you_mean(str(loc[-1]), _known_keys(raw, loc[:-1]))
    elif err["type"] == "missing":
        problem, blame = "required key is missing", loc[:-1]  # whoever wrote the table
    return loc, blame, problem.removeprefix("Value error, "), False


def _variants(annotation: Any) -> list[Any]:
    """The types an annotation may hold (``Annotated``, unions and ``None`` unwrapped)."""
    if get_origin(annotation) is Annotated:
        return _variants(get_args(annotation)[0])
    if get_origin(annotation) in (Union, type(int | None)):
        return [v for a in get_args(annotation) for v in _variants(a)]
    return [annotation] if annotation is not type(None) else []


def _known_keys(raw: Mapping[str, Any], loc: Sequence[str | int]) -> list[str]:
    """The keys the schema allows in the table at ``loc`` (empty if it cannot tell)."""
    kinds: list[Any] = [Scenario]
    node: Any = raw
    for part in loc:
        node = node.get(part) if isinstance(node, Mapping) else None
        nxt: list[Any] = []
        for kind in kinds:
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                field = kind.model_fields.get(str(part))
                nxt += _variants(field.annotation) if field is not None else []
            elif get_origin(kind) in (dict, list):
                nxt += _variants(get_args(kind)[-1])
        kinds = nxt
    keys: list[str] = []
    for kind in kinds:
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            continue
        fields = kind.model_fields
        tag = next((d for d in _DISCRIMINATORS if d in fields), None)
        if (
            tag
            and isinstance(node, Mapping)
            and node.get(tag) not in get_args(fields[tag].annotation)
        ):
            continue  # another variant of a tagged union
        keys += [f.alias or name for name, f in fields.items()]
    return keys


def load_scenario(
    path: str | Path,
    overrides: Sequence[str] | None = None,
    varied: Sequence[str] | None = None,
) -> Scenario:
    """Read, merge, override and validate a scenario file.

    Parameters
    ----------
    path
        The scenario's TOML file, or the name of a bundled scenario (``"eu27_baseline"``).
    overrides
        ``"key.path=value"`` strings (``--set``) applied, in order, before validation.
    varied
        More such strings from a sweep's ``--vary``, applied after ``overrides``; problems
        with them are reported against ``--vary``.

    Raises
    ------
    ScenarioError
        On any problem, naming the file (or ``--set``/``--vary``) that wrote the key, the key
        path and what is wrong.
    """
    path = resolve_scenario(path)
    chain = _read_chain(path)
    raw: dict[str, Any] = {}
    for _, layer in chain:
        raw = deep_merge(raw, layer)
    sources: list[Source] = [(p, layer) for p, layer in chain]
    for label, texts in (("--set", overrides), ("--vary", varied)):
        written: list[list[str]] = []
        for text in texts or ():
            parts, value = parse_override(text, label)
            apply_override(raw, parts, value, label)
            written.append(parts)
        sources.append((label, written))
    for loc, value in _leaves(raw, []):
        problem = _leaf_problem(value)
        if problem is not None:
            raise ScenarioError(_blame(sources, loc), _loc_to_key(loc), problem)
    try:
        scenario = Scenario.model_validate(raw)
    except ValidationError as exc:
        loc, blame, problem, cross = _validation_error(exc, raw)
        where = _blame(sources, blame)
        if cross and where not in ("--set", "--vary"):
            where = path  # a cross-reference: the cause may be in any file of the chain
        raise ScenarioError(where, _loc_to_key(loc), problem) from None
    bad = _bool_taken_as_number(raw, scenario)
    if bad is not None:
        raise ScenarioError(
            _blame(sources, bad), _loc_to_key(bad), "expects a number, not true/false"
        )
    return scenario


def scenario_sources(path: str | Path) -> list[Path]:
    """The scenario file and every file it ``extends``, most basic first."""
    return [p for p, _ in _read_chain(resolve_scenario(path))]
