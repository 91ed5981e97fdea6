"""``ActionConstraintLogitsProcessor``: `transformers` generation that yields only decodable chunks.

A Hugging Face ``LogitsProcessor`` around :meth:`actok.FastTokenizer.constraint_batch`: at every
generation step it advances each row's constraint with the token generated since the last step
and sets the scores of every id that cannot lead to a chunk ``decode(..., on_error="raise")``
accepts to ``-inf``::

    proc = ActionConstraintLogitsProcessor(tok, time_horizon=H, action_dim=D,
                                           vocab_map=vmap, end_id=eos_id)
    out = model.generate(prompt, logits_processor=[proc], eos_token_id=eos_id,
                         max_new_tokens=proc.max_new_tokens)
    actions = tok.decode(proc.action_ids(out), H, D)       # (batch, H, D)

This module imports torch and transformers (``pip install 'actok[transformers]'``); ``import
actok`` and ``import actok.integrations`` import neither.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._actok import ActokError, DecodeError
from .._extras import require

_NEEDED_FOR = "actok.integrations.transformers"
require("torch", extra="transformers", needed_for=_NEEDED_FOR)
require("transformers", extra="transformers", needed_for=_NEEDED_FOR)

import torch  # noqa: E402
from transformers import LogitsProcessor, StoppingCriteria  # noqa: E402

__all__ = ["ActionConstraintLogitsProcessor"]


class ActionConstraintLogitsProcessor(LogitsProcessor):  # type: ignore[misc]
    """Masks a model's scores so that every generated action sequence decodes.

    Arguments are those of :meth:`actok.FastTokenizer.constraint_batch` (the batch size is taken
    from the first call): ``time_horizon`` and ``action_dim`` (default: the tokenizer's config);
    ``vocab_map``, an int array mapping action id ``i`` to the model id ``vocab_map[i]`` (openpi
    and LeRobot's pi0-FAST use ``V - 1 - skip - i``), without which model ids are action ids;
    ``model_vocab_size`` (default: the width of the scores at the first call); ``end_id``, a model
    id outside ``vocab_map`` (the model's end-of-actions or EOS token), allowed exactly when a row
    is complete. ``prompt_length``: the position of the first action token in ``input_ids``
    (default: the length of ``input_ids`` at the first call of each ``generate``); before it, the
    scores pass unchanged.

    Generation: pass ``end_id`` as (one of) ``generate``'s ``eos_token_id``, so each row stops
    once complete, and ``max_new_tokens=processor.max_new_tokens``, a length by which every row
    completes. Without ``end_id`` nothing is allowed after a row completes: its scores are then
    left unmasked (so sampling never sees a row of ``-inf``), ``stopping_criteria=
    [processor.stopping_criteria()]`` ends generation once every row is complete, and
    :meth:`action_ids` cuts each row where it completed.

    Supported: greedy and sampled generation with any batch size, ``num_return_sequences``,
    and beam search (reordered beams are detected and their states rebuilt from the sequences,
    at a cost growing with the length; greedy and sampling cost O(1) per step). Rows that
    ``generate`` has finished are fed its pad token; the processor accepts that. A row fed a
    token its mask excluded (``generate`` stopping it early, for example by a stop string or
    another processor's forced token) is *detached*: no longer constrained, its output is
    incomplete, and :attr:`detached` reports it. A new ``generate`` call is recognised (the batch
    size changed, or the input is not the last call's rows plus one token each) and starts
    afresh; or call :meth:`reset`. One processor serves one ``generate`` call at a time (it is
    stateful). Tested with transformers 4.40 and 5.
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        vocab_map: Any | None = None,
        model_vocab_size: int | None = None,
        end_id: int | None = None,
        prompt_length: int | None = None,
    ) -> None:
        if prompt_length is not None and (
            isinstance(prompt_length, bool)
            or not isinstance(prompt_length, int)
            or prompt_length < 0
        ):
            raise ActokError(f"prompt_length must be an int >= 0 or None, got {prompt_length!r}")
        self.tokenizer = tokenizer
        self.time_horizon = time_horizon if time_horizon is not None else tokenizer.time_horizon
        self.action_dim = action_dim if action_dim is not None else tokenizer.action_dim
        if self.time_horizon is None or self.action_dim is None:
            # no shape: the core's error, now rather than at the first generation step
            tokenizer.constraint(time_horizon, action_dim)
        self.vocab_map = None if vocab_map is None else np.asarray(vocab_map, dtype=np.int64)
        self.model_vocab_size = model_vocab_size
        self.end_id = end_id
        self.prompt_length = prompt_length
        self._bc: Any = None
        self.reset()

    # ---------------------------------------------------------------------------------------
    # public state
    # ---------------------------------------------------------------------------------------
    @property
    def max_new_tokens(self) -> int:
        """A number of new tokens by which every row completes: each coefficient is one character
        of at most 4 UTF-8 bytes, and each token holds at least one byte (plus ``end_id``)."""
        if self.time_horizon is None or self.action_dim is None:
            raise ActokError("max_new_tokens needs time_horizon and action_dim")
        return 4 * self.time_horizon * self.action_dim + (self.end_id is not None)

    @property
    def start(self) -> int | None:
        """Position in ``input_ids`` of the first action token of the current generation (None
        before the first call)."""
        return self._start if self._start >= 0 else None

    @property
    def is_complete(self) -> np.ndarray:
        """bool ``(batch,)``: rows whose action sequence is complete (so far in this generation)."""
        return np.asarray(self._lengths >= 0)

    @property
    def detached(self) -> np.ndarray:
        """bool ``(batch,)``: rows fed a token their mask excluded, no longer constrained."""
        return self._detached.copy()

    def reset(self) -> None:
        """Forget the current generation: the next call starts afresh."""
        self._batch = -1
        self._prev: Any = None
        self._start = -1  # none yet
        self._advanced = 0
        self._mask_fresh = False
        self._detached = np.zeros(0, dtype=bool)
        self._lengths = np.zeros(0, dtype=np.int64)
        self._ended: np.ndarray | None = None

    def stopping_criteria(self) -> StoppingCriteria:
        """A ``StoppingCriteria`` for ``generate`` that ends each row once its action sequence is
        complete (only needed without ``end_id``; with it, ``eos_token_id=end_id`` does this)."""
        return _CompleteCriteria(self)

    def action_ids(self, sequences: Any) -> list[list[int]]:
        """Each row's action ids (tokenizer ids, mapped back through ``vocab_map``) in
        ``sequences``, ``generate``'s output for this processor's last generation: from
        :attr:`start`, cut where the row completed. A row that did not complete gives its ids up
        to the first id that is not an action id; decoding it then fails, as it should."""
        if self._start < 0:
            raise ActokError("action_ids needs a generation: the processor has not been called")
        seqs = np.asarray(
            sequences.detach().cpu() if isinstance(sequences, torch.Tensor) else sequences
        )
        if seqs.ndim != 2 or seqs.shape[0] != self._batch:
            raise ActokError(
                f"sequences must have shape ({self._batch}, length), the batch of the last "
                f"generation, got shape {seqs.shape}"
            )
        inverse = self._inverse_map()
        out = []
        for row, n in zip(seqs[:, self._start :], self._lengths):
            row = row.astype(np.int64)
            known = (row >= 0) & (row < inverse.size)
            ids = np.where(known, inverse[np.where(known, row, 0)], -1)
            if n >= 0:
                ids = ids[:n]
            else:
                bad = np.flatnonzero(ids < 0)
                ids = ids[: bad[0]] if bad.size else ids
            out.append(ids.tolist())
        return out

    # ---------------------------------------------------------------------------------------
    # the processor
    # ---------------------------------------------------------------------------------------
    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if scores.ndim != 2 or input_ids.ndim != 2 or scores.shape[0] != input_ids.shape[0]:
            raise ActokError(
                "expected input_ids of shape (batch, length) and scores of shape (batch, vocab), "
                f"got {tuple(input_ids.shape)} and {tuple(scores.shape)}"
            )
        self._sync(input_ids, int(scores.shape[1]))
        if input_ids.shape[1] < self._start:
            return scores  # the actions have not begun yet
        width = self._mask.shape[1]
        if scores.shape[1] != width:
            raise ActokError(
                f"scores have {scores.shape[1]} columns but the constraint's masks have {width} "
                "(model_vocab_size, or the tokenizer's vocabulary without a vocab_map)"
            )
        mask = self._current_mask()
        if self.end_id is None and self._ended is not None:
            # A complete row allows nothing: it is left unmasked, as a row of -inf would make
            # sampling fail for the whole batch (with end_id, a complete row allows end_id).
            mask[self._ended] = True
            self._mask_fresh = False  # the buffer no longer holds the constraint's masks
        return _masked(scores, mask, self._mask_t)  # type: ignore[return-value]

    # ---------------------------------------------------------------------------------------
    # state tracking
    # ---------------------------------------------------------------------------------------
    def _sync(self, input_ids: Any, width: int | None) -> None:
        """Bring every row's constraint up to date with ``input_ids``."""
        if input_ids is self._prev:
            return
        batch, length = (int(n) for n in input_ids.shape)
        prev = self._prev
        if prev is not None and batch == self._batch and length == prev.shape[1] + 1:
            head = input_ids[:, :-1]
            if torch.equal(head, prev):  # the same generate call, one token on
                if length > self._start:
                    self._advance(input_ids[:, -1])
            elif (head[:, None, :] == prev[None, :, :]).all(dim=2).any(dim=1).all():
                # Every row continues one of the last call's rows: beams reordered (or, in older
                # transformers, a finished batch item's rows refilled from another's). The
                # states are rebuilt from the sequences.
                self._replay(input_ids)
            else:
                self._begin(input_ids, batch, length, width)
        else:
            self._begin(input_ids, batch, length, width)
        self._prev = input_ids

    def _begin(self, input_ids: Any, batch: int, length: int, width: int | None) -> None:
        if batch != self._batch or self._bc is None:
            self._bc = self.tokenizer.constraint_batch(
                batch,
                self.time_horizon,
                self.action_dim,
                vocab_map=self.vocab_map,
                model_vocab_size=self.model_vocab_size
                if self.model_vocab_size is not None
                else width,
                end_id=self.end_id,
            )
            self._batch = batch
            self._mask = np.zeros((batch, self._bc.width), dtype=bool)
            self._mask_t = torch.from_numpy(self._mask)  # shares its memory
        self._start = self.prompt_length if self.prompt_length is not None else length
        self._replay(input_ids)

    def _replay(self, input_ids: Any) -> None:
        self._bc.reset()
        self._advanced = 0
        self._mask_fresh = False
        self._detached = np.zeros(self._batch, dtype=bool)
        self._lengths = np.full(self._batch, -1, dtype=np.int64)
        self._ended = None  # rows that take -1 (None: no row)
        self._note_complete()
        for j in range(self._start, int(input_ids.shape[1])):
            self._advance(input_ids[:, j])

    def _current_mask(self) -> np.ndarray:
        if not self._mask_fresh:
            self._bc.mask(out=self._mask)
            self._mask_fresh = True
        return self._mask

    def _advance(self, tokens: Any) -> None:
        ids = np.array(tokens.tolist(), dtype=np.int64)
        if self._ended is not None:
            ids[self._ended] = -1  # finished rows (or complete ones, without end_id) take -1
        try:
            self._bc.advance(ids)  # checks every id; on an excluded one, no row moves
        except DecodeError:
            self._advance_excluded(ids)
        self._mask_fresh = False
        self._advanced += 1
        self._note_complete()

    def _advance_excluded(self, ids: np.ndarray) -> None:
        """Some row was fed an id its mask excludes: a complete row fed generate's pad instead
        of end_id, or a row generate stopped early (a stop string, another processor's forced
        token). Such a row is fed what it allows (end_id when complete), and a row that was not
        complete is detached: its output is incomplete, and it is no longer constrained."""
        mask = self._current_mask()
        width = mask.shape[1]
        ok = (ids >= 0) & (ids < width)
        rows = np.flatnonzero(ok)
        ok[rows] = mask[rows, ids[rows]]
        if self._ended is not None:
            ok |= self._ended
        bad = np.flatnonzero(~ok)
        first = mask[bad].argmax(axis=1)
        ids[bad] = np.where(mask[bad, first], first, -1)
        self._detached[bad[self._lengths[bad] < 0]] = True
        self._bc.advance(ids)

    def _note_complete(self) -> None:
        complete = self._bc.is_complete
        if not complete.any():
            return
        newly = complete & (self._lengths < 0) & ~self._detached
        self._lengths[newly] = self._advanced
        ended = self._bc.finished if self.end_id is not None else complete
        self._ended = ended if ended.any() else None

    def _inverse_map(self) -> np.ndarray:
        """model id -> action id (-1 for other ids)."""
        width = self._mask.shape[1]
        if self.vocab_map is None:
            return np.arange(width, dtype=np.int64)
        inverse = np.full(width, -1, dtype=np.int64)
        inverse[self.vocab_map] = np.arange(self.vocab_map.size, dtype=np.int64)
        return inverse


_NUMPY_FLOATS = (torch.float32, torch.float64, torch.float16)


def _masked(scores: Any, mask: np.ndarray, mask_t: Any) -> Any:
    """A copy of ``scores`` with ``-inf`` where ``mask`` (numpy, and ``mask_t``, a tensor sharing
    its memory) is False. Out of place, as transformers' own processors are: ``generate`` may
    keep the scores it passed in (``output_logits``)."""
    if scores.device.type == "cpu" and scores.dtype in _NUMPY_FLOATS:
        # numpy's masked copy is several times faster than torch's masked_fill or where on CPU
        # (257,152 ids: 39 us against 150-245 us a row)
        out = torch.full_like(scores, float("-inf"))
        np.copyto(out.numpy(), scores.detach().numpy(), where=mask)
        return out
    return scores.masked_fill(~mask_t.to(scores.device, non_blocking=True), float("-inf"))


class _CompleteCriteria(StoppingCriteria):  # type: ignore[misc]
    """Stops each row once its action sequence is complete (see
    :meth:`ActionConstraintLogitsProcessor.stopping_criteria`)."""

    def __init__(self, processor: ActionConstraintLogitsProcessor) -> None:
        self.processor = processor

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> Any:
        p = self.processor
        p._sync(input_ids, int(scores.shape[-1]) if scores is not None else None)
        done = p.is_complete | p.detached
        return torch.from_numpy(done).to(input_ids.device)
