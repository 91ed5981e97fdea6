#!/usr/bin/env python3
"""Throughput of the data-pipeline integrations next to the bare core call (a benchmark, never a
test): what the padding layout, the Arrow conversion and each engine's machinery cost.

Data: smooth synthetic chunks of 20 x 7 in [-1, 1] (sines of random frequency and phase), which
the bundled robosuite tokenizer (vocab 1024) encodes to about 30 ids each. Figures are chunks
per second, the median of ``--repeat`` runs, with the ratio to ``tok.encode_batch`` on the same
chunks in this process (the core: DCT, quantization, BPE, padding):

- ``encode_actions`` (torch; right and left padding) and ``ActionCollator`` on a list of
  ``(H, D)`` tensor samples (the ``DataLoader`` path, stacking included);
- a ``DataLoader`` over a map-style dataset with 0 and 2 workers (fork);
- the datasets ``ActionEncoder`` on one Arrow table (the conversion alone), and
  ``Dataset.map(batched=True)`` in Arrow format with ``num_proc`` 1 and 2;
- Ray Data ``map_batches`` on a local cluster (``ray.init(num_cpus=2)``), pyarrow batches.

Usage::

    pip install '.[torch,datasets,ray]'
    python benches/bench_pipelines.py [--chunks 65536] [--batch 256] [--repeat 3] [--no-ray]

The machine may be shared with other work: read ratios, not absolute numbers, and say so.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import actok

H, D = 20, 7
BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"


def smooth_chunks(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, H)[None, :, None]
    freq = rng.uniform(0.2, 2.0, (n, 1, D))
    phase = rng.uniform(0.0, 6.3, (n, 1, D))
    return np.sin(2 * np.pi * freq * t + phase).astype(np.float32)


def median_seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class Report:
    def __init__(self, n: int) -> None:
        self.n = n
        self.base: float | None = None

    def row(self, name: str, seconds: float) -> None:
        rate = self.n / seconds
        if self.base is None:
            self.base = rate
        print(f"{name:<58} {rate:>12,.0f} chunks/s  {rate / self.base:>5.2f}x")


def bench_torch(tok, x, batch, repeat, report) -> None:
    import torch

    from actok.integrations.torch import ActionCollator, encode_actions

    batches = [x[i : i + batch] for i in range(0, len(x), batch)]
    for side in ("right", "left"):
        seconds = median_seconds(
            lambda side=side: [encode_actions(tok, b, padding_side=side) for b in batches], repeat
        )
        report.row(f"torch encode_actions, {side} padding", seconds)
    samples = [[torch.from_numpy(c) for c in b] for b in batches]
    collate = ActionCollator(tok)
    report.row(
        "torch ActionCollator on lists of (H, D) tensors",
        median_seconds(lambda: [collate(s) for s in samples], repeat),
    )

    class Chunks(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(x)

        def __getitem__(self, i: int):
            return torch.from_numpy(x[i])

    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(
            Chunks(),
            batch_size=batch,
            collate_fn=collate,
            num_workers=workers,
            multiprocessing_context="fork" if workers else None,
            timeout=120 if workers else 0,
        )
        report.row(
            f"torch DataLoader, {workers} workers (fork; start-up included)",
            median_seconds(lambda loader=loader: sum(1 for _ in loader), repeat),
        )


def bench_datasets(tok, x, batch, repeat, report) -> None:
    import datasets
    import pyarrow as pa

    from actok.integrations.datasets import ActionEncoder

    datasets.disable_progress_bars()
    encode = ActionEncoder(tok)
    features = datasets.Features({"actions": datasets.Array2D((H, D), "float32")})
    ds = datasets.Dataset.from_dict({"actions": x}, features=features).with_format("arrow")
    table = pa.table({"actions": ds.data.column("actions")})
    report.row(
        "datasets ActionEncoder on one Arrow table (conversion + core)",
        median_seconds(lambda: encode(table), repeat),
    )
    for procs in (None, 2):
        report.row(
            f"datasets Dataset.map(batched, arrow), num_proc={procs or 1}",
            median_seconds(
                lambda procs=procs: ds.map(
                    encode,
                    batched=True,
                    batch_size=batch,
                    num_proc=procs,
                    load_from_cache_file=False,
                    keep_in_memory=True,
                ),
                repeat,
            ),
        )


def bench_ray(tok, x, batch, repeat, report) -> None:
    import ray
    import ray.data

    from actok.integrations.ray import ActionEncoder

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_numpy(x).materialize()  # one "data" tensor column

        def run() -> None:
            out = ds.map_batches(
                ActionEncoder(tok, column="data"), batch_format="pyarrow", batch_size=batch
            )
            out.materialize()

        report.row("ray map_batches, local cluster of 2 CPUs, pyarrow", median_seconds(run, repeat))
    finally:
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=65536)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    tok = actok.FastTokenizer.from_pretrained(BUNDLED)
    x = smooth_chunks(args.chunks)
    print(
        f"{args.chunks} chunks of {H}x{D}, batches of {args.batch}; actok threads "
        f"{actok.get_num_threads()}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    report = Report(args.chunks)
    batches = [x[i : i + args.batch] for i in range(0, len(x), args.batch)]
    report.row(
        "tok.encode_batch (the core), per batch",
        median_seconds(lambda: [tok.encode_batch(b) for b in batches], args.repeat),
    )
    bench_torch(tok, x, args.batch, args.repeat, report)
    bench_datasets(tok, x, args.batch, args.repeat, report)
    if not args.no_ray:
        bench_ray(tok, x, args.batch, args.repeat, report)


if __name__ == "__main__":
    main()
