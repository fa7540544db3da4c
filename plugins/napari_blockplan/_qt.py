"""Small typed helpers over Qt's optional getters.

Qt's type stubs declare every getter (``item``, ``verticalHeader``, ``model`` …) as possibly
None. Where the widget's own construction guarantees the object, `present` says so once,
and a missing one is a programming error with a message, not an AttributeError on None.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["present"]

T = TypeVar("T")


def present(value: T | None, what: str = "Qt object") -> T:
    """``value``, which the widget's construction guarantees (RuntimeError when missing)."""
    if value is None:
        raise RuntimeError(f"blockplan: expected {what} is missing (a programming error)")
    return value
