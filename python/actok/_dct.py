"""``scipy.fft.dct`` / ``scipy.fft.idct`` (types 2 and 3) computed by the Rust core."""

from __future__ import annotations

import numpy as np

from . import _actok, _convert
from ._actok import ActokError
from ._arrays import float_array


def _transform(
    x: object, type: int, axis: int, norm: str | None, orthogonalize: bool | None, inverse: bool
) -> np.ndarray:
    if orthogonalize is not None and not isinstance(orthogonalize, (bool, np.bool_)):
        raise ActokError(f"orthogonalize must be None, True or False, got {orthogonalize!r}")
    a = np.asarray(x)
    if a.dtype.kind == "c":
        real = _transform(a.real, type, axis, norm, orthogonalize, inverse)
        imag = _transform(a.imag, type, axis, norm, orthogonalize, inverse)
        return real + 1j * imag
    return _actok.transform(
        float_array(a, "x"),
        _convert.integer(axis, "axis"),
        _convert.integer(type, "type"),
        norm,
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
