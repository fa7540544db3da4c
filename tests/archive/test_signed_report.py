"""The signed report is the archived one; archiving is idempotent (issue 17 points 2, 3).

``blockplan report`` keeps the report it writes with the case; ``blockplan archive``
without ``--pdf`` sends that file byte for byte and builds one only when none was kept.
The same report version gets the same UIDs, so archiving again adds nothing to the PACS;
a new version is a new instance in the same series that references its predecessor.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import stat
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from blockplan.archive import extract_pdf
from blockplan.case.casefile import save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from blockplan.report.kept import kept_reports
from tests.archive._factory import PATIENT_ID, Study
from tests.archive._orthanc import OrthancServer, available


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.fixture
def case_file(case: Case, tmp_path: Path) -> Path:
    return save_case_file(case, tmp_path / "case.blockplan.json")


def _write_report(case_file: Path, study: Study, out: Path, date: str) -> bytes:
    code, output = _run(
        "report", str(case_file), "-o", str(out), "--study", str(study.folder),
        "--author", "Dr. Signing", "--clinic", "Synthetic Clinic", "--date", date,
    )  # fmt: skip
    assert code == 0, output
    assert "kept with case" in output
    return out.read_bytes()


def test_archive_sends_the_signed_report_byte_for_byte(
    case_file: Path, case: Case, study: Study, tmp_path: Path
) -> None:
    signed = _write_report(case_file, study, tmp_path / "signed.pdf", "2026-03-02T15:30:00+01:00")
    kept = kept_reports(case.case_id)
    assert [k.path.read_bytes() for k in kept] == [signed]
    assert stat.S_IMODE(kept[0].path.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept[0].path.parent.stat().st_mode) == 0o700
    out = tmp_path / "archive"
    code, output = _run("archive", str(case_file), "--images", str(study.folder), "--to", str(out))
    assert code == 0, output
    assert "the signed report" in output
    assert (out / "report.pdf").read_bytes() == signed
    enc = pydicom.dcmread(out / "report-encapsulated.dcm")
    assert extract_pdf(enc) == signed
    # the objects carry the report's date, not the archive time
    assert (enc.ContentDate, enc.ContentTime) == ("20260302", "153000")
    assert pydicom.dcmread(out / "plan-sr.dcm").ContentDate == "20260302"
    assert pydicom.dcmread(out / "plan-sr.dcm").ContentTime == "153000"  # and its time
    # --author/--clinic would be silently ignored: refused while a signed report is kept
    code, output = _run(
        "archive", str(case_file), "--images", str(study.folder), "--to", str(tmp_path / "b"),
        "--author", "Dr. Other",
    )  # fmt: skip
    assert code == 2 and "only apply to a first build" in output


def test_first_archive_builds_and_keeps_the_report(
    case_file: Path, study: Study, tmp_path: Path
) -> None:
    args = ["archive", str(case_file), "--images", str(study.folder), "--json"]
    code, output = _run(*args, "--to", str(tmp_path / "a"), "--author", "Dr. First")
    assert code == 0, output
    first = json.loads(output)
    assert first["report_built"] is True and first["report_id"].startswith("BPR-")
    code, output = _run(*args, "--to", str(tmp_path / "b"))
    again = json.loads(output)
    assert again["report_built"] is False
    assert again["report_sha256"] == first["report_sha256"]
    assert (tmp_path / "a" / "report.pdf").read_bytes() == (
        tmp_path / "b" / "report.pdf"
    ).read_bytes()
    # same report version: same SOP Instance UIDs
    assert again["sop_instance_uids"] == first["sop_instance_uids"]


def test_given_pdf_is_checked(case_file: Path, case: Case, study: Study, tmp_path: Path) -> None:
    from blockplan.report import ReportOptions, build_report

    args = ["archive", str(case_file), "--images", str(study.folder), "--pdf"]
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"%PDF-1.4\n%%EOF\n")
    code, output = _run(*args, str(fake), "--to", str(tmp_path / "a"))
    assert code == 2 and "not a readable PDF" in output
    # another patient's report of the same case id and study
    other = case.model_copy(
        update={"patient": case.patient.model_copy(update={"patient_id": "OTHER-42"})}
    )
    options = ReportOptions(created_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC))
    foreign = tmp_path / "foreign.pdf"
    foreign.write_bytes(build_report(other, options=options))
    code, output = _run(*args, str(foreign), "--to", str(tmp_path / "b"))
    assert code == 2 and "its patient does not match case" in output
    assert PATIENT_ID not in output and "OTHER-42" not in output
    # a report of another case
    moved = case.model_copy(update={"case_id": "f" * 32})
    foreign.write_bytes(build_report(moved, options=options))
    code, output = _run(*args, str(foreign), "--to", str(tmp_path / "c"))
    assert code == 2 and "its case id does not match" in output
    # this case's report, but not PDF/A any more (e.g. printed to PDF again)
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(_without_pdfa_claim(build_report(case, options=options)))
    code, output = _run(*args, str(plain), "--to", str(tmp_path / "d"))
    assert code == 2 and "expected a PDF/A-2 report, found no PDF/A claim" in output
    assert not (tmp_path / "a").exists() and not (tmp_path / "d").exists()


def _without_pdfa_claim(pdf: bytes) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        with doc.open_metadata(set_pikepdf_as_editor=False) as meta:
            del meta["pdfaid:part"]
            del meta["pdfaid:conformance"]
        out = io.BytesIO()
        doc.save(out)
    return out.getvalue()


# --- against a real Orthanc -------------------------------------------------------------
@pytest.mark.parametrize("via", ["cstore", "stow"])
@pytest.mark.orthanc
@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_rerun_adds_nothing_and_a_new_version_supersedes(
    via: str, orthanc: OrthancServer, case: Case, study: Study, tmp_path: Path
) -> None:
    # each parameter archives its own case (its own series) into the study
    mine = case.model_copy(update={"case_id": ("c" if via == "cstore" else "d") * 32})
    case_path = save_case_file(mine, tmp_path / "case.blockplan.json")
    to = (
        f"pacs://{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}"
        if via == "cstore"
        else orthanc.url + "/dicom-web"
    )
    args = ["archive", str(case_path), "--images", str(study.folder), "--to", to, "--json"]
    args += ["--outbox", str(tmp_path / "outbox")]
    _write_report(case_path, study, tmp_path / "v1.pdf", "2026-03-02T15:30:00+01:00")
    code, output = _run(*args)
    assert code == 0, output
    first = json.loads(output)
    assert len(first["sent"]) == 3 and first["waiting_in_outbox"] == 0
    ours = set(first["sop_instance_uids"])
    series = {
        str(
            orthanc.get_json(f"/instances/{orthanc.find_instance(u)}/simplified-tags")[
                "SeriesInstanceUID"
            ]
        )
        for u in ours
    }
    before = len(orthanc.get_json("/instances"))
    code, output = _run(*args)  # the same report again
    assert code == 0, output
    assert set(json.loads(output)["sop_instance_uids"]) == ours
    assert len(orthanc.get_json("/instances")) == before  # nothing added
    # a new version of the report: a new instance in each of the same series
    _write_report(case_path, study, tmp_path / "v2.pdf", "2026-03-09T10:00:00+01:00")
    code, output = _run(*args)
    assert code == 0, output
    second = json.loads(output)
    assert second["instance_number"] == 2 and not set(second["sop_instance_uids"]) & ours
    assert len(orthanc.get_json("/instances")) == before + 3
    for new_uid in second["sop_instance_uids"]:
        tags = orthanc.get_json(f"/instances/{orthanc.find_instance(new_uid)}/simplified-tags")
        assert tags["SeriesInstanceUID"] in series
        assert tags["InstanceNumber"] == "2"
    sr_uid = next(u for u in second["sop_instance_uids"] if _modality(orthanc, u) == "SR")
    sr = pydicom.dcmread(io.BytesIO(orthanc.instance_file(sr_uid) or b""))
    referenced = {
        ref.ReferencedSOPInstanceUID
        for study_item in sr.PredecessorDocumentsSequence
        for series_item in study_item.ReferencedSeriesSequence
        for ref in series_item.ReferencedSOPSequence
    }
    assert referenced == {u for u in ours if _modality(orthanc, u) == "SR"}


def _modality(server: OrthancServer, sop_uid: str) -> str:
    tags = server.get_json(f"/instances/{server.find_instance(sop_uid)}/simplified-tags")
    return str(tags["Modality"])


def test_derived_uids_are_the_same_in_every_process() -> None:
    from blockplan.archive._common import derived_uid

    # a constant: pydicom's generate_uid(prefix=None, entropy_srcs=...) was random per call
    uid = derived_uid("blockplan-archive", "case", "sr", "x")
    assert uid == "2.25.166012132551998256539771628627171360422"
    assert derived_uid("a", "b") != derived_uid("ab")


@pytest.mark.orthanc
@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_full_pacs_exits_3_and_a_later_archive_reports_the_waiting_objects(
    orthanc: OrthancServer, case: Case, objects, study: Study, tmp_path: Path
) -> None:
    from tests.archive.test_pacs import _other_patient_filler

    outbox = tmp_path / "outbox"
    full_case = save_case_file(
        case.model_copy(update={"case_id": "e" * 32}), tmp_path / "full.blockplan.json"
    )
    with OrthancServer(tmp_path / "full", max_storage_mb=1) as full:
        full.fill_storage(_other_patient_filler(objects.encapsulated_pdf, 1_048_576 - 2_000))
        code, output = _run(
            "archive", str(full_case), "--images", str(study.folder), "--author", "Dr. A",
            "--to", full.url + "/dicom-web", "--outbox", str(outbox), "--json",
        )  # fmt: skip
    assert code == 3, output  # EXIT_PACS_UNAVAILABLE: a scheduler retries later
    failure = json.loads(output.splitlines()[0])
    assert failure["ok"] is False and failure["exit_status"] == 3
    assert "is its storage full?" in failure["error"]
    assert len(list(outbox.glob("*.dcm"))) == 3
    # another case archived to a working PACS: done, and the 3 waiting objects are named
    other = save_case_file(case.model_copy(update={"case_id": "a" * 32}), tmp_path / "o.json")
    code, output = _run(
        "archive", str(other), "--images", str(study.folder), "--author", "Dr. A",
        "--to", f"pacs://{orthanc.aet}@127.0.0.1:{orthanc.dicom_port}", "--outbox", str(outbox),
    )  # fmt: skip
    assert code == 0, output
    assert "sent 3 object(s)" in output
    assert f"note: 3 object(s) still wait in the outbox {outbox}" in output
    # a stopped PACS: exit status 3 as well
    down = OrthancServer(tmp_path / "down")
    down.start()
    port = down.dicom_port
    down.stop()
    code, output = _run(
        "archive", "--retry", "--to", f"pacs://{down.aet}@127.0.0.1:{port}", "--outbox",
        str(outbox),
    )  # fmt: skip
    assert code == 3 and "cannot reach PACS" in output
