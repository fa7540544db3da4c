"""Archive and export jobs (what the CLI and the Report panel run), with their progress."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from blockplan.archive.jobs import (
    archive_case,
    export_deidentified,
    select_series,
    source_series,
    waiting_in_outbox,
)
from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from blockplan.errors import ArchiveError, GeometryWarning
from blockplan.io import discover
from tests.archive._factory import Study


def test_the_reviewed_pdf_is_the_archived_one(study: Study, case: Case, tmp_path: Path) -> None:
    from blockplan.report import build_report

    reviewed = build_report(case)
    steps: list[str] = []
    done = archive_case(
        case,
        study.folder,
        str(tmp_path / "out"),
        pdf=reviewed,
        progress=steps.append,
        outbox=tmp_path / "outbox",
    )
    assert done.folder == tmp_path / "out" and done.waiting == 0
    assert (done.folder / "report.pdf").read_bytes() == reviewed
    encapsulated = pydicom.dcmread(done.folder / "report-encapsulated.dcm")
    assert bytes(encapsulated.EncapsulatedDocument).rstrip(b"\0") == reviewed.rstrip(b"\0")
    assert steps[0] == "reading the images the plan was made on"
    assert any("writing the archive folder" in s for s in steps)
    assert "building the SR and SEG" in steps  # the report was given, not rebuilt


def test_source_series_is_the_one_the_plan_was_made_on(study: Study, case: Case) -> None:
    headers, volume = source_series(case, study.folder)
    assert volume.series_instance_uid == study.volume.series_instance_uid
    assert [h.SOPInstanceUID for h in headers] == list(volume.sop_instance_uids)


def test_a_case_planned_on_a_resampled_series_is_rebuilt_on_it(
    study: Study, case: Case, tmp_path: Path
) -> None:
    """The case records the series interpolated: the archive and a rebuilt report load it
    resampled again (a missing slice would refuse it) and say so (issue 16 point 4)."""
    gapped = tmp_path / "gapped"
    gapped.mkdir()
    for n, f in enumerate(study.files):
        if n != 5:  # a slice lost in the middle
            shutil.copy(f, gapped / f.name)
    with pytest.raises(ArchiveError, match="no series of the images folder holds the plan"):
        source_series(case, gapped)  # as recorded before: refused for its gap
    assert case.study is not None
    ref = case.study.series[0].model_copy(update={"interpolated": True})
    resampled = case.evolve(study=case.study.model_copy(update={"series": (ref,)}))
    with pytest.warns(GeometryWarning, match="resampled 11 slices to 12"):
        headers, volume = source_series(resampled, gapped)
    assert volume.is_interpolated and len(headers) == len(study.files) - 1
    case_file = save_case_file(resampled, tmp_path / "case.blockplan.json")
    out = tmp_path / "report.pdf"
    args = ["report", str(case_file), "--study", str(gapped), "-o", str(out)]
    with pytest.warns(GeometryWarning, match="resampled 11 slices to 12"):
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    assert "CT series 3 (synthetic phantom) (interpolated), axial plane" in " ".join(text.split())


def test_a_folder_without_the_plan_is_refused_clearly(study: Study, case: Case) -> None:
    other = case.evolve(scar_regions=(), targets=(), trajectories=(), procedures=())
    with pytest.raises(ArchiveError, match="no series of the images folder holds the plan"):
        select_series(discover(study.folder).series, other)


def test_deidentified_export_writes_a_marked_folder(
    study: Study, case: Case, tmp_path: Path
) -> None:
    steps: list[str] = []
    out = export_deidentified(
        case, study.folder, tmp_path / "deid", dates="remove", progress=steps.append
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["deidentified"] is True
    sr = pydicom.dcmread(out / "plan-sr.dcm")
    assert sr.PatientIdentityRemoved == "YES"
    assert any("de-identifying" in s for s in steps)
    with pytest.raises(ArchiveError, match="use at least 16"):
        export_deidentified(case, study.folder, tmp_path / "x", key=b"short")


def test_outbox_count(tmp_path: Path) -> None:
    assert waiting_in_outbox(tmp_path / "empty") == 0
