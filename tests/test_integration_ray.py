"""``actok.integrations.ray``: ``ray.data.Dataset.map_batches`` on a local Ray cluster started
here (``ray.init(num_cpus=2)``, shut down at the end), with the tokenizer shipped by value (tasks)
and by directory (an actor pool), in the ``"pyarrow"`` and ``"numpy"`` batch formats, from a
tensor column (what ``from_items`` and ``from_numpy`` make; nested-list columns are the
datasets tests' and the same code).

Every row's ids must be exactly :meth:`FastTokenizer.encode`'s in one process. The data is small:
the point is the shipping and the formats, not throughput (the benchmark measures that).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

import actok

ray = require_module("ray")
ray_data = require_module("ray.data")
pa = require_module("pyarrow")
ActionEncoder = require_module("actok.integrations.ray").ActionEncoder

# Ray Data warns about its own deprecated settings when its context is first read.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
H, D = 20, 7
N = 200


@pytest.fixture(scope="module")
def cluster():
    # A test sends nothing off this machine: Ray's usage statistics, which release wheels
    # already leave off for ray.init() (nightly ones do not), are turned off explicitly. Ray's
    # processes inherit the setting from this environment.
    saved = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    context = ray_data.DataContext.get_current()
    context.enable_progress_bars = False
    try:
        yield
    finally:
        ray.shutdown()
        if saved is None:
            del os.environ["RAY_USAGE_STATS_ENABLED"]
        else:
            os.environ["RAY_USAGE_STATS_ENABLED"] = saved


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return actok.FastTokenizer.from_pretrained(BUNDLED)


@pytest.fixture(scope="module")
def chunks() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 1.0, H)[None, :, None]
    freq = rng.uniform(0.2, 2.0, (N, 1, D))
    phase = rng.uniform(0.0, 6.3, (N, 1, D))
    return np.sin(2 * np.pi * freq * t + phase)


def ids_by_row(ds) -> list[list[int]]:
    rows = sorted(ds.take_all(), key=lambda r: r["row"])
    return [np.asarray(r["action_ids"]).tolist() for r in rows]


def test_by_value_in_pyarrow_batches(cluster, tok, chunks):
    ds = ray_data.from_items([{"actions": c, "row": i} for i, c in enumerate(chunks)])
    out = ds.map_batches(
        ActionEncoder(tok, drop_column=True), batch_format="pyarrow", batch_size=32
    )
    assert out.columns() == ["row", "action_ids"]
    assert ids_by_row(out) == tok.encode(chunks)
    ids_type = out.schema().base_schema.field("action_ids").type
    assert pa.types.is_list(ids_type) and ids_type.value_type == pa.int32()


def test_by_directory_in_an_actor_pool_with_numpy_batches(cluster, tok, chunks):
    ds = ray_data.from_items([{"actions": c, "row": i} for i, c in enumerate(chunks)])
    out = ds.map_batches(
        ActionEncoder,
        fn_constructor_kwargs={"tokenizer": str(BUNDLED), "lengths_column": "n_ids"},
        batch_format="numpy",
        batch_size=32,
        compute=ray_data.ActorPoolStrategy(size=2),
    )
    rows = sorted(out.take_all(), key=lambda r: r["row"])
    expected = tok.encode(chunks)
    assert [np.asarray(r["action_ids"]).tolist() for r in rows] == expected
    assert [int(r["n_ids"]) for r in rows] == [len(e) for e in expected]
