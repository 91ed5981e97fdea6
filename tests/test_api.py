"""Public API behaviour: input layouts and dtypes, shapes, padding, pickling, save/load."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

import actok

H, D = 20, 7


@pytest.fixture(scope="module")
def tok() -> actok.FastTokenizer:
    return actok.FastTokenizer.from_pretrained(
        os.path.join(os.path.dirname(actok.__file__), "data", "robosuite_fast")
    )


@pytest.fixture(scope="module")
def chunks() -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.linspace(0.0, 1.0, H)[None, :, None]
    return np.sin(2 * np.pi * rng.uniform(0.2, 2, (64, 1, D)) * t + rng.uniform(0, 6, (64, 1, D)))


def test_public_names():
    for name in actok.__all__:
        assert hasattr(actok, name), name
    assert issubclass(actok.ActokError, ValueError)
    for cls in (actok.EncodeError, actok.DecodeError, actok.LoadError):
        assert issubclass(cls, actok.ActokError)


def test_single_chunk_gives_one_list(tok, chunks):
    assert tok.encode(chunks[0]) == tok.encode(chunks[:1])
    assert tok(chunks[0]) == tok.encode(chunks[0])


@pytest.mark.parametrize(
    "layout",
    ["fortran", "strided", "negative", "big_endian", "list", "float32_upcast"],
)
def test_any_layout_gives_the_same_ids(tok, chunks, layout):
    want = tok.encode(chunks)
    if layout == "fortran":
        x = np.asfortranarray(chunks)
    elif layout == "strided":
        wide = np.zeros((64, H, 2 * D))
        wide[:, :, ::2] = chunks
        x = wide[:, :, ::2]
    elif layout == "negative":
        want = tok.encode(np.ascontiguousarray(chunks[::-1]))
        x = chunks[::-1]
    elif layout == "big_endian":
        x = chunks.astype(">f8")
    elif layout == "list":
        x = chunks.tolist()
    else:
        x32 = chunks.astype(np.float32)
        want = tok.encode(x32.astype(np.float64))
        x = x32
    assert tok.encode(x) == want


def test_integer_input_is_exact(tok):
    x = np.zeros((2, H, D), dtype=np.int64)
    assert tok.encode(x) == tok.encode(x.astype(np.float64))


@pytest.mark.parametrize("shape", [(), (5,), (1, 2, 3, 4)])
def test_wrong_ndim_is_a_clear_error(tok, shape):
    with pytest.raises(actok.ActokError, match=r"\(H, D\) or \(B, H, D\)"):
        tok.encode(np.zeros(shape))


@pytest.mark.parametrize("dtype", [np.complex128, object, "U3"])
def test_unsupported_dtypes_are_refused(tok, dtype):
    with pytest.raises(actok.ActokError, match="dtype"):
        tok.encode(np.zeros((H, D), dtype=dtype))


def test_empty_batch(tok):
    assert tok.encode(np.zeros((0, H, D))) == []
    ids, lengths = tok.encode_batch(np.zeros((0, H, D)))
    assert ids.shape == (0, 0) and lengths.shape == (0,)
    assert tok.decode([], H, D).shape == (0, H, D)


def test_encode_batch_pads_and_never_truncates(tok, chunks):
    lists = tok.encode(chunks)
    ids, lengths = tok.encode_batch(chunks, pad_id=-7)
    assert ids.dtype == np.int32 and lengths.dtype == np.int32
    assert ids.shape == (len(chunks), max(map(len, lists)))
    for row, n, want in zip(ids, lengths, lists):
        assert row[:n].tolist() == want
        assert (row[n:] == -7).all()
    wide, _ = tok.encode_batch(chunks, max_length=ids.shape[1] + 5)
    assert wide.shape[1] == ids.shape[1] + 5
    with pytest.raises(actok.ActokError, match="max_length"):
        tok.encode_batch(chunks, max_length=ids.shape[1] - 1)
    np.testing.assert_array_equal(tok.decode((ids, lengths), H, D), tok.decode(lists, H, D))


def test_decode_accepts_arrays_and_lists(tok, chunks):
    lists = tok.encode(chunks[:4])
    want = tok.decode(lists, H, D)
    assert want.dtype == np.float64 and want.shape == (4, H, D)
    np.testing.assert_array_equal(tok.decode([np.array(s) for s in lists], H, D), want)
    np.testing.assert_array_equal(tok.decode(tuple(lists), H, D), want)
    np.testing.assert_array_equal(tok.decode([[np.int32(i) for i in s] for s in lists], H, D), want)


def test_decode_shape_comes_from_arguments_or_config(tok, chunks):
    ids = tok.encode(chunks[:2])
    assert tok.time_horizon == H and tok.action_dim is None
    with pytest.raises(actok.ActokError, match="action_dim"):
        tok.decode(ids)
    assert tok.decode(ids, action_dim=D).shape == (2, H, D)


def test_decode_rejects_non_integer_ids(tok):
    with pytest.raises(actok.DecodeError, match="chunk 1.*position 0"):
        tok.decode([[1], [1.5]], 1, 1)
    with pytest.raises(actok.DecodeError, match="chunk 0.*not in the vocabulary"):
        tok.decode([[2**70]], 1, 1)
    out, valid = tok.decode([[2**70]], 1, 1, on_error="zeros", return_valid=True)
    assert not valid[0] and (out == 0).all()
    with pytest.raises(actok.ActokError):
        tok.decode("abc", 1, 1)


def test_pickle_round_trip(tok, chunks):
    again = pickle.loads(pickle.dumps(tok))
    assert again.encode(chunks) == tok.encode(chunks)
    assert repr(again) == repr(tok)


def test_save_then_load_is_identical(tok, chunks, tmp_path):
    tok.save_pretrained(tmp_path / "saved")
    again = actok.FastTokenizer.from_pretrained(tmp_path / "saved")
    assert again.encode(chunks) == tok.encode(chunks)
    assert (again.scale, again.min_token, again.vocab_size) == (
        tok.scale,
        tok.min_token,
        tok.vocab_size,
    )
    assert (again.time_horizon, again.action_dim) == (tok.time_horizon, tok.action_dim)


def test_missing_directory_is_a_load_error(tmp_path):
    with pytest.raises(actok.LoadError, match="does-not-exist"):
        actok.FastTokenizer.from_pretrained(tmp_path / "does-not-exist")


def test_constructor_is_not_public():
    with pytest.raises(TypeError, match="from_pretrained"):
        actok.FastTokenizer(object())
