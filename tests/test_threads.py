"""Threads: the GIL is released during heavy calls, results do not depend on the thread count,
and the thread count is settable by the caller and by ACTOK_NUM_THREADS."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
from conftest import spin_during

import actok


@pytest.fixture(scope="module")
def bundled():
    """The tokenizer shipped in the package and smooth chunks it represents losslessly."""
    path = os.path.join(os.path.dirname(actok.__file__), "data", "robosuite_fast")
    tok = actok.FastTokenizer.from_pretrained(path)
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 1.0, 20)[None, :, None]
    freq = rng.uniform(0.2, 2.0, (500, 1, 7))
    phase = rng.uniform(0.0, 6.3, (500, 1, 7))
    return tok, np.sin(2 * np.pi * freq * t + phase)


@pytest.fixture
def one_thread():
    actok.set_num_threads(1)
    yield
    actok.set_num_threads(None)


def test_dct_releases_the_gil(one_thread):
    x = np.random.default_rng(0).standard_normal((4000, 50, 64))
    # With the GIL held for the whole call the spinning thread could not run at all.
    assert spin_during(lambda: actok.dct(x, axis=1, norm="ortho")) > 1000


def test_encode_and_decode_release_the_gil(one_thread, bundled):
    tok, chunks = bundled
    batch = np.concatenate([chunks] * max(1, 20000 // len(chunks)))
    ids = tok.encode(batch)
    assert spin_during(lambda: tok.encode(batch)) > 1000
    h, d = batch.shape[1:]
    assert spin_during(lambda: tok.decode(ids, h, d)) > 1000


def test_results_do_not_depend_on_thread_count(bundled):
    tok, chunks = bundled
    results = []
    for n in (1, 2, 3):
        actok.set_num_threads(n)
        assert actok.get_num_threads() == n
        ids = tok.encode(chunks)
        results.append((ids, tok.decode(ids, *chunks.shape[1:])))
    actok.set_num_threads(None)
    for ids, actions in results[1:]:
        assert ids == results[0][0]
        np.testing.assert_array_equal(actions, results[0][1])


def test_shared_tokenizer_across_python_threads(bundled):
    tok, chunks = bundled
    want = tok.encode(chunks)
    got: list[object] = [None] * 8

    def work(i: int) -> None:
        got[i] = tok.encode(chunks)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(g == want for g in got)


def test_set_num_threads_validates():
    with pytest.raises(actok.ActokError):
        actok.set_num_threads(0)


@pytest.mark.parametrize(("value", "ok"), [("1", True), ("3", True), ("0", False), ("x", False)])
def test_env_var_sets_default_thread_count(value, ok):
    code = "import actok; print(actok.get_num_threads())"
    env = dict(os.environ, ACTOK_NUM_THREADS=value)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if ok:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == value
    else:
        assert proc.returncode != 0
        assert "ACTOK_NUM_THREADS" in proc.stderr
