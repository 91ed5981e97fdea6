"""Stub of the compiled extension (rust/actok-python); private — use the `actok` package."""

from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "ActokError",
    "DecodeError",
    "EncodeError",
    "LoadError",
    "_FastTokenizer",
    "__version__",
    "_fit",
    "_pretokenize",
    "get_num_threads",
    "set_num_threads",
    "transform",
]
__version__: str

class ActokError(ValueError): ...
class EncodeError(ActokError): ...
class DecodeError(ActokError): ...
class LoadError(ActokError): ...

def transform(
    x: npt.NDArray[np.floating],
    axis: int,
    kind: int,
    norm: str,
    orthogonalize: bool | None,
    inverse: bool,
) -> npt.NDArray[np.floating]: ...
def _pretokenize(text: str) -> list[str]: ...
def _fit(
    chunks: npt.NDArray[np.floating],
    scale: float,
    vocab_size: int,
    alphabet: str,
    min_frequency: int,
    max_token_length: int,
    progress: bool,
) -> _FastTokenizer: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int | None) -> None: ...

@final
class _FastTokenizer:
    @staticmethod
    def from_pretrained(path: str) -> _FastTokenizer: ...
    @staticmethod
    def from_json(tokenizer_json: str, processor_config_json: str) -> _FastTokenizer: ...
    def save_pretrained(self, path: str) -> None: ...
    def tokenizer_json(self) -> str: ...
    def processor_config_json(self) -> str: ...
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
    @property
    def vocab_len(self) -> int: ...
    def encode(self, actions: npt.NDArray[np.floating], on_overflow: str) -> list[list[int]]: ...
    def encode_padded(
        self,
        actions: npt.NDArray[np.floating],
        on_overflow: str,
        max_length: int | None,
        pad_id: int,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]: ...
    def decode(
        self,
        sequences: list[list[int]],
        time_horizon: int | None,
        action_dim: int | None,
        on_error: str,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...
    def decode_padded(
        self,
        ids: npt.NDArray[np.int64],
        lengths: npt.NDArray[np.int64],
        time_horizon: int | None,
        action_dim: int | None,
        on_error: str,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]: ...
