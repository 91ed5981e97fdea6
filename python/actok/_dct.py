"""``scipy.fft.dct`` / ``scipy.fft.idct`` (types 2 and 3) computed by the Rust core."""

from __future__ import annotations

import numpy as np

from . import _actok
from ._actok import ActokError
from ._arrays import float_array

_NORMS = (None, "backward", "ortho", "forward")


def _transform(
    x: object, type: int, axis: int, norm: str | None, orthogonalize: bool | None, inverse: bool
) -> np.ndarray:
    if isinstance(type, bool) or not isinstance(type, (int, np.integer)) or type not in (2, 3):
        raise ActokError(f"type must be 2 or 3, got {type!r} (types 1 and 4 are not implemented)")
    if norm not in _NORMS:
        raise ActokError(f'norm must be None, "backward", "ortho" or "forward", got {norm!r}')
    if orthogonalize is not None and not isinstance(orthogonalize, (bool, np.bool_)):
        raise ActokError(f"orthogonalize must be None, True or False, got {orthogonalize!r}")
    a = np.asarray(x)
    if a.dtype.kind == "c":
        real = _transform(a.real, type, axis, norm, orthogonalize, inverse)
        imag = _transform(a.imag, type, axis, norm, orthogonalize, inverse)
        return real + 1j * imag
    a = float_array(a, "x")
    if a.ndim == 0:
        raise ActokError("x must have at least one dimension")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ActokError(f"axis must be an int, got {axis!r}")
    if not -a.ndim <= axis < a.ndim:
        raise ActokError(f"axis {axis} is out of range for an array of {a.ndim} dimensions")
    return _actok.transform(
        a,
        axis % a.ndim,
        type,
        norm or "backward",
        None if orthogonalize is None else bool(orthogonalize),
        inverse,
    )


def dct(
    x: object,
    type: int = 2,
    axis: int = -1,
    norm: str | None = None,
    orthogonalize: bool | None = None,
) -> np.ndarray:
    """Discrete cosine transform with the semantics and output dtypes of ``scipy.fft.dct``.

    Types 2 and 3; ``norm`` is None/"backward", "ortho" or "forward"; ``orthogonalize`` defaults
    to True exactly when ``norm="ortho"``. float32 in gives float32 out, float16 is promoted to
    float32, integers and bools to float64, complex input is transformed part by part. All
    arithmetic is float64 (scipy computes float32 input in single precision; see the README).
    """
    return _transform(x, type, axis, norm, orthogonalize, inverse=False)


def idct(
    x: object,
    type: int = 2,
    axis: int = -1,
    norm: str | None = None,
    orthogonalize: bool | None = None,
) -> np.ndarray:
    """Inverse discrete cosine transform with the semantics of ``scipy.fft.idct``.

    ``idct(x, type=2, norm=n)`` is ``dct(x, type=3, norm=flip(n))`` where flip swaps "backward"
    and "forward"; FAST decodes with ``idct(c, type=2, norm="ortho")``.
    """
    return _transform(x, type, axis, norm, orthogonalize, inverse=True)
