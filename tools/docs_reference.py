"""Generate the documentation site's reference pages from the code (used by ``mkdocs build``
through ``tools/docs_hooks.py``; nothing here is kept by hand where the code can say it).

- :func:`scenario_keys_page`: every scenario key with its type, default, range and meaning,
  walked from ``Scenario.model_fields`` (the meaning is each field's ``description=``).
- :func:`cli_page`: every command and option from the argparse parser.
- :func:`results_page`: the files and columns of a real results folder, written by a tiny run
  of the command line at build time, with the meanings kept in ``docs/reference/columns.toml``
  (the build fails when a column has no meaning or a meaning names no column).
- :func:`fit_table`: the calibration fit table from ``docs/calibration/fit.csv``.

    python tools/docs_reference.py scenario-keys   # print one page (also: cli, results)
    python tools/docs_reference.py missing         # schema fields without a description
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parents[1]
COLUMNS_FILE = ROOT / "docs" / "reference" / "columns.toml"

# Meanings of the fields of models the scenario schema borrows from ``sim.core`` (calendars,
# distributions), which carry docstrings but no ``description=``. A field that has neither a
# description nor an entry here, or an entry here for a field that no longer exists, fails the
# build (see ``_meaning``), so this cannot drift silently.
BORROWED_MEANINGS: dict[str, dict[str, str]] = {
    "Recess": {
        "start": 'First day without meetings, "MM-DD".',
        "end": 'Last day without meetings, "MM-DD" (may be before start: the recess wraps the '
        "new year).",
        "name": "A label for the recess (e.g. summer).",
    },
    "MonthlyMeeting": {
        "weekday": "Day of the week (mon ... sun).",
        "nth": "Which of that weekday in the month: 1-5, or -1 for the last.",
    },
    "CalendarSpec": {
        "weekdays": 'Days of the week the body meets (e.g. ["tue", "fri"]).',
        "every_weeks": "Meets on those weekdays every n-th week.",
        "monthly": 'Monthly meetings, e.g. [{ weekday = "mon", nth = 3 }].',
        "months": "Only in these months (1-12; none: every month).",
        "dates": "Explicit meeting dates, kept even in a recess.",
        "recesses": "The body's own recesses (none: the scenario's).",
        "hour": "Hour of the day the meeting starts.",
    },
    "Fixed": {"dist": '"fixed"', "value": "The value, in days."},
    "Exponential": {"dist": '"exponential"', "mean_days": "The mean, in days (key: mean)."},
    "Lognormal": {
        "dist": '"lognormal"',
        "median": "The median, in days.",
        "sigma": "The standard deviation of the logarithm.",
    },
    "Gamma": {"dist": '"gamma"', "shape": "Shape parameter.", "scale": "Scale, in days."},
    "Uniform": {"dist": '"uniform"', "low": "Lowest value, days.", "high": "Highest value, days."},
    "Triangular": {
        "dist": '"triangular"',
        "low": "Lowest value, days.",
        "mode": "Most likely value, days.",
        "high": "Highest value, days.",
    },
    "Empirical": {
        "dist": '"empirical"',
        "values": "The values, in days.",
        "weights": "Their relative weights (none: equal).",
    },
}
SCHEMA_PACKAGE = "sim.scenario"
"""Models defined here must describe every field (those borrowed from ``sim.core`` need not)."""


# --- scenario keys ----------------------------------------------------------------------------


def _unwrap(annotation: Any) -> tuple[Any, list[Any]]:
    """The type inside ``Annotated[...]`` and the metadata gathered on the way."""
    meta: list[Any] = []
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation, meta = args[0], meta + list(args[1:])
    return annotation, meta


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Every pydantic model an annotation mentions (through unions, lists, dicts)."""
    annotation, _ = _unwrap(annotation)
    if _is_model(annotation):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += [m for m in _models_in(arg) if m not in out]
    return out


def type_name(annotation: Any) -> str:
    """A short, readable name of a field's type (``float``, ``list[str]``, a model's name)."""
    annotation, _ = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is type(None):
        return "none"
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        return " | ".join(dict.fromkeys(names)) + (" or none" if type(None) in args else "")
    if origin is typing.Literal:
        return " | ".join(json.dumps(a) for a in args)
    if origin in (list, tuple):
        return f"list[{type_name(args[0])}]" if args else "list"
    if origin is dict:
        return f"table[{type_name(args[0])} → {type_name(args[1])}]"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(json.dumps(m.value) for m in annotation)
    if annotation is dt.date:
        return "date"
    if _is_model(annotation):
        return f"[{annotation.__name__}](#{_anchor(annotation)})"
    return getattr(annotation, "__name__", str(annotation))


_BOUNDS = (
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Le, "le", "≤"),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.MinLen, "min_length", "at least {} items"),
    (annotated_types.MaxLen, "max_length", "at most {} items"),
)


def _number(x: Any) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)
    return f"{x:,}".replace(",", " ") if isinstance(x, int) and abs(x) >= 10_000 else str(x)


def constraints(field: FieldInfo) -> str:
    """The range a value must lie in, from the field's metadata and its type's ``Annotated``
    metadata (``ge``, ``gt``, ``le``, ``lt``, lengths), e.g. ``0 ≤ x ≤ 1``."""
    _, inner = _unwrap(field.annotation)
    meta = list(field.metadata) + inner
    annotation, _ = _unwrap(field.annotation)
    for arg in typing.get_args(annotation):  # Optional[Annotated[...]]
        meta += _unwrap(arg)[1]
    found: dict[str, Any] = {}
    for item in meta:
        for cls, attr, _ in _BOUNDS:
            if isinstance(item, cls):
                found[attr] = getattr(item, attr)
        if isinstance(item, FieldInfo):
            for sub in item.metadata:
                for cls, attr, _ in _BOUNDS:
                    if isinstance(sub, cls):
                        found[attr] = getattr(sub, attr)
    low = (
        f"{_number(found['ge'])} ≤ "
        if "ge" in found
        else f"{_number(found['gt'])} < "
        if "gt" in found
        else ""
    )
    high = (
        f" ≤ {_number(found['le'])}"
        if "le" in found
        else f" < {_number(found['lt'])}"
        if "lt" in found
        else ""
    )
    parts = [f"{low}x{high}"] if low or high else []
    if "min_length" in found:
        parts.append(f"at least {found['min_length']} item(s)")
    if "max_length" in found:
        parts.append(f"at most {found['max_length']} items")
    return "; ".join(parts)


def default(field: FieldInfo) -> str:
    """The default as TOML-ish text; ``required`` when there is none."""
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "the table's defaults"
        return "empty" if not value else repr(value)
    if field.default is PydanticUndefined:
        return "**required**"
    value = field.default
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return json.dumps(value.value)
    if isinstance(value, str):
        return json.dumps(value)
    return _number(value)


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _owned(model: type[BaseModel]) -> bool:
    return model.__module__.split(".")[:2] == SCHEMA_PACKAGE.split(".")


def _meaning(model: type[BaseModel], name: str, field: FieldInfo) -> str:
    if field.description:
        return " ".join(field.description.split())
    borrowed = BORROWED_MEANINGS.get(model.__name__, {})
    if name in borrowed:
        return borrowed[name]
    if _owned(model):
        return "*(no description yet)*"
    raise LookupError(
        f"{model.__module__}.{model.__name__}.{name} has no description= and no entry in "
        "BORROWED_MEANINGS (tools/docs_reference.py)"
    )


def walk_models(root: type[BaseModel] | None = None) -> list[tuple[type[BaseModel], str]]:
    """Every model reachable from ``Scenario``, breadth first, with the key path where it is
    first met (``bodies.<id>.calendar``)."""
    if root is None:
        from sim.scenario import Scenario

        root = Scenario
    seen: dict[type[BaseModel], str] = {root: ""}
    queue = [root]
    while queue:
        model = queue.pop(0)
        for name, field in model.model_fields.items():
            key = field.alias or name
            annotation, _ = _unwrap(field.annotation)
            keyed = typing.get_origin(annotation) is dict or any(
                typing.get_origin(_unwrap(a)[0]) is dict for a in typing.get_args(annotation)
            )
            listed = typing.get_origin(annotation) is list
            path = seen[model] + ("." if seen[model] else "") + key
            path += ".<id>" if keyed else "[]" if listed else ""
            for sub in _models_in(field.annotation):
                if sub not in seen:
                    seen[sub] = path
                    queue.append(sub)
    return list(seen.items())


def missing_descriptions(root: type[BaseModel] | None = None) -> list[str]:
    """``Class.field`` of every field of a model defined in ``sim.scenario`` and
    reachable from ``root`` (default: ``Scenario``) that has no ``description=``."""
    return [
        f"{model.__name__}.{name}"
        for model, _ in walk_models(root)
        if _owned(model)
        for name, field in model.model_fields.items()
        if not (field.description or "").strip()
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def scenario_keys_page() -> str:
    """The scenario-key reference, one table per model."""
    models = walk_models()
    lines = [
        "# Scenario keys",
        "",
        "<!-- generated by tools/docs_reference.py from the models in sim/scenario/: edit the "
        "fields' description=, not this page -->",
        "",
        "Every key a scenario file may hold, generated from the pydantic models that validate "
        "it (`sim/scenario/`). *Type* is what TOML must give (numbers are strict: "
        '`true` is not 1, `"3"` is not 3), *range* the bounds the schema enforces, *meaning* '
        "the field's own description. Tables keyed by id (`<id>`) merge deeply under "
        "`extends`. Cross-references (routes naming bodies, rules naming decision rules, "
        "member codes) are checked after these types; see "
        "[Writing a scenario](../tutorial.md#3-a-scenario-of-your-own).",
        "",
        "| table | where |",
        "|---|---|",
    ]
    for model, path in models:
        if model.__module__ == "sim.core.distributions":
            where = f"any distribution value, e.g. `{path}`"
        elif path.endswith("[]"):
            where = f"each item of `{path[:-2]}`"
        else:
            where = f"`[{path}]`" if path else "the top level of the file"
        lines.append(f"| [{model.__name__}](#{_anchor(model)}) | {where} |")
    for model, path in models:
        doc = " ".join((model.__doc__ or "").split())
        lines += ["", f"## {model.__name__} {{#{_anchor(model)}}}", ""]
        lines += [f"Key path: `{path}`" if path else "Key path: the top level.", ""]
        if doc:
            lines += [_cell(doc), ""]
        lines += ["| key | type | default | range | meaning |", "|---|---|---|---|---|"]
        for name, field in model.model_fields.items():
            key = field.alias or name
            lines.append(
                f"| `{key}` | {_cell(type_name(field.annotation))} | {_cell(default(field))} "
                f"| {_cell(constraints(field))} | {_cell(_meaning(model, name, field))} |"
            )
    # a field in BORROWED_MEANINGS that no longer exists is a stale entry
    names = {m.__name__: set(m.model_fields) for m, _ in models}
    stale = [
        f"{cls}.{f}"
        for cls, fields in BORROWED_MEANINGS.items()
        for f in fields
        if cls in names and f not in names[cls]
    ]
    if stale:
        raise LookupError(f"BORROWED_MEANINGS names fields that no longer exist: {stale}")
    return "\n".join(lines) + "\n"


# --- command line -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: ``sim.cli.build_parser()``."""
    from sim.cli import build_parser as parser

    return parser()


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _help(parser: argparse.ArgumentParser) -> str:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal: fix the width
    try:
        return parser.format_help()
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_page() -> str:
    """The command-line reference: a summary of the commands, then each one's help."""
    parser = build_parser()
    commands = _subcommands(parser)
    helps = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
    lines = [
        "# Command line",
        "",
        "<!-- generated by tools/docs_reference.py from the argparse parser: edit sim/cli, "
        "not this page -->",
        "",
        "`cfsp-sim` (or `python -m sim`, the same program). Exit status: 0 success, 2 bad input "
        "(a scenario, an option, an output folder that may not be replaced, a missing or "
        "corrupt results folder, a run too large, a missing optional dependency), 130 "
        "interrupted (Ctrl-C), 143 stopped by SIGTERM, 1 anything else.",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    for name in commands:
        lines.append(f"| [`{name}`](#{name}) | {_cell(helps.get(name) or '')} |")
    lines += ["", "## cfsp-sim", "", "```text", _help(parser).rstrip(), "```"]
    for name, sub in commands.items():
        lines += ["", f"## {name} {{#{name}}}", "", "```text", _help(sub).rstrip(), "```"]
    return "\n".join(lines) + "\n"


# --- results folder ---------------------------------------------------------------------------


def _tiny_run(folder: Path) -> Path:
    """A results folder written by the command line itself (2 replications of 60 days)."""
    out = folder / "eu27_baseline"
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    cmd = [sys.executable, "-m", "sim", "run", "eu27_baseline", "-n", "2", "--seed", "2025"]
    cmd += ["--horizon", "60", "--workers", "1", "--quiet", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if res.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")
    return out


def _arrow_type(t: Any) -> str:
    """A reader's name for a Parquet column's type (``category`` for a dictionary of strings)."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return "category"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    return str(t)


def _activities(events: Path) -> list[str]:
    """The event log's whole vocabulary: the categories of ``events.parquet``'s ``activity``
    column (stored with the file, used or not)."""
    import pyarrow.parquet as pq

    column = pq.read_table(events, columns=["activity"]).column("activity")
    return [str(a) for a in column.chunk(0).dictionary.to_pylist()] if column.num_chunks else []


def _columns(path: Path) -> list[tuple[str, str]]:
    import pandas as pd
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        schema = pq.read_schema(path)
        return [(f.name, _arrow_type(f.type)) for f in schema if not f.name.startswith("__")]
    frame = pd.read_csv(path, nrows=5)
    kinds = {"int64": "int", "float64": "float", "object": "string", "str": "string"}
    return [(c, kinds.get(str(t), str(t))) for c, t in frame.dtypes.items()]


def results_files(folder: Path) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """Each file of a results folder (figures as one entry) with its columns, if a table."""
    names = sorted(p.name for p in folder.iterdir())
    for name in names:
        path = folder / name
        if path.is_dir():
            yield name + "/", []
        elif path.suffix in (".parquet", ".csv"):
            yield name, _columns(path)
        elif name == "manifest.json":
            keys = json.loads(path.read_text(encoding="utf-8"))
            yield name, [(k, type(v).__name__) for k, v in keys.items()]
        else:
            yield name, []


def results_page(folder: Path | None = None) -> str:
    """The results-folder reference: the files a real run writes and every column, with the
    meanings from ``docs/reference/columns.toml``; fails on a column without a meaning and on a
    meaning without a column."""
    meanings = tomllib.loads(COLUMNS_FILE.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="cfsp-docs-") as tmp:
        run = folder or _tiny_run(Path(tmp))
        files = list(results_files(run))
        run_events = run / "events.parquet"
        vocabulary = _activities(run_events)  # read while the folder exists
    lines = [
        "# Results folder",
        "",
        "<!-- generated by tools/docs_reference.py: the files and columns are those of a run of "
        "`cfsp-sim run eu27_baseline -n 2 --seed 2025 --horizon 60` made while the site was "
        "built; the meanings are in docs/reference/columns.toml -->",
        "",
        meanings["intro"].strip(),
        "",
        "| file | content |",
        "|---|---|",
    ]
    problems = []
    file_meanings = meanings["files"]
    for name, _ in files:
        if name not in file_meanings:
            problems.append(f"file {name} has no meaning in columns.toml [files]")
        lines.append(f"| `{name}` | {_cell(file_meanings.get(name, ''))} |")
    written = {name for name, _ in files}
    problems += [
        f"[files] {n} is not written by a run"
        for n in file_meanings
        if n not in written and n not in meanings.get("optional_files", [])
    ]
    for name, columns in files:
        if not columns:
            continue
        table = meanings.get("columns", {}).get(name, {})
        lines += ["", f"## {name}", ""]
        if name in meanings.get("notes", {}):
            lines += [meanings["notes"][name].strip(), ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        for column, kind in columns:
            meaning = table.get(column)
            if meaning is None and name == "summary.csv" and column.startswith("p"):
                meaning = table.get("p*")
            if meaning is None:
                problems.append(f"{name}: column {column} has no meaning in columns.toml")
            lines.append(f"| `{column}` | {_cell(kind)} | {_cell(meaning or '')} |")
        stale = set(table) - {c for c, _ in columns} - {"p*"}
        problems += [f"{name}: columns.toml describes {c}, which the file lacks" for c in stale]
    if meanings.get("activities"):
        acts = meanings["activities"]
        lines += ["", "## Activities of the event log", ""]
        lines += ["| activity | what happened | `value` |", "|---|---|---|"]
        for act in vocabulary:
            what, value = acts.get(act, ["", ""])
            if act not in acts:
                problems.append(f"activity {act} has no meaning in columns.toml [activities]")
            lines.append(f"| `{act}` | {_cell(what)} | {_cell(value)} |")
        problems += [f"[activities] {a} is not an activity" for a in acts if a not in vocabulary]
    if problems:
        raise LookupError("results folder reference out of date:\n  " + "\n  ".join(problems))
    lines += ["", meanings["outro"].strip()]
    return "\n".join(lines) + "\n"


# --- calibration fit --------------------------------------------------------------------------


def fit_table(path: Path = ROOT / "docs" / "calibration" / "fit.csv") -> str:
    """``docs/calibration/fit.csv`` as a Markdown table (the posterior predictive check)."""
    import pandas as pd

    shown = {
        "label": "target",
        "observed": "observed",
        "check": "check",
        "low": "range low",
        "high": "range high",
        "simulated_median": "simulated median",
        "p5": "p5",
        "p95": "p95",
        "inside": "fits",
        "source_ids": "record rows",
    }
    fit = pd.read_csv(path)[list(shown)].rename(columns=shown)
    lines = ["| " + " | ".join(fit.columns) + " |", "|" + "---|" * len(fit.columns)]
    for row in fit.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, bool):
                cells.append("yes" if v else "**no**")
            elif isinstance(v, float):
                cells.append("" if v != v else f"{v:.3g}")
            else:
                cells.append(_cell(str(v)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- assumptions ------------------------------------------------------------------------------

STATUS_WORDS = ("CALIBRATED", "MEASURED", "ASSUMPTION", "TARGET")


def _toml_entries(text: str) -> Iterator[tuple[str, str, str, str, str]]:
    """(kind, table, key, value, comment) for each table header and key line of a scenario file,
    with a key's continuation comment lines joined to its inline comment and a table's leading
    comment block as its comment; ``kind`` is ``table`` or ``key``."""
    lines = text.splitlines()
    table, block, i = "", [], 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        i += 1
        if not stripped:
            block = []
            continue
        if stripped.startswith("#"):
            block.append(stripped.lstrip("#").strip())
            continue
        code, _, comment = line.partition(" #")
        if stripped.startswith("["):
            table = stripped.split("]")[0].strip("[]")
            yield "table", table, "", "", " ".join(b for b in block if set(b) - {"-"})
            block = []
            continue
        key, _, value = code.partition("=")
        value = value.strip()
        while value.count("[") > value.count("]") and i < len(lines):  # a multi-line array
            more, _, c = lines[i].partition(" #")
            value += " " + more.strip()
            comment += " " + c
            i += 1
        notes = [comment.strip().lstrip("#").strip()] if comment.strip() else []
        # continuation: the next lines holding only an indented comment
        while i < len(lines) and lines[i].startswith(" ") and lines[i].strip().startswith("#"):
            notes.append(lines[i].strip().lstrip("#").strip())
            i += 1
        block = []
        yield "key", table, key.strip(), value, " ".join(notes)


def _status(note: str) -> str:
    found = [w for w in STATUS_WORDS if w in note]
    if not found and ("SOURCES.md" in note or "Art." in note):
        found = ["SOURCED"]
    return ", ".join(found)


def assumptions_page(folder: Path = ROOT / "scenarios") -> str:
    """Every value a bundled scenario sets, with the comment that carries its source or marks it
    ASSUMPTION, CALIBRATED, MEASURED (or the observation it must reproduce, TARGET), read from
    the scenario files themselves."""
    files = sorted(folder.glob("*.toml"), key=lambda p: (p.stem != "eu27_baseline", p.name))
    files = [f for f in files if not f.name.endswith(".priors.toml")]
    lines = [
        "# Assumptions and sources",
        "",
        "<!-- generated by tools/docs_reference.py from the comments of scenarios/*.toml: edit "
        "the scenario files, not this page -->",
        "",
        "Every value the bundled scenarios set, with the comment that gives its source. The "
        "scenario files mark each number **MEASURED** (from the record or the calendars, "
        "`sim/data/SOURCES.md`), **CALIBRATED** (the ABC posterior's weighted median, with the "
        "hand-set value it replaced), **ASSUMPTION** (nobody has measured it: a plausible value, "
        "often with a range in the priors file for sensitivity analysis), or names the "
        "observation it must reproduce (**TARGET**); treaty thresholds cite their article. A "
        "table's own note (above its rows) covers keys without a comment of their own. This page "
        "is read from the files, so it says what they say, no more.",
        "",
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        head = []
        for line in text.splitlines():
            if not line.startswith("#"):
                break
            head.append(line.lstrip("#").strip())
        lines += [f"## {path.stem}", "", _cell(" ".join(head)) or "", ""]
        rows: list[str] = []
        for kind, table, key, value, note in _toml_entries(text):
            if kind == "table":
                if rows:
                    lines += [*rows, ""]
                    rows = []
                lines += [f"**`[{table}]`**" + (f" — {_cell(note)}" if note else ""), ""]
                rows = ["| key | value | status | note |", "|---|---|---|---|"]
                continue
            if not rows:
                rows = ["| key | value | status | note |", "|---|---|---|---|"]
            shown = value if len(value) <= 60 else value[:57] + "..."
            rows.append(
                f"| `{key}` | `{_cell(shown)}` | {_status(note)} | {_cell(note)} |".replace(
                    "`` ", "` "
                )
            )
        if rows:
            lines += [*rows, ""]
    return "\n".join(lines) + "\n"


PAGES = {
    "scenario-keys": scenario_keys_page,
    "cli": cli_page,
    "results": results_page,
    "assumptions": assumptions_page,
}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if args == ["missing"]:
        print("\n".join(missing_descriptions()))
        return 0
    if len(args) != 1 or args[0] not in PAGES:
        print(f"usage: docs_reference.py {{{','.join(PAGES)},missing}}", file=sys.stderr)
        return 2
    print(PAGES[args[0]](), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
