"""Bit-for-bit parity of ``actok.dct`` with ``scipy.fft.dct`` for float64 input.

FAST quantizes ``np.around(dct(x, type=2, norm="ortho") * scale)`` (round half to even). Binary
robot signals (gripper channels at exactly 0/1 or +-1) give coefficients whose exact value is a
half-integer after scaling; there the token depends on the last bit of the float, so a tolerance
test is not enough: the transform must reproduce scipy's float64 result exactly. scipy computes it
with pocketfft (``T_dcst23`` on a mixed-radix real FFT, or on Bluestein's algorithm for lengths
with a large prime factor, the first being 191); actok ports that algorithm operation by
operation.

Covered: every length 1..130, every prime up to 600 and a stride through the rest up to 600
(including the lengths where single steps produce exact ties: 16, 24, 64, 144, 200, 256, 400,
576, 600); normal, 0/1 and +-1 step, multi-step and random binary, small-integer, 1e-3-rounded and
constant inputs; 1-D calls, 2-D batches and (B, H, D) arrays transformed along axis 1 (contiguous
and strided); all ``norm`` / ``orthogonalize`` variants of type 2, and the type-3 transforms
(``dct(type=3)`` and ``idct(type=2)``) that share the same pocketfft class.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as scipy_fft

import actok


def _primes(limit: int) -> list[int]:
    sieve = np.ones(limit + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, int(limit**0.5) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    return [int(p) for p in np.flatnonzero(sieve)]


PRIMES = _primes(600)
# Lengths where a single 0/1 step gives coefficients whose exact value times 10 is k + 0.5.
TIE_LENGTHS = (16, 24, 64, 144, 200, 256, 400, 576, 600)
# Composite lengths scipy runs through Bluestein (large prime factor, even length).
EVEN_BLUESTEIN = (478, 502, 554, 562, 566, 586)
LENGTHS = tuple(
    sorted(
        {*range(1, 131), *PRIMES, *range(131, 601, 7), *TIE_LENGTHS, *EVEN_BLUESTEIN}
        | {128 * 3, 243, 343, 361, 512, 529, 540, 169, 289, 121 * 4}
    )
)
# A smaller spread for the variants that multiply the work.
SOME_LENGTHS = tuple(
    sorted({*range(1, 41), 45, 49, 50, 64, 97, 100, 121, 128, 130, *TIE_LENGTHS, 191, 199, 478})
)
# Step positions per length: up to 48 (all of them when n < 48), 16 beyond n = 130 for speed.
STEP_POSITIONS_SHORT, STEP_POSITIONS_LONG = 48, 16


def _steps(n: int, lo: float, hi: float) -> np.ndarray:
    """Rising and falling single steps from ``lo`` to ``hi`` at evenly spread positions."""
    count = STEP_POSITIONS_SHORT if n <= 130 else STEP_POSITIONS_LONG
    positions = np.unique(np.linspace(0, n, min(n + 1, count)).round().astype(int))
    idx = np.arange(n)
    rising = np.where(idx[None, :] >= positions[:, None], hi, lo)
    return np.concatenate([rising, rising[:, ::-1]])


def _families(n: int) -> dict[str, np.ndarray]:
    """Input families, each a float64 array of shape (rows, n)."""
    rng = np.random.default_rng(1000 + n)
    switches = rng.random((8, n)) < min(0.5, 3.0 / n)
    multistep = np.cumsum(switches, axis=1) % 2
    return {
        "normal": rng.standard_normal((8, n)),
        "step01": _steps(n, 0.0, 1.0),
        "step_pm1": _steps(n, -1.0, 1.0),
        "multistep01": multistep.astype(np.float64),
        "multistep_pm1": 2.0 * multistep - 1.0,
        "binary_random": (rng.random((8, n)) < 0.5).astype(np.float64),
        "small_int": rng.integers(-5, 6, (8, n)).astype(np.float64),
        "rounded_1e-3": np.round(rng.uniform(-1.0, 1.0, (8, n)), 3),
        "constant": np.repeat(
            np.array([0.0, 1.0, -1.0, 0.5, -0.25, 3.0, 1e-3])[:, None], n, axis=1
        ),
    }


def _batch(n: int) -> tuple[np.ndarray, list[str]]:
    """All families stacked into one (rows, n) array, with the family name of every row."""
    fams = _families(n)
    labels = [name for name, x in fams.items() for _ in range(len(x))]
    return np.concatenate(list(fams.values())), labels


def _assert_bitexact(
    got: np.ndarray, want: np.ndarray, what: str, labels: list[str] | None = None
) -> None:
    assert got.dtype == np.float64 and want.dtype == np.float64, what
    assert got.shape == want.shape, what
    diff = got.view(np.uint64) != want.view(np.uint64)
    if diff.any():
        first = tuple(int(i) for i in np.argwhere(diff)[0])
        family = f" ({labels[first[0]]} input)" if labels is not None else ""
        pytest.fail(
            f"{what}: {int(diff.sum())} of {diff.size} coefficients differ from scipy in their "
            f"bits; first at {first}{family}: actok {got[first]!r} vs scipy {want[first]!r}"
        )


@pytest.mark.parametrize("n", LENGTHS)
def test_dct2_ortho_bitexact(n: int) -> None:
    x, labels = _batch(n)
    want = scipy_fft.dct(x, type=2, norm="ortho", axis=-1)
    got = actok.dct(x, type=2, norm="ortho", axis=-1)
    _assert_bitexact(got, want, f"n={n} (2-D, axis=-1)", labels)
    # The same columns along axis 0 of the transposed (strided) array.
    got_t = actok.dct(x.T, type=2, norm="ortho", axis=0)
    _assert_bitexact(got_t.T, want, f"n={n} (2-D transposed, axis=0)", labels)
    # 1-D calls: one row of each family.
    for row in sorted({labels.index(name) for name in labels}):
        got_1d = actok.dct(x[row], type=2, norm="ortho")
        _assert_bitexact(got_1d, want[row], f"n={n} {labels[row]} (1-D)")


@pytest.mark.parametrize("n", LENGTHS)
def test_dct2_ortho_bitexact_bhd_axis1(n: int) -> None:
    d = 3
    x, _ = _batch(n)
    x = x[: len(x) - len(x) % d]
    # (B, H, D) with the time axis in the middle, as FAST lays out action chunks.
    strided = x.reshape(-1, d, n).transpose(0, 2, 1)
    contiguous = np.ascontiguousarray(strided)
    for layout, a in (("contiguous", contiguous), ("strided", strided)):
        want = scipy_fft.dct(a, type=2, norm="ortho", axis=1)
        got = actok.dct(a, type=2, norm="ortho", axis=1)
        _assert_bitexact(got, want, f"n={n} (B, H, D) {layout}, axis=1")


@pytest.mark.parametrize("n", SOME_LENGTHS)
def test_dct2_norm_variants_bitexact(n: int) -> None:
    x, labels = _batch(n)
    for norm in (None, "backward", "ortho", "forward"):
        for orthogonalize in (None, True, False):
            want = scipy_fft.dct(x, type=2, norm=norm, orthogonalize=orthogonalize, axis=-1)
            got = actok.dct(x, type=2, norm=norm, orthogonalize=orthogonalize, axis=-1)
            what = f"n={n} dct type 2 norm={norm} orthogonalize={orthogonalize}"
            _assert_bitexact(got, want, what, labels)


@pytest.mark.parametrize("n", SOME_LENGTHS)
def test_type3_bitexact(n: int) -> None:
    x, labels = _batch(n)
    for norm in (None, "ortho", "forward"):
        for name, ours, theirs, t in (
            ("idct", actok.idct, scipy_fft.idct, 2),
            ("dct", actok.dct, scipy_fft.dct, 3),
        ):
            want = theirs(x, type=t, norm=norm, axis=-1)
            got = ours(x, type=t, norm=norm, axis=-1)
            _assert_bitexact(got, want, f"n={n} {name} type {t} norm={norm}", labels)


def test_rounding_agrees_on_binary_steps() -> None:
    """``np.around(c * 10)`` (FAST's quantizer) agrees, including on exact ties."""
    near_ties = 0
    for n in LENGTHS:
        fam = _families(n)
        x = np.concatenate([fam["step01"], fam["step_pm1"], fam["multistep01"]])
        want = scipy_fft.dct(x, type=2, norm="ortho", axis=-1) * 10
        got = actok.dct(x, type=2, norm="ortho", axis=-1) * 10
        bad = np.around(got) != np.around(want)
        assert int(bad.sum()) == 0, (
            f"n={n}: {int(bad.sum())} quantized coefficients differ from scipy, e.g. "
            f"{got[bad][0]!r} vs {want[bad][0]!r}"
        )
        near_ties += int(np.count_nonzero(np.abs(want - np.floor(want) - 0.5) < 1e-9))
    # The inputs must actually exercise half-integer ties, or the check above proves little.
    assert near_ties > 100
