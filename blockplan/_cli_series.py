"""``blockplan series PATH [--json]``: list the image series found, with geometry.

Headers only: shape, spacing and affine come from `blockplan.io.geometry.plan_grid`,
the function `load_series` uses, so what is printed is what loading would produce
(with the default options ``allow_gaps=False, tilt="shear"``).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from blockplan._io_choices import GAP_CHOICES, TILT_CHOICES, GapChoice, TiltMode
from blockplan.errors import DicomInputError

if TYPE_CHECKING:
    from blockplan.io.discovery import Discovery, SeriesInfo

__all__ = ["GAPS_OPTION", "TILT_OPTION", "discovery_to_json", "series", "series_to_json"]

JSON_FORMAT_VERSION = 1


def series_to_json(s: SeriesInfo) -> dict[str, Any]:
    """One series as a JSON-ready dict (see ``blockplan series --help``)."""
    from blockplan.io._uids import name

    grid = s.grid
    return {
        "key": s.key,
        "series_number": s.series_number,
        "series_instance_uid": s.series_instance_uid,
        "study_instance_uid": s.study_instance_uid,
        "frame_of_reference_uid": s.frame_of_reference_uid,
        "modality": s.modality,
        "description": s.description,
        "orientation": s.orientation,
        "rows": s.rows,
        "columns": s.columns,
        "n_images": s.n_images,
        "n_files": len(s.files),
        "shape": list(grid.shape) if grid is not None else None,
        "spacing_mm": [round(v, 6) for v in grid.spacing] if grid is not None else None,
        "affine": [[round(float(v), 6) for v in row] for row in grid.affine]
        if grid is not None
        else None,
        "geometry_note": grid.note if grid is not None else None,
        "transfer_syntaxes": [{"uid": t, "name": name(t)} for t in s.transfer_syntaxes],
        "status": s.status,
        "reasons": list(s.reasons),
        "stack": s.stack,
    }


def discovery_to_json(found: Discovery) -> dict[str, Any]:
    """The whole discovery as a JSON-ready dict."""
    return {
        "format": "blockplan.series",
        "version": JSON_FORMAT_VERSION,
        "path": found.path,
        "series": [series_to_json(s) for s in found.series],
        "skipped": [{"path": f.path, "reason": f.reason} for f in found.skipped],
    }


def _finite_or_null(value: Any) -> Any:
    """``value`` with every infinite or NaN number replaced by None: strict JSON (RFC 8259)
    has no Infinity or NaN, and a header holding one gives no usable geometry anyway."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_null(v) for v in value]
    return value


def _fmt_vec(values: Any, digits: int = 2) -> str:
    return "(" + ", ".join(f"{float(v):.{digits}f}" for v in values) + ")"


def _text(found: Discovery) -> str:
    from blockplan.io._uids import name

    lines: list[str] = []
    for s in found.series:
        number = s.series_number if s.series_number is not None else "-"
        lines.append(
            f"Series {number}  {s.modality}  {s.description or '(no description)'}  "
            f"[{s.status.upper()}]"
        )
        lines.append(f"  key          {s.key}")
        lines.append(
            f"  images       {s.n_images} of {s.columns}×{s.rows} pixels, {s.orientation}, "
            f"in {len(s.files)} file(s)"
        )
        if s.stack:
            from blockplan.planning.stacks import stack_listing  # only for angled stacks

            lines.append(f"  stack        {stack_listing(s)}")
        ts = ", ".join(f"{name(t)} ({t})" for t in s.transfer_syntaxes)
        lines.append(f"  transfer     {ts}")
        if s.grid is not None:
            k, j, i = s.grid.shape
            lines.append(f"  shape        {k} slices × {j} rows × {i} columns (k, j, i)")
            lines.append(f"  spacing      {_fmt_vec(s.grid.spacing, 3)} mm (column, row, slice)")
            lines.append(f"  geometry     {s.grid.note}")
            lines.append("  affine       (i, j, k, 1) → LPS mm")
            for row in s.grid.affine:
                lines.append("               [" + "  ".join(f"{v:10.4f}" for v in row) + "]")
        for reason in s.reasons:
            lines.append(f"  reason       {reason}")
        lines.append("")
    if found.skipped:
        lines.append(f"Skipped {len(found.skipped)} file(s):")
        for f in found.skipped:
            lines.append(f"  {f.path}: {f.reason}")
    return "\n".join(lines).rstrip("\n")


GAPS_OPTION = click.option(
    "--gaps",
    type=click.Choice(GAP_CHOICES),
    default="refuse",
    show_default=True,
    help="A missing slice or irregular spacing: refuse the series, resample it onto "
    "regular spacing (marked as interpolated), or split it at the gap into regular parts.",
)
TILT_OPTION = click.option(
    "--tilt",
    type=click.Choice(TILT_CHOICES),
    default="shear",
    show_default=True,
    help="Gantry tilt: keep the acquired voxels with a sheared affine, or resample them "
    "onto an orthogonal grid.",
)


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (format: blockplan.series v1).")
@GAPS_OPTION
@TILT_OPTION
def series(path: Path, as_json: bool, gaps: GapChoice, tilt: TiltMode) -> None:
    """List every image series under PATH (file, folder or DICOMDIR), headers only.

    For each series: number, UID, modality, description, orientation, shape,
    spacing, the 4×4 affine mapping (column i, row j, slice k, 1) to LPS mm,
    transfer syntaxes, and status (ok / warnings / refused, with reasons), as
    loading with --gaps and --tilt would give them.
    Exits with status 2 when no image series is found.
    """
    from blockplan.io.discovery import discover
    from blockplan.io.gaps import with_choices

    found = discover(path)
    found = dataclasses.replace(found, series=with_choices(found.series, gaps, tilt))
    if as_json:
        doc = _finite_or_null(discovery_to_json(found))
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False))
        if not found.series:
            raise SystemExit(2)
        return
    if not found.series:
        raise DicomInputError(
            f"{path}: no image series found ({len(found.skipped)} file(s) skipped as "
            "non-DICOM, non-image or unreadable)."
        )
    click.echo(_text(found))
