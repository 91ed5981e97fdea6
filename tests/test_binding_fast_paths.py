"""The bindings' fast paths give exactly what the general paths give.

``decode`` reads a list of lists of exact ints through the C API and takes ``encode_batch``'s
int32 arrays without a copy; ``encode`` takes native C-contiguous float arrays as they are. Each
is compared here with an input the same call reads another way (tuples, numpy ints, int64 or
uint64 arrays, non-contiguous or byte-swapped floats), on random ids (valid, out of range,
negative, beyond 64 bits) and random chunks.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import actok


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> None:
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def _padded(rows: list[list[int]], dtype: type) -> tuple[np.ndarray, np.ndarray]:
    width = max((len(r) for r in rows), default=0)
    ids = np.zeros((len(rows), width), dtype=dtype)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = row
    return ids, np.array([len(r) for r in rows], dtype=dtype)


@st.composite
def id_rows(draw, vocab_len: int):
    """Rows of ids: mostly valid, some out of range, negative or (rarely) beyond 64 bits."""
    valid = st.integers(0, vocab_len - 1)
    wrong = st.sampled_from([vocab_len, vocab_len + 7, -1, -(2**40), 2**63 - 1])
    ids = st.one_of(valid, valid, valid, wrong) if draw(st.booleans()) else valid
    return draw(st.lists(st.lists(ids, max_size=40), min_size=1, max_size=6))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_decode_fast_paths_agree(tok_case, data):
    tok = tok_case.tok
    rows = data.draw(id_rows(tok.vocab_len))
    h, d = data.draw(st.sampled_from([(1, 1), (2, 3), (10, 2), (5, 7)]))
    for on_error in ("pad", "zeros"):
        want = tok.decode(rows, h, d, on_error=on_error, return_valid=True)
        # Tuples of ints and numpy ints take the general reading.
        tuples = [tuple(r) for r in rows]
        _same(tok.decode(tuples, h, d, on_error=on_error, return_valid=True), want)
        numpy_ints = [[np.int64(i) for i in r] for r in rows]
        _same(tok.decode(numpy_ints, h, d, on_error=on_error, return_valid=True), want)
        fits32 = all(-(2**31) <= i < 2**31 for r in rows for i in r)
        for dtype in (np.int32, np.int64) if fits32 else (np.int64,):
            padded = _padded(rows, dtype)
            _same(tok.decode(padded, h, d, on_error=on_error, return_valid=True), want)
        prefix = tok.decode_prefix if on_error == "pad" else None
        if prefix is not None:
            try:
                want_prefix = prefix(rows, h, d, return_valid=True)
            except actok.DecodeError as err:
                want_error = str(err)
                for other in (tuples, _padded(rows, np.int64)):
                    try:
                        prefix(other, h, d, return_valid=True)
                    except actok.DecodeError as other_err:
                        assert str(other_err) == want_error
                    else:
                        raise AssertionError("the general path accepted what the fast one refused")
            else:
                _same(prefix(tuples, h, d, return_valid=True), want_prefix)
                if fits32:
                    _same(prefix(_padded(rows, np.int32), h, d, return_valid=True), want_prefix)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 6)),
        elements=st.floats(-1, 1),
    ),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_encode_array_fast_path_agrees(tok_case, x, dtype):
    tok = tok_case.tok
    x = x.astype(dtype)
    want = tok.encode(x, on_overflow="clip", check_shape=False)
    # A Fortran-ordered copy, a strided view and a byte-swapped copy are converted first.
    fortran = np.asfortranarray(x)
    wide = np.zeros(x.shape[:2] + (2 * x.shape[2],), dtype=x.dtype)
    wide[:, :, ::2] = x
    strided = wide[:, :, ::2]
    swapped = x.astype(x.dtype.newbyteorder())
    for other in (fortran, strided, swapped, x.tolist()):
        got = tok.encode(
            np.asarray(other, dtype=dtype) if isinstance(other, list) else other,
            on_overflow="clip",
            check_shape=False,
        )
        assert got == want
    ids, lengths = tok.encode_batch(x, on_overflow="clip", check_shape=False)
    assert [list(r[:n]) for r, n in zip(ids, lengths)] == want


def test_large_batches_decode_as_small_ones(tok_case):
    # Past 8 MB of output the decoder writes with non-temporal stores from a staging buffer:
    # the values must be those of the same chunks decoded in small batches.
    tok = tok_case.tok
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(0, 0.02, size=(1600, 50, 14)), axis=1).clip(-1, 1)
    ids = tok.encode(x, on_overflow="clip", check_shape=False)
    big, valid = tok.decode(ids, 50, 14, on_error="pad", return_valid=True)
    assert big.nbytes >= 8 << 20
    small = np.concatenate(
        [tok.decode(ids[i : i + 7], 50, 14, on_error="pad") for i in (0, 800, 1593)]
    )
    np.testing.assert_array_equal(small, np.concatenate([big[0:7], big[800:807], big[1593:1600]]))
    padded = tok.decode(tok.encode_batch(x, on_overflow="clip", check_shape=False), 50, 14)
    np.testing.assert_array_equal(padded, big)
    assert valid.all()
