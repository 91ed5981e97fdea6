"""Concurrency: one tokenizer shared by many Python threads gives exactly the serial results, and
a process forked after actok's thread pool exists (a PyTorch ``DataLoader`` worker) still
encodes and decodes, also on a pool of its own.

``test_threads.py`` covers the GIL release, the thread-count settings and eight threads running
one encode; this file mixes calls and forks. Every wait has a timeout, so a deadlock fails the
test instead of hanging the run.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from pathlib import Path

import numpy as np
import pytest

import actok

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
TIMEOUT = 60.0

# Set by the fork tests before forking, so workers inherit them instead of unpickling them.
_SHARED: dict[str, object] = {}


def _smooth_chunks(n: int, h: int = 20, d: int = 7, seed: int = 0) -> np.ndarray:
    """Smooth chunks in [-1, 1] that the bundled tokenizer represents losslessly; with n = 600,
    ``n * h * d`` is far above the size from which actok spreads a batch over its threads."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, h)[None, :, None]
    freq = rng.uniform(0.2, 2.0, (n, 1, d))
    phase = rng.uniform(0.0, 6.3, (n, 1, d))
    return np.sin(2 * np.pi * freq * t + phase)


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return actok.FastTokenizer.from_pretrained(BUNDLED)


@pytest.fixture
def two_threads():
    actok.set_num_threads(2)
    yield
    actok.set_num_threads(None)


def _actok_threads() -> set[str]:
    """Names of this process's actok pool threads (Linux only; empty elsewhere)."""
    task = Path("/proc/self/task")
    if not task.is_dir():
        return set()
    names = set()
    for t in task.iterdir():
        try:
            names.add((t / "comm").read_text().strip())
        except OSError:  # the thread ended meanwhile
            continue
    return {n for n in names if n.startswith("actok-")}


def _run_threads(work, n: int) -> list[object]:
    """Runs ``work(i)`` on ``n`` daemon threads released together; returns the results in
    order and fails (rather than hangs) if a thread has not finished within the timeout."""
    results: list[object] = [None] * n
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def run(i: int) -> None:
        try:
            start.wait(TIMEOUT)
            results[i] = work(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is still running: deadlock?"
    if errors:
        raise errors[0]
    return results


def _mixed_calls(tok: actok.FastTokenizer, chunks: np.ndarray, i: int):
    """Encode, encode_batch and decode in an order that depends on ``i``, several rounds."""
    h, d = chunks.shape[1:]
    ids = tok.encode(chunks)
    out = []
    for round_ in range(3):
        kind = (i + round_) % 3
        if kind == 0:
            out.append(("encode", tok.encode(chunks)))
        elif kind == 1:
            padded, lengths = tok.encode_batch(chunks)
            out.append(("encode_batch", (padded.tolist(), lengths.tolist())))
        else:
            out.append(("decode", tok.decode(ids, h, d).tobytes()))
    return out


def test_eight_python_threads_mixing_calls_match_serial(tok, two_threads):
    """Eight threads share one tokenizer and actok's pool; every result is the serial one."""
    chunks = _smooth_chunks(600)
    serial = [_mixed_calls(tok, chunks, i) for i in range(8)]
    assert _actok_threads() or not Path("/proc/self/task").is_dir()  # the pool did run
    parallel = _run_threads(lambda i: _mixed_calls(tok, chunks, i), 8)
    assert parallel == serial


def test_errors_from_concurrent_threads_name_their_own_chunk(tok, two_threads):
    """Each thread's batch is bad in a different chunk: each error names its own, none leaks
    into another thread's call (the per-thread buffers are not shared)."""
    chunks = _smooth_chunks(600)

    def work(i: int) -> str:
        x = chunks.copy()
        x[100 + i] = np.nan
        with pytest.raises(actok.EncodeError) as ei:
            tok.encode(x)
        return str(ei.value)

    messages = _run_threads(work, 8)
    for i, msg in enumerate(messages):
        assert f"chunk {100 + i} " in msg, msg


def test_changing_the_thread_count_while_threads_encode(tok):
    """One thread keeps resizing the pool while seven encode: results never change (a call keeps
    the pool it started on; a resize builds a new one)."""
    chunks = _smooth_chunks(600)
    want = tok.encode(chunks)

    def work(i: int):
        if i == 0:
            for n in (1, 3, 2, 1, 4, 2) * 3:
                actok.set_num_threads(n)
            return want
        return [tok.encode(chunks) for _ in range(3)]

    try:
        results = _run_threads(work, 8)
    finally:
        actok.set_num_threads(None)
    assert results[0] == want
    assert all(r == [want] * 3 for r in results[1:])


# --------------------------------------------------------------------------------------------
# fork
# --------------------------------------------------------------------------------------------
def _child_encode_decode(i: int):
    tok = _SHARED["tok"]
    chunks = _SHARED["chunks"]
    assert isinstance(tok, actok.FastTokenizer) and isinstance(chunks, np.ndarray)
    part = chunks[i * 100 : (i + 1) * 100]
    ids = tok.encode(part)
    return ids, tok.decode(ids, *part.shape[1:]).tobytes()


def _child_on_two_threads(_: int):
    tok = _SHARED["tok"]
    chunks = _SHARED["chunks"]
    assert isinstance(tok, actok.FastTokenizer) and isinstance(chunks, np.ndarray)
    actok.set_num_threads(2)
    ids = tok.encode(chunks)
    padded, lengths = tok.encode_batch(chunks)
    decoded = tok.decode(ids, *chunks.shape[1:])
    return ids, padded.tolist(), lengths.tolist(), decoded.tobytes(), sorted(_actok_threads())


def _forked_pool():
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    return multiprocessing.get_context("fork").Pool(2)


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_forked_children_encode_and_decode_like_the_parent(tok, two_threads):
    """The parent's pool threads do not exist in a forked child; the child must not wait on
    them. Its results are the parent's."""
    chunks = _smooth_chunks(600)
    want = [
        (ids, tok.decode(ids, 20, 7).tobytes())
        for ids in (tok.encode(chunks[i * 100 : (i + 1) * 100]) for i in range(6))
    ]
    tok.encode(chunks)  # large enough for the pool: it now exists in the parent
    _SHARED.update(tok=tok, chunks=chunks)
    with _forked_pool() as pool:
        got = pool.map_async(_child_encode_decode, range(6)).get(timeout=TIMEOUT)
    assert got == want


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_forked_child_builds_its_own_pool(tok, two_threads):
    """A forked child that asks for two threads gets a working pool of its own (the batch is
    large enough to be split), and the same results as the parent."""
    chunks = _smooth_chunks(2000, seed=1)
    ids = tok.encode(chunks)
    padded, lengths = tok.encode_batch(chunks)
    decoded = tok.decode(ids, 20, 7).tobytes()
    _SHARED.update(tok=tok, chunks=chunks)
    with _forked_pool() as pool:
        got = pool.map_async(_child_on_two_threads, range(2)).get(timeout=TIMEOUT)
    for c_ids, c_padded, c_lengths, c_decoded, c_threads in got:
        assert c_ids == ids
        assert (c_padded, c_lengths) == (padded.tolist(), lengths.tolist())
        assert c_decoded == decoded
        if Path("/proc/self/task").is_dir():
            assert len(c_threads) == 2, c_threads  # the child's own pool ran the batch


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_fork_of_a_fork_still_works(tok, two_threads):
    """A DataLoader worker may itself fork: the grandchild rebuilds the pool again."""
    chunks = _smooth_chunks(600, seed=2)
    want = tok.encode(chunks)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: fork again, the grandchild encodes and reports through the pipe
        status = 1
        try:
            signal.alarm(int(TIMEOUT))  # neither process outlives a deadlock
            grandchild = os.fork()
            if grandchild == 0:
                signal.alarm(int(TIMEOUT))  # alarms are not inherited
                ok = tok.encode(chunks) == want
                os.write(write, b"ok" if ok else b"mismatch")
                os._exit(0)
            _, status = os.waitpid(grandchild, 0)
        finally:
            os._exit(0 if status == 0 else 1)
    os.close(write)
    done = threading.Event()
    result: list[bytes] = []

    def reader() -> None:
        result.append(os.read(read, 16))
        done.set()

    threading.Thread(target=reader, daemon=True).start()
    finished = done.wait(TIMEOUT)
    if not finished:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(read)
    assert finished, "the grandchild did not answer: deadlock?"
    assert result == [b"ok"] and status == 0
