"""A replication's tables as Arrow, the form results folders store and metrics read.

One conversion for both engines: a column is a numpy array, a list of strings or
:class:`Coded` (integer codes of a categorical, -1 for missing); :func:`arrow_table` turns
such columns into an Arrow table (categoricals as dictionary columns, read back as
categoricals; numbers and timestamps passed as numpy buffers), :func:`frame` into the
DataFrame :meth:`~sim.engine.compile.Model.run` gives, and :func:`frame_to_arrow` turns that
DataFrame into the same Arrow table.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

TABLES = ("proposals", "events", "stages", "meetings")
"""A replication's tables, in the order runs store them."""


class Coded(NamedTuple):
    """A categorical column: ``codes`` into ``dtype``'s categories (-1: missing)."""

    codes: np.ndarray
    dtype: pd.CategoricalDtype


Column = np.ndarray | Coded | list[str]
Columns = Mapping[str, Column]


_LABELS: dict[int, tuple[pd.CategoricalDtype, pa.Array]] = {}


def _labels(dtype: pd.CategoricalDtype) -> pa.Array:
    """A categorical's labels as an Arrow array, made once per dtype object (keyed by identity:
    pandas hashes a dtype's categories at every lookup, which costs more than the column)."""
    held = _LABELS.get(id(dtype))
    if held is None or held[0] is not dtype:
        if len(_LABELS) >= 256:  # a calibration makes a model, and dtypes, per particle
            _LABELS.clear()
        labels = pa.array([str(c) for c in dtype.categories], type=pa.string())
        held = _LABELS[id(dtype)] = (dtype, labels)
    return held[1]


@functools.lru_cache(maxsize=64)
def categories(labels: tuple[str, ...]) -> pd.CategoricalDtype:
    """The categorical dtype of ``labels``, one object for the same labels."""
    return pd.CategoricalDtype(labels)


def _dictionary(codes: np.ndarray, labels: pa.Array) -> pa.DictionaryArray:
    indices = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(indices, labels)


def _arrow(column: Column) -> pa.Array:
    if isinstance(column, Coded):
        return _dictionary(column.codes, _labels(column.dtype))
    if isinstance(column, list):
        return pa.array(column, type=pa.string())
    return pa.array(column)


def _with_replication(
    arrays: list[pa.Array], names: list[str], replication: int | None
) -> pa.Table:
    if replication is not None:
        n = len(arrays[0]) if arrays else 0
        arrays.insert(0, pa.array(np.full(n, replication, dtype=np.int64)))
        names.insert(0, "replication")
    return pa.Table.from_arrays(arrays, names=names)


def arrow_table(columns: Columns, replication: int | None = None) -> pa.Table:
    """``columns`` as an Arrow table; with ``replication`` a leading ``replication`` column is
    added."""
    return _with_replication([_arrow(c) for c in columns.values()], list(columns), replication)


def frame(columns: Columns) -> pd.DataFrame:
    """``columns`` as a DataFrame (categoricals as ``pd.Categorical``)."""
    return pd.DataFrame(
        {
            name: pd.Categorical.from_codes(c.codes, dtype=c.dtype) if isinstance(c, Coded) else c
            for name, c in columns.items()
        }
    )


def frame_to_arrow(table: pd.DataFrame, replication: int | None = None) -> pa.Table:
    """A result DataFrame as the Arrow table :func:`arrow_table` gives for its columns; with
    ``replication`` a leading ``replication`` column is added."""
    arrays, names = [], []
    for name, s in table.items():
        if isinstance(s.dtype, pd.CategoricalDtype):
            codes = s.cat.codes.to_numpy()
            labels = pa.array([str(c) for c in s.cat.categories], type=pa.string())
            arrays.append(_dictionary(codes, labels))
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            arrays.append(pa.array(s.astype(object).tolist(), type=pa.string()))
        else:
            arrays.append(pa.array(s.to_numpy()))
        names.append(str(name))
    return _with_replication(arrays, names, replication)


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication produces (without the ``replication`` column; the runner adds it)."""

    proposals: pd.DataFrame
    events: pd.DataFrame
    stages: pd.DataFrame
    meetings: pd.DataFrame

    def arrow(self, replication: int) -> dict[str, pa.Table]:
        """The tables as Arrow, with a leading ``replication`` column."""
        return {name: frame_to_arrow(getattr(self, name), replication) for name in TABLES}
