#!/usr/bin/env python3
"""Build the small demo tokenizer bundled with actok (python/actok/data/robosuite_fast).

It follows the FAST training recipe (docs/semantics.md#fit) with the Hugging Face
``tokenizers`` library, as the reference ``fit`` does, on the two MIT-licensed robosuite 1.4.1
demonstration files:

1. per-dimension quantile normalization: the 1st/99th percentile of each dimension -> -1/+1,
   clipped to [-1, 1] (where p1 == p99 the min/max is used instead; a constant dimension -> 0);
2. 1-second chunks (``fps`` steps) cut inside each episode with a sliding window (``--stride``);
3. ``scipy.fft.dct(type=2, norm="ortho")`` along time, row-major flatten,
   ``np.around(c * scale)``;
4. each coefficient ``q`` -> ``chr(q - min_token)``;
5. ``models.BPE()`` with the ByteLevel pre-tokenizer (``add_prefix_space=False``), ByteLevel
   decoder and post-processor, trained with ``trainers.BpeTrainer(vocab_size, min_frequency=2,
   special_tokens=[], initial_alphabet=[chr(i) for i in range(R)], max_token_length=10000)``.

Two deliberate choices (the reference takes ``min_token`` = the data minimum and
``R = max_token - min_token + 1``):

* ``min_token = -354``, the value of the released FAST+ tokenizer. A zero coefficient becomes
  U+0162, and any coefficient in [-98, 237] lands in U+0100..U+024F (Latin Extended-A/B, all
  letters), so a chunk is a single pre-tokenizer piece. Normalized 1-second chunks at 20 Hz stay
  inside |q| <= 10 * sqrt(2 * 20) ~ 63, far inside that range. The script checks that the fitted
  minimum is >= min_token (nothing is clamped).
* ``R = max(324, max_token - min_token + 1)``. 324 = 0x144 covers every byte-level symbol
  (U+0021..U+0143), so no symbol is ever missing from the vocab and nothing is silently dropped at
  encode time (the reference's "known trap"); the second term keeps the recipe's "the alphabet
  covers the fitted range".

Outputs (all under python/actok/data): robosuite_fast/tokenizer.json,
robosuite_fast/processor_config.json, copies of the two robosuite .npz files, robosuite_norm.json
(the normalization statistics) and NOTICE.md.

Run from the repository root (needs numpy, scipy and tokenizers; the package itself needs neither):

    python scripts/make_bundled_tokenizer.py [--data ../shared/data] [--vocab-size 1024]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import scipy
import scipy.fft
import tokenizers
from tokenizers import Tokenizer

# The FAST recipe is written once, in the test oracle.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fast_reference import bpe_trainer, new_bytelevel_bpe, write_processor_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "python" / "actok" / "data"
FILES = ("robosuite_lift_7d_20hz.npz", "robosuite_wipe_6d_20hz.npz")
SCALE = 10
MIN_TOKEN = -354
BYTE_LEVEL_ALPHABET = 324  # chr(0)..chr(0x143) includes all 256 byte-level symbols
ROBOSUITE_LICENSE = """MIT License

Copyright (c) 2022 Stanford Vision and Learning Lab and UT Robot Perception and Learning Lab

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

NOTICE_TEMPLATE = """# Bundled data

## `robosuite_lift_7d_20hz.npz`, `robosuite_wipe_6d_20hz.npz`

Small samples of robot actions from the demonstrations shipped in the **robosuite 1.4.1** wheel on
PyPI (`demonstrations/lift/demo.hdf5` and `demonstrations/wipe/panda/demo.hdf5`): human
teleoperation in simulation, OSC_POSE delta actions at 20 Hz. Lift: 3 episodes, 1384 steps,
7 dimensions (values quantized by the keyboard-like teleop); Wipe: 1 episode, 174 steps,
6 dimensions. Each `.npz` loads with `np.load` (no pickle) and holds `actions` (T, D) float32 with
all episodes concatenated, `episode_ends`, `fps`, `dim_names` and `note`.

They are redistributed here, as a small sample for the `python -m actok` demo, under robosuite's
license (https://github.com/ARISE-Initiative/robosuite), reproduced in full:

```
{license}```

## `robosuite_fast/`

A small FAST tokenizer (`tokenizer.json`, `processor_config.json`) made by
`scripts/make_bundled_tokenizer.py` (tokenizers {tok_version}, numpy {np_version},
scipy {scipy_version}) from those two files with the FAST recipe: scipy DCT-II (ortho) along
time, `np.around(c * {scale})`, `chr(q - min_token)`, byte-level BPE trained with
`BpeTrainer(vocab_size={vocab_arg}, min_frequency=2, special_tokens=[],
initial_alphabet=[chr(i) for i in range({alphabet})], max_token_length=10000)`.

- 1-second chunks: {horizon} steps, sliding window with stride {stride} inside each episode
  ({chunks} chunks).
- `min_token = {min_token}` (as in the released FAST+ tokenizer; the fitted coefficients span
  {lo}..{hi}). Initial alphabet size {alphabet} >= 324, so every byte-level symbol is in the
  vocab and nothing is dropped at encode time.
- Final vocab size {vocab}; `action_dim` is {action_dim}, `time_horizon` is {horizon}.
  Tokens per training chunk: mean {mean_len:.1f}, max {max_len} (naive binning: 20 x D).

## `robosuite_norm.json`

The normalization applied before tokenizing (per-dimension quantile normalization):
`x_norm = clip(2 * (x - low) / (high - low) - 1, -1, 1)` with `low`/`high` = the 1st/99th
percentile. Where the two percentiles coincide (Lift's `a1`: almost always 0, rare +-3.75 moves)
the min/max is used instead so the rare moves survive; a constant dimension (`high == low`) maps
to 0.

| file | q01 | q99 | low (used) | high (used) |
|---|---|---|---|---|
{stats}
"""


def quantile_stats(actions: np.ndarray) -> dict[str, list[float]]:
    """Per-dimension 1st/99th percentiles and the bounds actually used for normalization.

    ``low``/``high`` are q01/q99, except for a dimension whose q01 == q99 (e.g. a rarely moved
    axis of the keyboard-teleop Lift data): it falls back to its min/max so rare moves are kept;
    a truly constant dimension keeps low == high and maps to 0.
    """
    a = np.asarray(actions, dtype=np.float64)
    q01, q99 = np.percentile(a, 1, axis=0), np.percentile(a, 99, axis=0)
    degenerate = q99 <= q01
    low = np.where(degenerate, a.min(axis=0), q01)
    high = np.where(degenerate, a.max(axis=0), q99)
    return {"q01": q01.tolist(), "q99": q99.tolist(), "low": low.tolist(), "high": high.tolist()}


def normalize(actions: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Map low -> -1 and high -> +1 per dimension, clip to [-1, 1]; constant dimensions -> 0."""
    a = np.asarray(actions, dtype=np.float64)
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    span = high - low
    safe = np.where(span > 0, span, 1.0)
    out = np.where(span > 0, 2.0 * (a - low) / safe - 1.0, 0.0)
    return np.clip(out, -1.0, 1.0)


def chunks_of(actions: np.ndarray, ends: np.ndarray, horizon: int, stride: int) -> np.ndarray:
    """All (horizon, D) windows inside each episode, every ``stride`` steps: shape (B, H, D)."""
    out = []
    for ep in np.split(actions, np.asarray(ends)[:-1]):
        if len(ep) < horizon:
            continue
        w = np.lib.stride_tricks.sliding_window_view(ep, horizon, axis=0)  # (T-H+1, D, H)
        out.append(np.swapaxes(w[::stride], 1, 2))
    return np.ascontiguousarray(np.concatenate(out, axis=0))


def quantize(chunks: np.ndarray, scale: float) -> np.ndarray:
    """Reference DCT + rounding: (B, H, D) -> (B, H*D) integer coefficients, row-major."""
    coeff = scipy.fft.dct(chunks, type=2, axis=1, norm="ortho")
    return np.around(coeff * scale).astype(np.int64).reshape(len(chunks), -1)


def train_fast_bpe(
    q: list[np.ndarray], min_token: int, vocab_size: int
) -> tuple[Tokenizer, int, int, int]:
    """Train a FAST byte-level BPE on integer chunks; returns (tokenizer, min q, max q, R)."""
    lo = int(min(int(c.min()) for c in q))
    hi = int(max(int(c.max()) for c in q))
    if lo < min_token:
        raise SystemExit(f"fitted minimum coefficient {lo} is below min_token {min_token}")
    if hi - min_token > vocab_size:
        raise SystemExit(f"range {min_token}..{hi} does not fit vocab_size {vocab_size}")
    alphabet_size = max(BYTE_LEVEL_ALPHABET, hi - min_token + 1)

    def strings():
        for c in q:
            yield "".join(map(chr, np.maximum(c - min_token, 0).astype(int)))

    # trim_offsets=True: how the committed tokenizer.json was written (offsets only, not ids).
    tok = new_bytelevel_bpe(trim_offsets=True)
    trainer = bpe_trainer(vocab_size, alphabet_size)
    tok.train_from_iterator(strings(), trainer=trainer, length=len(q))
    return tok, lo, hi, alphabet_size


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Build the bundled robosuite FAST demo tokenizer.")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--vocab-size", type=int, default=1024)
    p.add_argument("--stride", type=int, default=1, help="window stride in steps (default 1)")
    args = p.parse_args(argv)

    srcs = [args.data / f for f in FILES]
    missing = [str(s) for s in srcs if not s.is_file()]
    if missing:
        print(f"missing robosuite data: {missing}", file=sys.stderr)
        return 1

    norm_stats: dict[str, dict] = {}
    q_all: list[np.ndarray] = []
    horizon = None
    dims = []
    n_chunks = {}
    for src in srcs:
        z = np.load(src)
        actions, ends, fps = z["actions"], z["episode_ends"], int(z["fps"])
        stats = quantile_stats(actions)
        norm_stats[src.name] = {
            **stats,
            "fps": fps,
            "action_dim": int(actions.shape[1]),
            "dim_names": [str(s) for s in z["dim_names"]],
        }
        if horizon not in (None, fps):
            raise SystemExit("the robosuite files disagree on fps")
        horizon = fps
        dims.append(int(actions.shape[1]))
        normed = normalize(actions, stats["low"], stats["high"])
        chunks = chunks_of(normed, ends, fps, args.stride)
        n_chunks[src.name] = len(chunks)
        q_all.extend(quantize(chunks, SCALE))

    tok, lo, hi, alphabet_size = train_fast_bpe(q_all, MIN_TOKEN, args.vocab_size)
    vocab_size = tok.get_vocab_size()
    action_dim = dims[0] if len(set(dims)) == 1 else None

    tok_dir = args.out / "robosuite_fast"
    tok_dir.mkdir(parents=True, exist_ok=True)
    tok.save(str(tok_dir / "tokenizer.json"))
    write_processor_config(
        tok_dir,
        min_token=MIN_TOKEN,
        scale=SCALE,
        vocab_size=vocab_size,
        time_horizon=horizon,
        action_dim=action_dim,
    )

    for src in srcs:
        shutil.copyfile(src, args.out / src.name)
    norm = {
        "method": "x_norm = clip(2 * (x - low) / (high - low) - 1, -1, 1) per dimension, 0 where "
        "high == low; low/high = 1st/99th percentile (q01/q99), or min/max where q01 == q99",
        "files": norm_stats,
    }
    (args.out / "robosuite_norm.json").write_text(json.dumps(norm, indent=2) + "\n")

    lens = [len(tok.encode("".join(map(chr, c - MIN_TOKEN))).ids) for c in q_all]

    def fmt(v: list[float]) -> str:
        return ", ".join(f"{x:.6g}" for x in v)

    notice = NOTICE_TEMPLATE.format(
        license=ROBOSUITE_LICENSE,
        tok_version=tokenizers.__version__,
        np_version=np.__version__,
        scipy_version=scipy.__version__,
        scale=SCALE,
        vocab_arg=args.vocab_size,
        alphabet=alphabet_size,
        horizon=horizon,
        stride=args.stride,
        chunks=", ".join(f"{k}: {v}" for k, v in n_chunks.items()),
        min_token=MIN_TOKEN,
        lo=lo,
        hi=hi,
        vocab=vocab_size,
        action_dim="null (Lift has 7 dimensions, Wipe 6)" if action_dim is None else action_dim,
        mean_len=float(np.mean(lens)),
        max_len=max(lens),
        stats="\n".join(
            "| "
            + " | ".join([f"`{name}`"] + [fmt(s[k]) for k in ("q01", "q99", "low", "high")])
            + " |"
            for name, s in norm_stats.items()
        ),
    )
    (args.out / "NOTICE.md").write_text(notice)

    print(f"wrote {tok_dir} (vocab {vocab_size}, min_token {MIN_TOKEN}, alphabet {alphabet_size})")
    print(f"chunks {n_chunks}, coefficient range {lo}..{hi}")
    print(f"tokens per chunk: mean {np.mean(lens):.1f}, max {max(lens)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
