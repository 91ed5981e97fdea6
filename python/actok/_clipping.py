"""``ClippingWarning``: how the normalizer's ``out_of_range="clip"`` policy is reported.

Clipping loses data, so it happens only when a normalizer was given that policy, and every call
that clips says how much, per dimension, with a warning the caller can filter, record
(``warnings.catch_warnings(record=True)``) or turn into an error
(``-W error::actok.ClippingWarning``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence


class ClippingWarning(UserWarning):
    """The normalizer clipped values to its fitted range (its policy is ``out_of_range="clip"``).

    ``counts`` holds how many values were clipped in each action dimension, ``total`` how many
    values were normalized.
    """

    def __init__(self, message: str, counts: Sequence[int], total: int) -> None:
        super().__init__(message)
        self.counts = list(counts)
        self.total = total


def warn_clipped(counts: Sequence[int], total: int, doing: str, stacklevel: int = 3) -> None:
    """Warns with :class:`ClippingWarning` when ``counts`` (per dimension) are not all zero."""
    clipped = sum(counts)
    if clipped == 0:
        return
    dims = ", ".join(f"{d}: {n}" for d, n in enumerate(counts) if n)
    message = (
        f"{doing}: the normalizer clipped {clipped} of {total} values "
        f'({100.0 * clipped / max(total, 1):.3g}%) to its fitted range (out_of_range="clip"); '
        f"per dimension {{{dims}}}. Decoded actions cannot restore them; use "
        f'out_of_range="keep" to keep the tails.'
    )
    warnings.warn(ClippingWarning(message, counts, total), stacklevel=stacklevel)
