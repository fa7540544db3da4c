"""A real PDF/A validator on every report the tests build (PyPI ``page-validation``).

`validating_reports` wraps `blockplan.report.pdfa.make_pdfa` — the last step of every
report build — so each PDF/A file the suite makes is checked by ``page``; a failure
fails the test that built it, naming the rules broken.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest


def pdfa_failures(pdf: bytes) -> list[str]:
    """``rule: message`` for each PDF/A-2b rule ``page`` finds broken (empty: valid)."""
    import page

    report = page.validate_pdf_bytes(pdf, profile=page.ValidationProfile.PDF_A_2B)
    return [f"{f.rule_id}: {f.message}" for f in report.failures]


def assert_pdfa(pdf: bytes) -> None:
    failures = pdfa_failures(pdf)
    assert not failures, f"the report is not PDF/A-2b: {failures[:5]}"


@contextlib.contextmanager
def validating_reports() -> Iterator[None]:
    import blockplan.report.document as document

    original = document.make_pdfa

    def make_and_validate(*args: Any, **kwargs: Any) -> bytes:
        pdf = original(*args, **kwargs)
        assert_pdfa(pdf)
        return pdf

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(document, "make_pdfa", make_and_validate)
        yield
