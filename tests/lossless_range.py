"""The lossless alphabet's documented range policy, recomputed with numpy (the oracle for the
tests of ``FastTokenizer.fit``'s coefficient range; docs/semantics.md#lossless-alphabet)."""

from __future__ import annotations

import math

import numpy as np
from fast_reference import quantize


def lossless_range(
    chunks: np.ndarray, scale: float, clipped_peak: float | None = None
) -> tuple[int, int]:
    """``[lo - below, hi + above]`` for normalized ``chunks``: the fitted extremes ``lo``/``hi``
    widened by the margin ``max(1, ceil((hi - lo) / 10))`` on each side, but, when a clipping
    normalizer bounds every value to ``[-clipped_peak, clipped_peak]``, not beyond
    ``±ceil(scale * clipped_peak * sqrt(H))``, the largest coefficient such chunks can reach."""
    chunks = np.asarray(chunks, dtype=np.float64)
    q = quantize(chunks, scale)
    lo, hi = int(q.min()), int(q.max())
    margin = max(1, math.ceil((hi - lo) / 10))
    if clipped_peak is None:
        return lo - margin, hi + margin
    bound = math.ceil(scale * clipped_peak * math.sqrt(chunks.shape[1]))
    return lo - max(0, min(margin, lo + bound)), hi + max(0, min(margin, bound - hi))
