"""Bad inputs, one case each: every one gets a typed error naming what was wrong and where (chunk,
index, position, file, field), or, where the input is legitimately usable, the right answer
(checked against numpy/scipy or the ``tokenizers`` oracle, not merely "no exception").

Conventions: wrong *values* (shapes, dtypes, ids, file contents) raise the most specific
:class:`actok.ActokError` subclass; ``TypeError`` is kept for a Python object of the wrong type
where a string or path is expected (``on_overflow=None``, ``from_pretrained(None)``), as Python
itself would raise. No case may end in a ``PanicException``, an abort or a hang: each runs in the
test process, so a panic or an abort fails the whole session loudly.

Complements ``test_errors.py`` (the reference's defects with their repairs) without repeating it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from fast_reference import BYTE_TO_SYMBOL, chunk_from_q, load_reference, reference_encode
from tokenizers import Tokenizer

import actok

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
H, D = 6, 5


def _names(msg: str, *items: object) -> bool:
    """Whether ``msg`` names every item: numbers as whole numbers, anything else as text."""
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not re.search(rf"(?<![\d.]){item}(?![\d.])", msg):
                return False
        elif str(item) not in msg:
            return False
    return True


def _raises(exc: type[BaseException], fn, *args, **kwargs) -> str:
    """Calls ``fn``, asserts it raises exactly ``exc`` (not a subclass, never a panic) and
    returns the message."""
    with pytest.raises(BaseException) as ei:
        fn(*args, **kwargs)
    assert type(ei.value) is exc, f"{type(ei.value).__name__}: {ei.value}"
    return str(ei.value)


def _universal_config() -> dict:
    """The bundled config without its ``time_horizon`` (a universal tokenizer): the cases here
    feed ``(H, D) = (6, 5)`` chunks and are about other faults than the shape check, which
    ``test_encode_refuses_a_shape_other_than_the_fitted_one`` covers with the recorded horizon."""
    return {**_config_json(), "time_horizon": None}


@pytest.fixture(scope="module")
def tok(tmp_path_factory) -> actok.FastTokenizer:
    """The bundled tokenizer: every byte-level symbol in the vocab, min_token -354, scale 10."""
    return actok.FastTokenizer.from_pretrained(_write_dir(tmp_path_factory.mktemp("tok") / "t"))


@pytest.fixture(scope="module")
def oracle() -> tuple[Tokenizer, dict]:
    """The bundled tokenizer read by the ``tokenizers`` library, with its config."""
    return load_reference(BUNDLED)


def _chunks(tok: actok.FastTokenizer, b: int = 4, seed: int = 0) -> np.ndarray:
    """(b, H, D) float64 chunks whose coefficients are small integers over scale (lossless)."""
    rng = np.random.default_rng(seed)
    q = np.around(rng.normal(0, 6, (b, H, D)) * np.exp(-np.arange(H))[None, :, None])
    return np.stack([chunk_from_q(c, tok.scale) for c in q])


def _with_q(tok: actok.FastTokenizer, chunk: int, index: int, q: float, b: int = 4):
    """Zero chunks where coefficient ``index`` of chunk ``chunk`` quantizes to ``q``."""
    qs = np.zeros((b, H * D))
    qs[chunk, index] = q
    return np.stack([chunk_from_q(c.reshape(H, D), tok.scale) for c in qs])


def _quantized(tok: actok.FastTokenizer, ids: list[list[int]]) -> np.ndarray:
    """(B, H*D) integers the ids decode to, through scipy's DCT of the decoded actions."""
    x = tok.decode(ids, H, D)
    return np.around(scipy.fft.dct(x, axis=1, norm="ortho") * tok.scale).reshape(len(ids), -1)


# --------------------------------------------------------------------------------------------
# Arrays given to encode
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "+inf", "-inf"])
def test_encode_non_finite_names_chunk_index_and_value(tok, bad):
    x = _chunks(tok)
    x[2, 3, 4] = bad
    msg = _raises(actok.EncodeError, tok.encode, x)
    assert _names(msg.lower(), 2, 3 * D + 4, str(bad)), msg


def test_encode_reports_the_first_bad_chunk(tok):
    """Chunks run in parallel, yet the error is the lowest failing chunk, every time."""
    x = np.concatenate([_chunks(tok, 300)] * 4)
    x[900, 0, 0] = np.nan
    x[17, 1, 2] = np.inf
    for _ in range(3):
        msg = _raises(actok.EncodeError, tok.encode, x)
        assert _names(msg, 17, D + 2, "inf") and "900" not in msg, msg


@pytest.mark.parametrize("shape", [(), (7,), (2, 3, 4, 5)], ids=["ndim0", "ndim1", "ndim4"])
def test_encode_wrong_ndim_names_the_shape(tok, shape):
    msg = _raises(actok.ActokError, tok.encode, np.zeros(shape))
    assert "(H, D) or (B, H, D)" in msg and str(shape) in msg, msg


def test_encode_empty_batch_is_empty(tok):
    assert tok.encode(np.zeros((0, H, D))) == []
    ids, lengths = tok.encode_batch(np.zeros((0, H, D)))
    assert ids.shape == (0, 0) and lengths.shape == (0,)


def test_encode_zero_time_steps_names_the_shape(tok):
    msg = _raises(actok.ActokError, tok.encode, np.zeros((3, 0, D)))
    assert "(3, 0, 5)" in msg and "time" in msg, msg


def test_encode_zero_dimensions_is_refused_like_zero_time_steps(tok):
    """No coefficients would be no tokens, which no decode accepts (it refuses D = 0 too)."""
    msg = _raises(actok.ActokError, tok.encode, np.zeros((3, H, 0)))
    assert f"(3, {H}, 0)" in msg and "D must be at least 1" in msg, msg
    _raises(actok.ActokError, tok.encode_batch, np.zeros((3, H, 0)))
    _raises(actok.ActokError, tok.decode, [[]], time_horizon=H, action_dim=0)


@pytest.mark.parametrize(
    "layout",
    ["strided", "fortran", "negative_strides", "big_endian_f8", "big_endian_f4", "transposed"],
)
def test_encode_any_memory_layout_gives_the_reference_ids(tok, oracle, layout):
    """Layout and byte order change nothing: the ids are the reference's for the same values."""
    x = _chunks(tok, 8, seed=1)
    if layout == "strided":
        big = np.zeros((16, 2 * H, 3 * D))
        big[::2, ::2, ::3] = x
        view = big[::2, ::2, ::3]
    elif layout == "fortran":
        view = np.asfortranarray(x)
    elif layout == "negative_strides":
        view = x[::-1, ::-1, ::-1].copy()[::-1, ::-1, ::-1]
    elif layout == "big_endian_f8":
        view = x.astype(">f8")
    elif layout == "big_endian_f4":
        x = x.astype(np.float32)
        view = x.astype(">f4")
    else:
        view = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)
    assert not view.flags.c_contiguous or view.dtype.byteorder == ">"
    np.testing.assert_array_equal(view, x)
    assert tok.encode(view) == reference_encode(*oracle, x)


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint16", "bool", "float16"])
def test_encode_promotes_dtypes_like_scipy(tok, oracle, dtype):
    """Integers and bools are float64 to scipy, float16 is float32: the ids follow."""
    rng = np.random.default_rng(2)
    if dtype == "bool":
        x = rng.random((5, H, D)) < 0.5
    elif dtype == "float16":
        x = (rng.uniform(-1, 1, (5, H, D))).astype(np.float16)
    else:
        x = rng.integers(0, 3, (5, H, D)).astype(dtype)
    promoted = x.astype(np.float32 if dtype == "float16" else np.float64)
    assert tok.encode(x) == tok.encode(promoted)
    assert tok.encode(promoted) == reference_encode(*oracle, promoted)


@pytest.mark.parametrize(
    "x",
    [
        np.zeros((2, H, D), np.complex128),
        np.zeros((2, H, D), np.complex64),
        np.zeros((2, H, D), object),
        np.zeros((2, H, D), np.longdouble),
        np.array([["a", "b"], ["c", "d"]]),
        np.zeros((2, H, D), "datetime64[s]"),
    ],
    ids=["complex128", "complex64", "object", "longdouble", "str", "datetime64"],
)
def test_encode_refuses_dtypes_it_would_truncate(tok, x):
    if x.dtype == np.float64:  # longdouble is float64 on some platforms: then it is fine
        pytest.skip("longdouble is float64 here")
    msg = _raises(actok.ActokError, tok.encode, x)
    assert _names(msg, "dtype", str(x.dtype)), msg


def test_encode_nested_lists_like_the_array(tok):
    x = _chunks(tok, 3, seed=3)
    assert tok.encode(x.tolist()) == tok.encode(x)
    assert tok.encode(x[0].tolist()) == tok.encode(x[:1])
    assert tok.encode(list(x)) == tok.encode(x)


def test_encode_ragged_lists_say_so(tok):
    msg = _raises(actok.ActokError, tok.encode, [[0.0, 0.1], [0.2]])
    assert "inhomogeneous" in msg or "sequence" in msg, msg


def test_encode_none_is_refused_as_object_dtype(tok):
    msg = _raises(actok.ActokError, tok.encode, None)
    assert "dtype object" in msg, msg


def test_encode_option_of_the_wrong_type_is_a_type_error(tok):
    _raises(TypeError, tok.encode, np.zeros((H, D)), on_overflow=None)


def test_encode_1e300_has_a_readable_message(tok):
    """Unnormalized input: the message names chunk and index and prints the coefficient in
    scientific notation (not 301 digits)."""
    x = np.zeros((3, H, D))
    x[1, 0, 2] = 1e300
    msg = _raises(actok.EncodeError, tok.encode, x)
    assert _names(msg, 1, 2) and re.search(r"\de30\d", msg), msg
    assert len(msg) < 400 and not re.search(r"\d{30}", msg), msg
    # clip saturates to the largest representable coefficient
    clipped = tok.encode(x, on_overflow="clip")
    q = _quantized(tok, clipped)
    assert q[1, 2] > 0 and q[1, 2] == q[1].max()


@pytest.mark.parametrize("value", [1.7e308, -1.7e308], ids=["+max", "-max"])
def test_encode_coefficient_overflow_is_not_called_a_bad_input(tok, value):
    """Every input is finite, but the DCT overflows: the message says that, not "value inf"."""
    x = np.zeros((2, H, D))
    x[1, :, 3] = value
    for mode in ("raise", "clip"):
        msg = _raises(actok.EncodeError, tok.encode, x, on_overflow=mode)
        assert _names(msg, 1, 3, "DCT coefficient", "too large"), msg


def test_encode_float32_max_is_reported(tok):
    x = np.zeros((2, H, D), np.float32)
    x[0, 0, 0] = np.finfo(np.float32).max
    msg = _raises(actok.EncodeError, tok.encode, x)
    assert _names(msg, 0, "not a Unicode scalar value"), msg


@pytest.mark.parametrize("code", [0xD800 + 0x123, 0xDFFF], ids=["mid", "last"])
def test_encode_surrogate_clips_to_the_nearest_scalar_value(tok, code):
    """A code point in U+D800..DFFF is no character: raise naming it, or clip to the nearest
    scalar value (U+D7FF or U+E000, whichever is closer; every byte is in this vocab)."""
    x = _with_q(tok, 3, 11, tok.min_token + code)
    msg = _raises(actok.EncodeError, tok.encode, x)
    assert _names(msg, 3, 11, code), msg
    nearest = 0xD7FF if code - 0xD7FF <= 0xE000 - code else 0xE000
    q = _quantized(tok, tok.encode(x, on_overflow="clip"))
    assert q[3, 11] == tok.min_token + nearest
    assert (np.delete(q[3], 11) == 0).all()


def test_encode_beyond_unicode_clips_to_the_last_scalar_value(tok):
    x = _with_q(tok, 0, 5, tok.min_token + 0x110000 + 12345)
    msg = _raises(actok.EncodeError, tok.encode, x)
    assert _names(msg, 0, 5, 0x110000 + 12345), msg
    q = _quantized(tok, tok.encode(x, on_overflow="clip"))
    assert q[0, 5] == tok.min_token + 0x10FFFF


@pytest.fixture(scope="module", params=["reference", "auto"])
def lossless_tok(request) -> actok.FastTokenizer:
    """A lossless tokenizer fitted, without a normalizer, on normalized robosuite chunks, with the
    reference placement (the range starts at ``min_token``) and the one chosen from data."""
    episodes = actok.read_episodes(BUNDLED.parent / "robosuite_lift_7d_20hz.npz").episodes
    normalized = actok.Normalizer.fit(episodes).apply(np.concatenate(episodes))
    chunks = actok.chunk_episodes([normalized], 20)
    return actok.FastTokenizer.fit(chunks, 10, 512, placement=request.param)


def test_encode_unnormalized_actions_name_the_likely_cause(lossless_tok):
    """Raw actions (here the sample in degrees) given to a tokenizer fitted on normalized ones:
    the message names the coefficient and the range the tokenizer represents, leads with the
    likely cause and its fix, and offers clipping only as a loss of data."""
    tok = lossless_tok
    episodes = actok.read_episodes(BUNDLED.parent / "robosuite_lift_7d_20hz.npz").episodes
    raw = actok.chunk_episodes(episodes, 20) * 57.3
    msg = _raises(actok.EncodeError, tok.encode, raw)
    for words in ("likely not normalized", "other units or scale", "Normalizer", "refit"):
        assert words in msg, msg
    assert 'on_overflow="clip" saturates, losing data' in msg, msg
    assert msg.index("not normalized") < msg.index("on_overflow"), msg
    found = re.search(r"quantized coefficient (-?\d+) is outside (-?\d+) to (-?\d+)", msg)
    assert found, msg
    q, lo, hi = (int(g) for g in found.groups())
    reference = tok.fit_report["placement"]["requested"] == "reference"
    assert (lo == tok.min_token if reference else lo >= tok.min_token) and not lo <= q <= hi, msg
    # The range named is exact: (1, 1, 1) chunks quantize to q itself (the length-1 DCT is the
    # identity); its ends encode, one past either end is refused naming the same range.
    for inside in (lo, 0, hi):
        tok.encode(np.full((1, 1, 1), inside / tok.scale), check_shape=False)
    for outside in (lo - 1, hi + 1):
        one = np.full((1, 1, 1), outside / tok.scale)  # a (1, 1) probe of one coefficient
        msg = _raises(actok.EncodeError, tok.encode, one, check_shape=False)
        assert f"quantized coefficient {outside} is outside {lo} to {hi}" in msg, msg


def _byte_subset_dir(tmp_path: Path, keep) -> Path:
    """The bundled config with a merge-free vocab of the byte-level symbols of bytes ``keep``."""
    tj = json.loads((BUNDLED / "tokenizer.json").read_text())
    symbols = sorted(BYTE_TO_SYMBOL[b] for b in range(256) if keep(b))
    tj["model"]["vocab"] = {s: i for i, s in enumerate(symbols)}
    tj["model"]["merges"] = []
    return _write_dir(tmp_path / "subset", tj)


def test_encode_beyond_the_vocab_clips_to_the_nearest_code(tmp_path):
    """Without the lead bytes of 3-byte UTF-8, codes from U+0800 up are beyond the vocab."""
    sub = actok.FastTokenizer.from_pretrained(_byte_subset_dir(tmp_path, lambda b: b < 0xE0))
    x = _with_q(sub, 2, 7, sub.min_token + 0x800 + 40)
    msg = _raises(actok.EncodeError, sub.encode, x)
    assert _names(msg, 2, 7, "not in the vocabulary"), msg
    q = _quantized(sub, sub.encode(x, on_overflow="clip"))
    assert q[2, 7] == sub.min_token + 0x7FF


# --------------------------------------------------------------------------------------------
# Ids given to decode
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def seqs(tok) -> list[list[int]]:
    """Four valid (H, D) sequences of several tokens each."""
    out = tok.encode(_chunks(tok))
    assert all(len(s) >= 3 for s in out)
    return out


def _with_id(seqs: list[list[int]], chunk: int, position: int, bad: object) -> list[list]:
    out = [list(s) for s in seqs]
    out[chunk].insert(position, bad)
    return out


@pytest.mark.parametrize(
    "bad",
    [-5, -(2**63), 1024, 2**31, 2**32 + 300, 2**63 - 1],
    ids=["-5", "int64_min", "vocab_len", "2^31", "2^32+300", "int64_max"],
)
def test_decode_unknown_id_names_chunk_position_and_id(tok, seqs, bad):
    """Including 2^32 + 300, which must not wrap around to the valid id 300."""
    assert tok._inner.vocab_len == 1024
    msg = _raises(actok.DecodeError, tok.decode, _with_id(seqs, 2, 1, bad), H, D)
    assert _names(msg, 2, 1, bad), msg
    out, valid = tok.decode(_with_id(seqs, 2, 1, bad), H, D, on_error="zeros", return_valid=True)
    assert valid.tolist() == [True, True, False, True] and not out[2].any()


@pytest.mark.parametrize("bad", [2**63, 2**64 + 1, 10**30], ids=["2^63", "2^64+1", "1e30"])
def test_decode_id_beyond_int64_names_it(tok, seqs, bad):
    msg = _raises(actok.DecodeError, tok.decode, _with_id(seqs, 3, 2, bad), H, D)
    assert _names(msg, 3, 2, bad), msg
    out, valid = tok.decode(_with_id(seqs, 3, 2, bad), H, D, on_error="zeros", return_valid=True)
    assert valid.tolist() == [True, True, True, False]


def test_decode_uint64_array_beyond_int64_names_the_real_id(tok):
    ids = np.array([[300, 2**63 + 5, 301]], dtype=np.uint64)
    msg = _raises(actok.DecodeError, tok.decode, ids, 1, 3)
    assert _names(msg, 0, 1, 2**63 + 5), msg
    lengths = np.array([3])
    msg = _raises(actok.DecodeError, tok.decode, (ids, lengths), 1, 3)
    assert _names(msg, 0, 1, 2**63 + 5), msg


def test_decode_uint64_padding_beyond_int64_is_ignored(tok, seqs):
    """Only the first ``lengths[b]`` ids of a padded row are tokens; padding may hold anything."""
    ids, lengths = tok.encode_batch(_chunks(tok), pad_id=0)
    wide = np.full((ids.shape[0], ids.shape[1] + 2), 2**64 - 1, dtype=np.uint64)
    for b, n in enumerate(lengths):
        wide[b, :n] = ids[b, :n]
    np.testing.assert_array_equal(tok.decode((wide, lengths), H, D), tok.decode(seqs, H, D))


@pytest.mark.parametrize(
    "bad",
    [3.0, np.float64(3.0), "3", None, True, [3], b"\x03"],
    ids=["float", "np.float64", "str", "None", "bool", "list", "bytes"],
)
def test_decode_non_integer_id_names_chunk_and_position(tok, seqs, bad):
    msg = _raises(actok.DecodeError, tok.decode, _with_id(seqs, 1, 2, bad), H, D)
    assert _names(msg, 1, 2, repr(bad), "not an integer id"), msg


def test_decode_accepts_numpy_integer_ids(tok, seqs):
    as_numpy = [[np.int32(i) for i in s] for s in seqs]
    np.testing.assert_array_equal(tok.decode(as_numpy, H, D), tok.decode(seqs, H, D))
    rows = [np.array(s, dtype=np.uint16) for s in seqs]
    np.testing.assert_array_equal(tok.decode(rows, H, D), tok.decode(seqs, H, D))


@pytest.mark.parametrize(
    "tokens", ["abc", None, 7, iter([[1]])], ids=["str", "None", "int", "iter"]
)
def test_decode_tokens_of_the_wrong_kind(tok, tokens):
    msg = _raises(actok.ActokError, tok.decode, tokens, H, D)
    assert "list of id lists" in msg, msg


@pytest.mark.parametrize("row", [5, "abc"], ids=["int_row", "str_row"])
def test_decode_row_that_is_not_a_list_names_the_chunk(tok, seqs, row):
    bad = [list(s) for s in seqs]
    bad[2] = row
    msg = _raises(actok.DecodeError, tok.decode, bad, H, D)
    assert _names(msg, 2, "list of ids"), msg


def test_decode_empty_batch_is_an_empty_array(tok):
    out, valid = tok.decode([], H, D, return_valid=True)
    assert out.shape == (0, H, D) and out.dtype == np.float64 and valid.shape == (0,)
    # no work to do: a huge horizon is not even planned
    assert tok.decode([], 10**12, 1).shape == (0, 10**12, 1)


def test_decode_empty_row_in_a_batch_names_it(tok, seqs):
    bad = [list(s) for s in seqs]
    bad[1] = []
    msg = _raises(actok.DecodeError, tok.decode, bad, H, D)
    assert _names(msg, 1, 0, H * D), msg


def test_decode_truncated_sequence_names_the_counts(tok, seqs):
    """Dropping the last token leaves fewer coefficients than H x D: the error says how many."""
    bad = [list(s) for s in seqs]
    bad[3] = bad[3][:-1]
    got = tok.decode([bad[3]], H, D, on_error="pad")  # the prefix, zero-filled
    msg = _raises(actok.DecodeError, tok.decode, bad, H, D)
    assert _names(msg, 3, H * D, "expected") and "coefficients" in msg, msg
    q = np.around(scipy.fft.dct(got[0], axis=0, norm="ortho") * tok.scale).ravel()
    full = _quantized(tok, seqs)[3]
    n = int(re.search(r"decode to (\d+) coefficients", msg).group(1))
    assert n < H * D
    np.testing.assert_array_equal(q[:n], full[:n])
    assert (q[n:] == 0).all()


def test_decode_extra_tokens_names_the_counts(tok, seqs):
    bad = [list(s) for s in seqs]
    bad[0] = bad[0] + seqs[1][:2]
    msg = _raises(actok.DecodeError, tok.decode, bad, H, D)
    assert _names(msg, 0, H * D) and "expected" in msg, msg
    # pad keeps the first H x D coefficients: here exactly the original chunk
    np.testing.assert_allclose(
        tok.decode(bad, H, D, on_error="pad")[0], tok.decode(seqs, H, D)[0], atol=1e-12
    )


def test_decode_invalid_utf8_names_the_byte_offset(tok, oracle):
    """A lone UTF-8 lead byte after two ASCII-range characters: invalid at byte 2."""
    vocab = oracle[0].get_vocab()
    a = vocab[BYTE_TO_SYMBOL[ord("A")]]
    lead = vocab[BYTE_TO_SYMBOL[0xE2]]
    msg = _raises(actok.DecodeError, tok.decode, [[a, a, lead, a]], 1, 4)
    assert _names(msg, 0, "invalid UTF-8", "byte 2"), msg


def test_decode_literal_replacement_character_is_a_value(tok, oracle):
    """The bytes EF BF BD are valid UTF-8 for U+FFFD, a character like any other: it decodes to
    the coefficient (0xFFFD + min_token) / scale, and encoding that coefficient gives it back."""
    vocab = oracle[0].get_vocab()
    ids = [vocab[BYTE_TO_SYMBOL[b]] for b in b"\xef\xbf\xbd"]
    out, valid = tok.decode([ids], 1, 1, return_valid=True)
    assert valid.all()
    assert out[0, 0, 0] == (0xFFFD + tok.min_token) / tok.scale  # the IDCT of length 1 is exact
    again = tok.encode(out)
    assert oracle[0].decode(again[0]) == "\ufffd"
    np.testing.assert_array_equal(tok.decode(again, 1, 1), out)


def test_decode_wrong_shape_names_expected_count(tok, seqs):
    """(6, 5) sequences read as (3, 5): 30 coefficients where 15 were expected."""
    msg = _raises(actok.DecodeError, tok.decode, seqs, 3, D)
    assert _names(msg, 0, 30, 15), msg


def test_decode_shape_too_large_to_allocate_is_an_error(tok, seqs):
    """8 TB of output: an error naming the shape, not an abort of the process."""
    msg = _raises(actok.ActokError, tok.decode, seqs, 10**6, 10**6)
    assert _names(msg, "(1000000, 1000000)", "memory"), msg


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_horizon": 0},
        {"time_horizon": True},
        {"time_horizon": 6.0},
        {"action_dim": "5"},
        {"action_dim": -5},
    ],
    ids=["H=0", "H=True", "H=6.0", "D='5'", "D=-5"],
)
def test_decode_bad_shape_argument_names_it(tok, seqs, kwargs):
    full = {"time_horizon": H, "action_dim": D, **kwargs}
    msg = _raises(actok.ActokError, tok.decode, seqs, **full)
    (name,) = kwargs
    assert name in msg and repr(kwargs[name]) in msg, msg


def test_decode_to_a_dimension_the_normalizer_is_not_for(tok, seqs):
    """Decoding has no actions: a normalizer for other dimensions is reported in terms of the
    shape asked for and the likely cause (ids from another tokenizer), not of "actions"."""
    norm = actok.Normalizer.fit(np.arange(30.0).reshape(10, 3), kind="minmax")
    with_norm = tok.with_normalizer(norm)
    msg = _raises(actok.ActokError, with_norm.decode, seqs, H, D)
    for words in (f"cannot decode to action_dim={D}", "3-dimensional", "another tokenizer"):
        assert words in msg, msg
    assert "actions have" not in msg, msg
    # encode keeps its own words: there, the actions are what disagrees
    msg = _raises(actok.ActokError, with_norm.encode, np.zeros((H, D)))
    assert f"actions have {D} dimensions" in msg, msg


def test_decode_padded_rows_without_lengths_says_to_pass_them(tok):
    """encode_batch's padded ids given without their lengths: the padding is read as tokens;
    the error says to pass the lengths. A rectangle of rows that really are whole decodes."""
    chunks = _chunks(tok, 6)
    ids, lengths = tok.encode_batch(chunks)
    assert (lengths < ids.shape[1]).any()
    msg = _raises(actok.DecodeError, tok.decode, ids, H, D)
    for words in ("padded", "encode_batch", "decode((ids, lengths))", f"6x{ids.shape[1]} array"):
        assert words in msg, msg
    np.testing.assert_array_equal(
        tok.decode((ids, lengths), H, D), tok.decode(tok.encode(chunks), H, D)
    )
    # Rows of one length: a legitimate rectangle, decoded as such.
    whole = ids[lengths == lengths.max()]
    np.testing.assert_array_equal(tok.decode(whole, H, D), tok.decode(whole.tolist(), H, D))
    # Lists of lists carry no such hint (nothing says they were padded).
    msg = _raises(actok.DecodeError, tok.decode, ids.tolist(), H, D)
    assert "lengths" not in msg, msg


def test_decode_without_a_shape_names_what_the_config_records(tok, seqs):
    """The bundled tokenizer's config records time_horizon 20 and no action_dim: the message
    says so in Python's terms (it once printed Rust's ``Some(20)`` and ``None``)."""
    recorded = actok.FastTokenizer.from_pretrained(BUNDLED)  # ``tok`` records no horizon
    msg = _raises(actok.ActokError, recorded.decode, seqs)
    assert "pass time_horizon and action_dim" in msg, msg
    assert "records time_horizon=20 and no action_dim" in msg, msg
    assert "Some" not in msg and "None" not in msg, msg


def test_decode_padded_pair_with_mismatched_rows(tok):
    ids, lengths = tok.encode_batch(_chunks(tok))
    msg = _raises(actok.ActokError, tok.decode, (ids, np.append(lengths, 3)), H, D)
    assert _names(msg, ids.size, len(lengths) + 1, ids.shape[1], "lengths"), msg


def test_decode_padded_pair_of_floats_names_the_dtype(tok):
    ids, lengths = tok.encode_batch(_chunks(tok))
    msg = _raises(actok.ActokError, tok.decode, (ids.astype(np.float64), lengths), H, D)
    assert "float64" in msg, msg


@pytest.mark.parametrize(
    "kwargs", [{"max_length": True}, {"max_length": 2.5}, {"pad_id": True}, {"pad_id": 2**31}]
)
def test_encode_batch_bad_padding_arguments(tok, kwargs):
    msg = _raises(actok.ActokError, tok.encode_batch, _chunks(tok), **kwargs)
    (name,) = kwargs
    assert name in msg and repr(kwargs[name]) in msg, msg


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------
def _write_dir(
    path: Path, tokenizer: object = None, config: object = None, raw: bool = False
) -> Path:
    """A FAST directory: the bundled files (the config as :func:`_universal_config`), with
    ``tokenizer.json`` / ``processor_config.json`` replaced by ``tokenizer`` / ``config`` (a dict
    is dumped as JSON; str and bytes are written as they are)."""
    path.mkdir(parents=True)
    if config is None:
        config = _universal_config()
    for name, content in (("tokenizer.json", tokenizer), ("processor_config.json", config)):
        if content is None:
            shutil.copy(BUNDLED / name, path / name)
        elif isinstance(content, bytes):
            (path / name).write_bytes(content)
        elif isinstance(content, str):
            (path / name).write_text(content, encoding="utf-8")
        else:
            (path / name).write_text(json.dumps(content), encoding="utf-8")
    return path


def _load_error(path: Path, file: str) -> str:
    """Loads ``path``, asserts a LoadError naming ``file`` inside it, returns the message."""
    msg = _raises(actok.LoadError, actok.FastTokenizer.from_pretrained, path)
    assert str(path / file) in msg, msg
    return msg


def _tokenizer_json() -> dict:
    return json.loads((BUNDLED / "tokenizer.json").read_text(encoding="utf-8"))


def _config_json() -> dict:
    return json.loads((BUNDLED / "processor_config.json").read_text())


@pytest.mark.parametrize(
    "content,needle",
    [
        ("hello", "line 1 column 1"),
        (lambda text: text[: len(text) // 2], "EOF while parsing"),
        ("\ufeff" + json.dumps({"model": {}}), "not valid JSON"),
        ("null", "JSON object at the top level"),
    ],
    ids=["not_json", "truncated", "bom", "null"],
)
def test_load_malformed_tokenizer_json(tmp_path, content, needle):
    if callable(content):
        content = content((BUNDLED / "tokenizer.json").read_text(encoding="utf-8"))
    msg = _load_error(_write_dir(tmp_path / "t", content), "tokenizer.json")
    assert needle in msg, msg


def test_load_non_utf8_names_the_byte_offset(tmp_path):
    raw = (BUNDLED / "tokenizer.json").read_bytes()
    bad = raw[:1000] + b"\xff" + raw[1000:]
    msg = _load_error(_write_dir(tmp_path / "t", bad), "tokenizer.json")
    assert _names(msg, "not UTF-8", 1000), msg


@pytest.mark.parametrize(
    "file,content",
    [
        ("tokenizer.json", "[" * 100_000 + "]" * 100_000),
        ("tokenizer.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
        ("processor_config.json", '{"scale": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ],
    ids=["tokenizer_arrays", "tokenizer_objects", "config_arrays"],
)
def test_load_deeply_nested_json_does_not_overflow_the_stack(tmp_path, file, content):
    kwargs = {"tokenizer" if file == "tokenizer.json" else "config": content}
    msg = _load_error(_write_dir(tmp_path / "t", **kwargs), file)
    assert "recursion limit" in msg, msg


def test_load_deep_nesting_inside_an_unknown_key(tmp_path):
    """Depth is limited wherever it is, also in a section actok does not interpret."""
    text = json.dumps(_tokenizer_json())
    text = text[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    msg = _load_error(_write_dir(tmp_path / "t", text), "tokenizer.json")
    assert "recursion limit" in msg, msg


def _edit_model(**changes) -> dict:
    tj = _tokenizer_json()
    for key, value in changes.items():
        if value is ...:
            del tj["model"][key]
        else:
            tj["model"][key] = value
    return tj


@pytest.mark.parametrize(
    "changes,needle",
    [
        ({"type": "Unigram"}, 'model type must be "BPE", got "Unigram"'),
        ({"type": ...}, 'model type must be "BPE", got nothing'),
        ({"vocab": {}, "merges": []}, "model.vocab is empty"),
        ({"vocab": ["a", "b"]}, "model.vocab must be an object"),
        ({"merges": {"a": "b"}}, "model.merges must be a list"),
        ({"dropout": 0.1}, "model.dropout"),
        ({"byte_fallback": True}, "model.byte_fallback"),
    ],
    ids=["unigram", "no_type", "empty_vocab", "vocab_list", "merges_dict", "dropout", "fallback"],
)
def test_load_unsupported_model(tmp_path, changes, needle):
    msg = _load_error(_write_dir(tmp_path / "t", _edit_model(**changes)), "tokenizer.json")
    assert needle in msg, msg


@pytest.mark.parametrize(
    "merge,needle",
    [
        (["not-a-token", "\u0100"], 'token "not-a-token" is not in the vocab'),
        (["\u0100", "\u0100"], 'token "\u0100\u0100" is not in the vocab'),
        (["\u0100", "\u0100", "\u0100"], 'must be "a b" or ["a", "b"]'),
        ("\u0100\u0100", 'is not "left right"'),
        ([1, 2], "must hold two strings"),
    ],
    ids=["unknown_left", "merged_missing", "three_parts", "no_space", "numbers"],
)
def test_load_bad_merge_names_its_rank(tmp_path, merge, needle):
    tj = _tokenizer_json()
    assert "\u0100\u0100" not in tj["model"]["vocab"]
    rank = len(tj["model"]["merges"])
    tj["model"]["merges"].append(merge)
    msg = _load_error(_write_dir(tmp_path / "t", tj), "tokenizer.json")
    assert f"model.merges[{rank}]" in msg and needle in msg, msg


@pytest.mark.parametrize(
    "token,value,needle",
    [
        ("\u0100", -1, "must be a non-negative integer, got -1"),
        ("\u0100", 1.5, "must be a non-negative integer, got 1.5"),
        ("\u0100", "3", 'must be a non-negative integer, got "3"'),
        ("\u0100", 2**40, "out of range"),
        ("\u0100", 5, "share id 5"),
        ("new-token", 1024, None),
        ("new-token", 1025, "out of range"),
    ],
    ids=["negative", "float", "string", "huge", "collision", "appended", "gap"],
)
def test_load_vocab_ids(tmp_path, oracle, token, value, needle):
    """Ids must be 0..N without gaps or collisions; a new token appended at N is fine."""
    tj = _tokenizer_json()
    tj["model"]["vocab"][token] = value
    path = _write_dir(tmp_path / "t", tj)
    if needle is None:
        grown = actok.FastTokenizer.from_pretrained(path)
        assert grown._inner.vocab_len == 1025
        x = np.zeros((2, H, D))
        assert grown.encode(x) == reference_encode(*oracle, x)
        return
    msg = _load_error(path, "tokenizer.json")
    assert needle in msg and repr(token).strip("'") in msg, msg


def test_id_ranges_are_stated_alike_and_inclusive(tmp_path, tok, seqs):
    """Decoding an unknown id and loading a vocabulary with an id out of range state the same
    inclusive range in the same words (not "0..1024" beside "0..1023")."""
    n = tok._inner.vocab_len
    words = f"valid ids are 0 to {n - 1}, inclusive"
    decode_msg = _raises(actok.DecodeError, tok.decode, _with_id(seqs, 0, 0, n), H, D)
    tj = _tokenizer_json()
    tj["model"]["vocab"]["\u0100"] = 2 * n
    load_msg = _load_error(_write_dir(tmp_path / "t", tj), "tokenizer.json")
    for msg in (decode_msg, load_msg):
        assert words in msg and ".." not in msg, msg
    ids, lengths = tok.encode_batch(_chunks(tok))
    msg = _raises(actok.ActokError, tok.decode, (ids, lengths + ids.shape[1]), H, D)
    assert f"is outside 0 to {ids.shape[1]}, inclusive" in msg, msg


def test_load_duplicated_key_takes_the_last_like_tokenizers(tmp_path, tok):
    """A token listed twice: the later id wins, as in ``tokenizers`` (serde maps); the earlier
    id is then held by the token it belongs to, so the file is consistent."""
    text = (BUNDLED / "tokenizer.json").read_text(encoding="utf-8")
    vocab = _tokenizer_json()["model"]["vocab"]
    first_id = vocab["\u0005"]
    text = text.replace('"vocab": {', f'"vocab": {{"\\u0100": {first_id}, ', 1)
    path = _write_dir(tmp_path / "t", text)
    dup = actok.FastTokenizer.from_pretrained(path)
    theirs = Tokenizer.from_file(str(path / "tokenizer.json"))
    assert theirs.token_to_id("\u0100") == vocab["\u0100"]
    x = _chunks(tok, 8, seed=4)
    assert dup.encode(x) == tok.encode(x)


def test_load_duplicated_key_colliding_with_another_id(tmp_path):
    """A later duplicate of a token takes the id another token holds: refused, naming both."""
    text = (BUNDLED / "tokenizer.json").read_text(encoding="utf-8")
    end_of_vocab = text.rindex("}", 0, text.index('"merges"'))
    text = text[:end_of_vocab] + ', "\\u0100": 5' + text[end_of_vocab:]
    msg = _load_error(_write_dir(tmp_path / "t", text), "tokenizer.json")
    assert _names(msg, "share id 5", "\u0100", "\\u{5}"), msg


def test_load_gigantic_vocab(tmp_path, oracle):
    """200,000 extra tokens no merge produces: loads, every id decodes, encoding is unchanged."""
    tj = _tokenizer_json()
    vocab = tj["model"]["vocab"]
    n = len(vocab)
    for i in range(200_000):
        vocab[f"zz{i:06d}"] = n + i
    path = _write_dir(tmp_path / "t", tj)
    big = actok.FastTokenizer.from_pretrained(path)
    assert big._inner.vocab_len == n + 200_000
    last = n + 199_999
    text = Tokenizer.from_file(str(path / "tokenizer.json")).decode([last])
    assert text == "zz199999"
    out = big.decode([[last]], 1, len(text), on_error="pad")
    want = (np.array([ord(c) for c in text]) + big.min_token) / big.scale
    np.testing.assert_allclose(out[0, 0], want, rtol=1e-15)
    x = _chunks(big, 8, seed=5)
    assert big.encode(x) == reference_encode(*oracle, x)


def test_load_gigantic_merge_list(tmp_path):
    """The merges repeated 300 times (about 190,000 entries): the last copy of each pair gives
    its rank, as in ``tokenizers``; loading stays quick and the ids match the oracle's."""
    tj = _tokenizer_json()
    tj["model"]["merges"] = tj["model"]["merges"] * 300
    path = _write_dir(tmp_path / "t", tj)
    big = actok.FastTokenizer.from_pretrained(path)
    theirs, cfg = load_reference(path)
    x = _chunks(big, 16, seed=6)
    assert big.encode(x) == reference_encode(theirs, cfg, x)


def _config_with(**changes) -> dict:
    cfg = _universal_config()
    for key, value in changes.items():
        if value is ...:
            del cfg[key]
        else:
            cfg[key] = value
    return cfg


@pytest.mark.parametrize(
    "config,needle",
    [
        (_config_with(scale=0), '"scale" must be a finite number > 0'),
        (_config_with(scale=-10), '"scale" must be a finite number > 0'),
        (_config_with(scale=5e-324), "inverse is finite"),
        (json.dumps(_config_with(scale=float("nan"))), "not valid JSON"),
        (json.dumps(_config_with(scale=float("inf"))), "not valid JSON"),
        ('{"scale": 1e400, "min_token": -354, "vocab_size": 1024}', "number out of range"),
        (_config_with(scale="10"), '"scale" must be a number, got "10"'),
        (_config_with(scale=None), '"scale" must be a number, got null'),
        (_config_with(scale=True), '"scale" must be a number, got true'),
        (_config_with(scale=...), 'missing "scale"'),
        (_config_with(min_token=...), 'missing "min_token"'),
        (_config_with(vocab_size=...), 'missing "vocab_size"'),
        (_config_with(min_token=2**63 - 1), '"min_token" must be between'),
        (_config_with(min_token=-(2**63)), '"min_token" must be between'),
        (_config_with(min_token=2**52 + 1), '"min_token" must be between'),
        (_config_with(min_token=2**64), '"min_token" must be an integer'),
        (_config_with(vocab_size=0), '"vocab_size" must be'),
        (_config_with(time_horizon=-1), '"time_horizon" must be'),
        (_config_with(action_dim="7"), '"action_dim" must be an integer, got "7"'),
        ("[1, 2]", "JSON object at the top level"),
    ],
    ids=[
        "scale0",
        "scale_negative",
        "scale_subnormal",
        "scale_nan",
        "scale_inf",
        "scale_1e400",
        "scale_string",
        "scale_null",
        "scale_bool",
        "no_scale",
        "no_min_token",
        "no_vocab_size",
        "min_token_int64_max",
        "min_token_int64_min",
        "min_token_2^52+1",
        "min_token_2^64",
        "vocab_size0",
        "time_horizon_negative",
        "action_dim_string",
        "top_level_list",
    ],
)
def test_load_bad_processor_config(tmp_path, config, needle):
    msg = _load_error(_write_dir(tmp_path / "t", config=config), "processor_config.json")
    assert needle in msg, msg


@pytest.mark.parametrize("vocab_size", [3, 10**12])
def test_load_vocab_size_disagreeing_with_the_vocab(tmp_path, tok, vocab_size):
    """``vocab_size`` is the fit's target and plays no part in encoding (the reference ignores it
    too): the file loads, reports both numbers and encodes exactly like the original."""
    other = actok.FastTokenizer.from_pretrained(
        _write_dir(tmp_path / "t", config=_config_with(vocab_size=vocab_size))
    )
    assert other.vocab_size == vocab_size and other._inner.vocab_len == 1024
    x = _chunks(tok, 8, seed=7)
    assert other.encode(x) == tok.encode(x)
    np.testing.assert_array_equal(
        other.decode(tok.encode(x), H, D), tok.decode(tok.encode(x), H, D)
    )


def test_load_broken_normalizer_file(tmp_path):
    """A broken ``actok_normalizer.json`` beside valid files is named, not ignored."""
    path = _write_dir(tmp_path / "t")
    (path / "actok_normalizer.json").write_text('{"kind": "quantile"')
    _load_error(path, "actok_normalizer.json")


def test_load_path_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("{}")
    msg = _raises(actok.LoadError, actok.FastTokenizer.from_pretrained, f)
    assert _names(msg, str(f), "not a directory"), msg


def test_load_path_with_nul_byte(tmp_path):
    msg = _raises(actok.LoadError, actok.FastTokenizer.from_pretrained, str(tmp_path) + "/a\0b")
    assert "NUL" in msg, msg


def test_load_path_of_the_wrong_type_is_a_type_error():
    _raises(TypeError, actok.FastTokenizer.from_pretrained, None)
    _raises(TypeError, actok.FastTokenizer.from_pretrained, 3)


def test_load_file_that_is_a_directory(tmp_path):
    """Unreadable even for root: ``tokenizer.json`` is a directory."""
    path = _write_dir(tmp_path / "t")
    (path / "tokenizer.json").unlink()
    (path / "tokenizer.json").mkdir()
    msg = _load_error(path, "tokenizer.json")
    assert "cannot access" in msg, msg


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads files without permission"
)
def test_load_unreadable_file(tmp_path):
    path = _write_dir(tmp_path / "t")
    (path / "processor_config.json").chmod(0)
    try:
        msg = _load_error(path, "processor_config.json")
        assert "ermission" in msg, msg
    finally:
        (path / "processor_config.json").chmod(0o644)


def test_encode_refuses_a_shape_other_than_the_fitted_one(tmp_path):
    """A tokenizer recording its horizon refuses other horizons (their tokens would mean other
    DCT frequencies, and decode would fail later with a coefficient count), naming both shapes
    and the opt-out; ``check_shape=False`` encodes them on purpose."""
    recorded = actok.FastTokenizer.from_pretrained(BUNDLED)
    assert recorded.time_horizon == 20
    x = np.zeros((2, H, D))
    for call in (recorded.encode, recorded.encode_batch):
        msg = _raises(actok.ActokError, call, x)
        assert _names(msg, f"({H}, {D})", "(20, any)", "horizon 20", "check_shape=False"), msg
    ids = recorded.encode(x, check_shape=False)
    universal = actok.FastTokenizer.from_pretrained(_write_dir(tmp_path / "t"))
    assert ids == universal.encode(x) and all(ids)
    assert recorded.encode(np.zeros((2, 20, D)))
    with pytest.raises(TypeError, match="check_shape must be True or False"):
        recorded.encode(x, check_shape="no")


# ------------------------------------------------------------------------------------------------
# Constrained decoding (tests/test_constraint.py has the semantics)
# ------------------------------------------------------------------------------------------------
def _complete(c: actok.Constraint) -> list[int]:
    ids = []
    while not c.is_complete:
        i = int(np.flatnonzero(c.mask())[0])
        c.advance(i)
        ids.append(i)
    return ids


def test_constraint_without_a_shape_names_what_the_config_records(tok):
    msg = _raises(actok.ActokError, tok.constraint)
    assert "pass time_horizon and action_dim" in msg, msg
    msg = _raises(actok.ActokError, tok.constraint_batch, 2, time_horizon=3)
    assert "no action_dim" in msg, msg


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"time_horizon": 0, "action_dim": 2}, "time_horizon must be a positive int"),
        ({"time_horizon": 2.0, "action_dim": 2}, "time_horizon must be a positive int"),
        ({"time_horizon": 2**40, "action_dim": 2**20}, "out of memory"),
    ],
)
def test_constraint_bad_shapes(tok, kwargs, needle):
    assert needle in _raises(actok.ActokError, tok.constraint, **kwargs)


@pytest.mark.parametrize("bad", [1.5, True, "3", None, np.float64(2.0)])
def test_constraint_advance_non_integer_id(tok, bad):
    c = tok.constraint(H, D)
    msg = _raises(actok.DecodeError, c.advance, bad)
    assert "token id must be an int" in msg and repr(bad) in msg, msg


@pytest.mark.parametrize("bad", [-1, 1024, 2**40, 2**70, -(2**200)])
def test_constraint_advance_unknown_id_names_id_position_and_state(tok, bad):
    c = tok.constraint(H, D)
    c.advance(int(np.flatnonzero(c.mask())[0]))
    msg = _raises(actok.DecodeError, c.advance, bad)
    shown = bad if abs(bad) < 2**127 else (2**127 - 1) * (1 if bad > 0 else -1)
    assert _names(msg, f"token id {shown} at position 1", "of 30 coefficients"), msg
    assert "valid ids are 0 to 1023, inclusive" in msg, msg
    assert c.position == 1


def test_constraint_advance_after_complete(tok):
    c = tok.constraint(2, 1)
    _complete(c)
    msg = _raises(actok.DecodeError, c.advance, 0)
    assert _names(msg, "after 2 of 2 coefficients", "the sequence is complete", "reset()"), msg
    assert not c.mask().any()


def test_constraint_advance_invalid_byte_names_the_pending_character(tok, oracle):
    ref, _ = oracle
    lead = ref.token_to_id(BYTE_TO_SYMBOL[0xC5])
    c = tok.constraint(H, D)
    c.advance(lead)
    msg = _raises(actok.DecodeError, c.advance, lead)
    assert _names(
        msg,
        f"token id {lead} at position 1",
        "with a character pending (1 more byte, the next in 80..BF)",
        "not valid UTF-8",
    ), msg


@pytest.mark.parametrize(
    "out, needle",
    [
        (np.zeros(1024, dtype=np.int8), "dtype bool"),
        (np.zeros(2048, dtype=bool)[::2], "C-contiguous"),
        (np.zeros((2, 512), dtype=bool), "1-D"),
        (np.zeros(1000, dtype=bool), "out has 1000"),
        ([False] * 1024, "numpy bool array"),
    ],
)
def test_constraint_mask_bad_out(tok, out, needle):
    msg = _raises(actok.ActokError, tok.constraint(H, D).mask, out)
    assert needle in msg, msg


def test_constraint_mask_read_only_out(tok):
    out = np.zeros(1024, dtype=bool)
    out.flags.writeable = False
    assert "read-only" in _raises(actok.ActokError, tok.constraint(H, D).mask, out)


@pytest.mark.parametrize(
    "out, needle",
    [
        (np.zeros((3, 1024), dtype=bool), "out has shape (3, 1024), but the masks are"),
        (np.zeros((1024, 2), dtype=bool), "(batch, width) = (2, 1024)"),
        (np.zeros(2048, dtype=bool), "out has shape (2048,)"),
        (np.zeros((2, 1024), dtype=np.float32), "dtype bool"),
        (np.zeros((2, 1024), dtype=bool, order="F"), "C-contiguous"),
    ],
)
def test_constraint_batch_mask_bad_out(tok, out, needle):
    msg = _raises(actok.ActokError, tok.constraint_batch(2, H, D).mask, out)
    assert needle in msg, msg


@pytest.mark.parametrize(
    "ids, exc, needle",
    [
        (np.array([1.0, 2.0]), actok.DecodeError, "integer array, got dtype float64"),
        (np.array([True, False]), actok.DecodeError, "dtype bool"),
        ([[1], [2]], actok.ActokError, "1-D array (one per row), got shape (2, 1)"),
        ([1, 2, 3], actok.ActokError, "one id per row: got 3 ids for 2 rows"),
        (["a", "b"], actok.DecodeError, "integer array"),
    ],
)
def test_constraint_batch_advance_bad_ids(tok, ids, exc, needle):
    msg = _raises(exc, tok.constraint_batch(2, H, D).advance, ids)
    assert needle in msg, msg


def test_constraint_batch_sentinel_end_and_finished_rows(tok):
    bc = tok.constraint_batch(2, 2, 1, model_vocab_size=1030, end_id=1027)
    first = int(np.flatnonzero(bc.mask()[0])[0])
    msg = _raises(actok.DecodeError, bc.advance, [first, -1])
    assert _names(msg, "row 1: token id -1 at position 0", "only for rows that are complete"), msg
    msg = _raises(actok.DecodeError, bc.advance, [first, 1027])
    assert _names(msg, "row 1: token id 1027", "only once the row is complete"), msg
    msg = _raises(actok.DecodeError, bc.advance, [first, 1025])
    assert _names(msg, "row 1: token id 1025", "neither the model id of an action token"), msg
    msg = _raises(actok.DecodeError, bc.advance, np.array([first, 2**64 - 1], dtype=np.uint64))
    assert _names(msg, f"token id {2**64 - 1}", "model ids are 0 to 1029, inclusive"), msg
    c = tok.constraint(2, 1)
    for i in _complete(c):
        bc.advance([i, i])
    bc.advance([1027, -1])
    assert list(bc.finished) == [True, False] and list(bc.is_complete) == [True, True]
    msg = _raises(actok.DecodeError, bc.advance, [0, -1])
    assert _names(msg, "row 0", "the row has ended; only the end id 1027 or the sentinel -1"), msg
    bc.advance([-1, 1027])
    bc.advance([1027, 1027])


@pytest.mark.parametrize(
    "kwargs, needle",
    [
        ({"vocab_map": np.arange(1024) + 5}, "vocab_map needs model_vocab_size"),
        ({"vocab_map": np.arange(1023), "model_vocab_size": 2000}, "vocab_map has 1023 entries"),
        (
            {"vocab_map": np.r_[np.arange(1023), 7], "model_vocab_size": 2000},
            "vocab_map[7] and vocab_map[1023] are both 7",
        ),
        (
            {"vocab_map": np.arange(1024) + 1000, "model_vocab_size": 2000},
            "vocab_map[1000] = 2000 is not a model id",
        ),
        (
            {"vocab_map": np.arange(1024) - 1, "model_vocab_size": 2000},
            "vocab_map[0] = -1 is not a model id",
        ),
        (
            {
                "vocab_map": np.r_[np.arange(1023, dtype=np.uint64), np.uint64(2**63)],
                "model_vocab_size": 2000,
            },
            f"vocab_map[1023] = {2**63} is beyond int64",
        ),
        ({"vocab_map": np.arange(1024.0), "model_vocab_size": 2000}, "1-D integer array"),
        ({"vocab_map": np.arange(1024)[None], "model_vocab_size": 2000}, "shape (1, 1024)"),
        (
            {"vocab_map": np.arange(1024), "model_vocab_size": 2000, "end_id": 17},
            "end_id 17 is the model id of action id 17",
        ),
        ({"model_vocab_size": 2000, "end_id": 2000}, "end_id 2000 is not a model id"),
        ({"end_id": -1}, "end_id -1 is not a model id"),
        ({"end_id": 5}, "end_id 5 is the model id of action id 5"),
        ({"model_vocab_size": 1000}, "model_vocab_size 1000 is smaller than the tokenizer's 1024"),
        ({"model_vocab_size": -1}, "model_vocab_size must be an int in [0, 2**63)"),
        ({"end_id": 1.5}, "end_id must be an int"),
    ],
)
def test_constraint_batch_bad_vocab_mapping(tok, kwargs, needle):
    msg = _raises(actok.ActokError, tok.constraint_batch, 2, H, D, **kwargs)
    assert needle in msg, msg


def test_openpi_vocab_map_too_small(tok):
    msg = _raises(actok.ActokError, actok.openpi_vocab_map, 1100, vocab_len=tok.vocab_len)
    assert _names(msg, "model_vocab_size 1100 cannot hold 1024 action ids", "at least 1152"), msg


def test_decode_prefix_bad_inputs(tok, seqs):
    msg = _raises(actok.DecodeError, tok.decode_prefix, [seqs[0] + seqs[0]], H, D)
    assert "expected 30" in msg, msg
    msg = _raises(actok.DecodeError, tok.decode_prefix, [[0, "x"]], H, D)
    assert "position 1 is 'x', not an integer id" in msg, msg
    assert "pass time_horizon" in _raises(actok.ActokError, tok.decode_prefix, seqs)
