"""napari with blockplan, killed while the physician edits: the case reopens as last saved.

A real ``blockplan`` napari window (its own process, on the test's Xvfb display) opens a
stored case; the physician renames it five times in a row in the Cases panel (typed keys,
Return). The sixth rename is killed with SIGKILL inside its store transaction
(`tests._killed`). A new napari process then opens the case: the Cases panel shows the
fifth title, and the store holds version 6 (created + five renames) with its audit trail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from blockplan.case.model import Case
from blockplan.case.store import CaseStore
from tests._killed import PAUSE, REPO, KilledChild

pytestmark = [pytest.mark.gui, pytest.mark.slow]
RENAMES = 5

_OPEN = """
import json, os, sys
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication
from napari_blockplan._launch import launch_viewer
viewer = launch_viewer(None, run=False, case_id=sys.argv[1])
panel = viewer.window.dock_widgets["Cases (blockplan)"]
QApplication.processEvents()
"""

# renames by keyboard; the save after RENAMES of them pauses inside its transaction
EDITOR = (
    _OPEN
    + f"""
import blockplan.case.store as store_module
real, saves = store_module._write_summaries, []
def write_summaries(*args, **kwargs):
    real(*args, **kwargs)
    saves.append(1)
    if len(saves) > {RENAMES}:
        {PAUSE}
store_module._write_summaries = write_summaries
for n in range(1, {RENAMES} + 2):
    QTest.keyClick(panel.title_edit, Qt.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(panel.title_edit, f"renamed {{n}} (synthetic)")
    QTest.keyClick(panel.title_edit, Qt.Key_Return)
    QApplication.processEvents()
    assert panel.message.text() == "Case renamed.", panel.message.text()
"""
)

# what the physician sees on reopening
READER = (
    _OPEN
    + """
from napari_blockplan._workspace import workspace_for
seen = {"title": panel.title_edit.text(), "version": workspace_for(viewer).session.version}
os.write(1, json.dumps(seen).encode())
os._exit(0)
"""
)


def test_napari_killed_mid_save_reopens_with_the_last_saved_title() -> None:
    assert os.environ.get("DISPLAY"), "pytest-xvfb gives the children a display"
    case = Case(title="before the day (synthetic)")
    with CaseStore() as store:  # the default store, in the test's own data folder
        store.create(case, "dr-a")

    KilledChild(EDITOR, case.case_id).kill_when_paused()

    reopened = subprocess.run(
        [sys.executable, "-c", READER, case.case_id],
        capture_output=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=180,
        check=False,
    )
    assert reopened.returncode == 0, reopened.stderr.decode()[-2000:]
    seen = json.loads(reopened.stdout.decode().strip().splitlines()[-1])
    assert seen == {"title": f"renamed {RENAMES} (synthetic)", "version": RENAMES + 1}
    with CaseStore() as store:
        assert [e.version for e in store.audit(case.case_id)] == list(range(1, RENAMES + 2))
