"""``blockplan fluoro``: write a C-arm preview (DRR) of a planned target, PNG plus JSON.

Decision support, not a medical device.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blockplan.errors import PlanningError

if TYPE_CHECKING:  # the command's --help imports no stage (`blockplan.cli`)
    from blockplan.case.model import Case
    from blockplan.io.volume import ImageVolume

__all__ = ["VIEW_CHOICES", "fluoro", "pick_target"]

VIEW_CHOICES = ("bullseye", "progression", "ap", "oblique", "lateral")
"""`blockplan.fluoro.views.ViewKind`'s values, spelt out so that ``--help`` and argument
errors import no numpy (a test checks that the two agree)."""


def pick_target(case: Case, wanted: str | None) -> str:
    """The target id for ``--target``: an id or ``T<n>`` (the target's own number, as its
    name says: `target_tag`); none given: the first target with a planned path, else the
    first target."""
    if not case.targets:
        raise PlanningError(f"fluoro: case {case.case_id} has no target: place one first")
    if wanted is None:
        with_path = [t.id for t in case.targets if case.trajectory_for(t.id) is not None]
        return (with_path or [case.targets[0].id])[0]
    from blockplan.planning.wording import target_tag

    if wanted in {t.id for t in case.targets}:
        return wanted
    tags = {target_tag(t): t.id for t in case.targets}
    found = tags.get(wanted.strip().upper())
    if found is not None:
        return found
    raise PlanningError(
        f"fluoro: case {case.case_id} has no target {wanted!r}; expected an id or one of "
        f"{', '.join(tags)}"
    )


def _case_ct(study: Path, frame: str) -> ImageVolume:
    """The first CT series of ``study`` in the targets' frame of reference."""
    from blockplan.io import discover, load_series

    for info in discover(study).series:
        if info.status == "refused" or info.modality.upper() != "CT":
            continue
        if info.frame_of_reference_uid == frame:
            return load_series(info)
    raise PlanningError(
        f"fluoro: no CT series in {study.name} lies in the case's frame of reference "
        f"{frame}: pass the study folder that holds the planning CT"
    )


def _write(output: Path, rgb: object, record: dict[str, object]) -> Path:
    from PIL import Image

    from blockplan.case.casefile import write_bytes_atomic

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")  # type: ignore[arg-type]
    write_bytes_atomic(output, buf.getvalue())
    sidecar = output.with_suffix(".json")
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    write_bytes_atomic(sidecar, text.encode("utf-8"))
    return sidecar


@click.command()
@click.argument(
    "case_path", metavar="CASE_FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--images",
    "study",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="DICOM folder of the study with the planning CT.",
)
@click.option("--target", "target", default=None, help="Target id or T<n>; default: T1.")
@click.option(
    "--view",
    "view",
    type=click.Choice(VIEW_CHOICES),
    default=None,
    help="C-arm view; default: bullseye (ap for a target without a path).",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="PNG to write; the JSON is written beside it (OUT.json).",
)
@click.option("--sdd-mm", default=1000.0, show_default=True, help="Source–detector distance.")
@click.option("--sid-mm", default=600.0, show_default=True, help="Source–isocentre distance.")
@click.option("--detector-px", default=512, show_default=True, help="Detector columns = rows.")
@click.option("--pixel-mm", default=0.6, show_default=True, help="Detector pixel pitch.")
@click.option("--oblique-deg", default=25.0, show_default=True, help="Oblique view angle.")
@click.option("--bone-enhanced", is_flag=True, help="Enhance bone (HU above 150).")
@click.option("--dense-bright", is_flag=True, help="Show dense as bright (default: dark).")
def fluoro(
    case_path: Path,
    study: Path,
    target: str | None,
    view: str | None,
    output: Path,
    sdd_mm: float,
    sid_mm: float,
    detector_px: int,
    pixel_mm: float,
    oblique_deg: float,
    bone_enhanced: bool,
    dense_bright: bool,
) -> None:
    """Write the C-arm preview (a DRR from the case's CT) of one view of one target.

    The isocentre is at the target. OUT.png is the preview; OUT.json holds the projection
    matrix, the C-arm angles, the distances and the pixel positions of the target and the
    entry.

    Decision support, not a medical device.
    """
    from blockplan.case.casefile import load_case_file
    from blockplan.fluoro.drr import DrrOptions
    from blockplan.fluoro.geometry import DetectorSpec
    from blockplan.fluoro.preview import fluoro_preview, preview_record
    from blockplan.fluoro.views import ViewKind

    if output.suffix.lower() != ".png":
        raise PlanningError(f"fluoro: output {output.name} should end in .png")
    case = load_case_file(case_path)
    target_id = pick_target(case, target)
    has_path = case.trajectory_for(target_id) is not None
    kind = ViewKind(view) if view else (ViewKind.BULLSEYE if has_path else ViewKind.AP)
    detector = DetectorSpec(sdd_mm, sid_mm, detector_px, detector_px, pixel_mm)
    ct = _case_ct(study, case.target(target_id).position.frame_of_reference_uid)
    preview = fluoro_preview(
        case,
        ct,
        target_id,
        kind,
        detector=detector,
        options=DrrOptions(bone_enhanced=bone_enhanced),
        dense_dark=not dense_bright,
        oblique_deg=oblique_deg,
    )
    sidecar = _write(output, preview.image_rgb, preview_record(preview))
    click.echo(f"{preview.target_name} — {preview.view.title}")
    click.echo(f"wrote {output} and {sidecar}")
