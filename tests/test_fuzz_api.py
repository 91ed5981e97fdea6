"""Property-based fuzzing of the public API with hypothesis: arbitrary arrays, id lists and keyword
arguments thrown at ``FastTokenizer.encode`` / ``__call__`` / ``encode_batch`` / ``decode``.

Whatever comes in, the only exceptions that may come out are :class:`actok.ActokError`
subclasses (a wrong value) and ``TypeError`` (a Python object of the wrong type) — never a
``PanicException``, ``ValueError``, ``OverflowError`` or anything else. Whatever succeeds must be
consistent: an encode decodes back within ``0.5·√H/scale`` per column (the orthonormal DCT keeps
each column's rounding error, at most 0.5/scale per coefficient, at the same 2-norm),
``__call__`` equals ``encode``, ``encode_batch`` holds the same ids padded, and a decode has the
requested shape and finite values.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import bundled_universal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import actok

BUNDLED = Path(actok.__file__).parent / "data" / "robosuite_fast"
TOK = bundled_universal()  # any shape: the fuzzed shapes vary
VOCAB = TOK._inner.vocab_len

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Keyword values: valid ones, wrong values and wrong types.
ANY_SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.just(b"raise"),
    st.just([1]),
)
ON_OVERFLOW = st.one_of(st.sampled_from(["raise", "clip"]), ANY_SCALAR)
ON_ERROR = st.one_of(st.sampled_from(["raise", "pad", "zeros"]), ANY_SCALAR)
# Sizes: small, negative, wrong types, or past int64. Not 2**20 .. 2**63: a horizon that large is
# legitimate and allocates (B, H, D) floats, gigabytes for no extra coverage.
SIZE = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.integers(min_value=2**63, max_value=2**70),
    ANY_SCALAR.filter(lambda v: not isinstance(v, int) or isinstance(v, bool) or v < 2**20),
)

FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-2, max_value=2),
    st.floats(min_value=-40, max_value=40),
)


@st.composite
def arrays(draw) -> np.ndarray:
    """Arrays of 0 to 4 dimensions (mostly 2 or 3) of float, int, bool, complex or object type."""
    dtype = draw(
        st.sampled_from(
            [np.float64] * 4 + [np.float32, np.float16, np.int64, np.int8, np.bool_, np.complex128]
        )
    )
    ndim = draw(st.sampled_from([0, 1, 2, 2, 3, 3, 3, 4]))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=ndim, max_size=ndim)))
    if np.issubdtype(dtype, np.floating):
        elements = FLOATS.map(lambda v: np.asarray(v).astype(dtype).item())
        with np.errstate(over="ignore"):
            return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


INPUTS = st.one_of(
    arrays(),
    arrays().map(lambda a: a.tolist()),
    arrays().map(lambda a: a.T),  # non-contiguous
    st.none(),
    st.text(max_size=5),
    st.lists(st.one_of(st.floats(), st.text(max_size=2)), max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)

IDS = st.one_of(
    st.integers(0, VOCAB - 1),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.sampled_from([-1, VOCAB, 2**31, 2**63 - 1, -(2**63)]),
)
PADDED = st.integers(0, 3).flatmap(
    lambda b: st.tuples(
        hnp.arrays(
            st.sampled_from([np.int64, np.int32, np.uint64, np.float64]),
            st.tuples(st.just(b), st.integers(0, 12)),
        ),
        hnp.arrays(st.sampled_from([np.int64, np.int8, np.float32]), st.just((b,))),
    )
)
ID_LISTS = st.one_of(
    st.lists(st.lists(IDS, max_size=30), max_size=4),
    PADDED,  # the (ids, lengths) pair of encode_batch
    st.lists(st.one_of(st.lists(IDS, max_size=5), ANY_SCALAR), max_size=3),
    ANY_SCALAR,
)


def _allowed(exc: BaseException) -> bool:
    return type(exc).__name__ != "PanicException" and isinstance(exc, (actok.ActokError, TypeError))


def _call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, or ``None`` if it raised an allowed exception."""
    try:
        return fn(*args, **kwargs)
    except BaseException as exc:  # noqa: B036 - a PanicException is a BaseException
        if not _allowed(exc):
            raise AssertionError(f"{type(exc).__name__} escaped: {exc}") from exc
        return None


def _check_round_trip(actions, ids) -> None:
    """``ids`` (from a raise-mode encode) decode back within the per-column bound."""
    x = np.asarray(actions)
    if x.dtype == np.float16:
        x = x.astype(np.float32)
    x = x.astype(np.float64)
    if x.ndim == 2:
        x = x[np.newaxis]
    b, h, d = x.shape
    assert len(ids) == b
    if d == 0 or b == 0:
        return
    out = TOK.decode(ids, h, d)
    assert out.shape == (b, h, d)
    err = np.sqrt(((out - x) ** 2).sum(axis=1))  # (B, D) per-column 2-norms
    norm = np.sqrt((x**2).sum(axis=1))
    bound = 0.5 * np.sqrt(h) / TOK.scale + 1e-12 * h * (1 + norm)
    assert (err <= bound).all(), (err.max(), bound.min())


@SETTINGS
@given(actions=INPUTS, on_overflow=ON_OVERFLOW)
def test_encode_and_call(actions, on_overflow):
    ids = _call(TOK.encode, actions, on_overflow=on_overflow)
    called = _call(TOK, actions, on_overflow=on_overflow)
    assert called == ids
    if ids is None:
        return
    assert all(isinstance(i, int) and 0 <= i < VOCAB for seq in ids for i in seq)
    if on_overflow == "raise":
        _check_round_trip(actions, ids)


@SETTINGS
@given(actions=INPUTS, max_length=SIZE, pad_id=SIZE, on_overflow=ON_OVERFLOW)
def test_encode_batch(actions, max_length, pad_id, on_overflow):
    result = _call(
        TOK.encode_batch, actions, max_length=max_length, pad_id=pad_id, on_overflow=on_overflow
    )
    if result is None:
        return
    padded, lengths = result
    ids = TOK.encode(actions, on_overflow=on_overflow)
    assert padded.dtype == np.int32 and lengths.dtype == np.int32
    assert padded.shape[0] == len(ids) == len(lengths)
    for row, n, seq in zip(padded, lengths, ids):
        assert list(row[:n]) == seq
        assert (row[n:] == pad_id).all()


@SETTINGS
@given(
    tokens=ID_LISTS,
    time_horizon=SIZE,
    action_dim=SIZE,
    on_error=ON_ERROR,
    return_valid=ANY_SCALAR,
)
def test_decode(tokens, time_horizon, action_dim, on_error, return_valid):
    out = _call(
        TOK.decode,
        tokens,
        time_horizon,
        action_dim,
        on_error=on_error,
        return_valid=return_valid,
    )
    if out is None:
        return
    actions, valid = out if isinstance(out, tuple) else (out, None)
    h = time_horizon if time_horizon is not None else TOK.time_horizon
    batch = len(tokens[1]) if isinstance(tokens, tuple) else len(tokens)
    assert actions.shape == (batch, h, action_dim)
    assert np.isfinite(actions).all()
    if valid is not None:
        assert valid.shape == (batch,)
        if on_error == "zeros":
            assert (actions[~valid] == 0).all()
    if on_error == "raise" and valid is not None:
        assert valid.all()


@SETTINGS
@given(
    chunks=hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 12), st.integers(1, 4)),
        elements=st.floats(min_value=-3, max_value=3),
    )
)
def test_encode_decode_round_trip(chunks):
    """The common case, so that it is hit often: normalized chunks encode, and decode back within
    the bound; the re-encoding of the decoded chunks gives the same ids."""
    ids = TOK.encode(chunks)
    _check_round_trip(chunks, ids)
    _, h, d = chunks.shape
    assert TOK.encode(TOK.decode(ids, h, d)) == ids


def test_panic_exception_is_not_allowed():
    """The checker itself: a panic would not be mistaken for an allowed error."""
    panic = type("PanicException", (BaseException,), {})
    with pytest.raises(AssertionError, match="PanicException escaped"):
        _call(lambda: (_ for _ in ()).throw(panic("boom")))


@pytest.mark.parametrize("max_length", [2**31, 2**63, 2**64])
@pytest.mark.parametrize("shape", [(2, 1, 2), (1, 1, 0), (0, 1, 0), (0, 0)])
def test_encode_batch_huge_max_length(shape, max_length):
    """Found by this file: max_length = 2**63 gave rows silently emptied ((2, 1, 2): the size
    B·L wrapped to 0), a PanicException ("capacity overflow", (1, 1, 0)), a numpy ValueError
    ((0, 1, 0)); 2**64 an OverflowError. Now an ActokError naming the bound."""
    with pytest.raises(actok.ActokError, match=r"max_length must be an int in \[0, 2\*\*31\)"):
        TOK.encode_batch(np.zeros(shape), max_length=max_length)


@pytest.mark.parametrize("tokens", [[], (np.zeros((0, 0), np.int64), np.zeros(0, np.int64))])
@pytest.mark.parametrize("which", ["time_horizon", "action_dim"])
@pytest.mark.parametrize("size", [2**63, 2**64])
def test_decode_huge_shape(tokens, which, size):
    """Found by this file: an empty batch with action_dim = 2**63 ended in a numpy ValueError
    (reshape), 2**64 in an OverflowError. Now an ActokError naming the bound."""
    kwargs = {"time_horizon": 1, "action_dim": 1, which: size}
    with pytest.raises(actok.ActokError, match=rf"{which} must be a positive int below 2\*\*63"):
        TOK.decode(tokens, **kwargs)
