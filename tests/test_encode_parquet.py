"""``actok encode DATA -o OUT.parquet`` at dataset scale: LeRobot v2.1/v3.0 and npz, streamed in
tasks, identical on 1 worker, 2 worker processes and a local Ray cluster; ``actok decode``
reads it back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module
from terminal import stderr_on_a_terminal

import actok
from actok import _bulk, _token_parquet
from actok._cli import main

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

HORIZON = 10


def episodes() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    lengths = (37, 5, 64, 23, 50, 41, 12, 30)
    return [np.cumsum(rng.normal(0, 0.1, size=(n, 4)), axis=0).astype(np.float32) for n in lengths]


def write_lerobot(root: Path, eps: list[np.ndarray], layout: str) -> Path:
    """LeRobot layouts: v2.1 one file per episode; v3.0 several episodes per file, in small row
    groups so episodes straddle row groups (and tasks read several)."""
    (root / "meta").mkdir(parents=True)
    (root / "meta" / "info.json").write_text(json.dumps({"codebase_version": layout, "fps": 10}))

    def table(items: list[tuple[int, np.ndarray]]) -> object:
        return pa.table(
            {
                "action": pa.array(
                    np.concatenate([e for _, e in items]).tolist(), type=pa.list_(pa.float32(), 4)
                ),
                "episode_index": pa.array(
                    np.concatenate([[i] * len(e) for i, e in items]), type=pa.int64()
                ),
                "frame_index": pa.array(
                    np.concatenate([np.arange(len(e)) for _, e in items]), type=pa.int64()
                ),
            }
        )

    if layout == "v2.1":
        for i, e in enumerate(eps):
            d = root / "data" / "chunk-000"
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(table([(i, e)]), d / f"episode_{i:06d}.parquet")
    else:
        d = root / "data" / "chunk-000"
        d.mkdir(parents=True)
        items = list(enumerate(eps))
        pq.write_table(table(items[:5]), d / "file-000.parquet", row_group_size=17)
        pq.write_table(table(items[5:]), d / "file-001.parquet", row_group_size=17)
    return root


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tok") / "tok"
    chunks = actok.chunk_episodes(episodes(), HORIZON)
    actok.FastTokenizer.fit(chunks, vocab_size=300, normalizer="quantile").save_pretrained(out)
    return out


@pytest.fixture
def small_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tasks of 64 frames (the floor): several episodes per task, several tasks per file.
    monkeypatch.setattr(_bulk, "TASK_VALUES", 1)


def expected(tokenizer_dir: Path) -> tuple[list[list[int]], np.ndarray, np.ndarray]:
    tok = actok.FastTokenizer.from_pretrained(tokenizer_dir)
    chunks = actok.chunk_episodes(episodes(), HORIZON)
    ids = id_lists(tok, chunks)
    ep = np.concatenate([[i] * len(e) for i, e in enumerate(episodes())])
    start = np.concatenate([np.arange(len(e)) for e in episodes()])
    return ids, ep, start


def id_lists(tok: actok.FastTokenizer, chunks: np.ndarray) -> list[list[int]]:
    ids, lengths = tok.encode_batch(chunks)
    return [row[:n].tolist() for row, n in zip(ids, lengths)]


def same_lists(got: list[list[int]], want: list[list[int]]) -> None:
    """Equal id lists; a mismatch names the first differing row (pytest's diff of long lists is
    slow)."""
    assert len(got) == len(want), (len(got), len(want))
    bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    assert bad is None, f"row {bad}: {got[bad]} != {want[bad]}"


@pytest.mark.parametrize("layout", ["v2.1", "v3.0", "npz"])
def test_parquet_rows_are_the_chunks_of_each_episode(
    tmp_path: Path, tokenizer_dir: Path, layout: str, small_tasks: None
) -> None:
    eps = episodes()
    if layout == "npz":
        data = tmp_path / "d.npz"
        np.savez(data, actions=np.concatenate(eps), episode_ends=np.cumsum([len(e) for e in eps]))
    else:
        data = write_lerobot(tmp_path / "ds", eps, layout)
    out = tmp_path / "ids.parquet"
    assert main(["encode", str(tokenizer_dir), str(data), "-o", str(out)]) == 0
    table = pq.read_table(out)
    ids, ep, start = expected(tokenizer_dir)
    same_lists(table.column("ids").to_pylist(), ids)
    np.testing.assert_array_equal(table.column("episode_index").to_numpy(), ep)
    np.testing.assert_array_equal(table.column("start_frame").to_numpy(), start)
    np.testing.assert_array_equal(table.column("length").to_numpy(), [len(i) for i in ids])
    assert pq.ParquetFile(out).num_row_groups > 1  # streamed in several tasks
    # decode reads it back: the tokenizer's own decode of those ids.
    back = tmp_path / "back.npy"
    assert main(["decode", str(tokenizer_dir), str(out), "-o", str(back)]) == 0
    tok = actok.FastTokenizer.from_pretrained(tokenizer_dir)
    np.testing.assert_array_equal(
        np.load(back), tok.decode(ids, time_horizon=HORIZON, action_dim=4)
    )


def encode_each_way(tokenizer_dir: Path, tmp_path: Path, runs: dict[str, list[str]]) -> set[bytes]:
    data = write_lerobot(tmp_path / "ds", episodes(), "v3.0")
    contents = set()
    for name, extra in runs.items():
        out = tmp_path / f"{name}.parquet"
        assert main(["encode", str(tokenizer_dir), str(data), "-o", str(out), *extra]) == 0
        contents.add(out.read_bytes())
    return contents


def test_two_workers_write_the_same_file(
    tmp_path: Path, tokenizer_dir: Path, small_tasks: None
) -> None:
    runs = {"one": [], "two": ["--workers", "2"]}
    assert len(encode_each_way(tokenizer_dir, tmp_path, runs)) == 1


def test_ray_writes_the_same_file(tmp_path: Path, tokenizer_dir: Path, small_tasks: None) -> None:
    require_module("ray")
    # --workers 2 without --ray-address: a local cluster of 2 CPUs, ray.init(num_cpus=2).
    runs = {"one": [], "ray": ["--engine", "ray", "--workers", "2"]}
    assert len(encode_each_way(tokenizer_dir, tmp_path, runs)) == 1


def test_sampling_and_episode_limit_on_parquet(tmp_path: Path, tokenizer_dir: Path) -> None:
    data = write_lerobot(tmp_path / "ds", episodes(), "v2.1")
    out = tmp_path / "s.parquet"
    args = ["--sample-fraction", "0.25", "--max-episodes", "3"]
    assert main(["encode", str(tokenizer_dir), str(data), "-o", str(out), *args]) == 0
    read = actok.read_episodes(data, max_episodes=3)
    want = actok.chunk_episodes(read, HORIZON, sample_fraction=0.25)
    tok = actok.FastTokenizer.from_pretrained(tokenizer_dir)
    same_lists(pq.read_table(out).column("ids").to_pylist(), id_lists(tok, want))


def test_streaming_refuses_scattered_episodes_and_npz_workers(
    tmp_path: Path, tokenizer_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ds"
    (root / "data").mkdir(parents=True)
    e = episodes()[0]
    t = pa.table(
        {
            "action": pa.array(e.tolist(), type=pa.list_(pa.float32())),
            "episode_index": pa.array([0, 1] * (len(e) // 2) + [0] * (len(e) % 2)),
        }
    )
    pq.write_table(t, root / "data" / "file-000.parquet")
    assert main(["encode", str(tokenizer_dir), str(root), "-o", str(tmp_path / "x.parquet")]) == 2
    assert "rows of episode 0 are not stored together" in capsys.readouterr().err
    npz = tmp_path / "x.npz"
    assert main(["encode", str(tokenizer_dir), str(root), "-o", str(npz), "--workers", "2"]) == 2
    assert "name the output OUT.parquet" in capsys.readouterr().err


def test_overflow_names_the_episode_and_frame(tmp_path: Path, tokenizer_dir: Path) -> None:
    eps = episodes()
    eps[3] = eps[3].copy()
    eps[3][7, 2] = 60.0  # far outside the fitted range
    data = tmp_path / "d.npz"
    np.savez(data, actions=np.concatenate(eps), episode_ends=np.cumsum([len(e) for e in eps]))
    out = tmp_path / "x.parquet"
    with pytest.raises(actok.EncodeError, match="episode 3, starting at frame"):
        _bulk_encode(tokenizer_dir, data, out)
    # No file holding the rows before the error is left to be mistaken for the whole dataset.
    assert list(tmp_path.iterdir()) == [data]


def _bulk_encode(tokenizer_dir: Path, data: Path, out: Path) -> None:
    tok = actok.FastTokenizer.from_pretrained(tokenizer_dir)
    job = _bulk.Job(
        tok, actok.DataPrep(), "actions", HORIZON, 1, "repeat_last", "raise", True, None
    )
    plan = _bulk.plan(data, job, None, 4)
    _token_parquet.write(
        job, plan, out, {}, engine="local", workers=1, ray_address=None, progress=None
    )


def test_progress_bar_on_a_terminal_only(tmp_path: Path, tokenizer_dir: Path) -> None:
    """The frames bar is drawn when stderr is a terminal (a pseudo-terminal here), not in a pipe."""
    import subprocess
    import sys

    data = write_lerobot(tmp_path / "ds", episodes(), "v3.0")
    script = str(Path(sys.executable).parent / "actok")
    args = [script, "encode", str(tokenizer_dir), str(data), "-o"]
    piped = subprocess.run([*args, str(tmp_path / "a.parquet")], capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    seen = stderr_on_a_terminal([*args, str(tmp_path / "b.parquet")])
    total = sum(len(e) for e in episodes())
    assert b"actok encode frames [" in seen and f"{total}/{total}".encode() in seen, seen
