"""``blockplan case import`` of several files (a batch): progress on a terminal only."""

from __future__ import annotations

import subprocess
from pathlib import Path

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from tests._cli import blockplan_on_a_terminal, run_blockplan


def _args(files: list[Path], db: Path) -> list[str]:
    return ["case", "import", *map(str, files), "--db", str(db), "--user", "tester"]


def test_case_import_counts_files_on_a_terminal_and_is_quiet_in_a_pipe(tmp_path: Path) -> None:
    files = [save_case_file(Case(), tmp_path / f"c{n}.blockplan.json") for n in range(3)]
    shown_run, shown = blockplan_on_a_terminal(*_args(files, tmp_path / "a.sqlite3"))
    assert shown_run.returncode == 0, shown
    assert "case import:  25 % reading case file 2 of 3" in shown
    assert "case import:  75 % storing" in shown
    assert shown.rstrip().endswith("case import: 100 % done")
    assert "c0.blockplan.json" not in shown  # counts, never a file name
    assert shown_run.stdout.count("imported ") == 3
    quiet = run_blockplan(*_args(files, tmp_path / "b.sqlite3"), stderr=subprocess.PIPE)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.count("imported ") == 3
