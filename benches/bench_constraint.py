#!/usr/bin/env python3
"""Benchmark constrained decoding from Python (a benchmark, never a test).

The tokenizer is fitted here: vocab 2048, scale 10, the lossless alphabet, on 4000 smooth
random-walk chunks of (H=50, D=14), so H*D = 700 (the issue's setting). The ids driven through the
constraints are the encodings of 256 other chunks: what a model that had learned the data would
generate. Each figure is the median of ``--repeats`` timed passes over every step of those
sequences.

* ``B=1 mask()+advance()``: ``Constraint.mask()`` (a new array) then ``advance(id)``, per token;
* ``B=1 mask(out)+advance()``: the same writing into a preallocated array;
* ``B=256 mask(out)``: ``ConstraintBatch.mask(out=...)``, ``(256, 2048)``, per row per step;
* ``B=256 mask(out)+advance()``: a whole generation step of the batch, per row;
* ``B=256 openpi mask(out)``: the same masks in PaliGemma's 257,152-wide vocabulary
  (``openpi_vocab_map``, end id), per row per step;
* building the automaton (``tok.constraint``) and a 256-row batch with the openpi map.

Usage::

    python benches/bench_constraint.py [--repeats 7] [--threads 1]

The issue's targets: B=1 mask+advance <= 2 us per step; B=256 batch mask <= 0.2 us per row.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

import actok

H, D = 50, 14
VOCAB = 2048
BATCH = 256
PALIGEMMA = 257_152


def chunks(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = rng.normal(scale=0.04, size=(n, H, D)).cumsum(axis=1)
    walk += rng.uniform(-0.8, 0.8, size=(n, 1, D))
    return np.clip(walk, -1, 1)


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1, help="actok threads (batch masks)")
    args = parser.parse_args(argv)
    actok.set_num_threads(args.threads)

    t0 = time.perf_counter()
    tok = actok.FastTokenizer.fit(chunks(4000, 1), scale=10, vocab_size=VOCAB)
    fit_s = time.perf_counter() - t0
    sequences = tok.encode(chunks(BATCH, 2))
    steps = sum(map(len, sequences))
    longest = max(map(len, sequences))
    v = tok.vocab_len
    print(
        f"tokenizer: vocab_len {v}, H*D = {H * D}, fitted in {fit_s:.1f} s; "
        f"{steps / BATCH:.1f} tokens per chunk (longest {longest})"
    )

    rows: list[tuple[str, float, str]] = []

    build = median_time(lambda: tok.constraint(H, D), args.repeats)
    rows.append(("build the automaton: tok.constraint(50, 14)", build * 1e3, "ms per call"))

    c = tok.constraint(H, D)

    def single(use_out: bool) -> None:
        out = np.empty(v, dtype=bool)
        for seq in sequences:
            c.reset()
            for i in seq:
                c.mask(out) if use_out else c.mask()
                c.advance(i)

    rows.append(
        (
            "B=1 mask()+advance()",
            median_time(lambda: single(False), args.repeats) / steps * 1e6,
            "us per step",
        )
    )
    rows.append(
        (
            "B=1 mask(out)+advance()",
            median_time(lambda: single(True), args.repeats) / steps * 1e6,
            "us per step",
        )
    )

    # Batch steps: row b takes sequences[b][t], then -1 once complete.
    ids = np.full((longest, BATCH), -1, dtype=np.int64)
    for b, seq in enumerate(sequences):
        ids[: len(seq), b] = seq
    bc = tok.constraint_batch(BATCH, H, D)
    out = np.empty((BATCH, v), dtype=bool)

    def batch_masks() -> None:
        bc.reset()
        for t in range(longest):
            bc.mask(out=out)
            bc.advance(ids[t])

    def batch_masks_only() -> None:
        for _ in range(longest):
            bc.mask(out=out)

    bc.reset()
    bc.advance(ids[0])  # a row state as mid-generation
    per_row_step = BATCH * longest
    rows.append(
        (
            f"B={BATCH} mask(out), ({BATCH}, {v})",
            median_time(batch_masks_only, args.repeats) / per_row_step * 1e6,
            "us per row per step",
        )
    )
    rows.append(
        (
            f"B={BATCH} mask(out)+advance()",
            median_time(batch_masks, args.repeats) / per_row_step * 1e6,
            "us per row per step",
        )
    )

    vocab_map = actok.openpi_vocab_map(PALIGEMMA, vocab_len=v)
    t0 = time.perf_counter()
    mapped = tok.constraint_batch(
        BATCH, H, D, vocab_map=vocab_map, model_vocab_size=PALIGEMMA, end_id=1
    )
    rows.append(
        (
            f"build a {BATCH}-row batch, openpi map",
            (time.perf_counter() - t0) * 1e3,
            "ms per call",
        )
    )
    wide = np.empty((BATCH, PALIGEMMA), dtype=bool)
    mapped.advance(vocab_map[ids[0]])
    few = 20
    rows.append(
        (
            f"B={BATCH} openpi mask(out), ({BATCH}, {PALIGEMMA})",
            median_time(lambda: [mapped.mask(out=wide) for _ in range(few)], args.repeats)
            / (BATCH * few)
            * 1e6,
            "us per row per step",
        )
    )

    width = max(len(r[0]) for r in rows)
    print()
    for name, value, unit in rows:
        print(f"{name:<{width}}  {value:>9.3f}  {unit}")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(
        f"\n{cpu_model()}, {os.cpu_count()} logical cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, actok threads {actok.get_num_threads()}, load average {load}"
    )


def cpu_model() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
