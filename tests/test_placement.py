"""``FastTokenizer.fit(placement=..., target_rmse=...)``: where the coefficients land in Unicode
(``min_token``) and the scale chosen for an error target.

Every placement must write a directory the reference processor recipe (``tokenizers`` + the
spec's encode, ``fast_reference``) loads and encodes to actok's ids exactly, and decodes to
actok's actions: the reference placement, the one ``auto`` chooses, and fixed ``min_token``s
that put the range on two-byte letters, on three-byte CJK letters, and up against U+D7FF (the
largest ``|min_token|`` a range can have). ``auto`` and ``target_rmse`` record what they chose
(``fit_report``); the figures recorded are recomputed here from the public API.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from conftest import REAL_FILES, SHARED_DATA, require_shared_data
from fast_reference import load_reference, oracle_encode, quantize, reference_decode
from hypothesis import given, settings
from hypothesis import strategies as st
from lossless_range import lossless_range

import actok
from actok import ActokError, FastTokenizer
from actok._cli import main


def walks(rng: np.random.Generator, n: int, h: int, d: int, step: float = 0.08) -> np.ndarray:
    x = rng.normal(scale=step, size=(n, h, d)).cumsum(axis=1)
    return np.clip(x + rng.uniform(-0.6, 0.6, size=(n, 1, d)), -1, 1)


def assert_reference_agrees(tok: FastTokenizer, test: np.ndarray, tmp_path) -> int:
    """The reference recipe loads ``tok``'s directory and gives its ids and decoded actions for
    every chunk of ``test``, all of which it encodes losslessly; returns the chunks checked."""
    tok.save_pretrained(tmp_path)
    ref_tok, cfg = load_reference(tmp_path)
    assert cfg["min_token"] == tok.min_token
    oracle = oracle_encode(ref_tok, cfg, test)
    assert oracle.lossless.all()
    ids = tok.encode(test)
    assert oracle.ids == ids
    h, d = test.shape[1:]
    np.testing.assert_allclose(
        reference_decode(ref_tok, cfg, ids, h, d), tok.decode(ids, h, d), rtol=0, atol=1e-12
    )
    return len(test)


def in_range(tok: FastTokenizer, chunks: np.ndarray, lo: int, hi: int) -> np.ndarray:
    q = quantize(chunks, tok.scale)
    return chunks[(q.min(axis=1) >= lo) & (q.max(axis=1) <= hi)]


PLACEMENTS = {
    "reference": lambda lo, hi: "reference",
    "auto": lambda lo, hi: "auto",
    "two-byte letters": lambda lo, hi: lo - 0x100,
    "three-byte letters": lambda lo, hi: lo - 0x4E00,
    "up to U+D7FF": lambda lo, hi: hi - 0xD7FF,
}


@pytest.mark.parametrize("name", list(PLACEMENTS))
def test_every_placement_loads_in_the_reference_and_gives_the_same_ids(name, tmp_path):
    rng = np.random.default_rng(11)
    train = walks(rng, 600, 12, 3)
    lo, hi = lossless_range(train, 10)
    placement = PLACEMENTS[name](lo, hi)
    tok = FastTokenizer.fit(train, 10, 512, placement=placement)
    if isinstance(placement, int):
        assert tok.min_token == placement
    if name == "up to U+D7FF":
        assert hi - tok.min_token == 0xD7FF and tok.min_token < -50_000
    test = in_range(tok, walks(rng, 800, 12, 3), lo, hi)
    assert len(test) > 500
    assert assert_reference_agrees(tok, test, tmp_path) == len(test)


@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**32 - 1),
    h=st.integers(2, 12),
    d=st.integers(1, 4),
    scale=st.sampled_from([2.0, 10.0, 40.0]),
    offset=st.integers(0, 0xD000),
)
def test_any_fixed_placement_agrees_with_the_reference(seed, h, d, scale, offset, tmp_path_factory):
    """``min_token = lo - offset`` for any offset that keeps the range below U+D800: the range
    lands on one-, two- or three-byte characters of every class, and the reference still agrees."""
    rng = np.random.default_rng(seed)
    train = walks(rng, 60, h, d, step=0.15)
    lo, hi = lossless_range(train, scale)
    if hi - lo + offset > 0xD7FF:
        offset = 0xD7FF - (hi - lo)
    tok = FastTokenizer.fit(train, scale, 1024, placement=lo - offset)
    assert tok.min_token == lo - offset
    test = in_range(tok, walks(rng, 80, h, d, step=0.15), lo, hi)
    if len(test):
        assert_reference_agrees(tok, test, tmp_path_factory.mktemp("fixed"))


def test_auto_records_its_trials_and_they_are_the_encoders_counts():
    """The recorded tokens per validation chunk of each candidate are what a tokenizer fitted
    with that placement on the first 80% of the chunks spends on the last 20%, and the kept one
    spends no more than the reference placement there."""
    rng = np.random.default_rng(5)
    chunks = walks(rng, 400, 10, 2, step=0.05)
    tok = FastTokenizer.fit(chunks, 10, 300)
    report = tok.fit_report
    assert report is not None and "scale" not in report
    placement = report["placement"]
    assert placement["requested"] == "auto"
    assert (placement["training_chunks"], placement["validation_chunks"]) == (320, 80)
    trials = placement["candidates"]
    assert trials[0]["label"] == "reference"
    assert trials[0]["min_token"] == lossless_range(chunks, 10)[0]
    assert len(trials) >= 5 and len({t["min_token"] for t in trials}) == len(trials)
    kept = next(t for t in trials if t["min_token"] == tok.min_token)
    assert placement["min_token"] == tok.min_token and placement["label"] == kept["label"]
    assert kept["tokens_per_chunk"] <= trials[0]["tokens_per_chunk"]
    train, validation = chunks[:320], chunks[320:]
    for trial in trials[:4] + [kept]:
        fitted = FastTokenizer.fit(train, 10, 300, placement=trial["min_token"])
        # The full fit's range covers the validation chunks; this one's may not: clip (nothing
        # is clipped where the trial's alphabet, sized from all 400 chunks, covers them).
        lengths = [len(ids) for ids in fitted.encode(validation, on_overflow="clip")]
        if fitted.min_token == trial["min_token"] and _covers(fitted, chunks):
            assert np.mean(lengths) == pytest.approx(trial["tokens_per_chunk"], abs=1e-9)


def _covers(tok: FastTokenizer, chunks: np.ndarray) -> bool:
    lo, hi = lossless_range(chunks, tok.scale)
    return lossless_range(chunks[:320], tok.scale) == (lo, hi)


def test_auto_keeps_the_reference_placement_without_a_validation_split():
    chunks = walks(np.random.default_rng(2), 30, 6, 2)
    tok = FastTokenizer.fit(chunks, 10, 300)
    placement = tok.fit_report["placement"]
    assert placement["label"] == "reference" and placement["candidates"] == []
    assert "too few chunks (30) to compare placements" in placement["reason"]
    assert tok.min_token == lossless_range(chunks, 10)[0]


def test_the_record_survives_saving_loading_and_pickling(tmp_path):
    tok = FastTokenizer.fit(walks(np.random.default_rng(3), 200, 8, 2), 10, 300)
    tok.save_pretrained(tmp_path)
    assert FastTokenizer.from_pretrained(tmp_path).fit_report == tok.fit_report
    assert pickle.loads(pickle.dumps(tok)).fit_report == tok.fit_report
    # The reference reads none of it: the fields it does read are the usual ones.
    _, cfg = load_reference(tmp_path)
    assert cfg["min_token"] == tok.min_token and "actok_fit" in cfg


def test_the_reference_alphabet_has_only_the_reference_placement():
    chunks = walks(np.random.default_rng(4), 100, 8, 2)
    a = FastTokenizer.fit(chunks, 10, 300, alphabet="reference")
    b = FastTokenizer.fit(chunks, 10, 300, alphabet="reference", placement="reference")
    assert a._inner.tokenizer_json() == b._inner.tokenizer_json()
    assert a.min_token == int(quantize(chunks, 10).min()) and a.fit_report is None
    with pytest.raises(ActokError, match='placement min_token=-300 needs alphabet="lossless"'):
        FastTokenizer.fit(chunks, 10, 300, alphabet="reference", placement=-300)


@pytest.mark.parametrize(
    ("placement", "error", "message"),
    [
        (5, ActokError, r"min_token=5 puts the fitted coefficient range .* choose a min_token"),
        (-60_000, ActokError, r"above U\+D7FF"),
        (
            "letters",
            ActokError,
            r'placement must be "auto", "reference" or an integer min_token, got "letters"',
        ),
        (True, TypeError, None),
        (2**70, ActokError, "does not fit in a 64-bit integer"),
    ],
)
def test_bad_placements_are_refused(placement, error, message):
    """Out-of-range ``min_token``s name the interval allowed; ``True`` is not an ``int`` here."""
    with pytest.raises(error, match=message):
        FastTokenizer.fit(walks(np.random.default_rng(0), 20, 5, 2), 10, 300, placement=placement)


def test_target_rmse_chooses_the_scale_and_records_the_sweep():
    rng = np.random.default_rng(8)
    chunks = walks(rng, 500, 15, 3, step=0.05)
    target = 0.01
    tok = FastTokenizer.fit(chunks, vocab_size=512, target_rmse=target)
    scale = tok.fit_report["scale"]
    assert scale["target_rmse"] == target and scale["scale"] == tok.scale
    assert scale["rmse"] <= target and scale["validation_chunks"] == 100
    # The recorded RMSE is decode(encode(y)) against y on the validation chunks.
    validation = chunks[400:]
    decoded = tok.decode(tok.encode(validation))
    assert np.sqrt(np.mean((decoded - validation) ** 2)) == pytest.approx(scale["rmse"], rel=1e-9)
    rows = scale["sweep"]
    assert [r["scale"] for r in rows] == sorted(r["scale"] for r in rows)
    fitted = [r for r in rows if r.get("tokens_per_chunk") is not None]
    assert 1 <= len(fitted) <= 3 and all(r["rmse"] <= target for r in fitted)
    assert min(r["tokens_per_chunk"] for r in fitted) == scale["tokens_per_chunk"]
    smaller = [r for r in rows if r["scale"] < fitted[0]["scale"]]
    assert all(r["rmse"] > target for r in smaller)  # the smallest scales within target are fitted
    chosen = next(r for r in rows if r["scale"] == tok.scale)
    assert chosen["min_token"] == tok.min_token == tok.fit_report["placement"]["min_token"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_rmse": 0.0}, "target_rmse must be a finite number > 0"),
        ({"target_rmse": float("nan")}, "target_rmse must be a finite number > 0"),
        ({"target_rmse": "0.1"}, "target_rmse must be a number or None"),
        ({"target_rmse": 1e-9}, r"no scale up to 1000 reaches target_rmse 0\.000000001: the small"),
        ({"target_rmse": 0.1, "alphabet": "reference"}, 'target_rmse needs alphabet="lossless"'),
    ],
)
def test_bad_targets_are_refused(kwargs, message):
    with pytest.raises(ActokError, match=message):
        FastTokenizer.fit(walks(np.random.default_rng(0), 50, 5, 2), vocab_size=300, **kwargs)


def test_cli_fit_prints_the_placement_and_scale_it_chose(tmp_path, capsys):
    out = tmp_path / "tok"
    assert main(["fit", "-o", str(out), "--target-rmse", "0.02", "--quiet"]) == 0
    text = capsys.readouterr().out
    tok = FastTokenizer.from_pretrained(out)
    assert f"placement          min_token {tok.min_token}:" in text
    assert f"scale              {tok.scale:g}, chosen for target RMSE 0.02" in text
    assert 'chosen by placement="auto"' in text
    fixed = tmp_path / "fixed"
    assert main(["fit", "-o", str(fixed), "--placement", "-5000", "--quiet"]) == 0
    assert FastTokenizer.from_pretrained(fixed).min_token == -5000
    assert 'placement="min_token": requested' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["fit", "-o", str(tmp_path / "bad"), "--placement", "letters"])
    assert 'placement must be "auto", "reference" or an integer' in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The shared robot data: the acceptance figures (benches/bench_placement.py prints them all)
# --------------------------------------------------------------------------------------------
def split_episodes(path) -> tuple[np.ndarray, np.ndarray, int]:
    """benches/bench_placement.py's split: 80/20 by episode (by steps within each episode when
    there are fewer than 5), quantile normalizer fitted on the training steps, 1-s chunks."""
    import warnings

    z = np.load(path)
    fps = int(z["fps"])
    episodes = np.split(z["actions"].astype(np.float64), z["episode_ends"][:-1])
    if len(episodes) >= 5:
        cut = len(episodes) - max(1, round(len(episodes) * 0.2))
        train, test = episodes[:cut], episodes[cut:]
    else:
        train = [e[: round(len(e) * 0.8)] for e in episodes]
        test = [e[round(len(e) * 0.8) :] for e in episodes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", actok.ClippingWarning)
        norm = actok.Normalizer.fit(np.concatenate(train), "quantile", out_of_range="clip")
        train = [norm.apply(e) for e in train]
        test = [norm.apply(e) for e in test]
    return (
        actok.chunk_episodes(train, fps, pad="drop"),
        actok.chunk_episodes([e for e in test if len(e) >= fps], fps, pad="drop"),
        fps,
    )


@pytest.mark.parametrize("name", sorted(REAL_FILES))
def test_shared_data_default_fit_and_target_rmse(name, tmp_path):
    require_shared_data()
    train, test, _ = split_episodes(SHARED_DATA / REAL_FILES[name])
    tok = FastTokenizer.fit(train, 10, 1024)
    lo, hi = lossless_range(train, 10)
    strict = in_range(tok, test, lo, hi)
    assert len(strict) >= 0.9 * len(test)
    assert_reference_agrees(tok, strict, tmp_path / "default")
    target = 0.01
    tok = FastTokenizer.fit(train, vocab_size=1024, target_rmse=target)
    decoded = tok.decode(tok.encode(test, on_overflow="clip"))
    assert np.sqrt(np.mean((decoded - test) ** 2)) <= target
    lo, hi = lossless_range(train, tok.scale)
    strict = in_range(tok, test, lo, hi)
    assert_reference_agrees(tok, strict, tmp_path / "target")
