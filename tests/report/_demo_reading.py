"""Reading the demo report's text (the physician-reading tests; their fixtures `demo` and
`ledger` are in conftest.py)."""

from __future__ import annotations

import re


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def section(text: str, start: str, end: str) -> str:
    """The flat text from the heading ``start`` up to ``end``."""
    body = flat(text)
    assert start in body, start
    after = body.split(start, 1)[1]
    assert end in after, end
    return after.split(end, 1)[0]
