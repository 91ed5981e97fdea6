"""Normalizers from a LeRobot dataset's published statistics (``meta/stats.json``).

LeRobot's FAST script normalizes with the dataset's own ``q01``/``q99`` rather than recomputing
them; this reads those (or ``mean``/``std``, ``min``/``max``) for the chosen dimensions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._actok import LoadError
from ._prep import check_dims, parse_dims

PathLike = Union[str, "os.PathLike[str]"]

#: The statistics each normalizer kind is built from, and the optional data range.
_NEEDED = {"quantile": ("q01", "q99"), "minmax": ("min", "max"), "meanstd": ("mean", "std")}


def stats_file(path: PathLike) -> Path:
    """``path`` itself if it is a file, else the dataset directory's ``meta/stats.json``."""
    p = Path(os.fspath(path))
    f = p / "meta" / "stats.json" if p.is_dir() else p
    if not f.is_file():
        raise LoadError(
            f"no dataset statistics at {f}: give a LeRobot dataset directory with "
            "meta/stats.json, or the stats file itself"
        )
    return f


def normalizer_from_stats(
    path: PathLike,
    *,
    key: str = "action",
    kind: str = "quantile",
    dims: str | Sequence[int] | None = None,
    out_of_range: str = "keep",
) -> Any:
    from ._normalizer import Normalizer

    f = stats_file(path)
    try:
        stats = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise LoadError(f"cannot read {f}: {err}") from None
    if not isinstance(stats, dict) or key not in stats or not isinstance(stats[key], dict):
        have = ", ".join(stats) if isinstance(stats, dict) else "not a JSON object"
        raise LoadError(f"{f} has no statistics for {key!r} (it has: {have})")
    feature: dict[str, Any] = stats[key]
    if kind not in _NEEDED:
        raise LoadError(
            f"dataset statistics give a quantile, minmax or meanstd normalizer, not {kind!r}"
        )
    missing = [name for name in _NEEDED[kind] if name not in feature]
    if missing:
        usable = [k for k, names in _NEEDED.items() if all(n in feature for n in names)]
        raise LoadError(
            f"{f}: the {key!r} statistics have no {' or '.join(missing)} for a {kind} "
            f"normalizer (they have: {', '.join(feature)}); "
            + (
                f"use kind {' or '.join(usable)} (the CLI's --normalize), or fit the "
                "statistics on the data instead"
                if usable
                else "fit the statistics on the data instead"
            )
        )
    selected = parse_dims(dims)

    def vector(name: str) -> np.ndarray | None:
        if name not in feature:
            return None
        v = np.asarray(feature[name], dtype=np.float64).reshape(-1)
        if selected is not None:
            check_dims(selected, len(v), f"{f}'s {key}.{name}")
            v = v[list(selected)]
        return v

    first, second = _NEEDED[kind]
    low, high = vector("min"), vector("max")
    if low is None or high is None:  # both or neither
        low = high = None
    if kind == "meanstd":
        return Normalizer.from_parameters(
            kind,
            mean=vector(first),
            std=vector(second),
            min=low,
            max=high,
            out_of_range=out_of_range,
        )
    return Normalizer.from_parameters(
        kind, low=vector(first), high=vector(second), min=low, max=high, out_of_range=out_of_range
    )
