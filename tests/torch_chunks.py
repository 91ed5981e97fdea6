"""A small map-style torch ``Dataset`` for the DataLoader tests, in its own module so that a
worker started by ``spawn`` (which imports the module to unpickle the dataset) imports numpy and
torch only, not the test module's pytest, hypothesis and reference-tokenizer imports."""

from __future__ import annotations

import numpy as np
import torch

H, D = 20, 7  # the bundled tokenizer's horizon; 7 dimensions as in its training data


def smooth_chunks(n: int, seed: int = 0) -> np.ndarray:
    """Smooth ``(n, H, D)`` chunks in [-1, 1] that the bundled tokenizer encodes without
    overflow (sequences of different lengths, so padding is exercised)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, H)[None, :, None]
    freq = rng.uniform(0.2, 2.0, (n, 1, D))
    phase = rng.uniform(0.0, 6.3, (n, 1, D))
    return np.sin(2 * np.pi * freq * t + phase)


class Chunks(torch.utils.data.Dataset):
    """Chunks as dict samples, made from their index (the same in every process)."""

    def __init__(self, n: int) -> None:
        self.x = smooth_chunks(n, seed=7).astype(np.float32)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"action": torch.from_numpy(self.x[i]), "index": i}
