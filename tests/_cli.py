"""``blockplan`` run as a whole process by tests, with stderr on a pipe or on a terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_blockplan(*args: str, stderr: int) -> subprocess.CompletedProcess[str]:
    """``blockplan ARGS`` as a process; its data folder is the test's own (the XDG
    variables tests/conftest.py sets, inherited)."""
    assert os.environ["XDG_DATA_HOME"].startswith(tempfile.gettempdir())
    return subprocess.run(
        [sys.executable, "-m", "blockplan", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def read_terminal(fd: int) -> str:
    """Everything written to a pty, read from its main end until the closed other end
    reports EIO; closes ``fd``."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks).decode("utf-8", "replace")


def blockplan_on_a_terminal(*args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """``blockplan ARGS`` with stderr on a terminal (a pty): the process and what it showed."""
    main_fd, tty_fd = os.openpty()
    try:
        done = run_blockplan(*args, stderr=tty_fd)
    finally:
        os.close(tty_fd)
    return done, read_terminal(main_fd)
