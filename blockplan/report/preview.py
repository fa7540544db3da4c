"""Page images of a report PDF (for previews), rendered by poppler's ``pdftoppm``."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from blockplan.errors import ReportError

__all__ = ["render_pages"]


def render_pages(
    pdf: bytes, *, dpi: int = 60, first: int = 1, last: int | None = None
) -> list[bytes]:
    """PNG images of the pages ``first``..``last`` (1-based, inclusive) of a PDF.

    Raises
    ------
    ReportError
        When ``pdftoppm`` (Debian package ``poppler-utils``) is missing or fails.
    """
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ReportError(
            "report preview needs pdftoppm: install the Debian package poppler-utils "
            "(the report itself can still be saved)"
        )
    with tempfile.TemporaryDirectory(prefix="blockplan-preview-") as tmp:
        src = Path(tmp) / "report.pdf"
        src.write_bytes(pdf)
        cmd = [exe, "-png", "-r", str(int(dpi)), "-f", str(int(first))]
        if last is not None:
            cmd += ["-l", str(int(last))]
        done = subprocess.run(
            [*cmd, str(src), str(Path(tmp) / "page")], capture_output=True, text=True
        )
        if done.returncode != 0:
            raise ReportError(f"pdftoppm could not render the report: {done.stderr.strip()}")
        pages = sorted(Path(tmp).glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))
        return [p.read_bytes() for p in pages]
