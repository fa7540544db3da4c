"""The signed report, kept with the case: what ``blockplan archive`` sends, byte for byte.

Every report the physician writes (``blockplan report``) or archives is kept in the
case's folder of blockplan's data folder (platformdirs; owner-only: folders 0700, files
0600, written atomically)::

    <user data>/cases/<case id>/reports/<report id>.<sha256[:16]>.pdf
    <user data>/cases/<case id>/reports/index.json   # kept reports, oldest first

``blockplan archive`` without ``--pdf`` sends the latest kept report of the case,
unchanged; it builds one only when none was kept (the first build). A report is checked
against its case (`blockplan.report.identity.check_report_for_case`) before it is kept.
The report the physician gets as a file (``blockplan report``, the Report panel's Save
PDF…) is written by `write_signed_report` only: kept first, then written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from blockplan.case.model import Case
from blockplan.errors import ReportError
from blockplan.report.identity import check_report_for_case

__all__ = [
    "KeptReport",
    "case_data_dir",
    "keep_report",
    "kept_reports",
    "latest_kept_report",
    "report_file_name",
    "write_signed_report",
]

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_INDEX = "index.json"


@dataclass(frozen=True, slots=True)
class KeptReport:
    """One kept report: its id, SHA-256 and file."""

    report_id: str
    sha256: str
    path: Path


def case_data_dir(case_id: str, *, create: bool = False) -> Path:
    """``<user data>/cases/<case id>``: what blockplan keeps of one case (0700 when created).

    A case id that is not a plain file name is replaced by its SHA-256.
    """
    from blockplan._paths import user_data_dir

    name = (
        case_id
        if _SAFE_ID.match(case_id) and case_id not in (".", "..")
        else (hashlib.sha256(case_id.encode("utf-8")).hexdigest())
    )
    folder = user_data_dir() / "cases" / name
    if create:
        try:
            for part in (folder.parent, folder):
                part.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(part, 0o700)
        except OSError as err:
            raise ReportError(
                f"{folder}: cannot be created ({err.strerror or err}); check that blockplan's "
                "data folder is writable"
            ) from err
    return folder


def _reports_dir(case_id: str, *, create: bool = False) -> Path:
    folder = case_data_dir(case_id, create=create) / "reports"
    if create:
        folder.mkdir(exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)
    return folder


def _index(folder: Path) -> list[dict[str, str]]:
    try:
        entries = json.loads((folder / _INDEX).read_text(encoding="utf-8"))
        return [dict(e) for e in entries if {"report_id", "sha256", "file"} <= set(e)]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, TypeError) as err:
        raise ReportError(
            f"{folder / _INDEX}: unreadable ({type(err).__name__}); move the folder away "
            "and write the report again"
        ) from err


def kept_reports(case_id: str) -> list[KeptReport]:
    """The reports kept for a case, oldest first (empty when none)."""
    folder = _reports_dir(case_id)
    return [KeptReport(e["report_id"], e["sha256"], folder / e["file"]) for e in _index(folder)]


def latest_kept_report(case: Case) -> bytes | None:
    """The bytes of the latest report kept for ``case`` (checked again), or None."""
    reports = kept_reports(case.case_id)
    if not reports:
        return None
    latest = reports[-1]
    try:
        data = latest.path.read_bytes()
    except OSError as err:
        raise ReportError(
            f"{latest.path}: the kept report cannot be read ({err.strerror or err}); "
            "pass the signed report with --pdf"
        ) from err
    if hashlib.sha256(data).hexdigest() != latest.sha256:
        raise ReportError(
            f"{latest.path}: the kept report was changed since it was kept (SHA-256 differs); "
            "pass the signed report with --pdf"
        )
    check_report_for_case(data, case, str(latest.path))
    return data


def keep_report(case: Case, pdf: bytes, name: str = "the report") -> KeptReport:
    """Keep ``pdf`` as the latest report of ``case`` (a copy already kept is not duplicated).

    Raises
    ------
    ReportError
        When the PDF is not a PDF/A report of this case, or cannot be written.
    """
    from blockplan.case.casefile import write_bytes_atomic

    identity = check_report_for_case(pdf, case, name)
    digest = hashlib.sha256(pdf).hexdigest()
    for kept in kept_reports(case.case_id):
        if kept.sha256 == digest:
            return kept
    folder = _reports_dir(case.case_id, create=True)
    name = f"{identity.report_id}.{digest[:16]}.pdf"
    entries = _index(folder)
    entries.append(
        {
            "report_id": identity.report_id,
            "sha256": digest,
            "file": name,
            "kept_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
    )
    try:
        write_bytes_atomic(folder / name, pdf, mode=0o600)
        index = (json.dumps(entries, indent=2) + "\n").encode("utf-8")
        write_bytes_atomic(folder / _INDEX, index, mode=0o600)
    except OSError as err:
        raise ReportError(
            f"{folder}: cannot keep the report ({err.strerror or err}); check free space"
        ) from err
    return KeptReport(identity.report_id, digest, folder / name)


def report_file_name(pdf: bytes) -> str:
    """The file name a report is saved under by default: ``<report id>.pdf`` (e.g.
    ``BPR-20261205-C629E3F5.pdf``; the id holds no patient identifier), so that two saved
    reports do not overwrite each other as "report.pdf" did; ``report.pdf`` when the PDF
    holds no usable id."""
    from blockplan.report.identity import read_report_identity

    try:
        report_id = read_report_identity(pdf).report_id
    except ReportError:
        return "report.pdf"
    if not _SAFE_ID.match(report_id) or report_id.startswith("."):
        return "report.pdf"
    return f"{report_id}.pdf"


def write_signed_report(
    case: Case, pdf: bytes, path: str | os.PathLike[str]
) -> tuple[Path, KeptReport]:
    """Keep ``pdf`` with ``case``, then write it to ``path``: the report the physician signs.

    The one rule behind ``blockplan report`` and the Report panel's Save PDF…: the report
    is kept first (`keep_report`), then written atomically with mode 0600. So a report
    file on disk is always one kept with its case, and a later archive (``blockplan
    archive``, the panel's Archive) sends a report at least as new as the newest file
    written. Stopped between the two steps (a crash, ``kill -9``, a full disk), the case
    keeps a report no file holds: a later archive sends it, although the physician — who
    got no "wrote" / "saved" message — holds at most an older report; writing the report
    again writes the kept one (the same bytes are not kept twice) or keeps a newer one.

    Parameters
    ----------
    case
        The case the report belongs to (checked: `check_report_for_case`).
    pdf
        The PDF/A report bytes.
    path
        The destination file; its folder must exist. An existing file is replaced only
        once the new one is complete.

    Returns
    -------
    tuple
        The absolute path written and the kept report.

    Raises
    ------
    ReportError
        When the PDF is not a report of this case or cannot be kept (nothing is written
        then), or when ``path`` cannot be written (the report is kept with the case).
    """
    from blockplan.case.casefile import write_bytes_atomic

    kept = keep_report(case, pdf)
    try:
        written = write_bytes_atomic(path, pdf, mode=0o600)
    except OSError as err:
        raise ReportError(
            f"{os.fspath(path)}: cannot write the report ({err.strerror or err}); check that "
            "the folder exists and is writable, or choose another file — the report is kept "
            f"with the case all the same (report {kept.report_id}: a later archive sends it)"
        ) from err
    return written, kept
