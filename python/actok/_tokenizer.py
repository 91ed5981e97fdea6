"""``FastTokenizer``: the drop-in replacement for the reference FAST processor."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

from . import _actok, _convert, _hub
from ._actok import ActokError, DecodeError
from ._arrays import float_array, host
from ._clipping import warn_clipped
from ._constraint import Constraint, ConstraintBatch, vocab_map_array
from ._normalizer import Normalizer
from ._progress import ProgressBar

_I128_MAX = 2**127 - 1

PathLike = Union[str, "os.PathLike[str]"]


def _as_batch(actions: object) -> np.ndarray:
    a = float_array(actions, "actions")
    if a.ndim == 2:
        return a[np.newaxis]
    if a.ndim != 3:
        raise ActokError(
            f"actions must have shape (H, D) or (B, H, D), got an array of shape {a.shape}"
        )
    return a


def _target_rmse(target: object) -> float | None:
    """``target_rmse`` as a float (the core checks it is finite and > 0)."""
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, (int, float, np.integer, np.floating)):
        raise ActokError(f"target_rmse must be a number or None, got {target!r}")
    return float(target)


def _as_chunks(chunks: object) -> np.ndarray:
    """``(N, H, D)`` training chunks from an array or a sequence of ``(H, D)`` arrays."""
    if isinstance(chunks, np.ndarray):
        a = float_array(chunks, "chunks")
    elif isinstance(chunks, Sequence) and not isinstance(chunks, (str, bytes)):
        items = [float_array(c, f"chunks[{i}]") for i, c in enumerate(chunks)]
        if not items:
            # No chunk, so no (H, D) either: the core refuses an empty corpus in its own words.
            return np.zeros((0, 1, 1))
        first = items[0].shape
        if len(first) != 2:
            raise ActokError(f"each chunk must have shape (H, D), chunks[0] has shape {first}")
        for i, item in enumerate(items):
            if item.shape != first:
                raise ActokError(
                    f"chunks[{i}] has shape {item.shape}, but chunks[0] has shape {first}: "
                    "all chunks must have the same (H, D)"
                )
        dtype = np.float64 if any(x.dtype == np.float64 for x in items) else np.float32
        a = np.stack(items).astype(dtype, copy=False)
    else:
        raise ActokError(
            "chunks must be an (N, H, D) array or a list of (H, D) arrays, "
            f"got {type(chunks).__name__}"
        )
    return np.require(a, requirements="C")


class FastTokenizer:
    """A FAST action tokenizer (DCT + quantization + byte-level BPE).

    Loads the Hugging Face layout (``processor_config.json`` + ``tokenizer.json``) and returns the
    same ids as the reference processor's ``__call__`` wherever the reference is lossless. Where
    the reference silently loses information, actok raises :class:`EncodeError` /
    :class:`DecodeError` unless told otherwise (``on_overflow="clip"``, ``on_error="pad"`` or
    ``"zeros"``). Instances are immutable, thread-safe and picklable; heavy calls release the GIL.
    """

    __slots__ = ("_inner",)

    def __init__(self, _inner: Any) -> None:
        if not isinstance(_inner, _actok._FastTokenizer):
            raise TypeError("use FastTokenizer.from_pretrained(path) to create a tokenizer")
        self._inner = _inner

    @classmethod
    def from_pretrained(cls, path: PathLike, *, revision: str | None = None) -> FastTokenizer:
        """Loads a FAST tokenizer directory (``processor_config.json`` + ``tokenizer.json``), or
        a Hugging Face hub id such as ``"physical-intelligence/fast"``.

        Directories in every layout load: transformers 4.x's ``save_pretrained`` (files at the
        top), transformers 5.x's (``tokenizer.json`` in ``bpe_tokenizer/``) and actok's (both),
        with or without ``auto_map``, ``tokenizer_config.json``, ``special_tokens_map.json`` or
        the reference's ``processing_action_tokenizer.py`` (which is never run).

        A ``path`` that is no local directory but reads as ``"org/name"`` is a hub id, resolved
        through ``huggingface_hub`` (``pip install 'actok[hub]'``) at ``revision`` (a branch,
        tag or commit; default ``main``): only its ``*.json`` files are fetched, never code,
        into the standard Hugging Face cache, and ``HF_HUB_OFFLINE=1`` loads from that cache
        alone. A failure raises :class:`LoadError` naming the id, revision and cache.

        A malformed file raises :class:`LoadError` naming the file and the field. So does a file
        past one of the resource caps, which refuse corrupted or hostile files before they can
        exhaust memory (the error names the limit and the actual value); each is far above any
        real tokenizer (the released FAST one: ~100 KB, 2048 tokens):

        * ``tokenizer.json`` at most 256 MiB;
        * at most 2**20 (1,048,576) vocabulary tokens (the largest LLM vocabularies: ~256k);
        * at most 2**22 (4,194,304) merges (4x the vocabulary cap, for lists with repeats);
        * tokens at most 2**16 (65,536) characters long (one piece of one chunk is ~3k at most);
        * ``processor_config.json`` at most 1 MiB (the real file is ~150 bytes).
        """
        local = os.fspath(path)
        if not isinstance(local, str):
            raise TypeError(f"path must be a str or os.PathLike[str], got {type(path).__name__}")
        if revision is not None and not isinstance(revision, str):
            raise TypeError(f"revision must be a str or None, got {type(revision).__name__}")
        return cls(_actok._FastTokenizer.from_pretrained(_hub.local_directory(local, revision)))

    @classmethod
    def fit(
        cls,
        chunks: object,
        scale: float = 10,
        vocab_size: int = 1024,
        *,
        alphabet: str = "lossless",
        min_frequency: int | None = None,
        max_token_length: int = 10000,
        normalizer: Normalizer | str | None = None,
        out_of_range: str | None = None,
        progress: bool = False,
        placement: str | int = "auto",
        target_rmse: float | None = None,
    ) -> FastTokenizer:
        """Fits a FAST tokenizer to action chunks (the reference ``fit``, in Rust).

        ``chunks`` is an ``(N, H, D)`` array or a sequence of ``(H, D)`` arrays of one shape
        (float32 or float64; normalized, e.g. to [-1, 1]). Each chunk is DCT-transformed along
        time, scaled by ``scale`` and rounded half to even; a byte-level BPE with ``vocab_size``
        tokens is then trained on the resulting strings, merge for merge as the ``tokenizers``
        ``BpeTrainer`` would (``min_frequency``, ``max_token_length`` as there).
        ``min_frequency`` defaults to 2 (the reference's) with ``alphabet="reference"`` and to 1
        with the lossless alphabet (small corpora then fill more of the vocabulary, which spends
        fewer tokens on held-out chunks).

        ``alphabet="reference"`` reproduces the reference recipe exactly (``min_token`` is the
        smallest coefficient; initial alphabet ``chr(0 .. max - min)``; fails when
        ``max - min > vocab_size``). ``alphabet="lossless"`` (the default) widens the range by a
        margin of ``max(1, ceil((max - min) / 10))`` on each side (with a normalizer that clips,
        not past ``ceil(scale * sqrt(H))``, the largest coefficient a clipped chunk can reach) and
        puts every byte-level symbol needed for it in the vocabulary, so every coefficient in
        ``[min - margin, max + margin]`` encodes losslessly; outside it :meth:`encode` raises
        :class:`EncodeError` (or saturates with ``on_overflow="clip"``).

        ``normalizer`` makes the tokenizer work on raw actions: a fitted :class:`Normalizer`, or
        a kind (``"quantile"``, ``"meanstd"``, ``"minmax"``, ``"identity"``) fitted here on all
        rows of ``chunks``. The chunks are normalized as :meth:`encode` normalizes them (per value,
        in float64, before the DCT) and the normalizer is attached to the result (see
        :meth:`with_normalizer`); without one, ``chunks`` must already be normalized.
        ``out_of_range`` sets the normalizer's policy for values outside its fitted range
        (``"keep"``, the default for a kind fitted here, ``"clip"`` or ``"raise"``; see
        :class:`Normalizer`). With ``"keep"`` the tails are tokenized unclipped, so the lossless
        alphabet is sized from them; ``"clip"`` is FAST's recipe and warns with
        :class:`ClippingWarning` how many training values it clipped.

        ``placement`` chooses ``min_token``, i.e. where the coefficients land in Unicode (zero
        becomes ``chr(-min_token)``; the GPT-2 pre-tokenizer cuts a chunk wherever the character
        class changes, and BPE never merges across a cut): ``"auto"`` (the default) fits the
        reference placement and placements on runs of one character class (letters from U+00F8,
        ...) on the first 80% of the chunks, counts their tokens on the last 20%, and keeps the
        one with the fewest, the reference one unless another is strictly better;
        ``"reference"`` is the reference recipe's (the range starts at U+0000); an ``int`` fixes
        ``min_token`` (the fitted range must land on U+0000..U+D7FF). With
        ``alphabet="reference"`` only the reference placement exists. Every placement writes a
        directory the reference processor loads and encodes exactly as actok does.

        ``target_rmse`` chooses the scale instead (``scale`` is then ignored): among scales from
        0.1 to 1000 (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 per decade), those whose RMSE of
        ``decode(encode(y))`` against ``y`` on the last 20% of the chunks (normalized units) is
        at most ``target_rmse``; the three smallest are fitted (each with its placement) and the
        one with the fewest tokens per validation chunk is kept. :attr:`fit_report` records what
        was chosen, why, and the sweep.

        ``progress=True`` draws a progress bar on stderr. The GIL is released during the fit.
        The result saves with :meth:`save_pretrained` in the layout the reference loads.
        """
        if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)):
            raise ActokError(f"scale must be a number, got {scale!r}")
        batch = _as_chunks(chunks)
        if isinstance(normalizer, str):
            normalizer = Normalizer.fit(batch, kind=normalizer, out_of_range=out_of_range or "keep")
        elif isinstance(normalizer, Normalizer):
            if out_of_range is not None:
                normalizer = normalizer.with_out_of_range(out_of_range)
        elif normalizer is not None:
            raise TypeError(
                f"normalizer must be a Normalizer, a kind or None, got {type(normalizer).__name__}"
            )
        elif out_of_range is not None:
            raise ActokError("out_of_range is a normalizer's policy: pass normalizer= as well")
        if normalizer is not None and normalizer.out_of_range == "clip":
            clipped = normalizer.count_outside(batch)
            warn_clipped(clipped.tolist(), batch.size, "FastTokenizer.fit")
        bar = ProgressBar() if progress else None
        try:
            fitted = cls(
                _actok._FastTokenizer.fit(
                    batch,
                    float(scale),
                    _convert.count(vocab_size, "vocab_size"),
                    alphabet,
                    None
                    if min_frequency is None
                    else _convert.count(min_frequency, "min_frequency"),
                    _convert.count(max_token_length, "max_token_length"),
                    None if normalizer is None else normalizer._inner,
                    bar,
                    placement,
                    _target_rmse(target_rmse),
                )
            )
        finally:
            if bar is not None:
                bar.close()
        return fitted

    def save_pretrained(self, path: PathLike) -> None:
        """Writes ``processor_config.json`` and ``tokenizer.json`` into ``path`` (created if
        missing), readable by the reference processor and ``tokenizers.Tokenizer.from_file``.

        An attached :attr:`normalizer` is written beside them as ``actok_normalizer.json`` (the
        Hugging Face files are unchanged); without one, a stale ``actok_normalizer.json`` is
        removed. :meth:`from_pretrained` loads it when present.
        """
        self._inner.save_pretrained(os.fspath(path))

    @property
    def normalizer(self) -> Normalizer | None:
        """The attached :class:`Normalizer`, if any: then :meth:`encode` takes raw actions
        (normalized before the DCT) and :meth:`decode` returns raw actions (inverted after the
        inverse DCT)."""
        inner = self._inner.normalizer
        return None if inner is None else Normalizer(inner)

    def with_normalizer(self, normalizer: Normalizer | None) -> FastTokenizer:
        """A copy of this tokenizer carrying ``normalizer`` (``None`` removes it).

        Chunks given to :meth:`encode` must then have ``normalizer.dim`` dimensions. With
        ``on_error="zeros"``, a chunk that fails to decode is all zeros in raw units (not the
        inverse of zero); check ``return_valid``.
        """
        if normalizer is not None and not isinstance(normalizer, Normalizer):
            raise TypeError(f"expected a Normalizer or None, got {type(normalizer).__name__}")
        inner = None if normalizer is None else normalizer._inner
        return FastTokenizer(self._inner.with_normalizer(inner))

    @property
    def scale(self) -> float:
        """Multiplier applied to DCT coefficients before rounding."""
        return self._inner.scale

    @property
    def min_token(self) -> int:
        """Quantized value that maps to character U+0000."""
        return self._inner.min_token

    @property
    def fit_report(self) -> dict[str, Any] | None:
        """What the :meth:`fit` that made this tokenizer chose and why, as recorded in
        ``processor_config.json`` under ``"actok_fit"`` (a key the reference processor keeps
        but never reads): ``placement`` (``requested``, ``min_token``, ``label``, ``reason``,
        ``training_chunks``, ``validation_chunks``, ``candidates`` with ``tokens_per_chunk``
        each) and, with ``target_rmse``, ``scale`` (``target_rmse``, ``scale``, ``rmse``,
        ``tokens_per_chunk``, ``sweep``). ``None`` for tokenizers without that record."""
        report = json.loads(self._inner.processor_config_json()).get("actok_fit")
        return report if isinstance(report, dict) else None

    @property
    def vocab_size(self) -> int:
        """The vocabulary size in ``processor_config.json``."""
        return self._inner.vocab_size

    @property
    def time_horizon(self) -> int | None:
        """Default H for :meth:`decode`, if the config fixes one."""
        return self._inner.time_horizon

    @property
    def action_dim(self) -> int | None:
        """Default D for :meth:`decode`, if the config fixes one."""
        return self._inner.action_dim

    @property
    def vocab_len(self) -> int:
        """Number of token ids (0 to ``vocab_len - 1``): the length of a :class:`Constraint`
        mask; can differ from :attr:`vocab_size`, the requested size in the config."""
        return self._inner.vocab_len

    def encode(
        self, actions: object, *, on_overflow: str = "raise", check_shape: bool = True
    ) -> list[list[int]]:
        """Tokenizes ``(H, D)`` or ``(B, H, D)`` actions into one id list per chunk.

        Identical to the reference ``processor(actions)``. A coefficient the vocabulary cannot
        represent raises :class:`EncodeError` naming the chunk and flattened index;
        ``on_overflow="clip"`` saturates it to the nearest representable value instead. NaN and
        infinity always raise. With a :attr:`normalizer` attached, ``actions`` are raw and are
        normalized (per chunk, in float64) before the DCT, under its ``out_of_range`` policy
        (a value far outside its fitted data raises :class:`EncodeError` naming chunk, step and
        dimension; clipping warns with :class:`ClippingWarning`).

        A tokenizer that records its ``time_horizon``/``action_dim`` (one fitted by actok does)
        refuses chunks of another shape: their tokens would mean other DCT frequencies.
        ``check_shape=False`` encodes any shape on purpose.

        ``actions`` may be a NumPy array, a torch CPU tensor (a tensor on another device must
        be moved first: ``.cpu()``), a nested list, or a list of ``(H, D)`` arrays or tensors.
        ``H`` and ``D`` must both be at least 1.

        For batches of 700 chunks or more, Python's cyclic garbage collector is paused while
        the id lists are built (they hold only ints, so a collection could free nothing) and
        restored before returning; a collector you disabled stays disabled.
        """
        batch = _as_batch(actions)
        ids, clipped = self._inner.encode(batch, on_overflow, _flag(check_shape, "check_shape"))
        warn_clipped(clipped, batch.size, "encode")
        return ids

    __call__ = encode

    def encode_batch(
        self,
        actions: object,
        max_length: int | None = None,
        pad_id: int = 0,
        *,
        on_overflow: str = "raise",
        check_shape: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Tokenizes a batch into padded ``(B, L)`` int32 ids and ``(B,)`` int32 lengths.

        ``L`` is ``max_length`` if given (a longer sequence raises; nothing is truncated), else the
        longest sequence. Padding positions hold ``pad_id``. Everything else is as in
        :meth:`encode`.
        """
        batch = _as_batch(actions)
        ids, lengths, clipped = self._inner.encode_padded(
            batch,
            on_overflow,
            _flag(check_shape, "check_shape"),
            _convert.max_length(max_length),
            _convert.int32(pad_id, "pad_id"),
        )
        warn_clipped(clipped, batch.size, "encode_batch")
        return ids, lengths

    def decode(
        self,
        tokens: Any,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        on_error: str = "raise",
        return_valid: bool = False,
    ) -> Any:
        """Decodes token ids back to float64 actions of shape ``(B, H, D)``.

        ``tokens`` is a list of id lists or the ``(ids, lengths)`` pair of :meth:`encode_batch`
        (a 2-D id array alone is read as rows whose every position is an id: pass padded rows
        with their lengths).
        The shape comes from the arguments, else the tokenizer's config (no hidden state).
        With a :attr:`normalizer` attached, the result is in raw action units.
        A sequence with unknown ids, invalid UTF-8 or the wrong number of coefficients raises
        :class:`DecodeError`; ``on_error="pad"`` keeps the decodable prefix and zero-fills the
        missing high frequencies, ``on_error="zeros"`` returns an all-zero chunk. With
        ``return_valid=True`` a ``(B,)`` bool mask of the chunks that decoded cleanly is
        returned too.

        ``"zeros"`` is the reference's answer to a wrong number of coefficients, not a copy of
        its decode: the reference *skips* unknown ids and turns invalid UTF-8 into U+FFFD, a
        coefficient of ``65533 + min_token``, and decodes whatever results. Where that still
        has ``H * D`` coefficients it returns those actions, silently wrong; actok returns
        zeros (marked invalid) for any chunk with an unknown id or invalid UTF-8.

        ``tokens`` may also be a torch CPU tensor (2-D, or a list of 1-D tensors, or an
        ``(ids, lengths)`` pair of tensors), as model outputs come; a tensor on another device
        must be moved first (``.cpu()``).
        """
        h = _convert.optional_shape(time_horizon, "time_horizon")
        d = _convert.optional_shape(action_dim, "action_dim")
        actions, valid = self._decode_any(
            tokens,
            lambda ids: self._inner.decode(ids, h, d, on_error),
            lambda ids, lengths: self._inner.decode_padded(ids, lengths, h, d, on_error),
        )
        return (actions, valid) if return_valid else actions

    def decode_prefix(
        self,
        tokens: Any,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        return_valid: bool = False,
    ) -> Any:
        """Anytime decoding: each sequence is the *start* of a chunk's tokens (what a
        :class:`Constraint` allows at any step), decoded to float64 ``(B, H, D)`` actions with
        the missing coefficients zero, i.e. the low-frequency approximation of the chunk.

        A prefix has known ids, bytes that are UTF-8 up to a possibly unfinished last character
        (dropped) and at most ``H * D`` coefficients; anything else raises :class:`DecodeError`
        naming the chunk. ``tokens`` is as in :meth:`decode`. With ``return_valid=True`` a
        ``(B,)`` bool mask of the complete sequences is returned too.
        """
        h = _convert.optional_shape(time_horizon, "time_horizon")
        d = _convert.optional_shape(action_dim, "action_dim")
        actions, valid = self._decode_any(
            tokens,
            lambda ids: self._inner.decode_prefix(ids, h, d),
            lambda ids, lengths: self._inner.decode_prefix_padded(ids, lengths, h, d),
        )
        return (actions, valid) if return_valid else actions

    def _decode_any(
        self,
        tokens: Any,
        lists: Callable[[Any], tuple[np.ndarray, np.ndarray]],
        padded: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """Decodes an ``(ids, lengths)`` pair with ``padded``, anything else with ``lists``."""
        # The two usual inputs, encode's lists and encode_batch's arrays, go straight to the
        # bindings: the general checks below cost about a microsecond per call, half the
        # decoding of one chunk.
        if type(tokens) is list:
            return _decode_lists(tokens, lists)
        if type(tokens) is tuple and len(tokens) == 2:
            ids, lengths = tokens
            if (
                type(ids) is np.ndarray
                and type(lengths) is np.ndarray
                and ids.ndim == 2
                and lengths.ndim == 1
                and ids.dtype in _PADDED_TYPES
                and lengths.dtype in _LENGTH_TYPES
                and ids.flags.c_contiguous
                and lengths.flags.c_contiguous
            ):
                return padded(ids, lengths)
        tokens = host(tokens, "tokens")
        if isinstance(tokens, tuple) and len(tokens) == 2:
            tokens = (host(tokens[0], "ids"), host(tokens[1], "lengths"))
        if _is_padded_pair(tokens):
            ids = np.asarray(tokens[0])
            lengths = np.asarray(tokens[1])
            if ids.dtype.kind not in "iu" or lengths.dtype.kind not in "iu":
                raise ActokError(
                    "the (ids, lengths) pair must hold integer arrays, "
                    f"got dtypes {ids.dtype} and {lengths.dtype}"
                )
            # uint64 stays uint64: the core reports an id beyond int64 with its value. int32
            # (encode_batch's) is taken as it is, without a widened copy.
            return padded(
                np.ascontiguousarray(ids, dtype=_padded_dtype(ids.dtype, np.int64, np.uint64)),
                np.ascontiguousarray(lengths, dtype=_padded_dtype(lengths.dtype, np.int64)),
            )
        return _decode_lists(tokens, lists)

    def constraint(
        self, time_horizon: int | None = None, action_dim: int | None = None
    ) -> Constraint:
        """A :class:`Constraint` for generating one sequence of ``(H, D)`` chunks: the shape
        from the arguments, else the config, else :class:`ActokError`. Solving the automaton
        takes about a millisecond (vocab 2048, ``H * D = 700``), the GIL released."""
        h = _convert.optional_shape(time_horizon, "time_horizon")
        d = _convert.optional_shape(action_dim, "action_dim")
        return Constraint(self._inner.constraint(h, d))

    def constraint_batch(
        self,
        batch: int,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        *,
        vocab_map: Any = None,
        model_vocab_size: int | None = None,
        end_id: int | None = None,
    ) -> ConstraintBatch:
        """A :class:`ConstraintBatch` of ``batch`` rows (shape as in :meth:`constraint`).

        With ``vocab_map`` (an int array of shape ``(vocab_len,)``: action id -> model id,
        distinct, in ``[0, model_vocab_size)``; e.g. :func:`openpi_vocab_map`) and
        ``model_vocab_size`` (required with it), masks are ``(batch, model_vocab_size)`` in
        model ids and :meth:`ConstraintBatch.advance` takes model ids. Without it, ids are the
        tokenizer's and ``model_vocab_size`` (default :attr:`vocab_len`, not smaller) only
        widens the masks. ``end_id``, a model id that is no action token's, ends the actions:
        allowed exactly when a row is complete (see :class:`ConstraintBatch`).
        """
        return ConstraintBatch(
            self._inner.constraint_batch(
                _convert.count(batch, "batch"),
                _convert.optional_shape(time_horizon, "time_horizon"),
                _convert.optional_shape(action_dim, "action_dim"),
                None if vocab_map is None else vocab_map_array(vocab_map),
                None
                if model_vocab_size is None
                else _convert.count(model_vocab_size, "model_vocab_size"),
                None if end_id is None else _convert.integer(end_id, "end_id"),
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        normalizer = self.normalizer
        return (
            _from_json,
            (
                self._inner.tokenizer_json(),
                self._inner.processor_config_json(),
                None if normalizer is None else normalizer.to_json(),
            ),
        )

    def __repr__(self) -> str:
        return (
            f"FastTokenizer(scale={self.scale:g}, min_token={self.min_token}, "
            f"vocab_size={self.vocab_size}, vocab_len={self._inner.vocab_len}, "
            f"time_horizon={self.time_horizon}, action_dim={self.action_dim}"
            + ("" if self.normalizer is None else f", normalizer={self.normalizer.kind!r}")
            + ")"
        )


def _from_json(
    tokenizer_json: str, processor_config_json: str, normalizer_json: str | None = None
) -> FastTokenizer:
    return FastTokenizer(
        _actok._FastTokenizer.from_json(tokenizer_json, processor_config_json, normalizer_json)
    )


def _flag(value: object, name: str) -> bool:
    """A real bool: ``check_shape="no"`` would otherwise be truthy and check silently."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _decode_lists(
    tokens: Any, lists: Callable[[Any], tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, np.ndarray]:
    """Decodes ``tokens`` (anything but an ``(ids, lengths)`` pair) with ``lists``."""
    try:
        try:
            # Fast path: the bindings accept well-formed lists of int ids directly.
            return lists(tokens)
        except (TypeError, OverflowError):
            # Something is not an int (or is an int beyond 128 bits): find it, say where.
            return lists(_id_lists(tokens))
    except DecodeError as err:
        if not (isinstance(tokens, np.ndarray) and tokens.ndim == 2):
            raise
        # A 2-D array is read as rows of ids, every position an id. encode_batch's rows
        # are padded: decoded without their lengths, the padding is read as tokens.
        raise DecodeError(
            f"{err} (tokens is a {tokens.shape[0]}x{tokens.shape[1]} array, every "
            "position read as an id: if its rows are padded, as encode_batch's are, pass "
            "their lengths too: decode((ids, lengths)))"
        ) from None


def _padded_dtype(dtype: np.dtype, wide: type, unsigned: type | None = None) -> Any:
    """The integer type the bindings take an (ids, lengths) array in: int32 as it is (native
    order), unsigned as ``unsigned`` when given, anything else as ``wide``."""
    if dtype == _INT32:
        return _INT32
    if unsigned is not None and dtype.kind == "u":
        return unsigned
    return wide


_INT32 = np.dtype(np.int32)
#: Native id and length arrays the bindings take as they are.
_PADDED_TYPES = (_INT32, np.dtype(np.int64), np.dtype(np.uint64))
_LENGTH_TYPES = (_INT32, np.dtype(np.int64))


def _is_padded_pair(tokens: Any) -> bool:
    return (
        isinstance(tokens, tuple)
        and len(tokens) == 2
        and np.ndim(tokens[0]) == 2
        and np.ndim(tokens[1]) == 1
    )


def _id_lists(tokens: Any) -> list[list[int]]:
    """``tokens`` as lists of Python ints, or a :class:`DecodeError` naming the chunk and
    position of the first item that is not an integer id (the type check the compiled fast path
    could not name). Ints beyond 128 bits, which no integer type carries to the core, become
    ±(2**127 - 1): still no id, reported as such."""
    if isinstance(tokens, np.ndarray) and tokens.ndim == 2 and tokens.dtype.kind in "iu":
        return tokens.tolist()
    if isinstance(tokens, (str, bytes)) or not isinstance(tokens, (Sequence, np.ndarray)):
        raise ActokError(
            "tokens must be a list of id lists or an (ids, lengths) pair, "
            f"got {type(tokens).__name__}"
        )
    out: list[list[int]] = []
    for chunk, seq in enumerate(tokens):
        seq = host(seq, f"tokens[{chunk}]")
        if isinstance(seq, np.ndarray):
            seq = seq.tolist()
        if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
            raise DecodeError(f"cannot decode chunk {chunk}: expected a list of ids, got {seq!r}")
        row = []
        for position, tid in enumerate(seq):
            if isinstance(tid, bool) or not isinstance(tid, (int, np.integer)):
                raise DecodeError(
                    f"cannot decode chunk {chunk}: token at position {position} is {tid!r}, "
                    "not an integer id"
                )
            row.append(max(-_I128_MAX, min(int(tid), _I128_MAX)))
        out.append(row)
    return out
