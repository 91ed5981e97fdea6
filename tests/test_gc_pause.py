"""``encode`` builds its id lists with the cyclic garbage collector paused, and restores it.

The lists hold only ints, so collections run while they are built find nothing to free; the
binding pauses the collector for batches of at least 700 chunks (one collection threshold) and
resumes it before returning. These tests check that no collection starts while the lists are
built, that a caller's collector state (enabled or disabled) is left as it was, also when the
call fails, and that the lists are ordinary tracked lists.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from conftest import bundled_universal

import actok

CHUNKS = 5000


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return bundled_universal()


@pytest.fixture
def chunks() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.uniform(-1.0, 1.0, size=(CHUNKS, 10, 2))


@pytest.fixture
def collections():
    """Counts the collections that start while the test runs, at CPython's default threshold."""
    started: list[int] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    threshold = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.callbacks.append(on_gc)
    try:
        yield started
    finally:
        gc.callbacks.remove(on_gc)
        gc.set_threshold(*threshold)


def test_no_collection_runs_while_the_lists_are_built(tok, chunks, collections):
    assert gc.isenabled()
    ids = tok.encode(chunks, check_shape=False, on_overflow="clip")
    assert len(ids) == CHUNKS
    # 5000 new lists would start about 7 young collections; at most one may start after the
    # collector is resumed (when the call's return value is allocated).
    assert len(collections) <= 1, collections
    assert gc.isenabled()


def test_the_lists_are_the_same_as_in_small_batches(tok, chunks):
    ids = tok.encode(chunks, check_shape=False, on_overflow="clip")
    for start in range(0, CHUNKS, 997):
        part = chunks[start : start + 7]
        assert tok.encode(part, check_shape=False, on_overflow="clip") == ids[start : start + 7]
    assert all(type(row) is list and gc.is_tracked(row) for row in ids)


def test_a_disabled_collector_stays_disabled(tok, chunks, collections):
    gc.disable()
    try:
        tok.encode(chunks, check_shape=False, on_overflow="clip")
        assert not gc.isenabled()
        assert collections == []
    finally:
        gc.enable()


def test_a_failing_encode_leaves_the_collector_enabled(tok, chunks):
    chunks[CHUNKS - 1, 3, 1] = np.nan
    with pytest.raises(actok.EncodeError, match="not finite"):
        tok.encode(chunks, check_shape=False)
    assert gc.isenabled()
