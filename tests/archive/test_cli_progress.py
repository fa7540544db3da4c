"""``blockplan archive`` / ``export`` as whole processes: progress on a terminal (stderr
a pty), nothing on stderr when it is a pipe, and stdout only for the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from tests.archive._factory import Study

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def case_file(case: Case, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_case_file(case, tmp_path_factory.mktemp("case") / "case.blockplan.json")


def _blockplan(*args: str, stderr: int) -> subprocess.CompletedProcess[str]:
    """``blockplan ARGS`` as a process; its data folder is the test's own (the XDG
    variables tests/conftest.py sets, inherited)."""
    assert os.environ["XDG_DATA_HOME"].startswith(tempfile.gettempdir())
    return subprocess.run(
        [sys.executable, "-m", "blockplan", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def _read_all(fd: int) -> str:
    """Everything written to the pty, until its closed end reports EIO."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def test_archive_shows_its_steps_on_a_terminal(
    case_file: Path, study: Study, tmp_path: Path
) -> None:
    main_fd, tty_fd = os.openpty()
    try:
        done = _blockplan(
            "archive",
            str(case_file),
            "--images",
            str(study.folder),
            "--to",
            str(tmp_path / "a"),
            stderr=tty_fd,
        )
    finally:
        os.close(tty_fd)
    shown = _read_all(main_fd)
    os.close(main_fd)
    assert done.returncode == 0, shown
    assert "archive:   0 % reading the images the plan was made on" in shown
    assert "archive:  50 % building the SR and SEG" in shown
    assert shown.rstrip().endswith("archive: 100 % done") and shown.endswith("\n")
    assert done.stdout.startswith("archived case to ")  # results on stdout, no progress
    assert "\r" not in done.stdout and "%" not in done.stdout


def test_archive_and_export_are_quiet_into_a_pipe(
    case_file: Path, study: Study, tmp_path: Path
) -> None:
    archived = _blockplan(
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
    exported = _blockplan(
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
