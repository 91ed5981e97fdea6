"""Thread scaling on a shared machine: paired samples, and what two cores give at that moment.

The harness's goal ``1→2 threads >= 1.7x`` compares two timings. Taken one after the other, as
medians of a few samples each, they compare two different moments of a machine that other work
shares: a burst during the 2-thread samples reads as poor scaling, one during the 1-thread
samples as scaling above 2x. Here:

* **paired**: samples on 1 thread and on all threads alternate, so both sides see the same
  moments; the result is the median of the per-pair ratios and, beside it, the ratio of each
  side's fastest sample (the least disturbed estimate of each).
* **ceiling**: the same encode on 1 thread in two independent *processes* at once (nothing
  shared: no GIL, no pool, no memory) against one process alone. That is the speed-up two cores
  give fully independent work at that moment; a thread ratio near it means the threads lose
  nothing to each other, a ceiling far below 2 means the second core was not free.

Used by ``benches/harness.py`` for the goal's shape (B=4096, H=50, D=14); a benchmark, never a
test.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from pathlib import Path

import actok

#: alternating pairs of samples per measurement
PAIRS = 9
#: rounds of (one process alone, two processes together) for the ceiling
CEILING_ROUNDS = 3


def sample_seconds(fn, min_seconds: float) -> float:
    """Seconds per call of ``fn`` over at least ``min_seconds`` of calls (one warm call first)."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def paired(fn, pairs: int = PAIRS, min_seconds: float = 0.05) -> dict:
    """``fn`` timed on 1 thread and on all threads in alternating samples (see the module
    docs): the median of the per-pair speed-ups, each side's fastest sample, and their ratio."""
    one, every = [], []
    try:
        for _ in range(pairs):
            actok.set_num_threads(1)
            one.append(sample_seconds(fn, min_seconds))
            actok.set_num_threads(None)
            every.append(sample_seconds(fn, min_seconds))
    finally:
        actok.set_num_threads(None)
    return {
        "pairs": pairs,
        "median_ratio": statistics.median(a / b for a, b in zip(one, every)),
        "fastest_ratio": min(one) / min(every),
        "one_thread_s": min(one),
        "all_threads_s": min(every),
    }


def _encode_worker(tok_dir: str, shape: tuple, seed: int, calls: int, barrier, results) -> None:
    """One process of the ceiling: loads the tokenizer, makes the chunks, waits for its peers,
    then times ``calls`` encodes on 1 thread."""
    import harness  # in the child: the module, not __main__

    tok = actok.FastTokenizer.from_pretrained(tok_dir)
    b, h, d = shape
    x = harness.smooth_chunks(b, h, d, seed=seed)
    actok.set_num_threads(1)
    tok.encode(x)  # warm: tables built on first use
    barrier.wait()
    start = time.perf_counter()
    for _ in range(calls):
        tok.encode(x)
    results.put(time.perf_counter() - start)


def _run_processes(n: int, tok_dir: Path, shape: tuple, seed: int, calls: int) -> list[float]:
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with a thread pool
    barrier, results = ctx.Barrier(n), ctx.Queue()
    args = (str(tok_dir), shape, seed, calls, barrier, results)
    procs = [ctx.Process(target=_encode_worker, args=args) for _ in range(n)]
    for p in procs:
        p.start()
    times = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
    return times


def ceiling(tok_dir: Path, shape: tuple, seed: int, calls: int, rounds: int = CEILING_ROUNDS):
    """Two processes' encode throughput over one process's (see the module docs), per round
    and their median; each process times ``calls`` encodes of ``shape`` chunks on 1 thread."""
    ratios = []
    for _ in range(rounds):
        (alone,) = _run_processes(1, tok_dir, shape, seed, calls)
        together = _run_processes(2, tok_dir, shape, seed, calls)
        ratios.append(2 * alone / max(together))
    return {"rounds": ratios, "median_ratio": statistics.median(ratios)}
