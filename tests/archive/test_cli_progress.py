"""``blockplan archive`` / ``export`` as whole processes: progress on a terminal (stderr
a pty), nothing on stderr when it is a pipe, and stdout only for the result."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from tests._cli import blockplan_on_a_terminal, run_blockplan
from tests.archive._factory import Study


@pytest.fixture(scope="module")
def case_file(case: Case, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_case_file(case, tmp_path_factory.mktemp("case") / "case.blockplan.json")


def test_archive_shows_its_steps_on_a_terminal(
    case_file: Path, study: Study, tmp_path: Path
) -> None:
    done, shown = blockplan_on_a_terminal(
        "archive", str(case_file), "--images", str(study.folder), "--to", str(tmp_path / "a")
    )
    assert done.returncode == 0, shown
    assert "archive:   0 % reading the images the plan was made on" in shown
    assert "archive:  50 % building the SR and SEG" in shown
    assert shown.rstrip().endswith("archive: 100 % done") and shown.endswith("\n")
    assert done.stdout.startswith("archived case to ")  # results on stdout, no progress
    assert "\r" not in done.stdout and "%" not in done.stdout


def test_archive_and_export_are_quiet_into_a_pipe(
    case_file: Path, study: Study, tmp_path: Path
) -> None:
    archived = run_blockplan(
        "archive",
        str(case_file),
        "--images",
        str(study.folder),
        "--to",
        str(tmp_path / "a"),
        "--json",
        stderr=subprocess.PIPE,
    )
    assert archived.returncode == 0, archived.stderr
    assert archived.stderr == ""
    assert json.loads(archived.stdout)["folder"] == str(tmp_path / "a")
    exported = run_blockplan(
        "export",
        str(case_file),
        "--images",
        str(study.folder),
        "--deidentify",
        "--to",
        str(tmp_path / "e"),
        stderr=subprocess.PIPE,
    )
    assert exported.returncode == 0, exported.stderr
    assert exported.stderr == ""
    assert exported.stdout.startswith("exported de-identified case to ")
