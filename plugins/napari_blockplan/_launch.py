"""Start napari with the blockplan widgets docked and, optionally, a study loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["DOCK_WIDGETS", "launch_viewer"]

DOCK_WIDGETS: tuple[str, ...] = ("Cases", "Study browser", "Planning", "Outcomes", "Report")
"""Display names (from napari.yaml) of the widgets docked at start, in order."""


def launch_viewer(
    path: Path | str | None = None,
    *,
    run: bool = True,
    case_id: str | None = None,
    gaps: str = "refuse",
    tilt: str = "shear",
) -> Any:
    """Open a napari viewer with blockplan's dock widgets; load ``path`` if given.

    The study is discovered at once and its series load in a background thread through
    the Study browser (with a progress bar), so the viewer never freezes. With
    ``case_id``, that stored case is opened in the viewer's workspace before the study
    loads. ``gaps`` and ``tilt`` preset the Study browser's choices
    (`blockplan.io.gaps.with_choices`).
    """
    import napari

    # shown once its docks are in: each dock added to a shown window resizes and redraws it
    viewer = napari.Viewer(title="blockplan", show=False)
    widgets = {}
    docks = []
    for n, name in enumerate(DOCK_WIDGETS):
        # one dock area with a tab per widget, so the canvas keeps its room
        dock, widget = viewer.window.add_plugin_dock_widget("blockplan", name, tabify=n > 0)
        dock.setWindowTitle(name)  # the tab reads "Cases", not a clipped "Cases (bloc…"
        widgets[name] = widget
        docks.append(dock)
    if case_id is not None:
        from napari_blockplan._workspace import workspace_for

        workspace_for(viewer).open_case(case_id)
    if path is not None:
        # the series are looked for while the window is shown and first drawn (~0.3 s)
        browser = widgets["Study browser"]
        browser.set_choices(gaps, tilt)
        browser.scan(path)
        browser.load_selected()
    viewer.window.show()
    docks[0].raise_()  # the Case panel's tab shows first: whose case is open
    if run:
        napari.run()
    return viewer
