"""``actok.integrations.apply_mask`` on numpy arrays, torch tensors and JAX arrays."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import require_module

import actok
from actok.integrations import apply_mask


def _case(rng, shape=(3, 11), dtype=np.float32):
    logits = rng.normal(size=shape).astype(dtype)
    mask = rng.random(shape) < 0.4
    return logits, mask


def _expected(logits, mask):
    return np.where(mask, logits, -np.inf)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 5), (4, 33), (17,)])
def test_numpy_in_place(dtype, shape):
    rng = np.random.default_rng(0)
    logits, mask = _case(rng, shape, dtype)
    want = _expected(logits, mask)
    out = apply_mask(logits, mask)
    assert out is logits
    np.testing.assert_array_equal(logits, want)
    assert logits.dtype == dtype


def test_numpy_all_false_row_and_all_true_row():
    logits = np.zeros((2, 4))
    mask = np.array([[False] * 4, [True] * 4])
    apply_mask(logits, mask)
    assert np.isneginf(logits[0]).all() and (logits[1] == 0).all()


def test_numpy_non_contiguous_view():
    base = np.arange(40, dtype=np.float64).reshape(4, 10)
    view = base[:, ::2]
    mask = np.zeros(view.shape, dtype=bool)
    mask[:, 0] = True
    apply_mask(view, mask)
    assert np.isneginf(base[:, 2::2]).all() and (base[:, 1::2] >= 0).all()
    np.testing.assert_array_equal(base[:, 0], [0, 10, 20, 30])


@pytest.mark.parametrize(
    ("logits", "mask", "message"),
    [
        (
            np.zeros((2, 5)),
            np.ones((2, 4), bool),
            r"mask has shape \(2, 4\) but logits have shape \(2, 5\)",
        ),
        (
            np.zeros((2, 5)),
            np.ones((5,), bool),
            r"mask has shape \(5,\) but logits have shape \(2, 5\)",
        ),
        (
            np.zeros((2, 3, 5)),
            np.ones((2, 3, 5), bool),
            r"shape \(batch, vocab\) or \(vocab,\), got shape \(2, 3, 5\)",
        ),
        (
            np.zeros((2, 5)),
            np.ones((2, 5), np.int8),
            "mask must be a boolean array .* got dtype int8",
        ),
        (
            np.zeros((2, 5), np.int64),
            np.ones((2, 5), bool),
            "floating point to hold -inf, got dtype int64",
        ),
        (
            [[0.0, 1.0]],
            np.ones((1, 2), bool),
            "numpy array, a torch tensor or a JAX array .* builtins.list",
        ),
    ],
)
def test_numpy_errors(logits, mask, message):
    with pytest.raises(actok.ActokError, match=message):
        apply_mask(logits, mask)


def test_numpy_read_only_refused():
    logits = np.zeros((1, 3))
    logits.flags.writeable = False
    with pytest.raises(actok.ActokError, match="read-only"):
        apply_mask(logits, np.ones((1, 3), bool))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64"])
@pytest.mark.parametrize("mask_kind", ["numpy", "torch"])
def test_torch_in_place(dtype, mask_kind):
    torch = require_module("torch")
    rng = np.random.default_rng(1)
    logits_np, mask = _case(rng, (5, 64), np.float32)
    logits = torch.from_numpy(logits_np.copy()).to(getattr(torch, dtype))
    before = logits.clone()
    m = torch.from_numpy(mask) if mask_kind == "torch" else mask
    out = apply_mask(logits, m)
    assert out is logits
    mt = torch.from_numpy(mask)
    assert torch.isneginf(logits[~mt]).all()
    assert torch.equal(logits[mt], before[mt])
    # masked logits sample only allowed ids
    probs = torch.softmax(logits.float(), dim=-1)
    assert float(probs[~mt].sum()) == 0.0


def test_torch_errors():
    torch = require_module("torch")
    with pytest.raises(
        actok.ActokError, match=r"mask has shape \(2, 3\) but logits have shape \(2, 4\)"
    ):
        apply_mask(torch.zeros(2, 4), np.ones((2, 3), bool))
    with pytest.raises(actok.ActokError, match="boolean tensor .* torch.uint8"):
        apply_mask(torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.uint8))
    with pytest.raises(actok.ActokError, match="floating point .* torch.int64"):
        apply_mask(torch.zeros(2, 4, dtype=torch.long), np.ones((2, 4), bool))


@pytest.mark.parametrize("mask_kind", ["numpy", "jax"])
def test_jax_returns_new_array(mask_kind):
    jax = require_module("jax")
    jnp = jax.numpy
    rng = np.random.default_rng(2)
    logits_np, mask = _case(rng, (3, 50), np.float32)
    logits = jnp.asarray(logits_np)
    m = jnp.asarray(mask) if mask_kind == "jax" else mask
    out = apply_mask(logits, m)
    np.testing.assert_array_equal(np.asarray(out), _expected(logits_np, mask))
    np.testing.assert_array_equal(np.asarray(logits), logits_np)  # immutable: unchanged
    assert out.dtype == logits.dtype


def test_jax_under_jit():
    jax = require_module("jax")
    rng = np.random.default_rng(3)
    logits_np, mask = _case(rng, (2, 20), np.float32)
    out = jax.jit(apply_mask)(jax.numpy.asarray(logits_np), jax.numpy.asarray(mask))
    np.testing.assert_array_equal(np.asarray(out), _expected(logits_np, mask))


def test_jax_errors():
    jax = require_module("jax")
    jnp = jax.numpy
    with pytest.raises(
        actok.ActokError, match=r"mask has shape \(1, 3\) but logits have shape \(1, 4\)"
    ):
        apply_mask(jnp.zeros((1, 4)), np.ones((1, 3), bool))
    with pytest.raises(actok.ActokError, match="floating point"):
        apply_mask(jnp.zeros((1, 4), dtype=jnp.int32), np.ones((1, 4), bool))
