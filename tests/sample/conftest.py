"""Fixtures of the sample-study tests: the committed folder and two fresh generations."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

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


@dataclass(frozen=True)
class _Running:
    """The second generation, writing ``out`` in a process of its own."""

    out: Path
    process: subprocess.Popen[bytes]
    stderr: BinaryIO


@pytest.fixture(scope="session")
def _second_generation(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[_Running | None]:
    """The second generation, started as ``python -m blockplan.sample`` in a process of
    its own while this one writes the first (on the machine's other core), when a test of
    the session asks for it; None otherwise."""
    if not any("generated_again" in item.fixturenames for item in request.session.items):
        yield None
        return
    out = tmp_path_factory.mktemp("sample_b")
    command = [sys.executable, "-m", "blockplan.sample", str(out), "--seed", str(DEFAULT_SEED)]
    # its messages go to a file: a pipe nobody reads until the end could fill and block it
    with (tmp_path_factory.mktemp("sample_b_log") / "stderr.txt").open("w+b") as err:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        yield _Running(out, process, err)
        if process.poll() is None:  # the session ended before a test waited for it
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def generated(
    tmp_path_factory: pytest.TempPathFactory, _second_generation: _Running | None
) -> Generated:
    """The study generated once per session with the default seed (in this process)."""
    return _generate(tmp_path_factory.mktemp("sample_a"))


@pytest.fixture(scope="session")
def generated_again(_second_generation: _Running | None) -> Generated:
    """A second, independent generation with the same seed: in a fresh process (the
    command line's), so that nothing one generation left in memory can shape the other."""
    assert _second_generation is not None
    running = _second_generation
    running.process.wait(timeout=900)
    running.stderr.seek(0)
    why = running.stderr.read().decode(errors="replace")[-2000:]
    assert running.process.returncode == 0, why
    return Generated(running.out)


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
