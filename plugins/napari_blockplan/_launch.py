"""Start napari with the blockplan widgets docked and, optionally, a study loading."""

from __future__ import annotations

import contextlib
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
    _freeze_the_launch_heap()
    if path is None:
        _spares_while_idle(viewer, docks[0])
    docks[0].raise_()  # the Case panel's tab shows first: whose case is open
    if run:
        napari.run()
    return viewer


def _freeze_the_launch_heap() -> None:
    """Leave the objects napari, Qt and the docks made at launch (about half a million)
    out of every later garbage collection (`gc.freeze`): they live as long as the window.
    Each full collection walked them all — 100–250 ms with the GIL held, a stall of the
    GUI thread even when a worker collected (measured with `gc.callbacks` in
    ``benchmarks/gui_stalls.py``). Objects made later are collected as before; garbage of
    the launch itself is not, a few kilobytes once."""
    import gc

    gc.freeze()


SPARES_AFTER_MS = 400
"""How long after the window is shown the first spare is made (`_spares_while_idle`)."""
_SPARE_STEP_MS = 50
"""Pause between the spares' steps, so that events waiting are handled in between."""


def _spares_while_idle(viewer: Any, anchor: Any) -> None:
    """Have napari build, once the window is shown with no study loading, the layers the
    first steps would otherwise build when the physician waits for them (one ≈ 0.15–0.4 s
    call each in software GL: controls, vispy visual, overlays): hidden, empty *spares*
    that the first series shown (`_layers.take_image_spare`) and the first scar proposal
    adopt, and the image spare's first draw (`_draw_once_unseen`).

    Each is one step of its own, after `SPARES_AFTER_MS`, while the physician looks for
    a study: nothing waits on them and the launch is not longer for them (made before the
    window was shown, they cost a relaunch ≈ 0.6 s). A step finds a series already shown
    or loading (opened quickly): the image steps are skipped — the first image then
    builds its layer itself —, and the proposal's spare sits on that image. The steps'
    timer lives in ``anchor`` (a dock): a viewer closed meanwhile makes none."""
    from qtpy.QtCore import QTimer

    from napari_blockplan._layers import make_image_spare, spare_for
    from napari_blockplan._widgets._scar_proposal import PROPOSAL_ROLE, make_proposal_spare

    def images() -> list[Any]:
        from napari.layers import Image

        from napari_blockplan._layers import is_spare

        return [lay for lay in viewer.layers if isinstance(lay, Image) and not is_spare(lay)]

    def image_spare() -> None:
        if not images():
            make_image_spare(viewer)

    def first_draw() -> None:
        if not images():
            # only a head start: a display that cannot render off-screen (8-bit X
            # server) loses nothing but the head start
            with contextlib.suppress(Exception):
                _draw_once_unseen(viewer)

    def proposal_spare() -> None:
        if spare_for(viewer, PROPOSAL_ROLE) is not None:
            return  # seed mode was entered already
        shown = images()
        placement = {"scale": shown[0].scale, "translate": shown[0].translate} if shown else None
        make_proposal_spare(viewer, placement)

    steps = [image_spare, first_draw, proposal_spare]
    timer = QTimer(anchor)
    timer.setSingleShot(True)

    def next_step() -> None:
        steps.pop(0)()
        if steps:
            timer.start(_SPARE_STEP_MS)

    timer.timeout.connect(next_step)
    timer.start(SPARES_AFTER_MS)


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
