"""``actok.integrations.datasets``: ``Dataset.map(batched=True)`` with real Hugging Face
``datasets`` (local, in memory: no download), in one process and with ``num_proc=2``.

The ids column must hold exactly :meth:`FastTokenizer.encode`'s ids, row for row, for every way
``datasets`` stores a chunk (``Array2D``, a list of lists, a flat list) and in every batch format
the encoder takes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

import actok

datasets = require_module("datasets")
pa = require_module("pyarrow")
ActionEncoder = require_module("actok.integrations.datasets").ActionEncoder

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
H, D = 20, 7
N = 300


def smooth_chunks(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, H)[None, :, None]
    freq = rng.uniform(0.2, 2.0, (n, 1, D))
    phase = rng.uniform(0.0, 6.3, (n, 1, D))
    return np.sin(2 * np.pi * freq * t + phase).astype(np.float32)


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return actok.FastTokenizer.from_pretrained(BUNDLED)


@pytest.fixture(scope="module")
def chunks() -> np.ndarray:
    return smooth_chunks(N)


@pytest.fixture(autouse=True, scope="module")
def quiet_datasets():
    datasets.disable_progress_bars()
    yield
    datasets.enable_progress_bars()


def dataset(chunks: np.ndarray, layout: str):
    index = list(range(len(chunks)))
    if layout == "array2d":
        features = datasets.Features(
            {"actions": datasets.Array2D((H, D), "float32"), "index": datasets.Value("int64")}
        )
        return datasets.Dataset.from_dict({"actions": chunks, "index": index}, features=features)
    if layout == "nested":
        return datasets.Dataset.from_dict({"actions": chunks.tolist(), "index": index})
    assert layout == "flat"
    return datasets.Dataset.from_dict({"actions": chunks.reshape(len(chunks), -1).tolist()})


def ids_of(ds, column: str = "action_ids") -> list[list[int]]:
    return ds.with_format("arrow").data.column(column).to_pylist()


@pytest.mark.parametrize("layout", ["array2d", "nested", "flat"])
def test_num_proc_2_matches_one_process_and_encode(tok, chunks, layout):
    ds = dataset(chunks, layout).with_format("arrow")
    encode = ActionEncoder(tok, chunk_shape=(H, D) if layout == "flat" else None)
    one = ds.map(encode, batched=True, batch_size=64, load_from_cache_file=False)
    two = ds.map(encode, batched=True, batch_size=64, num_proc=2, load_from_cache_file=False)
    ids_type = one.data.column("action_ids").type
    assert pa.types.is_list(ids_type) and ids_type.value_type == pa.int32()
    expected = tok.encode(chunks)
    assert ids_of(one) == expected
    assert ids_of(two) == expected
    assert one.column_names == [*ds.column_names, "action_ids"]


def test_lengths_and_dropped_actions(tok, chunks):
    ds = dataset(chunks, "nested").with_format("arrow")
    encode = ActionEncoder(
        BUNDLED, ids_column="ids", lengths_column="n_ids", drop_column=True
    )  # by directory
    out = ds.map(encode, batched=True, batch_size=100, load_from_cache_file=False)
    assert out.column_names == ["index", "ids", "n_ids"]
    expected = tok.encode(chunks)
    assert ids_of(out, "ids") == expected
    assert out.data.column("n_ids").to_pylist() == [len(e) for e in expected]


@pytest.mark.parametrize("fmt", ["numpy", None])
def test_numpy_and_python_batches(tok, chunks, fmt):
    ds = dataset(chunks[:50], "array2d").with_format(fmt)
    out = ds.map(ActionEncoder(tok), batched=True, batch_size=16, load_from_cache_file=False)
    assert ids_of(out) == tok.encode(chunks[:50])


def test_bad_rows_are_named(tok):
    good = smooth_chunks(3).tolist()
    ragged = [good[0], good[1], good[2][:-1]]
    table = pa.table({"actions": ragged})
    with pytest.raises(actok.ActokError, match="row 2 has a list of 19 items where row 0 has 20"):
        ActionEncoder(tok)(table)
    wide = [good[0], good[1], [row + [0.0] for row in good[2]]]
    with pytest.raises(actok.ActokError, match="row 2 has a list of 8 items where row 0 has 7"):
        ActionEncoder(tok)(pa.table({"actions": wide}))
    with pytest.raises(actok.ActokError, match="row 1 is null"):
        ActionEncoder(tok)(pa.table({"actions": [good[0], None]}))
    with pytest.raises(actok.ActokError, match="row 1 holds a null value"):
        ActionEncoder(tok)(pa.table({"actions": [good[0], [[None] * D] * H]}))
    with pytest.raises(actok.ActokError, match=r"pass the chunk shape"):
        ActionEncoder(tok)(pa.table({"actions": [sum(good[0], [])]}))
    with pytest.raises(actok.ActokError, match="no column 'action'"):
        ActionEncoder(tok, column="action")(pa.table({"actions": good}))
    with pytest.raises(actok.EncodeError):  # the core's error, naming the chunk
        ActionEncoder(tok)(pa.table({"actions": (np.array(good) * 1e4).tolist()}))
    with pytest.raises(actok.ActokError, match="chunk_shape must be"):
        ActionEncoder(tok, chunk_shape=(H, 0))
    with pytest.raises(actok.LoadError):
        ActionEncoder("/nonexistent/tokenizer")


def test_empty_batch(tok):
    out = ActionEncoder(tok)(pa.table({"actions": pa.array([], pa.list_(pa.list_(pa.float32())))}))
    assert out.column("action_ids").to_pylist() == []
    out = ActionEncoder(tok)({"actions": np.zeros((0, H, D), np.float32)})
    assert len(out["action_ids"]) == 0
