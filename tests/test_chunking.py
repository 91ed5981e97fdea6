"""actok.chunk_episodes against a plain numpy implementation of its definition."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SHARED_DATA, require_shared_data
from hypothesis import given
from hypothesis import strategies as st

import actok
from actok import ActokError, chunk_episodes


def numpy_chunks(episodes, horizon, stride=1, pad="repeat_last"):
    """The definition: starts 0, stride, ... of each episode; steps past the end repeat the last
    action (repeat_last) or such chunks are left out (drop); episode-major order."""
    out = []
    for ep in episodes:
        n = len(ep)
        last_start = n - 1 if pad == "repeat_last" else n - horizon
        for t in range(0, last_start + 1, stride):
            idx = np.minimum(np.arange(t, t + horizon), n - 1)
            out.append(ep[idx])
    dim = episodes[0].shape[1]
    if not out:
        return np.zeros((0, horizon, dim), dtype=episodes[0].dtype)
    return np.stack(out)


@st.composite
def episode_lists(draw):
    dim = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(1, 30), min_size=1, max_size=5))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return [rng.normal(size=(n, dim)).astype(dtype) for n in lengths]


@given(
    episode_lists(),
    st.integers(1, 12),
    st.integers(1, 6),
    st.sampled_from(["repeat_last", "drop"]),
)
def test_matches_numpy_definition(episodes, horizon, stride, pad):
    got = chunk_episodes(episodes, horizon, stride=stride, pad=pad)
    expected = numpy_chunks(episodes, horizon, stride, pad)
    assert got.dtype == episodes[0].dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_never_crosses_an_episode_boundary():
    a = np.full((5, 2), 1.0)
    b = np.full((3, 2), 2.0)
    chunks = chunk_episodes([a, b], horizon=4)
    assert chunks.shape == (8, 4, 2)
    for c in chunks:
        assert len(np.unique(c)) == 1  # every chunk comes from one episode
    np.testing.assert_array_equal(chunks[:, 0, 0], [1, 1, 1, 1, 1, 2, 2, 2])


def test_small_examples():
    ep = np.arange(5.0)[:, None]
    np.testing.assert_array_equal(
        chunk_episodes(ep, 3, stride=2)[..., 0], [[0, 1, 2], [2, 3, 4], [4, 4, 4]]
    )
    np.testing.assert_array_equal(
        chunk_episodes(ep, 3, stride=2, pad="drop")[..., 0], [[0, 1, 2], [2, 3, 4]]
    )
    short = chunk_episodes(ep, 6, pad="drop")
    assert short.shape == (0, 6, 1)


def test_input_forms_and_dtypes():
    rng = np.random.default_rng(0)
    eps = [rng.normal(size=(7, 3)) for _ in range(3)]
    expected = chunk_episodes(eps, 4)
    np.testing.assert_array_equal(chunk_episodes(tuple(eps), 4), expected)
    np.testing.assert_array_equal(chunk_episodes(np.stack(eps), 4), expected)
    np.testing.assert_array_equal(chunk_episodes(actok.Episodes(eps), 4), expected)
    np.testing.assert_array_equal(chunk_episodes([e.tolist() for e in eps], 4), expected)
    assert chunk_episodes([e.astype(np.float32) for e in eps], 4).dtype == np.float32
    mixed = [eps[0].astype(np.float32), eps[1]]
    assert chunk_episodes(mixed, 4).dtype == np.float64
    assert chunk_episodes(np.arange(12).reshape(4, 3), 2).dtype == np.float64
    # Non-contiguous views are read correctly.
    view = np.asfortranarray(eps[0])[::2]
    np.testing.assert_array_equal(chunk_episodes(view, 2), numpy_chunks([view], 2))


def test_errors_name_the_problem():
    ok = np.zeros((4, 2))
    with pytest.raises(ActokError, match="horizon must be a positive int"):
        chunk_episodes(ok, 0)
    with pytest.raises(ActokError, match="stride must be a positive int"):
        chunk_episodes(ok, 2, stride=0)
    with pytest.raises(ActokError, match="horizon"):
        chunk_episodes(ok, 2.5)
    with pytest.raises(ActokError, match="pad must be"):
        chunk_episodes(ok, 2, pad="zeros")
    with pytest.raises(ActokError, match="episode 2 has 3 action dimensions, episode 0 has 2"):
        chunk_episodes([ok, ok, np.zeros((4, 3))], 2)
    with pytest.raises(ActokError, match="episode 1 is empty"):
        chunk_episodes([ok, np.zeros((0, 2))], 2)
    with pytest.raises(ActokError, match=r"episode 1 must have shape \(T, D\)"):
        chunk_episodes([ok, np.zeros(4)], 2)
    with pytest.raises(ActokError, match=r"shape \(T, D\) or \(N, T, D\)"):
        chunk_episodes(np.zeros(4), 2)
    with pytest.raises(ActokError, match="at least one"):
        chunk_episodes([], 2)


def test_real_data_one_second_chunks():
    require_shared_data()
    episodes = actok.read_episodes(SHARED_DATA / "droid100_jointpos_gripper_8d_15hz.npz")
    horizon = int(episodes.fps)
    chunks = chunk_episodes(episodes, horizon)
    assert chunks.shape == (sum(episodes.lengths), horizon, 8)
    np.testing.assert_array_equal(chunks, numpy_chunks(episodes.episodes, horizon))
