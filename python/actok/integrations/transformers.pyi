# torch and transformers types are spelled Any here, so that type checking actok does not need
# (or analyse) either library.
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import FastTokenizer

__all__ = ["ActionConstraintLogitsProcessor"]

class ActionConstraintLogitsProcessor:
    tokenizer: FastTokenizer
    time_horizon: int | None
    action_dim: int | None
    vocab_map: npt.NDArray[np.int64] | None
    model_vocab_size: int | None
    end_id: int | None
    prompt_length: int | None
    def __init__(
        self,
        tokenizer: FastTokenizer,
        *,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        vocab_map: npt.ArrayLike | None = None,
        model_vocab_size: int | None = None,
        end_id: int | None = None,
        prompt_length: int | None = None,
    ) -> None: ...
    @property
    def max_new_tokens(self) -> int: ...
    @property
    def start(self) -> int | None: ...
    @property
    def is_complete(self) -> npt.NDArray[np.bool_]: ...
    @property
    def detached(self) -> npt.NDArray[np.bool_]: ...
    def reset(self) -> None: ...
    def stopping_criteria(self) -> Any: ...
    def action_ids(self, sequences: Any) -> list[list[int]]: ...
    def __call__(self, input_ids: Any, scores: Any) -> Any: ...
