"""Padding layouts of token ids, in numpy: the conversions the data-pipeline integrations share.

The core pads on the right (``encode_batch`` / ``decode((ids, lengths))``: row ``b``'s tokens are
``ids[b, :lengths[b]]``). Models and pipelines also want left padding, attention masks and ragged
(flat values + offsets) columns; these helpers only move ids between those layouts, vectorized
(no loop over rows), and refuse a layout they cannot read.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._actok import ActokError

PADDING_SIDES = ("right", "left")


def padding_side(value: object) -> str:
    """``value`` if it is ``"right"`` or ``"left"``, else an error naming both."""
    if value not in PADDING_SIDES:
        raise ActokError(f"padding_side must be 'right' or 'left', got {value!r}")
    return str(value)


def to_left(ids: np.ndarray, lengths: np.ndarray, pad_id: int) -> np.ndarray:
    """Right-padded ``(B, L)`` rows moved to the right end of the row (left padding)."""
    width = ids.shape[1]
    out = np.full_like(ids, pad_id)
    # Boolean masks select row-major, so the n tokens of each row keep their order.
    out[mask_for(lengths, width, "left")] = ids[mask_for(lengths, width, "right")]
    return out


def mask_for(lengths: np.ndarray, width: int, side: str) -> np.ndarray:
    """Bool ``(B, L)``: True at each row's token positions (the first ``n`` for right padding,
    the last ``n`` for left padding)."""
    positions = np.arange(width)[None, :]
    n = lengths.astype(np.int64)[:, None]
    return positions < n if side == "right" else positions >= width - n


def lengths_from_mask(mask: np.ndarray) -> np.ndarray:
    """Each row's number of tokens in a bool ``(B, L)`` attention mask, or an error
    naming the first row whose tokens are not one contiguous run (left or right padded rows,
    and rows padded on both sides, are contiguous)."""
    m = mask
    width = m.shape[1]
    lengths = m.sum(axis=1)
    if width == 0:
        return lengths.astype(np.int64)
    first = m.argmax(axis=1)
    last = width - 1 - m[:, ::-1].argmax(axis=1)
    contiguous = (lengths == 0) | (last - first + 1 == lengths)
    if not contiguous.all():
        b = int(np.flatnonzero(~contiguous)[0])
        raise ActokError(
            f"attention_mask row {b} has gaps: its ones (positions {first[b]} to {last[b]}, "
            f"{lengths[b]} of them) must be one contiguous run, as left or right padding makes; "
            "pass lengths= for another layout"
        )
    return lengths.astype(np.int64)


def right_aligned(ids: np.ndarray, tokens: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``ids`` with each row's tokens (where the bool ``tokens`` mask is True, ``lengths[b]``
    of them in row ``b``) moved to the start of the row, the core's layout; the rest is 0."""
    right = mask_for(lengths, ids.shape[1], "right")
    if np.array_equal(tokens, right):
        return ids
    out = np.zeros_like(ids)
    out[right] = ids[tokens]
    return out


def check_lengths(lengths: np.ndarray, rows: int, width: int) -> np.ndarray:
    """``lengths`` as int64 ``(rows,)`` in ``[0, width]``, or an error naming the first bad one."""
    if lengths.ndim != 1 or lengths.shape[0] != rows:
        raise ActokError(
            f"lengths must have shape ({rows},), one per row of ids, got shape {lengths.shape}"
        )
    if lengths.dtype.kind not in "iu":
        raise ActokError(f"lengths must be integers, got dtype {lengths.dtype}")
    bad = np.flatnonzero((lengths < 0) | (lengths > width))
    if bad.size:
        b = int(bad[0])
        raise ActokError(
            f"lengths[{b}] = {lengths[b]} is outside [0, {width}] (the ids have {width} columns)"
        )
    return lengths.astype(np.int64, copy=False)


def ragged(ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ``(B, L)`` ids as ``(values, offsets)``: every row's tokens concatenated and
    the ``B + 1`` int64 offsets where each row starts (the layout of an Arrow list column)."""
    width = ids.shape[1]
    values = ids[mask_for(lengths, width, "right")] if ids.size else ids.reshape(-1)
    offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return values, offsets


def split_rows(values: np.ndarray, offsets: np.ndarray) -> Any:
    """A 1-D object array whose item ``b`` is ``values[offsets[b]:offsets[b+1]]`` (a view): the
    form numpy-based pipelines (Ray's numpy batches) take for rows of different lengths."""
    out = np.empty(offsets.shape[0] - 1, dtype=object)
    # Item by item: assigning the list at once would make rows of equal length one 2-D array.
    for b, row in enumerate(np.split(values, offsets[1:-1]) if out.size else []):
        out[b] = row
    return out
