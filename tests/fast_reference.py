"""Test oracle: the FAST reference processor, as docs/semantics.md states its behaviour.

Everything here uses scipy + the ``tokenizers`` package only (no ``transformers``), and follows the
reference processor step by step:

* :func:`train_reference_tokenizer` is the reference ``fit`` (docs/semantics.md#fit).
* :func:`reference_encode` is the reference ``__call__`` (docs/semantics.md#encode).
* :func:`reference_decode` is the reference ``decode`` (docs/semantics.md#decode), including its
  lossy UTF-8 decoding and its all-zero chunks on failure.
* :func:`oracle_encode` / :func:`oracle_is_lossless` tell whether the reference encodes a chunk
  *losslessly*: its own decode gives back exactly the quantized integers (nothing clamped below
  ``min_token``, no symbol silently dropped, no invalid code point).

Float32 input is upcast to float64 before the DCT (the acceptance criterion of the project).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

__all__ = [
    "BYTE_TO_SYMBOL",
    "SYMBOL_TO_BYTE",
    "OracleEncoding",
    "chunk_from_codes",
    "chunk_from_q",
    "chunk_from_string",
    "code_is_encodable",
    "decodable_prefix_codes",
    "encodable_codes",
    "encodable_table",
    "ids_to_bytes",
    "token_bytes_table",
    "load_reference",
    "oracle_encode",
    "oracle_is_lossless",
    "quantize",
    "reference_decode",
    "reference_decode_one",
    "reference_encode",
    "train_reference_tokenizer",
]

MAX_CODE_POINT = 0x10FFFF


# --------------------------------------------------------------------------------------------
# Byte-level map (GPT-2 ``bytes_to_unicode``), docs/semantics.md#byte-level-map.
# --------------------------------------------------------------------------------------------
def _bytes_to_unicode() -> dict[int, str]:
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\xa1"), ord("\xac") + 1))
        + list(range(ord("\xae"), ord("\xff") + 1))
    )
    cs = list(bs)
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE_TO_SYMBOL: dict[int, str] = _bytes_to_unicode()
SYMBOL_TO_BYTE: dict[str, int] = {s: b for b, s in BYTE_TO_SYMBOL.items()}


def _as_list(x) -> list:
    return x.tolist() if isinstance(x, np.ndarray) else list(x)


# --------------------------------------------------------------------------------------------
# Training (reference ``fit``), docs/semantics.md#fit.
# --------------------------------------------------------------------------------------------
def quantize(actions, scale: float) -> np.ndarray:
    """``np.around(dct(actions, axis=time, norm="ortho") * scale)`` flattened per chunk.

    ``actions`` is (H, D) or (B, H, D); float32 input is upcast to float64 first. Returns a float64
    array (B, H*D) of rounded coefficients (float so that NaN/inf survive).
    """
    a = np.asarray(actions)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"expected (H, D) or (B, H, D), got shape {a.shape}")
    a = a.astype(np.float64, copy=False)
    coeff = scipy.fft.dct(a, type=2, axis=1, norm="ortho")
    return np.around(coeff * scale).reshape(a.shape[0], -1)


def new_bytelevel_bpe(*, trim_offsets: bool = False) -> Tokenizer:
    """What ``ByteLevelBPETokenizer()`` builds (no normalizer, ByteLevel everything).

    ``trim_offsets`` is the post-processor's (the bundled tokenizer was written with ``True``);
    it changes offsets only, never ids. The one copy of this recipe: tests, benches and scripts
    all build their reference tokenizers here."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=trim_offsets)
    return tok


def bpe_trainer(
    vocab_size: int,
    alphabet_size: int,
    *,
    min_frequency: int = 2,
    max_token_length: int | None = 10000,
) -> trainers.BpeTrainer:
    """The reference ``fit``'s ``BpeTrainer``: initial alphabet ``chr(0 .. alphabet_size - 1)``,
    no special tokens (``min_frequency`` 2 and ``max_token_length`` 10000 there)."""
    return trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=[chr(i) for i in range(alphabet_size)],
        max_token_length=max_token_length,
    )


def write_processor_config(
    out: Path,
    *,
    min_token: int,
    scale: float,
    vocab_size: int,
    time_horizon: int | None = None,
    action_dim: int | None = None,
) -> None:
    """``out/processor_config.json`` as the reference processor saves it."""
    cfg = {
        "action_dim": action_dim,
        "time_horizon": time_horizon,
        "min_token": int(min_token),
        "scale": scale,
        "vocab_size": int(vocab_size),
        "processor_class": "UniversalActionProcessor",
    }
    (out / "processor_config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def train_reference_tokenizer(
    chunks: Iterable[np.ndarray],
    scale: float,
    vocab_size: int,
    out_dir: str | os.PathLike[str],
    *,
    min_token: int | None = None,
    alphabet_size: int | None = None,
    time_horizon: int | None = None,
    action_dim: int | None = None,
    check_range: bool = True,
    min_frequency: int = 2,
    max_token_length: int | None = 10000,
) -> Path:
    """Train a FAST tokenizer exactly like the reference ``fit`` and save it in HF layout.

    ``chunks``: (H, D) arrays (shapes may differ between chunks).

    Without overrides this is the reference recipe: ``min_token``/``max_token`` are the extremes of
    the quantized coefficients and the initial alphabet is ``chr(0 .. max - min)``.

    Overrides (for tests only): ``min_token`` fixes the offset instead (coefficients outside
    ``[min_token, min_token + alphabet_size - 1]`` are clipped into it for training), and
    ``alphabet_size`` fixes the size ``R`` of the initial alphabet ``chr(0 .. R-1)``;
    ``min_frequency`` and ``max_token_length`` are passed to the ``BpeTrainer`` (the reference
    uses 2 and 10000).

    Writes ``out_dir/tokenizer.json`` and ``out_dir/processor_config.json``; returns ``out_dir``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    qs = [quantize(np.asarray(c), scale)[0] for c in chunks]
    if not qs:
        raise ValueError("no training chunks")
    allq = np.concatenate(qs)
    if not np.all(np.isfinite(allq)):
        raise ValueError("non-finite training data")
    data_min, data_max = int(allq.min()), int(allq.max())

    if min_token is None:
        min_token = data_min
        if alphabet_size is None:
            alphabet_size = data_max - data_min + 1
        if check_range and data_max - data_min > vocab_size:
            raise ValueError(
                f"Vocab size {vocab_size} is too small for the range of tokens "
                f"{data_max - data_min}"
            )
    else:
        min_token = int(min_token)
        if alphabet_size is None:
            alphabet_size = data_max - min_token + 1
    alphabet_size = int(alphabet_size)
    if alphabet_size < 1:
        raise ValueError("alphabet_size must be >= 1")
    hi = min_token + alphabet_size - 1

    def _token_iter():
        for q in qs:
            codes = np.clip(q, min_token, hi).astype(np.int64) - min_token
            yield "".join(map(chr, codes.tolist()))

    tok = new_bytelevel_bpe()
    trainer = bpe_trainer(
        vocab_size,
        alphabet_size,
        min_frequency=min_frequency,
        max_token_length=max_token_length,
    )
    tok.train_from_iterator(_token_iter(), trainer=trainer)
    tok.save(str(out / "tokenizer.json"))
    write_processor_config(
        out,
        min_token=min_token,
        scale=scale,
        vocab_size=vocab_size,
        time_horizon=time_horizon,
        action_dim=action_dim,
    )
    return out


def load_reference(path: str | os.PathLike[str]) -> tuple[Tokenizer, dict]:
    """Load ``tokenizer.json`` + ``processor_config.json`` of a FAST directory."""
    p = Path(path)
    tok = Tokenizer.from_file(str(p / "tokenizer.json"))
    cfg = json.loads((p / "processor_config.json").read_text())
    return tok, cfg


# --------------------------------------------------------------------------------------------
# Encode, docs/semantics.md#encode.
# --------------------------------------------------------------------------------------------
def _chunk_codes(q_row: np.ndarray, min_token: int) -> np.ndarray:
    """``np.maximum(q - min_token, 0)`` as the reference computes it (float, before ``int``)."""
    return np.maximum(q_row - min_token, 0)


def _valid_code_points(codes: np.ndarray) -> np.ndarray:
    """Per element: a finite value that ``chr`` accepts and Rust strings can hold."""
    finite = np.isfinite(codes)
    c = np.where(finite, codes, 0)
    return finite & (c <= MAX_CODE_POINT) & ~((c >= 0xD800) & (c <= 0xDFFF))


def reference_encode(tok: Tokenizer, cfg: dict, actions) -> list[list[int]]:
    """The reference ``__call__``: one id list per chunk (an (H, D) input gives one list).

    Raises ``ValueError`` where the reference itself blows up (``chr`` of an impossible value,
    a surrogate the tokenizer cannot take, NaN/inf).
    """
    q = quantize(actions, cfg["scale"])
    strings = []
    for i, row in enumerate(q):
        codes = _chunk_codes(row, cfg["min_token"])
        if not _valid_code_points(codes).all():
            raise ValueError(f"chunk {i}: the reference cannot build its string")
        strings.append("".join(map(chr, codes.astype(np.int64).tolist())))
    return [e.ids for e in tok.encode_batch(strings)] if strings else []


@dataclass
class OracleEncoding:
    """Result of :func:`oracle_encode` for a batch of B chunks."""

    ids: list[list[int] | None]  # reference ids (None where the reference itself would raise)
    lossless: np.ndarray  # (B,) bool
    q: np.ndarray  # (B, H*D) float64 rounded coefficients


def _codes_to_strings(codes: np.ndarray) -> list[str]:
    """Fast exact ``"".join(map(chr, row))`` for a (B, N) int array of valid code points."""
    b, n = codes.shape
    if b == 0:
        return []
    if n == 0:
        return [""] * b
    big = codes.astype("<u4").tobytes().decode("utf-32-le")
    return [big[i * n : (i + 1) * n] for i in range(b)]


def oracle_encode(tok: Tokenizer, cfg: dict, actions) -> OracleEncoding:
    """Reference-encode a batch and say, per chunk, whether that encoding is lossless.

    Lossless means: every rounded coefficient ``q`` satisfies ``q >= min_token`` (no clamping),
    ``chr(q - min_token)`` is a valid non-surrogate code point, and the reference decode of the ids
    gives back exactly the same string (no byte-level symbol missing from the vocab).
    """
    m = cfg["min_token"]
    q = quantize(actions, cfg["scale"])
    b = q.shape[0]
    codes = _chunk_codes(q, m)
    valid = _valid_code_points(codes).all(axis=1)
    not_clamped = (np.where(np.isfinite(q), q, m - 1) >= m).all(axis=1)

    idx = np.flatnonzero(valid)
    strings = _codes_to_strings(codes[idx].astype(np.int64))
    encs = tok.encode_batch(strings) if strings else []
    ids: list[list[int] | None] = [None] * b
    enc_ids = [e.ids for e in encs]
    for j, i in enumerate(idx):
        ids[i] = enc_ids[j]
    decoded = tok.decode_batch(enc_ids) if enc_ids else []
    lossless = np.zeros(b, dtype=bool)
    for j, i in enumerate(idx):
        lossless[i] = bool(not_clamped[i]) and decoded[j] == strings[j]
    return OracleEncoding(ids=ids, lossless=lossless, q=q)


def oracle_is_lossless(tok: Tokenizer, cfg: dict, actions) -> np.ndarray:
    """(B,) bool: whether the reference encodes each chunk losslessly."""
    return oracle_encode(tok, cfg, actions).lossless


# --------------------------------------------------------------------------------------------
# Decode, docs/semantics.md#decode.
# --------------------------------------------------------------------------------------------
def reference_decode(tok: Tokenizer, cfg: dict, ids_list, time_horizon: int, action_dim: int):
    """The reference ``decode``: float64 (B, H, D); failures give all-zero chunks.

    ``ids_list``: a sequence of id sequences. The tokenizer's decoder is lossy UTF-8 (invalid
    sequences become U+FFFD, which then passes the length check as a garbage coefficient); unknown
    ids are skipped by the decoder; anything that makes the decoder raise (a negative id) gives a
    zero chunk, as the reference's ``try``/``except`` does.

    Same results as the reference's per-chunk loop; the tokenizer calls and the inverse DCT are
    batched for speed.
    """
    m = cfg["min_token"]
    scale = cfg["scale"]
    seqs = [_as_list(ids) for ids in ids_list]
    if not seqs:
        return np.zeros((0, time_horizon, action_dim))
    try:
        texts: list[str | None] = list(tok.decode_batch(seqs, skip_special_tokens=False))
    except Exception:  # noqa: BLE001 - some sequence makes the decoder raise: go one by one
        texts = []
        for ids in seqs:
            try:
                texts.append(tok.decode(ids, skip_special_tokens=False))
            except Exception:  # noqa: BLE001
                texts.append(None)
    coeff = np.zeros((len(seqs), time_horizon, action_dim))
    for b, text in enumerate(texts):
        if text is None:
            continue
        try:
            c = np.array(list(map(ord, text))) + m
            c = c.reshape(-1, action_dim)
            if c.shape != (time_horizon, action_dim):
                raise ValueError("wrong shape")
        except Exception:  # noqa: BLE001 - the reference swallows every failure
            continue
        coeff[b] = c
    return scipy.fft.idct(coeff / scale, type=2, axis=1, norm="ortho")


def reference_decode_one(tok: Tokenizer, cfg: dict, ids, time_horizon: int, action_dim: int):
    """The reference ``decode`` for one sequence, written as literally as the original loop."""
    try:
        text = tok.decode(_as_list(ids), skip_special_tokens=False)
        coeff = np.array(list(map(ord, text))) + cfg["min_token"]
        coeff = coeff.reshape(-1, action_dim)
        assert coeff.shape == (time_horizon, action_dim)
    except Exception:  # noqa: BLE001
        coeff = np.zeros((time_horizon, action_dim))
    return scipy.fft.idct(coeff / cfg["scale"], type=2, axis=0, norm="ortho")


_TOKEN_BYTES: dict[int, tuple[Tokenizer, list[bytes]]] = {}


def token_bytes_table(tok: Tokenizer) -> list[bytes]:
    """Per id, the bytes the ByteLevel decoder turns the token into (cached per tokenizer).

    A character outside the byte-level map contributes its own UTF-8 bytes.
    """
    hit = _TOKEN_BYTES.get(id(tok))
    if hit is not None and hit[0] is tok:
        return hit[1]
    table = []
    for i in range(tok.get_vocab_size()):
        s = tok.id_to_token(i) or ""
        out = bytearray()
        for ch in s:
            b = SYMBOL_TO_BYTE.get(ch)
            if b is None:
                out += ch.encode("utf-8")
            else:
                out.append(b)
        table.append(bytes(out))
    _TOKEN_BYTES[id(tok)] = (tok, table)
    return table


def ids_to_bytes(tok: Tokenizer, ids: Sequence[int]) -> bytes:
    """The raw bytes the ByteLevel decoder produces before its lossy UTF-8 step.

    Unknown (and negative) ids are skipped, as the decoder does.
    """
    table = token_bytes_table(tok)
    n = len(table)
    return b"".join(table[i] for i in map(int, _as_list(ids)) if 0 <= i < n)


def decodable_prefix_codes(tok: Tokenizer, ids: Sequence[int]) -> list[int]:
    """Code points of the longest valid UTF-8 prefix of the ids' bytes (for ``on_error="pad"``).

    The prefix stops at the first unknown or negative id as well.
    """
    n = len(token_bytes_table(tok))
    known = []
    for i in map(int, _as_list(ids)):
        if i < 0 or i >= n:
            break
        known.append(i)
    raw = ids_to_bytes(tok, known)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        text = raw[: e.start].decode("utf-8")
    return [ord(c) for c in text]


# --------------------------------------------------------------------------------------------
# Vocab coverage and crafted chunks.
# --------------------------------------------------------------------------------------------
def code_is_encodable(vocab: dict[str, int], code: int) -> bool:
    """Whether ``chr(code)``'s byte-level symbols are all in the vocab (so BPE drops nothing)."""
    if code < 0 or code > MAX_CODE_POINT or 0xD800 <= code <= 0xDFFF:
        return False
    return all(BYTE_TO_SYMBOL[b] in vocab for b in chr(code).encode("utf-8"))


def encodable_table(tok: Tokenizer) -> np.ndarray:
    """(0x110000,) bool: entry ``c`` is true iff ``chr(c)`` survives BPE encoding.

    That is: ``c`` is a Unicode scalar value and each of its UTF-8 bytes has its byte-level symbol
    in the vocab (otherwise the reference silently drops the symbol).
    """
    vocab = tok.get_vocab()
    byte_ok = np.array([BYTE_TO_SYMBOL[b] in vocab for b in range(256)], dtype=bool)
    c = np.arange(MAX_CODE_POINT + 1, dtype=np.int64)
    cont = lambda shift: byte_ok[0x80 | ((c >> shift) & 0x3F)]  # noqa: E731
    one = byte_ok[np.minimum(c, 0x7F)]
    two = byte_ok[0xC0 | np.minimum(c >> 6, 0x1F)] & cont(0)
    three = byte_ok[0xE0 | np.minimum(c >> 12, 0x0F)] & cont(6) & cont(0)
    four = byte_ok[0xF0 | np.minimum(c >> 18, 0x07)] & cont(12) & cont(6) & cont(0)
    ok = np.where(c < 0x80, one, np.where(c < 0x800, two, np.where(c < 0x10000, three, four)))
    ok[0xD800:0xE000] = False
    return ok


def encodable_codes(tok: Tokenizer, limit: int) -> np.ndarray:
    """(limit,) bool: ``encodable_codes(tok, n)[c]`` iff ``chr(c)`` survives BPE encoding."""
    return encodable_table(tok)[:limit]


def chunk_from_q(q: np.ndarray, scale: float) -> np.ndarray:
    """An (H, D) float64 chunk whose rounded scaled DCT is exactly the integer matrix ``q``."""
    q = np.asarray(q, dtype=np.float64)
    x = scipy.fft.idct(q / scale, type=2, axis=0, norm="ortho")
    back = np.around(scipy.fft.dct(x, type=2, axis=0, norm="ortho") * scale)
    if not np.array_equal(back, q):  # pragma: no cover - would be an fp surprise
        raise AssertionError("crafted chunk does not quantize back to q")
    return x


def chunk_from_codes(codes, min_token: int, scale: float, h: int, d: int) -> np.ndarray:
    """A chunk whose reference string is ``"".join(map(chr, codes))`` (len(codes) == h*d)."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size != h * d:
        raise ValueError(f"need {h * d} codes, got {codes.size}")
    return chunk_from_q((codes + min_token).reshape(h, d), scale)


def chunk_from_string(s: str, min_token: int, scale: float, h: int, d: int) -> np.ndarray:
    """A chunk whose reference string is exactly ``s`` (len(s) == h*d)."""
    return chunk_from_codes([ord(c) for c in s], min_token, scale, h, d)
