"""``DataPrep``: how a dataset's actions become the chunks a tokenizer was fitted on.

LeRobot's FAST training script encodes a subset of the action dimensions, makes some of them
relative to the chunk's first state ("delta actions") and normalizes with the dataset's published
statistics. ``actok fit`` records these choices in the tokenizer directory as ``actok_data.json``
(a file only actok reads: the reference processor's files are unchanged), so ``actok encode`` and
``actok inspect`` prepare data exactly as the fit did.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from ._actok import ActokError, LoadError

PathLike = Union[str, "os.PathLike[str]"]

#: The file ``actok fit`` writes beside the tokenizer files.
FILE_NAME = "actok_data.json"
_FORMAT = "actok-data-prep"
_VERSION = 1
#: LeRobot's name for the robot state a delta action is taken relative to.
DEFAULT_STATE_KEY = "observation.state"


def parse_dims(spec: str | Sequence[int] | None, what: str = "dims") -> tuple[int, ...] | None:
    """Dimension indices from ``"0:6,7:23"`` (Python-style half-open ranges) or single indices
    (``"0,1,5"``), or from a sequence of ints; ``None`` stays ``None`` (all dimensions).

    Raises :class:`ActokError` naming the bad part: not an integer, an empty or reversed range,
    a negative index, or an index listed twice.
    """
    if spec is None:
        return None
    if isinstance(spec, str):
        indices: list[int] = []
        for part in spec.split(","):
            part = part.strip()
            bounds = part.split(":")
            if len(bounds) > 2 or not all(_is_int(b) for b in bounds):
                raise ActokError(
                    f"{what} {spec!r}: {part!r} is not an index or a START:STOP range "
                    "(expected e.g. 0:6,7:23 or 0,1,2)"
                )
            if len(bounds) == 1:
                indices.append(int(part))
                continue
            start, stop = int(bounds[0]), int(bounds[1])
            if start >= stop:
                raise ActokError(
                    f"{what} {spec!r}: range {part!r} is empty (start must be < stop; "
                    "ranges are half-open, 0:6 is 0..5)"
                )
            indices.extend(range(start, stop))
    else:
        try:
            indices = [int(i) for i in spec]
        except (TypeError, ValueError):
            raise ActokError(f"{what} must be a string like '0:6,7:23' or integers") from None
    if not indices:
        raise ActokError(f"{what} {spec!r} selects no dimension")
    negative = [i for i in indices if i < 0]
    if negative:
        raise ActokError(f"{what} {spec!r}: index {negative[0]} is negative")
    seen: set[int] = set()
    for i in indices:
        if i in seen:
            raise ActokError(f"{what} {spec!r}: dimension {i} is selected twice")
        seen.add(i)
    return tuple(indices)


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def check_dims(dims: tuple[int, ...] | None, dim: int, where: str, what: str = "dims") -> None:
    """Refuses indices beyond a ``dim``-dimensional ``where``."""
    if dims is not None and max(dims) >= dim:
        raise ActokError(
            f"{what} select dimension {max(dims)}, but {where} has {dim} dimensions (0..{dim - 1})"
        )


@dataclass(frozen=True)
class DataPrep:
    """The data preparation a tokenizer was fitted with (all optional; the default changes nothing).

    - ``key``: the action column (LeRobot) or array (.npz); ``None`` means the reader's default.
    - ``dims``: the action dimensions encoded, in order (``"0:6,7:23"`` or indices); ``None``: all.
    - ``delta_dims``: dimensions (indices into the full action, as in LeRobot's script) encoded
      relative to the state at the chunk's first step: ``action[t, d] - state[start, d]``. Each
      must be among ``dims``.
    - ``state_key``: the state column (LeRobot) or array (.npz) read for ``delta_dims``.

    Decoding returns the actions as encoded (deltas); :meth:`add_state` adds the state back.
    """

    key: str | None = None
    dims: tuple[int, ...] | None = None
    delta_dims: tuple[int, ...] = ()
    state_key: str = DEFAULT_STATE_KEY
    #: Where the normalizer's statistics came from (informational, e.g. ``meta/stats.json``).
    stats_source: str | None = None
    #: The fit's selection (informational: encode and inspect select their own chunks).
    fit_selection: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        dims = parse_dims(self.dims)  # type: ignore[arg-type]
        delta = parse_dims(self.delta_dims, "delta_dims") if self.delta_dims else ()
        object.__setattr__(self, "dims", dims)
        object.__setattr__(self, "delta_dims", delta or ())
        if dims is not None:
            missing = [d for d in self.delta_dims if d not in dims]
            if missing:
                raise ActokError(
                    f"delta_dims include dimension {missing[0]}, which dims does not encode: "
                    "add it to dims or leave it out of delta_dims"
                )

    @property
    def is_default(self) -> bool:
        """True when it changes nothing (no file is written for it)."""
        return self.dims is None and not self.delta_dims and self.key is None

    def delta_columns(self) -> tuple[np.ndarray, np.ndarray]:
        """``(columns, state_dims)``: which columns of the encoded action are deltas, and the
        state dimension each is relative to."""
        if self.dims is None:  # the encoded columns are the action's own dimensions
            same = np.asarray(sorted(self.delta_dims), dtype=np.intp)
            return same, same
        cols = [j for j, d in enumerate(self.dims) if d in self.delta_dims]
        return np.asarray(cols, dtype=np.intp), np.asarray(
            [self.dims[j] for j in cols], dtype=np.intp
        )

    def add_state(self, actions: object, state: object) -> np.ndarray:
        """Absolute actions from decoded ones: adds ``state`` (the robot state at the chunk's
        first step, full state vector, shape ``(S,)`` or ``(N, S)`` for ``N`` chunks) to the
        ``delta_dims`` columns of ``actions`` (``(H, D)`` or ``(N, H, D)``). A copy; other
        columns unchanged."""
        a = np.array(actions, dtype=np.result_type(np.asarray(actions).dtype, np.float32))
        if not self.delta_dims:
            return a
        s = np.asarray(state)
        cols, state_dims = self.delta_columns()
        if s.shape[-1] <= int(state_dims.max()):
            raise ActokError(
                f"state has {s.shape[-1]} dimensions, but delta dimension "
                f"{int(state_dims.max())} needs index {int(state_dims.max())}"
            )
        if a.ndim == 2 and s.ndim == 1:
            a[:, cols] += s[state_dims]
        elif a.ndim == 3 and s.ndim == 2 and len(s) == len(a):
            a[:, :, cols] += s[:, None, state_dims]
        else:
            raise ActokError(
                f"add_state needs actions (H, D) with state (S,), or (N, H, D) with (N, S); "
                f"got {a.shape} and {s.shape}"
            )
        return a

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": _FORMAT,
                "version": _VERSION,
                "key": self.key,
                "dims": None if self.dims is None else list(self.dims),
                "delta_dims": list(self.delta_dims),
                "state_key": self.state_key,
                "stats_source": self.stats_source,
                "fit_selection": self.fit_selection,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str, where: str = "data preparation") -> DataPrep:
        try:
            raw = json.loads(text)
            if raw.get("format") != _FORMAT or raw.get("version") != _VERSION:
                raise LoadError(
                    f"{where} is not an actok data preparation of version {_VERSION} "
                    f"(format {raw.get('format')!r}, version {raw.get('version')!r})"
                )
            return cls(
                key=raw["key"],
                dims=None if raw["dims"] is None else tuple(raw["dims"]),
                delta_dims=tuple(raw["delta_dims"]),
                state_key=raw["state_key"],
                stats_source=raw.get("stats_source"),
                fit_selection=dict(raw.get("fit_selection") or {}),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            if isinstance(err, ActokError):
                raise
            raise LoadError(f"cannot read {where}: {err!r}") from None

    def save(self, directory: PathLike) -> None:
        """Writes ``actok_data.json`` into ``directory``; a default preparation removes a stale
        one instead (nothing to record)."""
        path = Path(os.fspath(directory)) / FILE_NAME
        if self.is_default and self.stats_source is None:
            path.unlink(missing_ok=True)
            return
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: PathLike) -> DataPrep:
        """The preparation recorded in a tokenizer directory (the default if none is)."""
        path = Path(os.fspath(directory)) / FILE_NAME
        if not path.is_file():
            return cls()
        return cls.from_json(path.read_text(encoding="utf-8"), str(path))
