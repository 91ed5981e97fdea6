#!/usr/bin/env python3
"""Throughput of the data-pipeline integrations next to the bare core call (a benchmark, never a
test): what the padding layout, the Arrow conversion and each engine's machinery cost.

Data: smooth synthetic chunks of 20 x 7 in [-1, 1] (sines of random frequency and phase), which
the bundled robosuite tokenizer (vocab 1024) encodes to about 30 ids each. Figures are chunks
per second, the fastest of ``--repeat`` runs, with the ratio to ``tok.encode_batch`` on the same
chunks in this process (the core: DCT, quantization, BPE, padding):

- ``encode_actions`` (torch; right and left padding) and ``ActionCollator`` on a list of
  ``(H, D)`` tensor samples (the ``DataLoader`` path, stacking included);
- a ``DataLoader`` over a map-style dataset with 0 and 2 workers (fork);
- the datasets ``ActionEncoder`` on the same batches as Arrow tables, and
  ``Dataset.map(batched=True)`` in Arrow format with ``num_proc`` 1 and 2 (the dataset saved to
  disk and loaded memory-mapped, the output written to a cache file, as in use);
- Ray Data ``map_batches`` on a local cluster (``ray.init(num_cpus=2)``), pyarrow batches.

Usage::

    pip install '.[torch,datasets,ray]'
    python benches/bench_pipelines.py [--chunks 65536] [--batch 256] [--repeat 3] [--no-ray]

The machine may be shared with other work: read ratios, not absolute numbers, and say so.
Instruction counts of the conversions alone (steady under load)::

    for m in base encode right left arrow decode undo_left; do
        PYTHONHASHSEED=0 ACTOK_NUM_THREADS=1 valgrind --tool=callgrind \
            --callgrind-out-file=/dev/null python benches/bench_pipelines.py --probe $m \
            2>&1 | grep Collected
    done
"""

from __future__ import annotations

import argparse
import os
import platform
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


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs: on a machine shared with other work the fastest is the
    one least disturbed by it (the median moved by 2x between runs here)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


class Report:
    def __init__(self, n: int) -> None:
        self.n = n
        self.base: float | None = None

    def row(self, name: str, seconds: float) -> None:
        rate = self.n / seconds
        if self.base is None:
            self.base = rate
        print(f"{name:<62} {rate:>10,.0f} chunks/s  {rate / self.base:>5.2f}x")


def per_batch(tok, x: np.ndarray, repeat: int) -> None:
    """Microseconds per call on one batch: the integrations' conversions next to the core call
    they wrap."""
    import timeit

    import torch

    from actok.integrations.datasets import ActionEncoder
    from actok.integrations.torch import ActionCollator, decode_ids, encode_actions

    ids, lengths = tok.encode_batch(x)
    left_ids, left_mask = encode_actions(tok, x, padding_side="left")
    samples = [torch.from_numpy(c) for c in x]
    table = pa_table(x)
    rows = [
        ("core: tok.encode_batch", lambda: tok.encode_batch(x)),
        ("torch encode_actions, right padding", lambda: encode_actions(tok, x)),
        ("torch encode_actions, left padding", lambda: encode_actions(tok, x, padding_side="left")),
        ("torch ActionCollator on a list of (H, D) tensors", lambda: ActionCollator(tok)(samples)),
        ("datasets ActionEncoder on an Arrow table", lambda: ActionEncoder(tok)(table)),
        ("core: tok.decode((ids, lengths))", lambda: tok.decode((ids, lengths), H, D)),
        (
            "torch decode_ids, left padding, from the mask",
            lambda: decode_ids(tok, left_ids, left_mask, action_dim=D),
        ),
    ]
    print(
        f"\nper batch of {len(x)} chunks, actok on 1 thread, one call (fastest of {repeat} rounds "
        "of 20 calls, the variants interleaved so that other work on the machine hits them alike):"
    )
    threads = actok.get_num_threads()
    actok.set_num_threads(1)
    try:
        best = [float("inf")] * len(rows)
        for _ in range(repeat):
            for i, (_, run) in enumerate(rows):
                best[i] = min(best[i], min(timeit.repeat(run, number=20, repeat=1)) / 20 * 1e6)
    finally:
        actok.set_num_threads(threads)
    base: dict[str, float] = {}
    for (name, _), t in zip(rows, best):
        kind = "decode" if "decode" in name else "encode"
        base.setdefault(kind, t)
        print(f"  {name:<56} {t:>8,.0f} us  +{t - base[kind]:>5,.0f} us over the core")


def pa_table(x: np.ndarray):
    import pyarrow as pa

    return pa.table({"actions": x.tolist()})


def bench_torch(tok, x, batch, repeat, report) -> None:
    import torch

    from actok.integrations.torch import ActionCollator, encode_actions

    batches = [x[i : i + batch] for i in range(0, len(x), batch)]
    for side in ("right", "left"):
        seconds = best_seconds(
            lambda side=side: [encode_actions(tok, b, padding_side=side) for b in batches], repeat
        )
        report.row(f"torch encode_actions, {side} padding", seconds)
    samples = [[torch.from_numpy(c) for c in b] for b in batches]
    collate = ActionCollator(tok)
    report.row(
        "torch ActionCollator on lists of (H, D) tensors",
        best_seconds(lambda: [collate(s) for s in samples], repeat),
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
            best_seconds(lambda loader=loader: sum(1 for _ in loader), repeat),
        )


def bench_datasets(tok, x, batch, repeat, report) -> None:
    import tempfile

    import datasets

    from actok.integrations.datasets import ActionEncoder

    datasets.disable_progress_bars()
    encode = ActionEncoder(tok)
    features = datasets.Features({"actions": datasets.Array2D((H, D), "float32")})
    with tempfile.TemporaryDirectory() as tmp:
        # On disk and memory-mapped, as a loaded dataset is (an in-memory one is pickled to
        # every num_proc worker).
        datasets.Dataset.from_dict({"actions": x}, features=features).save_to_disk(f"{tmp}/in")
        ds = datasets.load_from_disk(f"{tmp}/in").with_format("arrow")
        tables = [ds.data.table.slice(i, batch) for i in range(0, len(ds), batch)]
        report.row(
            "datasets ActionEncoder on Arrow tables (conversion + core)",
            best_seconds(lambda: [encode(t) for t in tables], repeat),
        )
        for procs in (None, 2):
            report.row(
                f"datasets Dataset.map(batched, arrow), num_proc={procs or 1}",
                best_seconds(
                    lambda procs=procs: ds.map(
                        encode,
                        batched=True,
                        batch_size=batch,
                        num_proc=procs,
                        load_from_cache_file=False,
                        cache_file_name=f"{tmp}/out.arrow",
                    ),
                    repeat,
                ),
            )


def bench_ray(tok, x, batch, repeat, report) -> None:
    import ray
    import ray.data

    from actok.integrations.ray import ActionEncoder

    # A benchmark talks to nothing off this machine: Ray's usage statistics explicitly off.
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        ds = ray.data.from_numpy(x).materialize()  # one "data" tensor column

        def run() -> None:
            out = ds.map_batches(
                ActionEncoder(tok, column="data"), batch_format="pyarrow", batch_size=batch
            )
            out.materialize()

        report.row("ray map_batches, local cluster of 2 CPUs, pyarrow", best_seconds(run, repeat))
    finally:
        ray.shutdown()


PROBES = ("base", "encode", "right", "left", "arrow", "decode", "undo_left")


def probe(mode: str) -> None:
    """100 calls of one operation on a batch of 256 chunks and nothing else, for instruction
    counts: run under callgrind once per mode, and subtract ``base`` (the same set-up, no call).
    ``right``/``left``: the torch layouts (int64 ids and mask; left moves the rows); ``arrow``:
    a ``list<list<float>>`` column read and the ids' ``list<int32>`` column built; ``undo_left``:
    a left-padded batch's mask read and its rows moved back, before decoding."""
    import pyarrow as pa

    from actok.integrations import _arrow, _layout

    tok = actok.FastTokenizer.from_pretrained(BUNDLED)
    x = smooth_chunks(256, seed=7)
    ids, lengths = tok.encode_batch(x)
    column = pa.table({"actions": x.tolist()}).column("actions")
    left = _layout.to_left(ids, lengths, 0)
    left_mask = _layout.mask_for(lengths, ids.shape[1], "left")
    width = ids.shape[1]
    for _ in range(0 if mode == "base" else 100):
        if mode == "encode":
            tok.encode_batch(x)
        elif mode == "right":
            ids.astype(np.int64), _layout.mask_for(lengths, width, "right").astype(np.int64)
        elif mode == "left":
            _layout.to_left(ids, lengths, 0).astype(np.int64)
            _layout.mask_for(lengths, width, "left").astype(np.int64)
        elif mode == "arrow":
            _arrow.chunks_from_arrow(column, "actions"), _arrow.ids_to_arrow(ids, lengths)
        elif mode == "decode":
            tok.decode((ids, lengths), H, D)
        elif mode == "undo_left":
            _layout.right_aligned(left, left_mask, _layout.lengths_from_mask(left_mask))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=65536)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--probe", choices=PROBES, help="only this operation, for callgrind")
    args = parser.parse_args()
    if args.probe:
        probe(args.probe)
        return

    tok = actok.FastTokenizer.from_pretrained(BUNDLED)
    x = smooth_chunks(args.chunks)
    print(
        f"{args.chunks} chunks of {H}x{D}, batches of {args.batch}; actok threads "
        f"{actok.get_num_threads()}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    per_batch(tok, x[: args.batch], max(args.repeat, 10))
    print(f"\nend to end, {args.chunks} chunks (engines' overheads included; noisy when shared):")
    report = Report(args.chunks)
    batches = [x[i : i + args.batch] for i in range(0, len(x), args.batch)]
    report.row(
        "tok.encode_batch (the core), per batch",
        best_seconds(lambda: [tok.encode_batch(b) for b in batches], args.repeat),
    )
    bench_torch(tok, x, args.batch, args.repeat, report)
    bench_datasets(tok, x, args.batch, args.repeat, report)
    if not args.no_ray:
        bench_ray(tok, x, args.batch, args.repeat, report)


if __name__ == "__main__":
    main()
