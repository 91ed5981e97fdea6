"""Code written against the Hugging Face FAST processor runs unchanged (issue 15): torch CPU
tensors, nested lists and lists of arrays in ``tok(actions)`` and ``tok.decode(...)``, and the
processor's attributes. A tensor on another device is refused, naming it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

import actok

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
H, D = 20, 7


@pytest.fixture(scope="module")
def torch():
    return require_module("torch")


@pytest.fixture(scope="module")
def tok():
    return actok.FastTokenizer.from_pretrained(BUNDLED)


@pytest.fixture(scope="module")
def chunks():
    steps = np.random.default_rng(7).normal(0, 0.1, (5, H, D))
    return np.cumsum(steps, axis=1).clip(-1, 1)


def test_processor_attributes_are_readable(tok):
    config = json.loads((BUNDLED / "processor_config.json").read_text())
    for name in ("scale", "min_token", "vocab_size", "time_horizon", "action_dim"):
        assert getattr(tok, name) == config[name], name


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_encode_takes_torch_cpu_tensors(tok, chunks, torch, dtype):
    tensor = torch.tensor(chunks).to(getattr(torch, dtype))
    # What the tensor holds, as numpy (bfloat16 widened exactly to float32).
    expected = tok.encode(tensor.float().numpy() if dtype == "bfloat16" else tensor.numpy())
    assert tok(tensor) == expected
    assert tok(tensor[0]) == expected[:1]
    ids, lengths = tok.encode_batch(tensor)
    assert [list(row[:n]) for row, n in zip(ids, lengths)] == expected


def test_encode_takes_tensors_that_require_grad(tok, chunks, torch):
    tensor = torch.tensor(chunks, requires_grad=True)
    assert tok(tensor) == tok(chunks)
    assert tok([tensor[0], tensor[1]]) == tok(chunks[:2])


def test_encode_takes_nested_lists_and_lists_of_arrays(tok, chunks):
    expected = tok(chunks)
    assert tok(chunks.tolist()) == expected
    assert tok(list(chunks)) == expected
    assert tok([c.astype(np.float32) for c in chunks]) == tok(chunks.astype(np.float32))
    assert tok(chunks[0].tolist()) == expected[:1]


def test_decode_takes_torch_tensors(tok, chunks, torch):
    ids, lengths = tok.encode_batch(chunks)
    expected = tok.decode((ids, lengths), action_dim=D)
    full = [row[:n] for row, n in zip(ids, lengths)]
    np.testing.assert_array_equal(
        tok.decode((torch.tensor(ids), torch.tensor(lengths)), action_dim=D), expected
    )
    np.testing.assert_array_equal(
        tok.decode([torch.tensor(r, dtype=torch.long) for r in full], action_dim=D), expected
    )
    # A 2-D tensor of equal-length rows (generation output without padding).
    same = tok.encode(np.repeat(chunks[:1], 3, axis=0))
    np.testing.assert_array_equal(
        tok.decode(torch.tensor(same), action_dim=D),
        tok.decode(same, action_dim=D),
    )


def test_tensors_on_another_device_are_refused_naming_it(tok, torch):
    actions = torch.empty((2, H, D), device="meta")
    with pytest.raises(actok.ActokError, match=r"device meta: move it to the CPU first"):
        tok(actions)
    ids = torch.empty((2, 10), dtype=torch.long, device="meta")
    with pytest.raises(actok.ActokError, match=r"tokens is a torch tensor on device meta"):
        tok.decode(ids, action_dim=D)
    with pytest.raises(actok.ActokError, match=r"tokens\[0\] is a torch tensor on device meta"):
        tok.decode([ids[0]], action_dim=D)


def test_importing_actok_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, actok; actok.FastTokenizer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out
