"""Parity of ``actok.dct`` / ``actok.idct`` with ``scipy.fft.dct`` / ``scipy.fft.idct``.

Covers DCT types 2 and 3, every ``norm`` and ``orthogonalize`` value, lengths 1..64 plus a spread of
larger ones up to 512 (primes included), 1-D to 4-D inputs with positive and negative axes, memory
layouts (strided, reversed, Fortran, big-endian), input dtypes and the output dtype, error handling,
and the rounding criterion of the tokenizer (``np.around(dct(x, norm="ortho") * 10)`` equal to
scipy's float64 path, except on coefficients whose exact value is a half-integer) on more than ten
million coefficients of real robot data.

Tolerances are norm-wise: ``max|a - b| <= rtol * max|b| + tiny``, with ``rtol = 1e-12`` in float64.
float32 results are compared with scipy on the float64-upcast input (the exact transform of the
float32 values) with a float32-sized ``rtol``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import scipy.fft as scipy_fft
from conftest import SHARED_DATA, require_shared_data
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import actok

RTOL64 = 1e-12
# scipy's own float32 path is ~1.5e-7 (norm-wise) away from the exact result at n = 512; allow
# ~17 float32 ulps of the largest output.
RTOL32 = 2e-6

TYPES = (2, 3)
NORMS = (None, "backward", "ortho", "forward")
ORTHOS = (None, True, False)
FUNCS = {
    "dct": (actok.dct, scipy_fft.dct),
    "idct": (actok.idct, scipy_fft.idct),
}
LARGE_LENGTHS = (
    *(65, 66, 67, 71, 72, 81, 96, 97, 100, 101, 113, 125, 127, 128, 129, 131, 150, 181, 199),
    *(200, 210, 211, 243, 251, 255, 256, 257, 263, 300, 311, 343, 383, 384, 400, 401, 443),
    *(480, 499, 500, 503, 509, 510, 511, 512),
)
LENGTHS = (*range(1, 65), *LARGE_LENGTHS)

DATA_DIR = SHARED_DATA
HORIZONS = (10, 15, 20, 30, 50)
MIN_REAL_COEFFICIENTS = 10_000_000


def variants():
    for name in FUNCS:
        for t in TYPES:
            for norm in NORMS:
                for ortho in ORTHOS:
                    yield pytest.param(
                        name, t, norm, ortho, id=f"{name}-type{t}-norm{norm}-orth{ortho}"
                    )


VARIANTS = list(variants())


def _seed(*key):
    return zlib.crc32(repr(key).encode())


def assert_close(actual, expected, rtol, what=""):
    """Same shape, and norm-wise ``max|a - b| <= rtol * max|b| + tiny``."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    if expected.size == 0:
        return
    a = actual.astype(np.float64)
    b = expected.astype(np.float64)
    assert np.all(np.isfinite(a)), f"{what}: non-finite output"
    err = float(np.max(np.abs(a - b)))
    ref = float(np.max(np.abs(b)))
    tiny = 16 * np.finfo(np.float64).tiny
    bound = rtol * ref + tiny
    assert err <= bound, (
        f"{what}: max|actok - scipy| = {err:.3e} > {rtol:.0e} * max|scipy| ({ref:.3e}), "
        f"relative {err / ref if ref else float('inf'):.3e}"
    )


def compare(name, x, rtol=None, **kw):
    """Run actok and scipy on ``x``; check the dtype is scipy's and the values agree."""
    ours, theirs = FUNCS[name]
    got = ours(x, **kw)
    want = theirs(x, **kw)
    assert isinstance(got, np.ndarray)
    assert got.dtype == want.dtype, f"{name}{kw}: dtype {got.dtype} != scipy {want.dtype}"
    if want.dtype == np.float32:
        # scipy computes float32 in single precision; compare both to the exact float64 transform.
        exact = theirs(np.asarray(x).astype(np.float64), **kw)
        assert_close(got, exact, rtol or RTOL32, f"{name}{kw} {np.asarray(x).dtype}")
    else:
        assert_close(got, want, rtol or RTOL64, f"{name}{kw} {np.asarray(x).dtype}")
    return got


# ------------------------------------------------------------------------------------------------
# Every variant at every length.
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "t", "norm", "ortho"), VARIANTS)
def test_all_lengths_float64(name, t, norm, ortho):
    rng = np.random.default_rng(_seed(name, t, norm, ortho))
    for n in LENGTHS:
        x = rng.standard_normal((3, n))
        compare(name, x, type=t, axis=-1, norm=norm, orthogonalize=ortho)
        # The same transform along the leading axis of a (n, 2) array.
        compare(name, x[:2].T.copy(), type=t, axis=0, norm=norm, orthogonalize=ortho)


@pytest.mark.parametrize(("name", "t", "norm", "ortho"), VARIANTS)
def test_all_lengths_float32(name, t, norm, ortho):
    rng = np.random.default_rng(_seed(name, t, norm, ortho, 32))
    for n in LENGTHS:
        x = rng.standard_normal((2, n)).astype(np.float32)
        got = compare(name, x, type=t, norm=norm, orthogonalize=ortho)
        assert got.dtype == np.float32


def test_defaults_and_positional_arguments():
    x = np.random.default_rng(0).standard_normal((5, 7))
    compare("dct", x)
    compare("idct", x)
    assert_close(actok.dct(x, 3, 0, "ortho"), scipy_fft.dct(x, 3, axis=0, norm="ortho"), RTOL64)
    assert_close(
        actok.idct(x, 2, -2, "forward"), scipy_fft.idct(x, 2, axis=-2, norm="forward"), 1e-12
    )


def test_python_list_input():
    got = actok.dct([1, 2, 3, 4])
    assert got.dtype == np.float64
    assert_close(got, scipy_fft.dct([1, 2, 3, 4]), RTOL64)
    assert_close(
        actok.idct([[0.5, 1.5], [2.0, -1.0]], axis=0),
        scipy_fft.idct([[0.5, 1.5], [2.0, -1.0]], axis=0),
        RTOL64,
    )


def test_known_values():
    # A constant signal has only a DC term; ortho DCT-II of ones(n) is [sqrt(n), 0, ...].
    for n in (1, 2, 5, 20, 50, 509):
        y = actok.dct(np.ones(n), norm="ortho")
        expected = np.zeros(n)
        expected[0] = np.sqrt(n)
        assert_close(y, expected, 1e-14)
    # Unnormalized DCT-II of [1, 0, 0, 0] is 2 cos(pi k / 8).
    y = actok.dct([1.0, 0.0, 0.0, 0.0])
    assert_close(y, 2 * np.cos(np.pi * np.arange(4) / 8), 1e-15)


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("t", TYPES)
def test_inverse_roundtrip(t, norm):
    x = np.random.default_rng(3).standard_normal((4, 50))
    assert_close(actok.idct(actok.dct(x, type=t, norm=norm), type=t, norm=norm), x, 1e-13)


# ------------------------------------------------------------------------------------------------
# Dtypes.
# ------------------------------------------------------------------------------------------------
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("name", list(FUNCS))
def test_integer_input_becomes_float64(name, dtype):
    info = np.iinfo(dtype)
    rng = np.random.default_rng(4)
    x = rng.integers(max(info.min, -1000), min(info.max, 1000), size=(3, 17), endpoint=True)
    x = x.astype(dtype)
    for t in TYPES:
        for norm in NORMS:
            got = compare(name, x, type=t, norm=norm)
            assert got.dtype == np.float64
    # Extreme values convert exactly like scipy's float64 conversion.
    x = np.array([info.min, info.max, 0, info.max // 3], dtype=dtype)
    compare(name, x, norm="ortho")


@pytest.mark.parametrize("name", list(FUNCS))
def test_bool_input_becomes_float64(name):
    x = np.random.default_rng(5).random((4, 13)) < 0.5
    for t in TYPES:
        for norm in NORMS:
            got = compare(name, x, type=t, norm=norm, axis=0)
            assert got.dtype == np.float64


@pytest.mark.parametrize("name", list(FUNCS))
def test_float16_input_becomes_float32(name):
    x = np.random.default_rng(6).standard_normal((3, 40)).astype(np.float16)
    for t in TYPES:
        for norm in NORMS:
            got = compare(name, x, type=t, norm=norm)
            assert got.dtype == np.float32
            assert scipy_fft.dct(x).dtype == np.float32


@pytest.mark.parametrize("name", list(FUNCS))
def test_float32_values_large_and_small(name):
    rng = np.random.default_rng(7)
    for scale in (1e-30, 1e-3, 1.0, 1e3, 1e30):
        x = (rng.standard_normal((2, 64)) * scale).astype(np.float32)
        for t in TYPES:
            compare(name, x, type=t, norm="ortho")
            compare(name, x, type=t, norm=None)


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("name", list(FUNCS))
def test_complex_input_like_scipy(name, dtype):
    rng = np.random.default_rng(10)
    x = (rng.standard_normal((3, 24)) + 1j * rng.standard_normal((3, 24))).astype(dtype)
    ours, theirs = FUNCS[name]
    for t in TYPES:
        got, want = ours(x, type=t, norm="ortho"), theirs(x, type=t, norm="ortho")
        assert got.dtype == want.dtype
        exact = theirs(x.astype(np.complex128), type=t, norm="ortho")
        rtol = RTOL32 if dtype == np.complex64 else RTOL64
        assert_close(got.real, exact.real, rtol, f"{name} real")
        assert_close(got.imag, exact.imag, rtol, f"{name} imag")


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is float64 here")
def test_extended_precision_refused():
    with pytest.raises(actok.ActokError, match="(?i)dtype"):
        actok.dct(np.ones(4, dtype=np.longdouble))


# ------------------------------------------------------------------------------------------------
# Layouts: strided, reversed, Fortran-ordered, big-endian; 1-D to 4-D with every axis.
# ------------------------------------------------------------------------------------------------
def layouts(x):
    """The same values in different memory layouts (all equal to ``x``)."""
    yield "C", np.ascontiguousarray(x)
    yield "F", np.asfortranarray(x)
    big = x.astype(x.dtype.newbyteorder(">"))
    assert np.array_equal(big, x)
    yield "big-endian", big
    yield "big-endian F", np.asfortranarray(big)
    padded = np.zeros(tuple(2 * s for s in x.shape), dtype=x.dtype)
    view = padded[tuple(slice(None, None, 2) for _ in x.shape)]
    view[...] = x
    yield "strided", view
    rev = np.flip(x.copy(), axis=tuple(range(x.ndim)))
    yield "reversed", np.flip(rev, axis=tuple(range(x.ndim)))
    if x.ndim >= 2:
        yield "transposed", np.ascontiguousarray(np.swapaxes(x, 0, -1)).swapaxes(0, -1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(20,), (6, 15), (3, 4, 10), (2, 3, 5, 7)])
def test_layouts_and_axes(shape, dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape).astype(dtype)
    nd = len(shape)
    for label, xv in layouts(x):
        for axis in range(-nd, nd):
            for name in FUNCS:
                for t in TYPES:
                    got = compare(name, xv, type=t, axis=axis, norm="ortho")
                    assert got.dtype == np.dtype(dtype), label
            # Result must not depend on the layout: identical to the C-contiguous answer.
            np.testing.assert_array_equal(
                actok.dct(xv, axis=axis, norm="ortho"),
                actok.dct(np.ascontiguousarray(x), axis=axis, norm="ortho"),
                err_msg=f"layout {label} axis {axis}",
            )


def test_input_not_modified():
    x = np.random.default_rng(9).standard_normal((4, 9))
    keep = x.copy()
    actok.dct(x, norm="ortho", axis=0)
    actok.idct(x, type=3)
    np.testing.assert_array_equal(x, keep)


def test_empty_non_transform_axis():
    for shape, axis in [((0, 8), -1), ((8, 0), 0), ((2, 0, 5), 2)]:
        x = np.zeros(shape)
        for name, (ours, theirs) in FUNCS.items():
            got = ours(x, axis=axis, norm="ortho")
            want = theirs(x, axis=axis, norm="ortho")
            assert got.shape == want.shape, name
            assert got.dtype == want.dtype, name


DTYPE_CHOICES = ("<f8", ">f8", "<f4", ">f4", "<f2", "<i4", ">i8", "u1", "?")


def _make(rng, shape, dtype):
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        lo = 0 if dt.kind == "u" else -500
        return rng.integers(lo, 255, size=shape).astype(dt)
    return (rng.standard_normal(shape) * 10).astype(dt)


@settings(max_examples=300, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=4),
    n=st.integers(1, 70),
    data=st.data(),
    name=st.sampled_from(list(FUNCS)),
    t=st.sampled_from(TYPES),
    norm=st.sampled_from(NORMS),
    ortho=st.sampled_from(ORTHOS),
    dtype=st.sampled_from(DTYPE_CHOICES),
    layout=st.sampled_from(("C", "F", "strided", "reversed")),
    seed=st.integers(0, 2**32 - 1),
)
def test_hypothesis_nd(shape, n, data, name, t, norm, ortho, dtype, layout, seed):
    nd = len(shape)
    axis = data.draw(st.integers(-nd, nd - 1), label="axis")
    shape[axis] = n
    rng = np.random.default_rng(seed)
    x = _make(rng, tuple(shape), dtype)
    if layout == "F":
        x = np.asfortranarray(x)
    elif layout == "strided":
        big = np.zeros(tuple(2 * s for s in x.shape), dtype=x.dtype)
        big[tuple(slice(None, None, 2) for _ in x.shape)] = x
        x = big[tuple(slice(None, None, 2) for _ in x.shape)]
    elif layout == "reversed":
        x = np.flip(x, axis=axis)
    compare(name, x, type=t, axis=axis, norm=norm, orthogonalize=ortho)


@settings(max_examples=200, deadline=None)
@given(
    x=hnp.arrays(
        np.float64,
        st.integers(1, 80),
        elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    ),
    name=st.sampled_from(list(FUNCS)),
    t=st.sampled_from(TYPES),
    norm=st.sampled_from(NORMS),
    ortho=st.sampled_from(ORTHOS),
)
def test_hypothesis_values(x, name, t, norm, ortho):
    compare(name, x, type=t, norm=norm, orthogonalize=ortho)


# ------------------------------------------------------------------------------------------------
# Errors: clear ValueErrors (actok.ActokError subclasses ValueError).
# ------------------------------------------------------------------------------------------------
def _raises(fn, pattern):
    with pytest.raises(actok.ActokError, match=pattern) as exc:
        fn()
    assert isinstance(exc.value, ValueError)
    assert str(exc.value).strip()
    return exc.value


@pytest.mark.parametrize("name", list(FUNCS))
def test_error_zero_length_axis(name):
    fn = FUNCS[name][0]
    _raises(lambda: fn(np.zeros((3, 0))), r"(?i)(empty|zero|length|size|0)")
    _raises(lambda: fn(np.zeros((0, 3)), axis=0, norm="ortho"), r"(?i)(empty|zero|length|size|0)")
    _raises(lambda: fn(np.zeros(0, dtype=np.float32)), r"(?i)(empty|zero|length|size|0)")


@pytest.mark.parametrize("bad", [0, 1, 4, 5, -2])
@pytest.mark.parametrize("name", list(FUNCS))
def test_error_bad_type(name, bad):
    fn = FUNCS[name][0]
    _raises(lambda: fn(np.ones(8), type=bad), r"(?i)type")


@pytest.mark.parametrize("bad", ["bogus", "ORTHO", "", "orthonormal"])
@pytest.mark.parametrize("name", list(FUNCS))
def test_error_bad_norm(name, bad):
    fn = FUNCS[name][0]
    _raises(lambda: fn(np.ones(8), norm=bad), r"(?i)norm")


@pytest.mark.parametrize("name", list(FUNCS))
def test_error_axis_out_of_range(name):
    fn = FUNCS[name][0]
    _raises(lambda: fn(np.ones((2, 8)), axis=2), r"(?i)axis")
    _raises(lambda: fn(np.ones((2, 8)), axis=-3), r"(?i)axis")
    _raises(lambda: fn(np.ones(8), axis=1), r"(?i)axis")
    _raises(lambda: fn(np.ones((2, 3, 4, 5)), axis=4), r"(?i)axis")
    _raises(lambda: fn(np.float64(3.0)), r"(?i)(axis|dimension|scalar|0-d)")


# ------------------------------------------------------------------------------------------------
# The rounding criterion on real robot data.
# ------------------------------------------------------------------------------------------------
def _windows(actions, ends, horizon, stride):
    out = []
    for ep in np.split(actions, np.asarray(ends)[:-1]):
        if len(ep) >= horizon:
            w = np.lib.stride_tricks.sliding_window_view(ep, horizon, axis=0)[::stride]
            out.append(np.swapaxes(w, 1, 2))  # (B, H, D)
    if not out:
        return None
    return np.ascontiguousarray(np.concatenate(out, axis=0), dtype=np.float64)


def _quantile_normalize(a):
    a = np.asarray(a, dtype=np.float64)
    lo, hi = np.percentile(a, 1, axis=0), np.percentile(a, 99, axis=0)
    flat = hi <= lo
    lo = np.where(flat, a.min(axis=0), lo)
    hi = np.where(flat, a.max(axis=0), hi)
    span = np.where(hi > lo, hi - lo, 1.0)
    return np.clip(np.where(hi > lo, 2 * (a - lo) / span - 1, 0.0), -1, 1)


def _exact_coefficient(x, k, scale):
    """``scale * dct(x, norm="ortho")[k]`` to 40 digits (mpmath), or None without mpmath."""
    try:
        import mpmath
    except ImportError:
        return None
    with mpmath.workdps(40):
        n = len(x)
        total = mpmath.fsum(
            mpmath.mpf(float(v)) * mpmath.cos(mpmath.pi * k * (2 * i + 1) / (2 * n))
            for i, v in enumerate(x)
        )
        factor = mpmath.sqrt(mpmath.mpf(1) / n if k == 0 else mpmath.mpf(2) / n)
        return total * factor * scale


def _classify(w, axis, ours_scaled, ref_scaled, flat_index):
    """Whether a rounding mismatch sits on an exact tie (the true value is a half-integer).

    On an exact tie ``np.around`` of any float64 implementation depends on the sign of its last-bit
    error, so the result is an accident of the FFT algorithm (and differs between scipy backends).
    A mismatch counts as a tie only if both results are within the float64 tolerance of the same
    half-integer and, when mpmath is available, the 40-digit exact value is that half-integer.
    """
    idx = np.unravel_index(flat_index, w.shape)
    column = list(idx)
    column[axis] = slice(None)
    x = w[tuple(column)]
    k = idx[axis]
    a, b = float(ours_scaled[idx]), float(ref_scaled[idx])
    half = np.floor(b) + 0.5 if abs(b - np.floor(b) - 0.5) < 0.25 else np.floor(a) + 0.5
    tol = RTOL64 * max(1.0, float(np.max(np.abs(ref_scaled[tuple(column)]))))
    near = abs(a - half) <= tol and abs(b - half) <= tol
    exact = _exact_coefficient(x, k, 10)
    if exact is not None:
        near = near and abs(float(exact - half)) < 1e-25
    detail = f"actok {a!r} scipy {b!r} exact {'?' if exact is None else f'{float(exact)!r}'}"
    return near, detail


def test_rounding_criterion_on_real_data():
    """``np.around(actok.dct(x, norm="ortho") * 10)`` == scipy's float64 path on real data.

    Windows of several horizons (stride H/5) over every file of ../shared/data, raw and quantile-
    normalized. There must be no mismatch at all, not even on exact ties (``_classify`` names
    them): raw robosuite Lift actions (values 0 and 3.75) with H = 50 have coefficients that are
    exactly +-7.5, where only a bit-exact port of scipy's algorithm rounds the same way.
    """
    require_shared_data()
    files = sorted(DATA_DIR.glob("*.npz"))
    assert files, f"no .npz files in {DATA_DIR}"
    total = 0
    ties, mismatches = [], []
    per_file = {}
    for path in files:
        with np.load(path) as z:
            raw = np.asarray(z["actions"], dtype=np.float64)
            ends = np.asarray(z["episode_ends"])
        for variant, actions in (("raw", raw), ("normalized", _quantile_normalize(raw))):
            for h in HORIZONS:
                w = _windows(actions, ends, h, max(1, h // 5))
                if w is None:
                    continue
                axis = 1 if variant == "raw" else -2
                ours = actok.dct(w, axis=axis, norm="ortho") * 10
                ref = scipy_fft.dct(w, axis=axis, norm="ortho") * 10
                total += ref.size
                per_file[path.name] = per_file.get(path.name, 0) + ref.size
                for i in np.flatnonzero(np.around(ours) != np.around(ref)):
                    is_tie, detail = _classify(w, axis % w.ndim, ours, ref, i)
                    where = f"{path.name} {variant} H={h} flat index {i}: {detail}"
                    (ties if is_tie else mismatches).append(where)
    print(
        f"\nrounding criterion: {total:,} coefficients from {len(files)} files {per_file}; "
        f"{len(mismatches)} mismatches, {len(ties)} exact ties rounded differently"
    )
    for t in ties:
        print(f"  exact tie: {t}")
    assert total >= MIN_REAL_COEFFICIENTS, f"only {total:,} coefficients checked"
    assert not mismatches, f"{len(mismatches)} rounding mismatches out of {total:,}:\n" + "\n".join(
        mismatches[:40]
    )
    # actok ports scipy's pocketfft bit for bit, so even exact ties must round the same way.
    assert not ties, f"{len(ties)} exact ties rounded differently out of {total:,}: " + "; ".join(
        ties
    )
