"""LeRobot's FAST data preparation: dimension subsets, delta actions, sampling, dataset stats,
recorded by ``actok fit`` and applied by ``encode`` and ``inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import actok
from actok._cli import main
from actok._prep import parse_dims

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def episodes(dim: int = 5, lengths: tuple[int, ...] = (30, 7, 22, 41)) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [np.cumsum(rng.normal(size=(n, dim)), axis=0).astype(np.float32) for n in lengths]


def write_npz(path: Path, eps: list[np.ndarray], states: list[np.ndarray]) -> Path:
    np.savez(
        path,
        actions=np.concatenate(eps),
        episode_ends=np.cumsum([len(e) for e in eps]),
        fps=10,
        states=np.concatenate(states),
    )
    return path


def states_for(eps: list[np.ndarray]) -> list[np.ndarray]:
    # A state with more dimensions than the action, close to it (a robot tracking its command).
    return [np.concatenate([e * 0.9 + 0.1, e[:, :1]], axis=1) for e in eps]


def test_parse_dims_ranges_and_errors() -> None:
    assert parse_dims("0:3,5:7") == (0, 1, 2, 5, 6)
    assert parse_dims(" 4, 1 ,2") == (4, 1, 2)
    assert parse_dims([2, 0]) == (2, 0)
    assert parse_dims(None) is None
    for bad, message in [
        ("3:1", "range '3:1' is empty"),
        ("0:2,x", "'x' is not an index"),
        ("0:3,2", "dimension 2 is selected twice"),
        ("-1", "index -1 is negative"),
        ("1:2:3", "not an index or a START:STOP"),
    ]:
        with pytest.raises(actok.ActokError, match=message):
            parse_dims(bad)


def test_dims_subset_and_delta_match_a_plain_numpy_recipe(tmp_path: Path) -> None:
    eps = episodes()
    states = states_for(eps)
    path = write_npz(tmp_path / "d.npz", eps, states)
    read = actok.read_episodes(path, dims="0:2,3:5", state_key="states")
    assert read.dims == (0, 1, 3, 4) and read.dim == 4 and read.episode_index == [0, 1, 2, 3]
    h = 6
    chunks = actok.chunk_episodes(read, h, pad="drop", delta_dims="0,3")
    # LeRobot's recipe: full-dimension chunks, action - state[start] on delta dims, then subset.
    want = []
    for e, s in zip(eps, states):
        for t in range(len(e) - h + 1):
            c = e[t : t + h].copy()
            c[:, [0, 3]] -= s[t, [0, 3]]
            want.append(c[:, [0, 1, 3, 4]])
    np.testing.assert_allclose(chunks, np.stack(want), rtol=0, atol=1e-5)
    # add_state inverts it, per chunk and for a batch.
    prep = actok.DataPrep(dims="0:2,3:5", delta_dims="0,3")
    back = prep.add_state(chunks[0], states[0][0])
    np.testing.assert_allclose(back, eps[0][:h, [0, 1, 3, 4]], atol=1e-5)
    starts = np.stack([states[0][0], states[0][1]])
    np.testing.assert_allclose(
        prep.add_state(chunks[:2], starts)[1], eps[0][1 : 1 + h, [0, 1, 3, 4]], atol=1e-5
    )


def test_clear_errors_for_dims_states_and_fractions(tmp_path: Path) -> None:
    eps = episodes()
    path = write_npz(tmp_path / "d.npz", eps, states_for(eps))
    with pytest.raises(actok.ActokError, match="select dimension 7, but the action of .* has 5"):
        actok.read_episodes(path, dims="0:2,7")
    with pytest.raises(actok.LoadError, match="no state array 'observation.state'.*--state-key"):
        actok.read_episodes(path, state_key="observation.state")
    read = actok.read_episodes(path)
    with pytest.raises(actok.ActokError, match="delta_dims need the robot state"):
        actok.chunk_episodes(read, 4, delta_dims="0")
    with pytest.raises(actok.ActokError, match="which dims does not encode"):
        actok.DataPrep(dims="0:2", delta_dims="3")
    with pytest.raises(actok.ActokError, match=r"sample_fraction must be in \(0, 1\]"):
        actok.chunk_episodes(read, 4, sample_fraction=1.5)


def test_sampling_draws_as_lerobot_and_max_episodes_keeps_the_first(tmp_path: Path) -> None:
    eps = episodes()
    path = write_npz(tmp_path / "d.npz", eps, states_for(eps))
    read = actok.read_episodes(path, max_episodes=3)
    assert len(read) == 3
    h, f = 5, 0.3
    got = actok.chunk_episodes(read, h, pad="drop", sample_fraction=f)
    want = []
    for i, e in enumerate(eps[:3]):
        n = len(e) - h + 1
        if n < 1:
            continue
        pick = np.sort(np.random.RandomState(i).choice(n, max(1, int(n * f)), replace=False))
        want += [e[t : t + h] for t in pick]
    np.testing.assert_array_equal(got, np.stack(want))


@given(st.lists(st.integers(0, 9), min_size=1, max_size=10, unique=True))
def test_parse_dims_round_trips_index_lists(indices: list[int]) -> None:
    assert parse_dims(",".join(map(str, indices))) == tuple(indices)


def write_stats(root: Path, stats: dict[str, list[float]]) -> None:
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "stats.json").write_text(json.dumps({"action": stats}))


def test_normalizer_from_dataset_stats(tmp_path: Path) -> None:
    write_stats(
        tmp_path,
        {
            "q01": [-1.0, -2.0, -3.0],
            "q99": [1.0, 2.0, 3.0],
            "mean": [0.0, 0.5, 1.0],
            "std": [1.0, 2.0, 4.0],
            "min": [-5.0, -5.0, -5.0],
            "max": [5.0, 5.0, 5.0],
        },
    )
    q = actok.Normalizer.from_dataset_stats(tmp_path, dims="1:3")
    np.testing.assert_array_equal(q.low, [-2.0, -3.0])
    np.testing.assert_array_equal(q.high, [2.0, 3.0])
    np.testing.assert_array_equal(q.min, [-5.0, -5.0])
    m = actok.Normalizer.from_dataset_stats(tmp_path / "meta" / "stats.json", kind="meanstd")
    np.testing.assert_array_equal(m.std, [1.0, 2.0, 4.0])
    assert actok.Normalizer.from_dataset_stats(tmp_path, kind="minmax").kind == "minmax"
    write_stats(tmp_path, {"mean": [0.0], "std": [1.0]})
    with pytest.raises(
        actok.LoadError, match=r"no q01 or q99 .*they have: mean, std\); use kind meanstd"
    ):
        actok.Normalizer.from_dataset_stats(tmp_path)
    with pytest.raises(actok.LoadError, match="no statistics for 'observation.state'"):
        actok.Normalizer.from_dataset_stats(tmp_path, key="observation.state")
    with pytest.raises(actok.LoadError, match="no dataset statistics"):
        actok.Normalizer.from_dataset_stats(tmp_path / "nowhere")


def lerobot_with_state(root: Path, eps: list[np.ndarray], states: list[np.ndarray]) -> Path:
    """A v2.1 LeRobot dataset with action and observation.state columns and meta/stats.json."""
    (root / "data" / "chunk-000").mkdir(parents=True)
    (root / "meta").mkdir()
    (root / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v2.1", "fps": 10}))
    for i, (e, s) in enumerate(zip(eps, states)):
        table = pa.table(
            {
                "action": pa.array(e.tolist(), type=pa.list_(pa.float32())),
                "observation.state": pa.array(s.tolist(), type=pa.list_(pa.float32())),
                "episode_index": pa.array([i] * len(e), type=pa.int64()),
                "frame_index": pa.array(range(len(e)), type=pa.int64()),
            }
        )
        pq.write_table(table, root / "data" / "chunk-000" / f"episode_{i:06d}.parquet")
    allv = np.concatenate(eps).astype(np.float64)
    q01, q99 = np.quantile(allv, [0.01, 0.99], axis=0)
    write_stats(
        root,
        {
            "q01": q01.tolist(),
            "q99": q99.tolist(),
            "min": allv.min(0).tolist(),
            "max": allv.max(0).tolist(),
        },
    )
    return root


def test_cli_records_the_preparation_and_encode_applies_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eps = episodes(lengths=(40, 35, 50))
    states = states_for(eps)
    root = lerobot_with_state(tmp_path / "ds", eps, states)
    tok = tmp_path / "tok"
    prep_args = ["--dims", "0:2,3:5", "--delta-dims", "0:2"]
    assert (
        main(
            [
                "fit",
                str(root),
                "-o",
                str(tok),
                "--horizon",
                "8",
                "--vocab-size",
                "300",
                "--quiet",
                "--stats",
                "--sample-fraction",
                "0.5",
                *prep_args,
            ]
        )
        == 0
    )
    recorded = json.loads((tok / "actok_data.json").read_text())
    assert recorded["dims"] == [0, 1, 3, 4] and recorded["delta_dims"] == [0, 1]
    assert recorded["state_key"] == "observation.state"
    assert recorded["stats_source"] == str(root)
    # The reference's files carry none of it.
    assert "dims" not in json.loads((tok / "processor_config.json").read_text())
    tokenizer = actok.FastTokenizer.from_pretrained(tok)
    np.testing.assert_allclose(
        tokenizer.normalizer.high,
        np.quantile(np.concatenate(eps), 0.99, axis=0)[[0, 1, 3, 4]],
        rtol=1e-6,
    )
    # encode (no options) prepares the data exactly as the Python functions do.
    out = tmp_path / "ids.npz"
    assert main(["encode", str(tok), str(root), "-o", str(out)]) == 0
    read = actok.read_episodes(root, dims="0:2,3:5", state_key="observation.state")
    chunks = actok.chunk_episodes(read, 8, delta_dims="0:2")
    ids, lengths = tokenizer.encode_batch(chunks)
    with np.load(out) as z:
        np.testing.assert_array_equal(z["offsets"][1:], np.cumsum(lengths))
        assert z["action_dim"] == 4
    # The streaming Parquet path prepares it identically.
    streamed = tmp_path / "ids.parquet"
    assert main(["encode", str(tok), str(root), "-o", str(streamed)]) == 0
    rows = pq.read_table(streamed).column("ids").to_pylist()
    assert rows == [row[:n].tolist() for row, n in zip(ids, lengths)]
    # So does inspect; a contradicting option is refused in one line.
    assert main(["inspect", str(tok), str(root), "--sweep", "--json"]) == 0
    capsys.readouterr()
    assert main(["encode", str(tok), str(root), "-o", str(out), "--dims", "0:4"]) == 2
    err = capsys.readouterr().err
    assert "--dims 0,1,2,3 differs from the 0,1,3,4" in err and err.count("\n") == 1
    # A missing state column is named.
    assert (
        main(
            [
                "fit",
                str(root),
                "-o",
                str(tmp_path / "t2"),
                "--delta-dims",
                "0",
                "--state-key",
                "observation.velocity",
                "--quiet",
            ]
        )
        == 2
    )
    assert "no column 'observation.velocity'" in capsys.readouterr().err


@given(
    st.integers(1, 6),
    st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True),
    st.data(),
)
def test_add_state_undoes_the_delta(horizon: int, dims: list[int], data: st.DataObject) -> None:
    """For any dimension subset and delta subset of it, add_state(chunks, state at each chunk's
    start) gives back the absolute actions of those dimensions."""
    delta = data.draw(st.lists(st.sampled_from(dims), max_size=len(dims), unique=True))
    rng = np.random.default_rng(len(dims) * 10 + horizon)
    eps = [rng.normal(size=(n, 6)) for n in (3, 9)]
    states = [rng.normal(size=(len(e), 7)) for e in eps]
    read = actok.Episodes(episodes=[e[:, dims] for e in eps], states=states, dims=tuple(dims))
    chunks = actok.chunk_episodes(read, horizon, delta_dims=delta or None)
    absolute = actok.chunk_episodes([e[:, dims] for e in eps], horizon)
    starts = np.concatenate(states)  # stride 1, repeat_last: a chunk starts at every step
    prep = actok.DataPrep(dims=tuple(dims), delta_dims=tuple(delta))
    np.testing.assert_allclose(prep.add_state(chunks, starts), absolute, atol=1e-12)
