# The encoder shared by the datasets and Ray integrations. pyarrow and batch types are spelled
# Any here, so that type checking actok needs neither.
import os
from typing import Any, TypeAlias

from .. import FastTokenizer

TokenizerLike: TypeAlias = FastTokenizer | str | os.PathLike[str]

class BatchEncoder:
    tokenizer: FastTokenizer
    column: str
    ids_column: str
    lengths_column: str | None
    chunk_shape: tuple[int, int] | None
    drop_column: bool
    on_overflow: str
    check_shape: bool
    def __init__(
        self,
        tokenizer: TokenizerLike,
        *,
        column: str = "actions",
        ids_column: str = "action_ids",
        lengths_column: str | None = None,
        chunk_shape: tuple[int, int] | None = None,
        drop_column: bool = False,
        on_overflow: str = "raise",
        check_shape: bool = True,
    ) -> None: ...
    def __call__(self, batch: Any) -> Any: ...
