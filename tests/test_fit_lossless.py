"""``FastTokenizer.fit`` with the default lossless alphabet, and fit's errors.

Round-trip bound: decoding returns ``idct(q / scale)`` where ``q = round(dct(x) * scale)``, so the
error is ``idct(e)`` with every coefficient error ``|e_k| <= 0.5 / scale``. The ortho IDCT along
time is orthonormal, so for each dimension the error vector's L2 norm equals ``||e||_2 <=
0.5 * sqrt(H) / scale``, which bounds every element's error too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
from fast_reference import load_reference, quantize, reference_decode, reference_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from lossless_range import lossless_range

from actok import ActokError, ClippingWarning, EncodeError, FastTokenizer, Normalizer


def random_walks(rng: np.random.Generator, n: int, h: int, d: int) -> np.ndarray:
    steps = rng.normal(scale=rng.uniform(0.02, 0.3), size=(n, h, d)).cumsum(axis=1)
    return np.clip(steps + rng.uniform(-0.5, 0.5, size=(n, 1, d)), -1, 1)


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(1, 16),
    d=st.integers(1, 4),
    scale=st.sampled_from([1.0, 5.0, 10.0, 25.0]),
    vocab_size=st.sampled_from([256, 400, 1024]),
    placement=st.sampled_from(["reference", "auto", "shifted", "far"]),
)
def test_every_chunk_in_the_fitted_range_round_trips(seed, h, d, scale, vocab_size, placement):
    """Whatever the placement (the reference one, chosen from data, or a fixed ``min_token``
    putting the range on two- or three-byte characters), every coefficient of the range
    round-trips."""
    rng = np.random.default_rng(seed)
    train = random_walks(rng, 40 if placement != "auto" else 120, h, d)
    lo, hi = lossless_range(train, scale)
    fixed = {"shifted": lo - 0x100, "far": lo - 0x4E00}
    tok = FastTokenizer.fit(train, scale, vocab_size, placement=fixed.get(placement, placement))
    if placement == "reference":
        assert tok.min_token == lo
    elif placement in fixed:
        assert tok.min_token == fixed[placement]
    assert tok.min_token <= lo
    # Fresh chunks whose coefficients are anywhere in the fitted range, most never seen in
    # training, each perturbed below half a quantization step.
    q = rng.integers(lo, hi + 1, size=(30, h, d)).astype(np.float64)
    q[0] = lo
    q[1] = hi
    x = scipy.fft.idct((q + rng.uniform(-0.49, 0.49, size=q.shape)) / scale, axis=1, norm="ortho")
    assert np.array_equal(quantize(x, scale).reshape(q.shape), q)
    ids = tok.encode(x)
    decoded = tok.decode(ids, h, d)
    bound = 0.5 * math.sqrt(h) / scale
    assert np.max(np.abs(decoded - x)) <= bound * (1 + 1e-9) + 1e-12
    # Decoding gives back exactly the quantized chunk.
    exact = scipy.fft.idct(q / scale, axis=1, norm="ortho")
    np.testing.assert_allclose(decoded, exact, rtol=0, atol=1e-12)


def test_reference_processor_loads_a_lossless_fit_and_agrees(tmp_path):
    rng = np.random.default_rng(3)
    train = random_walks(rng, 300, 10, 3)
    tok = FastTokenizer.fit(train, 10, 600)
    tok.save_pretrained(tmp_path)
    ref_tok, cfg = load_reference(tmp_path)
    lo, hi = lossless_range(train, 10)
    test = random_walks(rng, 400, 10, 3)
    q = quantize(test, 10)
    test = test[(q.min(axis=1) >= lo) & (q.max(axis=1) <= hi)]
    assert len(test) > 100
    ids = tok.encode(test)
    assert ids == reference_encode(ref_tok, cfg, test)
    np.testing.assert_allclose(
        reference_decode(ref_tok, cfg, ids, 10, 3), tok.decode(ids, 10, 3), rtol=0, atol=1e-12
    )
    # No dead raw-character entries: every vocabulary entry is byte-level text.
    vocab = ref_tok.get_vocab()
    assert not any(chr(c) in vocab for c in range(33))


def test_outside_the_range_raises_or_clips():
    rng = np.random.default_rng(5)
    train = random_walks(rng, 50, 8, 2)
    tok = FastTokenizer.fit(train, 10, 300)
    q = np.zeros((1, 8, 2))
    q[0, 0, 0] = tok.min_token - 1
    x = scipy.fft.idct(q / 10, axis=1, norm="ortho")
    with pytest.raises(EncodeError, match=r"chunk 0 at flattened index 0.*below min_token"):
        tok.encode(x)
    clipped = tok.decode(tok.encode(x, on_overflow="clip"), 8, 2)
    expected = np.zeros_like(q)
    expected[0, 0, 0] = tok.min_token
    np.testing.assert_allclose(
        clipped, scipy.fft.idct(expected / 10, axis=1, norm="ortho"), atol=1e-12
    )


def test_chunk_lists_and_dtypes_agree():
    rng = np.random.default_rng(9)
    train = random_walks(rng, 60, 6, 2)
    a = FastTokenizer.fit(train, 10, 300)
    b = FastTokenizer.fit(list(train), 10, 300)
    c = FastTokenizer.fit(train.astype(np.float32).astype(np.float64), 10, 300)
    d = FastTokenizer.fit(train.astype(np.float32), 10, 300)
    assert a._inner.tokenizer_json() == b._inner.tokenizer_json()
    assert c._inner.tokenizer_json() == d._inner.tokenizer_json()


def test_progress_bar_goes_to_stderr(capfd):
    FastTokenizer.fit(random_walks(np.random.default_rng(1), 30, 5, 2), 10, 300, progress=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert "merges" in err and "range" in err


GOOD = np.zeros((4, 5, 2))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: FastTokenizer.fit(np.zeros((0, 5, 2))), "empty corpus"),
        (lambda: FastTokenizer.fit([]), "empty corpus"),
        (lambda: FastTokenizer.fit(np.zeros((3, 0, 2))), r"\(0, 2\) are empty"),
        (lambda: FastTokenizer.fit(np.zeros((3, 5, 0))), r"\(5, 0\) are empty"),
        (lambda: FastTokenizer.fit(np.zeros((3, 5))), r"shape \(N, H, D\)"),
        (lambda: FastTokenizer.fit(GOOD, scale=0), "scale must be a finite number > 0"),
        (lambda: FastTokenizer.fit(GOOD, scale=-1.0), "scale must be a finite number > 0"),
        (lambda: FastTokenizer.fit(GOOD, scale=float("nan")), "scale must be a finite"),
        (lambda: FastTokenizer.fit(GOOD, vocab_size=0), "vocab_size must be an int >= 1"),
        (lambda: FastTokenizer.fit(GOOD, alphabet="bytes"), "alphabet must be"),
        (lambda: FastTokenizer.fit(GOOD, min_frequency=-1), "min_frequency"),
        (
            lambda: FastTokenizer.fit(np.linspace(-1, 1, 40).reshape(4, 5, 2), 100, 10),
            "smaller than the .* byte-level",
        ),
        (
            lambda: FastTokenizer.fit(
                np.linspace(-1, 1, 40).reshape(4, 5, 2), 100, 10, alphabet="reference"
            ),
            "too small for the range of tokens",
        ),
        (lambda: FastTokenizer.fit(GOOD * 0 + 1e6, 1e6), "are the actions normalized"),
        (
            lambda: FastTokenizer.fit([np.zeros((5, 2)), np.zeros((5, 2)), np.zeros((4, 2))]),
            r"chunks\[2\] has shape \(4, 2\)",
        ),
        (lambda: FastTokenizer.fit("abc"), "chunks must be"),
        (lambda: FastTokenizer.fit(np.zeros((2, 3, 2), dtype=complex)), "real numbers"),
    ],
)
def test_errors_are_clear(call, message):
    with pytest.raises(ActokError, match=message):
        call()


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_values_are_named(bad):
    chunks = np.zeros((4, 5, 3))
    chunks[2, 3, 1] = bad
    with pytest.raises(ActokError, match=r"chunk 2 .* at flattened index 10 \(time step 3"):
        FastTokenizer.fit(chunks)


def test_a_clipping_normalizer_bounds_the_margin():
    """Values a clipping normalizer saturates at its limit for a whole chunk give the largest DC
    coefficient there is (``scale * sqrt(H)``): the alphabet reserves nothing beyond it, and every
    chunk still encodes, however far out, since the normalizer clips it first. Without clipping
    the margin stays whole: new data may go beyond the training's extremes."""
    rng = np.random.default_rng(5)
    raw = random_walks(rng, 200, 15, 4) * 3.0
    raw[:5] = 3.0
    raw[5:10] = -3.0
    steps = raw.reshape(-1, 4)
    clip = Normalizer.fit(steps, "minmax", out_of_range="clip")
    normalized = clip.apply(raw)
    bound = math.ceil(10 * math.sqrt(15))
    assert lossless_range(normalized, 10, clipped_peak=1.0) == (-bound, bound)
    tok = FastTokenizer.fit(raw, 10, 512, normalizer=clip, placement="reference")
    assert tok.min_token == -bound
    fresh = rng.uniform(-8, 8, size=(200, 15, 4))
    fresh[0] = 3.0
    fresh[1] = -8.0  # beyond the clip range (within what the normalizer refuses as far out)
    with pytest.warns(ClippingWarning):
        ids = tok.encode(fresh)
    assert len(ids) == 200
    np.testing.assert_allclose(tok.decode(ids[:1], 15, 4)[0], fresh[0], atol=0.1)
    keep = FastTokenizer.fit(
        raw, 10, 512, normalizer=clip.with_out_of_range("keep"), placement="reference"
    )
    assert keep.min_token == lossless_range(normalized, 10)[0] < -bound
