"""Arrow list columns of action chunks in, Arrow list columns of ids out, without a row loop.

Shared by :mod:`actok.integrations.datasets` and :mod:`actok.integrations.ray` (both of which
need pyarrow, so importing it here is no extra dependency). A column of chunks is read by
flattening its list levels (``list``, ``large_list``, ``fixed_size_list``, and extension types
such as datasets' ``Array2D`` or Ray's tensors through their storage) to one numpy buffer; every
level's lengths are checked equal, so a ragged or null row is named, never padded or skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .._actok import ActokError
from . import _layout


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def _storage(arr: Any) -> tuple[pa.Array, tuple[int, ...] | None]:
    """``arr`` as one plain Arrow array, and the per-row shape its extension type declares
    (Ray's and Arrow's fixed-shape tensors store ``(H, D)`` rows as flat lists)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    shape = None
    if isinstance(arr.type, pa.ExtensionType):
        declared = getattr(arr.type, "shape", None)
        if declared is not None and all(isinstance(n, int) for n in declared):
            shape = tuple(int(n) for n in declared)
        arr = arr.storage
    return arr, shape


def chunks_from_arrow(column: Any, what: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    """``(B, H, D)`` float actions from an Arrow column whose rows are ``(H, D)`` chunks: nested
    lists (``H`` lists of ``D`` numbers), or flat lists of ``H * D`` numbers in row-major order
    with ``shape=(H, D)`` (or a tensor extension type that declares it)."""
    arr, declared = _storage(column)
    rows = len(arr)
    dims: list[int] = []
    level = arr
    per_row = 1  # items of the current level per row, to name a row from an inner index
    while _is_list(level.type):
        if level.null_count:
            i = int(np.flatnonzero(level.is_null().to_numpy(zero_copy_only=False))[0])
            raise ActokError(f"{what}: row {i // per_row} is null (or holds a null list)")
        lengths = pc.list_value_length(level).to_numpy(zero_copy_only=False)
        width = int(lengths[0]) if lengths.size else 0
        bad = np.flatnonzero(lengths != width)
        if bad.size:
            i = int(bad[0])
            raise ActokError(
                f"{what}: row {i // per_row} has a list of {lengths[i]} items where row 0 has "
                f"{width}: every row must be a chunk of the same (H, D) shape"
            )
        dims.append(width)
        per_row *= max(width, 1)
        level = level.flatten()
    if not (pa.types.is_floating(level.type) or pa.types.is_integer(level.type)):
        raise ActokError(
            f"{what} must hold lists of numbers (one (H, D) chunk per row), "
            f"got Arrow type {column.type}"
        )
    if level.null_count:
        i = int(np.flatnonzero(level.is_null().to_numpy(zero_copy_only=False))[0])
        raise ActokError(f"{what}: row {i // per_row} holds a null value")
    values = level.to_numpy(zero_copy_only=False)
    target = declared or shape
    if len(dims) == 2:
        chunk = (dims[0], dims[1])
        if target is not None and rows and tuple(target) != chunk:
            raise ActokError(f"{what}: rows are chunks of shape {chunk}, not {tuple(target)}")
    elif len(dims) == 1 and target is not None and len(target) == 2:
        chunk = (int(target[0]), int(target[1]))
        if rows and chunk[0] * chunk[1] != dims[0]:
            raise ActokError(
                f"{what}: rows hold {dims[0]} numbers, which is not a chunk of shape {chunk}"
            )
    else:
        hint = " (flat rows: pass the chunk shape (H, D))" if len(dims) == 1 else ""
        raise ActokError(
            f"{what} must hold one (H, D) chunk per row: lists of H lists of D numbers, or flat "
            f"lists of H * D numbers with the shape given; got Arrow type {column.type}{hint}"
        )
    return values.reshape(rows, chunk[0], chunk[1])


def ids_to_arrow(ids: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Right-padded ``(B, L)`` ids as an Arrow ``list<int32>`` column (``large_list`` if the
    batch holds more than 2**31 - 1 ids)."""
    values, offsets = _layout.ragged(ids, lengths)
    values = np.ascontiguousarray(values, dtype=np.int32)
    if offsets[-1] < 2**31:
        return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))
    return pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(values))


def encode_column(
    tokenizer: Any,
    column: Any,
    what: str,
    *,
    shape: tuple[int, int] | None,
    on_overflow: str,
    check_shape: bool,
) -> tuple[pa.Array, np.ndarray]:
    """The ids of every chunk in an Arrow column, as a ``list<int32>`` column, and the lengths:
    one call into the core for the whole batch."""
    actions = chunks_from_arrow(column, what, shape)
    return encode_array(
        tokenizer, actions, on_overflow=on_overflow, check_shape=check_shape, arrow=True
    )


def encode_array(
    tokenizer: Any, actions: np.ndarray, *, on_overflow: str, check_shape: bool, arrow: bool
) -> tuple[Any, np.ndarray]:
    """``(ids, lengths)`` of ``(B, H, D)`` actions: ids as an Arrow list column (``arrow``) or
    as a 1-D object array of int32 arrays."""
    if actions.shape[0] == 0:  # no chunk, so no shape to check either
        ids, lengths = np.zeros((0, 0), np.int32), np.zeros(0, np.int32)
    else:
        ids, lengths = tokenizer.encode_batch(
            actions, on_overflow=on_overflow, check_shape=check_shape
        )
    if arrow:
        return ids_to_arrow(ids, lengths), lengths
    values, offsets = _layout.ragged(ids, lengths)
    return _layout.split_rows(values, offsets), lengths
