"""``FastTokenizer.fit(raw, normalizer=...)`` normalizes in the core exactly as ``encode`` does
(per value, in float64, before the DCT), also for float32 input, where normalizing in Python
first would round the normalized values back to float32."""

from __future__ import annotations

import numpy as np
import pytest

import actok


def _raw_chunks(dtype) -> np.ndarray:
    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.normal(0, 0.05, (400, 12, 3)), axis=1) * [1.0, 30.0, 0.01]
    return (walk + [0.0, 100.0, -2.0]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_normalizes_like_encode(dtype):
    raw = _raw_chunks(dtype)
    norm = actok.Normalizer.fit(raw, kind="quantile")
    fitted = actok.FastTokenizer.fit(raw, 10, 256, normalizer=norm)
    # The same fit on the chunks normalized in float64, the way encode normalizes them.
    by_hand = actok.FastTokenizer.fit(norm.apply(raw.astype(np.float64)), 10, 256)
    assert fitted._inner.tokenizer_json() == by_hand._inner.tokenizer_json()
    assert fitted.min_token == by_hand.min_token
    assert fitted.normalizer == norm
    # And what fit saw is what encode computes: the raw chunks encode to the same ids as the
    # float64-normalized chunks through the bare tokenizer.
    bare = fitted.with_normalizer(None)
    assert fitted.encode(raw) == bare.encode(norm.apply(raw.astype(np.float64)))


def test_fit_refuses_a_normalizer_of_another_dimension():
    raw = _raw_chunks(np.float64)
    other = actok.Normalizer.fit(np.zeros((5, 2)) + np.arange(2), kind="minmax")
    with pytest.raises(actok.ActokError, match="chunks have 3 dimensions but the normalizer"):
        actok.FastTokenizer.fit(raw, normalizer=other)
