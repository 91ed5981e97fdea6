"""PyTorch data loading: action chunks to padded ``torch.long`` ids and back.

``ActionCollator`` is a ``DataLoader`` ``collate_fn`` (or a transform of a stacked batch) that
tokenizes ``B`` action chunks in one call into the core and returns ``input_ids`` and
``attention_mask``, ``(B, L)`` ``torch.long`` tensors, padded on either side::

    collate = ActionCollator(tok, padding_side="left", max_length=64)
    loader = DataLoader(dataset, batch_size=32, collate_fn=collate, num_workers=4)
    actions = collate.decode(generated_ids, attention_mask=mask)   # (B, H, D) float tensor

The tokenizer pickles by value, so the collator works in workers started by ``fork`` or
``spawn``; actok's thread pool is rebuilt in a forked worker (never inherited half-alive).
This module imports torch (``pip install 'actok[torch]'``); ``import actok`` does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._actok import ActokError
from .._extras import require
from . import _layout

require("torch", extra="torch", needed_for="actok.integrations.torch")

import torch  # noqa: E402
from torch.utils.data import default_collate  # noqa: E402

__all__ = ["ActionCollator", "decode_ids", "encode_actions"]


def _numpy(x: Any, what: str) -> np.ndarray:
    """``x`` (a CPU tensor, a numpy array or anything numpy reads) as a numpy array, sharing
    memory where it can; a tensor on another device is refused, not copied behind the caller's
    back."""
    if isinstance(x, torch.Tensor):
        if x.device.type != "cpu":
            raise ActokError(
                f"{what} is a tensor on {x.device}: actok works on CPU memory; move it with "
                f"{what}.cpu() first (in a DataLoader, tokenize before moving batches to the GPU)"
            )
        x = x.detach()
        if x.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def _stack(samples: Sequence[Any], what: str) -> np.ndarray:
    """``B`` chunks of one shape as a ``(B, H, D)`` array."""
    if not samples:
        raise ActokError(f"{what} is an empty batch: there is nothing to tokenize")
    if all(isinstance(s, torch.Tensor) for s in samples):
        # One torch.stack: ten times faster than converting 256 tensors one by one.
        arrays: Sequence[Any] = samples
    else:
        arrays = [_numpy(s, f"{what}[{i}]") for i, s in enumerate(samples)]
    first = tuple(arrays[0].shape)
    for i, a in enumerate(arrays):
        if tuple(a.shape) != first:
            raise ActokError(
                f"{what}[{i}] has shape {tuple(a.shape)} but {what}[0] has shape {first}: a "
                "batch holds chunks of one (H, D) shape"
            )
    if arrays is samples:
        try:
            stacked = torch.stack(list(samples))
        except RuntimeError as err:  # equal shapes, so: tensors on different devices
            raise ActokError(
                f"{what}: cannot stack the samples ({err}); move them to CPU"
            ) from None
        return _numpy(stacked, what)
    return np.stack(arrays)


def encode_actions(
    tokenizer: Any,
    actions: Any,
    *,
    max_length: int | None = None,
    pad_id: int = 0,
    padding_side: str = "right",
    on_overflow: str = "raise",
    check_shape: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)``: ``(B, L)`` ``torch.long`` tensors for ``(B, H, D)``
    (or ``(H, D)``) actions, a numpy array or a CPU tensor (or a list of ``(H, D)`` ones).

    ``L`` is ``max_length`` when given (a longer sequence raises :class:`actok.ActokError`;
    nothing is truncated), else the batch's longest sequence. Padding holds ``pad_id``, on the
    ``padding_side`` (``"right"`` or ``"left"``); the mask is 1 at token positions and 0 at
    padding. ``on_overflow`` and ``check_shape`` are those of
    :meth:`actok.FastTokenizer.encode`.
    """
    side = _layout.padding_side(padding_side)
    if isinstance(actions, (list, tuple)):
        actions = _stack(actions, "actions")  # chunks, e.g. tensors: stacked in one call
    ids, lengths = tokenizer.encode_batch(
        _numpy(actions, "actions"),
        max_length,
        pad_id,
        on_overflow=on_overflow,
        check_shape=check_shape,
    )
    if side == "left":
        ids = _layout.to_left(ids, lengths, pad_id)
    mask = _layout.mask_for(lengths, ids.shape[1], side)
    return (
        torch.from_numpy(ids.astype(np.int64)),
        torch.from_numpy(mask.astype(np.int64)),
    )


def decode_ids(
    tokenizer: Any,
    ids: Any,
    attention_mask: Any = None,
    *,
    lengths: Any = None,
    padding_side: str = "right",
    time_horizon: int | None = None,
    action_dim: int | None = None,
    on_error: str = "raise",
    dtype: torch.dtype | None = None,
    return_valid: bool = False,
) -> Any:
    """Actions, a ``(B, H, D)`` tensor, from ``(B, L)`` ids (a CPU tensor or numpy array).

    Which positions hold tokens: ``attention_mask`` (nonzero at tokens; each row's tokens one
    contiguous run, so left and right padding both read without ``padding_side``), or
    ``lengths`` (``(B,)``: the row's last ``n`` positions with ``padding_side="left"``, its
    first ``n`` with ``"right"``), or neither: every position is a token. ``time_horizon``,
    ``action_dim`` and ``on_error`` are those of :meth:`actok.FastTokenizer.decode`. The result
    is float64 (what the core computes) unless ``dtype`` says otherwise; with
    ``return_valid=True`` a ``(B,)`` bool tensor of the rows that decoded cleanly comes too.
    """
    side = _layout.padding_side(padding_side)
    id_array = _numpy(ids, "ids")
    if id_array.ndim != 2 or id_array.dtype.kind not in "iu":
        raise ActokError(
            "ids must be a (B, L) integer tensor or array, "
            f"got shape {id_array.shape} and dtype {id_array.dtype}"
        )
    rows, width = id_array.shape
    if attention_mask is not None and lengths is not None:
        raise ActokError("pass attention_mask or lengths, not both")
    if attention_mask is not None:
        tokens = _numpy(attention_mask, "attention_mask").astype(bool, copy=False)
        if tokens.shape != id_array.shape:
            raise ActokError(
                f"attention_mask has shape {tokens.shape} but ids have shape {id_array.shape}"
            )
        n = _layout.lengths_from_mask(tokens)
    elif lengths is not None:
        n = _layout.check_lengths(_numpy(lengths, "lengths"), rows, width)
        tokens = _layout.mask_for(n, width, side)
    else:
        n = np.full(rows, width, dtype=np.int64)
        tokens = np.ones((rows, width), dtype=bool)
    actions, valid = tokenizer.decode(
        (_layout.right_aligned(id_array, tokens, n), n),
        time_horizon,
        action_dim,
        on_error=on_error,
        return_valid=True,
    )
    out = torch.from_numpy(actions)
    if dtype is not None:
        out = out.to(dtype)
    return (out, torch.from_numpy(valid)) if return_valid else out


class ActionCollator:
    """A ``collate_fn`` that tokenizes a batch of action chunks into padded ``torch.long`` ids.

    Called with the list of a ``DataLoader``'s samples, each an ``(H, D)`` chunk (numpy or CPU
    tensor), or a mapping holding one under ``key`` (the other entries are collated by torch's
    ``default_collate`` and kept), it returns a dict with ``input_ids`` and ``attention_mask``
    (names set by ``ids_key`` and ``mask_key``), ``(B, L)`` ``torch.long`` tensors as
    :func:`encode_actions` makes them. Called with one ``(B, H, D)`` array or tensor, it
    tokenizes that batch (a batch transform). :meth:`decode` is the inverse for model output;
    ``time_horizon`` and ``action_dim`` are its default chunk shape (else the tokenizer's).
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        key: str | None = None,
        max_length: int | None = None,
        pad_id: int = 0,
        padding_side: str = "right",
        on_overflow: str = "raise",
        check_shape: bool = True,
        ids_key: str = "input_ids",
        mask_key: str = "attention_mask",
        time_horizon: int | None = None,
        action_dim: int | None = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.time_horizon = time_horizon
        self.action_dim = action_dim
        self.key = key
        self.max_length = max_length
        self.pad_id = pad_id
        self.padding_side = _layout.padding_side(padding_side)
        self.on_overflow = on_overflow
        self.check_shape = check_shape
        self.ids_key = ids_key
        self.mask_key = mask_key

    def __call__(self, batch: Any) -> dict[str, Any]:
        if isinstance(batch, (np.ndarray, torch.Tensor)):
            actions, rest = _numpy(batch, "actions"), None
        elif self.key is None:
            if not isinstance(batch, Sequence) or (batch and isinstance(batch[0], Mapping)):
                raise ActokError(
                    "ActionCollator without key= takes a list of (H, D) chunks or one "
                    "(B, H, D) array; for samples that are dicts, pass key= the actions' name"
                )
            actions, rest = _stack(batch, "actions"), None
        else:
            actions, rest = self._split(batch)
        ids, mask = encode_actions(
            self.tokenizer,
            actions,
            max_length=self.max_length,
            pad_id=self.pad_id,
            padding_side=self.padding_side,
            on_overflow=self.on_overflow,
            check_shape=self.check_shape,
        )
        out: dict[str, Any] = dict(rest) if rest else {}
        out[self.ids_key] = ids
        out[self.mask_key] = mask
        return out

    def _split(self, batch: Any) -> tuple[np.ndarray, Any]:
        key = self.key
        if not isinstance(batch, Sequence) or not all(isinstance(s, Mapping) for s in batch):
            raise ActokError(f"ActionCollator(key={key!r}) takes a list of dict samples")
        missing = [i for i, s in enumerate(batch) if key not in s]
        if missing:
            raise ActokError(
                f"sample {missing[0]} has no {key!r} entry (it has {sorted(batch[missing[0]])})"
            )
        actions = _stack([s[key] for s in batch], key)  # type: ignore[index]
        others = [{k: v for k, v in s.items() if k != key} for s in batch]
        return actions, default_collate(others) if others and others[0] else None

    def decode(
        self,
        ids: Any,
        attention_mask: Any = None,
        *,
        lengths: Any = None,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        on_error: str = "raise",
        dtype: torch.dtype | None = None,
        return_valid: bool = False,
    ) -> Any:
        """:func:`decode_ids` with this collator's tokenizer, ``padding_side`` and (unless given
        here) chunk shape."""
        return decode_ids(
            self.tokenizer,
            ids,
            attention_mask,
            lengths=lengths,
            padding_side=self.padding_side,
            time_horizon=self.time_horizon if time_horizon is None else time_horizon,
            action_dim=self.action_dim if action_dim is None else action_dim,
            on_error=on_error,
            dtype=dtype,
            return_valid=return_valid,
        )

    def __repr__(self) -> str:
        return (
            f"ActionCollator({self.tokenizer!r}, key={self.key!r}, max_length={self.max_length}, "
            f"pad_id={self.pad_id}, padding_side={self.padding_side!r})"
        )
