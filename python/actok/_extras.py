"""Optional dependencies: imported on first use, refused in one line naming the extra to install.

A missing one raises :class:`MissingExtra`, an :class:`ImportError` (what Python code expects of a
module that is not installed) whose message is the whole story: what needed the module and the
``pip install 'actok[EXTRA]'`` that provides it. The original ``ModuleNotFoundError`` is not
chained, so an uncaught one prints that line and not a second traceback, and the CLI prints it as
its one-line error.
"""

from __future__ import annotations

import importlib
from typing import Any


class MissingExtra(ImportError):
    """An optional dependency of actok is not installed (the message names the extra)."""


def require(module: str, *, extra: str, needed_for: str) -> Any:
    """``module``, imported, or :class:`MissingExtra` saying ``needed_for`` needs it and which
    extra of actok installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise MissingExtra(
            f"{needed_for} needs {top}, which is not installed: pip install 'actok[{extra}]'",
            name=top,
        ) from None
