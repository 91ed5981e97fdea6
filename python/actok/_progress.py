"""A text progress bar on stderr, drawn for ``FastTokenizer.fit(progress=True)``.

The core reports ``(stage, done, total)`` through a callback; drawing is the Python package's job
(the bindings only convert), redrawn at most ten times a second.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Callable ``(stage, done, total)`` that draws ``actok fit STAGE [###   ] done/total 1.2s``
    (``command`` replaces ``actok fit``)."""

    def __init__(self, stream: TextIO | None = None, command: str = "actok fit") -> None:
        self._stream = sys.stderr if stream is None else stream
        self._command = command
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._stage: str | None = None
        self._drawn = 0.0

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            now = time.monotonic()
            new_stage = stage != self._stage
            if not new_stage and done < total and now - self._drawn < 0.1:
                return
            if new_stage and self._stage is not None:
                self._stream.write("\n")
            self._stage, self._drawn = stage, now
            filled = WIDTH if total == 0 else int(min(done, total) / total * WIDTH)
            bar = "#" * filled + " " * (WIDTH - filled)
            elapsed = now - self._start
            self._stream.write(f"\r{self._command} {stage:<7}[{bar}] {done}/{total} {elapsed:.1f}s")
            self._stream.flush()

    def close(self) -> None:
        """Ends the last line (once the fit has returned or failed)."""
        with self._lock:
            if self._stage is not None:
                self._stream.write("\n")
                self._stream.flush()
