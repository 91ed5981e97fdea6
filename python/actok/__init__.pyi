"""Typed public API of actok (checked against the module by ``mypy.stubtest`` in CI)."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any, ClassVar, Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "ActokError",
    "ClippingWarning",
    "Constraint",
    "ConstraintBatch",
    "DataPrep",
    "DecodeError",
    "EncodeError",
    "Episodes",
    "FastTokenizer",
    "LoadError",
    "Normalizer",
    "__version__",
    "chunk_episodes",
    "dct",
    "get_num_threads",
    "idct",
    "openpi_vocab_map",
    "read_episodes",
    "set_num_threads",
]
__version__: str

_Norm: TypeAlias = Literal["backward", "ortho", "forward"]
_OnOverflow: TypeAlias = Literal["raise", "clip"]
_OnError: TypeAlias = Literal["raise", "pad", "zeros"]
_NormalizerKind: TypeAlias = Literal["quantile", "meanstd", "minmax", "identity"]
_OutOfRange: TypeAlias = Literal["keep", "clip", "raise"]
_Pad: TypeAlias = Literal["repeat_last", "drop"]
_Path: TypeAlias = str | PathLike[str]
_IdsLike: TypeAlias = Sequence[Sequence[int]] | tuple[npt.ArrayLike, npt.ArrayLike]

class ActokError(ValueError):
    """Base class of every error actok raises."""

class EncodeError(ActokError):
    """An action chunk cannot be tokenized losslessly (names the chunk and the flattened index)."""

class DecodeError(ActokError):
    """A token sequence does not decode to a valid chunk (names the chunk and the reason)."""

class LoadError(ActokError):
    """A tokenizer directory or file is missing, unreadable or malformed."""

class ClippingWarning(UserWarning):
    """The normalizer clipped values to its fitted range (``out_of_range="clip"``)."""

    counts: list[int]
    total: int
    def __init__(self, message: str, counts: Sequence[int], total: int) -> None: ...

def dct(
    x: npt.ArrayLike,
    type: Literal[2, 3] = 2,
    axis: int = -1,
    norm: _Norm | None = None,
    orthogonalize: bool | None = None,
) -> npt.NDArray[np.floating]: ...
def idct(
    x: npt.ArrayLike,
    type: Literal[2, 3] = 2,
    axis: int = -1,
    norm: _Norm | None = None,
    orthogonalize: bool | None = None,
) -> npt.NDArray[np.floating]: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int | None) -> None: ...

class FastTokenizer:
    def __init__(self, _inner: object) -> None: ...
    @classmethod
    def from_pretrained(
        cls, path: str | PathLike[str], *, revision: str | None = None
    ) -> FastTokenizer: ...
    @classmethod
    def fit(
        cls,
        chunks: npt.ArrayLike | Sequence[npt.ArrayLike],
        scale: float = 10,
        vocab_size: int = 1024,
        *,
        alphabet: Literal["lossless", "reference"] = "lossless",
        min_frequency: int | None = None,
        max_token_length: int = 10000,
        normalizer: Normalizer | _NormalizerKind | None = None,
        out_of_range: _OutOfRange | None = None,
        progress: bool = False,
        placement: Literal["auto", "reference"] | int = "auto",
        target_rmse: float | None = None,
    ) -> FastTokenizer: ...
    def save_pretrained(self, path: str | PathLike[str]) -> None: ...
    @property
    def normalizer(self) -> Normalizer | None: ...
    def with_normalizer(self, normalizer: Normalizer | None) -> FastTokenizer: ...
    @property
    def scale(self) -> float: ...
    @property
    def min_token(self) -> int: ...
    @property
    def fit_report(self) -> dict[str, Any] | None: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def time_horizon(self) -> int | None: ...
    @property
    def action_dim(self) -> int | None: ...
    @property
    def vocab_len(self) -> int: ...
    def constraint(
        self, time_horizon: int | None = None, action_dim: int | None = None
    ) -> Constraint: ...
    def constraint_batch(
        self,
        batch: int,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        *,
        vocab_map: npt.ArrayLike | None = None,
        model_vocab_size: int | None = None,
        end_id: int | None = None,
    ) -> ConstraintBatch: ...
    @overload
    def decode_prefix(
        self,
        tokens: _IdsLike,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        return_valid: Literal[False] = False,
    ) -> npt.NDArray[np.float64]: ...
    @overload
    def decode_prefix(
        self,
        tokens: _IdsLike,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        *,
        return_valid: Literal[True],
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...
    def encode(
        self,
        actions: npt.ArrayLike,
        *,
        on_overflow: _OnOverflow = "raise",
        check_shape: bool = True,
    ) -> list[list[int]]: ...
    def __call__(
        self,
        actions: npt.ArrayLike,
        *,
        on_overflow: _OnOverflow = "raise",
        check_shape: bool = True,
    ) -> list[list[int]]: ...
    def encode_batch(
        self,
        actions: npt.ArrayLike,
        max_length: int | None = None,
        pad_id: int = 0,
        *,
        on_overflow: _OnOverflow = "raise",
        check_shape: bool = True,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]: ...
    @overload
    def decode(
        self,
        tokens: _IdsLike,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        on_error: _OnError = "raise",
        return_valid: Literal[False] = False,
    ) -> npt.NDArray[np.float64]: ...
    @overload
    def decode(
        self,
        tokens: _IdsLike,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        on_error: _OnError = "raise",
        *,
        return_valid: Literal[True],
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...

class Constraint:
    def __init__(self, _inner: object) -> None: ...
    def mask(self, out: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.bool_]: ...
    def advance(self, token_id: int) -> None: ...
    @property
    def is_complete(self) -> bool: ...
    def reset(self) -> None: ...
    @property
    def count(self) -> int: ...
    @property
    def position(self) -> int: ...
    @property
    def time_horizon(self) -> int: ...
    @property
    def action_dim(self) -> int: ...

class ConstraintBatch:
    def __init__(self, _inner: object) -> None: ...
    def mask(self, out: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.bool_]: ...
    def advance(self, ids: npt.ArrayLike) -> None: ...
    @property
    def is_complete(self) -> npt.NDArray[np.bool_]: ...
    @property
    def finished(self) -> npt.NDArray[np.bool_]: ...
    def reset(self) -> None: ...
    @property
    def batch(self) -> int: ...
    @property
    def width(self) -> int: ...
    @property
    def end_id(self) -> int | None: ...
    @property
    def time_horizon(self) -> int: ...
    @property
    def action_dim(self) -> int: ...

def openpi_vocab_map(
    model_vocab_size: int, skip: int = 128, *, vocab_len: int
) -> npt.NDArray[np.int64]: ...

class Normalizer:
    def __init__(self, _inner: object) -> None: ...
    @classmethod
    def fit(
        cls,
        actions: object,
        kind: _NormalizerKind = "quantile",
        out_of_range: _OutOfRange = "keep",
    ) -> Normalizer: ...
    @classmethod
    def from_parameters(
        cls,
        kind: _NormalizerKind,
        *,
        low: npt.ArrayLike | None = None,
        high: npt.ArrayLike | None = None,
        mean: npt.ArrayLike | None = None,
        std: npt.ArrayLike | None = None,
        min: npt.ArrayLike | None = None,
        max: npt.ArrayLike | None = None,
        dim: int | None = None,
        out_of_range: _OutOfRange = "keep",
    ) -> Normalizer: ...
    @classmethod
    def from_dataset_stats(
        cls,
        path: _Path,
        *,
        key: str = "action",
        kind: Literal["quantile", "minmax", "meanstd"] = "quantile",
        dims: str | Sequence[int] | None = None,
        out_of_range: _OutOfRange = "keep",
    ) -> Normalizer: ...
    def with_out_of_range(self, out_of_range: _OutOfRange) -> Normalizer: ...
    @property
    def out_of_range(self) -> _OutOfRange: ...
    @property
    def min(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def max(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def kind(self) -> _NormalizerKind: ...
    @property
    def dim(self) -> int: ...
    @property
    def low(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def high(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def mean(self) -> npt.NDArray[np.float64] | None: ...
    @property
    def std(self) -> npt.NDArray[np.float64] | None: ...
    def apply(self, x: npt.ArrayLike) -> npt.NDArray[np.floating]: ...
    def count_outside(self, x: npt.ArrayLike) -> npt.NDArray[np.int64]: ...
    def inverse(self, y: npt.ArrayLike) -> npt.NDArray[np.floating]: ...
    def save(self, path: _Path) -> None: ...
    @classmethod
    def load(cls, path: _Path) -> Normalizer: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str) -> Normalizer: ...
    def __eq__(self, other: object) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@dataclass(frozen=True, eq=False)
class Episodes:
    episodes: list[npt.NDArray[Any]]
    fps: float | None = None
    dim_names: list[str] | None = None
    source: str = ""
    states: list[npt.NDArray[Any]] | None = None
    dims: tuple[int, ...] | None = None
    episode_index: list[int] | None = None
    @property
    def dim(self) -> int: ...
    @property
    def lengths(self) -> list[int]: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[npt.NDArray[Any]]: ...
    def __getitem__(self, index: int) -> npt.NDArray[Any]: ...

def read_episodes(
    path: _Path,
    *,
    key: str | None = None,
    dims: str | Sequence[int] | None = None,
    state_key: str | None = None,
    max_episodes: int | None = None,
) -> Episodes: ...
def chunk_episodes(
    episodes: Episodes | npt.ArrayLike | Sequence[npt.ArrayLike],
    horizon: int,
    stride: int = 1,
    pad: _Pad = "repeat_last",
    *,
    delta_dims: str | Sequence[int] | None = None,
    states: Sequence[npt.ArrayLike] | None = None,
    sample_fraction: float | None = None,
) -> npt.NDArray[np.floating]: ...

@dataclass(frozen=True)
class DataPrep:
    key: str | None = None
    dims: tuple[int, ...] | None = None
    delta_dims: tuple[int, ...] = ()
    state_key: str = "observation.state"
    stats_source: str | None = None
    fit_selection: dict[str, Any] = ...
    def __post_init__(self) -> None: ...
    @property
    def is_default(self) -> bool: ...
    def delta_columns(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]: ...
    def add_state(self, actions: npt.ArrayLike, state: npt.ArrayLike) -> npt.NDArray[Any]: ...
    def to_json(self) -> str: ...
    @classmethod
    def from_json(cls, text: str, where: str = "data preparation") -> DataPrep: ...
    def save(self, directory: _Path) -> None: ...
    @classmethod
    def load(cls, directory: _Path) -> DataPrep: ...
