"""De-identified export: nothing identifying survives, anywhere in the output."""

from __future__ import annotations

import datetime as dt
import io
import json
import zlib
from pathlib import Path

import pikepdf
import pydicom
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from blockplan.archive import (
    DatePolicy,
    Deidentifier,
    build_export,
    read_sr,
    validate_dataset,
    write_archive,
)
from blockplan.archive._common import dataset_bytes
from blockplan.archive.bundle import ArchiveObjects
from blockplan.archive.bundle import write_archive as write_plain
from blockplan.archive.validate import dciodvfy_path
from blockplan.case.casefile import load_case_file, save_case_file
from blockplan.case.model import Case
from blockplan.cli import main
from blockplan.errors import ArchiveError, ArchiveRefusedError
from tests.archive._factory import (
    ACCESSION,
    BIRTH_DATE,
    OTHER_NAME,
    PATIENT_ID,
    PATIENT_NAME,
    Study,
)


def needles(study: Study) -> list[str]:
    """Identifying values of the source, in several spellings."""
    words = [
        PATIENT_NAME,
        PATIENT_NAME.replace("^", " "),
        "Qzxwvtest",
        "Jovanka",
        OTHER_NAME.split("^")[0],
        PATIENT_ID,
        ACCESSION,
        BIRTH_DATE,
        "1963-04-17",
        "17.04.1963",
        "04/17/1963",
    ]
    out = set()
    for w in words:
        out |= {w, w.upper(), w.lower(), w.title()}
    h = study.headers[0]
    out |= {str(h.StudyInstanceUID), str(h.SeriesInstanceUID), str(h.FrameOfReferenceUID)}
    out |= {str(x.SOPInstanceUID) for x in study.headers}
    return sorted(out)


def texts_of(path: Path) -> list[tuple[str, bytes]]:
    """Every byte view of a file: raw, decompressed PDF streams, PDF text, embedded PDFs."""
    data = path.read_bytes()
    views = [("raw", data)]
    pdfs = []
    if data.startswith(b"%PDF"):
        pdfs.append(data)
    elif path.suffix == ".dcm":
        ds = pydicom.dcmread(path)
        views.append(("dataset", str(ds).encode("utf-8", "replace")))
        if "EncapsulatedDocument" in ds:
            pdfs.append(bytes(ds.EncapsulatedDocument))
    for pdf in pdfs:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            for obj in doc.objects:
                if isinstance(obj, pikepdf.Stream):
                    try:
                        views.append(("stream", obj.read_bytes()))
                    except (pikepdf.PdfError, zlib.error):
                        views.append(("stream-raw", obj.read_raw_bytes()))
            views.append(("info", repr(dict(doc.docinfo)).encode()))
        reader = PdfReader(io.BytesIO(pdf))
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        views.append(("text", text.encode("utf-8")))
    return views


def find_identifiers(folder: Path, study: Study) -> list[str]:
    hits = []
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        for kind, blob in texts_of(path):
            for needle in needles(study):
                for enc in ("utf-8", "utf-16-le", "utf-16-be"):
                    if needle.encode(enc) in blob:
                        hits.append(f"{path.name} [{kind}, {enc}]: {needle}")
    return hits


@pytest.fixture(scope="module")
def export_dir(study: Study, case: Case, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    case_path = save_case_file(case, folder / "in.blockplan.json")
    key = folder / "key"
    key.write_bytes(b"0123456789abcdef0123456789abcdef")
    result = CliRunner().invoke(
        main,
        [
            "export",
            str(case_path),
            "--images",
            str(study.folder),
            "--deidentify",
            "--to",
            str(folder / "out"),
            "--dates",
            "shift:-400",
            "--key-file",
            str(key),
        ],
    )
    assert result.exit_code == 0, result.output
    return folder / "out"


def test_scanner_finds_identifiers_in_a_plain_archive(
    objects: ArchiveObjects, study: Study, tmp_path: Path
) -> None:
    # positive control: the scan does see names (PDF text uses subset fonts)
    out = write_plain(objects, tmp_path / "plain")
    hits = find_identifiers(out, study)
    assert any("report.pdf [text" in h and "Qzxwvtest" in h for h in hits)
    assert any("plan-sr.dcm" in h and PATIENT_ID in h for h in hits)


def test_export_holds_no_identifier(export_dir: Path, study: Study) -> None:
    assert sorted(p.name for p in export_dir.iterdir()) == [
        "case.blockplan.json",
        "manifest.json",
        "plan-sr.dcm",
        "report-encapsulated.dcm",
        "report.pdf",
        "scar-seg.dcm",
    ]
    assert find_identifiers(export_dir, study) == []


def test_export_uids_consistent_and_marked(export_dir: Path, study: Study) -> None:
    case = load_case_file(export_dir / "case.blockplan.json")
    enc = pydicom.dcmread(export_dir / "report-encapsulated.dcm")
    sr = pydicom.dcmread(export_dir / "plan-sr.dcm")
    seg = pydicom.dcmread(export_dir / "scar-seg.dcm")
    assert case.study is not None
    study_uids = {
        case.study.study_instance_uid,
        enc.StudyInstanceUID,
        sr.StudyInstanceUID,
        seg.StudyInstanceUID,
    }
    assert len(study_uids) == 1 and study.headers[0].StudyInstanceUID not in study_uids
    for_uid = seg.FrameOfReferenceUID
    assert case.targets[0].position.frame_of_reference_uid == for_uid
    assert case.scar_regions[0].grid.frame_of_reference_uid == for_uid
    assert read_sr(sr).targets[0].position.frame_of_reference_uid == for_uid
    series = seg.ReferencedSeriesSequence[0].SeriesInstanceUID
    assert case.scar_regions[0].grid.series_instance_uid == series
    for ds in (enc, sr, seg):
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.PatientID == case.patient.patient_id and ds.PatientID.startswith("ANON-")
        codes = [c.CodeValue for c in ds.DeidentificationMethodCodeSequence]
        assert codes[:2] == ["113100", "113107"]
        assert not any(e.tag.is_private for e in ds.iterall())
    assert "113104" in [c.CodeValue for c in sr.DeidentificationMethodCodeSequence]
    # dates moved by -400 days, intervals kept
    assert case.study.study_date is not None
    assert case.study.study_date.isoformat() == "2025-01-26"
    assert enc.StudyDate == "20250126"
    assert case.patient.birth_date is None and case.patient.sex == ""
    assert case.procedures[0].operator == "" and case.notes[0].author == ""
    manifest = json.loads((export_dir / "manifest.json").read_text())
    assert manifest["deidentified"] is True


@pytest.mark.skipif(dciodvfy_path() is None, reason="dicom3tools not installed")
def test_export_objects_validate(export_dir: Path) -> None:
    for name in ("report-encapsulated.dcm", "plan-sr.dcm", "scar-seg.dcm"):
        result = validate_dataset(pydicom.dcmread(export_dir / name))
        assert result.errors == (), (name, result.errors)


def test_keyed_uids_are_reproducible(study: Study) -> None:
    a = Deidentifier(key=b"k" * 32)
    b = Deidentifier(key=b"k" * 32)
    c = Deidentifier(key=b"other key 123456")
    uid = str(study.headers[0].SeriesInstanceUID)
    assert a.uid(uid) == b.uid(uid) != c.uid(uid)
    assert a.uid(uid).startswith("2.25.") and len(a.uid(uid)) <= 64
    assert a.uid("1.2.840.10008.5.1.4.1.1.2") == "1.2.840.10008.5.1.4.1.1.2"  # SOP class
    assert a.pseudonym(PATIENT_ID) == b.pseudonym(PATIENT_ID)


def test_dates_remove_and_keep(study: Study, case: Case) -> None:
    removed = build_export(
        case, study.headers, Deidentifier(dates=DatePolicy.parse("remove")), volume=study.volume
    )
    assert removed.encapsulated_pdf.StudyDate == ""
    assert removed.encapsulated_pdf.ContentDate == "19000101"
    assert removed.case.created_at.date().isoformat() == "2000-01-01"  # re-based
    gap = case.procedures[0].performed_at - case.created_at
    assert removed.case.procedures[0].performed_at - removed.case.created_at == gap
    kept = Deidentifier(dates=DatePolicy.parse("keep"))
    header = kept.source_headers([study.headers[0]])[0]
    assert header.StudyDate == study.headers[0].StudyDate
    assert [c.CodeValue for c in header.DeidentificationMethodCodeSequence] == ["113100", "113106"]
    with pytest.raises(ArchiveError, match="shift:<days>"):
        DatePolicy.parse("later")


def test_case_identity_fields_of_schema_v2_are_cleaned(case: Case) -> None:
    assert case.study is not None
    full = case.evolve(
        study=case.study.model_copy(
            update={
                "referring_physician": "REFERRER^Rita",
                "institution": "Synthetic Hospital",
                "study_time": dt.time(10, 15),
            }
        ),
        procedures=tuple(
            p.model_copy(
                update={
                    "index_pain": f"pain of {PATIENT_ID}",
                    "complication_notes": f"{PATIENT_ID} fainted",
                }
            )
            for p in case.procedures
        ),
    )
    clean = Deidentifier().case(full)
    assert clean.study is not None
    assert clean.study.referring_physician == "" and clean.study.institution == ""
    assert clean.study.study_time == dt.time(10, 15)  # dates shifted: the time of day stays
    text = clean.model_dump_json()
    assert PATIENT_ID not in text and "Rita" not in text and "Synthetic Hospital" not in text
    removed = Deidentifier(dates=DatePolicy.parse("remove")).case(full)
    assert removed.study is not None and removed.study.study_time is None


def test_free_text_remove(study: Study, case: Case) -> None:
    deid = Deidentifier(free_text="remove")
    clean = deid.case(case)
    assert clean.title == "" and clean.notes[0].text == "" and clean.indication == ""
    assert clean.targets[0].position.lps == case.targets[0].position.lps


def test_export_refuses_existing_folder(objects: ArchiveObjects, tmp_path: Path) -> None:
    """Refusals that protect what is there are `ArchiveRefusedError` (nothing written, not
    a failure) saying what was not done; the same report already there is said as it is."""
    (tmp_path / "there").mkdir()
    with pytest.raises(
        ArchiveRefusedError, match="already exists; an archive is never written over"
    ) as there:
        write_archive(objects, tmp_path / "there")
    assert there.value.verb == "archived"
    written = write_archive(objects, tmp_path / "export", deidentified=True)
    with pytest.raises(ArchiveError, match="this report is already exported there") as same:
        write_archive(objects, written, deidentified=True)
    assert not isinstance(same.value, ArchiveRefusedError)
    (written / "manifest.json").write_text("[1e400, ", encoding="utf-8")  # not ours: refused
    with pytest.raises(
        ArchiveRefusedError, match="already exists; an export is never written over"
    ) as other:
        write_archive(objects, written, deidentified=True)
    assert other.value.verb == "exported"


def test_export_bytes_contain_no_source_sop_uid(export_dir: Path, study: Study) -> None:
    blob = b"".join(p.read_bytes() for p in export_dir.iterdir())
    assert str(study.headers[3].SOPInstanceUID).encode() not in blob
    # sanity: the SR still references images (under new UIDs)
    sr = pydicom.dcmread(export_dir / "plan-sr.dcm")
    assert len(dataset_bytes(sr)) > 1000
