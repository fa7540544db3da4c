"""A real process killed with SIGKILL at a point the test chooses (never sleep-and-hope).

The child runs ``CODE`` (Python source) in a fresh interpreter. The code wraps one step
of the writer it drives so that, at the chosen moment, it calls `PAUSE`: prints
``paused`` and blocks reading stdin. The test waits for that line, then kills the child
with SIGKILL — exactly as a crash, ``kill -9`` or a power cut would stop it there. Nothing
of this is in blockplan itself: the wrapping lives in the child's code only.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAUSE = 'os.write(1, b"paused\\n"); sys.stdin.read()'
"""The child's pause: one line on stdout, then blocked until killed."""
_TIMEOUT_S = 120.0


class KilledChild:
    """``python -c CODE ARGS`` run until it reports ``paused``, then killed with SIGKILL."""

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )

    def kill_when_paused(self) -> None:
        """Wait for ``paused`` (failing with the child's stderr if it ends first), SIGKILL."""
        assert self.proc.stdout is not None
        out = b""
        while not out.endswith(b"paused\n"):
            ready, _, _ = select.select([self.proc.stdout], [], [], _TIMEOUT_S)
            chunk = os.read(self.proc.stdout.fileno(), 4096) if ready else b""
            if not chunk:
                self.proc.kill()
                _, err = self.proc.communicate(timeout=30)
                raise AssertionError(f"the child never paused ({out!r}): {err.decode()[-2000:]}")
            out += chunk
        self.proc.send_signal(signal.SIGKILL)
        self.proc.communicate(timeout=30)
        assert self.proc.returncode == -signal.SIGKILL
