"""Constrained decoding: :class:`Constraint`, :class:`ConstraintBatch` and
:func:`openpi_vocab_map` (the automaton is the core's, ``rust/actok/src/constraint``).

Mask a model's logits with these and every sequence it generates decodes with
``on_error="raise"``; nothing that could have decoded is masked. The rules are in
``docs/semantics.md`` ("Constrained decoding"). This module only brings Python values to the
types the compiled classes take.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _actok, _convert
from ._actok import ActokError, DecodeError

_I128_MAX = 2**127 - 1
_I64_MAX = 2**63 - 1


def _token_id(value: object) -> int:
    """One id for ``advance``: any Python or numpy int (not a bool). Ints beyond 128 bits
    become ±(2**127 - 1): still no id, reported as such by the core."""
    if not _convert.is_int(value):
        raise DecodeError(f"token id must be an int, got {value!r}")
    return max(-_I128_MAX, min(int(value), _I128_MAX))  # type: ignore[call-overload]


def _bool_out(out: object, what: str) -> np.ndarray:
    """``out`` if the masks can be written into it in place: a writeable, C-contiguous numpy
    bool array (its shape is the core's to check)."""
    if not isinstance(out, np.ndarray):
        raise ActokError(f"{what} must be a numpy bool array, got {type(out).__name__}")
    if out.dtype != np.bool_:
        raise ActokError(f"{what} must have dtype bool, got {out.dtype}")
    if not out.flags.c_contiguous:
        raise ActokError(f"{what} must be C-contiguous (np.ascontiguousarray, or a fresh array)")
    if not out.flags.writeable:
        raise ActokError(f"{what} is read-only")
    return out


def _id_array(ids: Any, what: str) -> np.ndarray:
    """A 1-D integer array as int64, or uint64 when unsigned (the core reports ids beyond int64
    with their value)."""
    try:
        a = np.asarray(ids)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"{what} must be an integer array: {exc}") from None
    if a.dtype.kind not in "iu":
        raise DecodeError(f"{what} must be an integer array, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ActokError(f"{what} must be a 1-D array (one per row), got shape {a.shape}")
    return np.ascontiguousarray(a, dtype=np.uint64 if a.dtype.kind == "u" else np.int64)


def vocab_map_array(vocab_map: Any) -> np.ndarray:
    """``vocab_map`` as a 1-D int64 array (its entries are the core's to check)."""
    try:
        a = np.asarray(vocab_map)
    except (TypeError, ValueError) as exc:
        raise ActokError(f"vocab_map must be an integer array: {exc}") from None
    if a.dtype.kind not in "iu" or a.ndim != 1:
        raise ActokError(
            f"vocab_map must be a 1-D integer array (action id -> model id), got dtype "
            f"{a.dtype} and shape {a.shape}"
        )
    if a.dtype.kind == "u" and a.size and int(a.max()) > _I64_MAX:
        i = int(np.argmax(a))
        raise ActokError(f"vocab_map[{i}] = {int(a[i])} is beyond int64: not a model id")
    return np.ascontiguousarray(a, dtype=np.int64)


class Constraint:
    """The token ids that keep one sequence decodable, step by step.

    Made by :meth:`FastTokenizer.constraint`. At each step :meth:`mask` is exactly the set of
    ids after which some continuation decodes (``on_error="raise"``) to the chunk shape: sample
    the next id where it is True, then :meth:`advance` with it. Stop when :attr:`is_complete`
    (then :meth:`mask` is all False). Not thread-safe: one per generation loop.
    """

    __slots__ = ("_inner",)

    def __init__(self, _inner: _actok._Constraint) -> None:
        self._inner = _inner

    def mask(self, out: np.ndarray | None = None) -> np.ndarray:
        """``(vocab_len,)`` bool: True for each id allowed next. Written into ``out`` (a
        C-contiguous bool array of that shape) and returned, when given."""
        if out is None:
            return self._inner.mask()
        out = _bool_out(out, "out")
        if out.ndim != 1:
            raise ActokError(f"out must be 1-D (vocab_len,), got shape {out.shape}")
        self._inner.mask_into(out)
        return out

    def advance(self, token_id: int) -> None:
        """Appends ``token_id``; :class:`DecodeError` naming the id, its position and the state
        (coefficients so far, any pending partial character) if the mask excludes it. The state
        is then unchanged."""
        self._inner.advance(_token_id(token_id))

    @property
    def is_complete(self) -> bool:
        """True exactly when the ids so far decode, as they are, to the chunk shape."""
        return self._inner.is_complete

    def reset(self) -> None:
        """Back to the start of a sequence."""
        self._inner.reset()

    @property
    def count(self) -> int:
        """Coefficients finished so far."""
        return self._inner.count

    @property
    def position(self) -> int:
        """Ids advanced so far."""
        return self._inner.position

    @property
    def time_horizon(self) -> int:
        """The chunk's H."""
        return self._inner.time_horizon

    @property
    def action_dim(self) -> int:
        """The chunk's D."""
        return self._inner.action_dim

    def __repr__(self) -> str:
        return (
            f"Constraint(time_horizon={self.time_horizon}, action_dim={self.action_dim}, "
            f"count={self.count}, position={self.position}, is_complete={self.is_complete})"
        )


class ConstraintBatch:
    """:class:`Constraint` for each row of a generation batch, optionally in a language
    model's vocabulary.

    Made by :meth:`FastTokenizer.constraint_batch`. :meth:`mask` is ``(batch, width)``, where
    ``width`` is the model's vocabulary size with ``vocab_map``, else the tokenizer's. Rows that
    are done:

    - with ``end_id``: a complete row's mask allows ``end_id``; advancing it *finishes* the row,
      whose mask is then ``end_id`` alone (never an all-False row) and which accepts ``end_id``
      again or the sentinel ``-1``;
    - without: a complete row's mask is all False (stop sampling it) and it takes ``-1``.

    ``-1`` for a row that is not complete, or any id its mask excludes, raises
    :class:`DecodeError` naming the row, id, position and state, and no row moves.
    Not thread-safe: one per generation loop.
    """

    __slots__ = ("_inner",)

    def __init__(self, _inner: _actok._ConstraintBatch) -> None:
        self._inner = _inner

    def mask(self, out: np.ndarray | None = None) -> np.ndarray:
        """``(batch, width)`` bool masks (True = allowed), written into ``out`` (C-contiguous
        bool, that shape) and returned when given. The GIL is released while they are written."""
        if out is None:
            out = np.empty((self.batch, self.width), dtype=np.bool_)
        else:
            out = _bool_out(out, "out")
        self._inner.mask_into(out)
        return out

    def advance(self, ids: Any) -> None:
        """Appends ``ids[b]`` to row ``b``: an int array (or list) of shape ``(batch,)`` of
        model ids (the tokenizer's ids without ``vocab_map``), ``end_id``, or ``-1`` for rows
        that are complete or finished."""
        self._inner.advance(_id_array(ids, "ids"))

    @property
    def is_complete(self) -> np.ndarray:
        """``(batch,)`` bool: the rows that may end where they are (complete or finished)."""
        return self._inner.is_complete

    @property
    def finished(self) -> np.ndarray:
        """``(batch,)`` bool: the rows ended with ``end_id``."""
        return self._inner.finished

    def reset(self) -> None:
        """Every row back to its start."""
        self._inner.reset()

    @property
    def batch(self) -> int:
        """Number of rows."""
        return self._inner.batch

    @property
    def width(self) -> int:
        """Width of a mask row: ``model_vocab_size``, else the tokenizer's vocabulary length."""
        return self._inner.width

    @property
    def end_id(self) -> int | None:
        """The end-of-actions model id, if any."""
        return self._inner.end_id

    @property
    def time_horizon(self) -> int:
        """The chunk's H."""
        return self._inner.time_horizon

    @property
    def action_dim(self) -> int:
        """The chunk's D."""
        return self._inner.action_dim

    def __repr__(self) -> str:
        return (
            f"ConstraintBatch(batch={self.batch}, width={self.width}, end_id={self.end_id}, "
            f"time_horizon={self.time_horizon}, action_dim={self.action_dim})"
        )


def openpi_vocab_map(model_vocab_size: int, skip: int = 128, *, vocab_len: int) -> np.ndarray:
    """openpi's placement of FAST ids in a language model's vocabulary: action id ``i`` is
    model id ``model_vocab_size - 1 - skip - i`` (PaliGemma skips its last 128 ids). An int64
    ``(vocab_len,)`` array for :meth:`FastTokenizer.constraint_batch`'s ``vocab_map``."""
    return _actok.openpi_vocab_map(
        _convert.count(model_vocab_size, "model_vocab_size"),
        _convert.count(vocab_len, "vocab_len"),
        _convert.count(skip, "skip"),
    )
