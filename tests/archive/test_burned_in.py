"""Burned-in text is refused from de-identified exports by default (issue 17 point 5)."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from blockplan.archive.deid import CONSENT_NOTE, burned_in_reason
from blockplan.case.casefile import save_case_file
from blockplan.cli import main
from tests.archive._factory import PATIENT_ID, PATIENT_NAME, Study, make_case, write_study


@pytest.fixture(scope="module")
def burned_study(tmp_path_factory: pytest.TempPathFactory) -> Study:
    return write_study(
        tmp_path_factory.mktemp("burned") / "ct", overrides={"BurnedInAnnotation": "YES"}
    )


def _export(study: Study, tmp_path: Path, *extra: str) -> tuple[int, str, Path]:
    case_file = save_case_file(make_case(study), tmp_path / "case.blockplan.json")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["export", str(case_file), "--images", str(study.folder), "--deidentify",
         "--to", str(out), "--json", *extra],
    )  # fmt: skip
    assert "Traceback" not in result.output
    return result.exit_code, result.output, out


def test_burned_in_series_is_refused_by_default(burned_study: Study, tmp_path: Path) -> None:
    code, output, out = _export(burned_study, tmp_path)
    assert code == 2
    series = burned_study.headers[0]
    assert (
        f"series {series.SeriesNumber} ({series.SeriesInstanceUID}): BurnedInAnnotation is YES"
        in output
    )
    assert "--burned-in masked" in output and "--burned-in consent" in output
    assert PATIENT_ID not in output and PATIENT_NAME.split("^")[0] not in output
    assert not out.exists()


def test_burned_in_with_consent_or_masked_is_exported_and_declared(
    burned_study: Study, tmp_path: Path
) -> None:
    (tmp_path / "c").mkdir()
    code, output, out = _export(burned_study, tmp_path / "c", "--burned-in", "consent")
    assert code == 0, output
    assert json.loads(output)["burned_in"] == "consent"
    enc = pydicom.dcmread(out / "report-encapsulated.dcm")
    assert CONSENT_NOTE in list(enc.DeidentificationMethod)
    assert "113101" not in [c.CodeValue for c in enc.DeidentificationMethodCodeSequence]
    (tmp_path / "m").mkdir()
    code, output, out = _export(burned_study, tmp_path / "m", "--burned-in", "masked")
    assert code == 0, output
    enc = pydicom.dcmread(out / "report-encapsulated.dcm")
    assert "113101" in [
        c.CodeValue for c in enc.DeidentificationMethodCodeSequence
    ]  # Clean Pixel Data
    assert CONSENT_NOTE not in list(enc.DeidentificationMethod)


def test_screen_captures_count_as_burned_in(study: Study) -> None:
    plain = study.headers[0]
    assert burned_in_reason([plain]) is None
    capture = pydicom.Dataset()
    capture.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    assert burned_in_reason([capture]) == "it is a secondary (screen) capture"
    screen = pydicom.Dataset()
    screen.ImageType = ["DERIVED", "SECONDARY", "SCREEN"]
    assert burned_in_reason([screen]) == "its ImageType says SCREEN (a screen capture)"
