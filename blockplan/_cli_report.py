"""``blockplan report``: write the PDF/A report of a case file.

Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blockplan._cli_types import ProfileRef, RegularFile
from blockplan.errors import ReportError

if TYPE_CHECKING:
    from blockplan.case.model import Case
    from blockplan.io.volume import ImageVolume

__all__ = ["report"]

JSON_FORMAT_VERSION = 1
MAX_AUTHOR_CHARS = 200
"""Longest --author / --clinic accepted (a name and title, not a paragraph)."""
MAX_REPORT_ID_CHARS = 64
"""Longest --report-id accepted (the length of a DICOM LO value, where it is archived)."""


NO_IMAGES = (
    "no images given (--study): this report has no key images nor C-arm previews; it is "
    "kept with the case and a later `blockplan archive` sends it — give --study to include "
    "them"
)
"""Said by ``blockplan report`` without --study: on stderr, or with --json as its
``"warning"`` (beside ``"images": false``)."""


def _bounded(limit: int, name: str) -> Callable[[click.Context, click.Parameter, str], str]:
    def check(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
        if value is not None and len(value) > limit:
            raise click.BadParameter(
                f"{len(value)} characters; at most {limit} fit the report", param_hint=name
            )
        return value

    return check


def _parse_date(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time (e.g. 2026-03-15T09:30:00+01:00)"
        ) from err
    if when.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a time zone (e.g. +01:00 or Z)")
    return when


def _study_volumes(
    study: Path, frames: set[str], series: set[str], resampled: frozenset[str] = frozenset()
) -> list[ImageVolume]:
    """Load the series of ``study`` that belong to the case (by series or frame UID);
    those in ``resampled`` resampled onto regular spacing, as the case was planned."""
    from blockplan.errors import DicomInputError
    from blockplan.io import discover, load_series
    from blockplan.io.gaps import as_planned, load_options, planned_gaps

    volumes: list[ImageVolume] = []
    for info in as_planned(discover(study).series, resampled):
        if info.status == "refused":
            continue
        wanted = info.series_instance_uid in series or info.frame_of_reference_uid in frames
        if (series or frames) and not wanted:
            continue
        try:
            volumes.append(load_series(info, **load_options(planned_gaps(info, resampled))))
        except DicomInputError as err:
            click.echo(f"blockplan: skipped {info.label}: {err}", err=True)
    return volumes


@click.command()
@click.argument(
    "case_path", metavar="CASE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="PDF file to write (mode 0600, written atomically); an existing file is replaced "
    "only with --force.",
)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@click.option(
    "--profile",
    "profile",
    type=ProfileRef(),
    default=None,
    help="Adjudication profile name or JSON path; default: the case's profile.",
)
@click.option(
    "--study",
    "study",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="DICOM folder of the study, for the key images.",
)
@click.option(
    "--author",
    default="",
    callback=_bounded(MAX_AUTHOR_CHARS, "--author"),
    help="Physician responsible for the report (default: the configured clinician).",
)
@click.option(
    "--clinic",
    "clinic_name",
    default="",
    callback=_bounded(MAX_AUTHOR_CHARS, "--clinic"),
    help="Clinic name (default: the configured clinic).",
)
@click.option(
    "--clinic-address",
    default="",
    help="Clinic address; '\\n' separates lines (default: the configured address).",
)
@click.option(
    "--logo",
    type=RegularFile(path_type=Path),
    default=None,
    help="Clinic logo (PNG or JPEG).",
)
@click.option(
    "--date",
    "date",
    default=None,
    help="Report date-time with time zone (ISO 8601); fixes it for a reproducible file.",
)
@click.option(
    "--report-id",
    default=None,
    callback=_bounded(MAX_REPORT_ID_CHARS, "--report-id"),
    help="Report identifier; default derived.",
)
@click.option(
    "--payer",
    "payer_profiles",
    multiple=True,
    type=ProfileRef(),
    metavar="NAME|PATH",
    help="Add the payer-documentation checklist under this payer profile (repeatable; "
    "decision support, not a coverage decision).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as JSON (format blockplan.report v1: path, bytes, sha256, case "
    "id, key-image series).",
)
def report(
    case_path: Path,
    output: Path,
    profile: str | None,
    study: Path | None,
    author: str,
    clinic_name: str,
    clinic_address: str,
    logo: Path | None,
    date: str | None,
    report_id: str | None,
    payer_profiles: tuple[str, ...],
    force: bool,
    as_json: bool,
) -> None:
    """Write the PDF/A-2b report of CASE (a blockplan case file) to FILE.pdf.

    The pain-source findings come first, then the map, key images (with --study),
    targets, procedures, diaries, adjudication under the profile, suggestions and
    signature. Decision support, not a medical device.
    """
    from blockplan.case.casefile import load_case_file
    from blockplan.report.document import build_report
    from blockplan.report.kept import write_signed_report
    from blockplan.report.options import ReportOptions

    _check_output(output, force)
    case = load_case_file(case_path)
    volumes = _case_volumes(case, study) if study is not None else []
    options = ReportOptions.from_settings(
        clinic_name=clinic_name,
        clinic_address=clinic_address.replace("\\n", "\n"),
        clinic_logo=logo,
        author=author,
        created_at=_parse_date(date),
        report_id=report_id,
        profile=profile,
        payer_profiles=payer_profiles,
    )
    data = build_report(case, volumes=volumes, options=options)
    path, kept = write_signed_report(case, data, output)  # kept first, then written
    if not as_json:
        click.echo(
            f"wrote {path} (report {kept.report_id}, kept with case {case.case_id} for archive)"
        )
        if study is None:  # kept, so a later archive sends it: said, not silent
            click.echo(f"blockplan: warning: {NO_IMAGES}", err=True)
        return
    result = {
        "format": "blockplan.report",
        "version": JSON_FORMAT_VERSION,
        "path": str(path),
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "case_id": case.case_id,
        "report_id": kept.report_id,
        "key_image_series": len(volumes),
        "images": bool(volumes),
    }
    if study is None:  # in the JSON, where a script reads it (stdout stays JSON only)
        result["warning"] = NO_IMAGES
    click.echo(json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False))


def _check_output(output: Path, force: bool) -> None:
    """Refuse a wrong suffix, and an existing file (a report may be signed) without --force."""
    if output.suffix.lower() != ".pdf":
        raise ReportError(f"report: output {output} should end in .pdf")
    if os.path.lexists(output) and not force:
        raise ReportError(
            f"report: {output} exists (a report, perhaps signed, is never replaced silently); "
            "choose another name or pass --force to replace it"
        )


def _case_volumes(case: Case, study: Path) -> list[ImageVolume]:
    """The series of ``study`` that belong to ``case`` (its series, else its frames)."""
    frames = {t.position.frame_of_reference_uid for t in case.targets}
    frames |= {m.position.frame_of_reference_uid for m in case.levels}
    series = {s.series_instance_uid for s in case.study.series} if case.study else set()
    from blockplan.case.identity import interpolated_series

    volumes = _study_volumes(study, frames, series, interpolated_series(case))
    if not volumes:
        click.echo(
            f"blockplan: no series in {study} belongs to the case; the report has no key images",
            err=True,
        )
    return volumes
