"""Fixtures of the sample-study tests: the committed folder and two fresh generations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from blockplan.sample import DEFAULT_SEED, generate_sample_study

COMMITTED = Path(__file__).resolve().parents[2] / "sample_dicom"


@dataclass(frozen=True)
class Generated:
    """A study written during the test session."""

    path: Path
    steps: list[tuple[int, int, str]] = field(default_factory=list)
    """The progress the generation reported, in order."""


def _generate(out: Path) -> Generated:
    steps: list[tuple[int, int, str]] = []
    generate_sample_study(out, seed=DEFAULT_SEED, progress=lambda *s: steps.append(s))
    return Generated(out, steps)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """The study generated once per session with the default seed."""
    return _generate(tmp_path_factory.mktemp("sample_a"))


@pytest.fixture(scope="session")
def generated_again(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    """A second, independent generation with the same seed."""
    return _generate(tmp_path_factory.mktemp("sample_b"))


@pytest.fixture(scope="session")
def committed() -> Path:
    """The committed ``sample_dicom/`` folder."""
    assert (COMMITTED / "truth.json").is_file(), (
        f"{COMMITTED} has no truth.json; run `python -m blockplan.sample sample_dicom`"
    )
    return COMMITTED


@pytest.fixture(scope="session")
def truth(committed: Path) -> dict[str, Any]:
    """The committed ``truth.json``."""
    data: dict[str, Any] = json.loads((committed / "truth.json").read_text(encoding="utf-8"))
    return data
