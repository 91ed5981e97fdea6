from typing import Any, TypeVar

_T = TypeVar("_T")

def apply_mask(logits: _T, mask: Any) -> _T: ...
