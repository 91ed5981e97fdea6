"""``actok.integrations.torch``: padded ``torch.long`` ids from action chunks and back, in a real
``DataLoader`` with two workers started by ``fork`` and by ``spawn``.

The ids must be exactly :meth:`FastTokenizer.encode`'s, whatever the padding side, and the
workers' batches exactly the main process's. The fork case forks after actok's thread pool is
running in the parent (the pool's threads do not survive a fork; a worker that waited on them
would hang): every wait is bounded by the ``DataLoader``'s ``timeout``, so a deadlock fails the
test instead of hanging the run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_module
from hypothesis import given, settings
from hypothesis import strategies as st

import actok

torch = require_module("torch")
integration = require_module("actok.integrations.torch")
ActionCollator = integration.ActionCollator
from torch_chunks import Chunks, D, H, smooth_chunks  # noqa: E402  (imports torch)

decode_ids = integration.decode_ids
encode_actions = integration.encode_actions

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
TIMEOUT = 60  # seconds a DataLoader waits for one batch before failing


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return actok.FastTokenizer.from_pretrained(BUNDLED)


def rows(ids, mask) -> list[list[int]]:
    """Each row's tokens, read through the mask (either padding side)."""
    return [r[m.bool()].tolist() for r, m in zip(ids, mask)]


# ------------------------------------------------------------------------------------------------
# encode / decode
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["right", "left"])
def test_ids_are_encodes_padded_on_either_side(tok, side):
    x = smooth_chunks(9)
    ids, mask = encode_actions(tok, x, pad_id=-7, padding_side=side)
    assert ids.dtype == torch.long and mask.dtype == torch.long and ids.shape == mask.shape
    expected = tok.encode(x)
    assert rows(ids, mask) == expected
    assert ids.shape[1] == max(map(len, expected))
    assert (ids[mask == 0] == -7).all()
    lengths = mask.sum(dim=1)
    positions = torch.arange(ids.shape[1])[None, :]
    if side == "right":
        assert torch.equal(mask.bool(), positions < lengths[:, None])
    else:
        assert torch.equal(mask.bool(), positions >= ids.shape[1] - lengths[:, None])


@pytest.mark.parametrize("side", ["right", "left"])
def test_decode_inverts_encode_from_mask_or_lengths(tok, side):
    x = smooth_chunks(6, seed=1)
    collate = ActionCollator(tok, padding_side=side, pad_id=0, action_dim=D)
    out = collate(x)
    expected = torch.from_numpy(tok.decode(tok.encode(x), H, D))
    ids, mask = out["input_ids"], out["attention_mask"]
    assert torch.equal(collate.decode(ids, mask), expected)
    assert torch.equal(collate.decode(ids, lengths=mask.sum(dim=1)), expected)
    actions, valid = collate.decode(ids, mask, dtype=torch.float32, return_valid=True)
    assert actions.dtype == torch.float32 and valid.all()
    assert torch.equal(actions, expected.float())


def test_max_length_fixes_the_width_and_refuses_longer(tok):
    x = smooth_chunks(4, seed=2)
    longest = max(map(len, tok.encode(x)))
    ids, mask = encode_actions(tok, x, max_length=longest + 5)
    assert ids.shape == (4, longest + 5) and rows(ids, mask) == tok.encode(x)
    with pytest.raises(actok.ActokError, match="more than max_length"):  # nothing is truncated
        encode_actions(tok, x, max_length=longest - 1)


def test_on_overflow_reaches_the_core(tok):
    x = smooth_chunks(2) * 1000.0  # far outside what the vocabulary represents
    with pytest.raises(actok.EncodeError):
        encode_actions(tok, x)
    ids, mask = encode_actions(tok, x, on_overflow="clip")
    assert rows(ids, mask) == tok.encode(x, on_overflow="clip")


def test_collates_a_list_of_tensors_and_dict_samples(tok):
    x = smooth_chunks(5, seed=3)
    plain = ActionCollator(tok)([torch.from_numpy(c).float() for c in x])
    assert rows(plain["input_ids"], plain["attention_mask"]) == tok.encode(x.astype(np.float32))
    samples = [{"action": c, "index": i, "task": f"t{i}"} for i, c in enumerate(x)]
    out = ActionCollator(tok, key="action", padding_side="left")(samples)
    assert sorted(out) == ["attention_mask", "index", "input_ids", "task"]
    assert torch.equal(out["index"], torch.arange(5)) and out["task"] == [f"t{i}" for i in range(5)]
    assert rows(out["input_ids"], out["attention_mask"]) == tok.encode(x)


def test_a_list_of_chunks_is_a_batch(tok):
    x = smooth_chunks(3, seed=5)
    ids, mask = encode_actions(tok, [torch.from_numpy(c) for c in x])
    assert rows(ids, mask) == tok.encode(x)
    ids, mask = encode_actions(tok, list(x), padding_side="left")
    assert rows(ids, mask) == tok.encode(x)


def test_bfloat16_and_grad_tensors_are_read(tok):
    x = torch.from_numpy(smooth_chunks(3, seed=4)).bfloat16().requires_grad_(True)
    ids, mask = encode_actions(tok, x)
    assert rows(ids, mask) == tok.encode(x.detach().float().numpy())


def test_errors_name_the_problem(tok):
    on_meta = torch.zeros(2, H, D, device="meta")  # a non-CPU device without a GPU
    with pytest.raises(actok.ActokError, match=r"tensor on meta.*\.cpu\(\)"):
        encode_actions(tok, on_meta)
    with pytest.raises(actok.ActokError, match="padding_side must be 'right' or 'left'"):
        ActionCollator(tok, padding_side="middle")
    with pytest.raises(actok.ActokError, match=r"actions\[1\] has shape \(10, 7\)"):
        ActionCollator(tok)([np.zeros((H, D)), np.zeros((10, D))])
    with pytest.raises(actok.ActokError, match="pass key="):
        ActionCollator(tok)([{"action": np.zeros((H, D))}])
    with pytest.raises(actok.ActokError, match="sample 1 has no 'action' entry"):
        ActionCollator(tok, key="action")([{"action": np.zeros((H, D))}, {"a": 1}])
    ids = torch.tensor([[5, 6, 7], [5, 6, 7]])
    gapped = torch.tensor([[1, 1, 1], [1, 0, 1]])
    with pytest.raises(actok.ActokError, match="attention_mask row 1 has gaps"):
        decode_ids(tok, ids, gapped, action_dim=D)
    with pytest.raises(actok.ActokError, match=r"lengths\[0\] = 4 is outside \[0, 3\]"):
        decode_ids(tok, ids, lengths=torch.tensor([4, 1]), action_dim=D)
    with pytest.raises(actok.ActokError, match="not both"):
        decode_ids(tok, ids, gapped, lengths=torch.tensor([3, 3]), action_dim=D)
    with pytest.raises(actok.ActokError, match="integer tensor"):
        decode_ids(tok, ids.float(), action_dim=D)
    with pytest.raises(actok.DecodeError):  # a model's bad output is the core's DecodeError
        decode_ids(tok, ids, torch.ones_like(ids), action_dim=D)


@settings(max_examples=40)
@given(
    n=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    side=st.sampled_from(["right", "left"]),
    extra=st.integers(0, 4),
    pad_id=st.integers(-5, 2000),
)
def test_round_trip_matches_the_tokenizer(tok, n, seed, side, extra, pad_id):
    x = smooth_chunks(n, seed=seed)
    expected = tok.encode(x)
    width = max(map(len, expected)) + extra
    ids, mask = encode_actions(tok, x, max_length=width, pad_id=pad_id, padding_side=side)
    assert rows(ids, mask) == expected
    back = decode_ids(tok, ids, mask, action_dim=D)
    via_lengths = decode_ids(tok, ids, lengths=mask.sum(1), padding_side=side, action_dim=D)
    reference = torch.from_numpy(tok.decode(expected, H, D))
    assert torch.equal(back, reference) and torch.equal(via_lengths, reference)


# ------------------------------------------------------------------------------------------------
# a real DataLoader, two workers, fork and spawn
# ------------------------------------------------------------------------------------------------
# 256 chunks of 20 x 7 per batch: above the size from which actok spreads a batch over its pool,
# so the workers run the pool, not just the calling thread.
BATCH = 256


def thread_names() -> set[str] | None:
    """This process's thread names (Linux), or None where /proc does not list them."""
    task = Path("/proc/self/task")
    if not task.is_dir():
        return None
    names = set()
    for t in task.iterdir():
        try:
            names.add((t / "comm").read_text().strip())
        except OSError:  # the thread ended meanwhile
            pass
    return names


def batches(loader) -> list[dict]:
    return [{k: v.clone() for k, v in b.items()} for b in loader]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_dataloader_workers_match_the_main_process(tok, method):
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    data = Chunks(4 * BATCH)
    collate = ActionCollator(tok, key="action", padding_side="left", max_length=128)
    actok.set_num_threads(2)
    try:
        # The pool exists in this process before the workers start (a fork copies it dead).
        tok.encode_batch(data.x)
        names = thread_names()
        assert names is None or any(n.startswith("actok-") for n in names), names
        main = batches(torch.utils.data.DataLoader(data, batch_size=BATCH, collate_fn=collate))
        loader = torch.utils.data.DataLoader(
            data,
            batch_size=BATCH,
            collate_fn=collate,
            num_workers=2,
            multiprocessing_context=method,
            timeout=TIMEOUT,
        )
        workers = batches(loader)
    finally:
        actok.set_num_threads(None)
    assert len(workers) == len(main) == 4
    for got, want in zip(workers, main):
        assert got.keys() == want.keys()
        for k in want:
            assert torch.equal(got[k], want[k]), k
    ids = torch.cat([b["input_ids"] for b in main])
    mask = torch.cat([b["attention_mask"] for b in main])
    assert rows(ids, mask) == tok.encode(data.x)
