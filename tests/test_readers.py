"""actok.read_episodes: .npy, .npz (the ../shared/data convention) and LeRobot directories."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_DATA, require_shared_data

import actok
from actok import ActokError, Episodes, LoadError, read_episodes
from actok._cli import main

# ---------------------------------------------------------------- .npy / .npz


def test_npy_two_and_three_dimensional(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "one.npy", a)
    e = read_episodes(tmp_path / "one.npy")
    assert isinstance(e, Episodes) and len(e) == 1 and e.dim == 3 and e.fps is None
    np.testing.assert_array_equal(e[0], a)
    assert e[0].dtype == np.float32
    b = np.arange(24.0).reshape(2, 4, 3)
    np.save(tmp_path / "many.npy", b)
    e = read_episodes(str(tmp_path / "many.npy"))
    assert e.lengths == [4, 4] and e.source.endswith("many.npy")
    np.testing.assert_array_equal(e[1], b[1])


def test_npy_errors(tmp_path):
    np.save(tmp_path / "flat.npy", np.zeros(5))
    with pytest.raises(LoadError, match=r"shape \(T, D\) or \(N, T, D\)"):
        read_episodes(tmp_path / "flat.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None]), allow_pickle=True)
    with pytest.raises(LoadError, match="obj.npy"):
        read_episodes(tmp_path / "obj.npy")  # never unpickled
    np.save(tmp_path / "str.npy", np.array([["a", "b"]]))
    with pytest.raises(LoadError, match="numeric"):
        read_episodes(tmp_path / "str.npy")
    np.save(tmp_path / "cplx.npy", np.zeros((2, 2), complex))
    with pytest.raises(LoadError, match="numeric"):
        read_episodes(tmp_path / "cplx.npy")
    np.save(tmp_path / "empty.npy", np.zeros((0, 2)))
    with pytest.raises(LoadError, match="no steps"):
        read_episodes(tmp_path / "empty.npy")
    with pytest.raises(LoadError, match="does not exist"):
        read_episodes(tmp_path / "missing.npy")
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(LoadError, match=r"\.npy or \.npz"):
        read_episodes(tmp_path / "x.csv")
    np.savez(tmp_path / "archive.npz", actions=np.zeros((2, 2)))
    (tmp_path / "archive.npz").rename(tmp_path / "archive.npy")
    with pytest.raises(LoadError, match="archive"):
        read_episodes(tmp_path / "archive.npy")
    assert issubclass(LoadError, ActokError)


def write_npz(path, actions, **extra):
    np.savez(path, actions=actions, **extra)
    return path


def test_npz_convention(tmp_path):
    a = np.arange(20, dtype=np.float32).reshape(10, 2)
    p = write_npz(
        tmp_path / "d.npz",
        a,
        episode_ends=np.array([3, 7, 10]),
        fps=np.float32(15),
        dim_names=np.array(["x", "gripper"]),
    )
    e = read_episodes(p)
    assert e.lengths == [3, 4, 3] and e.fps == 15.0 and e.dim_names == ["x", "gripper"]
    np.testing.assert_array_equal(np.concatenate(e.episodes), a)
    np.testing.assert_array_equal(e[1], a[3:7])
    plain = read_episodes(write_npz(tmp_path / "plain.npz", a))
    assert plain.lengths == [10] and plain.fps is None and plain.dim_names is None
    np.savez(tmp_path / "other.npz", act=a)
    assert read_episodes(tmp_path / "other.npz", key="act").lengths == [10]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"episode_ends": np.array([3, 3, 10])}, "episode 1 ends at 3 after starting at 3"),
        ({"episode_ends": np.array([5, 3, 10])}, "strictly increasing"),
        ({"episode_ends": np.array([3, 9])}, "last episode_ends value is 9, but 'actions' has 10"),
        ({"episode_ends": np.array([3.0, 10.0])}, "integer"),
        ({"episode_ends": np.array([0, 10])}, "episode 0 ends at 0"),
        ({"fps": np.array([1.0, 2.0])}, "fps must be one positive number"),
        ({"fps": np.float64(-5)}, "fps must be one positive number"),
        ({"dim_names": np.array(["a", "b", "c"])}, "3 dim_names for 2 action dimensions"),
    ],
)
def test_npz_validation(tmp_path, extra, message):
    p = write_npz(tmp_path / "bad.npz", np.zeros((10, 2)), **extra)
    with pytest.raises(LoadError, match=message):
        read_episodes(p)


def test_npz_missing_key_lists_the_keys(tmp_path):
    np.savez(tmp_path / "k.npz", obs=np.zeros((3, 2)), act=np.zeros((3, 2)))
    with pytest.raises(LoadError, match=r"no array 'actions' \(it holds: obs, act\)"):
        read_episodes(tmp_path / "k.npz")


def test_real_shared_data_files():
    require_shared_data()
    files = sorted(SHARED_DATA.glob("*.npz"))
    assert files, f"no .npz files in {SHARED_DATA}"
    for path in files:
        with np.load(path) as z:
            actions, ends, fps = z["actions"], z["episode_ends"], float(z["fps"])
            names = [str(n) for n in z["dim_names"]]
        e = read_episodes(path)
        assert e.fps == fps and e.dim_names == names and e.dim == actions.shape[1]
        assert len(e) == len(ends) and sum(e.lengths) == len(actions)
        for got, want in zip(e.episodes, np.split(actions, ends[:-1])):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == actions.dtype


# ---------------------------------------------------------------- LeRobot


def make_lerobot(root, episodes, layout, *, fps=30, names=None, shuffle=False, fixed=False):
    """A minimal LeRobot dataset: data/ parquet files and meta/info.json."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    dim = episodes[0].shape[1]
    (root / "meta").mkdir(parents=True)
    feature = {"dtype": "float32", "shape": [dim]}
    if names is not None:
        feature["names"] = names
    (root / "meta" / "info.json").write_text(
        json.dumps({"codebase_version": layout, "fps": fps, "features": {"action": feature}})
    )

    def table(eps_with_index):
        rows = [
            (ep_index, frame, ep[frame])
            for ep_index, ep in eps_with_index
            for frame in range(len(ep))
        ]
        if shuffle:
            rows = [rows[i] for i in np.random.default_rng(0).permutation(len(rows))]
        kind = pa.list_(pa.float32(), dim) if fixed else pa.list_(pa.float32())
        return pa.table(
            {
                "action": pa.array([r[2].tolist() for r in rows], type=kind),
                "episode_index": pa.array([r[0] for r in rows], type=pa.int64()),
                "frame_index": pa.array([r[1] for r in rows], type=pa.int64()),
                "timestamp": pa.array([r[1] / fps for r in rows], type=pa.float32()),
            }
        )

    chunk = root / "data" / "chunk-000"
    chunk.mkdir(parents=True)
    if layout == "v2.1":
        for i, ep in enumerate(episodes):
            pq.write_table(table([(i, ep)]), chunk / f"episode_{i:06d}.parquet")
    else:  # v3.0: several episodes per file, files split mid-dataset
        indexed = list(enumerate(episodes))
        half = max(1, len(indexed) // 2)
        pq.write_table(table(indexed[:half]), chunk / "file-000.parquet")
        if indexed[half:]:
            pq.write_table(table(indexed[half:]), chunk / "file-001.parquet")
    return root


def some_episodes(dim=3):
    rng = np.random.default_rng(7)
    return [rng.normal(size=(n, dim)).astype(np.float32) for n in (5, 1, 12, 8)]


@pytest.mark.parametrize("layout", ["v2.1", "v3.0"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_lerobot_layouts(tmp_path, layout, shuffle):
    eps = some_episodes()
    root = make_lerobot(tmp_path / "ds", eps, layout, names=["x", "y", "z"], shuffle=shuffle)
    e = read_episodes(root)
    assert e.fps == 30.0 and e.dim_names == ["x", "y", "z"] and e.source == str(root)
    assert e.lengths == [5, 1, 12, 8]
    for got, want in zip(e.episodes, eps):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == np.float32
    # Feeds straight into chunking and normalization.
    assert actok.chunk_episodes(e, 4).shape == (26, 4, 3)
    assert actok.Normalizer.fit(e).dim == 3


def test_lerobot_names_and_fixed_size_lists(tmp_path):
    eps = some_episodes(2)
    root = make_lerobot(tmp_path / "ds", eps, "v3.0", names={"motors": ["a", "b"]}, fixed=True)
    e = read_episodes(root)
    assert e.dim_names == ["a", "b"]
    np.testing.assert_array_equal(e[2], eps[2])
    root = make_lerobot(tmp_path / "ds2", eps, "v2.1", names=["only_one"])
    assert read_episodes(root).dim_names is None  # do not attach names of the wrong length


def test_lerobot_errors(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(LoadError, match="not a LeRobot dataset"):
        read_episodes(tmp_path / "empty")
    (tmp_path / "nodata" / "data").mkdir(parents=True)
    with pytest.raises(LoadError, match="no .parquet files"):
        read_episodes(tmp_path / "nodata")
    root = make_lerobot(tmp_path / "ds", some_episodes(), "v2.1")
    with pytest.raises(LoadError, match=r"no column 'actions'.*episode_index"):
        read_episodes(root, key="actions")
    # Ragged action rows.
    bad = tmp_path / "ragged" / "data" / "chunk-000"
    bad.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "action": pa.array([[1.0, 2.0], [3.0]], type=pa.list_(pa.float32())),
                "episode_index": pa.array([0, 0]),
            }
        ),
        bad / "file-000.parquet",
    )
    with pytest.raises(LoadError, match="row 1 has 1 values, row 0 has 2"):
        read_episodes(tmp_path / "ragged")
    # Duplicate frames.
    dup = tmp_path / "dup" / "data" / "chunk-000"
    dup.mkdir(parents=True)
    pq.write_table(
        pa.table(
            {
                "action": pa.array([[1.0], [2.0]], type=pa.list_(pa.float32())),
                "episode_index": pa.array([0, 0]),
                "frame_index": pa.array([4, 4]),
            }
        ),
        dup / "file-000.parquet",
    )
    with pytest.raises(LoadError, match="episode 0 has frame_index 4 twice"):
        read_episodes(tmp_path / "dup")
    # Non-numeric actions and nulls.
    strings = tmp_path / "str" / "data"
    strings.mkdir(parents=True)
    pq.write_table(
        pa.table({"action": pa.array(["a", "b"]), "episode_index": pa.array([0, 0])}),
        strings / "file-000.parquet",
    )
    with pytest.raises(LoadError, match="must be numeric"):
        read_episodes(tmp_path / "str")
    nulls = tmp_path / "null" / "data"
    nulls.mkdir(parents=True)
    pq.write_table(
        pa.table({"action": pa.array([[1.0], None]), "episode_index": pa.array([0, 0])}),
        nulls / "file-000.parquet",
    )
    with pytest.raises(LoadError, match="1 rows are null"):
        read_episodes(tmp_path / "null")
    (root / "meta" / "info.json").write_text("{")
    with pytest.raises(LoadError, match="info.json"):
        read_episodes(root)


def test_key_is_keyword_only_and_refused_for_npy(tmp_path, capsys):
    """As documented, ``read_episodes(path, *, key=None)``: ``key`` names an .npz array or a
    LeRobot column; a .npy file holds one array, so a key there is refused, not ignored (the CLI
    too, for DATA and for --chunks)."""
    np.save(tmp_path / "one.npy", np.zeros((5, 2)))
    with pytest.raises(TypeError):
        read_episodes(tmp_path / "one.npy", "actions")  # type: ignore[misc]
    with pytest.raises(LoadError, match=r"one\.npy is a \.npy file.*key='act'.*leave it out"):
        read_episodes(tmp_path / "one.npy", key="act")
    assert read_episodes(tmp_path / "one.npy", key=None).lengths == [5]
    assert main(["fit", str(tmp_path / "one.npy"), "--key", "act", "-o", str(tmp_path / "t")]) == 2
    assert "is a .npy file" in capsys.readouterr().err
    np.save(tmp_path / "chunks.npy", np.zeros((2, 4, 2)))
    bundled = str(Path(actok.__file__).parent / "data" / "robosuite_fast")
    args = ["encode", bundled, str(tmp_path / "chunks.npy"), "--chunks", "--key", "act"]
    assert main([*args, "-o", str(tmp_path / "ids.npz")]) == 2
    assert "leave out --key" in capsys.readouterr().err


def test_lerobot_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    (tmp_path / "ds" / "data").mkdir(parents=True)
    (tmp_path / "ds" / "data" / "file-000.parquet").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"pip install 'actok\[lerobot\]'") as err:
        read_episodes(tmp_path / "ds")
    # One line, whole: what needed pyarrow and how to get it; no chained traceback.
    assert str(err.value) == (
        "reading LeRobot datasets needs pyarrow, which is not installed: "
        "pip install 'actok[lerobot]'"
    )
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_cli_without_pyarrow_prints_one_line(tmp_path, monkeypatch, capsys):
    """The CLI turns the missing extra into its one-line error (exit 2), not a traceback."""
    (tmp_path / "ds" / "data").mkdir(parents=True)
    (tmp_path / "ds" / "data" / "file-000.parquet").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    assert main(["fit", str(tmp_path / "ds"), "-o", str(tmp_path / "tok"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "actok: error: reading LeRobot datasets needs pyarrow, which is not installed: "
        "pip install 'actok[lerobot]'\n"
    )
