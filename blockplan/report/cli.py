"""``blockplan report``: write the PDF/A report of a case file.

Decision support, not a medical device.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blockplan.errors import ReportError

if TYPE_CHECKING:
    from blockplan.io.volume import ImageVolume

__all__ = ["report"]


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


def _study_volumes(study: Path, frames: set[str], series: set[str]) -> list[ImageVolume]:
    """Load the series of ``study`` that belong to the case (by series or frame UID)."""
    from blockplan.errors import DicomInputError
    from blockplan.io import discover, load_series

    found = discover(study)
    volumes: list[ImageVolume] = []
    for info in found.series:
        if info.status == "refused":
            continue
        wanted = info.series_instance_uid in series or info.frame_of_reference_uid in frames
        if (series or frames) and not wanted:
            continue
        try:
            volumes.append(load_series(info))
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
    help="PDF file to write (mode 0600, replaced atomically).",
)
@click.option(
    "--profile",
    "profile",
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
    help="Physician responsible for the report (default: the configured clinician).",
)
@click.option(
    "--clinic", "clinic_name", default="", help="Clinic name (default: the configured clinic)."
)
@click.option(
    "--clinic-address",
    default="",
    help="Clinic address; '\\n' separates lines (default: the configured address).",
)
@click.option(
    "--logo",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Clinic logo (PNG or JPEG).",
)
@click.option(
    "--date",
    "date",
    default=None,
    help="Report date-time with time zone (ISO 8601); fixes it for a reproducible file.",
)
@click.option("--report-id", default=None, help="Report identifier; default derived.")
@click.option(
    "--payer",
    "payer_profiles",
    multiple=True,
    metavar="NAME|PATH",
    help="Add the payer-documentation checklist under this payer profile (repeatable; "
    "decision support, not a coverage decision).",
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
) -> None:
    """Write the PDF/A-2b report of CASE (a blockplan case file) to FILE.pdf.

    The pain-source findings come first, then the map, key images (with --study),
    targets, procedures, diaries, adjudication under the profile, suggestions and
    signature. Decision support, not a medical device.
    """
    from blockplan.case.casefile import load_case_file
    from blockplan.report.document import write_report
    from blockplan.report.options import ReportOptions

    case = load_case_file(case_path)
    volumes: list[ImageVolume] = []
    if study is not None:
        frames = {t.position.frame_of_reference_uid for t in case.targets}
        frames |= {m.position.frame_of_reference_uid for m in case.levels}
        series = {s.series_instance_uid for s in case.study.series} if case.study else set()
        volumes = _study_volumes(study, frames, series)
        if not volumes:
            click.echo(
                f"blockplan: no series in {study} belongs to the case; the report has no key "
                "images",
                err=True,
            )
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
    if output.suffix.lower() != ".pdf":
        raise ReportError(f"report: output {output} should end in .pdf")
    path = write_report(case, output, volumes=volumes, options=options)
    from blockplan.report.kept import keep_report

    kept = keep_report(case, path.read_bytes())
    click.echo(f"wrote {path} (report {kept.report_id}, kept with case {case.case_id} for archive)")
