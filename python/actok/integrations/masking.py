"""``apply_mask``: the constraint's boolean masks applied to logits of any array library.

Framework-free: numpy is the only import; a torch tensor or a JAX array is recognised by the
module its type comes from, so neither library is imported here (a caller holding one has
already imported it).
"""

from __future__ import annotations

import sys
from typing import Any, TypeVar

import numpy as np

from .._actok import ActokError

_T = TypeVar("_T")


def _library(x: object) -> str:
    """``"numpy"``, ``"torch"``, ``"jax"`` or ``""``: the array library ``x`` belongs to, from the
    module of its type (no import)."""
    if isinstance(x, np.ndarray):
        return "numpy"
    module = type(x).__module__ or ""
    top = module.split(".", 1)[0]
    if top == "torch":
        return "torch"
    if top in ("jax", "jaxlib"):
        return "jax"
    return ""


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in x.shape)


def _check(logits: Any, mask: Any) -> None:
    ls, ms = _shape(logits), _shape(mask)
    if len(ls) not in (1, 2):
        raise ActokError(f"logits must have shape (batch, vocab) or (vocab,), got shape {ls}")
    if ls != ms:
        raise ActokError(
            f"mask has shape {ms} but logits have shape {ls}: they must be equal "
            "(one mask row per logits row, one column per vocabulary id)"
        )


def apply_mask(logits: _T, mask: Any) -> _T:
    """Set ``logits`` to ``-inf`` wherever ``mask`` is False, and return them.

    ``logits``: a floating array of shape ``(batch, V)`` (or ``(V,)``) from numpy, torch or JAX;
    ``mask``: a boolean array of the same shape (what ``constraint_batch(...).mask()`` returns;
    numpy, torch or JAX), True where an id is allowed.

    numpy arrays and torch tensors are changed **in place** (and returned); the mask is moved to
    the tensor's device when needed. JAX arrays are immutable: the masked array is a **new**
    array, returned, and ``logits`` is unchanged, so always use the return value
    (``logits = apply_mask(logits, mask)``), which is right for every library.

    Raises :class:`actok.ActokError` when the shapes differ, the mask is not boolean, the logits
    are not floating point, or ``logits`` is none of these array types.
    """
    kind = _library(logits)
    if not kind:
        raise ActokError(
            "apply_mask takes a numpy array, a torch tensor or a JAX array of logits, "
            f"got {type(logits).__module__}.{type(logits).__name__}"
        )
    _check(logits, mask)
    if kind == "numpy":
        return _apply_numpy(logits, mask)  # type: ignore[arg-type,return-value]
    if kind == "torch":
        return _apply_torch(logits, mask)  # type: ignore[no-any-return]
    return _apply_jax(logits, mask)  # type: ignore[no-any-return]


def _numpy_mask(mask: Any) -> np.ndarray:
    if _library(mask) == "torch":
        mask = mask.detach().cpu().numpy()
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise ActokError(f"mask must be a boolean array (True = allowed), got dtype {m.dtype}")
    return m


def _apply_numpy(logits: np.ndarray, mask: Any) -> np.ndarray:
    if not np.issubdtype(logits.dtype, np.floating):
        raise ActokError(f"logits must be floating point to hold -inf, got dtype {logits.dtype}")
    if not logits.flags.writeable:
        raise ActokError("logits is a read-only numpy array: apply_mask changes it in place")
    m = _numpy_mask(mask)
    np.copyto(logits, -np.inf, where=~m)
    return logits


def _apply_torch(logits: Any, mask: Any) -> Any:
    torch = sys.modules["torch"]
    if not logits.is_floating_point():
        raise ActokError(f"logits must be floating point to hold -inf, got dtype {logits.dtype}")
    if _library(mask) == "torch":
        if mask.dtype != torch.bool:
            raise ActokError(
                f"mask must be a boolean tensor (True = allowed), got dtype {mask.dtype}"
            )
        m = mask
    else:
        m = torch.from_numpy(np.ascontiguousarray(_numpy_mask(mask)))
    m = m.to(device=logits.device, non_blocking=True)
    logits.masked_fill_(m.logical_not(), float("-inf"))
    return logits


def _apply_jax(logits: Any, mask: Any) -> Any:
    import jax.numpy as jnp  # already imported: ``logits`` is a JAX array

    if not jnp.issubdtype(logits.dtype, jnp.floating):
        raise ActokError(f"logits must be floating point to hold -inf, got dtype {logits.dtype}")
    if _library(mask) == "jax":
        if mask.dtype != jnp.bool_:
            raise ActokError(
                f"mask must be a boolean array (True = allowed), got dtype {mask.dtype}"
            )
        m = mask
    else:
        m = _numpy_mask(mask)
    return jnp.where(m, logits, jnp.asarray(-jnp.inf, dtype=logits.dtype))
