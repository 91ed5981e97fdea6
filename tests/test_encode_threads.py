"""``encode`` on more than one thread: the batch is spread over the pool in ranges, and the id
lists are built after, with the GIL held and the collector paused.

Whatever the thread count and batch size, the lists, the error of the lowest failing chunk, the
clipping counts and the collector's state must be those of a one-thread encode, and the GIL must
be free while chunks are encoded.
"""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest
from conftest import bundled_universal, spin_during

import actok

#: 10x3 chunks (30 values): the pool takes batches of 2^15 // 30 = 1092 chunks or more, so
#: batch sizes below and above that, and ones that do not divide evenly into ranges
BATCHES = (1, 255, 1091, 1092, 2185, 4097, 9001)


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return bundled_universal()


@pytest.fixture
def threads():
    """Sets the thread count for one test; restores the default after."""
    yield actok.set_num_threads
    actok.set_num_threads(None)


def chunks(n: int, seed: int, h: int = 10, d: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n, h, d))


@pytest.mark.parametrize("batch", BATCHES)
def test_lists_are_those_of_one_thread(tok, threads, batch):
    x = chunks(batch, batch)
    threads(1)
    want = tok.encode(x, check_shape=False, on_overflow="clip")
    for n in (2, 3):
        threads(n)
        got = tok.encode(x, check_shape=False, on_overflow="clip")
        assert got == want, f"{n} threads, {batch} chunks"
    assert all(type(row) is list and gc.is_tracked(row) for row in got)


@pytest.mark.parametrize("bad", [[3000], [3000, 700], [4096, 1800, 2900]])
def test_the_lowest_failing_chunk_is_named(tok, threads, bad):
    x = chunks(4097, 3)
    for b in bad:
        x[b, 4, 1] = np.nan
    threads(2)
    with pytest.raises(actok.EncodeError, match=rf"chunk {min(bad)}\b"):
        tok.encode(x, check_shape=False)
    assert gc.isenabled()
    # The tokenizer and the pool are usable after the failed call.
    x[bad] = 0.0
    assert len(tok.encode(x, check_shape=False)) == 4097


def test_clipping_counts_add_up_over_the_ranges(tok, threads):
    raw = chunks(3000, 5) * 1.5  # beyond the fitted range in places, in every range
    norm = actok.Normalizer.fit(chunks(200, 6).reshape(-1, 3)).with_out_of_range("clip")
    clipping = tok.with_normalizer(norm)
    counts = {}
    for n in (1, 2):
        threads(n)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            ids = clipping.encode(raw, check_shape=False, on_overflow="clip")
        (warning,) = [w.message for w in record if isinstance(w.message, actok.ClippingWarning)]
        counts[n] = (warning.counts, warning.total, ids)
    assert counts[2] == counts[1]
    assert sum(counts[1][0]) > 0


def test_the_gil_is_free_while_chunks_are_encoded(tok, threads):
    x = chunks(20000, 8, h=50, d=14)
    threads(2)
    assert spin_during(lambda: tok.encode(x, check_shape=False, on_overflow="clip")) > 1000


def test_no_collection_runs_while_the_lists_are_built(tok, threads):
    """With the young threshold at 100, 5000 lists built with the collector running would start
    about 50 collections; paused, at most one starts after the lists are built (and one for the
    call's own objects)."""
    started: list[int] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    x = chunks(5000, 9, h=10, d=2)
    threshold = gc.get_threshold()
    gc.set_threshold(100, 10, 10)
    gc.callbacks.append(on_gc)
    try:
        threads(2)
        ids = tok.encode(x, check_shape=False, on_overflow="clip")
    finally:
        gc.callbacks.remove(on_gc)
        gc.set_threshold(*threshold)
    assert len(ids) == 5000
    assert len(started) <= 2, started
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled(tok, threads):
    threads(2)
    gc.disable()
    try:
        tok.encode(chunks(3000, 10), check_shape=False, on_overflow="clip")
        assert not gc.isenabled()
    finally:
        gc.enable()
