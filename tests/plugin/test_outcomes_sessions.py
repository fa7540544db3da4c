"""Recording two blocks of one sitting on the Outcomes panel (issue 15 point 3, Xvfb)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtWidgets import QWidget

from blockplan.case import Agent, BlockType, Laterality
from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, activate

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TZ = dt.timezone(dt.timedelta(hours=1))
RELIEF = [(m, 1, None) for m in (0, 15, 30, 60)] + [(120, 8, None)]


@pytest.fixture
def outcomes(make_napari_viewer, tmp_path: Path):
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE))
    activate(widget)
    return viewer, widget, ws


def _tick(doc: Physician, box: QWidget, what: str) -> None:
    doc.click(box, what, QPoint(8, box.height() // 2))


def test_an_mbb_recorded_into_the_sitting_of_an_snrb(outcomes) -> None:
    viewer, widget, ws = outcomes
    form = widget.form
    root = next(t for t in ws.case.targets if t.block_type is BlockType.SELECTIVE_NERVE_ROOT)
    facet = next(
        t
        for t in ws.case.targets
        if t.block_type is BlockType.MEDIAL_BRANCH and t.side is Laterality.RIGHT
    )
    snrb = widget.record_procedure(
        performed_at=dt.datetime(2026, 6, 1, 9, 0, tzinfo=TZ),
        block_type=BlockType.SELECTIVE_NERVE_ROOT,
        target_ids=[root.id],
        agent=Agent.LIDOCAINE,
        volume_ml=0.5,
    )
    widget.set_diary(snrb.id, 9, RELIEF)
    # a block alone in its sitting shows "of its own": recording another from it starts anew
    widget.select_block(snrb.id)
    assert form.session.currentData() is None

    # a new block, joined to that sitting through the session box, with real events
    doc = Physician(viewer)
    doc.click(widget.new_block_button, "New block")
    assert form.session.currentData() is None  # a new block is a session of its own
    # the newest sitting is the last choice: End selects it, as on a closed combo box
    doc.key(form.session, Qt.Key.Key_End, what="the newest sitting")
    assert form.session.currentData() == snrb.session_id
    assert widget.performed_at.text() == "2026-06-01 09:00 +01:00"  # the sitting's time
    _tick(doc, widget.target_checks[facet.id], "the right MBB target")
    doc.click(widget.agent_buttons[Agent.LIDOCAINE], "lidocaine")
    doc.click(widget.record_button, "Record as new block")

    sitting = ws.case.session_of(snrb.id)
    # same time: the sitting orders its blocks by time, then id
    assert sorted(p.block_type for p in sitting.procedures) == sorted(
        [BlockType.SELECTIVE_NERVE_ROOT, BlockType.MEDIAL_BRANCH]
    )
    mbb = next(p for p in sitting.procedures if p.block_type is BlockType.MEDIAL_BRANCH)
    first = next(p for p in sitting.procedures if p.id == snrb.id)
    assert mbb.diary is not None and mbb.diary == first.diary  # one sitting, one diary
    # the ledger reads the sitting: the relief supports only the set of both sites
    result = next(b for b in widget.ledger.blocks if b.procedure_id == mbb.id)
    assert len(result.evidence_set) == 2 and "done in one session" in result.reasons[0]

    # a diary edit on one block of the sitting reaches the other
    widget.set_diary(mbb.id, 9, [(m, 8, None) for m in (0, 15, 30, 60, 120)])
    diaries = [p.diary for p in ws.case.session_of(snrb.id).procedures]
    assert diaries[0] == diaries[1] and diaries[0].entries[0].nrs == 8

    # the physician closes the sitting's diary as final on the Diary tab
    widget.select_block(mbb.id)
    widget.tabs.setCurrentIndex(1)
    _tick(doc, widget.diary_panel.closed_as_final, "diary closed as final")
    closed = [p.diary for p in ws.case.session_of(snrb.id).procedures]
    assert all(d is not None and d.closed_as_final for d in closed)
    widget.tabs.setCurrentIndex(0)

    # editing the MBB keeps it in the sitting
    widget.select_block(mbb.id)
    assert form.session.currentData() == snrb.session_id
    doc.click(widget.save_button, "Save changes")
    assert ws.case.session_of(mbb.id).session_id == snrb.session_id
