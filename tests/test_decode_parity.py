"""Decode parity: actok ``decode`` == the reference ``decode`` (1e-12 abs + rel) on valid input.

A token sequence is *valid* when every id is in the vocab, its bytes are valid UTF-8 and it gives
exactly H*D coefficients. On valid sequences actok must equal the reference. On invalid ones:
``on_error="raise"`` raises ``DecodeError``, ``"zeros"`` gives the reference's all-zero chunk,
``"pad"`` keeps the decodable prefix and zero-fills the rest; ``return_valid`` flags them.
Where the reference also fails (wrong length) it returns zeros too, so ``"zeros"`` equals it.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
from conftest import CHUNK_COUNTS, TOK_NAMES, TokCase, mixed_random_chunks
from fast_reference import (
    BYTE_TO_SYMBOL,
    decodable_prefix_codes,
    ids_to_bytes,
    oracle_encode,
    reference_decode,
    reference_decode_one,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import actok

TOL = {"rtol": 1e-12, "atol": 1e-12}


# --------------------------------------------------------------------------------------------
# The checker
# --------------------------------------------------------------------------------------------
def sequence_status(case: TokCase, ids, n_coeff: int) -> tuple[bool, bool]:
    """(valid, reference_also_fails) for one id sequence."""
    n = case.ref.get_vocab_size()
    ids = [int(i) for i in ids]
    unknown = any(i < 0 or i >= n for i in ids)
    raw = ids_to_bytes(case.ref, ids)
    try:
        text = raw.decode("utf-8")
        utf8_ok = True
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        utf8_ok = False
    valid = not unknown and utf8_ok and len(text) == n_coeff
    # the reference fails (and returns zeros) on a negative id or a wrong length
    ref_fails = any(i < 0 for i in ids) or len(text) != n_coeff
    return valid, ref_fails


def expected_pad(case: TokCase, ids, h: int, d: int) -> np.ndarray:
    codes = decodable_prefix_codes(case.ref, ids)[: h * d]
    coeff = np.zeros(h * d)
    coeff[: len(codes)] = np.asarray(codes, dtype=np.float64) + case.min_token
    return scipy.fft.idct(coeff.reshape(h, d) / case.scale, type=2, axis=0, norm="ortho")


def check_decode(
    case: TokCase,
    seqs: list[list[int]],
    h: int,
    d: int,
    *,
    pad: bool = True,
    known_valid: bool = False,
) -> int:
    """Compare actok decode with the reference on a list of sequences; returns how many.

    ``known_valid``: the sequences are reference encodings of lossless chunks of shape (h, d).
    """
    tok = case.tok
    if known_valid:
        valid = np.ones(len(seqs), dtype=bool)
        ref_fails = ~valid
    else:
        status = [sequence_status(case, s, h * d) for s in seqs]
        valid = np.array([v for v, _ in status], dtype=bool)
        ref_fails = np.array([f for _, f in status], dtype=bool)
    ref = reference_decode(case.ref, case.cfg, seqs, h, d)

    out, mask = tok.decode(seqs, h, d, on_error="zeros", return_valid=True)
    assert out.dtype == np.float64 and out.shape == (len(seqs), h, d)
    assert mask.dtype == np.bool_ and mask.shape == (len(seqs),)
    np.testing.assert_array_equal(mask, valid, err_msg=f"[{case.name}] validity mask")
    comparable = valid | ref_fails  # where the reference's answer is the right answer
    np.testing.assert_allclose(
        out[comparable], ref[comparable], **TOL, err_msg=f"[{case.name}] H={h} D={d}"
    )
    assert not out[~valid].any()

    if valid.all():
        strict = tok.decode(seqs, h, d)
        np.testing.assert_array_equal(strict, out)
    else:
        first = int(np.flatnonzero(~valid)[0])
        with pytest.raises(actok.DecodeError, match=rf"\b{first}\b"):
            tok.decode(seqs, h, d)
    if pad and not valid.all():
        padded, pmask = tok.decode(seqs, h, d, on_error="pad", return_valid=True)
        np.testing.assert_array_equal(pmask, valid)
        for i in range(len(seqs)):
            want = ref[i] if valid[i] else expected_pad(case, seqs[i], h, d)
            np.testing.assert_allclose(padded[i], want, **TOL, err_msg=f"pad, sequence {i}")
    CHUNK_COUNTS["decode: valid (values compared)"] += int(valid.sum())
    CHUNK_COUNTS["decode: invalid (error handling checked)"] += int((~valid).sum())
    return len(seqs)


def mutate(rng: np.random.Generator, seqs: list[list[int]], vocab_len: int) -> list[list[int]]:
    """Damaged copies: ids dropped, inserted, replaced, truncated, extended, unknown, negative."""
    out = []
    for s in seqs:
        s = list(s)
        kind = rng.integers(0, 9)
        pos = int(rng.integers(0, len(s) + 1))
        if kind == 0 and s:
            del s[min(pos, len(s) - 1)]
        elif kind == 1:
            s.insert(pos, int(rng.integers(0, vocab_len)))
        elif kind == 2 and s:
            s[min(pos, len(s) - 1)] = int(rng.integers(0, vocab_len))
        elif kind == 3:
            s = s[:pos]
        elif kind == 4:
            s = s + s[: int(rng.integers(1, 4))]
        elif kind == 5:
            s.insert(pos, vocab_len + int(rng.integers(0, 1000)))
        elif kind == 6 and rng.random() < 0.3:
            s.insert(pos, -1)
        elif kind == 7 and len(s) > 1:
            i = min(pos, len(s) - 2)
            s[i], s[i + 1] = s[i + 1], s[i]
        out.append(s)
    return out


def bytewise(case: TokCase, ids: list[int]) -> list[int]:
    """A non-canonical but valid sequence: one single-symbol token per byte."""
    vocab = case.ref.get_vocab()
    return [vocab[BYTE_TO_SYMBOL[b]] for b in ids_to_bytes(case.ref, ids)]


def lossless_ids(case: TokCase, x: np.ndarray) -> list[list[int]]:
    enc = oracle_encode(case.ref, case.cfg, x)
    return [enc.ids[i] for i in np.flatnonzero(enc.lossless)]


# --------------------------------------------------------------------------------------------
# Oracle self-check: the batched reference decode equals the literal per-chunk loop
# --------------------------------------------------------------------------------------------
def test_oracle_batched_decode_matches_literal(tok_cases):
    case = tok_cases["fastplus"]
    rng = np.random.default_rng(3)
    seqs = lossless_ids(case, mixed_random_chunks(rng, 50, 10, 3))
    seqs += mutate(rng, seqs, case.ref.get_vocab_size())
    batched = reference_decode(case.ref, case.cfg, seqs, 10, 3)
    literal = np.stack([reference_decode_one(case.ref, case.cfg, s, 10, 3) for s in seqs])
    np.testing.assert_allclose(batched, literal, rtol=1e-15, atol=1e-15)


# --------------------------------------------------------------------------------------------
# Volume
# --------------------------------------------------------------------------------------------
DECODE_PLAN = [  # (H, D, B)
    (1, 1, 600),
    (1, 9, 600),
    (2, 5, 800),
    (4, 4, 1000),
    (5, 7, 1400),
    (8, 8, 1400),
    (10, 2, 1600),
    (15, 8, 2400),
    (16, 14, 800),
    (20, 7, 1200),
    (32, 4, 1000),
    (50, 14, 400),
    (64, 3, 600),
    (9, 1, 1200),
]
_VOLUME: dict[str, int] = {}


def test_decode_volume_random(tok_case):
    rng = np.random.default_rng(2000 + TOK_NAMES.index(tok_case.name))
    n_vocab = tok_case.ref.get_vocab_size()
    n = 0
    for k, (h, d, b) in enumerate(DECODE_PLAN):
        x = mixed_random_chunks(rng, b, h, d)
        if k % 2:
            x = x.astype(np.float32)
        seqs = lossless_ids(tok_case, x)
        n += check_decode(tok_case, seqs, h, d, pad=False, known_valid=True)
        # the same through encode_batch's padded (ids, lengths) pair
        ids, lengths = tok_case.tok.encode_batch(
            x[oracle_encode(tok_case.ref, tok_case.cfg, x).lossless]
        )
        np.testing.assert_array_equal(
            tok_case.tok.decode((ids, lengths), h, d), tok_case.tok.decode(seqs, h, d)
        )
        # damaged copies of a tenth of them
        sub = seqs[: max(1, len(seqs) // 10)]
        n += check_decode(tok_case, mutate(rng, sub, n_vocab), h, d)
        n += check_decode(tok_case, [bytewise(tok_case, s) for s in sub[:50]], h, d)
    _VOLUME[tok_case.name] = n
    CHUNK_COUNTS["decode: volume random"] += n
    assert n >= 8_000


def test_decode_volume_real(tok_case, real_windows):
    n = 0
    rng = np.random.default_rng(77)
    for _name, w in sorted(real_windows.items()):
        h, d = w.shape[1:]
        seqs = lossless_ids(tok_case, w)
        n += check_decode(tok_case, seqs, h, d, pad=False, known_valid=True)
        sub = seqs[:200]
        n += check_decode(tok_case, mutate(rng, sub, tok_case.ref.get_vocab_size()), h, d)
    CHUNK_COUNTS["decode: volume real"] += n
    _VOLUME[tok_case.name + ":real"] = n


def test_decode_volume_total():
    if not set(TOK_NAMES) <= set(_VOLUME):
        pytest.skip("run the whole module to check the total")
    total = sum(_VOLUME.values())
    assert total >= 100_000, total


# --------------------------------------------------------------------------------------------
# Hypothesis
# --------------------------------------------------------------------------------------------
@settings(max_examples=80)
@given(data=st.data())
def test_decode_hypothesis_random_ids(tok_case, data):
    """Arbitrary ids from the whole vocab (dead raw-alphabet entries, partial UTF-8 ...)."""
    n = tok_case.ref.get_vocab_size()
    ids = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=30), label="ids")
    # pick the shape so that the length matches whenever the bytes decode cleanly
    length = len(ids_to_bytes(tok_case.ref, ids).decode("utf-8", errors="replace"))
    shapes = [(max(length, 1), 1), (1, max(length, 1)), (3, 2)]
    h, d = data.draw(st.sampled_from(shapes), label="shape")
    check_decode(tok_case, [ids], h, d)


@settings(max_examples=60)
@given(data=st.data())
def test_decode_hypothesis_codes(tok_case, data):
    """Valid sequences for arbitrary encodable codes, canonical and byte-wise, plus damage."""
    h = data.draw(st.integers(1, 12), label="H")
    d = data.draw(st.integers(1, 6), label="D")
    ok = np.flatnonzero(tok_case.encodable[:5000])
    codes = data.draw(
        st.lists(st.sampled_from(ok.tolist()), min_size=h * d, max_size=h * d), label="codes"
    )
    s = "".join(map(chr, codes))
    ids = tok_case.ref.encode(s).ids
    seqs = [ids, bytewise(tok_case, ids)]
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    seqs += mutate(np.random.default_rng(seed), seqs * 3, tok_case.ref.get_vocab_size())
    check_decode(tok_case, seqs, h, d)


def test_decode_list_of_arrays_and_dtypes(tok_cases):
    case = tok_cases["fastplus"]
    x = mixed_random_chunks(np.random.default_rng(11), 5, 8, 3) * 0.5
    seqs = lossless_ids(case, x)
    ref = reference_decode(case.ref, case.cfg, seqs, 8, 3)
    for form in (
        seqs,
        [np.asarray(s, dtype=np.int64) for s in seqs],
        [np.asarray(s, dtype=np.int32) for s in seqs],
        tuple(tuple(s) for s in seqs),
    ):
        np.testing.assert_allclose(case.tok.decode(form, 8, 3), ref, **TOL)
    ids, lengths = case.tok.encode_batch(x, pad_id=-7)
    for pair in ((ids, lengths), (ids.astype(np.int64), lengths.tolist()), (ids.tolist(), lengths)):
        np.testing.assert_allclose(case.tok.decode(pair, 8, 3), ref, **TOL)
