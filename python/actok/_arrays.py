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


def episode_list(x: object, what: str = "episodes") -> list[np.ndarray]:
    """``x`` as a list of native C-contiguous ``(T_i, D)`` float arrays of one dtype.

    Accepts an :class:`~actok.Episodes`, one ``(T, D)`` array (one episode), an ``(N, T, D)``
    array (N equal-length episodes) or a sequence of ``(T_i, D)`` array-likes. The common dtype is
    float32 when every episode is float32 (or float16), float64 otherwise (integers and bools
    become float64). The episodes' shapes are checked by the core (``actok::episodes_dim``),
    which names the offending episode.
    """
    items = getattr(x, "episodes", x)
    if isinstance(items, (str, bytes)) or items is None:
        raise ActokError(f"{what} must be an array or a list of (T, D) arrays, got {items!r}")
    if isinstance(items, np.ndarray) or not isinstance(items, (list, tuple)):
        a = float_array(items, what)
        if a.ndim == 2:
            parts = [a]
        elif a.ndim == 3:
            parts = list(a)
        else:
            raise ActokError(
                f"{what} must have shape (T, D) or (N, T, D), or be a list of (T, D) arrays; "
                f"got an array of shape {a.shape}"
            )
    else:
        parts = [float_array(item, f"episode {i}") for i, item in enumerate(items)]
    dtype = np.float32 if all(p.dtype == np.float32 for p in parts) else np.float64
    return [np.require(p, dtype=dtype, requirements="C") for p in parts]
