#!/usr/bin/env python3
"""actok against the FAST reference and the best plain-Python pipeline (a benchmark, never a test).

One run compares, for encode, decode and fit, across H in {10, 30, 50, 100}, D in {2, 7, 14, 32},
B in {1, 64, 4096}, float32 and float64, actok with 1 thread and with all threads against:

* **reference**: the recipe of docs/semantics.md (#encode, #decode) written out here, as the
  Hugging Face processor runs it: ``scipy.fft.dct(axis=1, norm="ortho")`` on the batch,
  ``np.around(c * scale)``, then per chunk ``"".join(map(chr, max(q - min_token, 0)))`` and
  ``tokenizers.Tokenizer.encode``; decode per chunk ``Tokenizer.decode``, ``ord(c) + min_token``,
  ``scipy.fft.idct``. It calls ``tokenizers`` directly (cheaper than the processor's
  ``PreTrainedTokenizerFast`` wrapper), so its ratios are conservative.
* **plain Python**: the fastest pipeline we could write without actok: batched scipy DCT, the
  strings of a whole batch built at once by viewing a code-point array as ``<U{n}``,
  ``Tokenizer.encode_batch`` (the ``tokenizers`` Rust core, on all its threads) and for decode
  ``decode_batch``, code points read back with one ``np.frombuffer`` and one batched ``idct``.
* **fit**: the reference ``fit`` (DCT, ``np.around``, strings, ``BpeTrainer`` with the FAST
  settings) against ``FastTokenizer.fit(..., alphabet="reference")``, which writes the same merges.

Two tokenizers per shape, trained here with the FAST recipe (vocab 1024, scale 10) on smooth
random chunks, with ``min_token`` pinned: -354 (as FAST+; zero is U+0162, a 2-byte letter, and a
chunk is one long piece) and -120 (zero is ``x``, an ASCII letter; coefficients of either sign
nearby are ASCII letters or punctuation, so a chunk splits into several pieces).

Cost control, so the whole run stays under 10 minutes on 2 cores: the per-chunk loops of the
reference are timed on the first 128 chunks of a batch, the plain-Python pipeline on the first
1024 (both are per-chunk costs that do not depend on the batch size), actok on the whole batch.
Each cell is the median of 3 samples of at least 10 ms. ``OPENBLAS_NUM_THREADS=1`` is set before
numpy loads: OpenBLAS's idle threads spin after numpy calls and would steal the second core
from whichever side runs next.

Usage::

    python benches/harness.py [-o DIR [--force]] [--quick]

The tables are printed; with ``-o DIR`` they are also written to ``DIR/harness.md`` and every
measurement to ``DIR/harness.json``. Files already there are replaced only with ``--force``
(``benches/results/`` holds the published run, tracked in git), checked before anything runs.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import scipy.fft  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402

import actok  # noqa: E402

# The FAST recipe is written once, in the test oracle.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fast_reference import (  # noqa: E402
    bpe_trainer,
    new_bytelevel_bpe,
    write_processor_config,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scaling  # noqa: E402
import sweep  # noqa: E402

SCALE = 10
VOCAB_SIZE = 1024
HORIZONS = (10, 30, 50, 100)
DIMS = (2, 7, 14, 32)
BATCHES = (1, 64, 4096)
DTYPES = (np.float32, np.float64)
#: name -> min_token
TOKENIZERS = {"2-byte zero": -354, "ASCII zero": -120}
REFERENCE_CHUNKS = 128
PLAIN_CHUNKS = 1024
#: (B, H, D) of the throughput goals, where thread scaling is also measured in pairs
GOAL_SHAPE = (4096, 50, 14)
#: encodes each process times in the two-process ceiling (about 0.5 s of work at the goal shape)
CEILING_CALLS = 30


# ------------------------------------------------------------------------------------------------
# Data and the FAST recipe
# ------------------------------------------------------------------------------------------------
def smooth_chunks(n: int, horizon: int, dim: int, seed: int) -> np.ndarray:
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


def quantize(chunks: np.ndarray) -> np.ndarray:
    q = np.around(scipy.fft.dct(chunks, axis=1, norm="ortho") * SCALE)
    return q.astype(np.int64).reshape(len(chunks), -1)


def train_pinned(chunks: np.ndarray, min_token: int, out: Path) -> Tokenizer:
    """The FAST recipe with ``min_token`` pinned; writes a directory actok loads."""
    q = quantize(chunks)
    lo, hi = int(q.min()), int(q.max())
    if lo < min_token:
        raise SystemExit(f"training data reach {lo}, below min_token {min_token}")
    tok = new_bytelevel_bpe()
    strings = ["".join(map(chr, row - min_token)) for row in q]
    tok.train_from_iterator(strings, trainer=bpe_trainer(VOCAB_SIZE, max(324, hi - min_token + 1)))
    out.mkdir(parents=True, exist_ok=True)
    tok.save(str(out / "tokenizer.json"))
    write_processor_config(out, min_token=min_token, scale=SCALE, vocab_size=tok.get_vocab_size())
    return tok


def reference_fit(chunks: np.ndarray) -> Tokenizer:
    """The reference ``fit`` (docs/semantics.md#fit), min_token from the data."""
    q = quantize(chunks)
    lo, hi = int(q.min()), int(q.max())
    tok = new_bytelevel_bpe()
    strings = ["".join(map(chr, row - lo)) for row in q]
    tok.train_from_iterator(strings, trainer=bpe_trainer(VOCAB_SIZE, hi - lo + 1))
    return tok


# ------------------------------------------------------------------------------------------------
# The two Python pipelines
# ------------------------------------------------------------------------------------------------
def reference_encode(tok: Tokenizer, actions: np.ndarray, min_token: int) -> list[list[int]]:
    coeff = np.around(scipy.fft.dct(actions, axis=1, norm="ortho") * SCALE)
    out = []
    for elem in coeff:
        text = "".join(map(chr, np.maximum(elem.flatten() - min_token, 0).astype(int)))
        out.append(tok.encode(text).ids)
    return out


def reference_decode(tok: Tokenizer, tokens, horizon: int, dim: int, min_token: int) -> np.ndarray:
    decoded = []
    for ids in tokens:
        try:
            q = np.array(list(map(ord, tok.decode(ids)))) + min_token
            q = q.reshape(-1, dim)
            assert q.shape == (horizon, dim)
        except Exception:
            q = np.zeros((horizon, dim))
        decoded.append(scipy.fft.idct(q / SCALE, axis=0, norm="ortho"))
    return np.stack(decoded)


def plain_encode(tok: Tokenizer, actions: np.ndarray, min_token: int) -> list[list[int]]:
    coeff = np.around(scipy.fft.dct(actions, axis=1, norm="ortho") * SCALE)
    codes = np.maximum(coeff.reshape(len(actions), -1) - min_token, 0).astype(np.uint32)
    strings = codes.view(f"<U{codes.shape[1]}").ravel().tolist()
    return [e.ids for e in tok.encode_batch(strings)]


def plain_decode(tok: Tokenizer, tokens, horizon: int, dim: int, min_token: int) -> np.ndarray:
    texts = tok.decode_batch(tokens)
    n = horizon * dim
    if all(len(t) == n for t in texts):
        q = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        q = q.astype(np.float64).reshape(len(texts), horizon, dim) + min_token
    else:  # the reference's answer to a malformed sequence: zeros
        q = np.zeros((len(texts), horizon, dim))
        for i, t in enumerate(texts):
            if len(t) == n:
                q[i] = np.array(list(map(ord, t))).reshape(horizon, dim) + min_token
    return scipy.fft.idct(q / SCALE, axis=1, norm="ortho")


# ------------------------------------------------------------------------------------------------
# Timing
# ------------------------------------------------------------------------------------------------
def measure(fn, chunks: int, repeats: int, min_seconds: float = 0.01) -> float:
    """Median microseconds per chunk over ``repeats`` samples of at least ``min_seconds``."""
    return statistics.median(samples(fn, chunks, repeats, min_seconds))


def samples(fn, chunks: int, repeats: int, min_seconds: float = 0.01) -> list[float]:
    """Microseconds per chunk in each of ``repeats`` samples of at least ``min_seconds``."""
    t0 = time.perf_counter()
    fn()  # warm-up; also sizes the inner loop
    once = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, int(min_seconds / once))
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner / chunks * 1e6)
    return times


def measure_on(threads: int, fn, chunks: int, repeats: int) -> float:
    """``measure`` with actok on ``threads`` threads (set outside the timed calls)."""
    actok.set_num_threads(threads)
    try:
        return measure(fn, chunks, repeats)
    finally:
        actok.set_num_threads(None)


def machine_info() -> dict:
    cpu = platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "tokenizers": tokenizers.__version__,
        "actok": actok.__version__,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": os.getloadavg(),
    }


# ------------------------------------------------------------------------------------------------
# The run
# ------------------------------------------------------------------------------------------------
def run_shape(h: int, d: int, args, tmp: Path, threads: int) -> tuple[list, list, dict]:
    rows, checks = [], []
    n_train = int(np.clip(200_000 // (h * d), 100, 2000))
    train = smooth_chunks(n_train, h, d, seed=h * 1000 + d)
    data = smooth_chunks(max(BATCHES), h, d, seed=h * 1000 + d + 1)

    # Fit: the reference fit against actok's, same chunks, same merges (checked).
    t0 = time.perf_counter()
    ref_fitted = reference_fit(train)
    fit_ref = (time.perf_counter() - t0) / n_train * 1e6
    fit_1 = measure_on(
        1,
        lambda: actok.FastTokenizer.fit(train, SCALE, VOCAB_SIZE, alphabet="reference"),
        n_train,
        1,
    )
    fit_all = measure(
        lambda: actok.FastTokenizer.fit(train, SCALE, VOCAB_SIZE, alphabet="reference"), n_train, 1
    )
    ours = actok.FastTokenizer.fit(train, SCALE, VOCAB_SIZE, alphabet="reference")
    ours.save_pretrained(tmp / f"fit_{h}_{d}")
    mine = json.loads((tmp / f"fit_{h}_{d}" / "tokenizer.json").read_text())["model"]
    theirs = json.loads(ref_fitted.to_str())["model"]
    fit_row = {
        "op": "fit",
        "H": h,
        "D": d,
        "chunks": n_train,
        "reference_us": fit_ref,
        "actok_1_us": fit_1,
        "actok_all_us": fit_all,
        "identical_merges": mine["vocab"] == theirs["vocab"]
        and [tuple(m) for m in mine["merges"]] == [tuple(m) for m in theirs["merges"]],
    }

    for name, min_token in TOKENIZERS.items():
        out = tmp / f"{name}_{h}_{d}".replace(" ", "_")
        ref_tok = train_pinned(train, min_token, out)
        tok = actok.FastTokenizer.from_pretrained(out)
        probe = data[:64]
        ref_ids = reference_encode(ref_tok, probe, min_token)
        our_ids = tok.encode(probe)
        plain_ids = plain_encode(ref_tok, probe, min_token)
        decoded = tok.decode(our_ids, h, d)
        checks.append(
            {
                "tokenizer": name,
                "H": h,
                "D": d,
                "token_exact": sum(a == b for a, b in zip(our_ids, ref_ids)),
                "plain_token_exact": sum(a == b for a, b in zip(plain_ids, ref_ids)),
                "chunks": len(probe),
                "mean_tokens": float(np.mean([len(t) for t in our_ids])),
                "decode_max_abs_diff": float(
                    np.max(np.abs(decoded - reference_decode(ref_tok, ref_ids, h, d, min_token)))
                ),
            }
        )
        for dtype in DTYPES:
            for b in BATCHES:
                x = np.ascontiguousarray(data[:b].astype(dtype))
                enc, dec = measure_cell(tok, ref_tok, min_token, x, args.repeats)
                if x.shape == GOAL_SHAPE:
                    enc["scaling"], dec["scaling"] = scaling_cell(tok, x)
                    if dtype is np.float64:
                        seed = h * 1000 + d + 1  # the chunks of `data`
                        enc["ceiling"] = scaling.ceiling(out, x.shape, seed, CEILING_CALLS)
                for op, cell in (("encode", enc), ("decode", dec)):
                    rows.append(
                        {
                            "op": op,
                            "tokenizer": name,
                            "H": h,
                            "D": d,
                            "B": b,
                            "dtype": np.dtype(dtype).name,
                            **cell,
                        }
                    )
        print(f"  H={h} D={d} {name}: done", file=sys.stderr, flush=True)
    return rows, checks, fit_row


def measure_cell(tok, ref_tok: Tokenizer, min_token: int, x: np.ndarray, r: int):
    """Encode and decode timings of one batch ``x`` for the three implementations."""
    b, h, d = x.shape
    xr, xp = x[:REFERENCE_CHUNKS], x[:PLAIN_CHUNKS]
    ids = tok.encode(x)
    padded = tok.encode_batch(x)
    ids_r, ids_p = ids[:REFERENCE_CHUNKS], ids[:PLAIN_CHUNKS]
    enc = {
        "reference_us": measure(lambda: reference_encode(ref_tok, xr, min_token), len(xr), r),
        "plain_us": measure(lambda: plain_encode(ref_tok, xp, min_token), len(xp), r),
        "actok_1_us": measure_on(1, lambda: tok.encode(x), b, r),
        "actok_all_us": measure(lambda: tok.encode(x), b, r),
        "actok_1_numpy_us": measure_on(1, lambda: tok.encode_batch(x), b, r),
        "actok_all_numpy_us": measure(lambda: tok.encode_batch(x), b, r),
    }
    dec = {
        "reference_us": measure(
            lambda: reference_decode(ref_tok, ids_r, h, d, min_token), len(ids_r), r
        ),
        "plain_us": measure(lambda: plain_decode(ref_tok, ids_p, h, d, min_token), len(ids_p), r),
        "actok_1_us": measure_on(1, lambda: tok.decode(ids, h, d), b, r),
        "actok_all_us": measure(lambda: tok.decode(ids, h, d), b, r),
        "actok_1_numpy_us": measure_on(1, lambda: tok.decode(padded, h, d), b, r),
        "actok_all_numpy_us": measure(lambda: tok.decode(padded, h, d), b, r),
    }
    return enc, dec


def scaling_cell(tok, x: np.ndarray) -> tuple[dict, dict]:
    """Thread scaling of encode and decode, lists and numpy, in paired samples
    (``benches/scaling.py``)."""
    _, h, d = x.shape
    ids, padded = tok.encode(x), tok.encode_batch(x)
    enc = {
        "lists": scaling.paired(lambda: tok.encode(x)),
        "numpy": scaling.paired(lambda: tok.encode_batch(x)),
    }
    dec = {
        "lists": scaling.paired(lambda: tok.decode(ids, h, d)),
        "numpy": scaling.paired(lambda: tok.decode(padded, h, d)),
    }
    return enc, dec


def round_trip_us(repeats: int) -> dict:
    """B=1 encode + decode through the Python API, H=50, D=14, per tokenizer."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        train = smooth_chunks(2000, 50, 14, seed=7)
        x = smooth_chunks(1, 50, 14, seed=8)
        for name, min_token in TOKENIZERS.items():
            train_pinned(train, min_token, Path(tmp) / "t")
            tok = actok.FastTokenizer.from_pretrained(Path(tmp) / "t")
            trips = {
                "lists": lambda tok=tok: tok.decode(tok.encode(x), 50, 14),
                "numpy": lambda tok=tok: tok.decode(tok.encode_batch(x), 50, 14),
            }
            out[name] = {}
            for kind, trip in trips.items():
                times = samples(trip, 1, repeats)
                out[name][kind] = statistics.median(times)
                out[name][f"{kind}_fastest"] = min(times)
    return out


def thread_scaling_text(row: dict) -> str:
    """The speed-up from 1 thread to all: the paired samples' median ratio (fastest samples'
    ratio in brackets) and, where measured, the two-process ceiling; medians taken one after
    the other when the row has no paired samples."""
    pair = row.get("scaling")
    if pair is None:
        return (
            f"{ratio(row['actok_1_us'], row['actok_all_us'])} / "
            f"{ratio(row['actok_1_numpy_us'], row['actok_all_numpy_us'])}"
        )
    lists, numpy_ = pair["lists"], pair["numpy"]
    text = (
        f"{lists['median_ratio']:.2f}x / {numpy_['median_ratio']:.2f}x "
        f"(fastest {lists['fastest_ratio']:.2f}x / {numpy_['fastest_ratio']:.2f}x)"
    )
    if "ceiling" in row:
        text += f"; two processes {row['ceiling']['median_ratio']:.2f}x"
    return text


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x"


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "## actok vs the FAST reference and the best plain-Python pipeline",
        "",
        f"{m['cpu']}, {m['logical_cores']} logical cores ({m['usable_cores']} usable); "
        f"{m['platform']}; {m['date']}; load average at start {m['load_average'][0]:.2f}. "
        f"Python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, tokenizers "
        f"{m['tokenizers']}, actok {m['actok']}. Vocab {VOCAB_SIZE}, scale {SCALE}. Median "
        f"microseconds per chunk; reference timed on <= {REFERENCE_CHUNKS} chunks of each batch, "
        f"plain Python on <= {PLAIN_CHUNKS} (per-chunk costs), actok on the whole batch. "
        f"'all' = {result['threads']} threads. Ratios are reference / actok and plain / actok "
        "with actok on 1 thread; '1→all' is actok's own thread speed-up.",
        "",
    ]
    t = result["targets"]
    lines += [
        "### Targets (B=4096, H=50, D=14, actok on 1 thread)",
        "",
        "| target | tokenizer | dtype | achieved | goal |",
        "|---|---|---|---:|---:|",
    ]
    for row in t["rows"]:
        lines.append(
            f"| {row['target']} | {row['tokenizer']} | {row['dtype']} | {row['achieved']} "
            f"| {row['goal']} |"
        )
    lines += [
        "",
        f"Thread speed-ups in the targets: {scaling.PAIRS} alternating pairs of samples on 1 "
        "thread and on all threads, the median of the pairs' ratios (in brackets, fastest "
        "sample over fastest sample); 'two processes' is the throughput of the same encode in "
        "two independent processes over one alone, measured in the same run: what the two "
        "cores gave fully independent work at that moment (`benches/scaling.py`). B=1 round "
        "trips: median of the samples (fastest in brackets).",
        "",
        "### Every cell",
        "",
    ]
    lines.append(
        "| op | tokenizer | H | D | B | dtype | reference | plain Python | actok 1 thr "
        "| actok all | actok 1 thr, numpy | actok all, numpy | ×ref | ×plain | 1→all "
        "| 1→all, numpy |"
    )
    lines.append("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in result["rows"]:
        lines.append(
            f"| {r['op']} | {r['tokenizer']} | {r['H']} | {r['D']} | {r['B']} | {r['dtype']} "
            f"| {r['reference_us']:.1f} | {r['plain_us']:.1f} | {r['actok_1_us']:.2f} "
            f"| {r['actok_all_us']:.2f} | {r['actok_1_numpy_us']:.2f} "
            f"| {r['actok_all_numpy_us']:.2f} "
            f"| {ratio(r['reference_us'], r['actok_1_us'])} "
            f"| {ratio(r['plain_us'], r['actok_1_us'])} "
            f"| {ratio(r['actok_1_us'], r['actok_all_us'])} "
            f"| {ratio(r['actok_1_numpy_us'], r['actok_all_numpy_us'])} |"
        )
    lines += ["", "### Fit (µs per training chunk)", ""]
    lines.append(
        "| H | D | chunks | reference | actok 1 thr | actok all | ×ref (1 thr) | same merges |"
    )
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---|")
    for f in result["fit"]:
        lines.append(
            f"| {f['H']} | {f['D']} | {f['chunks']} | {f['reference_us']:.1f} "
            f"| {f['actok_1_us']:.1f} | {f['actok_all_us']:.1f} "
            f"| {ratio(f['reference_us'], f['actok_1_us'])} | {f['identical_merges']} |"
        )
    lines += ["", "### Checks (first 64 chunks of each shape)", ""]
    exact = sum(c["token_exact"] for c in result["checks"])
    total = sum(c["chunks"] for c in result["checks"])
    worst = max(c["decode_max_abs_diff"] for c in result["checks"])
    lines.append(
        f"actok's ids equal the reference's on {exact}/{total} chunks (float64 input); decoded "
        f"actions within {worst:.1e} of the reference's. Run time {result['seconds']:.0f} s."
    )
    return "\n".join(lines) + "\n"


def targets(rows: list[dict], trip: dict, threads: int) -> dict:
    out = []
    for r in rows:
        if (r["H"], r["D"], r["B"]) != (50, 14, 4096):
            continue
        if r["op"] == "encode":
            out.append(
                {
                    "target": "encode vs reference",
                    "tokenizer": r["tokenizer"],
                    "dtype": r["dtype"],
                    "achieved": ratio(r["reference_us"], r["actok_1_us"]),
                    "goal": ">= 50x",
                }
            )
            out.append(
                {
                    "target": "encode vs plain Python",
                    "tokenizer": r["tokenizer"],
                    "dtype": r["dtype"],
                    "achieved": ratio(r["plain_us"], r["actok_1_us"]),
                    "goal": ">= 10x",
                }
            )
        else:
            out.append(
                {
                    "target": "decode vs reference",
                    "tokenizer": r["tokenizer"],
                    "dtype": r["dtype"],
                    "achieved": ratio(r["reference_us"], r["actok_1_us"]),
                    "goal": ">= 100x",
                }
            )
        out.append(
            {
                "target": f"{r['op']} 1→{threads} threads (lists / numpy)",
                "tokenizer": r["tokenizer"],
                "dtype": r["dtype"],
                "achieved": thread_scaling_text(r),
                "goal": ">= 1.7x",
            }
        )
    for name, t in trip.items():
        out.append(
            {
                "target": "B=1 round trip (lists / numpy)",
                "tokenizer": name,
                "dtype": "float64",
                "achieved": f"{t['lists']:.1f} / {t['numpy']:.1f} µs (fastest "
                f"{t['lists_fastest']:.1f} / {t['numpy_fastest']:.1f})",
                "goal": "<= 20 µs",
            }
        )
    return {"rows": out}


OUTPUT_FILES = ("harness.json", "harness.md")
SWEEP_FILES = ("sweep.json", "sweep.md")


def output_files(
    directory: Path | None, force: bool, names: tuple[str, str] = OUTPUT_FILES
) -> tuple[Path, Path] | None:
    """Where ``-o DIR`` writes the results (``None``: nowhere, the tables are only printed).
    Refuses, before minutes of measuring, to replace files already there unless ``force``."""
    if directory is None:
        return None
    json_path, md_path = (directory / name for name in names)
    existing = [str(p) for p in (json_path, md_path) if p.exists()]
    if existing and not force:
        raise SystemExit(
            f"harness: {' and '.join(existing)} already exist: choose another -o DIR, or pass "
            "--force to replace them (benches/results/ holds the published run, tracked in git)"
        )
    return json_path, md_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="DIR",
        help="write harness.json (every measurement) and harness.md (the tables) into DIR, "
        "created if missing (default: print the tables only)",
    )
    ap.add_argument("--force", action="store_true", help="replace those files if DIR has them")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="H=50, D=14 only (a smoke run)")
    ap.add_argument(
        "--sweep-only",
        action="store_true",
        help="only the shape sweep (tokenizers on chunks of other shapes, benches/sweep.py), "
        "written to sweep.json and sweep.md",
    )
    args = ap.parse_args(argv)
    outputs = output_files(
        args.output, args.force, SWEEP_FILES if args.sweep_only else OUTPUT_FILES
    )
    started = time.perf_counter()
    machine = machine_info()
    threads = actok.get_num_threads()
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.sweep_only:
        rows = sweep.run_sweep(sys.modules[__name__], args.repeats, log)
        result = {"machine": machine, "repeats": args.repeats, "sweep": rows}
        result["seconds"] = time.perf_counter() - started
        return write_results(result, sweep_markdown(result), outputs)
    shapes = [(50, 14)] if args.quick else [(h, d) for h in HORIZONS for d in DIMS]
    rows, checks, fits = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for h, d in shapes:
            r, c, f = run_shape(h, d, args, Path(tmp), threads)
            rows += r
            checks += c
            fits.append(f)
    trip = round_trip_us(args.repeats)
    sweep_rows = [] if args.quick else sweep.run_sweep(sys.modules[__name__], args.repeats, log)
    result = {
        "machine": machine,
        "threads": threads,
        "rows": rows,
        "fit": fits,
        "checks": checks,
        "round_trip_b1_us": trip,
        "sweep": sweep_rows,
        "seconds": time.perf_counter() - started,
    }
    result["targets"] = targets(rows, trip, threads)
    text = markdown(result)
    if sweep_rows:
        text += "\n" + "\n".join(sweep.markdown(sweep_rows)) + "\n"
    return write_results(result, text, outputs)


def sweep_markdown(result: dict) -> str:
    m = result["machine"]
    head = [
        "## actok's shape sweep",
        "",
        f"{m['cpu']}, {m['logical_cores']} logical cores; {m['platform']}; {m['date']}; load "
        f"average at start {m['load_average'][0]:.2f} (the machine is shared: other work ran "
        f"beside this). Python {m['python']}, numpy {m['numpy']}, tokenizers "
        f"{m['tokenizers']}, actok {m['actok']}. Each cell is the fastest of "
        f"{result['repeats']} samples of at least 20 ms of CPU time (not wall time) in each of "
        f"{sweep.PASSES} passes over all cells, the fastest pass kept; run time "
        f"{result['seconds']:.0f} s.",
        "",
    ]
    return "\n".join(head + sweep.markdown(result["sweep"])) + "\n"


def write_results(result: dict, text: str, outputs) -> int:
    print(text)
    if outputs is not None:
        json_path, md_path = outputs
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(result, indent=2) + "\n")
        md_path.write_text(text)
        print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
