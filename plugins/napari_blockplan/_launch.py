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
    _make_spares(viewer)
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
    _draw_once_unseen(viewer)
    docks[0].raise_()  # the Case panel's tab shows first: whose case is open
    if run:
        napari.run()
    return viewer


def _make_spares(viewer: Any) -> None:
    """Have napari build, before the window is shown, the layers the first steps would
    otherwise build on the GUI thread of a shown window (one ≈ 0.25–0.4 s call each in
    software GL: controls, vispy visual, overlays): hidden, empty *spares* that the first
    series shown (`_layers.take_image_spare`) and the first scar proposal adopt."""
    from napari_blockplan._layers import make_image_spare
    from napari_blockplan._widgets._scar_proposal import make_proposal_spare

    make_image_spare(viewer)
    make_proposal_spare(viewer)


def _draw_once_unseen(viewer: Any) -> None:
    """Draw the image spare and one orientation letter overlay holding every letter once,
    transparent, while the window is first shown: what napari does on a visual's first
    draw — compile its shader program, rasterise the glyphs into the font's atlas, which
    every text visual shares (≈ 0.15–0.25 s of the first image's paint in software GL) —
    is then done. One off-screen render (`viewer.screenshot`, ≈ 0.25 s at launch);
    everything is put back as it was. The other three letters compile their shaders when
    they appear, each in its own step (`_views`); drawing them here too cost ≈ 0.15 s more
    launch for no shorter stall, and the proposal's spare ≈ 0.1 s for none in grow."""
    from napari_blockplan._layers import IMAGE_SPARE, SPARE_KEY
    from napari_blockplan._views import LETTER_OVERLAYS

    spares = [
        (lay, lay.opacity) for lay in viewer.layers if lay.metadata.get(SPARE_KEY) == IMAGE_SPARE
    ]
    overlays = viewer.canvas.overlays
    letters = [overlays[key] for key in LETTER_OVERLAYS.values() if key in overlays][:1]
    kept = [(o.text, o.color, o.visible) for o in letters]
    for layer, _opacity in spares:
        layer.opacity, layer.visible = 0.0, True
    for overlay in letters:
        overlay.color, overlay.text, overlay.visible = (0.0, 0.0, 0.0, 0.0), "RLAPSI", True
    try:
        viewer.screenshot(canvas_only=True, flash=False)
    finally:
        for layer, opacity in spares:
            layer.visible, layer.opacity = False, opacity
        for overlay, (text, color, visible) in zip(letters, kept, strict=True):
            overlay.visible, overlay.text, overlay.color = visible, text, color
