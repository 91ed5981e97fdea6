"""Writes what the C ABI's examples, client test and benchmark compare against.

    python scripts/make_c_fixtures.py OUT_DIR

Everything comes from the installed Python package, so the C side is checked against Python:

- ``lift/``: a tokenizer fitted with a quantile normalizer on the robosuite Lift sample bundled
  with the package (7-D at 20 Hz, 1-second chunks of 20 steps), 64 of its chunks, the ids
  Python's ``encode`` gives for them as float64 and as float32, and Python's ``decode`` of the
  float64 ids. ``lift-no-normalizer/`` is the same directory without ``actok_normalizer.json``,
  which must refuse to load.
- ``bench-50x14/`` and ``bench-30x26/``: FAST-recipe tokenizers (scale 10, vocab 1024, no
  normalizer) fitted on smooth random walks in [-1, 1], with 256 chunks and their ids.

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


def random_walks(rng: np.random.Generator, n: int, horizon: int, dim: int) -> np.ndarray:
    steps = rng.normal(0, 0.05, (n, horizon, dim))
    return np.cumsum(steps, axis=1).clip(-1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    episodes = actok.read_episodes(SAMPLE)
    chunks = actok.chunk_episodes(episodes, horizon=20).astype(np.float64)
    tok = actok.FastTokenizer.fit(chunks, scale=10, vocab_size=512, normalizer="quantile")
    picked = np.random.default_rng(0).choice(len(chunks), 64, replace=False)
    write_case(out / "lift", tok, chunks[np.sort(picked)])
    broken = out / "lift-no-normalizer"
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(out / "lift" / "tokenizer", broken)
    (broken / "actok_normalizer.json").unlink()

    rng = np.random.default_rng(1)
    for horizon, dim in [(50, 14), (30, 26)]:
        walks = random_walks(rng, 2000, horizon, dim)
        tok = actok.FastTokenizer.fit(walks, scale=10, vocab_size=1024)
        write_case(out / f"bench-{horizon}x{dim}", tok, walks[:256])
    print(f"fixtures written to {out}")


if __name__ == "__main__":
    main()
