"""Shared test set-up: tests never touch the user's home, store or cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Deterministic property tests: the same examples on every run and machine (a flaky test
# blocks every later landing); no example database carried between runs.
settings.register_profile("blockplan", derandomize=True, database=None, deadline=None)
settings.load_profile("blockplan")

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "sample_dicom"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("BLOCKPLAN_DB", raising=False)
    yield


@pytest.fixture(autouse=True, scope="session")
def _every_report_is_pdfa():
    """Every report the suite builds passes a real PDF/A-2b validator (issue 17 point 7)."""
    from tests.report._pdfa_check import validating_reports

    with validating_reports():
        yield


def pytest_report_header(config: pytest.Config) -> str:
    return f"blockplan tests; DISPLAY={os.environ.get('DISPLAY', '')!r}"
