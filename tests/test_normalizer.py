"""actok.Normalizer: numpy parity, round trips, degenerate dimensions, errors, persistence, and a
FastTokenizer that carries one."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from conftest import REPO_ROOT, SHARED_DATA, require_shared_data
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import actok
from actok import ActokError, LoadError, Normalizer

BUNDLED = REPO_ROOT / "python" / "actok" / "data" / "robosuite_fast"
KINDS = ["quantile", "meanstd", "minmax", "identity"]

finite64 = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
finite32 = st.floats(-1e6, 1e6, width=32, allow_nan=False, allow_infinity=False)


def matrices(dtype=np.float64, max_rows=60, max_dim=5):
    elements = finite64 if dtype == np.float64 else finite32
    shapes = st.tuples(st.integers(1, max_rows), st.integers(1, max_dim))
    return hnp.arrays(dtype, shapes, elements=elements)


def center(norm: Normalizer) -> np.ndarray:
    """The offset ``a`` of the affine map ``y = (x - a) / s + b``."""
    if norm.kind in ("quantile", "minmax"):
        return norm.low
    if norm.kind == "meanstd":
        return norm.mean
    return np.zeros(norm.dim)


def spread(norm: Normalizer) -> np.ndarray:
    """The divisor ``s`` of the affine map."""
    if norm.kind in ("quantile", "minmax"):
        return (norm.high - norm.low) / 2
    if norm.kind == "meanstd":
        return norm.std
    return np.ones(norm.dim)


# ---------------------------------------------------------------- parity with numpy


@given(matrices())
def test_quantiles_are_numpy_bit_for_bit(x):
    norm = Normalizer.fit(x, "quantile")
    q = np.quantile(x, [0.01, 0.99], axis=0)
    concentrated = q[0] == q[1]
    low = np.where(concentrated, x.min(axis=0), q[0])
    high = np.where(concentrated, x.max(axis=0), q[1])
    np.testing.assert_array_equal(norm.low, low)
    np.testing.assert_array_equal(norm.high, high)


@given(matrices(np.float32))
def test_quantiles_of_float32_are_those_of_the_float64_upcast(x):
    norm = Normalizer.fit(x, "quantile")
    q = np.quantile(x.astype(np.float64), [0.01, 0.99], axis=0)
    keep = q[0] != q[1]
    np.testing.assert_array_equal(norm.low[keep], q[0][keep])
    np.testing.assert_array_equal(norm.high[keep], q[1][keep])


@given(matrices())
def test_meanstd_and_minmax_match_numpy(x):
    norm = Normalizer.fit(x, "meanstd")
    scale = np.abs(x).max(axis=0) + 1e-300
    np.testing.assert_allclose(norm.mean, x.mean(axis=0), rtol=0, atol=1e-12 * scale.max())
    # np.std squares deviations directly (a spread of 1e-230 underflows to std 0); actok scales
    # them by the largest first, which is np.std of the scaled data times the scale.
    dev = np.abs(x - x.mean(axis=0)).max(axis=0)
    safe = np.where(dev > 0, dev, 1.0)
    std = np.where(dev > 0, np.std(x / safe, axis=0) * safe, 0.0)
    np.testing.assert_allclose(norm.std, std, rtol=1e-9, atol=1e-12 * scale.max())
    if np.abs(x).max() > 1e-100:
        np.testing.assert_allclose(norm.std, x.std(axis=0), rtol=1e-9, atol=1e-12 * scale.max())
    mm = Normalizer.fit(x, "minmax")
    np.testing.assert_array_equal(mm.low, x.min(axis=0))
    np.testing.assert_array_equal(mm.high, x.max(axis=0))


def test_apply_matches_the_documented_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(500, 4))
    norm = Normalizer.fit(x)
    assert norm.out_of_range == "keep"
    low, high = np.quantile(x, [0.01, 0.99], axis=0)
    linear = 2 * (x - low) / (high - low) - 1
    # "keep" (the default) maps the tails beyond ±1; "clip" is FAST's recipe.
    np.testing.assert_allclose(norm.apply(x), linear, rtol=0, atol=1e-14)
    assert np.abs(norm.apply(x)).max() > 1.0
    clip = norm.with_out_of_range("clip")
    with pytest.warns(actok.ClippingWarning) as record:
        clipped = clip.apply(x)
    np.testing.assert_allclose(clipped, np.clip(linear, -1, 1), rtol=0, atol=1e-14)
    outside = ((x < low) | (x > high)).sum(axis=0)
    assert record[0].message.counts == outside.tolist()
    np.testing.assert_array_equal(norm.count_outside(x), outside)
    for n in (norm, clip):
        np.testing.assert_array_equal(n.apply(low[None]), -np.ones((1, 4)))
        np.testing.assert_array_equal(n.apply(high[None]), np.ones((1, 4)))
    ms = Normalizer.fit(x, "meanstd")
    np.testing.assert_allclose(ms.apply(x), (x - x.mean(0)) / x.std(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(Normalizer.fit(x, "identity").apply(x), x)


def test_inputs_pool_all_rows():
    rng = np.random.default_rng(1)
    episodes = [rng.normal(size=(n, 3)) for n in (5, 17, 40)]
    pooled = np.concatenate(episodes)
    expected = Normalizer.fit(pooled)
    assert Normalizer.fit(episodes) == expected
    assert Normalizer.fit(tuple(episodes)) == expected
    assert Normalizer.fit(actok.Episodes(episodes)) == expected
    chunks = pooled[:60].reshape(6, 10, 3)
    assert Normalizer.fit(chunks) == Normalizer.fit(pooled[:60])


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data())
def test_inverse_undoes_apply_where_not_clipped(kind, dtype, data):
    """|inverse(apply(x)) - x| <= 4 eps (|x| + |a| + s), with eps of the array's dtype.

    The map is y = (x - a) / s + b (b = -1 for quantile/minmax, so low maps to exactly -1 and
    high to exactly +1). An affine map in floating point is not exactly invertible: x - a, the
    division, the shift by b and their inverses each round (by at most eps/2 relative to the
    intermediate result), so the round trip is off by a few ulps of the magnitudes involved: |x|,
    the offset |a|, and s (the shift by b is |b| s = s in raw units). float32 arrays are computed
    in float64 and rounded once to float32 each way, which the same bound with float32's eps
    covers. Bitwise equality holds only where nothing rounds (identity, degenerate dimensions).
    """
    x = data.draw(matrices(dtype))
    norm = Normalizer.fit(x, kind)
    y = norm.apply(x)
    assert y.dtype == dtype
    back = norm.inverse(y)
    assert back.dtype == dtype and back.shape == x.shape
    a = np.broadcast_to(center(norm), x.shape)
    eps = np.finfo(dtype).eps
    unclipped = np.abs(y) < 1 if kind in ("quantile", "minmax") else np.ones(x.shape, bool)
    x64, back64 = x.astype(np.float64), back.astype(np.float64)
    # (plus a few of the smallest subnormals: below the normal range rounding is absolute)
    tiny = np.finfo(dtype).smallest_subnormal
    bound = 4 * eps * (np.abs(x64) + np.abs(a) + spread(norm)) + 4 * tiny
    err = np.abs(back64 - x64)
    assert (err[unclipped] <= bound[unclipped]).all(), (x, back)
    if kind == "identity":
        np.testing.assert_array_equal(back, x)


def test_leading_shapes_and_dtypes_are_kept():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 5, 6, 3)).astype(np.float32)
    norm = Normalizer.fit(x.reshape(-1, 3))
    y = norm.apply(x)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(y.reshape(-1, 3), norm.apply(x.reshape(-1, 3)))
    assert norm.apply(x[0, 0, 0]).shape == (3,)
    assert norm.apply(x.astype(np.float64)).dtype == np.float64
    assert norm.apply(np.ones((2, 3), dtype=np.int64)).dtype == np.float64
    # Non-contiguous and big-endian inputs are handled, not misread.
    np.testing.assert_array_equal(norm.apply(x[:, ::2]), y[:, ::2])
    np.testing.assert_array_equal(norm.apply(x.astype(">f4")), y)


# ---------------------------------------------------------------- degenerate dimensions


@pytest.mark.parametrize("kind", ["quantile", "minmax", "meanstd"])
def test_constant_dimension_maps_to_zero_and_back_to_the_constant(kind):
    x = np.stack([np.full(50, 7.25), np.linspace(-3, 3, 50)], axis=1)
    norm = Normalizer.fit(x, kind)
    with np.errstate(all="raise"):
        y = norm.apply(x)
    assert np.isfinite(y).all()
    np.testing.assert_array_equal(y[:, 0], 0.0)
    # Any other value has no scale in that dimension: refused (it used to become 0 silently).
    with pytest.raises(actok.EncodeError, match=r"row 0, dimension 0 differs from 7\.25"):
        norm.apply([[100.0, 0.0]])
    np.testing.assert_array_equal(norm.inverse(np.full((3, 2), 0.4))[:, 0], 7.25)


def test_concentrated_quantile_dimension_keeps_rare_values():
    gripper = np.full(1000, -1.0)
    gripper[::150] = 1.0  # 7 of 1000 steps open: both percentiles are -1
    norm = Normalizer.fit(gripper[:, None])
    assert (norm.low[0], norm.high[0]) == (-1.0, 1.0)
    np.testing.assert_array_equal(norm.apply([[1.0], [-1.0]]), [[1.0], [-1.0]])


# ---------------------------------------------------------------- errors


def test_non_finite_values_name_row_and_dimension():
    x = np.zeros((6, 3))
    x[4, 2] = np.nan
    with pytest.raises(ActokError, match=r"row 4, dimension 2"):
        Normalizer.fit(x)
    with pytest.raises(ActokError, match=r"episode 1, row 1, dimension 2"):
        Normalizer.fit([x[:3], x[3:]])
    with pytest.raises(ActokError, match=r"chunk 2, step 0, dimension 2"):
        Normalizer.fit(x.reshape(3, 2, 3))
    norm = Normalizer.fit(np.arange(12.0).reshape(4, 3))
    bad = np.zeros((2, 2, 3), dtype=np.float32)
    bad[1, 1, 0] = np.inf
    with pytest.raises(ActokError, match=r"row 3, dimension 0 is not finite"):
        norm.apply(bad)
    with pytest.raises(ActokError, match=r"row 3, dimension 0 is not finite"):
        norm.inverse(bad)


def test_bad_arguments():
    norm = Normalizer.fit(np.arange(12.0).reshape(4, 3))
    with pytest.raises(ActokError, match="dimension 3"):
        norm.apply(np.zeros((2, 4)))
    with pytest.raises(ActokError, match="dimension 3"):
        norm.apply(np.float64(1.0))
    with pytest.raises(ActokError, match="kind must be"):
        Normalizer.fit(np.zeros((3, 2)), kind="zscore")
    with pytest.raises(ActokError, match="episode 1 has 2 action dimensions"):
        Normalizer.fit([np.zeros((3, 3)), np.zeros((3, 2))])
    with pytest.raises(ActokError, match="zero rows"):
        Normalizer.fit(np.zeros((0, 3)))
    with pytest.raises(ActokError):
        Normalizer.fit(np.zeros(5))
    with pytest.raises(ActokError, match="real numbers"):
        Normalizer.fit(np.array([["a", "b"]]))
    with pytest.raises(TypeError):
        Normalizer(object())


def test_from_parameters():
    norm = Normalizer.from_parameters("quantile", low=[0.0, -2.0], high=[1.0, 2.0])
    np.testing.assert_array_equal(norm.apply([[0.5, 1.0]]), [[0.0, 0.5]])
    assert Normalizer.from_parameters("identity", dim=3).dim == 3
    with pytest.raises(ActokError, match="low.*> high"):
        Normalizer.from_parameters("minmax", low=[1.0], high=[0.0])
    with pytest.raises(ActokError, match="negative"):
        Normalizer.from_parameters("meanstd", mean=[1.0], std=[-1.0])
    with pytest.raises(ActokError, match="exactly mean and std"):
        Normalizer.from_parameters("meanstd", low=[1.0], high=[2.0])
    with pytest.raises(ActokError, match="2 values"):
        Normalizer.from_parameters("minmax", low=[0.0, 1.0], high=[1.0, 2.0], dim=3)


# ---------------------------------------------------------------- persistence and API


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_json_pickle_round_trip_exactly(kind, tmp_path):
    rng = np.random.default_rng(3)
    norm = Normalizer.fit(rng.normal(size=(200, 4)) * 1e-3 + np.pi, kind)
    path = tmp_path / "n.json"
    norm.save(path)
    loaded = Normalizer.load(path)
    assert loaded == norm and loaded.kind == kind and loaded.dim == 4
    assert Normalizer.from_json(norm.to_json()) == norm
    assert pickle.loads(pickle.dumps(norm)) == norm
    for name in ("low", "high", "mean", "std"):
        a, b = getattr(norm, name), getattr(loaded, name)
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)  # bit-exact through JSON
    assert json.loads(norm.to_json())["kind"] == kind
    assert repr(norm).startswith(f"Normalizer(kind={kind!r}, dim=4")
    assert norm != Normalizer.fit(np.zeros((3, 4)) + np.arange(4), kind) or kind == "identity"


def test_parameters_are_read_only():
    norm = Normalizer.fit(np.arange(12.0).reshape(4, 3))
    with pytest.raises(ValueError):
        norm.low[0] = 5.0
    assert norm.mean is None and norm.std is None
    ms = Normalizer.fit(np.arange(12.0).reshape(4, 3), "meanstd")
    with pytest.raises(ValueError):
        ms.std[0] = 5.0
    assert ms.low is None


def test_malformed_files_raise_load_error(tmp_path):
    cases = {
        "broken": "{",
        "version": '{"actok_normalizer": 9, "kind": "identity", "dim": 1}',
        "kind": '{"actok_normalizer": 1, "kind": "zscore", "dim": 1}',
        "length": '{"actok_normalizer": 1, "kind": "minmax", "dim": 2, "low": [0], "high": [1]}',
        "nan": '{"actok_normalizer": 1, "kind": "meanstd", "dim": 1, "mean": [0], "std": [-1]}',
    }
    for name, text in cases.items():
        p = tmp_path / f"{name}.json"
        p.write_text(text)
        with pytest.raises(LoadError, match=f"{name}.json"):
            Normalizer.load(p)
    with pytest.raises(LoadError, match="missing.json"):
        Normalizer.load(tmp_path / "missing.json")


# ---------------------------------------------------------------- FastTokenizer with a normalizer


def raw_chunks(rng, batch=8, horizon=20, dim=2):
    t = np.linspace(0, 1, horizon)[None, :, None]
    offset = np.array([250.0, -40.0])[:dim]
    return offset + 80 * np.sin(6 * t + rng.uniform(0, 6, size=(batch, 1, dim)))


def test_tokenizer_with_normalizer_encodes_and_decodes_raw_actions(tmp_path):
    rng = np.random.default_rng(4)
    raw = raw_chunks(rng)
    norm = Normalizer.fit(raw, "minmax")
    plain = actok.FastTokenizer.from_pretrained(BUNDLED)
    assert plain.normalizer is None
    tok = plain.with_normalizer(norm)
    assert tok.normalizer == norm and plain.normalizer is None
    ids = tok.encode(raw)
    assert ids == plain.encode(norm.apply(raw))
    decoded = tok.decode(ids, 20, 2)
    np.testing.assert_array_equal(decoded, norm.inverse(plain.decode(ids, 20, 2)))
    # float32 raw input encodes like its float64 upcast.
    assert tok.encode(raw.astype(np.float32)) == plain.encode(
        norm.apply(raw.astype(np.float32).astype(np.float64))
    )
    # Quantization error (|dq| <= 0.05/coef after ortho DCT) stays small in raw units.
    assert np.abs(decoded - raw).max() < 0.1 * (norm.high - norm.low).max()
    ids_pad, lengths = tok.encode_batch(raw)
    np.testing.assert_array_equal(tok.decode((ids_pad, lengths), 20, 2), decoded)
    # Zeros on failure are literal zeros; padded decodes are inverted.
    out, valid = tok.decode([[10**9]], 20, 2, on_error="zeros", return_valid=True)
    assert not valid[0] and (out == 0).all()
    out = tok.decode([ids[0][:-1]], 20, 2, on_error="pad")
    assert np.isfinite(out).all() and np.abs(out).max() > 1.5
    with pytest.raises(ActokError, match="normalizer was fitted to 2"):
        tok.encode(np.zeros((1, 20, 3)))
    # decode has no actions to count: it names the shape asked for and the normalizer's
    with pytest.raises(ActokError, match=r"action_dim=4: .*normalizer is for 2-dimensional"):
        tok.decode(ids, 10, 4)
    assert tok.with_normalizer(None).normalizer is None
    with pytest.raises(TypeError):
        plain.with_normalizer("quantile")


def test_tokenizer_save_load_and_pickle_carry_the_normalizer(tmp_path):
    rng = np.random.default_rng(5)
    raw = raw_chunks(rng)
    norm = Normalizer.fit(raw)
    tok = actok.FastTokenizer.from_pretrained(BUNDLED).with_normalizer(norm)
    tok.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "actok_normalizer.json",
        "bpe_tokenizer",
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    # tokenizer.json is byte-identical to a save without a normalizer; processor_config.json
    # only gains the key that makes a copy without the normalizer file fail to load.
    plain_dir = tmp_path / "plain"
    actok.FastTokenizer.from_pretrained(BUNDLED).save_pretrained(plain_dir)
    assert (tmp_path / "tokenizer.json").read_bytes() == (plain_dir / "tokenizer.json").read_bytes()
    config = json.loads((tmp_path / "processor_config.json").read_text())
    assert config.pop("actok_normalizer") == "actok_normalizer.json"
    assert config == json.loads((plain_dir / "processor_config.json").read_text())
    loaded = actok.FastTokenizer.from_pretrained(tmp_path)
    assert loaded.normalizer == norm
    assert loaded.encode(raw) == tok.encode(raw)
    assert Normalizer.load(tmp_path / "actok_normalizer.json") == norm
    again = pickle.loads(pickle.dumps(tok))
    assert again.normalizer == norm and again.encode(raw) == tok.encode(raw)
    assert "normalizer='quantile'" in repr(tok)
    (tmp_path / "actok_normalizer.json").write_text("{}")
    with pytest.raises(LoadError, match="actok_normalizer.json"):
        actok.FastTokenizer.from_pretrained(tmp_path)
    # Saving without the normalizer removes both the file and the key.
    tok.with_normalizer(None).save_pretrained(tmp_path)
    assert not (tmp_path / "actok_normalizer.json").exists()
    assert "actok_normalizer" not in json.loads((tmp_path / "processor_config.json").read_text())


def test_a_directory_missing_its_recorded_normalizer_file_is_refused(tmp_path):
    """The config records the normalizer: without its file the tokenizer would silently take
    normalized actions and return them, so loading names the missing file instead."""
    rng = np.random.default_rng(6)
    raw = raw_chunks(rng)
    tok = actok.FastTokenizer.from_pretrained(BUNDLED).with_normalizer(Normalizer.fit(raw))
    tok.save_pretrained(tmp_path)
    (tmp_path / "actok_normalizer.json").unlink()
    with pytest.raises(LoadError) as info:
        actok.FastTokenizer.from_pretrained(tmp_path)
    message = str(info.value)
    for words in (str(tmp_path / "actok_normalizer.json"), "saved with a normalizer", "copy"):
        assert words in message, message


def test_real_data_quantiles_match_numpy():
    require_shared_data()
    for path in sorted(SHARED_DATA.glob("*.npz")):
        episodes = actok.read_episodes(path)
        x = np.concatenate(episodes.episodes).astype(np.float64)
        norm = Normalizer.fit(episodes)
        q = np.quantile(x, [0.01, 0.99], axis=0)
        keep = q[0] != q[1]
        np.testing.assert_array_equal(norm.low[keep], q[0][keep], err_msg=path.name)
        np.testing.assert_array_equal(norm.high[keep], q[1][keep], err_msg=path.name)
        with pytest.warns(actok.ClippingWarning) as record:
            y = norm.with_out_of_range("clip").apply(x)
        assert np.abs(y).max() <= 1.0
        assert record[0].message.counts == norm.count_outside(x).tolist(), path.name
        assert np.abs(norm.apply(x)).max() > 1.0, path.name  # "keep": the tails stay


def test_pickle_follows_the_recorded_normalizer(tmp_path):
    """A tokenizer loaded with a normalizer pickles with it; with it removed, the config's
    record goes too, so the copy loads as a plain tokenizer (and a config that records a
    normalizer without its text is refused, as a directory without the file is)."""
    rng = np.random.default_rng(7)
    raw = raw_chunks(rng)
    tok = actok.FastTokenizer.from_pretrained(BUNDLED).with_normalizer(Normalizer.fit(raw))
    tok.save_pretrained(tmp_path)
    loaded = actok.FastTokenizer.from_pretrained(tmp_path)
    again = pickle.loads(pickle.dumps(loaded))
    assert again.normalizer == loaded.normalizer and again.encode(raw) == loaded.encode(raw)
    plain = loaded.with_normalizer(None)
    assert "actok_normalizer" not in json.loads(plain._inner.processor_config_json())
    assert pickle.loads(pickle.dumps(plain)).normalizer is None
    with pytest.raises(LoadError, match="no actok_normalizer.json text"):
        actok._tokenizer._from_json(
            loaded._inner.tokenizer_json(), loaded._inner.processor_config_json()
        )
