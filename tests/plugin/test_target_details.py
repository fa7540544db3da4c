"""The selected target's details under the Targets table: whole, or scrolled to."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.gui


def test_long_details_are_given_their_height_and_scroll_to_the_last_line(
    make_napari_viewer: Any, tmp_path: Any
) -> None:
    """A physician's trial: the details ended mid-sentence ("… thecal sac") with no scroll
    bar — the word-wrapped label was shorter than its text (the scroll area sized it for
    another width). Two MBB targets given a vertebra for a level get a longer text (the
    joint to name); in a wide and a narrow window each target's details get their whole
    height at the width they have, and scrolled down the last line can be seen."""
    from blockplan.planning import set_target_level
    from napari_blockplan._workspace import workspace_for
    from tests.plugin._gui import Physician, demo_in_planning, select_target, settle

    viewer, planning, _case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    ws = workspace_for(viewer)
    for tid in ("t3", "t4"):  # the demo's L4-L5 facet MBB targets, named by a vertebra
        ws.apply(set_target_level(ws.case, tid, "L4"), "edit target", "level set")
    settle(5)
    doc = Physician(viewer)
    label, scroll = planning.details, planning.details_scroll
    longest = 0
    for width, height in ((1093, 831), (1400, 900)):
        viewer.window._qt_window.resize(width, height)
        settle(5)
        for target in ws.case.targets:
            select_target(doc, planning, target.id)
            settle(3)
            needed = label.heightForWidth(label.width())
            longest = max(longest, needed)
            assert label.height() >= needed, (width, target.id, label.height(), needed)
            bar = scroll.verticalScrollBar()
            settle()
            bar.setValue(bar.maximum())
            settle()
            bottom = label.mapTo(scroll.viewport(), label.rect().bottomLeft()).y()
            assert bottom <= scroll.viewport().height() + 1  # the last line can be seen
    assert longest > scroll.viewport().height() - 4  # a text that had been cut off
