"""The results folder (SPEC §5): written atomically, read back by ``plot`` and ``compare``.

A run writes into a staging folder beside the target (``.<name>.partial``) and streams each
replication's tables to Parquet as it arrives, so memory stays flat however many replications
run. Only when everything is written does the staging folder replace the target; the
manifest says ``"status": "complete"`` only then. An interrupted or failed run leaves a
manifest saying so and no data file that could be mistaken for a complete one; with
``--force`` the previous results stay intact until the new ones are complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TABLES = ("proposals", "events", "stages", "meetings")


class ResultsExistError(Exception):
    """The target folder holds results and ``force`` was not given."""


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and an atomic rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def check_target(target: Path, force: bool) -> None:
    """Refuse a non-empty target folder unless ``force``."""
    if target.exists() and not target.is_dir():
        raise ResultsExistError(f"{target}: exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise ResultsExistError(
            f"{target}: folder exists and is not empty (use --force to replace it)"
        )


@dataclass
class ResultsWriter:
    """Streams replication tables into a staging folder and publishes it atomically."""

    target: Path
    force: bool = False
    manifest: dict[str, Any] = field(default_factory=dict)
    _writers: dict[str, pq.ParquetWriter] = field(default_factory=dict)
    _schemas: dict[str, pa.Schema] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_target(self.target, self.force)
        self.staging = self.target.parent / f".{self.target.name}.partial"
        if self.staging.exists():
            shutil.rmtree(self.staging)
        self.staging.mkdir(parents=True)
        self.write_manifest(status="running")

    def write_manifest(self, **updates: Any) -> None:
        """Update and rewrite the staging manifest."""
        self.manifest.update(updates)
        write_json_atomic(self.staging / "manifest.json", self.manifest)

    def append(self, name: str, table: pa.Table) -> None:
        """Append rows (one or more replications) to the Parquet table ``name``."""
        if name not in self._writers:
            self._schemas[name] = table.schema
            self._writers[name] = pq.ParquetWriter(
                self.staging / f"{name}.parquet", table.schema, compression="zstd"
            )
        if table.schema != self._schemas[name]:
            table = table.cast(self._schemas[name])
        self._writers[name].write_table(table)

    def path(self, name: str) -> Path:
        """Where a file goes in the staging folder."""
        return self.staging / name

    def close_tables(self) -> None:
        """Finish the Parquet files."""
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def publish(self) -> Path:
        """Mark complete and move the staging folder into place (replacing old results)."""
        self.close_tables()
        self.write_manifest(status="complete")
        old = None
        if self.target.exists():
            old = self.target.parent / f".{self.target.name}.old"
            if old.exists():
                shutil.rmtree(old)
            os.replace(self.target, old)
        os.replace(self.staging, self.target)
        if old is not None:
            shutil.rmtree(old)
        return self.target

    def abandon(self, status: str, error: str) -> Path:
        """Record a failed or interrupted run: drop data files, keep a manifest saying so.

        The manifest lands in the target folder when that held no results; otherwise (a
        forced run over old results) the old results stay and the manifest stays in staging.
        """
        for w in self._writers.values():
            with contextlib.suppress(Exception):  # already failing; the file is deleted below
                w.close()
        self._writers.clear()
        for p in self.staging.iterdir():
            if p.name != "manifest.json":
                shutil.rmtree(p) if p.is_dir() else p.unlink()
        self.write_manifest(status=status, error=error)
        if not self.target.exists() or not any(self.target.iterdir()):
            if self.target.exists():
                self.target.rmdir()
            os.replace(self.staging, self.target)
            return self.target
        return self.staging


def frame_to_arrow(frame: pd.DataFrame, replication: int | None = None) -> pa.Table:
    """A result DataFrame as an Arrow table, fast: categoricals become dictionary columns
    (read back as categoricals), numbers and timestamps are passed as numpy buffers; with
    ``replication`` a leading ``replication`` column is added."""
    arrays, names = [], []
    if replication is not None:
        arrays.append(pa.array(np.full(len(frame), replication, dtype=np.int64)))
        names.append("replication")
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            categories = pa.array([str(c) for c in s.cat.categories], type=pa.string())
            indices = pa.array(codes.astype(np.int32), mask=codes < 0)
            arrays.append(pa.DictionaryArray.from_arrays(indices, categories))
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            arrays.append(pa.array(s.astype(object).tolist(), type=pa.string()))
        else:
            arrays.append(pa.array(s.to_numpy()))
        names.append(str(col))
    return pa.Table.from_arrays(arrays, names=names)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a results folder (``FileNotFoundError`` if there is none)."""
    data: dict[str, Any] = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return data


def read_table(folder: Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One of the folder's Parquet tables as a DataFrame."""
    return pd.read_parquet(folder / f"{name}.parquet", columns=columns)
