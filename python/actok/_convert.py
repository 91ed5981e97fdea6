"""Python values converted to what the compiled core takes: one place for the type checks.

Python ints are unbounded and ``True`` is an int; the core takes machine integers. The helpers
here refuse values of the wrong type, or beyond the machine type the core's argument has, with an
:class:`ActokError` naming the argument. Every *semantic* rule (``horizon >= 1``, ``vocab_size >=
1``, an option's spellings) is the core's, and its message reaches the user unchanged.
"""

from __future__ import annotations

import numpy as np

from ._actok import ActokError


def is_int(value: object) -> bool:
    """Whether ``value`` is an integer (Python or numpy) and not a bool."""
    if type(value) is int:
        # The usual argument, answered without the abstract-class checks (a tenth of a
        # microsecond each, on every call of decode).
        return True
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _int(value: object, name: str) -> int:
    if not is_int(value):
        raise ActokError(f"{name} must be an int, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def integer(value: object, name: str) -> int:
    """``value`` as a Python int that fits the core's ``i64``/``isize`` (a DCT type or axis),
    or an error naming ``name``."""
    n = _int(value, name)
    if not -(2**63) <= n < 2**63:
        raise ActokError(f"{name} must be an int64, got {n}")
    return n


def count(value: object, name: str) -> int:
    """A non-negative int the core takes as ``usize``/``u64`` (below 2**63 on every platform
    numpy supports with 64-bit sizes)."""
    n = _int(value, name)
    if not 0 <= n < 2**63:
        raise ActokError(f"{name} must be an int in [0, 2**63), got {n}")
    return n


def optional_shape(value: object, name: str) -> int | None:
    """A decode shape argument: None, or a positive int below 2**63 (numpy's int64 dimensions,
    which the result must fit, also for an empty batch where nothing else would reject it)."""
    if value is None:
        return None
    if not is_int(value) or not 1 <= value < 2**63:  # type: ignore[operator]
        raise ActokError(f"{name} must be a positive int below 2**63 or None, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def max_length(value: object) -> int | None:
    """``encode_batch``'s width: None or an int in [0, 2**31) (the lengths it returns are int32,
    so no sequence can need more; larger ints would overflow the bindings' integer types)."""
    if value is None:
        return None
    if not is_int(value) or not 0 <= value < 2**31:  # type: ignore[operator]
        raise ActokError(f"max_length must be an int in [0, 2**31) or None, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def int32(value: object, name: str) -> int:
    """An int that fits int32 (a pad id in an int32 array)."""
    if not is_int(value) or not -(2**31) <= value < 2**31:  # type: ignore[operator]
        raise ActokError(f"{name} must be an int32, got {value!r}")
    return int(value)  # type: ignore[call-overload]
