"""``blockplan archive`` and ``blockplan export`` end to end."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import stat
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from blockplan.archive import verify_archive
from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from tests.archive._factory import Study
from tests.archive._orthanc import OrthancServer, available

SIGNED_AT = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


@pytest.fixture
def case_file(case: Case, tmp_path: Path) -> Path:
    return save_case_file(case, tmp_path / "case.blockplan.json")


@pytest.fixture(scope="module")
def signed_pdf(case: Case, study: Study, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report the physician wrote and reviewed (a real PDF/A report of the case)."""
    from blockplan.report import ReportOptions, build_report

    options = ReportOptions(author="Dr. Signing", created_at=SIGNED_AT)
    path = tmp_path_factory.mktemp("signed") / "signed.pdf"
    path.write_bytes(build_report(case, volumes=[study.volume], options=options))
    return path


def test_archive_to_folder(case_file: Path, study: Study, case: Case, tmp_path: Path) -> None:
    out = tmp_path / "archive"
    result = CliRunner().invoke(
        main, ["archive", str(case_file), "--images", str(study.folder), "--to", str(out)]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    names = {f["name"] for f in manifest["files"]}
    assert names == {
        "report.pdf",
        "report-encapsulated.dcm",
        "plan-sr.dcm",
        "scar-seg.dcm",
        "case.blockplan.json",
    }
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert stat.S_IMODE((out / entry["name"]).stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert verify_archive(out) == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".archive.")]  # no temp left
    enc = pydicom.dcmread(out / "report-encapsulated.dcm")
    assert bytes(enc.EncapsulatedDocument).startswith((out / "report.pdf").read_bytes()[:1024])
    assert enc.StudyInstanceUID == study.headers[0].StudyInstanceUID
    assert load_case_file(out / "case.blockplan.json").case_id == case.case_id
    # never written again: the same case makes the same report, already archived there
    again = CliRunner().invoke(
        main, ["archive", str(case_file), "--images", str(study.folder), "--to", str(out)]
    )
    assert again.exit_code == 2 and "this report is already archived there" in again.output
    (out / "plan-sr.dcm").write_bytes(b"changed")
    assert verify_archive(out) == ["plan-sr.dcm: SHA-256 differs from the manifest"]


def test_the_clinics_archive_folder_holds_one_archive_per_report(
    case_file: Path, case: Case, study: Study, tmp_path: Path, signed_pdf: Path
) -> None:
    """An existing folder that is not an archive (the configured archive_destination) gets
    one archive per report, named by the report id: the day's second archive went into the
    same folder and failed ("already exists")."""
    from blockplan.report import ReportOptions, build_report
    from blockplan.report.identity import read_report_identity

    later = tmp_path / "later.pdf"
    options = ReportOptions(author="Dr. Signing", created_at=SIGNED_AT + dt.timedelta(hours=2))
    later.write_bytes(build_report(case, volumes=[study.volume], options=options))
    clinic = tmp_path / "clinic-archive"
    clinic.mkdir()

    def archive(pdf: Path, to: Path) -> object:
        args = ["archive", str(case_file), "--images", str(study.folder), "--pdf", str(pdf)]
        return CliRunner().invoke(main, [*args, "--to", str(to)])

    ids = [read_report_identity(p.read_bytes()).report_id for p in (signed_pdf, later)]
    assert ids[0] != ids[1]
    for pdf in (signed_pdf, later):
        result = archive(pdf, clinic)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in clinic.iterdir()) == sorted(ids)
    for report_id, pdf in zip(ids, (signed_pdf, later), strict=True):
        assert verify_archive(clinic / report_id) == []
        assert (clinic / report_id / "report.pdf").read_bytes() == pdf.read_bytes()
    again = archive(signed_pdf, clinic)  # the same report again: said so, nothing written
    assert again.exit_code == 2 and "this report is already archived there" in again.output
    assert verify_archive(clinic / ids[0]) == []
    into_an_archive = archive(later, clinic / ids[0])  # an archive folder is not a parent
    assert into_an_archive.exit_code == 2 and "already exists" in into_an_archive.output
    assert "an archive is never written over an existing folder" in into_an_archive.output


def test_archive_with_given_pdf_and_errors(
    case_file: Path, study: Study, tmp_path: Path, signed_pdf: Path
) -> None:
    # Issue 17 point 2 changed this test: --pdf used to accept any bytes starting with
    # %PDF-; it must now be a PDF/A report of this case (see test_given_pdf_is_checked).
    pdf = signed_pdf
    out = tmp_path / "a"
    result = CliRunner().invoke(
        main,
        [
            "archive",
            str(case_file),
            "--images",
            str(study.folder),
            "--pdf",
            str(pdf),
            "--to",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.pdf").read_bytes() == pdf.read_bytes()
    missing = CliRunner().invoke(main, ["archive", str(case_file), "--to", str(tmp_path / "b")])
    assert missing.exit_code == 2 and "--images is required" in missing.output
    bad = CliRunner().invoke(
        main, ["archive", str(case_file), "--images", str(study.folder), "--to", "pacs://nohost"]
    )
    assert bad.exit_code == 2 and "pacs://AE@host:port" in bad.output


def test_archive_destination_defaults_to_the_settings(
    case_file: Path, study: Study, tmp_path: Path, signed_pdf: Path
) -> None:
    from blockplan.settings import Settings, save_settings

    pdf = signed_pdf  # issue 17 point 2: a real report of the case, no longer any %PDF- bytes
    args = ["archive", str(case_file), "--images", str(study.folder), "--pdf", str(pdf)]
    none = CliRunner().invoke(main, args)
    assert none.exit_code == 2 and "config set archive_destination" in none.output
    out = tmp_path / "configured"
    save_settings(Settings(archive_destination=str(out)))
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert (out / "manifest.json").is_file()


@pytest.mark.orthanc
@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_archive_to_pacs_and_retry(case_file: Path, study: Study, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with OrthancServer(tmp_path / "pacs") as server:
        to = f"pacs://{server.aet}@127.0.0.1:{server.dicom_port}"
        refused = CliRunner().invoke(
            main,
            [
                "archive",
                str(case_file),
                "--images",
                str(study.folder),
                "--to",
                to,
                "--calling-ae",
                "INTRUDER",
                "--outbox",
                str(outbox),
            ],
        )
        assert refused.exit_code == 2
        assert "'INTRUDER'" in refused.output and "Traceback" not in refused.output
        assert len(list(outbox.glob("*.dcm"))) == 3
        retried = CliRunner().invoke(
            main, ["archive", "--retry", "--to", to, "--outbox", str(outbox)]
        )
        assert retried.exit_code == 0, retried.output
        assert "sent 3 waiting object(s)" in retried.output
        assert list(outbox.glob("*.dcm")) == []
        assert len(server.get_json("/instances")) == 3


def test_refusals_and_a_report_without_images_are_said_as_such(
    case_file: Path, study: Study, tmp_path: Path
) -> None:
    """As whole processes: a folder holding another archive or export, or part of one, is
    refused — "not archived" / "not exported", not "error:", nothing written, exit status 2
    — and `blockplan report` without --study says its kept report has no images."""
    import subprocess

    from tests._cli import run_blockplan

    half = tmp_path / "usb-copy"  # a copy to a USB stick stopped after report.pdf
    half.mkdir()
    (half / "report.pdf").write_bytes(b"%PDF-1.7 half")
    refused = run_blockplan(
        "archive", str(case_file), "--images", str(study.folder), "--to", str(half),
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith(f"blockplan: not archived: {half}: holds an incomplete")
    assert "error" not in refused.stderr and "Traceback" not in refused.stderr
    assert refused.stderr.count("\n") == 1 and refused.stdout == ""
    assert [p.name for p in half.iterdir()] == ["report.pdf"]

    archived = tmp_path / "archive"
    done = run_blockplan(
        "archive", str(case_file), "--images", str(study.folder), "--to", str(archived),
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    before = sorted((p.name, p.stat().st_mtime_ns) for p in archived.iterdir())
    exported = run_blockplan(
        "export", str(case_file), "--images", str(study.folder), "--deidentify",
        "--to", str(archived), "--json",
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert exported.returncode == 2, exported.stderr
    said = json.loads(exported.stdout)
    assert said["ok"] is False and said["refused"] is True and said["exit_status"] == 2
    assert "an export is never written over an existing folder" in said["error"]
    assert exported.stderr.startswith(f"blockplan: not exported: {archived}: already exists")
    assert sorted((p.name, p.stat().st_mtime_ns) for p in archived.iterdir()) == before
    # an export without --deidentify (written as an archive folder) is "not exported" too
    plain = run_blockplan(
        "export", str(case_file), "--images", str(study.folder), "--to", str(half),
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert plain.returncode == 2, plain.stderr
    assert plain.stderr.startswith(f"blockplan: not exported: {half}: holds an incomplete")
    assert [p.name for p in half.iterdir()] == ["report.pdf"]

    # a report without --study: kept (a later archive sends it), and said to have no images
    # (on stderr; with --json in the JSON)
    no_images = (
        "no images given (--study): this report has no key images nor C-arm previews; it is "
        "kept with the case and a later `blockplan archive` sends it — give --study to "
        "include them"
    )
    written = run_blockplan(
        "report", str(case_file), "-o", str(tmp_path / "r.pdf"), stderr=subprocess.PIPE
    )
    assert written.returncode == 0, written.stderr
    assert written.stdout.startswith(f"wrote {tmp_path / 'r.pdf'} (report ")
    assert written.stderr == f"blockplan: warning: {no_images}\n"
    as_json = run_blockplan(
        "report", str(case_file), "-o", str(tmp_path / "j.pdf"), "--json",
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["images"] is False and doc["key_image_series"] == 0
    assert doc["warning"] == no_images
