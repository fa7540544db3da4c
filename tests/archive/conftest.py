"""Fixtures of the archive tests: a synthetic study, a case on it, its archive objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from blockplan.archive.bundle import ArchiveObjects, build_archive
from blockplan.case.model import Case
from tests.archive._factory import Study, make_case, metrics_for, write_study


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
