"""Strict JSON for the files people hand to blockplan (case files, profiles, settings).

Python's `json` module accepts what other JSON readers refuse or what breaks blockplan
later, far from the file: ``NaN`` and ``Infinity``, numbers such as ``1e400`` that
overflow to infinity, a key twice in one object, escapes of lone UTF-16 surrogates
(``"\\ud800"``, not Unicode text: writing it back fails), and nesting thousands of levels
deep (Python's recursion limit). `loads_strict` refuses each with a `StrictJsonError`, a
`json.JSONDecodeError` whose message names the problem and whose position is where it
is in the text, so every caller that reports JSON syntax errors reports these too.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["MAX_DEPTH", "StrictJsonError", "loads_strict"]

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (a case file needs fewer than 10)."""

_MAX_DIGITS = 400  # more than any float carries (1.8e308)
_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})")
_LONE_LOW = re.compile(r"(?<![0-9a-fA-F]{4})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class StrictJsonError(json.JSONDecodeError):
    """JSON that is valid for Python's `json` but refused by `loads_strict`."""


class _Refused(ValueError):
    """Raised inside a `json` hook; becomes a `StrictJsonError` with a position."""

    def __init__(self, message: str, needle: str) -> None:
        super().__init__(message)
        self.needle = needle


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused(f"key {key!r} appears twice in one object", json.dumps(key))
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise _Refused(f"{name} is not a valid JSON number", name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text} is out of range (finite numbers only)", text)
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise _Refused(f"an integer of {len(text)} digits is out of range", text[:40])
    return int(text)


def loads_strict(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text`` as strict JSON (see the module docstring).

    Raises
    ------
    StrictJsonError
        A `json.JSONDecodeError` (``msg``, ``lineno``, ``colno``) for invalid JSON and
        for each strict rule broken.
    """
    try:
        doc = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_float=_finite,
            parse_int=_bounded_int,
        )
    except _Refused as err:
        raise StrictJsonError(str(err), text, max(text.rfind(err.needle), 0)) from None
    except RecursionError:
        where = _depth_position(text, max_depth)
        raise StrictJsonError(_too_deep(max_depth), text, where) from None
    except json.JSONDecodeError as err:
        raise StrictJsonError(err.msg, text, err.pos) from None
    _check_values(doc, text, max_depth)
    return doc


def _too_deep(max_depth: int) -> str:
    return f"arrays and objects nested more than {max_depth} levels deep"


def _check_values(doc: Any, text: str, max_depth: int) -> None:
    """Depth and lone surrogates, walked without recursion."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > max_depth:
                raise StrictJsonError(_too_deep(max_depth), text, _depth_position(text, max_depth))
            items = list(value.items()) if isinstance(value, dict) else list(enumerate(value))
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key, text)
                stack.append((item, depth + 1))
        elif isinstance(value, str):
            _check_text(value, text)


def _check_text(value: str, text: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        found = _SURROGATE.search(text) or _LONE_LOW.search(text)
        where = found.start() if found else 0
        raise StrictJsonError(
            "a \\u escape of a lone UTF-16 surrogate is not Unicode text", text, where
        ) from None


def _depth_position(text: str, max_depth: int) -> int:
    """Offset of the first bracket nested deeper than ``max_depth`` (strings skipped)."""
    depth, in_string, escaped = 0, False, False
    for pos, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > max_depth:
                return pos
        elif char in "]}":
            depth -= 1
    return 0
