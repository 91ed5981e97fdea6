"""``Normalizer``: per-dimension action normalization, fitted from raw actions (Rust core)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from . import _actok, _convert
from ._actok import ActokError
from ._arrays import episode_list, float_array
from ._clipping import warn_clipped

PathLike = Union[str, "os.PathLike[str]"]


def _readonly(values: np.ndarray | None) -> np.ndarray | None:
    if values is not None:
        values.flags.writeable = False
    return values


class Normalizer:
    """A fitted per-dimension map between raw actions and the ``[-1, 1]`` range FAST expects.

    Kinds (``y`` is the normalized value, per dimension):

    - ``"quantile"`` (FAST's recommendation): the 1st and 99th percentiles (``low``, ``high``,
      computed exactly as ``np.quantile(x.astype(np.float64), [0.01, 0.99], axis=0)``) map to -1
      and +1, ``y = 2 (x - low) / (high - low) - 1``. A dimension whose two percentiles coincide
      but whose data is not constant (a gripper closed 99% of the time) uses its min/max
      instead, so rare values are not flattened.
    - ``"minmax"``: the same with ``low``/``high`` = min/max.
    - ``"meanstd"``: ``y = (x - mean) / std`` with the population std (``np.std``).
    - ``"identity"``: ``y = x``.

    A fit also records each dimension's ``min`` and ``max``. ``out_of_range`` says what happens
    to a value outside the fitted range (``[low, high]``; ``[min, max]`` for meanstd):

    - ``"keep"`` (default): mapped like any other, beyond ±1; nothing is lost.
    - ``"clip"``: saturated to the fitted range, FAST's recipe; lossy, so every call that clips
      warns with :class:`ClippingWarning` giving the count per dimension.
    - ``"raise"``: a value outside ``[min, max]`` raises :class:`EncodeError`.

    Whatever the policy, a value beyond ``[min, max]`` by more than ``max - min`` raises
    :class:`EncodeError` naming where it is, the value and the fitted data's range: that is
    actions in other units (degrees into a radians fit) or another robot's normalizer, not a
    tail. A dimension that was constant in the fitting data accepts only that value.

    A dimension with zero spread never divides by zero: :meth:`apply` maps the constant to 0 and
    :meth:`inverse` maps anything back to it. NaN or infinity in :meth:`fit`, :meth:`apply` or
    :meth:`inverse` raises :class:`ActokError` naming the row and dimension.

    All arithmetic is float64; float32 input gives float32 output. ``inverse(apply(x))`` returns
    ``x`` up to rounding (at most a few ulps of ``|x| + |low|``) wherever ``apply`` did not clip.
    Immutable, picklable, comparable with ``==``.
    """

    __slots__ = ("_inner",)

    def __init__(self, _inner: Any) -> None:
        if not isinstance(_inner, _actok._Normalizer):
            raise TypeError("use Normalizer.fit(actions) or Normalizer.load(path)")
        self._inner = _inner

    @classmethod
    def fit(cls, actions: object, kind: str = "quantile", out_of_range: str = "keep") -> Normalizer:
        """Fits a normalizer to raw actions, all rows pooled.

        ``actions`` is a ``(T, D)`` array, an ``(N, H, D)`` array of chunks, a list of ``(T_i, D)``
        episodes, or an :class:`Episodes`. ``kind`` is ``"quantile"`` (default), ``"meanstd"``,
        ``"minmax"`` or ``"identity"``; ``out_of_range`` is ``"keep"`` (default), ``"clip"`` or
        ``"raise"`` (see the class documentation; the identity takes only ``"keep"``).
        """
        if isinstance(actions, np.ndarray) and actions.ndim == 3:
            # One buffer instead of N views; the core names a bad value's chunk and step.
            inner = _actok._Normalizer.fit_chunks(
                float_array(actions, "actions"), kind, out_of_range
            )
        else:
            inner = _actok._Normalizer.fit(episode_list(actions, "actions"), kind, out_of_range)
        return cls(inner)

    @classmethod
    def from_parameters(
        cls,
        kind: str,
        *,
        low: object = None,
        high: object = None,
        mean: object = None,
        std: object = None,
        min: object = None,  # noqa: A002 - the statistic's name in dataset stats files
        max: object = None,  # noqa: A002
        dim: int | None = None,
        out_of_range: str = "keep",
    ) -> Normalizer:
        """Builds a normalizer from known statistics (e.g. a dataset's published ``q01``/``q99``).

        ``low`` and ``high`` for ``"quantile"``/``"minmax"``, ``mean`` and ``std`` for
        ``"meanstd"``, only ``dim`` for ``"identity"``; optionally the data's ``min`` and ``max``
        (both), which bound what counts as far outside. Without them the fitted data is taken
        to span ``[low, high]``, or ``mean ± 3 std``.
        """

        def vector(values: object, name: str) -> list[float] | None:
            if values is None:
                return None
            a = float_array(values, name).astype(np.float64)
            if a.ndim != 1:
                raise ActokError(f"{name} must be 1-D, got shape {a.shape}")
            return a.tolist()

        return cls(
            _actok._Normalizer.from_statistics(
                kind,
                vector(low, "low"),
                vector(high, "high"),
                vector(mean, "mean"),
                vector(std, "std"),
                vector(min, "min"),
                vector(max, "max"),
                None if dim is None else _convert.count(dim, "dim"),
                out_of_range,
            )
        )

    @classmethod
    def from_dataset_stats(
        cls,
        path: PathLike,
        *,
        key: str = "action",
        kind: str = "quantile",
        dims: str | Sequence[int] | None = None,
        out_of_range: str = "keep",
    ) -> Normalizer:
        """A normalizer from a LeRobot dataset's published statistics instead of a fit.

        ``path`` is a dataset directory (its ``meta/stats.json`` is read) or a stats file;
        ``key`` the feature (``"action"``). ``kind="quantile"`` takes ``q01``/``q99``,
        ``"minmax"`` ``min``/``max``, ``"meanstd"`` ``mean``/``std``; ``min``/``max``, when
        present, bound what counts as far outside. ``dims`` (``"0:6,7:23"`` or indices) keeps
        those dimensions' statistics. Raises :class:`LoadError` naming the file and the missing
        statistics (and the kinds the file can give).
        """
        from ._stats import normalizer_from_stats

        return normalizer_from_stats(  # type: ignore[no-any-return]
            path, key=key, kind=kind, dims=dims, out_of_range=out_of_range
        )

    def with_out_of_range(self, out_of_range: str) -> Normalizer:
        """A copy with another ``out_of_range`` policy (``"keep"``, ``"clip"`` or ``"raise"``)."""
        return Normalizer(self._inner.with_out_of_range(out_of_range))

    @property
    def out_of_range(self) -> str:
        """The policy for values outside the fitted range: ``"keep"``, ``"clip"`` or ``"raise"``."""
        return self._inner.out_of_range

    @property
    def min(self) -> np.ndarray | None:
        """Per-dimension minimum of the fitting data, read-only; None if not known."""
        return _readonly(self._inner.min)

    @property
    def max(self) -> np.ndarray | None:
        """Per-dimension maximum of the fitting data, read-only; None if not known."""
        return _readonly(self._inner.max)

    @property
    def kind(self) -> str:
        """``"quantile"``, ``"meanstd"``, ``"minmax"`` or ``"identity"``."""
        return self._inner.kind

    @property
    def dim(self) -> int:
        """The action dimension D."""
        return self._inner.dim

    @property
    def low(self) -> np.ndarray | None:
        """Per-dimension value mapped to -1 (quantile, minmax), read-only; else None."""
        return _readonly(self._inner.low)

    @property
    def high(self) -> np.ndarray | None:
        """Per-dimension value mapped to +1 (quantile, minmax), read-only; else None."""
        return _readonly(self._inner.high)

    @property
    def mean(self) -> np.ndarray | None:
        """Per-dimension mean (meanstd), read-only; else None."""
        return _readonly(self._inner.mean)

    @property
    def std(self) -> np.ndarray | None:
        """Per-dimension population std (meanstd), read-only; else None."""
        return _readonly(self._inner.std)

    def apply(self, x: object) -> np.ndarray:
        """Normalizes raw actions over the last axis (any leading shape; float32 stays float32).

        Under ``out_of_range="clip"`` values outside the fitted range are clipped and a
        :class:`ClippingWarning` gives the count; a value the policy refuses raises
        :class:`EncodeError` naming its row (over the array flattened to ``(-1, D)``) and dimension.
        """
        a = float_array(x, "actions")
        y, clipped = self._inner.apply(a)
        warn_clipped(clipped, a.size, "Normalizer.apply")
        return y

    def count_outside(self, x: object) -> np.ndarray:
        """How many values of raw actions ``x`` lie outside the fitted range, per dimension.

        What ``out_of_range="clip"`` would clip (``"keep"`` maps them beyond ±1); NaN and
        infinity count as outside. Returns an int64 array of shape ``(D,)``.
        """
        return np.asarray(self._inner.count_outside(float_array(x, "actions")), dtype=np.int64)

    def inverse(self, y: object) -> np.ndarray:
        """Maps normalized actions back to raw actions (any leading shape; dtype kept)."""
        return self._inner.inverse(float_array(y, "actions"))

    def save(self, path: PathLike) -> None:
        """Writes the normalizer as JSON (``FastTokenizer.save_pretrained`` names it
        ``actok_normalizer.json``)."""
        self._inner.save(os.fspath(path))

    @classmethod
    def load(cls, path: PathLike) -> Normalizer:
        """Reads a file written by :meth:`save`; raises :class:`LoadError` if it is malformed."""
        return cls(_actok._Normalizer.load(os.fspath(path)))

    def to_json(self) -> str:
        """The JSON text :meth:`save` writes."""
        return self._inner.to_json()

    @classmethod
    def from_json(cls, text: str) -> Normalizer:
        """Parses the text of :meth:`to_json`."""
        return cls(_actok._Normalizer.from_json(text))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Normalizer):
            return NotImplemented
        return bool(self._inner == other._inner)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_from_json, (self.to_json(),))

    def __repr__(self) -> str:
        def fmt(v: np.ndarray) -> str:
            return np.array2string(v, precision=4, separator=", ", threshold=8)

        named = (
            ("low", self.low),
            ("high", self.high),
            ("mean", self.mean),
            ("std", self.std),
            ("min", self.min),
            ("max", self.max),
        )
        params = "".join(f", {name}={fmt(v)}" for name, v in named if v is not None)
        return (
            f"Normalizer(kind={self.kind!r}, dim={self.dim}{params}, "
            f"out_of_range={self.out_of_range!r})"
        )


def _from_json(text: str) -> Normalizer:
    return Normalizer.from_json(text)
