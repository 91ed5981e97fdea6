"""Input normalization shared by the public functions: dtype, byte order, contiguity."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._actok import ActokError


def host(x: Any, what: str) -> Any:
    """``x`` with a torch tensor replaced by a NumPy view of it; anything else unchanged.

    Code written for the Hugging Face processor passes model outputs and batches as tensors.
    A CPU tensor is read in place (detached from autograd; bfloat16, which NumPy lacks, widened
    exactly to float32). A tensor on another device is refused, naming it: actok computes on
    the CPU, and copying silently from a GPU inside a control loop or data loader would hide a
    device synchronization. torch is never imported here: a tensor is recognized by its type.
    """
    if not _is_torch_tensor(x):
        return x
    device = x.device
    if device.type != "cpu":
        raise ActokError(
            f"{what} is a torch tensor on device {device}: move it to the CPU first "
            f"(tensor.cpu()); actok computes on the CPU and does not copy from {device.type} "
            "implicitly"
        )
    x = x.detach()
    if str(x.dtype) == "torch.bfloat16":
        x = x.float()
    return x.numpy()


def _is_torch_tensor(x: object) -> bool:
    cls = type(x)
    return cls.__module__.split(".", 1)[0] == "torch" and hasattr(x, "device")


#: The element types the core computes on, in native byte order.
_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def float_array(x: object, what: str) -> np.ndarray:
    """``x`` as a native-byte-order C-contiguous float32 or float64 array.

    Follows scipy's promotion: float16 becomes float32, integers and bools become float64.
    Complex, object and extended-precision inputs are refused rather than silently truncated.
    A torch CPU tensor is read in place (see :func:`host`); a list may hold tensors or arrays.
    """
    if type(x) is np.ndarray and x.dtype in _NATIVE_FLOATS and x.flags.c_contiguous:
        # Already what the core takes (the usual call): np.require would return it unchanged,
        # after about a microsecond of checks, most of a batch-of-one encode's Python overhead.
        return x
    x = host(x, what)
    if isinstance(x, (list, tuple)) and any(_is_torch_tensor(item) for item in x):
        x = [host(item, f"{what}[{i}]") for i, item in enumerate(x)]
    try:
        a = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise ActokError(f"{what} must be a numeric array-like: {exc}") from None
    kind = a.dtype.kind
    target: np.dtype
    if kind in "biu":
        target = np.dtype(np.float64)
    elif kind == "f" and a.dtype.itemsize <= 4:
        target = np.dtype(np.float32)
    elif kind == "f" and a.dtype.itemsize == 8:
        target = np.dtype(np.float64)
    else:
        raise ActokError(
            f"{what} must hold real numbers (float32, float64, float16, int or bool), "
            f"got dtype {a.dtype}"
        )
    # np.require keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
    return np.require(a, dtype=target, requirements="C")


def episode_list(x: object, what: str = "episodes") -> list[np.ndarray]:
    """``x`` as a list of native C-contiguous ``(T_i, D)`` float arrays of one dtype.

    Accepts an :class:`~actok.Episodes`, one ``(T, D)`` array (one episode), an ``(N, T, D)``
    array (N equal-length episodes) or a sequence of ``(T_i, D)`` array-likes. The common dtype is
    float32 when every episode is float32 (or float16), float64 otherwise (integers and bools
    become float64). The episodes' shapes are checked by the core (``actok::episodes_dim``),
    which names the offending episode.
    """
    items = getattr(x, "episodes", x)
    if isinstance(items, (str, bytes)) or items is None:
        raise ActokError(f"{what} must be an array or a list of (T, D) arrays, got {items!r}")
    if isinstance(items, np.ndarray) or not isinstance(items, (list, tuple)):
        a = float_array(items, what)
        if a.ndim == 2:
            parts = [a]
        elif a.ndim == 3:
            parts = list(a)
        else:
            raise ActokError(
                f"{what} must have shape (T, D) or (N, T, D), or be a list of (T, D) arrays; "
                f"got an array of shape {a.shape}"
            )
    else:
        parts = [float_array(item, f"episode {i}") for i, item in enumerate(items)]
    dtype = np.float32 if all(p.dtype == np.float32 for p in parts) else np.float64
    return [np.require(p, dtype=dtype, requirements="C") for p in parts]
