"""``blockplan view``: open napari with the blockplan widgets docked."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from blockplan._cli_series import GAPS_OPTION, TILT_OPTION
from blockplan.errors import BlockplanError

if TYPE_CHECKING:
    from blockplan.io.gaps import GapChoice
    from blockplan.io.geometry import TiltMode


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--case",
    "case_id",
    default=None,
    metavar="ID",
    help="Open this stored case (see `blockplan case list`) from the case store "
    "($BLOCKPLAN_DB, else the default store).",
)
@GAPS_OPTION
@TILT_OPTION
def view(path: Path | None, case_id: str | None, gaps: GapChoice, tilt: TiltMode) -> None:
    """Open napari with the blockplan dock widgets and, if given, the study at PATH.

    --gaps and --tilt preset the Study browser's choices for series with a missing
    slice or gantry tilt (they can be changed there).
    """
    if case_id is not None:
        from blockplan.case.store import CaseStore

        with CaseStore() as store:
            store.summary(case_id)  # an unknown id fails here, before any window opens
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise BlockplanError(
            "no display found (DISPLAY is not set); 'blockplan view' needs a screen — "
            "use 'blockplan demo' for the headless report"
        )
    try:
        from napari_blockplan._launch import launch_viewer
    except ImportError as err:
        raise BlockplanError(
            "napari is not installed; install it with: pip install 'blockplan[napari]'"
        ) from err
    launch_viewer(path, run=True, case_id=case_id, gaps=gaps, tilt=tilt)
