"""Batch-1 latency from C (the real-time path) beside the same call from Python, same run.

    cargo build --release --locked -p actok-c
    python benches/bench_c_latency.py                # 20,000 calls per operation and shape

For H=50, D=14 and H=30, D=26 (FAST-recipe tokenizers fitted on benches/harness.py's smooth
chunks by scripts/make_c_fixtures.py), times each call alone and prints the median and 99th
percentile in microseconds: from C, ``actok_encode_f64``/``_f32`` and ``actok_decode_f64`` of one
chunk (benches/c/latency.c, compiled here with ``cc -O2`` against target/release/libactok_c.a);
from Python, ``tok.encode(chunk)`` and ``tok.decode([ids], H, D)``. Measures only; the issue's
goals (C, H=50, D=14, median: decode <= 2 us, encode <= 12 us) are printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import actok

ROOT = Path(__file__).resolve().parent.parent
SHAPES = [(50, 14), (30, 26)]
GOALS = {("encode_f64", 50, 14): 12.0, ("decode_f64", 50, 14): 2.0}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def percentiles(ns: np.ndarray) -> tuple[float, float]:
    ns = np.sort(ns)
    return ns[len(ns) // 2] / 1e3, ns[len(ns) * 99 // 100] / 1e3


def time_python(case: Path, horizon: int, dim: int, calls: int) -> dict[str, tuple[float, float]]:
    tok = actok.FastTokenizer.from_pretrained(case / "tokenizer")
    chunks = np.fromfile(case / "chunks_f64.bin", dtype="<f8").reshape(-1, horizon, dim)
    ids = tok.encode(chunks)
    results = {}
    ns = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(calls):
        x = chunks[i % len(chunks)]
        t0 = clock()
        tok.encode(x)
        ns[i] = clock() - t0
    results["encode_f64"] = percentiles(ns)
    for i in range(calls):
        seq = [ids[i % len(ids)]]
        t0 = clock()
        tok.decode(seq, horizon, dim)
        ns[i] = clock() - t0
    results["decode_f64"] = percentiles(ns)
    return results


def time_c(binary: Path, case: Path, calls: int) -> tuple[dict[str, tuple[float, float]], float]:
    out = subprocess.run(
        [str(binary), str(case), str(calls)], check=True, capture_output=True, text=True
    ).stdout
    results, tokens = {}, 0.0
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "shape":
            tokens = float(parts[4])
        else:
            results[parts[0]] = (float(parts[1]), float(parts[2]))
    return results, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls per operation")
    parser.add_argument("--fixtures", type=Path, default=ROOT / "target" / "c-fixtures")
    parser.add_argument("--lib", type=Path, default=ROOT / "target" / "release" / "libactok_c.a")
    args = parser.parse_args()
    if not args.lib.exists():
        sys.exit(f"{args.lib} is missing: cargo build --release --locked -p actok-c")
    if not all((args.fixtures / f"bench-{h}x{d}").is_dir() for h, d in SHAPES):
        script = ROOT / "scripts" / "make_c_fixtures.py"
        subprocess.run([sys.executable, str(script), str(args.fixtures)], check=True)
    binary = args.fixtures / "latency"
    compiler = os.environ.get("CC", "cc")
    include = ROOT / "rust" / "actok-c" / "include"
    source = ROOT / "benches" / "c" / "latency.c"
    command = [compiler, "-std=c11", "-O2", f"-I{include}", str(source), str(args.lib)]
    subprocess.run([*command, "-lpthread", "-ldl", "-lm", "-o", str(binary)], check=True)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{cpu_model()}, {os.cpu_count()} logical cores, load average {load:.2f}; "
        f"Python {platform.python_version()}, actok {actok.__version__}; "
        f"{args.calls} calls per cell, each timed alone; microseconds, median / p99"
    )
    print()
    print("| H×D | tokens/chunk | op | C median | C p99 | Python median | Python p99 | goal |")
    print("|---|---:|---|---:|---:|---:|---:|---|")
    for horizon, dim in SHAPES:
        case = args.fixtures / f"bench-{horizon}x{dim}"
        c, tokens = time_c(binary, case, args.calls)
        py = time_python(case, horizon, dim, args.calls)
        for op in ["encode_f64", "encode_f32", "decode_f64"]:
            goal = GOALS.get((op, horizon, dim))
            verdict = ""
            if goal is not None:
                met = "met" if c[op][0] <= goal else f"missed by {c[op][0] / goal:.2f}x"
                verdict = f"median <= {goal:g}: {met}"
            p_med, p_99 = (f"{v:.2f}" for v in py[op]) if op in py else ("", "")
            print(
                f"| {horizon}×{dim} | {tokens:.1f} | {op} | {c[op][0]:.2f} | {c[op][1]:.2f} "
                f"| {p_med} | {p_99} | {verdict} |"
            )


if __name__ == "__main__":
    main()
