"""``BatchEncoder``: the callable that ``datasets.Dataset.map`` and ``ray.data.Dataset.map_batches``
call on each batch, shared by both integrations (each exports it under its own name).

A batch is a ``pyarrow.Table`` (datasets' ``"arrow"`` format, Ray's ``"pyarrow"`` batch format)
or a mapping of column name to numpy array (Ray's ``"numpy"`` format, datasets' ``"numpy"``);
the result is the same kind, the input's columns plus the ids. One call into the core per batch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Union

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]

from .._actok import ActokError
from .._tokenizer import FastTokenizer
from . import _arrow

TokenizerLike = Union[FastTokenizer, str, "os.PathLike[str]"]


def _load(tokenizer: object) -> FastTokenizer:
    if isinstance(tokenizer, FastTokenizer):
        return tokenizer
    if isinstance(tokenizer, (str, os.PathLike)):
        return FastTokenizer.from_pretrained(tokenizer)
    raise ActokError(
        "tokenizer must be a FastTokenizer or the path of a tokenizer directory, "
        f"got {type(tokenizer).__name__}"
    )


def _chunk_shape(value: object) -> tuple[int, int] | None:
    if value is None:
        return None
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)
    ):
        raise ActokError(f"chunk_shape must be (H, D), two positive ints, or None; got {value!r}")
    return (int(value[0]), int(value[1]))


class BatchEncoder:
    """Adds a column of action token ids to each batch (see the integration modules)."""

    def __init__(
        self,
        tokenizer: TokenizerLike,
        *,
        column: str = "actions",
        ids_column: str = "action_ids",
        lengths_column: str | None = None,
        chunk_shape: tuple[int, int] | None = None,
        drop_column: bool = False,
        on_overflow: str = "raise",
        check_shape: bool = True,
    ) -> None:
        self.tokenizer = _load(tokenizer)
        self.column = column
        self.ids_column = ids_column
        self.lengths_column = lengths_column
        self.chunk_shape = _chunk_shape(chunk_shape)
        self.drop_column = drop_column
        self.on_overflow = on_overflow
        self.check_shape = check_shape

    def _shape(self) -> tuple[int, int] | None:
        """The chunk shape of flat rows: the argument, else the tokenizer's config."""
        if self.chunk_shape is not None:
            return self.chunk_shape
        h, d = self.tokenizer.time_horizon, self.tokenizer.action_dim
        return (h, d) if h is not None and d is not None else None

    def __call__(self, batch: Any) -> Any:
        if isinstance(batch, pa.Table):
            return self._table(batch)
        if isinstance(batch, Mapping):
            return self._mapping(batch)
        raise ActokError(
            f"{type(self).__name__} takes a pyarrow.Table or a dict of numpy arrays (the "
            f"'pyarrow' / 'arrow' or 'numpy' batch formats), got {type(batch).__name__}"
        )

    def _missing(self, names: Any) -> ActokError:
        return ActokError(
            f"the batch has no column {self.column!r} (its columns: {sorted(names)}); "
            "pass column= the name of the action chunks' column"
        )

    def _table(self, table: pa.Table) -> pa.Table:
        if self.column not in table.column_names:
            raise self._missing(table.column_names)
        ids, lengths = _arrow.encode_column(
            self.tokenizer,
            table.column(self.column),
            f"column {self.column!r}",
            shape=self._shape(),
            on_overflow=self.on_overflow,
            check_shape=self.check_shape,
        )
        out = table.drop_columns([self.column]) if self.drop_column else table
        new = {self.ids_column: ids}
        if self.lengths_column is not None:
            new[self.lengths_column] = pa.array(lengths.astype(np.int32))
        for name, values in new.items():
            if name in out.column_names:
                out = out.set_column(out.column_names.index(name), name, values)
            else:
                out = out.append_column(name, values)
        return out

    def _mapping(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        if self.column not in batch:
            raise self._missing(batch.keys())
        column = batch[self.column]
        if isinstance(column, (pa.Array, pa.ChunkedArray)):
            actions = _arrow.chunks_from_arrow(column, f"column {self.column!r}", self._shape())
        else:
            actions = _numpy_chunks(column, self.column, self._shape())
        ids, lengths = _arrow.encode_array(
            self.tokenizer,
            actions,
            on_overflow=self.on_overflow,
            check_shape=self.check_shape,
            arrow=False,
        )
        out = {k: v for k, v in batch.items() if not (self.drop_column and k == self.column)}
        out[self.ids_column] = ids
        if self.lengths_column is not None:
            out[self.lengths_column] = lengths.astype(np.int32)
        return out

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.tokenizer!r}, column={self.column!r}, "
            f"ids_column={self.ids_column!r})"
        )


def _numpy_chunks(column: Any, name: str, shape: tuple[int, int] | None) -> np.ndarray:
    """``(B, H, D)`` actions from a numpy column: already ``(B, H, D)``, ``(B, H * D)`` with a
    known shape, or an object array of ``(H, D)`` arrays (how numpy holds nested lists)."""
    a = np.asarray(column)
    if a.shape[:1] == (0,):  # an empty batch: no chunk, nothing to check
        return np.zeros((0, 1, 1))
    if a.dtype == object:
        if a.ndim != 1:
            raise ActokError(f"column {name!r}: expected one chunk per row, got shape {a.shape}")
        # numpy already holds one object per row here (an array, or an array of row arrays)
        parts = [np.asarray(x) for x in a]
        parts = [np.stack(list(p)) if p.dtype == object and p.size else p for p in parts]
        shapes = {p.shape for p in parts}
        if len(shapes) > 1:
            raise ActokError(
                f"column {name!r} holds chunks of different shapes {sorted(shapes)}: every "
                "row must be a chunk of the same (H, D) shape"
            )
        a = np.stack(parts) if parts else np.zeros((0, 0, 0))
    if a.ndim == 2 and shape is not None:
        if a.shape[1] != shape[0] * shape[1]:
            raise ActokError(
                f"column {name!r}: rows hold {a.shape[1]} numbers, not a chunk of shape {shape}"
            )
        a = a.reshape(a.shape[0], *shape)
    if a.ndim != 3:
        raise ActokError(
            f"column {name!r} must be a batch of (H, D) chunks, shape (B, H, D), got shape "
            f"{a.shape}" + (" (flat rows: pass chunk_shape=(H, D))" if a.ndim == 2 else "")
        )
    return a
