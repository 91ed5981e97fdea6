#!/usr/bin/env python3
"""Benchmark ``FastTokenizer.fit`` against the reference FAST ``fit`` (a benchmark, never a test).

Each fit runs in its own subprocess, so its wall time and peak RSS (``ru_maxrss`` of that child,
read with ``os.wait4``) are measured in isolation; both load the same chunks from a ``.npy`` file
written by the parent (the loaded input counts in both peaks).

* **reference**: written here from the spec (docs/semantics.md#fit): ``scipy.fft.dct(chunks,
  axis=1, norm="ortho")`` (batched, which is faster than the processor's per-chunk loop),
  ``np.around(c * scale)``, ``min_token``/``max_token`` over the corpus, one string
  ``chr(q - min_token)`` per chunk, then ``tokenizers``' ``BpeTrainer(vocab_size, min_frequency=2,
  special_tokens=[], initial_alphabet=[chr(i) for i in range(max - min + 1)],
  max_token_length=10000)`` on a ``models.BPE()`` with the ByteLevel pre-tokenizer.
* **actok**: ``FastTokenizer.fit(chunks, scale, vocab_size, alphabet="reference")`` — the same
  recipe, and (as the parity tests check) the same vocabulary and merges.

Data: smooth random-walk actions in [-1, 1], shape (N, 50, 14) float32 (a 1-second chunk of a
bimanual 50 Hz robot, as in the paper's "Shirt Fold"): per chunk and dimension a random start in
[-0.8, 0.8] plus a Gaussian random walk (step std 0.04), clipped to [-1, 1]. Seeded, so every run
fits the same data.

Usage::

    python benches/bench_fit.py [--chunks 100000] [--large 1000000] [--vocab-size 1024]
                                [--skip-reference] [--skip-large] [--default-large]
                                [--json out.json]

``--default-large`` also fits the large chunks with actok's default fit (lossless alphabet,
``placement="auto"``: placement trials, then the final fit).

The machine has other work running on it (a shared 2-core box while this was written); the
reference and actok fits run back to back in one run so that their ratio is comparable.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The reference recipe's tokenizer and trainer are written once, in the test oracle (imported by
# the reference worker only, so the actok worker's memory is not charged for scipy/tokenizers).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

H, D = 50, 14
SCALE = 10


def make_chunks(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, H, D), dtype=np.float32)
    for start in range(0, n, 20000):
        m = min(20000, n - start)
        walk = rng.normal(scale=0.04, size=(m, H, D)).cumsum(axis=1)
        walk += rng.uniform(-0.8, 0.8, size=(m, 1, D))
        out[start : start + m] = np.clip(walk, -1, 1)
    return out


# ------------------------------------------------------------------------------------------------
# Workers (run in a child process)
# ------------------------------------------------------------------------------------------------
def fit_reference(chunks: np.ndarray, vocab_size: int, out: Path) -> dict:
    import scipy.fft
    from fast_reference import bpe_trainer, new_bytelevel_bpe

    q = np.around(
        scipy.fft.dct(chunks.astype(np.float64), type=2, axis=1, norm="ortho") * SCALE
    ).reshape(len(chunks), -1)
    min_token, max_token = int(q.min()), int(q.max())
    if max_token - min_token > vocab_size:
        raise ValueError("vocab_size too small for the range of tokens")
    codes = (q - min_token).astype(np.int64)
    del q

    def strings():
        for row in codes:
            yield "".join(map(chr, row.tolist()))

    tok = new_bytelevel_bpe()
    trainer = bpe_trainer(vocab_size, max_token - min_token + 1)
    tok.train_from_iterator(strings(), trainer=trainer, length=len(codes))
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    return {"min_token": min_token, "vocab_len": tok.get_vocab_size()}


def fit_actok(chunks: np.ndarray, vocab_size: int, out: Path, alphabet: str = "reference") -> dict:
    import actok

    tok = actok.FastTokenizer.fit(chunks, SCALE, vocab_size, alphabet=alphabet)
    tok.save_pretrained(out)
    return {"min_token": tok.min_token, "vocab_len": tok._inner.vocab_len}


def fit_actok_default(chunks: np.ndarray, vocab_size: int, out: Path) -> dict:
    return fit_actok(chunks, vocab_size, out, alphabet="lossless")


WORKERS = {"reference": fit_reference, "actok": fit_actok, "actok-default": fit_actok_default}


def worker(kind: str, data: str, vocab_size: int, out: str) -> None:
    chunks = np.load(data)
    t0 = time.perf_counter()
    info = WORKERS[kind](chunks, vocab_size, Path(out))
    info["seconds"] = time.perf_counter() - t0
    print(json.dumps(info))


# ------------------------------------------------------------------------------------------------
# Parent
# ------------------------------------------------------------------------------------------------
def run_child(kind: str, data: Path, vocab_size: int, out: Path) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, str(data), str(vocab_size), str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout = proc.stdout.read() if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} fit failed with exit code {proc.returncode}")
    info = json.loads(stdout.strip().splitlines()[-1])
    info.update(
        kind=kind,
        process_wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,
        peak_rss_bytes=usage.ru_maxrss * 1024,
    )
    return info


def same_model(a: Path, b: Path) -> bool:
    def model(p: Path):
        m = json.loads((p / "tokenizer.json").read_text(encoding="utf-8"))["model"]
        return m["vocab"], [
            tuple(x) if isinstance(x, list) else tuple(x.split(" ", 1)) for x in m["merges"]
        ]

    return model(a) == model(b)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=100_000, help="chunks for the comparison")
    ap.add_argument("--large", type=int, default=1_000_000, help="chunks for the large actok fit")
    ap.add_argument("--vocab-size", type=int, default=1024)
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument(
        "--default-large",
        action="store_true",
        help="also fit the large chunks with the default fit (lossless, placement auto)",
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    results: dict = {
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "load_average_at_start": os.getloadavg(),
        },
        "chunk_shape": [H, D],
        "vocab_size": args.vocab_size,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "chunks.npy"
        np.save(data, make_chunks(args.chunks))
        print(f"{args.chunks} chunks of {H}x{D}, vocab_size {args.vocab_size}", flush=True)
        ours = run_child("actok", data, args.vocab_size, tmp / "actok")
        results["runs"].append(ours | {"chunks": args.chunks})
        print(f"  actok:     {ours['seconds']:8.1f} s  peak RSS {ours['peak_rss_mb']:8.0f} MB")
        if not args.skip_reference:
            ref = run_child("reference", data, args.vocab_size, tmp / "reference")
            results["runs"].append(ref | {"chunks": args.chunks})
            identical = same_model(tmp / "actok", tmp / "reference")
            results["identical_vocab_and_merges"] = identical
            results["speedup"] = ref["seconds"] / ours["seconds"]
            results["rss_ratio"] = ref["peak_rss_mb"] / ours["peak_rss_mb"]
            print(f"  reference: {ref['seconds']:8.1f} s  peak RSS {ref['peak_rss_mb']:8.0f} MB")
            print(
                f"  actok is {results['speedup']:.1f}x faster, "
                f"{results['rss_ratio']:.1f}x less peak memory; identical vocab and merges: "
                f"{identical}"
            )
        data.unlink()
        if not args.skip_large:
            np.save(data, make_chunks(args.large, seed=1))
            print(f"{args.large} chunks of {H}x{D} (actok only)", flush=True)
            big = run_child("actok", data, args.vocab_size, tmp / "actok_large")
            results["runs"].append(big | {"chunks": args.large})
            print(
                f"  actok:     {big['seconds']:8.1f} s  peak RSS {big['peak_rss_mb']:8.0f} MB "
                f"({big['peak_rss_bytes'] / 1e9:.2f} GB)"
            )
            if args.default_large:
                dflt = run_child("actok-default", data, args.vocab_size, tmp / "actok_default")
                results["runs"].append(dflt | {"chunks": args.large})
                print(
                    f"  actok default fit (lossless, placement auto): {dflt['seconds']:8.1f} s  "
                    f"peak RSS {dflt['peak_rss_mb']:8.0f} MB "
                    f"({dflt['peak_rss_bytes'] / 1e9:.2f} GB)"
                )
    results["machine"]["load_average_at_end"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
