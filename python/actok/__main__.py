"""``python -m actok``: tokenize the bundled robosuite sample with the bundled FAST tokenizer.

Loads ``data/robosuite_fast`` with :meth:`actok.FastTokenizer.from_pretrained`, normalizes the two
embedded robosuite recordings with the stored quantile statistics, cuts 1-second chunks, encodes and
decodes them, and prints tokens per chunk (vs naive binning), the reconstruction error and the
encode/decode time per chunk. Needs only numpy and actok.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import actok

DATA = Path(__file__).resolve().parent / "data"
TOKENIZER_DIR = DATA / "robosuite_fast"
NORM_FILE = DATA / "robosuite_norm.json"


def normalize(actions: np.ndarray, low: list[float], high: list[float]) -> np.ndarray:
    """Per-dimension quantile normalization: low -> -1, high -> +1, clipped; constant dims -> 0."""
    a = np.asarray(actions, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    hi = np.asarray(high, dtype=np.float64)
    span = hi - lo
    out = np.where(span > 0, 2.0 * (a - lo) / np.where(span > 0, span, 1.0) - 1.0, 0.0)
    return np.clip(out, -1.0, 1.0)


def chunks_of(actions: np.ndarray, ends: np.ndarray, horizon: int, stride: int) -> np.ndarray:
    """1-second windows inside each episode, every ``stride`` steps: shape (B, horizon, D)."""
    out = []
    for ep in np.split(actions, np.asarray(ends)[:-1]):
        if len(ep) >= horizon:
            w = np.lib.stride_tricks.sliding_window_view(ep, horizon, axis=0)[::stride]
            out.append(np.swapaxes(w, 1, 2))
    return np.ascontiguousarray(np.concatenate(out, axis=0))


def best_time(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run(tok: actok.FastTokenizer, stride: int, repeats: int) -> list[dict]:
    stats = json.loads(NORM_FILE.read_text())["files"]
    rows = []
    for name, st in stats.items():
        with np.load(DATA / name) as z:
            actions, ends, fps = z["actions"], z["episode_ends"], int(z["fps"])
        horizon, dim = fps, actions.shape[1]
        chunks = chunks_of(normalize(actions, st["low"], st["high"]), ends, horizon, stride)

        ids = tok.encode(chunks)
        decoded = tok.decode(ids, time_horizon=horizon, action_dim=dim)
        lengths = np.array([len(t) for t in ids])
        err = np.asarray(decoded) - chunks

        t_enc = best_time(lambda c=chunks: tok.encode(c), repeats)
        t_dec = best_time(
            lambda i=ids, h=horizon, d=dim: tok.decode(i, time_horizon=h, action_dim=d), repeats
        )
        rows.append(
            {
                "data": name.removesuffix(".npz"),
                "chunks": len(chunks),
                "shape": f"{horizon}x{dim}",
                "naive": horizon * dim,
                "mean": float(lengths.mean()),
                "p50": float(np.median(lengths)),
                "max": int(lengths.max()),
                "rmse": float(np.sqrt(np.mean(err**2))),
                "maxabs": float(np.max(np.abs(err))),
                "enc_us": t_enc / len(chunks) * 1e6,
                "dec_us": t_dec / len(chunks) * 1e6,
            }
        )
    return rows


def print_table(rows: list[dict], tok_desc: str, stride: int) -> None:
    print(f"actok {actok.__version__} - FAST tokenization of the bundled robosuite sample")
    print(f"tokenizer: {tok_desc}")
    print(
        f"1-second chunks (sliding window, stride {stride}), inputs normalized to [-1, 1]; "
        f"{actok.get_num_threads()} thread(s)\n"
    )
    head = (
        f"{'data':<22} {'chunks':>6} {'H x D':>6} {'naive':>6} {'mean':>6} {'p50':>5} {'max':>5}"
        f" {'RMSE':>8} {'max|err|':>8} {'enc us':>7} {'dec us':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['data']:<22} {r['chunks']:>6} {r['shape']:>6} {r['naive']:>6} {r['mean']:>6.1f}"
            f" {r['p50']:>5.0f} {r['max']:>5} {r['rmse']:>8.4f} {r['maxabs']:>8.4f}"
            f" {r['enc_us']:>7.1f} {r['dec_us']:>7.1f}"
        )
    print(
        "\nnaive = tokens per chunk with one token per value (H x D); mean/p50/max = FAST tokens"
        " per chunk;\nRMSE and max|err| of the decoded chunks in normalized units; enc/dec us ="
        " microseconds per chunk,\nwhole batch in one call (best of several runs)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m actok",
        description=(
            "Tokenize the bundled robosuite sample (robosuite 1.4.1, MIT) with the bundled FAST "
            "tokenizer and print compression, reconstruction error and speed."
        ),
    )
    parser.add_argument(
        "--stride", type=int, default=1, help="window stride in steps (default: 1, every window)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timing repeats, best is reported (default: 5)"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="worker threads (default: actok's default)"
    )
    args = parser.parse_args(argv)
    if args.stride < 1 or args.repeats < 1:
        parser.error("--stride and --repeats must be >= 1")
    if args.threads is not None:
        actok.set_num_threads(args.threads)

    tok = actok.FastTokenizer.from_pretrained(TOKENIZER_DIR)
    rows = run(tok, args.stride, args.repeats)
    desc = (
        f"bundled robosuite_fast (vocab {tok.vocab_size}, scale {tok.scale:g}, "
        f"min_token {tok.min_token})"
    )
    print_table(rows, desc, args.stride)
    return 0


if __name__ == "__main__":
    sys.exit(main())
