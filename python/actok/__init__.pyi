"""Typed public API of actok (checked against the module by ``mypy.stubtest`` in CI)."""

from collections.abc import Sequence
from os import PathLike
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "ActokError",
    "DecodeError",
    "EncodeError",
    "FastTokenizer",
    "LoadError",
    "__version__",
    "dct",
    "get_num_threads",
    "idct",
    "set_num_threads",
]
__version__: str

_Norm: TypeAlias = Literal["backward", "ortho", "forward"]
_OnOverflow: TypeAlias = Literal["raise", "clip"]
_OnError: TypeAlias = Literal["raise", "pad", "zeros"]
_IdsLike: TypeAlias = Sequence[Sequence[int]] | tuple[npt.ArrayLike, npt.ArrayLike]

class ActokError(ValueError):
    """Base class of every error actok raises."""

class EncodeError(ActokError):
    """An action chunk cannot be tokenized losslessly (names the chunk and the flattened index)."""

class DecodeError(ActokError):
    """A token sequence does not decode to a valid chunk (names the chunk and the reason)."""

class LoadError(ActokError):
    """A tokenizer directory or file is missing, unreadable or malformed."""

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
    def from_pretrained(cls, path: str | PathLike[str]) -> FastTokenizer: ...
    @classmethod
    def fit(
        cls,
        chunks: npt.ArrayLike | Sequence[npt.ArrayLike],
        scale: float = 10,
        vocab_size: int = 1024,
        *,
        alphabet: Literal["lossless", "reference"] = "lossless",
        min_frequency: int = 2,
        max_token_length: int = 10000,
        progress: bool = False,
    ) -> FastTokenizer: ...
    def save_pretrained(self, path: str | PathLike[str]) -> None: ...
    @property
    def scale(self) -> float: ...
    @property
    def min_token(self) -> int: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def time_horizon(self) -> int | None: ...
    @property
    def action_dim(self) -> int | None: ...
    def encode(
        self, actions: npt.ArrayLike, *, on_overflow: _OnOverflow = "raise"
    ) -> list[list[int]]: ...
    def __call__(
        self, actions: npt.ArrayLike, *, on_overflow: _OnOverflow = "raise"
    ) -> list[list[int]]: ...
    def encode_batch(
        self,
        actions: npt.ArrayLike,
        max_length: int | None = None,
        pad_id: int = 0,
        *,
        on_overflow: _OnOverflow = "raise",
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
