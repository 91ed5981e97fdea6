"""Round-trip properties, padding, and interoperability of saved directories with ``tokenizers``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import scipy.fft
from conftest import CHUNK_COUNTS, TokCase, mixed_random_chunks
from fast_reference import load_reference, oracle_encode, reference_encode
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tokenizers import Tokenizer

import actok


@st.composite
def chunks(draw, max_h: int = 32, max_d: int = 10, bound: float = 1.0):
    h = draw(st.integers(1, max_h))
    d = draw(st.integers(1, max_d))
    b = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    elems = st.floats(-bound, bound, allow_nan=False, width=32 if dtype == np.float32 else 64)
    return draw(hnp.arrays(dtype, (b, h, d), elements=elems))


def representable(case: TokCase, x: np.ndarray) -> np.ndarray:
    return oracle_encode(case.ref, case.cfg, x).lossless


# --------------------------------------------------------------------------------------------
# decode(encode(x)) is within the quantization bound; encode(decode(t)) == t
# --------------------------------------------------------------------------------------------
@settings(max_examples=60)
@given(x=chunks())
def test_decode_encode_within_quantization_bound(tok_case, x):
    keep = representable(tok_case, x)
    x = x[keep]
    if not len(x):
        return
    _, h, d = x.shape
    ids = tok_case.tok.encode(x)
    y = tok_case.tok.decode(ids, h, d)
    x64 = x.astype(np.float64)
    # every DCT coefficient within 0.5/scale (+ fp slack) ...
    cx = scipy.fft.dct(x64, axis=1, norm="ortho")
    cy = scipy.fft.dct(y, axis=1, norm="ortho")
    slack = 1e-9 * (1 + np.abs(cx).max())
    assert np.abs(cx - cy).max() <= 0.5 / tok_case.scale + slack
    # ... so each chunk's L2 error is at most 0.5/scale * sqrt(H*D)
    err = np.linalg.norm((y - x64).reshape(len(x), -1), axis=1)
    assert (err <= 0.5 / tok_case.scale * np.sqrt(h * d) + slack).all()
    CHUNK_COUNTS["roundtrip: decode(encode(x))"] += len(x)


@settings(max_examples=60)
@given(x=chunks(bound=1.5))
def test_encode_decode_is_identity_on_canonical_tokens(tok_case, x):
    keep = representable(tok_case, x)
    x = x[keep]
    if not len(x):
        return
    _, h, d = x.shape
    t = tok_case.tok.encode(x)
    y = tok_case.tok.decode(t, h, d)
    assert tok_case.tok.encode(y) == t
    assert tok_case.tok.encode(y.astype(np.float64)) == reference_encode(
        tok_case.ref, tok_case.cfg, y
    )
    CHUNK_COUNTS["roundtrip: encode(decode(t))"] += len(x)


def test_roundtrip_real_data(tok_cases, real_windows):
    case = tok_cases["fastplus"]
    n = 0
    for _name, w in real_windows.items():
        w = w[:3000]
        h, d = w.shape[1:]
        t = case.tok.encode(w)
        y = case.tok.decode(t, h, d)
        err = np.linalg.norm((y - w).reshape(len(w), -1), axis=1)
        assert (err <= 0.5 / case.scale * np.sqrt(h * d) + 1e-9).all()
        assert case.tok.encode(y) == t
        n += len(w)
    CHUNK_COUNTS["roundtrip: real data"] += n


# --------------------------------------------------------------------------------------------
# encode_batch / padding
# --------------------------------------------------------------------------------------------
@settings(max_examples=40)
@given(
    x=chunks(max_h=20, max_d=6),
    pad_id=st.sampled_from([0, -1, 7, 2**31 - 1]),
    extra=st.integers(0, 5),
)
def test_encode_batch_padding(tok_case, x, pad_id, extra):
    x = x[representable(tok_case, x)]
    if not len(x):
        return
    _, h, d = x.shape
    seqs = tok_case.tok.encode(x)
    ids, lengths = tok_case.tok.encode_batch(x, pad_id=pad_id)
    longest = max(len(s) for s in seqs)
    assert ids.dtype == np.int32 and lengths.dtype == np.int32
    assert ids.shape == (len(x), longest) and lengths.shape == (len(x),)
    assert lengths.tolist() == [len(s) for s in seqs]
    for row, n, s in zip(ids, lengths, seqs):
        assert row[:n].tolist() == s
        assert (row[n:] == pad_id).all()
    # an explicit max_length pads further
    ids2, lengths2 = tok_case.tok.encode_batch(x, max_length=longest + extra, pad_id=pad_id)
    assert ids2.shape == (len(x), longest + extra)
    np.testing.assert_array_equal(ids2[:, :longest], ids)
    assert (ids2[:, longest:] == pad_id).all()
    np.testing.assert_array_equal(lengths2, lengths)
    # decode accepts the pair, ignoring the padding whatever pad_id is
    np.testing.assert_array_equal(
        tok_case.tok.decode((ids2, lengths2), h, d), tok_case.tok.decode(seqs, h, d)
    )
    # a max_length below the longest sequence is refused (never silently truncated)
    if longest > 0:
        with pytest.raises(ValueError):
            tok_case.tok.encode_batch(x, max_length=longest - 1)


def test_encode_batch_single_chunk_and_empty(tok_cases):
    case = tok_cases["s10_v1024"]
    x = mixed_random_chunks(np.random.default_rng(1), 1, 5, 3)[0] * 0.3
    ids, lengths = case.tok.encode_batch(x)
    assert ids.shape[0] == 1 and lengths.shape == (1,)
    assert ids[0, : lengths[0]].tolist() == case.tok.encode(x)[0]
    ids, lengths = case.tok.encode_batch(np.zeros((0, 5, 3)))
    assert ids.shape[0] == 0 and lengths.shape == (0,)
    assert case.tok.encode(np.zeros((0, 5, 3))) == []


# --------------------------------------------------------------------------------------------
# Interoperability with `tokenizers`
# --------------------------------------------------------------------------------------------
def _probe_chunks(case: TokCase) -> np.ndarray:
    rng = np.random.default_rng(42)
    x = np.concatenate([mixed_random_chunks(rng, 300, 10, 4) for _ in range(1)])
    return x[representable(case, x)]


def test_save_pretrained_loads_in_tokenizers(tok_case, tmp_path):
    out = tmp_path / "saved"
    tok_case.tok.save_pretrained(out)
    ref2, cfg2 = load_reference(out)
    assert isinstance(ref2, Tokenizer)
    for key in ("min_token", "scale", "vocab_size", "time_horizon", "action_dim"):
        assert cfg2.get(key) == tok_case.cfg.get(key), key
    assert ref2.get_vocab() == tok_case.ref.get_vocab()
    x = _probe_chunks(tok_case)
    want = reference_encode(tok_case.ref, tok_case.cfg, x)
    assert reference_encode(ref2, cfg2, x) == want
    # and the saved directory loads back in actok with the same behaviour
    again = actok.FastTokenizer.from_pretrained(out)
    assert again.encode(x) == want
    assert again.min_token == tok_case.tok.min_token and again.scale == tok_case.tok.scale


def test_tokenizers_directory_loads(tok_case):
    """Directories written by `tokenizers` (every fixture) load with the right properties."""
    t = tok_case.tok
    assert t.min_token == tok_case.cfg["min_token"]
    assert t.scale == tok_case.cfg["scale"]
    assert t.vocab_size == tok_case.cfg["vocab_size"]
    assert t.time_horizon is None and t.action_dim is None


def test_legacy_string_merges_load(tok_cases, legacy_merges_dir):
    case = tok_cases["fastplus"]
    legacy_ref = Tokenizer.from_file(str(legacy_merges_dir / "tokenizer.json"))
    legacy = actok.FastTokenizer.from_pretrained(legacy_merges_dir)
    x = _probe_chunks(case)
    want = reference_encode(case.ref, case.cfg, x)
    assert reference_encode(legacy_ref, case.cfg, x) == want
    assert legacy.encode(x) == want


def test_hf_layout_with_extra_files_and_shape(tok_cases, tmp_path):
    """Extra HF files are ignored; a config with a shape makes decode work without arguments."""
    case = tok_cases["fastplus"]
    d = tmp_path / "hf"
    shutil.copytree(case.path, d)
    (d / "tokenizer_config.json").write_text(json.dumps({"clean_up_tokenization_spaces": False}))
    (d / "special_tokens_map.json").write_text("{}")
    cfg = json.loads((d / "processor_config.json").read_text())
    cfg.update(time_horizon=10, action_dim=4, scale=float(cfg["scale"]))
    (d / "processor_config.json").write_text(json.dumps(cfg))
    t = actok.FastTokenizer.from_pretrained(str(d))
    assert t.time_horizon == 10 and t.action_dim == 4
    x = _probe_chunks(case)
    ids = t.encode(x)
    assert ids == reference_encode(case.ref, case.cfg, x)
    np.testing.assert_array_equal(t.decode(ids), case.tok.decode(ids, 10, 4))
    # explicit arguments win over the config (encoding another shape is asked for explicitly)
    y = x[:, :5, :].reshape(len(x), 10, 2)
    keep = representable(case, y)
    with pytest.raises(actok.ActokError, match=r"\(10, 2\).*\(10, 4\)"):
        t.encode(y[keep])
    np.testing.assert_array_equal(
        t.decode(t.encode(y[keep], check_shape=False), 10, 2),
        case.tok.decode(case.tok.encode(y[keep]), 10, 2),
    )
