"""Running a command with its stderr on a pseudo-terminal, for the tests of progress bars (which
are drawn only on a terminal)."""

from __future__ import annotations

import os
import pty
import select
import subprocess


def stderr_on_a_terminal(args: list[str], timeout: float = 60) -> bytes:
    """Runs ``args`` with stderr on a fresh pseudo-terminal (stdout discarded) and returns all
    it wrote there; the command must succeed."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=secondary)
    os.close(secondary)
    seen = b""
    while True:  # read as it comes, so that a full terminal buffer never blocks the child
        ready, _, _ = select.select([primary], [], [], timeout)
        try:
            chunk = os.read(primary, 4096) if ready else b""
        except OSError:  # EIO: the child closed the terminal
            chunk = b""
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert proc.wait(timeout) == 0, seen[-2000:]
    return seen
