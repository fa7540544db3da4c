"""Progress of long CLI work: shown on a terminal, silent otherwise (scripts, cron, CI).

One line on stderr, rewritten in place (``\\r``), finished with a newline; stdout stays
for results, so ``blockplan … --json | jq`` is never disturbed.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

__all__ = ["StepProgress", "tty_progress", "tty_steps"]

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


@contextlib.contextmanager
def tty_steps(
    label: str, total: int, stream: TextIO | None = None
) -> Iterator[Callable[[str], None]]:
    """For a job that names each step as it starts (``progress(what)``, as the archive jobs
    do): a callback showing step k of ``total`` on a terminal, a silent one otherwise.

    The line is finished on leaving the block — "100 % done" after success, a bare newline
    after a failure, so the error's one line starts on a line of its own.
    """
    out = sys.stderr if stream is None else stream
    show = tty_progress(label, out)
    started = 0

    def step(what: str) -> None:
        nonlocal started
        if show is not None:
            show(min(started, total - 1), total, what)
        started += 1

    try:
        yield step
    except BaseException:
        if show is not None and started:
            out.write("\n")
            out.flush()
        raise
    if show is not None:
        show(total, total, "done")
