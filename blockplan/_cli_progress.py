"""Progress of long CLI work: shown on a terminal, silent otherwise (scripts, cron, CI).

One line on stderr, rewritten in place (``\\r``), finished with a newline; stdout stays
for results, so ``blockplan … --json | jq`` is never disturbed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

__all__ = ["StepProgress", "tty_progress"]

StepProgress = Callable[[int, int, str], None]
"""``progress(done, total, what)``: ``done`` of ``total`` steps, now doing ``what``."""


def tty_progress(label: str, stream: TextIO | None = None) -> StepProgress | None:
    """A progress printer for ``label`` when ``stream`` (default stderr) is a terminal,
    else None (callers pass it on as "no progress")."""
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        return None

    def show(done: int, total: int, what: str) -> None:
        pct = int(100 * done / total) if total else 0
        end = "\n" if total and done >= total else ""
        out.write(f"\r\x1b[K{label}: {pct:3d} % {what}{end}")
        out.flush()

    return show
