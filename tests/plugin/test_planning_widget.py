"""The Planning widget on the sample study, checked against its ground truth (Xvfb)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from blockplan.case.store import CaseStore
from blockplan.case.vocab import BlockType
from blockplan.planning import SafetyVerdict, mask_grid_for
from napari_blockplan._convert import display_volume, lps_to_world, world_to_lps
from napari_blockplan._layers import layer_for
from napari_blockplan._workspace import workspace_for
from tests.planning.test_sample_study import _deepest_point
from tests.plugin._gui import choose

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text())
STRUCTURE = {"medial_branch": "facet_joint"}


@pytest.fixture
def planning(make_napari_viewer, tmp_path: Path):
    """A viewer with the sample study, a private case store and the Planning widget."""
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    store = CaseStore(tmp_path / "cases.sqlite3")
    ws = workspace_for(viewer)
    ws.use_store(store)
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    return viewer, widget, ws, store


def _shown(viewer: Any, role: str) -> np.ndarray:
    """What a blockplan points layer shows (nothing when the case has no such item)."""
    layer = layer_for(viewer, role)
    return np.empty((0, 3)) if layer is None else np.asarray(layer.data)


def _place_levels(widget: Any) -> list[str]:
    placed = []
    centres = {**TRUTH["vertebrae"], **TRUTH["discs"]}
    widget.next_level.setCurrentText("T12")  # the physician names the first marker
    while (name := widget._proposed_level()) in centres:
        widget.add_level_at(lps_to_world(centres[name]["center_lps"]))
        placed.append(name)
    return placed


def _add_truth_targets(widget: Any) -> list[tuple[Any, dict[str, Any]]]:
    added = []
    for truth in TRUTH["targets"]:
        choose(widget.block_type, truth["block_type"])
        assert widget.structure.currentData() == STRUCTURE.get(
            truth["structure"], truth["structure"]
        )
        usual = BlockType(widget.block_type.currentData()).usual_approach
        assert widget.approach.currentData() == usual.value  # the block's usual approach
        target = widget.add_target_at(lps_to_world(truth["target_lps"]))
        assert target.approach is usual
        widget.set_entry_at(lps_to_world(truth["entry_lps"]), target_id=target.id)
        added.append((target, truth))
    return added


def test_levels_targets_and_trajectories_match_the_ground_truth(planning) -> None:
    viewer, widget, ws, _store = planning
    placed = _place_levels(widget)
    expected = [n for pair in zip(TRUTH["vertebrae"], [*TRUTH["discs"], None]) for n in pair if n]
    assert placed == expected  # T12, T12-L1, L1, …, L5-S1, S1
    assert [m.level for m in ws.case.levels] == expected
    for name in ("L5",):
        (marker,) = [m for m in ws.case.levels if m.level == name]
        assert np.allclose(marker.position.lps, TRUTH["vertebrae"][name]["center_lps"])

    added = _add_truth_targets(widget)
    assert len(ws.case.targets) == len(TRUTH["targets"])
    for target, truth in added:
        stored = ws.case.target(target.id)
        assert stored.side.value == truth["side"]  # filled in automatically
        if truth["structure"] == "nerve_root":  # a root target lies at its own vertebra
            assert stored.level == truth["level"]
        assert np.allclose(stored.position.lps, truth["target_lps"], atol=1e-9)
        m = widget.metrics[target.id]
        length = np.linalg.norm(np.subtract(truth["entry_lps"], truth["target_lps"]))
        assert m.path_length_mm == pytest.approx(length, abs=1e-6)
        assert m.path_length_mm == pytest.approx(truth["depth_mm"], abs=0.6)
        assert m.oblique_deg == pytest.approx(truth["angle_from_sagittal_deg"], abs=0.5)
        assert m.tilt_deg == pytest.approx(truth["craniocaudal_tilt_deg"], abs=0.5)
        assert m.oblique_side.value == truth["side"]  # entry lateral on the target's side
        # no hazard, but no root or thecal sac is marked in this test: not assessed (this
        # asserted `m.safe` before issue 14)
        assert m.hazards == (), m.warnings
        assert m.verdict is SafetyVerdict.NOT_ASSESSED and not m.safe
        assert m.bone_checked and not m.crosses_bone

    # the table lists every target by name with its verdict; the details pane its numbers
    table = widget.table
    assert table.rowCount() == len(added)
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert header == ["Target", "Level", "Side", "Structure", "Block", "Verdict"]
    for row, (target, _truth) in enumerate(added):
        assert table.item(row, header.index("Verdict")).text() == "not assessed"
        widget.select_target(target.id)
        assert f"Path length: {widget.metrics[target.id].path_length_mm:.1f} mm" in (
            widget.details.text()
        )

    # editing a cell edits the case; an invalid value is refused and nothing changes
    level_col = header.index("Level")
    first_id = added[0][0].id
    table.item(0, level_col).setText("L4")
    assert ws.case.target(first_id).level == "L4"
    table.item(0, level_col).setText("X9")
    assert ws.case.target(first_id).level == "L4"
    assert "not valid" in widget.message.text()
    assert table.item(0, level_col).text() == "L4"

    # selecting a row centres the view on the target
    widget.select_target(added[2][0].id)
    world = lps_to_world(added[2][1]["target_lps"])
    assert np.allclose(viewer.scene.camera.center[-2:], world[-2:])
    assert viewer.dims.point[0] == pytest.approx(world[0], abs=1.0)

    # every layer shows the case in patient space
    targets = layer_for(viewer, "targets")
    assert np.allclose(world_to_lps(targets.data), [t.position.lps for t in ws.case.targets])
    lines = layer_for(viewer, "trajectories")
    assert len(lines.data) == len(added)


def test_target_on_the_axial_ct_is_at_the_same_place_on_the_sagittal_mr(planning) -> None:
    viewer, widget, _ws, _store = planning
    _place_levels(widget)
    truth = TRUTH["targets"][0]
    world = lps_to_world(truth["target_lps"])
    widget.add_target_at(world)
    for layer in viewer.layers:
        vol = layer.metadata.get("blockplan_volume")
        if vol is None:
            continue
        shown, _how = display_volume(vol)
        kji = layer.world_to_data(world)
        assert np.allclose(shown.index_to_lps(kji[::-1]), truth["target_lps"], atol=1e-6), (
            layer.name
        )


def test_undo_redo_and_reopening_restore_every_layer(planning, make_napari_viewer) -> None:
    viewer, widget, ws, store = planning
    _place_levels(widget)
    _add_truth_targets(widget)
    n = len(ws.case.targets)
    widget.delete_selected_target()
    assert len(ws.case.targets) == n - 1
    widget.undo()
    assert len(ws.case.targets) == n
    widget.redo()
    assert len(ws.case.targets) == n - 1
    widget.undo()

    # every edit was saved: a second viewer opening the case shows identical layers
    other = make_napari_viewer(show=True)
    other.open_sample("blockplan", "lumbar_postop")
    ws2 = workspace_for(other)
    ws2.use_store(store)
    other.window.add_plugin_dock_widget("blockplan", "Planning")
    ws2.open_case(ws.case.case_id)
    assert ws2.case == ws.case
    for role in ("levels", "targets", "landmarks"):
        assert np.array_equal(_shown(other, role), _shown(viewer, role)), role
    other.dims.point = viewer.dims.point  # paths are drawn as the slice shows them
    a, b = layer_for(other, "trajectories").data, layer_for(viewer, "trajectories").data
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def _open_scar_tab(widget: Any) -> None:
    bar = widget.tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == "Scar")
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert widget.tabs.currentIndex() == index


def _accept_proposal(qtbot: Any, widget: Any) -> None:
    """Wait for the proposal grown in the worker, then click Accept."""
    _open_scar_tab(widget)
    qtbot.waitUntil(widget.proposal.accept_button.isEnabled, timeout=120000)
    QTest.mouseClick(widget.proposal.accept_button, Qt.MouseButton.LeftButton)


def test_scar_region_grow_paint_and_volume_per_level(planning, qtbot) -> None:
    viewer, widget, ws, _store = planning
    _place_levels(widget)
    assert "FS" in widget.scar_series.currentText()  # fat-suppressed post-Gd proposed
    with np.load(SAMPLE / TRUTH["scar"]["mask_file"]) as npz:
        seed = _deepest_point(npz["mask"].astype(bool), npz["affine"])
    widget.set_mode("seed")
    widget.click(lps_to_world(seed))
    _accept_proposal(qtbot, widget)
    (region,) = ws.case.scar_regions
    assert region.method == "region_grow"
    assert region.volume_ml == pytest.approx(TRUTH["scar"]["volume_ml"], rel=0.10)
    assert set(region.volume_ml_per_level) >= {"L4-L5", "L5"}
    assert "mL in total" in widget.scar_volume.text()
    assert "L5:" in widget.scar_volume.text()

    # paint more scar on the layer: the case follows, and undo takes it back
    widget.start_painting()
    layer = layer_for(viewer, "scar")
    assert layer.mode == "paint"
    data = layer.data.copy()
    k, j, i = np.argwhere(data)[0]
    data[k, j : j + 4, i : i + 4] = 1
    layer.data = data
    widget.commit_painting()
    (stored,) = ws.case.scar_regions
    # the scar stays on its source series' grid (the oblique T1), not napari's display grid
    assert stored.grid == region.grid == mask_grid_for(ws.volume(region.grid.series_instance_uid))
    assert stored.voxel_count > region.voxel_count
    shown = layer_for(viewer, "scar").data > 0
    assert shown[data > 0].all()  # every painted voxel is now shown as scar
    widget.undo()
    assert ws.case.scar_regions[0].voxel_count == region.voxel_count

    # a click in bright fat next to nothing enhancing leaks: refused with advice
    widget.sensitivity.setValue(4.0)
    widget.set_mode("seed")  # painting left the placement mode
    widget.click(lps_to_world(seed))
    qtbot.waitUntil(lambda: not widget.proposal.growing, timeout=120000)
    assert "leaked" in widget.message.text()
    assert widget.proposal.layer() is None and not widget.proposal.accept_button.isEnabled()
    assert ws.case.scar_regions[0].voxel_count == region.voxel_count


def test_workspace_screenshot_shows_every_layer(planning, qtbot) -> None:
    viewer, widget, _ws, _store = planning
    _place_levels(widget)
    _add_truth_targets(widget)
    # nothing marked yet: every path is drawn orange, "not assessed"
    from napari.utils.colormaps.standardize_color import transform_color

    lines = layer_for(viewer, "trajectories")
    assert all(np.allclose(c, transform_color("#ff7f0e")[0]) for c in lines.edge_color)
    # the roots next to the left L5 SNRB and the thecal sac marked: its path can be judged
    choose(widget.landmark_kind, "nerve_root")
    for level in ("L4", "L5"):
        root = next(r for r in TRUTH["nerve_roots"] if (r["root"], r["side"]) == (level, "left"))
        widget.add_landmark_at(lps_to_world(root["foramen_lps"]))
    choose(widget.landmark_kind, "thecal_sac")
    widget.add_landmark_at(lps_to_world(TRUTH["thecal_sac_centerline"]["L5"]))
    with np.load(SAMPLE / TRUTH["scar"]["mask_file"]) as npz:
        seed = _deepest_point(npz["mask"].astype(bool), npz["affine"])
    widget.grow_scar_at(lps_to_world(seed))
    _accept_proposal(qtbot, widget)
    roles = {lay.metadata.get("blockplan", {}).get("role") for lay in viewer.layers}
    assert {"levels", "landmarks", "targets", "trajectories", "scar"} <= roles
    # axial CT through the left L5 SNRB target, CT visible under the overlays
    snrb = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")
    viewer.dims.set_point(0, snrb["target_lps"][2])
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    import os

    if os.environ.get("BLOCKPLAN_SAVE_SCREENSHOT"):
        from PIL import Image

        Image.fromarray(shot.astype(np.uint8)).save(os.environ["BLOCKPLAN_SAVE_SCREENSHOT"])
    gray = shot.mean(axis=2)
    assert (gray > 200).mean() > 0.001  # cortical bone in the bone window
    r, g, b = shot[..., 0], shot[..., 1], shot[..., 2]
    green = (g > 120) & (r < 100) & (b < 100)  # safe trajectory lines (#2ca02c)
    # untested targets: Okabe-Ito reddish purple (#CC79A7), apart from every status colour
    target_pink = (r > 180) & (g > 90) & (g < 150) & (b > 140) & (b < 200)
    assert green.sum() > 20
    assert target_pink.sum() > 5


def test_targets_are_named_alike_in_the_table_and_the_view(planning) -> None:
    from blockplan.planning import target_names

    viewer, widget, ws, _store = planning
    _place_levels(widget)
    _first, second = _add_truth_targets(widget)[:2]
    layer = layer_for(viewer, "target names")  # the names beside the markers
    names = list(target_names(ws.case.targets).values())
    assert names[:2] == ["T1 · L5 right TFESI", "T2 · L5 left TFESI"]
    assert list(layer.text.values) == names
    assert [widget.table.item(r, 0).text() for r in range(widget.table.rowCount())] == names
    # the name follows an edit of the level; a target without a level says so
    header = [widget.table.horizontalHeaderItem(c).text() for c in range(6)]
    widget.table.item(1, header.index("Level")).setText("L4")
    assert list(layer.text.values)[1] == widget.table.item(1, 0).text() == "T2 · L4 left TFESI"
    widget.table.item(1, header.index("Level")).setText("")
    assert ws.case.target(second[0].id).level is None
    assert widget.table.item(1, 0).text() == "T2 · left TFESI, level unassigned"


def test_a_path_through_bone_is_flagged_in_the_table_and_the_view(planning) -> None:
    viewer, widget, _ws, _store = planning
    _place_levels(widget)
    truth = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")
    choose(widget.block_type, "snrb")
    target = widget.add_target_at(lps_to_world(truth["target_lps"]))
    # straight from the back through the lamina and spinous process region
    entry = np.array([0.0, 130.0, truth["target_lps"][2]])
    widget.set_entry_at(lps_to_world(entry), target_id=target.id)
    m = widget.metrics[target.id]
    assert not m.safe and m.crosses_bone and m.verdict is SafetyVerdict.UNSAFE
    header = [widget.table.horizontalHeaderItem(c).text() for c in range(6)]
    assert widget.table.item(0, header.index("Verdict")).text() == "UNSAFE"
    assert "Verdict: UNSAFE — crosses bone" in widget.details.text()
    lines = layer_for(viewer, "trajectories")
    assert np.allclose(lines.edge_color[0], [214 / 255, 39 / 255, 40 / 255, 1.0])  # red


def test_target_colours_follow_the_ledger_without_the_outcomes_widget(planning) -> None:
    from napari.utils.colormaps.standardize_color import transform_color

    from blockplan.demo import build_demo_case
    from napari_blockplan._layers import STATUS_COLOURS

    viewer, _widget, ws, _store = planning
    ws.start_case(build_demo_case(SAMPLE))
    layer = layer_for(viewer, "targets")
    colours = dict(zip(layer.features["id"], layer.face_color, strict=True))
    for target in ws.case.targets:
        status = ws.target_statuses[target.id]
        assert np.allclose(colours[target.id], transform_color(STATUS_COLOURS[status])[0])
    snrb = next(t for t in ws.case.targets if t.block_type.value == "snrb")
    assert ws.target_statuses[snrb.id] == "confirmed"
    # switching the profile is an edit like any other: the colours are recomputed
    ws.apply(ws.case.evolve(profile_name="strict-dual-80"), "set profile", "strict-dual-80")
    assert ws.ledger.profile_name == "strict-dual-80"
    colours = dict(zip(layer.features["id"], layer.face_color, strict=True))
    expected = STATUS_COLOURS[ws.target_statuses[snrb.id]]
    assert np.allclose(colours[snrb.id], transform_color(expected)[0])


def test_clicks_without_a_study_or_selection_explain_what_to_do(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer(show=True)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    widget.set_mode("target")
    widget.click([0.0, 0.0, 0.0])
    assert "load a study first" in widget.message.text()
    assert ws.case.targets == ()

    viewer.open_sample("blockplan", "lumbar_postop")
    widget.set_mode("entry")
    widget.click([0.0, 0.0, 0.0])
    assert "select a target in the table first" in widget.message.text()
    assert ws.case.trajectories == ()
    with pytest.raises(ValueError, match="unknown mode"):
        widget.set_mode("teleport")


def test_sagittal_view_is_upright_with_s1_drawn_below_l5(planning) -> None:
    from blockplan.demo import build_demo_case
    from tests.plugin._gui import Physician, pixel_of

    viewer, widget, ws, _store = planning
    ws.start_case(build_demo_case(SAMPLE))
    Physician(viewer).click(widget.view_buttons["sagittal"], "Sagittal")
    assert list(viewer.dims.displayed) == [0, 1]  # rows: superior-inferior, columns: A-P
    l5, s1 = (TRUTH["vertebrae"][n]["center_lps"] for n in ("L5", "S1"))
    p5, p1 = pixel_of(viewer, l5), pixel_of(viewer, s1)
    assert p1.y() > p5.y() + 20  # S1 lower on the screen than L5
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    r, g, b = shot[..., 0], shot[..., 1], shot[..., 2]
    gold = (r > 200) & (g > 170) & (b < 80)  # the level markers (#ffd700) and labels

    def gold_near(p: Any) -> int:
        y, x = p.y(), p.x()
        return int(gold[max(y - 8, 0) : y + 9, max(x - 8, 0) : x + 9].sum())

    assert gold_near(p5) > 5 and gold_near(p1) > 5  # the markers are drawn where expected
    # anterior on the viewer's left: the vertebral body lies left of the spinous process
    body = TRUTH["vertebrae"]["L4"]["center_lps"]
    behind = [body[0], body[1] + 40.0, body[2]]
    assert pixel_of(viewer, body).x() < pixel_of(viewer, behind).x()


def test_the_first_level_is_chosen_by_the_physician_not_assumed_t12(planning) -> None:
    _viewer, widget, ws, _store = planning
    # nothing is assumed on an empty case: the physician chooses (never T12 by default)
    assert widget.next_level.currentText() == ""
    assert widget.next_level.placeholderText() == "choose the first level"
    widget.next_level.setCurrentText("L4")
    centres = {**TRUTH["vertebrae"], **TRUTH["discs"]}
    for expected in ("L4", "L4-L5", "L5", "L5-S1", "S1"):
        assert widget.next_level.currentText() == expected
        widget.add_level_at(lps_to_world(centres[expected]["center_lps"]))
    assert [m.level for m in ws.case.levels] == ["L4", "L4-L5", "L5", "L5-S1", "S1"]
    snrb = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")
    choose(widget.block_type, "snrb")
    target = widget.add_target_at(lps_to_world(snrb["target_lps"]))
    assert (target.level, target.side.value) == (snrb["level"], snrb["side"])


def test_orientation_letters_follow_the_plane_shown(planning) -> None:
    from napari_blockplan._views import LETTER_OVERLAYS
    from tests.plugin._gui import Physician

    viewer, widget, _ws, _store = planning
    physician = Physician(viewer)

    def letters() -> dict[str, str]:
        shown = {edge: viewer.canvas.overlays[key] for edge, key in LETTER_OVERLAYS.items()}
        return {edge: o.text for edge, o in shown.items() if o.visible}

    physician.click(widget.view_buttons["sagittal"], "Sagittal")
    assert letters() == {"top": "S", "bottom": "I", "left": "A", "right": "P"}
    physician.click(widget.view_buttons["coronal"], "Coronal")
    assert letters() == {"top": "S", "bottom": "I", "left": "R", "right": "L"}
    physician.click(widget.view_buttons["axial"], "Axial")
    assert letters() == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    # drawn on the canvas: yellow glyphs in the middle of the left and right edges
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].astype(int)
    yellow = (shot[..., 0] > 200) & (shot[..., 1] > 200) & (shot[..., 2] < 80)
    h, w = yellow.shape
    middle = slice(h // 2 - 30, h // 2 + 30)
    assert yellow[middle, :40].sum() > 10 and yellow[middle, w - 40 :].sum() > 10
    # turning the camera by hand turns the letters with it
    viewer.scene.camera.orientation2d = ("up", "left")
    assert letters() == {"top": "P", "bottom": "A", "left": "L", "right": "R"}
    viewer.dims.ndisplay = 3
    assert letters() == {}


def test_orientation_letters_leave_with_the_widget(planning) -> None:
    from napari_blockplan._views import LETTER_OVERLAYS

    viewer, widget, _ws, _store = planning
    assert all(key in viewer.canvas.overlays for key in LETTER_OVERLAYS.values())
    viewer.window.remove_dock_widget(widget.parent())
    widget.close()
    widget.deleteLater()
    from qtpy.QtWidgets import QApplication

    QApplication.processEvents()
    from qtpy.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert not any(key in viewer.canvas.overlays for key in LETTER_OVERLAYS.values())


def test_closing_the_planning_widget_gives_the_keys_back(planning) -> None:
    from napari.utils.key_bindings import KeyBinding
    from qtpy.QtCore import QCoreApplication, QEvent
    from qtpy.QtWidgets import QApplication

    viewer, widget, _ws, _store = planning
    assert KeyBinding.from_str("Shift-L") in viewer.keymap
    viewer.window.remove_dock_widget(widget.parent())
    widget.close()
    widget.deleteLater()
    QApplication.processEvents()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # a shortcut of the closed widget no longer reaches it (no error on a deleted widget)
    assert KeyBinding.from_str("Shift-L") not in viewer.keymap
    callbacks = [getattr(cb, "__self__", None) for cb in viewer.mouse_drag_callbacks]
    assert widget not in callbacks


def test_the_targets_table_speaks_the_physicians_words(planning, qtbot) -> None:
    from blockplan.demo import build_demo_case

    _viewer, widget, ws, _store = planning
    ws.start_case(build_demo_case(SAMPLE))
    table = widget.table
    header = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    block, structure = header.index("Block"), header.index("Structure")
    shown = {table.item(r, block).text() for r in range(table.rowCount())}
    assert shown <= {"MBB", "facet IA", "SNRB", "TFESI", "ILESI", "caudal ESI", "SIJ"}
    assert "SNRB" in shown  # never the stored value "snrb"
    assert all("_" not in table.item(r, structure).text() for r in range(table.rowCount()))
    # what the column shows is what the physician may type back
    first = ws.case.targets[0].id
    table.item(0, block).setText("tfesi")
    assert ws.case.target(first).block_type.value == "tfesi"
    qtbot.waitUntil(lambda: table.item(0, block).text() == "TFESI", timeout=5000)
    table.item(0, block).setText("xyz")
    assert ws.case.target(first).block_type.value == "tfesi"
    assert "type one of MBB, facet IA, SNRB, TFESI" in widget.message.text()
    table.item(0, structure).setText("Nerve Root")
    assert ws.case.target(first).structure.value == "nerve_root"
