"""Archive and export jobs: what ``blockplan archive`` / ``export`` and the Report panel run.

One function per job, each a plain core function that reports its progress through an
optional callback (the napari Report panel runs it in a worker thread and shows the
steps; the CLI prints nothing until the end):

* `archive_case` — the signed report PDF (the one given, else the one kept with the case,
  `blockplan.report.kept`; built only when none was kept), the Encapsulated PDF, the SR
  and the SEG, to a new folder (with ``manifest.json``) or to a PACS (C-STORE or
  STOW-RS); what the PACS does not confirm waits in the outbox. The same report version
  gets the same UIDs (`blockplan.archive.versions`), so archiving again adds nothing.
* `export_deidentified` — the same objects rebuilt from a de-identified copy of the case
  (PS3.15 Basic Application Level Confidentiality Profile) into a new folder.
* `send_waiting` — send what waits in the outbox; `waiting_in_outbox` counts it.

The images the plan was made on are found with `source_series` (the series holding the
scar, else one in the targets' frame of reference).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydicom.dataset import Dataset

from blockplan.archive._common import read_headers
from blockplan.case.model import Case
from blockplan.errors import ArchiveError, ReportError
from blockplan.io import ImageVolume, SeriesInfo, discover, load_series
from blockplan.report.options import ReportOptions

if TYPE_CHECKING:
    from blockplan.archive.deid import BurnedIn
    from blockplan.archive.pacs import Destination

__all__ = [
    "ArchiveOutcome",
    "Progress",
    "archive_case",
    "archive_folder",
    "export_deidentified",
    "select_series",
    "send_waiting",
    "signed_report",
    "source_series",
    "waiting_in_outbox",
]

Progress = Callable[[str], None]
"""Called with a short description of each step as it starts."""


def _quiet(_step: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class ArchiveOutcome:
    """What an archive job did.

    Attributes
    ----------
    destination
        The folder written or the PACS label.
    folder
        The new folder (folder destinations), else None.
    sent
        SOPInstanceUIDs the PACS confirmed (PACS destinations).
    waiting
        Objects still waiting in the outbox after the job.
    warnings
        Remarks of the PACS, one per object.
    report_id, report_sha256
        The report archived (empty for ``send_waiting``).
    report_built
        True when no signed report was kept and this job built the first one.
    sop_instance_uids
        The objects of this archive version.
    instance_number
        Its version number (1 for the first version of the case).
    outbox
        The outbox folder.
    """

    destination: str
    folder: Path | None = None
    sent: tuple[str, ...] = ()
    waiting: int = 0
    warnings: tuple[str, ...] = field(default_factory=tuple)
    report_id: str = ""
    report_sha256: str = ""
    report_built: bool = False
    sop_instance_uids: tuple[str, ...] = ()
    instance_number: int = 0
    outbox: str = ""

    def to_json(self) -> dict[str, object]:
        """The outcome as JSON-ready data (``blockplan archive --json``)."""
        return {
            "format": "blockplan.archive-outcome",
            "version": 1,
            "ok": True,
            "destination": self.destination,
            "folder": str(self.folder) if self.folder is not None else None,
            "report_id": self.report_id,
            "report_sha256": self.report_sha256,
            "report_built": self.report_built,
            "instance_number": self.instance_number,
            "sop_instance_uids": list(self.sop_instance_uids),
            "sent": list(self.sent),
            "waiting_in_outbox": self.waiting,
            "outbox": self.outbox,
            "warnings": list(self.warnings),
        }


def select_series(series: Sequence[SeriesInfo], case: Case) -> SeriesInfo:
    """The series the case was planned on: the scar's, else the targets' frame of reference."""
    usable = [s for s in series if s.status != "refused"]
    wanted = {r.grid.series_instance_uid for r in case.scar_regions}
    for s in usable:
        if s.series_instance_uid in wanted:
            return s
    frames = {t.position.frame_of_reference_uid for t in case.targets}
    for s in usable:
        if s.frame_of_reference_uid in frames:
            return s
    listed = ", ".join(f"series {s.series_number} ({s.modality})" for s in series) or "none"
    raise ArchiveError(
        f"case {case.case_id}: no series of the images folder holds the plan "
        f"(found: {listed}); point --images at the study the plan was made on"
    )


def source_series(case: Case, images: str | Path) -> tuple[list[Dataset], ImageVolume]:
    """Headers (slice order of the volume) and volume of the series the case was planned on."""
    from blockplan.case.identity import interpolated_series
    from blockplan.io.gaps import as_planned, load_options, planned_gaps

    resampled = interpolated_series(case)  # loaded as the plan was made on it
    info = select_series(as_planned(discover(images).series, resampled), case)
    return read_headers(info.files), load_series(
        info, **load_options(planned_gaps(info, resampled))
    )


def _destination(
    to: str, calling_ae: str, tls: ssl.SSLContext | None, ca: str | None
) -> Destination:
    from blockplan.archive.pacs import parse_destination

    return parse_destination(to, calling_ae=calling_ae, ssl_context=tls, ca_bundle=ca)


def signed_report(
    case: Case,
    pdf: bytes | None,
    volumes: Sequence[ImageVolume],
    report_options: ReportOptions | None = None,
) -> tuple[bytes, bool]:
    """The report to archive and whether it was built now (no signed report was kept).

    ``pdf`` (the physician's reviewed copy) is checked against the case and kept; else
    the latest report kept with the case is used, byte for byte; only when none was kept
    is one built (with ``report_options``, default: the clinician settings) and kept.

    Raises
    ------
    ReportError
        When ``pdf`` is not a PDF/A report of this case, or ``report_options`` are given
        while a signed report is kept (they would be silently ignored).
    """
    from blockplan.report import build_report
    from blockplan.report.kept import keep_report, latest_kept_report

    if pdf is not None:
        keep_report(case, pdf, "the given report PDF")
        return pdf, False
    kept = latest_kept_report(case)
    if kept is not None:
        if report_options is not None:
            raise ReportError(
                f"case {case.case_id}: a signed report is kept for this case and is archived "
                "unchanged; --author/--clinic only apply to a first build. Drop them, or "
                "write and review a new report with `blockplan report`"
            )
        return kept, False
    options = report_options or ReportOptions.from_settings()
    if options.created_at is None:
        options = dataclasses.replace(options, created_at=dt.datetime.now().astimezone())
    built = build_report(case, volumes=list(volumes), options=options)
    keep_report(case, built)
    return built, True


def archive_case(
    case: Case,
    images: str | Path,
    to: str,
    *,
    pdf: bytes | None = None,
    report_options: ReportOptions | None = None,
    calling_ae: str = "BLOCKPLAN",
    tls: ssl.SSLContext | None = None,
    ca_bundle: str | None = None,
    outbox: str | Path | None = None,
    progress: Progress = _quiet,
) -> ArchiveOutcome:
    """Archive a case: to a folder ``to`` (`archive_folder`: a new folder, or one per report
    inside an existing one), or to the PACS ``pacs://…`` / ``https://…``.

    ``pdf`` is the report exactly as the physician reviewed it; see `signed_report` for
    what is archived without it. The objects' content date is the report's date.

    Raises
    ------
    ArchiveError, PacsError, ReportError
        The message names what failed and what to do; nothing confirmed is lost (objects
        the PACS did not confirm stay in the outbox).
    """
    from blockplan.archive.bundle import build_archive, holds_archive_of, write_archive
    from blockplan.archive.pacs import Outbox, send
    from blockplan.archive.versions import record_version, version_uids
    from blockplan.report.identity import read_report_identity

    progress("reading the images the plan was made on")
    headers, volume = source_series(case, images)
    progress("finding the signed report")
    pdf, built = signed_report(case, pdf, [volume], report_options)
    report = read_report_identity(pdf)
    uids = version_uids(case, pdf)
    progress("building the SR and SEG")
    objects = build_archive(
        case, headers, volume=volume, pdf=pdf, uids=uids, content_datetime=report.created_at
    )
    box = Outbox(outbox)
    done = ArchiveOutcome(
        destination=to,
        report_id=report.report_id,
        report_sha256=hashlib.sha256(pdf).hexdigest(),
        report_built=built,
        sop_instance_uids=tuple(str(ds.SOPInstanceUID) for ds in objects.datasets()),
        instance_number=uids.instance_number,
        outbox=str(box.path),
    )
    if "://" not in to:
        where = archive_folder(to, report.report_id)
        if holds_archive_of(where, objects):  # a run killed before it recorded the folder
            record_version(case.case_id, uids, objects.datasets())  # (write_archive refuses)
        progress(f"writing the archive folder {where}")
        folder = write_archive(objects, where)
        record_version(case.case_id, uids, objects.datasets())
        return dataclasses.replace(done, destination=str(folder), folder=folder, waiting=len(box))
    dest = _destination(to, calling_ae, tls, ca_bundle)
    record_version(case.case_id, uids, objects.datasets())  # delivered through the outbox
    progress(f"sending {len(objects.datasets())} objects to {dest}")
    result = send(objects.datasets(), dest, outbox=box)
    return dataclasses.replace(
        done,
        destination=result.destination,
        sent=tuple(result.sent),
        waiting=len(box),
        warnings=tuple(result.warnings),
    )


def archive_folder(to: str | Path, report_id: str) -> Path:
    """The folder an archive to the local destination ``to`` is written into.

    ``to`` itself when it does not exist yet (a new folder). An existing folder that is
    not an archive — the clinic's archive folder, e.g. the configured
    ``archive_destination`` — holds one archive per report: ``to/<report id>``, so that the
    day's second archive does not fail. An existing archive folder — or part of one, a
    copy stopped before its manifest (`is_archive_folder`) — is returned as it is, and
    `write_archive` refuses it: archives are never overwritten.
    """
    from blockplan.archive.bundle import is_archive_folder

    target = Path(to)
    if target.is_dir() and not is_archive_folder(target):
        return target / report_id
    return target


def export_deidentified(
    case: Case,
    images: str | Path,
    to: str | Path,
    *,
    dates: str = "shift:key",
    key: bytes | None = None,
    free_text: Literal["scrub", "remove"] = "scrub",
    burned_in: BurnedIn = "refuse",
    progress: Progress = _quiet,
) -> Path:
    """Write a de-identified copy of the case's archive objects into the new folder ``to``.

    ``dates``: ``shift:key`` (default: a per-patient shift derived from the key),
    ``shift:<days>``, ``remove`` or ``keep``; ``key``: secret for UIDs, pseudonyms and the
    date shift (≥ 16 bytes; random when None, so exports cannot be linked);
    ``burned_in``: a series whose pixels may show text (BurnedInAnnotation YES, screen
    captures) is refused unless ``"masked"`` or ``"consent"`` (`check_burned_in`).
    """
    from blockplan.archive.bundle import build_export, write_archive
    from blockplan.archive.deid import DatePolicy, Deidentifier, check_burned_in

    if key is not None and len(key) < 16:
        raise ArchiveError(f"the de-identification key is {len(key)} bytes; use at least 16")
    progress("reading the images the plan was made on")
    headers, volume = source_series(case, images)
    check_burned_in(headers, burned_in)
    policy = DatePolicy.parse(dates)
    deid = Deidentifier(
        key=key or secrets.token_bytes(32), dates=policy, free_text=free_text, burned_in=burned_in
    )
    progress("de-identifying the case and rebuilding the report, SR and SEG")
    objects = build_export(case, headers, deid, volume=volume)
    progress(f"writing the export folder {to}")
    return write_archive(objects, to, deidentified=True)


def waiting_in_outbox(outbox: str | Path | None = None) -> int:
    """Number of objects waiting in the outbox."""
    from blockplan.archive.pacs import Outbox

    return len(Outbox(outbox))


def send_waiting(
    to: str,
    *,
    calling_ae: str = "BLOCKPLAN",
    tls: ssl.SSLContext | None = None,
    ca_bundle: str | None = None,
    outbox: str | Path | None = None,
    progress: Progress = _quiet,
) -> ArchiveOutcome:
    """Send what waits in the outbox to the PACS ``to``."""
    from blockplan.archive.pacs import Outbox, retry_outbox

    box = Outbox(outbox)
    dest = _destination(to, calling_ae, tls, ca_bundle)
    progress(f"sending {len(box)} waiting objects to {dest}")
    result = retry_outbox(dest, box)
    return ArchiveOutcome(
        destination=result.destination,
        sent=tuple(result.sent),
        waiting=len(box),
        warnings=tuple(result.warnings),
        outbox=str(box.path),
    )
