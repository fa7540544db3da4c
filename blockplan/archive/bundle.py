"""All archive objects of a case, a local archive folder, and the de-identified export.

`build_archive` makes the four objects (report PDF, Encapsulated PDF, SR, SEG) from a
case and the headers of the series it was planned on; `write_archive` writes them with
the case file and a manifest into a new folder, atomically; `build_export` does the
same for a de-identified copy (`blockplan.archive.deid`).

Folder layout::

    DIR/
      manifest.json          {"format": "blockplan.archive", "files": [{name, sha256, bytes, ...}]}
      report.pdf             the PDF/A report
      report-encapsulated.dcm   Encapsulated PDF (study of the images)
      plan-sr.dcm            Comprehensive 3D SR (TID 1500)
      scar-seg.dcm           Segmentation (when the case has scar)
      case.blockplan.json    the case file

Writing goes into a hidden temporary folder beside DIR (files fsynced, mode 0600, folder
0700) that is renamed to DIR at the end, so DIR either does not exist or is complete. The
writer holds a lock on that folder; the next write of DIR removes the temporary folder of a
writer that was killed (`blockplan.case.casefile.remove_abandoned_temporaries`). A folder
whose manifest's files are missing or differ (a copy interrupted, a damaged disk) is never
taken for a complete archive: writing there is refused, saying so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset

from blockplan.archive._common import dataset_bytes, normalise_dates, sort_by_uid
from blockplan.archive.deid import Deidentifier
from blockplan.archive.encapdoc import encapsulate_pdf
from blockplan.archive.seg import build_scar_seg
from blockplan.archive.sr import build_measurement_report
from blockplan.archive.versions import ROLES, VersionUids
from blockplan.case.casefile import dumps_case_file, fsync_dir, private_temporary
from blockplan.case.model import Case
from blockplan.errors import ArchiveError, ArchiveRefusedError
from blockplan.io import ImageVolume
from blockplan.outcomes.ledger import build_ledger
from blockplan.planning.paths import measure_paths
from blockplan.planning.trajectory import TrajectoryMetrics
from blockplan.report.options import ReportOptions

__all__ = [
    "MANIFEST_FORMAT",
    "ArchiveObjects",
    "build_archive",
    "build_export",
    "holds_archive_of",
    "is_archive_folder",
    "plan_metrics",
    "write_archive",
]

MANIFEST_FORMAT = "blockplan.archive"
DOCUMENT_TITLE = "Diagnostic spine block plan and record"

_SAFE_METADATA = (
    "Manufacturer",
    "ManufacturerModelName",
    "KVP",
    "SliceThickness",
    "PixelSpacing",
    "ImageOrientationPatient",
    "RescaleSlope",
    "RescaleIntercept",
    "TransferSyntaxUID",
    "SourceImages",
)


@dataclass
class ArchiveObjects:
    """The archive objects of one case.

    Attributes
    ----------
    case
        The case archived (the de-identified one for an export).
    pdf
        The report PDF.
    encapsulated_pdf, sr, seg
        The DICOM objects (``seg`` None when the case has no scar region).
    seg_placement
        How the SEG frames relate to the source images (see `blockplan.archive.seg`).
    """

    case: Case
    pdf: bytes
    encapsulated_pdf: Dataset
    sr: Dataset
    seg: Dataset | None = None
    seg_placement: str | None = None
    notes: list[str] = field(default_factory=list)

    def datasets(self) -> list[Dataset]:
        """The DICOM objects, SEG first (the SR references it)."""
        out = [self.encapsulated_pdf, self.sr]
        if self.seg is not None:
            out.insert(0, self.seg)
        return out


def plan_metrics(case: Case, volume: ImageVolume | None = None) -> dict[str, TrajectoryMetrics]:
    """Target id → its measured path, exactly as the planning screen and the report measure
    it (`blockplan.planning.measure_paths`; the CT ``volume`` enables the bone check)."""
    return measure_paths(case, [volume] if volume is not None else [], skip_unmeasurable=True)


def _build_pdf(
    case: Case,
    volumes: Sequence[ImageVolume],
    report_options: ReportOptions | None,
    created_at: dt.datetime | None,
) -> bytes:
    from blockplan.report import build_report

    opts = report_options if report_options is not None else ReportOptions.from_settings()
    if created_at is not None and opts.created_at is None:
        opts = dataclasses.replace(opts, created_at=created_at)
    return build_report(case, volumes=list(volumes), options=opts)


def build_archive(
    case: Case,
    source_headers: Sequence[Dataset],
    *,
    volume: ImageVolume | None = None,
    pdf: bytes | None = None,
    metrics: Mapping[str, TrajectoryMetrics] | None = None,
    report_options: ReportOptions | None = None,
    content_datetime: dt.datetime | None = None,
    title: str = DOCUMENT_TITLE,
    uids: VersionUids | None = None,
) -> ArchiveObjects:
    """Build the report PDF, Encapsulated PDF, SR and SEG of a case.

    Parameters
    ----------
    case
        The case.
    source_headers
        Headers of the series the plan was made on. With ``volume`` they are put in its
        slice order (`ImageVolume.sop_instance_uids`); otherwise they must already be.
    volume
        The loaded series: key images for the report, CT for the trajectory metrics.
    pdf
        A ready report PDF; built with `blockplan.report.build_report` when None.
    metrics
        Target id → measured path; `plan_metrics` (the planning core) when None.
    report_options
        `blockplan.report.ReportOptions` for the PDF.
    content_datetime
        ContentDate/Time of the objects and the report date (now, by default).
    title
        DocumentTitle of the Encapsulated PDF.
    uids
        Series and instance UIDs, InstanceNumber and predecessors of this archive version
        (`blockplan.archive.versions.version_uids`); fresh UIDs when None.

    Raises
    ------
    ArchiveError
        When an object cannot be built (the message names it); ReportError from the report.
    """
    headers, notes = _plan_headers(case, source_headers, volume)
    when = content_datetime or dt.datetime.now().astimezone().replace(microsecond=0)
    if metrics is None:
        metrics = plan_metrics(case, volume)
    if pdf is None:
        pdf = _build_pdf(case, [volume] if volume is not None else [], report_options, when)

    ids = _identity(uids)
    seg, placement, segment_numbers = _scar_seg(case, headers, ids["seg"], when, notes)
    sr = build_measurement_report(
        case,
        headers,
        ledger=build_ledger(case, case.profile_name),
        metrics=metrics,
        seg=seg,
        segment_numbers=segment_numbers,
        content_datetime=when,
        previous_versions=uids.previous("sr") if uids is not None else (),
        **ids["sr"],
    )
    enc = encapsulate_pdf(
        pdf,
        headers[0],
        title,
        source_images=headers,
        content_datetime=when,
        predecessors=uids.previous("report") if uids is not None else (),
        **ids["report"],
    )
    return ArchiveObjects(
        case=case,
        pdf=pdf,
        encapsulated_pdf=enc,
        sr=sr,
        seg=seg,
        seg_placement=placement,
        notes=notes,
    )


def _plan_headers(
    case: Case, source_headers: Sequence[Dataset], volume: ImageVolume | None
) -> tuple[list[Dataset], list[str]]:
    """The plan's source headers, dates normalised, in the volume's slice order; and the
    notes the normalising made."""
    if not source_headers:
        raise ArchiveError(
            f"case {case.case_id}: no source images; pass the study folder the plan was made on"
        )
    headers, notes = normalise_dates(source_headers)
    if volume is not None:
        headers = sort_by_uid(headers, volume.sop_instance_uids)
    return headers, notes


def _scar_seg(
    case: Case,
    headers: Sequence[Dataset],
    ids: dict[str, Any],
    when: dt.datetime,
    notes: list[str],
) -> tuple[Dataset | None, str | None, dict[str, int]]:
    """The SEG of the case's scar regions in the source series' frame of reference (None
    without any), how it is placed, and each region's segment number; regions in another
    frame are left out with a note."""
    for_uid = str(headers[0].get("FrameOfReferenceUID", ""))
    regions = [r for r in case.scar_regions if r.grid.frame_of_reference_uid == for_uid]
    if len(regions) < len(case.scar_regions):
        notes.append(
            f"{len(case.scar_regions) - len(regions)} scar region(s) lie in another frame of "
            "reference than the source series and are not in the SEG"
        )
    if not regions:
        return None, None, {}
    built = build_scar_seg(regions, headers, **ids)
    seg = built.dataset
    seg.ContentDate, seg.ContentTime = when.strftime("%Y%m%d"), when.strftime("%H%M%S")
    return seg, built.placement, built.segment_numbers


def _identity(uids: VersionUids | None) -> dict[str, dict[str, Any]]:
    """Keyword arguments giving each object its UIDs and InstanceNumber (none: fresh UIDs)."""
    if uids is None:
        return {role: {} for role in ROLES}
    return {
        role: {
            "series_instance_uid": uids.series[role],
            "sop_instance_uid": uids.instances[role],
            "instance_number": uids.instance_number,
        }
        for role in ROLES
    }


def build_export(
    case: Case,
    source_headers: Sequence[Dataset],
    deidentifier: Deidentifier,
    *,
    volume: ImageVolume | None = None,
    report_options: ReportOptions | None = None,
    now: dt.datetime | None = None,
) -> ArchiveObjects:
    """The archive objects of a de-identified copy of the case.

    Everything is rebuilt from de-identified inputs: the case (`Deidentifier.case`), the
    source headers (`Deidentifier.source_headers`) and the volume (UIDs replaced, no
    header values but geometry and pixel data). The PDF is built from the de-identified
    case, and each DICOM object passes the attribute rules once more and is marked
    (PatientIdentityRemoved, DeidentificationMethodCodeSequence).
    """
    headers, _ = normalise_dates(source_headers)
    if volume is not None:
        headers = sort_by_uid(headers, volume.sop_instance_uids)
    metrics = plan_metrics(case, volume)  # geometry only: nothing identifying
    clean_case = deidentifier.case(case)
    clean_headers = deidentifier.source_headers(headers)
    clean_volume = None
    if volume is not None:
        clean_volume = dataclasses.replace(
            volume,
            frame_of_reference_uid=deidentifier.uid(volume.frame_of_reference_uid),
            series_instance_uid=deidentifier.uid(volume.series_instance_uid),
            study_instance_uid=deidentifier.uid(volume.study_instance_uid),
            sop_instance_uids=tuple(deidentifier.uid(u) for u in volume.sop_instance_uids),
            series_description="",
            metadata={k: v for k, v in volume.metadata.items() if k in _SAFE_METADATA},
        )
    when = deidentifier.content_datetime(now)
    objects = build_archive(
        clean_case,
        clean_headers,
        volume=clean_volume,
        metrics=metrics,
        report_options=report_options,
        content_datetime=when,
    )
    objects.encapsulated_pdf = _finish(deidentifier, objects.encapsulated_pdf)
    objects.sr = _finish(deidentifier, objects.sr, structured=True)
    if objects.seg is not None:
        objects.seg = _finish(deidentifier, objects.seg)
    return objects


def _finish(deid: Deidentifier, ds: Dataset, structured: bool = False) -> Dataset:
    out = deid.dataset(ds, uids=False, dates=False, keep_content=structured)
    # the input already carries the pseudonym, which the table's Z would empty
    out.PatientName, out.PatientID = ds.PatientName, ds.PatientID
    deid.mark(out, structured_content=structured)
    # The rules remove SeriesDescription (X); PACS show the DOC/SR/SEG series fine without.
    return out


# --- the folder -------------------------------------------------------------------------
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(folder: Path, name: str, data: bytes) -> dict[str, Any]:
    path = folder / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return {"name": name, "bytes": len(data), "sha256": _sha256(data)}


def write_archive(
    objects: ArchiveObjects, folder: str | os.PathLike[str], *, deidentified: bool = False
) -> Path:
    """Write the objects, the case file and ``manifest.json`` into a new folder.

    Parameters
    ----------
    objects
        From `build_archive` or `build_export`.
    folder
        Destination; must not exist (its parent must).
    deidentified
        Recorded in the manifest.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ArchiveRefusedError
        When the folder exists and holds something else (another archive or export, part
        of one, another folder): refused, nothing written.
    ArchiveError
        When it already holds this very report, or cannot be written; nothing is left
        behind then.
    """
    target = Path(folder).absolute()
    if target.exists():
        _refuse_existing(target, objects.pdf, deidentified)
    parent = target.parent
    if not parent.is_dir():
        raise ArchiveError(f"{parent}: folder does not exist; create it first")
    try:
        tmp_name, held = private_temporary(target, folder=True)
    except OSError as err:
        raise ArchiveError(f"{parent}: cannot write ({err.strerror or err})") from err
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o700)
        _write_contents(tmp, objects, deidentified)
        fsync_dir(tmp)
        os.rename(tmp, target)
        fsync_dir(parent)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(err, OSError):
            raise ArchiveError(
                f"{target}: cannot write the archive ({err.strerror or err}); nothing was kept"
            ) from err
        raise
    finally:
        os.close(held)  # after the rename: a live writer's folder is never cleaned up
    return target


def _refuse_existing(target: Path, pdf: bytes, deidentified: bool) -> None:
    """An existing destination: said as it is when it holds this very report
    (ArchiveError), refused otherwise (ArchiveRefusedError); nothing is written."""
    message = _exists_message(target, pdf, deidentified)
    if _holds_this_report(target, pdf):  # said as it is: not a refusal
        raise ArchiveError(message)
    raise ArchiveRefusedError(message, "exported" if deidentified else "archived")


def _write_contents(folder: Path, objects: ArchiveObjects, deidentified: bool) -> None:
    """The report, the DICOM objects and the case file into ``folder``, then the manifest
    listing them (written last: a folder without it is incomplete)."""
    from blockplan import __version__

    files = [_write(folder, "report.pdf", objects.pdf)]
    named = [("report-encapsulated.dcm", objects.encapsulated_pdf), ("plan-sr.dcm", objects.sr)]
    if objects.seg is not None:
        named.append(("scar-seg.dcm", objects.seg))
    for name, ds in named:
        entry = _write(folder, name, dataset_bytes(ds))
        entry.update(
            sop_class_uid=str(ds.SOPClassUID),
            sop_instance_uid=str(ds.SOPInstanceUID),
            series_instance_uid=str(ds.SeriesInstanceUID),
            modality=str(ds.Modality),
        )
        files.append(entry)
    files.append(_write(folder, "case.blockplan.json", dumps_case_file(objects.case)))
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "generator": f"blockplan {__version__}",
        "case_id": objects.case.case_id,
        "study_instance_uid": str(objects.sr.StudyInstanceUID),
        "deidentified": deidentified,
        "seg_placement": objects.seg_placement,
        "notes": objects.notes,
        "files": files,
    }
    _write(folder, "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())


_MANIFEST_LIMIT = 1 << 20
"""The largest manifest.json `_read_manifest` reads (bytes): ours are a few kilobytes."""


_ARCHIVE_FILES = (
    "report.pdf",
    "report-encapsulated.dcm",
    "plan-sr.dcm",
    "scar-seg.dcm",
    "case.blockplan.json",
)


def is_archive_folder(folder: str | os.PathLike[str]) -> bool:
    """True when ``folder`` holds an archive or export — complete, or part of one (a
    manifest.json, or any of the files an archive holds: a copy stopped mid-way)."""
    base = Path(folder)
    return any((base / name).exists() for name in ("manifest.json", *_ARCHIVE_FILES))


def _exists_message(target: Path, pdf: bytes, deidentified: bool) -> str:
    """Why a folder that exists is refused: it already holds this very report, it holds
    an incomplete or damaged archive, or it is another folder — never written over."""
    what, done = ("export", "exported") if deidentified else ("archive", "archived")
    manifest = _read_manifest(target)
    problems = _file_problems(target, manifest) if manifest is not None else []
    if not (target / "manifest.json").exists() and is_archive_folder(target):
        problems = ["manifest.json: missing"]
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        return (
            f"{target}: holds an incomplete or damaged {what} ({problems[0]}{more}); was "
            f"writing or copying it interrupted? It is never written over: remove it or move "
            f"it away, then {what} again"
        )
    if manifest is not None and _holds_report(manifest, pdf):
        return (
            f"{target}: this report is already {done} there (its report.pdf is the same, "
            "byte for byte); nothing was written again"
        )
    return (
        f"{target}: already exists; an {what} is never written over an existing folder. "
        "Choose a new folder or remove the old one"
    )


def holds_archive_of(folder: str | os.PathLike[str], objects: ArchiveObjects) -> bool:
    """True when ``folder`` is a complete archive of exactly ``objects``: its manifest's
    report.pdf is theirs, it lists their DICOM objects by SOPInstanceUID, and every file
    it lists is there unchanged (a run killed after writing it, before recording it)."""
    target = Path(folder)
    manifest = _read_manifest(target)
    if manifest is None or not _holds_report(manifest, objects.pdf):
        return False
    listed = {e.get("sop_instance_uid") for e in manifest["files"] if isinstance(e, dict)}
    ours = {str(ds.SOPInstanceUID) for ds in objects.datasets()}
    return ours <= listed and not _file_problems(target, manifest)


def _read_manifest(target: Path) -> dict[str, Any] | None:
    """The manifest of a blockplan archive or export folder (None: not one, or unreadable)."""
    manifest_path = target / "manifest.json"
    try:
        if not manifest_path.is_file() or manifest_path.stat().st_size > _MANIFEST_LIMIT:
            return None
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    return manifest


def _holds_this_report(target: Path, pdf: bytes) -> bool:
    """True when ``target`` is a complete archive or export whose report.pdf is ``pdf``."""
    manifest = _read_manifest(target)
    return (
        manifest is not None
        and not _file_problems(target, manifest)
        and _holds_report(manifest, pdf)
    )


def _holds_report(manifest: Mapping[str, Any], pdf: bytes) -> bool:
    """True when the manifest's report.pdf is ``pdf`` (by the SHA-256 it records)."""
    files = manifest.get("files")
    want = _sha256(pdf)
    return isinstance(files, list) and any(
        isinstance(e, dict) and e.get("name") == "report.pdf" and e.get("sha256") == want
        for e in files
    )


def _file_problems(base: Path, manifest: Mapping[str, Any]) -> list[str]:
    """The files of a manifest that are missing from ``base`` or differ from it."""
    entries = manifest.get("files")
    if not isinstance(entries, list) or not entries:
        return ["manifest.json lists no files"]
    problems = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name or Path(name).name != name:
            problems.append("manifest.json: a file entry without a plain file name")
            continue
        try:
            data = (base / name).read_bytes()
        except OSError:
            problems.append(f"{name}: missing")
            continue
        if _sha256(data) != entry.get("sha256"):
            problems.append(f"{name}: SHA-256 differs from the manifest")
    return problems


def verify_archive(folder: str | os.PathLike[str]) -> list[str]:
    """Problems found checking a folder against its manifest (empty when intact)."""
    base = Path(folder)
    try:
        manifest = json.loads((base / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return [f"manifest.json unreadable ({err})"]
    if not isinstance(manifest, dict):
        return ["manifest.json is not a blockplan manifest"]
    return _file_problems(base, manifest)
