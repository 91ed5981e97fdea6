# torch types are spelled Any here, so that type checking actok does not need (or analyse) torch.
from typing import Any

from .. import FastTokenizer

__all__ = ["ActionCollator", "decode_ids", "encode_actions"]

def encode_actions(
    tokenizer: FastTokenizer,
    actions: Any,
    *,
    max_length: int | None = None,
    pad_id: int = 0,
    padding_side: str = "right",
    on_overflow: str = "raise",
    check_shape: bool = True,
) -> tuple[Any, Any]: ...
def decode_ids(
    tokenizer: FastTokenizer,
    ids: Any,
    attention_mask: Any = None,
    *,
    lengths: Any = None,
    padding_side: str = "right",
    time_horizon: int | None = None,
    action_dim: int | None = None,
    on_error: str = "raise",
    dtype: Any = None,
    return_valid: bool = False,
) -> Any: ...

class ActionCollator:
    tokenizer: FastTokenizer
    key: str | None
    max_length: int | None
    pad_id: int
    padding_side: str
    on_overflow: str
    check_shape: bool
    ids_key: str
    mask_key: str
    time_horizon: int | None
    action_dim: int | None
    def __init__(
        self,
        tokenizer: FastTokenizer,
        *,
        key: str | None = None,
        max_length: int | None = None,
        pad_id: int = 0,
        padding_side: str = "right",
        on_overflow: str = "raise",
        check_shape: bool = True,
        ids_key: str = "input_ids",
        mask_key: str = "attention_mask",
        time_horizon: int | None = None,
        action_dim: int | None = None,
    ) -> None: ...
    def __call__(self, batch: Any) -> dict[str, Any]: ...
    def decode(
        self,
        ids: Any,
        attention_mask: Any = None,
        *,
        lengths: Any = None,
        time_horizon: int | None = None,
        action_dim: int | None = None,
        on_error: str = "raise",
        dtype: Any = None,
        return_valid: bool = False,
    ) -> Any: ...
