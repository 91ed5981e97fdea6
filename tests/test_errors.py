"""Behaviour beyond the reference: the defects of spec section 6, fixed with explicit errors."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
import scipy.fft
from conftest import TokCase
from fast_reference import (
    BYTE_TO_SYMBOL,
    chunk_from_codes,
    chunk_from_q,
    decodable_prefix_codes,
    reference_decode,
    reference_encode,
)

import actok


def _names(msg: str, *numbers: int) -> bool:
    return all(re.search(rf"(?<![\d.]){n}(?![\d.])", msg) for n in numbers)


def _zero_code(case: TokCase) -> int:
    return -case.min_token


def test_exception_hierarchy():
    assert issubclass(actok.ActokError, ValueError)
    for exc in (actok.EncodeError, actok.DecodeError, actok.LoadError):
        assert issubclass(exc, actok.ActokError)


# --------------------------------------------------------------------------------------------
# Encode errors
# --------------------------------------------------------------------------------------------
def _batch_with_bad(case: TokCase, bad_q: float, b: int = 9, h: int = 7, d: int = 6):
    """A batch of zero chunks where chunk 6 has one coefficient ``bad_q`` at (4, 5) = index 29."""
    q = np.zeros((b, h, d))
    q[6, 4, 5] = bad_q
    return np.stack([chunk_from_q(c, case.scale) for c in q]), 6, 4 * d + 5


@pytest.mark.parametrize("name", ["fastplus", "s10_v1024", "digit0"])
def test_encode_error_below_min_token(tok_cases, name):
    case = tok_cases[name]
    x, chunk, index = _batch_with_bad(case, case.min_token - 3)
    with pytest.raises(actok.EncodeError) as ei:
        case.tok.encode(x)
    assert _names(str(ei.value), chunk, index), str(ei.value)
    # the reference silently clamps it instead
    ids = reference_encode(case.ref, case.cfg, x)
    assert ord(case.ref.decode(ids[chunk])[index]) == 0
    # clip saturates to min_token
    clipped = case.tok.encode(x, on_overflow="clip")
    y = case.tok.decode(clipped, 7, 6)
    q = np.around(scipy.fft.dct(y, axis=1, norm="ortho") * case.scale)
    assert q[chunk, 4, 5] == case.min_token
    assert clipped[:chunk] == ids[:chunk]


def test_encode_error_symbol_missing_from_vocab(tok_cases):
    """The trap tokenizer lacks the byte-level symbols of codes 1..32."""
    case = tok_cases["trap"]
    assert not case.encodable[10]
    x, chunk, index = _batch_with_bad(case, case.min_token + 10)
    with pytest.raises(actok.EncodeError) as ei:
        case.tok.encode(x)
    assert _names(str(ei.value), chunk, index), str(ei.value)
    # the reference drops the symbol: its decode has the wrong length and gives zeros
    ids = reference_encode(case.ref, case.cfg, x)
    assert not reference_decode(case.ref, case.cfg, ids, 7, 6)[chunk].any()


@pytest.mark.parametrize("code", [0x110000, 0x200000, 0xD800, 0xDFFF])
def test_encode_error_not_a_character(tok_cases, code):
    case = tok_cases["fastplus"]
    x, chunk, index = _batch_with_bad(case, case.min_token + code)
    with pytest.raises(actok.EncodeError) as ei:
        case.tok.encode(x)
    assert _names(str(ei.value), chunk, index), str(ei.value)
    clipped = case.tok.encode(x, on_overflow="clip")
    case.tok.decode(clipped, 7, 6)  # representable


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("on_overflow", ["raise", "clip"])
def test_encode_error_not_finite(tok_cases, bad, dtype, on_overflow):
    case = tok_cases["fastplus"]
    x = np.zeros((5, 4, 3), dtype=dtype)
    x[3, 2, 1] = bad
    with pytest.raises(actok.EncodeError) as ei:
        case.tok.encode(x, on_overflow=on_overflow)
    assert _names(str(ei.value), 3), str(ei.value)
    with pytest.raises(actok.EncodeError):
        case.tok.encode_batch(x, on_overflow=on_overflow)


def test_encode_error_huge_value(tok_cases):
    """Unnormalized input: the reference dies deep in its loop; actok names the chunk."""
    case = tok_cases["fastplus"]
    x = np.zeros((3, 4, 2))
    x[1, 0, 0] = 1e30
    with pytest.raises(actok.EncodeError) as ei:
        case.tok.encode(x)
    assert _names(str(ei.value), 1), str(ei.value)
    with pytest.raises((ValueError, OverflowError)):
        reference_encode(case.ref, case.cfg, x)


def test_encode_error_on_call_and_batch(tok_cases):
    case = tok_cases["trap"]
    x, chunk, index = _batch_with_bad(case, case.min_token + 20)
    for fn in (case.tok, case.tok.encode_batch):
        with pytest.raises(actok.EncodeError) as ei:
            fn(x)
        assert _names(str(ei.value), chunk, index), str(ei.value)


@pytest.mark.parametrize(
    "shape", [(4,), (2, 3, 4, 5), (), (0, 3), (3, 0), (2, 0, 3)], ids=lambda s: repr(s)
)
def test_encode_bad_shapes(tok_cases, shape):
    case = tok_cases["fastplus"]
    x = np.zeros(shape)
    if len(shape) in (2, 3) and 0 in shape[-2:]:
        # empty chunks: either a clear error or empty sequences, never a crash
        try:
            out = case.tok.encode(x)
        except ValueError:
            return
        assert all(s == [] for s in out)
        return
    with pytest.raises(ValueError):
        case.tok.encode(x)


def test_encode_bad_option(tok_cases):
    case = tok_cases["fastplus"]
    with pytest.raises(ValueError):
        case.tok.encode(np.zeros((2, 2)), on_overflow="saturate")


# --------------------------------------------------------------------------------------------
# Decode errors
# --------------------------------------------------------------------------------------------
def _valid_seqs(case: TokCase, h: int = 6, d: int = 5, b: int = 6) -> list[list[int]]:
    rng = np.random.default_rng(0)
    q = np.around(rng.normal(0, 4, (b, h, d)) * np.exp(-np.arange(h))[None, :, None])
    x = np.stack([chunk_from_q(c, case.scale) for c in q])
    return case.tok.encode(x)


def _expected_pad(case: TokCase, codes: list[int], h: int, d: int) -> np.ndarray:
    coeff = np.zeros(h * d)
    coeff[: len(codes)] = np.asarray(codes[: h * d], dtype=np.float64) + case.min_token
    return scipy.fft.idct(coeff.reshape(h, d) / case.scale, axis=0, norm="ortho")


def _codes(case: TokCase, ids) -> list[int]:
    return decodable_prefix_codes(case.ref, ids)


def test_decode_wrong_length(tok_cases):
    case = tok_cases["fastplus"]
    h, d = 6, 5
    seqs = _valid_seqs(case, h, d)
    text = case.ref.decode(seqs[4])
    seqs[4] = case.ref.encode(text[:-3]).ids  # valid UTF-8, 3 coefficients short
    with pytest.raises(actok.DecodeError) as ei:
        case.tok.decode(seqs, h, d)
    assert _names(str(ei.value), 4), str(ei.value)
    # zeros: like the reference
    out, valid = case.tok.decode(seqs, h, d, on_error="zeros", return_valid=True)
    assert valid.tolist() == [True] * 4 + [False, True]
    np.testing.assert_allclose(out, reference_decode(case.ref, case.cfg, seqs, h, d), atol=1e-12)
    assert not out[4].any()
    # pad: the prefix is kept and the missing high frequencies are zero
    out, valid = case.tok.decode(seqs, h, d, on_error="pad", return_valid=True)
    assert valid.tolist() == [True] * 4 + [False, True]
    np.testing.assert_allclose(out[4], _expected_pad(case, _codes(case, seqs[4]), h, d), atol=1e-12)
    np.testing.assert_allclose(
        out[5], reference_decode(case.ref, case.cfg, seqs[5:], h, d)[0], atol=1e-12
    )
    # too long: pad keeps the first H*D coefficients
    long = seqs[0] + seqs[1]
    out, valid = case.tok.decode([long], h, d, on_error="pad", return_valid=True)
    assert not valid[0]
    np.testing.assert_allclose(out[0], _expected_pad(case, _codes(case, long), h, d), atol=1e-12)
    with pytest.raises(actok.DecodeError):
        case.tok.decode([long], h, d)


def test_decode_empty_sequence(tok_cases):
    case = tok_cases["fastplus"]
    with pytest.raises(actok.DecodeError):
        case.tok.decode([[]], 3, 2)
    out, valid = case.tok.decode([[]], 3, 2, on_error="pad", return_valid=True)
    assert not valid[0] and not out.any()


def test_decode_invalid_utf8(tok_cases):
    """fastplus symbols are 2-byte UTF-8: a lone continuation byte makes invalid UTF-8."""
    case = tok_cases["fastplus"]
    h, d = 6, 5
    seqs = _valid_seqs(case, h, d)
    vocab = case.ref.get_vocab()
    cont = vocab[BYTE_TO_SYMBOL[0x80]]
    lead = vocab[BYTE_TO_SYMBOL[0xC5]]
    # replace the last coefficient's bytes with a lone continuation byte: same length for the
    # reference (U+FFFD counts as one character) -> silent garbage coefficient
    codes = _codes(case, seqs[2])
    good = case.ref.encode("".join(map(chr, codes[:-1]))).ids
    bad = good + [cont]
    seqs[2] = bad
    ref = reference_decode(case.ref, case.cfg, seqs, h, d)
    assert ref[2].any()  # the reference's garbage
    with pytest.raises(actok.DecodeError) as ei:
        case.tok.decode(seqs, h, d)
    assert _names(str(ei.value), 2), str(ei.value)
    out, valid = case.tok.decode(seqs, h, d, on_error="zeros", return_valid=True)
    assert valid.tolist() == [True, True, False, True, True, True]
    assert not out[2].any()
    out, valid = case.tok.decode(seqs, h, d, on_error="pad", return_valid=True)
    np.testing.assert_allclose(out[2], _expected_pad(case, codes[:-1], h, d), atol=1e-12)
    # a truncated 2-byte character at the end
    trunc = good + [lead]
    out, valid = case.tok.decode([trunc], h, d, on_error="pad", return_valid=True)
    assert not valid[0]
    np.testing.assert_allclose(out[0], _expected_pad(case, codes[:-1], h, d), atol=1e-12)


@pytest.mark.parametrize("bad_id", ["unknown", "negative", "huge"])
def test_decode_unknown_ids(tok_cases, bad_id):
    case = tok_cases["s10_v1024"]
    h, d = 6, 5
    seqs = _valid_seqs(case, h, d)
    n = case.ref.get_vocab_size()
    bad = {"unknown": n, "negative": -1, "huge": 2**40}[bad_id]
    pos = len(seqs[3]) // 2
    seqs[3] = seqs[3][:pos] + [bad] + seqs[3][pos:]
    with pytest.raises(actok.DecodeError) as ei:
        case.tok.decode(seqs, h, d)
    assert _names(str(ei.value), 3), str(ei.value)
    out, valid = case.tok.decode(seqs, h, d, on_error="zeros", return_valid=True)
    assert valid.tolist() == [True, True, True, False, True, True]
    assert not out[3].any()
    out = case.tok.decode(seqs, h, d, on_error="pad")
    prefix = _codes(case, seqs[3][:pos])
    np.testing.assert_allclose(out[3], _expected_pad(case, prefix, h, d), atol=1e-12)


def test_decode_all_valid_mask(tok_cases):
    case = tok_cases["fastplus"]
    seqs = _valid_seqs(case)
    for mode in ("raise", "pad", "zeros"):
        out, valid = case.tok.decode(seqs, 6, 5, on_error=mode, return_valid=True)
        assert valid.dtype == np.bool_ and valid.all()
        np.testing.assert_allclose(
            out, reference_decode(case.ref, case.cfg, seqs, 6, 5), atol=1e-12
        )


def test_decode_needs_a_shape(tok_cases):
    case = tok_cases["fastplus"]
    seqs = _valid_seqs(case)
    with pytest.raises(ValueError, match=r"time_horizon|action_dim|shape"):
        case.tok.decode(seqs)
    with pytest.raises(ValueError):
        case.tok.decode(seqs, time_horizon=6)
    # no hidden state: encoding first does not make the shape available (reference defect)
    case.tok.encode(np.zeros((6, 5)))
    with pytest.raises(ValueError):
        case.tok.decode(seqs)


@pytest.mark.parametrize("shape", [(0, 5), (6, 0), (-1, 5)])
def test_decode_bad_shape(tok_cases, shape):
    case = tok_cases["fastplus"]
    with pytest.raises((ValueError, OverflowError)):
        case.tok.decode(_valid_seqs(case), *shape)


def test_decode_bad_option(tok_cases):
    case = tok_cases["fastplus"]
    with pytest.raises(ValueError):
        case.tok.decode(_valid_seqs(case), 6, 5, on_error="ignore")


def test_decode_padded_pair_bad_lengths(tok_cases):
    case = tok_cases["fastplus"]
    x = chunk_from_codes([_zero_code(case)] * 30, case.min_token, case.scale, 6, 5)
    ids, lengths = case.tok.encode_batch(np.stack([x, x]))
    bad = lengths.copy()
    bad[1] = ids.shape[1] + 1
    with pytest.raises(ValueError):
        case.tok.decode((ids, bad), 6, 5)
    bad[1] = -1
    with pytest.raises(ValueError):
        case.tok.decode((ids, bad), 6, 5)


# --------------------------------------------------------------------------------------------
# Load errors
# --------------------------------------------------------------------------------------------
def test_load_missing_directory(tmp_path):
    with pytest.raises(actok.LoadError):
        actok.FastTokenizer.from_pretrained(tmp_path / "does-not-exist")


@pytest.mark.parametrize("missing", ["tokenizer.json", "processor_config.json"])
def test_load_missing_file(tok_cases, tmp_path, missing):
    d = tmp_path / "t"
    shutil.copytree(tok_cases["fastplus"].path, d)
    (d / missing).unlink()
    with pytest.raises(actok.LoadError, match=re.escape(missing)):
        actok.FastTokenizer.from_pretrained(d)


@pytest.mark.parametrize(
    "target,content",
    [
        ("tokenizer.json", "{not json"),
        ("tokenizer.json", ""),
        ("tokenizer.json", "[]"),
        ("tokenizer.json", '{"model": {"type": "WordPiece", "vocab": {}}}'),
        ("processor_config.json", "{not json"),
        ("processor_config.json", '{"scale": 10}'),
        ("processor_config.json", '{"scale": "ten", "min_token": -354, "vocab_size": 2048}'),
        ("processor_config.json", '{"scale": 10, "min_token": 1.5, "vocab_size": 2048}'),
    ],
)
def test_load_bad_json(tok_cases, tmp_path, target, content):
    d = tmp_path / "t"
    shutil.copytree(tok_cases["fastplus"].path, d)
    (d / target).write_text(content)
    with pytest.raises(actok.LoadError):
        actok.FastTokenizer.from_pretrained(d)


def test_load_bad_merge(tok_cases, tmp_path):
    d = tmp_path / "t"
    shutil.copytree(tok_cases["fastplus"].path, d)
    tj = json.loads((d / "tokenizer.json").read_text())
    tj["model"]["merges"].append(["\u0162\u0162\u0162\u0162\u0162", "notinvocab"])
    (d / "tokenizer.json").write_text(json.dumps(tj))
    with pytest.raises(actok.LoadError):
        actok.FastTokenizer.from_pretrained(d)


def test_load_error_is_value_error(tmp_path):
    with pytest.raises(ValueError):
        actok.FastTokenizer.from_pretrained(tmp_path)
