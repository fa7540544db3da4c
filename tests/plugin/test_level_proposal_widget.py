"""Propose levels in the Levels tab (issue 19 points 3 and 4), real Qt clicks, sample study.

The physician has two markers counted one level off and a target near them; "Propose
levels" counts the CT in a worker, shows the count as markers, says the markers disagree
(both counts) and flags the target; "One level down" / "One level up" rename every
proposed marker, a marker is moved, and "Accept" makes the proposal the case's markers —
audited as proposed-then-accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from blockplan.case import BlockType, Case, PatientPoint
from blockplan.case.store import CaseStore
from blockplan.planning import add_level_marker, place_target
from napari_blockplan._convert import lps_to_world, world_to_lps
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate, settle
from tests.plugin.test_clinic_day import _open_tab

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TRUTH: dict[str, Any] = json.loads((SAMPLE / "truth.json").read_text())
CENTRES = {**TRUTH["vertebrae"], **TRUTH["discs"]}
ALL = ["T12", "T12-L1", "L1", "L1-L2", "L2", "L2-L3", "L3", "L3-L4", "L4", "L4-L5", "L5",
       "L5-S1", "S1"]  # fmt: skip


def test_propose_shift_edit_and_accept_levels(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    store = CaseStore(tmp_path / "cases.sqlite3")
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(store)
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    activate(planning)
    frame = ws.frame_of_reference_uid()
    case = Case()
    for name, where in (("L5", "L4"), ("S1", "L5")):  # counted one level off
        at = PatientPoint(lps=CENTRES[where]["center_lps"], frame_of_reference_uid=frame)
        case = add_level_marker(case, at, name)
    snrb = next(t for t in TRUTH["targets"] if t["block_type"] == "snrb")
    target = place_target(
        PatientPoint(lps=snrb["target_lps"], frame_of_reference_uid=frame),
        case.levels,
        block_type=BlockType.SELECTIVE_NERVE_ROOT,
    )
    ws.start_case(case.replace_item("targets", target))
    settle()
    doc = Physician(viewer)
    panel = planning.level_proposal
    _open_tab(doc, planning.tabs, "Levels")
    assert not panel.accept_button.isEnabled()

    doc.click(panel.propose_button, "Propose levels")
    qtbot.waitUntil(panel.accept_button.isEnabled, timeout=60000)
    layer = panel.layer()
    assert list(layer.features["level"]) == ALL
    assert np.allclose(layer.data[6], lps_to_world(panel.proposal.centre_of("L3")))
    assert panel.status.text().startswith(
        "13 levels proposed (T12–S1), counted from the sacrum and the lowest ribs"
    )
    guard = panel.guard.text()
    assert "the level marked L5 is L4 by the automatic count" in guard
    assert "markers name these bodies L5–S1, the automatic count L4–L5" in guard
    assert ws.case.targets[0].level_change is not None  # flagged until confirmed

    doc.click(panel.down_button, "One level down")
    assert list(panel.layer().features["level"])[:2] == ["L1", "L1-L2"]
    doc.click(panel.up_button, "One level up")
    assert list(panel.layer().features["level"]) == ALL

    moved = layer.data.copy()  # the physician drags the L3 marker 2 mm cranially
    moved[6] = lps_to_world(np.add(panel.proposal.centre_of("L3"), (0.0, 0.0, 2.0)))
    layer.data = moved
    doc.click(panel.accept_button, "Accept proposed levels")
    assert [m.level for m in ws.case.levels] == ALL
    l3 = next(m for m in ws.case.levels if m.level == "L3")
    truth_l3 = np.asarray(CENTRES["L3"]["center_lps"])
    assert abs(l3.position.lps[2] - truth_l3[2]) < 5.0 + 2.0
    assert panel.layer() is None and not panel.accept_button.isEnabled()
    assert ws.case.targets[0].level == "L5"  # the left L5 SNRB, recomputed from the markers
    entries = store.audit(ws.case.case_id)
    actions = [e.action for e in entries]
    assert actions[-2:] == ["flag targets: levels disagree", "accept proposed levels"]
    assert entries[-1].summary.startswith(
        "level markers proposed automatically on CT series 2 (counted from the sacrum and the "
        "lowest ribs, which agree) and accepted: T12–S1, 13 markers"
    )
    assert entries[-1].summary.endswith("moved by the physician before accepting: L3")
    # the guard re-checks on every edit: the accepted markers agree with the count
    assert panel.guard.text().startswith("Level count: the markers agree with the automatic")
    assert doc.actions <= 6


def test_propose_levels_on_the_sagittal_mr_when_no_ct_is_open(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    """Issue 19 point 2 in napari: only the sagittal T2 is open; "Propose levels" counts
    on it from the sacrum and "Accept" audits the MR series it was counted on."""
    store = CaseStore(tmp_path / "cases.sqlite3")
    viewer = make_napari_viewer(show=True)
    viewer.open(str(SAMPLE / "S0003_MR_T2_SAG"), plugin="blockplan")
    ws = workspace_for(viewer)
    ws.use_store(store)
    qtbot.waitUntil(lambda: len(ws.volumes()) == 1, timeout=60000)  # loaded in the background
    assert [v.modality for v in ws.volumes()] == ["MR"]
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    activate(planning)
    ws.start_case(Case())
    settle()
    doc = Physician(viewer)
    panel = planning.level_proposal
    _open_tab(doc, planning.tabs, "Levels")
    doc.click(panel.propose_button, "Propose levels")
    qtbot.waitUntil(panel.accept_button.isEnabled, timeout=60000)
    labels = list(panel.layer().features["level"])
    assert labels[-5:] == ["L4", "L4-L5", "L5", "L5-S1", "S1"]
    assert "counted up from the sacrum on the sagittal MR" in panel.status.text()
    for label, lps in zip(labels, np.asarray(panel.layer().data), strict=True):
        truth = np.asarray(CENTRES[label]["center_lps"])
        assert abs(world_to_lps(lps)[2] - truth[2]) < 5.0, label
    doc.click(panel.accept_button, "Accept proposed levels")
    assert [m.level for m in ws.case.levels] == labels
    summary = store.audit(ws.case.case_id)[-1].summary
    assert summary.startswith("level markers proposed automatically on MR series 3 (counted up")
    assert doc.actions <= 3
