"""Progress of long CLI work: on a terminal only, never on stdout."""

from __future__ import annotations

import io
import os

from blockplan._cli_progress import tty_progress


def test_no_progress_when_not_a_terminal() -> None:
    assert tty_progress("work", io.StringIO()) is None


def test_progress_on_a_terminal_rewrites_one_line_and_ends_it() -> None:
    main, other = os.openpty()
    with os.fdopen(other, "w") as tty:
        show = tty_progress("generating", tty)
        assert show is not None
        show(0, 4, "CT")
        show(4, 4, "done")
    text = ""
    while True:  # everything written, until the closed terminal reports EIO
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        text += chunk.decode()
    os.close(main)
    assert "generating:   0 % CT" in text
    assert text.rstrip().endswith("generating: 100 % done")
    assert text.count("\r") >= 2 and text.endswith("\n")
