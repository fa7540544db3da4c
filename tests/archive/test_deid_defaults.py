"""De-identification safe by default (issue 17 point 4): keyed date shift, exact options."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pydicom
from click.testing import CliRunner

from blockplan.archive.deid import DatePolicy, Deidentifier
from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from tests.archive._factory import Study

STUDY_DATE = dt.date(2026, 3, 2)  # the synthetic study's StudyDate


def _export(case: Case, study: Study, folder: Path, *extra: str) -> tuple[Path, dict[str, object]]:
    case_path = save_case_file(case, folder / "in.blockplan.json")
    key = folder / "key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    out = folder / "out"
    result = CliRunner().invoke(
        main,
        ["export", str(case_path), "--images", str(study.folder), "--deidentify",
         "--to", str(out), "--key-file", str(key), "--json", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def _codes(ds: pydicom.Dataset) -> list[str]:
    return [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]


def test_default_export_shifts_dates_by_a_keyed_per_patient_amount(
    case: Case, study: Study, tmp_path: Path
) -> None:
    out, result = _export(case, study, tmp_path)
    assert result["ok"] is True and result["dates"] == "dates shifted per patient (keyed)"
    enc = pydicom.dcmread(out / "report-encapsulated.dcm")
    shifted = dt.datetime.strptime(enc.StudyDate, "%Y%m%d").date()
    days = (STUDY_DATE - shifted).days
    assert 365 <= days <= 3650  # real dates never leave by default
    # the same key and patient: the same shift (exports stay consistent)
    (tmp_path / "again").mkdir()
    again, _ = _export(case, study, tmp_path / "again")
    assert pydicom.dcmread(again / "report-encapsulated.dcm").StudyDate == enc.StudyDate
    # exactly the options applied: Basic Profile + Modified Dates (+ Clean Structured Content)
    for name in ("report-encapsulated.dcm", "scar-seg.dcm"):
        assert _codes(pydicom.dcmread(out / name)) == ["113100", "113107"]
    sr = pydicom.dcmread(out / "plan-sr.dcm")
    assert _codes(sr) == ["113100", "113107", "113104"]
    # the method text is whole: one LO value per step, none cut at 64 characters
    method = list(enc.DeidentificationMethod)
    assert method[1:] == [
        "Basic Application Confidentiality Profile",
        "Retain Longitudinal Temporal Information Modified Dates Option",
        "dates shifted per patient (keyed)",
    ]
    assert method[0].startswith("blockplan ") and all(len(v) <= 64 for v in method)
    assert str(days) not in " ".join(method)  # the shift itself is never written


def test_keyed_shift_differs_between_patients_and_is_never_zero() -> None:
    deid = Deidentifier(key=b"k" * 32)
    shifts = set()
    for n in range(50):
        shifts.add(deid.shift_days(f"P{n}"))
    assert len(shifts) > 40 and all(-3650 <= s <= -365 for s in shifts)


def test_kept_dates_are_declared_as_kept(case: Case, study: Study, tmp_path: Path) -> None:
    out, result = _export(case, study, tmp_path, "--dates", "shift:0")
    enc = pydicom.dcmread(out / "report-encapsulated.dcm")
    assert enc.StudyDate == STUDY_DATE.strftime("%Y%m%d")
    # shift:0 keeps real dates: Full Dates (113106), never Modified Dates (113107)
    assert _codes(enc) == ["113100", "113106"]
    assert result["dates"] == "dates kept" and "dates kept" in list(enc.DeidentificationMethod)
    assert DatePolicy.parse("remove").method_codes() == []
