"""Fixtures of the archive tests: a synthetic study, a case on it, its archive objects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from blockplan.archive.bundle import ArchiveObjects, build_archive
from blockplan.case.model import Case
from tests.archive._factory import Study, make_case, metrics_for, write_study
from tests.archive._orthanc import OrthancServer


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return write_study(tmp_path_factory.mktemp("study") / "ct")


@pytest.fixture(scope="module")
def case(study: Study) -> Case:
    return make_case(study)


@pytest.fixture(scope="module")
def objects(study: Study, case: Case) -> ArchiveObjects:
    return build_archive(case, study.headers, volume=study.volume, metrics=metrics_for(case))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """One Orthanc for the session (tests that stop or misconfigure one start their own).

    Safe to share: every test stores objects under UIDs of its own and counts only those.
    """
    with OrthancServer(tmp_path_factory.mktemp("orthanc")) as server:
        yield server
