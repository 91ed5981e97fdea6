"""A normalizer's ``out_of_range`` policy, end to end: data in other units fails loudly (Python
and CLI) whatever the policy, the right units round-trip, clipping is reported with counts, and
``"raise"`` refuses what the fit never saw.

The "radians" are smooth random walks shaped like joint angles; ``test_shared_data_degrees``
repeats the check on DROID's real joint positions.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from conftest import SHARED_DATA, require_shared_data

import actok
from actok._cli import main

H = 15


def _radians(seed: int = 0, episodes: int = 6, steps: int = 200, dim: int = 7) -> np.ndarray:
    """(episodes * steps, dim) joint-angle-like walks within about ±2.5 rad."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.02, (episodes, steps, dim)), axis=1)
    return (np.tanh(walk + rng.uniform(-1, 1, (episodes, 1, dim))) * 2.5).reshape(-1, dim)


def _chunks(x: np.ndarray) -> np.ndarray:
    return actok.chunk_episodes([x], H, pad="drop")


@pytest.fixture(scope="module", params=["quantile", "minmax"])
def fitted(request) -> actok.FastTokenizer:
    # 40 episodes to fit; the tests encode 6 held-out ones (another seed) of the same robot.
    return actok.FastTokenizer.fit(_chunks(_radians(episodes=40)), normalizer=request.param)


def test_degrees_into_a_radians_fit_fail_loudly_naming_where(fitted):
    degrees = np.degrees(_chunks(_radians(seed=1)))
    with pytest.raises(actok.EncodeError) as info:
        fitted.encode(degrees)
    msg = str(info.value)
    where = re.search(r"value (\S+) at chunk (\d+), step (\d+), dimension (\d+)", msg)
    assert where, msg
    value, chunk, step, dim = float(where[1]), int(where[2]), int(where[3]), int(where[4])
    assert degrees[chunk, step, dim] == value
    # The first refused value in row-major order of the first refused chunk.
    seen_min, seen_max = fitted.normalizer.min[dim], fitted.normalizer.max[dim]
    span = seen_max - seen_min
    assert value < seen_min - span or value > seen_max + span
    for words in ("far outside the data the normalizer was fitted on", "other units", "degrees"):
        assert words in msg, msg
    assert f"{seen_min:.3g}"[:4] in msg
    # encode_batch and the normalizer itself say the same.
    with pytest.raises(actok.EncodeError, match="far outside"):
        fitted.encode_batch(degrees)
    with pytest.raises(actok.EncodeError, match="far outside"):
        fitted.normalizer.apply(degrees)
    # And so does every policy: clipping degrees into radians would hide the bug.
    for policy in ("clip", "raise"):
        other = fitted.with_normalizer(fitted.normalizer.with_out_of_range(policy))
        with pytest.raises(actok.EncodeError, match="far outside"):
            other.encode(degrees)


def test_the_right_units_round_trip_within_the_quantization_bound(fitted):
    x = _chunks(_radians(seed=1))
    norm = fitted.normalizer
    assert norm.out_of_range == "keep"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is clipped, so nothing is said
        ids = fitted.encode(x)
    back = fitted.decode(ids)
    half_range = (norm.high - norm.low) / 2
    bound = 0.5 / fitted.scale * np.sqrt(H) * half_range + 1e-9
    assert (np.abs(back - x).max(axis=(0, 1)) <= bound).all()


def test_clip_is_reported_by_encode_with_counts(fitted):
    clip = fitted.with_normalizer(fitted.normalizer.with_out_of_range("clip"))
    x = _chunks(_radians(seed=1))
    outside = clip.normalizer.count_outside(x)
    assert outside.sum() > 0
    for call in (clip.encode, clip.encode_batch):
        with pytest.warns(actok.ClippingWarning) as record:
            call(x)
        warning = record[0].message
        assert warning.counts == outside.tolist() and warning.total == x.size
        assert f"clipped {outside.sum()} of {x.size} values" in str(warning)


def test_raise_refuses_what_the_fit_never_saw(fitted):
    strict = fitted.normalizer.with_out_of_range("raise")
    x = _chunks(_radians(episodes=40))
    strict.apply(x)  # the fitting data itself: seen
    x = x.copy()
    x[3, 4, 2] = strict.max[2] + 1e-3
    with pytest.raises(actok.EncodeError) as info:
        fitted.with_normalizer(strict).encode(x)
    msg = str(info.value)
    assert "chunk 3, step 4, dimension 2" in msg and 'out_of_range is "raise"' in msg, msg


def test_cli_refuses_degrees_and_reports_clipping(tmp_path, capsys):
    radians, degrees = tmp_path / "radians.npy", tmp_path / "degrees.npy"
    np.save(radians, _radians(episodes=40))
    np.save(degrees, np.degrees(_radians(seed=1)))
    out = tmp_path / "tok"
    assert main(["fit", str(radians), "-o", str(out), "--horizon", str(H), "--quiet"]) == 0
    assert "out_of_range: keep" in capsys.readouterr().out
    tokens = tmp_path / "t.npz"
    assert main(["encode", str(out), str(degrees), "-o", str(tokens)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("actok: error: cannot encode: value ") and "other units" in err, err
    assert not tokens.exists()
    # The right units encode silently; with --out-of-range clip the clipped count is printed.
    assert main(["encode", str(out), str(radians), "-o", str(tokens)]) == 0
    assert "warning" not in capsys.readouterr().err
    clip = tmp_path / "clip"
    argv = ["fit", str(radians), "-o", str(clip), "--horizon", str(H), "--quiet"]
    assert main([*argv, "--out-of-range", "clip"]) == 0
    capsys.readouterr()
    assert main(["encode", str(clip), str(radians), "-o", str(tokens)]) == 0
    err = capsys.readouterr().err
    assert re.search(r"actok: warning: encode_batch: the normalizer clipped \d+ of \d+", err), err
    report = tmp_path / "inspect"
    assert main(["inspect", str(clip), str(radians), "--sweep"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"\d+ of \d+ values \([\d.]+%\) were clipped by the normalizer", text), text
    assert not report.exists()


def test_shared_data_degrees():
    """DROID's joint positions are radians: a tokenizer fitted on 80 episodes refuses the other
    20 in degrees, and encodes them in radians (held-out episodes are not "far")."""
    require_shared_data()
    episodes = actok.read_episodes(SHARED_DATA / "droid100_jointpos_gripper_8d_15hz.npz")
    fit, held_out = episodes.episodes[:80], episodes.episodes[80:]
    tok = actok.FastTokenizer.fit(actok.chunk_episodes(fit, H), normalizer="quantile")
    chunks = actok.chunk_episodes(held_out, H)
    joints = chunks.copy()
    joints[..., :7] = np.degrees(joints[..., :7])
    with pytest.raises(actok.EncodeError, match="far outside .* other units"):
        tok.encode(joints)
    ids = tok.encode(chunks)
    assert len(ids) == len(chunks)
    back = tok.decode(ids)
    norm = tok.normalizer
    bound = 0.5 / tok.scale * np.sqrt(H) * (norm.high - norm.low) / 2 + 1e-9
    assert (np.abs(back - chunks).max(axis=(0, 1)) <= bound).all()


@pytest.mark.parametrize("horizon", [5, 10, 20, 40])
def test_a_30_step_tokenizer_refuses_other_horizons(horizon):
    """Fitted on 30-step chunks of a 26-dimension robot: other horizons used to encode without
    a word and fail at decode ("decode to 190 coefficients, expected 570")."""
    x = _radians(seed=3, episodes=12, steps=120, dim=26)
    tok = actok.FastTokenizer.fit(actok.chunk_episodes([x], 30, pad="drop"), normalizer="quantile")
    chunks = actok.chunk_episodes([x], horizon, pad="drop")
    with pytest.raises(actok.ActokError) as info:
        tok.encode(chunks)
    msg = str(info.value)
    assert f"({horizon}, 26)" in msg and "(30, 26)" in msg and "check_shape=False" in msg, msg
    ids = tok.encode(chunks, check_shape=False)
    assert tok.decode(ids, time_horizon=horizon, action_dim=26).shape == chunks.shape


def test_fit_with_the_clip_policy_reports_what_it_clipped(tmp_path, capsys):
    chunks = _chunks(_radians(episodes=10))
    with pytest.warns(actok.ClippingWarning, match="FastTokenizer.fit: the normalizer clipped"):
        tok = actok.FastTokenizer.fit(chunks, normalizer="quantile", out_of_range="clip")
    assert tok.normalizer.out_of_range == "clip"
    with pytest.raises(actok.ActokError, match="pass normalizer= as well"):
        actok.FastTokenizer.fit(chunks, out_of_range="clip")
    data = tmp_path / "x.npy"
    np.save(data, _radians(episodes=10))
    argv = ["fit", str(data), "-o", str(tmp_path / "t"), "--horizon", str(H), "--quiet"]
    assert main([*argv, "--normalize", "none", "--out-of-range", "clip"]) == 2
    assert "needs --normalize" in capsys.readouterr().err
    assert main([*argv, "--out-of-range", "clip"]) == 0
    assert "actok: warning: FastTokenizer.fit: the normalizer clipped" in capsys.readouterr().err
