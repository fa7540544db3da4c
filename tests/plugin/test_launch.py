"""`blockplan view PATH`: napari with every dock widget and the study loading (Xvfb)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_blockplan._launch import DOCK_WIDGETS, launch_viewer

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def test_launch_docks_every_widget_and_loads_the_study(qtbot, launch_app) -> None:
    import gc

    frozen = gc.get_freeze_count()
    viewer = launch_viewer(SAMPLE, run=False)
    # what the launch made lives as long as the window: left out of every full collection
    # (each walked it all: 100–250 ms stalls), objects made later collected as before
    assert gc.get_freeze_count() > frozen + 10_000
    try:
        docked = {name.split(" (")[0] for name in viewer.window.dock_widgets}
        assert set(DOCK_WIDGETS) <= docked

        def images():
            return [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]

        qtbot.waitUntil(lambda: len(images()) == 4, timeout=60000)
        browser = next(
            w for name, w in viewer.window.dock_widgets.items() if name.startswith("Study")
        )
        qtbot.waitUntil(lambda: browser.load_button.isEnabled(), timeout=60000)
        assert [lay.visible for lay in images()] == [True, False, False, False]
        # overlays are made when a case shows something, and sit above the images
        from blockplan.demo import build_demo_case
        from napari_blockplan._workspace import workspace_for

        assert not any(
            lay.metadata.get("blockplan", {}).get("role")
            for lay in viewer.layers
            if "blockplan_volume" not in lay.metadata
        )
        workspace_for(viewer).start_case(build_demo_case(SAMPLE))
        assert viewer.layers.selection.active in images()  # the physician's image stays active
        roles = [lay.metadata.get("blockplan", {}).get("role") for lay in viewer.layers]
        first_overlay = next(n for n, r in enumerate(roles) if r != "image")
        assert all(r == "image" for r in roles[:first_overlay])
        assert "image" not in roles[first_overlay:]
        shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].mean(axis=2)
        assert (shot > 150).sum() > 200, "the CT shows after loading (view reset)"
    finally:
        viewer.close()


def test_launch_opens_a_stored_case(qtbot, launch_app) -> None:
    from blockplan.case.model import Case
    from blockplan.case.store import CaseStore
    from napari_blockplan._workspace import workspace_for

    case = Case(title="stored before launch (synthetic)")
    with CaseStore() as store:  # the default store, in the test's own data folder
        store.create(case, "dr-a")
    viewer = launch_viewer(None, run=False, case_id=case.case_id)
    try:
        workspace = workspace_for(viewer)
        assert workspace.case == case and workspace.session.version == 1
        # the Case panel is the first tab, shown, and names the open case
        assert next(iter(viewer.window.dock_widgets)).startswith("Cases")
        panel = viewer.window.dock_widgets["Cases (blockplan)"]
        qtbot.waitUntil(panel.isVisible, timeout=5000)
        assert panel.case_form.isVisible()
        # each tab reads its panel's name whole ("Cases", never a clipped "Cases (bloc…")
        from qtpy.QtWidgets import QTabBar

        from tests.plugin._gui import canvas_widget

        bars = canvas_widget(viewer).window().findChildren(QTabBar)
        tabs = {bar.tabText(i) for bar in bars for i in range(bar.count())}
        assert {"Cases", "Study browser", "Planning", "Outcomes", "Report"} <= tabs, tabs
        assert panel.fields["Case id"].text() == case.case_id
        assert panel.title_edit.text() == case.title
        assert viewer.title == f"blockplan — patient not recorded — {case.title}"
    finally:
        viewer.close()


def test_launch_with_a_study_and_its_case_opens_both(qtbot, launch_app) -> None:
    from blockplan.case.store import CaseStore
    from blockplan.demo import build_demo_case
    from napari_blockplan._layers import layer_for
    from napari_blockplan._workspace import workspace_for

    demo = build_demo_case(SAMPLE)
    with CaseStore() as store:
        store.create(demo, "dr-a")
    viewer = launch_viewer(SAMPLE, run=False, case_id=demo.case_id)
    try:
        workspace = workspace_for(viewer)
        qtbot.waitUntil(lambda: len(workspace.volumes()) == 4, timeout=60000)
        panel = viewer.window.dock_widgets["Cases (blockplan)"]
        assert panel.fields["Patient"].text() == "PHANTOM, LUMBAR"
        assert not panel.offer.isVisible() and not panel.refused.isVisible()
        assert workspace.case == demo  # the images are the case's own: nothing to adopt
        assert len(layer_for(viewer, "targets").data) == len(demo.targets)
        # the layer controls act on what is seen: the active image is the one shown, not
        # the last series loaded (hidden)
        active = viewer.layers.selection.active
        assert active is not None and active.visible, getattr(active, "name", None)
        # the whole slice is in view (the case's points, drawn before the images came,
        # do not set the zoom): its displayed extent fits the canvas, and fills most of it
        shown = list(viewer.dims.displayed)
        extent = np.ptp(active.extent.world[:, shown], axis=0) * viewer.scene.camera.zoom
        canvas = np.asarray(viewer.screenshot(canvas_only=True, flash=False).shape[:2])
        assert np.all(extent <= canvas * 1.02) and np.any(extent >= canvas * 0.6), (
            extent,
            canvas,
        )
        # the paths, measured when the case opened with no CT yet, are measured on the CT
        # once it is in: no "not assessed — load the CT" beside a CT on screen
        planning = viewer.window.dock_widgets["Planning (blockplan)"]
        column = [planning.table.horizontalHeaderItem(c).text() for c in range(6)].index("Verdict")
        verdicts = [planning.table.item(r, column).text() for r in range(len(demo.targets))]
        assert verdicts and "not assessed" not in verdicts, verdicts
        assert planning.metrics and all(m.bone_checked for m in planning.metrics.values())
    finally:
        viewer.close()
