"""``blockplan case import`` of several files (a batch): progress on a terminal only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case

REPO = Path(__file__).resolve().parents[2]


def _import(files: list[Path], db: Path, stderr: int) -> subprocess.CompletedProcess[str]:
    args = ["case", "import", *map(str, files), "--db", str(db), "--user", "tester"]
    return subprocess.run(
        [sys.executable, "-m", "blockplan", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_case_import_counts_files_on_a_terminal_and_is_quiet_in_a_pipe(tmp_path: Path) -> None:
    files = [save_case_file(Case(), tmp_path / f"c{n}.blockplan.json") for n in range(3)]
    main_fd, tty_fd = os.openpty()
    try:
        shown_run = _import(files, tmp_path / "a.sqlite3", tty_fd)
    finally:
        os.close(tty_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk.decode())
    os.close(main_fd)
    shown = "".join(chunks)
    assert shown_run.returncode == 0, shown
    assert "case import:  25 % reading case file 2 of 3" in shown
    assert "case import:  75 % storing" in shown
    assert shown.rstrip().endswith("case import: 100 % done")
    assert "c0.blockplan.json" not in shown  # counts, never a file name
    assert shown_run.stdout.count("imported ") == 3
    quiet = _import(files, tmp_path / "b.sqlite3", subprocess.PIPE)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.count("imported ") == 3
