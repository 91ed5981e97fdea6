"""Input normalization shared by the public functions: dtype, byte order, contiguity."""

from __future__ import annotations

import numpy as np

from ._actok import ActokError


def float_array(x: object, what: str) -> np.ndarray:
    """``x`` as a native-byte-order C-contiguous float32 or float64 array.

    Follows scipy's promotion: float16 becomes float32, integers and bools become float64.
    Complex, object and extended-precision inputs are refused rather than silently truncated.
    """
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ActokError(f"{what} must be a numeric array-like: {exc}") from None
    kind = a.dtype.kind
    target: np.dtype
    if kind in "biu":
        target = np.dtype(np.float64)
    elif kind == "f" and a.dtype.itemsize <= 4:
        target = np.dtype(np.float32)
    elif kind == "f" and a.dtype.itemsize == 8:
        target = np.dtype(np.float64)
    else:
        raise ActokError(
            f"{what} must hold real numbers (float32, float64, float16, int or bool), "
            f"got dtype {a.dtype}"
        )
    # np.require keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
    return np.require(a, dtype=target, requirements="C")
