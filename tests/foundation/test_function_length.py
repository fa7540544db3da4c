"""Decision code reads as short named steps: no core function body above 60 lines of code.

Lines of code are the lines of a function's body holding code: the signature, the
docstring, comments and blank lines do not count (STYLE.md "Small decision code").
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "blockplan"
LIMIT = 60
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}


def _code_lines(source: str) -> set[int]:
    lines: set[int] = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in _SKIP:
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef, code: set[int]) -> int:
    body = node.body
    first = body[0]
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        if len(body) == 1:
            return 0
        first = body[1]
    end = node.end_lineno or first.lineno
    return sum(1 for line in range(first.lineno, end + 1) if line in code)


def long_functions(root: Path = CORE, limit: int = LIMIT) -> list[str]:
    """``path:line name (n lines)`` of every function whose body exceeds ``limit``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        code = _code_lines(source)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = _body_lines(node, code)
                if n > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({n})")
    return found


def test_no_core_function_is_longer_than_sixty_lines_of_code() -> None:
    assert long_functions() == []


def test_the_counter_counts_code_not_docstrings_or_comments() -> None:
    source = (
        'def f(a,\n      b):\n    """Doc.\n\n    More."""\n    # note\n\n    x = 1\n    return x\n'
    )
    tree = ast.parse(source)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    assert _body_lines(node, _code_lines(source)) == 2
