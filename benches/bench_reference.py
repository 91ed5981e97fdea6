#!/usr/bin/env python3
"""Benchmark actok against the FAST reference pipeline (a benchmark, never a test).

The reference side is written here from the spec (fast-reference.md, sections 1, 2 and 5) and does
what the Hugging Face processor does, minus the ``transformers`` wrapper overhead (it calls the
``tokenizers.Tokenizer`` directly, which is faster than ``PreTrainedTokenizerFast.__call__``, so the
ratios below are conservative):

* encode = ``scipy.fft.dct(axis=1, norm="ortho")`` on the batch, ``np.around(c * scale)``, then per
  chunk ``"".join(map(chr, max(q - min_token, 0)))`` and ``Tokenizer.encode(...).ids``;
* decode = per chunk ``Tokenizer.decode(ids)``, ``ord`` of each character + ``min_token``, reshape,
  ``scipy.fft.idct(q / scale, axis=0, norm="ortho")``.

The tokenizer is trained in this harness with the FAST recipe (``BpeTrainer(vocab_size=2048,
min_frequency=2, special_tokens=[], initial_alphabet=[chr(i) for i in range(R)],
max_token_length=10000)``, ByteLevel pre-tokenizer/decoder/post-processor) on smooth random
chunks, with ``scale = 10`` and ``min_token = -354`` as in the released FAST+ tokenizer.

Usage::

    python benches/bench_reference.py [--json results.json] [--repeats 7] [--quick]

Prints a markdown table of encode/decode microseconds per chunk for (B=1000, H=50, D=14) and
(B=1, H=50, D=14) in float32 and float64, for the reference, actok with its default thread count
and actok with ``actok.set_num_threads(1)``, plus the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.fft
import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

import actok

SCALE = 10
MIN_TOKEN = -354  # released FAST+ value
VOCAB_SIZE = 2048
H, D = 50, 14


# ------------------------------------------------------------------------------------------------
# Data and tokenizer (FAST recipe)
# ------------------------------------------------------------------------------------------------
def smooth_chunks(n: int, seed: int, horizon: int = H, dim: int = D) -> np.ndarray:
    """Smooth random action chunks in [-1, 1]: a few random sinusoids plus a smoothed walk."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, horizon)[None, :, None]
    x = np.zeros((n, horizon, dim))
    for _ in range(3):
        freq = rng.uniform(0.1, 2.5, size=(n, 1, dim))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1, dim))
        amp = rng.uniform(0.0, 1.0, size=(n, 1, dim))
        x += amp * np.sin(2 * np.pi * freq * t + phase)
    walk = np.cumsum(rng.normal(0, 0.03, size=(n, horizon, dim)), axis=1)
    x += walk - walk.mean(axis=1, keepdims=True)
    peak = np.max(np.abs(x), axis=1, keepdims=True)
    x = x / np.maximum(peak, 1e-9) * rng.uniform(0.2, 1.0, size=(n, 1, dim))
    return np.clip(x, -1.0, 1.0)


def train_tokenizer(out_dir: Path, n_train: int, seed: int = 0) -> dict:
    """FAST ``fit`` with min_token pinned to -354; writes tokenizer.json + processor_config.json."""
    q = np.around(scipy.fft.dct(smooth_chunks(n_train, seed), axis=1, norm="ortho") * SCALE)
    q = q.astype(np.int64).reshape(n_train, -1)
    lo, hi = int(q.min()), int(q.max())
    assert lo >= MIN_TOKEN, (lo, MIN_TOKEN)
    alphabet = max(324, hi - MIN_TOKEN + 1)  # >= 324: every byte-level symbol is in the vocab
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=[chr(i) for i in range(alphabet)],
        max_token_length=10000,
    )
    strings = ("".join(map(chr, row - MIN_TOKEN)) for row in q)
    tok.train_from_iterator(strings, trainer=trainer, length=n_train)
    out_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(out_dir / "tokenizer.json"))
    config = {
        "action_dim": None,
        "time_horizon": None,
        "min_token": MIN_TOKEN,
        "scale": SCALE,
        "vocab_size": tok.get_vocab_size(),
        "processor_class": "UniversalActionProcessor",
    }
    (out_dir / "processor_config.json").write_text(json.dumps(config, indent=2))
    return {"train_chunks": n_train, "q_range": [lo, hi], "alphabet": alphabet, **config}


# ------------------------------------------------------------------------------------------------
# Reference pipeline (what the HF processor's __call__ / decode loops do)
# ------------------------------------------------------------------------------------------------
def reference_encode(tok: Tokenizer, actions: np.ndarray) -> list[list[int]]:
    if actions.ndim == 2:
        actions = actions[None, ...]
    coeff = scipy.fft.dct(actions, axis=1, norm="ortho")
    coeff = np.around(coeff * SCALE)
    tokens = []
    for elem in coeff:
        token_str = "".join(map(chr, np.maximum(elem.flatten() - MIN_TOKEN, 0).astype(int)))
        tokens.append(tok.encode(token_str).ids)
    return tokens


def reference_decode(tok: Tokenizer, tokens, horizon: int, dim: int) -> np.ndarray:
    decoded = []
    for ids in tokens:
        try:
            text = tok.decode(ids)
            q = np.array(list(map(ord, text))) + MIN_TOKEN
            q = q.reshape(-1, dim)
            assert q.shape == (horizon, dim)
        except Exception:
            q = np.zeros((horizon, dim))
        decoded.append(scipy.fft.idct(q / SCALE, axis=0, norm="ortho"))
    return np.stack(decoded)


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------
def measure(fn, chunks_per_call: int, repeats: int, min_sample_s: float = 0.02) -> dict:
    """Median and best microseconds per chunk over ``repeats`` samples of >= ``min_sample_s``."""
    t0 = time.perf_counter()
    fn()  # warm-up, also sizes the inner loop
    once = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, int(min_sample_s / once))
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner / chunks_per_call * 1e6)
    return {"median_us": statistics.median(samples), "best_us": min(samples), "inner": inner}


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "tokenizers": tokenizers.__version__,
        "actok": getattr(actok, "__version__", "?"),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="actok vs the FAST reference pipeline")
    p.add_argument("--json", type=Path, help="write the results as JSON to this path")
    p.add_argument("--repeats", type=int, default=5, help="timing samples per cell (default 5)")
    p.add_argument("--train-chunks", type=int, default=4000, help="tokenizer training chunks")
    p.add_argument("--quick", action="store_true", help="fewer repeats and training chunks")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.train_chunks = 3, 1000

    started = time.perf_counter()
    machine = machine_info()
    default_threads = actok.get_num_threads()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tok_info = train_tokenizer(Path(tmp) / "fast", args.train_chunks)
        tok_info["train_seconds"] = round(time.perf_counter() - t0, 2)
        ref_tok = Tokenizer.from_file(str(Path(tmp) / "fast" / "tokenizer.json"))
        ours = actok.FastTokenizer.from_pretrained(Path(tmp) / "fast")

    data64 = smooth_chunks(1000, seed=12345)
    results, checks = [], []
    for batch in (1000, 1):
        for dtype in (np.float32, np.float64):
            x = np.ascontiguousarray(data64[:batch].astype(dtype))
            dname = np.dtype(dtype).name
            # Correctness first: actok must be token-exact with the reference on the float64 path
            # (float32 input is upcast; scipy's float32 path rounds a few coefficients/million
            # differently, which is the reference's own float32 imprecision).
            ref_ids = reference_encode(ref_tok, x)
            ref_ids64 = reference_encode(ref_tok, x.astype(np.float64))
            our_ids = [list(map(int, t)) for t in ours.encode(x)]
            ref_dec = reference_decode(ref_tok, ref_ids, H, D)
            our_dec = np.asarray(ours.decode(our_ids, time_horizon=H, action_dim=D))
            checks.append(
                {
                    "batch": batch,
                    "dtype": dname,
                    "token_exact_vs_float64_reference": sum(
                        a == b for a, b in zip(our_ids, ref_ids64)
                    ),
                    "token_exact_vs_reference_same_dtype": sum(
                        a == b for a, b in zip(our_ids, ref_ids)
                    ),
                    "chunks": batch,
                    "mean_tokens_per_chunk": float(np.mean([len(t) for t in our_ids])),
                    "decode_max_abs_diff": float(
                        np.max(np.abs(our_dec - reference_decode(ref_tok, our_ids, H, D)))
                    ),
                    "reference_decode_dtype": str(ref_dec.dtype),
                    "actok_decode_dtype": str(our_dec.dtype),
                }
            )

            def ref_enc(x=x):
                return reference_encode(ref_tok, x)

            def ref_dec_fn(ids=ref_ids):
                return reference_decode(ref_tok, ids, H, D)

            def our_enc(x=x):
                return ours.encode(x)

            def our_dec_fn(ids=our_ids):
                return ours.decode(ids, time_horizon=H, action_dim=D)

            for op, ref_fn, our_fn in (
                ("encode", ref_enc, our_enc),
                ("decode", ref_dec_fn, our_dec_fn),
            ):
                ref_t = measure(ref_fn, batch, args.repeats)
                actok.set_num_threads(default_threads)
                our_t = measure(our_fn, batch, args.repeats)
                actok.set_num_threads(1)
                our_t1 = measure(our_fn, batch, args.repeats)
                actok.set_num_threads(default_threads)
                results.append(
                    {
                        "op": op,
                        "batch": batch,
                        "horizon": H,
                        "action_dim": D,
                        "dtype": dname,
                        "reference": ref_t,
                        "actok": our_t,
                        "actok_1_thread": our_t1,
                        "speedup": ref_t["median_us"] / our_t["median_us"],
                        "speedup_1_thread": ref_t["median_us"] / our_t1["median_us"],
                    }
                )
    actok.set_num_threads(None)
    elapsed = time.perf_counter() - started

    print("## actok vs the FAST reference pipeline\n")
    print(
        f"Machine: {machine['cpu']}, {machine['logical_cores']} logical cores "
        f"({machine['usable_cores']} usable); {machine['platform']}; {machine['date']}"
    )
    print(
        f"Python {machine['python']}, numpy {machine['numpy']}, scipy {machine['scipy']}, "
        f"tokenizers {machine['tokenizers']}, actok {machine['actok']}"
    )
    print(
        f"Tokenizer: FAST recipe on {tok_info['train_chunks']} smooth random chunks, vocab "
        f"{tok_info['vocab_size']}, scale {SCALE}, min_token {MIN_TOKEN}; H={H}, D={D}; "
        f"median of {args.repeats} samples, microseconds per chunk\n"
    )
    print(
        f"| op | B | dtype | reference µs/chunk | actok µs/chunk ({default_threads} threads) "
        "| actok µs/chunk (1 thread) | speedup | speedup (1 thread) |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['op']} | {r['batch']} | {r['dtype']} | {r['reference']['median_us']:.1f} "
            f"| {r['actok']['median_us']:.2f} | {r['actok_1_thread']['median_us']:.2f} "
            f"| {r['speedup']:.1f}x | {r['speedup_1_thread']:.1f}x |"
        )
    print("\nChecks (actok vs reference):")
    for c in checks:
        print(
            f"- B={c['batch']} {c['dtype']}: token-exact with the float64 reference on "
            f"{c['token_exact_vs_float64_reference']}/{c['chunks']} chunks "
            f"(vs the reference on {c['dtype']} input: {c['token_exact_vs_reference_same_dtype']}"
            f"/{c['chunks']}); mean {c['mean_tokens_per_chunk']:.1f} tokens/chunk; decode max "
            f"|diff| {c['decode_max_abs_diff']:.2e}"
        )
    print(f"\nTotal run time {elapsed:.0f} s.")

    if args.json:
        payload = {
            "machine": machine,
            "default_threads": default_threads,
            "tokenizer": tok_info,
            "repeats": args.repeats,
            "results": results,
            "checks": checks,
            "elapsed_seconds": round(elapsed, 1),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
