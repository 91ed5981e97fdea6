"""Writes what the C ABI's examples, client test and benchmark compare against.

    python scripts/make_c_fixtures.py OUT_DIR

Everything comes from the installed Python package, so the C side is checked against Python:

- ``lift/``: a tokenizer fitted with a quantile normalizer on the robosuite Lift sample bundled
  with the package (7-D at 20 Hz, 1-second chunks of 20 steps), 64 of its chunks, the ids
  Python's ``encode`` gives for them as float64 and as float32, and Python's ``decode`` of the
  float64 ids. ``lift-no-normalizer/`` is the same directory without ``actok_normalizer.json``,
  which must refuse to load.
- ``bench-50x14/`` and ``bench-30x26/``: FAST-recipe tokenizers (scale 10, vocab 1024, no
  normalizer) fitted on 2,000 smooth chunks in [-1, 1] (benches/harness.py's recipe), with 256
  of them and their ids.

Each case directory holds ``tokenizer/`` and, for its ``B`` chunks of shape ``(H, D)``:
``chunks_f64.bin`` and ``chunks_f32.bin`` (row-major, little-endian), ``ids_f64.txt`` and
``ids_f32.txt`` (a line ``B H D``, then one line per chunk: the count, then the ids) and
``decoded_f64.bin`` (float64 ``(B, H, D)``).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

import actok

SAMPLE = Path(actok.__file__).resolve().parent / "data" / "robosuite_lift_7d_20hz.npz"


def write_ids(path: Path, ids: list[list[int]], shape: tuple[int, int, int]) -> None:
    lines = [f"{shape[0]} {shape[1]} {shape[2]}"]
    lines += [" ".join(str(v) for v in [len(seq), *seq]) for seq in ids]
    path.write_text("\n".join(lines) + "\n")


def write_case(out: Path, tok: actok.FastTokenizer, chunks: np.ndarray) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tok.save_pretrained(out / "tokenizer")
    chunks = np.ascontiguousarray(chunks, dtype="<f8")
    chunks32 = chunks.astype("<f4")
    batch, horizon, dim = chunks.shape
    ids = tok.encode(chunks)
    ids32 = tok.encode(chunks32)
    chunks.tofile(out / "chunks_f64.bin")
    chunks32.tofile(out / "chunks_f32.bin")
    write_ids(out / "ids_f64.txt", ids, chunks.shape)
    write_ids(out / "ids_f32.txt", ids32, chunks.shape)
    decoded = tok.decode(ids, time_horizon=horizon, action_dim=dim)
    np.ascontiguousarray(decoded, dtype="<f8").tofile(out / "decoded_f64.bin")


def smooth_chunks(n: int, horizon: int, dim: int, seed: int) -> np.ndarray:
    """Smooth action chunks in [-1, 1], the recipe of ``smooth_chunks`` in benches/harness.py
    (a few random sinusoids plus a smoothed walk), so the latencies compare with its tables."""
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    episodes = actok.read_episodes(SAMPLE)
    chunks = actok.chunk_episodes(episodes, horizon=20).astype(np.float64)
    # The reference placement and min_frequency, as these fixtures were made before the fit
    # chose placements: the client test needs chunks of more than one token (with the placement
    # chosen from data, a still chunk of Lift is a single token).
    pinned = {"placement": "reference", "min_frequency": 2}
    tok = actok.FastTokenizer.fit(chunks, scale=10, vocab_size=512, normalizer="quantile", **pinned)
    picked = np.random.default_rng(0).choice(len(chunks), 64, replace=False)
    write_case(out / "lift", tok, chunks[np.sort(picked)])
    broken = out / "lift-no-normalizer"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(out / "lift" / "tokenizer", broken)
    (broken / "actok_normalizer.json").unlink()

    for horizon, dim in [(50, 14), (30, 26)]:
        smooth = smooth_chunks(2000, horizon, dim, seed=horizon)
        tok = actok.FastTokenizer.fit(smooth, scale=10, vocab_size=1024, **pinned)
        write_case(out / f"bench-{horizon}x{dim}", tok, smooth[:256])
    print(f"fixtures written to {out}")


if __name__ == "__main__":
    main()
