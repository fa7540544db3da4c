"""``blockplan levels PATH [--series N] [--case FILE] [--json]``: levels proposed on a CT
or a sagittal MR (counted from the sacrum alone).

Prints every proposed body and disc centre (LPS mm) with its confidence and how it was
counted, the reasons (sacrum, lowest ribs, whether the two counts agree) and the levels
found but not proposed; with ``--case``, whether the case's level markers agree with the
proposal (the wrong-level guard, both counts when they do not). Exits 0 — also with an
empty proposal, whose reasons say why — and 2 when the path holds no image series or the
series asked for is not there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blockplan.errors import DicomInputError

if TYPE_CHECKING:  # the command's --help imports no stage (`blockplan.cli`)
    from blockplan.io.discovery import SeriesInfo
    from blockplan.planning.level_guard import LevelCheck
    from blockplan.planning.level_proposal import LevelProposal

__all__ = ["levels", "proposal_text"]


def _pick_series(path: Path, series_number: int | None) -> SeriesInfo | str:
    """The series asked for, else the loadable CT with the most images, else the sagittal
    MR with the most (or why none)."""
    from blockplan.io.discovery import discover

    found = discover(path)
    if not found.series:
        raise DicomInputError(
            f"{path}: no image series found ({len(found.skipped)} file(s) skipped): "
            "give a folder, file or DICOMDIR of the study"
        )
    numbers = ", ".join(str(s.series_number) for s in found.series)
    if series_number is not None:
        chosen = [s for s in found.series if s.series_number == series_number]
        if not chosen:
            raise DicomInputError(
                f"{path}: no series {series_number} (found: {numbers}): pick one of those "
                "with --series"
            )
        return chosen[0]
    loadable = [s for s in found.series if s.status != "refused"]
    cts = [s for s in loadable if s.modality == "CT"]
    sagittal_mrs = [s for s in loadable if s.modality == "MR" and s.orientation == "sagittal"]
    if not cts and not sagittal_mrs:
        return (
            f"no loadable CT or sagittal MR series under the path (series found: {numbers}): "
            "levels are proposed on CT or on a sagittal MR"
        )
    return max(cts or sagittal_mrs, key=lambda s: s.n_images)


def proposal_text(p: LevelProposal) -> str:
    """The proposal as the lines ``blockplan levels`` prints."""
    head = f"Series {p.series_number}: " if p.series_number is not None else ""
    lines = [f"{head}level proposal (decision support: check every level on the images)"]
    if not p.levels:
        lines.append("  no level proposed")
    for lv in p.levels:
        x, y, z = lv.centre_lps
        lines.append(
            f"  {lv.label:<7} ({x:7.1f}, {y:7.1f}, {z:7.1f}) mm LPS  "
            f"confidence {lv.confidence:.2f}  {'; '.join(lv.reasons)}"
        )
    lines.append("Reasons:")
    lines.extend(f"  - {r}" for r in p.reasons)
    if p.withheld:
        lines.append("Not proposed:")
        lines.extend(f"  - {w}" for w in p.withheld)
    return "\n".join(lines)


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--series",
    "series_number",
    type=int,
    default=None,
    help="Series number (default: the CT with the most images, else the sagittal MR).",
)
@click.option(
    "--case",
    "case_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A case file: check its level markers against the proposal (wrong-level guard).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (format: blockplan.levels v1).")
def levels(path: Path, series_number: int | None, case_path: Path | None, as_json: bool) -> None:
    """Propose vertebral body and disc centres on the lumbar CT (or sagittal MR) under PATH.

    Counts up from the sacrum and, on CT, checks against the lowest ribs when both are in view;
    when they disagree (transitional anatomy) nothing is labelled and both counts are
    given. With --case, the case's level markers are compared with the proposal and
    any disagreement is printed with both counts. Exit status 0, also when no level can
    be proposed (the reasons say why).
    """
    from blockplan.io import load_series
    from blockplan.planning.level_proposal import LevelProposal, propose_levels

    chosen = _pick_series(path, series_number)
    if isinstance(chosen, str):
        proposal = LevelProposal((), (chosen,), "", None, "")
    else:
        proposal = propose_levels(load_series(chosen))
    check = _check(case_path, proposal) if case_path is not None else None
    if as_json:
        data = proposal.to_json()
        if check is not None:
            data["check"] = {
                "status": check.status,
                "message": check.message,
                "pairs": [
                    {"marker": p.marker_label, "proposed": p.proposed_label, "offset": p.offset}
                    for p in check.pairs
                ],
            }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(proposal_text(proposal))
    if check is not None:
        click.echo(check.message)


def _check(case_path: Path, proposal: LevelProposal) -> LevelCheck:
    from blockplan.case.casefile import load_case_file
    from blockplan.planning.level_guard import check_level_markers

    return check_level_markers(load_case_file(case_path).levels, proposal)
