"""Progress of long CLI work: on a terminal only, never on stdout."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TextIO

import pytest

from blockplan._cli_progress import tty_progress, tty_steps
from tests._cli import read_terminal


def test_no_progress_when_not_a_terminal() -> None:
    assert tty_progress("work", io.StringIO()) is None


def test_progress_on_a_terminal_rewrites_one_line_and_ends_it() -> None:
    main, other = os.openpty()
    with os.fdopen(other, "w") as tty:
        show = tty_progress("generating", tty)
        assert show is not None
        show(0, 4, "CT")
        show(4, 4, "done")
    text = read_terminal(main)
    assert "generating:   0 % CT" in text
    assert text.rstrip().endswith("generating: 100 % done")
    assert text.count("\r") >= 2 and text.endswith("\n")


def test_steps_are_silent_when_not_a_terminal() -> None:
    out = io.StringIO()
    with tty_steps("archive", 3, out) as step:
        step("reading")
        step("writing")
    assert out.getvalue() == ""


def _pty_text(write: Callable[[TextIO], None]) -> str:
    main, other = os.openpty()
    with os.fdopen(other, "w") as tty:
        write(tty)
    return read_terminal(main)


def test_steps_count_up_on_a_terminal_and_end_the_line() -> None:
    def run(tty: TextIO) -> None:
        with tty_steps("archive", 4, tty) as step:
            for what in ("reading", "finding", "building", "writing"):
                step(what)

    text = _pty_text(run)
    for pct, what in ((0, "reading"), (25, "finding"), (50, "building"), (75, "writing")):
        assert f"archive: {pct:3d} % {what}" in text
    assert text.rstrip().endswith("archive: 100 % done")


def test_a_failed_step_ends_the_line_without_claiming_done() -> None:
    def run(tty: TextIO) -> None:
        with pytest.raises(RuntimeError), tty_steps("export", 3, tty) as step:
            step("reading")
            raise RuntimeError("refused")

    text = _pty_text(run)
    assert "export:   0 % reading" in text
    assert "done" not in text and text.endswith("\n")
