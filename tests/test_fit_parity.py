"""``FastTokenizer.fit(alphabet="reference")`` against the reference ``fit``.

The oracle is ``fast_reference.train_reference_tokenizer``: scipy + the ``tokenizers``
``BpeTrainer`` with the FAST recipe. The files actok writes must hold the same vocabulary (token
string -> id), the same merges in the same order, and the same ``min_token``/``scale``/
``vocab_size``, on synthetic corpora built to produce many equal pair counts (so the tie rules
decide), with ``max_token_length`` small enough to bind, on corpora whose scaled coefficients sit
exactly on ``k + 0.5`` (so the rounding rule decides: ``np.around`` rounds half to even), and on
real robot data.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.fft
from conftest import quantile_normalize
from fast_reference import chunk_from_q, train_reference_tokenizer
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from actok import FastTokenizer


def _model(directory: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    model = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in model["merges"]]
    return model["vocab"], merges


def assert_same_fit(
    chunks: np.ndarray,
    scale: float,
    vocab_size: int,
    tmp: Path,
    *,
    min_frequency: int = 2,
    max_token_length: int = 10000,
) -> FastTokenizer:
    ref_dir = train_reference_tokenizer(
        list(chunks),
        scale,
        vocab_size,
        tmp / "reference",
        min_frequency=min_frequency,
        max_token_length=max_token_length,
    )
    ours = FastTokenizer.fit(
        chunks,
        scale,
        vocab_size,
        alphabet="reference",
        min_frequency=min_frequency,
        max_token_length=max_token_length,
    )
    ours.save_pretrained(tmp / "actok")
    ref_vocab, ref_merges = _model(ref_dir)
    vocab, merges = _model(tmp / "actok")
    assert len(vocab) == len(ref_vocab)
    assert vocab == ref_vocab
    assert len(merges) == len(ref_merges)
    assert merges == ref_merges
    ref_cfg = json.loads((ref_dir / "processor_config.json").read_text())
    cfg = json.loads((tmp / "actok" / "processor_config.json").read_text())
    for key in ("min_token", "scale", "vocab_size"):
        assert cfg[key] == ref_cfg[key], key
    # The reference leaves the decode shape null; actok records the shape it was fitted on.
    assert (cfg["time_horizon"], cfg["action_dim"]) == np.shape(chunks)[1:]
    assert cfg["processor_class"] == ref_cfg["processor_class"]
    assert ours.min_token == ref_cfg["min_token"]
    return ours


def _draw_corpus(draw, *, heights, magnitude, max_values, scales, build):
    """``(N, H, D)`` chunks built by ``build(q, scale)`` from integer matrices ``q`` drawn from a
    few values, some chunks repeated (identical pieces are counted together), and the scale."""
    h = draw(st.integers(*heights))
    d = draw(st.integers(1, 3))
    n = draw(st.integers(2, 40))
    values = draw(
        st.lists(st.integers(-magnitude, magnitude), min_size=2, max_size=max_values, unique=True)
    )
    q = draw(
        st.lists(
            st.lists(st.sampled_from(values), min_size=h * d, max_size=h * d),
            min_size=n,
            max_size=n,
        )
    )
    repeats = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    scale = draw(st.sampled_from(scales))
    chunks = [
        build(np.array(row, dtype=np.float64).reshape(h, d), scale)
        for row, r in zip(q, repeats)
        for _ in range(r)
    ]
    return np.stack(chunks), scale


@st.composite
def tie_heavy_corpora(draw):
    """Chunks whose quantized coefficients come from a few values: many equal pair counts."""
    return _draw_corpus(
        draw,
        heights=(1, 6),
        magnitude=70,
        max_values=6,
        scales=[1.0, 10.0, 4.5],
        build=chunk_from_q,
    )


@settings(max_examples=60)
@given(
    corpus=tie_heavy_corpora(),
    vocab_size=st.sampled_from([256, 300, 400, 600]),
    max_token_length=st.sampled_from([2, 3, 4, 5, 6, 10000]),
    min_frequency=st.sampled_from([0, 1, 2, 3]),
)
def test_synthetic_corpora_match_the_reference(
    corpus, vocab_size, max_token_length, min_frequency, tmp_path_factory
):
    chunks, scale = corpus
    assert_same_fit(
        chunks,
        scale,
        vocab_size,
        tmp_path_factory.mktemp("fit"),
        min_frequency=min_frequency,
        max_token_length=max_token_length,
    )


# --------------------------------------------------------------------------------------------
# Rounding ties: scaled coefficients exactly on k + 0.5
# --------------------------------------------------------------------------------------------
def chunk_from_halves(q: np.ndarray, scale: float) -> np.ndarray:
    """An (H, D) chunk whose scaled DCT is ``q + 0.5`` up to scipy's rounding errors: the inverse
    DCT of ``(q + 0.5) / scale`` (exact division for a power-of-two ``scale``). Many of its scaled
    coefficients come back from scipy's forward DCT *exactly* on ``k + 0.5`` (counted by
    :func:`rounding_ties`), the others within an ulp or so of it."""
    return scipy.fft.idct((np.asarray(q, dtype=np.float64) + 0.5) / scale, axis=0, norm="ortho")


def rounding_ties(chunks: np.ndarray, scale: float) -> tuple[int, int]:
    """``(ties, deciding)``: scaled scipy coefficients of ``chunks`` (B, H, D) exactly on
    ``k + 0.5``, and how many of those round differently half to even (``np.around``, the
    reference) and half away from zero (so a rounding-mode error changes the corpus)."""
    scaled = scipy.fft.dct(np.asarray(chunks, dtype=np.float64), axis=1, norm="ortho") * scale
    tie = np.abs(scaled - np.floor(scaled)) == 0.5
    away = np.where(scaled < 0, np.ceil(scaled - 0.5), np.floor(scaled + 0.5))
    return int(tie.sum()), int((tie & (np.around(scaled) != away)).sum())


@st.composite
def exact_tie_corpora(draw):
    """Like :func:`tie_heavy_corpora`, but the coefficients drawn are half-integers ``k + 0.5``
    and the scale is a power of two: up to 40% of the scaled coefficients are exact ties (none for
    ``H = 1``, where scipy's batched transform is off by an ulp, so ``H`` starts at 2)."""
    return _draw_corpus(
        draw,
        heights=(2, 8),
        magnitude=40,
        max_values=5,
        scales=[1.0, 2.0, 8.0, 16.0],
        build=chunk_from_halves,
    )


@settings(max_examples=60)
@given(
    corpus=exact_tie_corpora(),
    vocab_size=st.sampled_from([256, 300, 400]),
    max_token_length=st.sampled_from([2, 3, 10000]),
    min_frequency=st.sampled_from([0, 1, 2]),
)
def test_exact_rounding_ties_match_the_reference(
    corpus, vocab_size, max_token_length, min_frequency, tmp_path_factory
):
    chunks, scale = corpus
    _, deciding = rounding_ties(chunks, scale)
    assume(deciding > 0)  # most draws; the others could not tell the rounding modes apart
    assert_same_fit(
        chunks,
        scale,
        vocab_size,
        tmp_path_factory.mktemp("fit"),
        min_frequency=min_frequency,
        max_token_length=max_token_length,
    )


@pytest.mark.parametrize("scale", [1.0, 4.0, 16.0])
@pytest.mark.parametrize(("h", "d"), [(2, 2), (3, 2), (4, 3), (8, 2), (15, 1), (16, 4)])
def test_exact_rounding_ties_fixed_corpora(h, d, scale, tmp_path):
    """Deterministic corpora of half-integer coefficients: thousands of exact ties, a large share
    of which the reference rounds to even where rounding half away from zero would not."""
    rng = np.random.default_rng(100 * h + d + int(scale))
    q = rng.integers(-6, 6, size=(300, h, d))
    chunks = np.stack([chunk_from_halves(row, scale) for row in q])
    ties, deciding = rounding_ties(chunks, scale)
    assert ties >= 0.1 * chunks.size and deciding >= 0.05 * chunks.size, (ties, deciding)
    assert_same_fit(chunks, scale, 300, tmp_path, max_token_length=4)


def test_smooth_random_walks_match_the_reference(tmp_path):
    rng = np.random.default_rng(7)
    steps = rng.normal(scale=0.05, size=(600, 20, 4)).cumsum(axis=1)
    chunks = np.clip(steps, -1, 1).astype(np.float32)
    for vocab_size, max_len in ((1024, 10000), (512, 4)):
        assert_same_fit(
            chunks, 10, vocab_size, tmp_path / f"{vocab_size}", max_token_length=max_len
        )


def one_second_chunks(shared_data, name: str) -> np.ndarray:
    """Non-overlapping 1-second chunks of every episode, quantile-normalized per dimension."""
    ds = shared_data[name]
    normalized = quantile_normalize(ds.actions)
    out = []
    for episode in np.split(normalized, ds.episode_ends[:-1]):
        n = len(episode) // ds.fps
        if n:
            out.append(episode[: n * ds.fps].reshape(n, ds.fps, -1))
    return np.concatenate(out)


@pytest.mark.parametrize(
    ("name", "vocab_size", "max_token_length"),
    [
        ("droid_joint_8d", 1024, 10000),
        ("droid_joint_8d", 4096, 10000),
        ("droid_cart_6d", 2048, 10000),
        ("pusht_2d", 256, 10000),
        ("pusht_2d", 1024, 3),
        ("bridge_7d", 256, 10000),
        ("robosuite_lift_7d", 512, 10000),
        ("robosuite_wipe_6d", 300, 10000),
    ],
)
def test_real_data_matches_the_reference(shared_data, name, vocab_size, max_token_length, tmp_path):
    assert name in shared_data, f"{name} not in ../shared/data"
    chunks = one_second_chunks(shared_data, name)
    assert_same_fit(chunks, 10, vocab_size, tmp_path, max_token_length=max_token_length)
