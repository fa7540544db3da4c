"""Strict JSON: what Python's json accepts but blockplan must refuse, with a position."""

from __future__ import annotations

import json

import pytest

from blockplan.strict_json import MAX_DEPTH, StrictJsonError, loads_strict


def test_ordinary_json_reads_as_usual() -> None:
    text = '{"a": [1, 2.5, -3e2, "\\u00e9 \\ud83d\\ude00", null, true], "b": {"c": {}}}'
    assert loads_strict(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('{"x":\n 1e400}', r"number 1e400 is out of range", 2),
        ('{"x": -1E999}', r"out of range", 1),
        ('{"x":\n NaN}', r"NaN is not a valid JSON number", 2),
        ('{"x": Infinity}', r"Infinity is not a valid JSON number", 1),
        ('{"x": 1,\n "x": 2}', r"key 'x' appears twice", 2),
        ('{"name":\n "\\ud800"}', r"lone UTF-16 surrogate", 2),
        ('["ok", "\\udc00 low"]', r"lone UTF-16 surrogate", 1),
        ('{"n": ' + "9" * 5000 + "}", r"integer of 5000 digits is out of range", 1),
        ("[" * 5000 + "]" * 5000, rf"nested more than {MAX_DEPTH} levels", 1),
        ("[" * 65 + "]" * 65, rf"nested more than {MAX_DEPTH} levels", 1),
        ('{"a": ', r"Expecting value", 1),
    ],
)
def test_refused_with_a_message_and_a_line(text: str, message: str, line: int) -> None:
    with pytest.raises(StrictJsonError, match=message) as caught:
        loads_strict(text)
    assert isinstance(caught.value, json.JSONDecodeError)  # callers' handlers catch it
    assert caught.value.lineno == line


def test_depth_limit_is_exact_and_the_position_is_the_first_bracket_too_deep() -> None:
    assert loads_strict("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(StrictJsonError) as caught:
        loads_strict('{"s": "[[[[", "v": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}")
    assert caught.value.colno == len('{"s": "[[[[", "v": ') + MAX_DEPTH
