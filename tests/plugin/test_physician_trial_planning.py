"""A physician's planning-and-report day, driven with real Qt events (Xvfb).

Found by a physician's trial (wt-s) of the Planning, C-arm previews and Report panels on
the sample study with a new case: the levels proposed and accepted, a nerve root and the
thecal sac marked, three targets planned (an L5 left TFESI, an L4-L5 right MBB, an S1
left SNRB in the S1 foramen) with their skin entries, the C-arm previews looked at, the
report built, read and archived. Each test sends the events the physician sent and checks
what the panels show and what the PDF says.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication, QComboBox

from blockplan.settings import Settings, save_settings
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import Physician, canvas_widget, settle
from tests.plugin.test_clinic_day import (
    TRUTH,
    _choose,
    _dock,
    _launch,
    _mark_landmark,
    _open_dock,
    _open_tab,
)
from tests.plugin.test_physician_trial import _wheel

pytestmark = pytest.mark.gui

TFESI = next(t for t in TRUTH["targets"] if t["block_type"] == "tfesi" and t["side"] == "left")
MBB = next(t for t in TRUTH["targets"] if t["nerve"] == "L4 medial branch")  # L4-L5 right
S1_ROOT = next(r for r in TRUTH["nerve_roots"] if (r["root"], r["side"]) == ("S1", "left"))
S1 = {"target_lps": S1_ROOT["foramen_lps"], "entry_lps": [40.0, 135.0, -196.0]}
"""An S1 left SNRB aimed at the S1 root in its (first sacral) foramen."""
L5_ROOT = next(r for r in TRUTH["nerve_roots"] if (r["root"], r["side"]) == ("L5", "left"))


_OPEN: list[Any] = []
"""The viewers a test opened: closed after it, whether it passed or failed (a viewer left
open by a failing test would fail the next test's leak check)."""


@pytest.fixture(autouse=True)
def _close_viewers(launch_app: Any) -> Iterator[None]:
    yield  # closed before napari's test application goes
    while _OPEN:
        viewer = _OPEN.pop()
        with contextlib.suppress(RuntimeError):  # already closed
            viewer.close()
        settle()


def _open(qtbot: Any) -> Any:
    """napari on the sample study, as `blockplan view sample_dicom` opens it."""
    viewer = _launch(qtbot)
    _OPEN.append(viewer)
    return viewer


def _button(panel: Any, text: str) -> Any:
    kind = type(panel.view_buttons["axial"])
    return next(b for b in panel.findChildren(kind) if b.text().startswith(text))


def _levels_proposed(qtbot: Any, viewer: Any, doc: Physician, *, sagittal: bool) -> Any:
    """The Planning panel's Levels tab (on the sagittal view when ``sagittal``) with the
    automatic level count proposed (Propose clicked, Accept enabled); the Planning panel."""
    _open_dock(doc, "Planning")
    planning = _dock(viewer, "Planning")
    if sagittal:
        doc.click(planning.view_buttons["sagittal"], "Sagittal")
    _open_tab(doc, planning.tabs, "Levels")
    proposal = planning.level_proposal
    doc.click(proposal.propose_button, "Propose levels")
    qtbot.waitUntil(proposal.accept_button.isEnabled, timeout=120000)
    return planning


def _plan_the_day(qtbot: Any, tmp_path: Path) -> tuple[Any, Physician, Any]:
    """Open the sample study, accept the proposed levels, mark the left L5 root and the
    thecal sac, and plan the three targets with their skin entries — real events only."""
    save_settings(
        Settings(
            clinician_name="Dr. Synthetic Tester",
            clinic_name="Synthetic Spine Clinic",
            archive_destination=str(tmp_path / "archive"),
        )
    )
    viewer = _open(qtbot)
    doc = Physician(viewer)
    planning = _levels_proposed(qtbot, viewer, doc, sagittal=True)
    proposal = planning.level_proposal
    doc.click(proposal.accept_button, "Accept proposed levels")

    canvas = canvas_widget(viewer)
    for kind, lps in (
        ("nerve root", L5_ROOT["foramen_lps"]),
        ("thecal sac", TRUTH["thecal_sac_centerline"]["L5"]),
    ):
        _mark_landmark(doc, planning, kind, lps)

    _open_tab(doc, planning.tabs, "Targets")
    for block, target in (("TFESI", TFESI), ("MBB", MBB), ("SNRB", S1)):
        doc.click(planning.view_buttons["sagittal"], "Sagittal")
        doc.click_patient(target["target_lps"], "its height")
        _choose(doc, planning.block_type, block)
        doc.click(planning.view_buttons["axial"], "Axial")
        doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
        doc.click_patient(target["target_lps"], "the target")
        doc.key(canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier, "Shift-E")
        doc.click_patient(target["entry_lps"], "the skin entry")
    return viewer, doc, planning


def _build(doc: Physician, qtbot: Any) -> Any:
    _open_dock(doc, "Report")
    report = _dock(doc.viewer, "Report")
    doc.click(report.build_button, "Build report")
    qtbot.waitUntil(
        lambda: report.pdf is not None and report.build_button.isEnabled(), timeout=180000
    )
    return report


def _pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _select_row(doc: Physician, planning: Any, row: int) -> None:
    table = planning.table
    doc.click(table.viewport(), f"row {row + 1}", table.visualItemRect(table.item(row, 0)).center())


def _the_page_box_says_of_how_many_pages(doc: Physician, report: Any) -> None:
    """The preview's page box read "1", not how many pages the report has (5 today)."""
    from pypdf import PdfReader

    pages = len(report.pages)
    assert pages == len(PdfReader(io.BytesIO(report.pdf)).pages)
    assert report.page.text() == f"1 of {pages}"
    doc.click(report.page, "the page box")
    doc.key(report.page, Qt.Key.Key_Up, what="next page")
    assert report.page.text() == f"2 of {pages}"


def _the_placement_keys_work_with_the_focus_in_the_panel(doc: Physician, planning: Any) -> None:
    """The physician chose SNRB in *New target — block* and pressed Shift-T, as the button
    "Place target [Shift-T]" says: nothing happened (napari's key bindings hear only the
    canvas). Now the keys work wherever the focus is in the Planning panel, and a text field
    still types its capital letters."""
    ws = workspace_for(doc.viewer)
    n = len(ws.case.targets)
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    doc.click_patient(TFESI["target_lps"], "its height")
    doc.click(planning.view_buttons["axial"], "Axial")
    _choose(doc, planning.block_type, "SNRB")
    assert isinstance(QApplication.focusWidget(), QComboBox)  # the list just chosen from
    doc.key(QApplication.focusWidget(), Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    assert ws.mode == "target"
    assert "click the target" in planning.mode_label.text()
    doc.click_patient(TFESI["target_lps"], "the target")
    assert len(ws.case.targets) == n + 1
    assert ws.case.targets[-1].block_type.value == "snrb"

    # typing a label with capitals types them; no mode starts
    _select_row(doc, planning, 0)
    doc.click(planning.target_label, "Label")
    doc.type(planning.target_label, "TFESI Left", "a label")
    assert planning.target_label.text() == "TFESI Left"
    assert ws.mode is None


def _the_c_arm_panel_never_shows_one_target_under_anothers_name(
    qtbot: Any, doc: Physician, planning: Any
) -> None:
    """Selecting T2 (right MBB) after T1 (left TFESI): for as long as T2's previews took,
    the C-arm panel showed T1's pictures and "bull's-eye: 40° left oblique" under "Target:
    T2 · L4-L5 right MBB" — the other side's angles under the new target's name."""
    viewer = doc.viewer
    _dock_widget, fluoro = viewer.window.add_plugin_dock_widget("blockplan", "C-arm previews")
    _select_row(doc, planning, 0)
    qtbot.waitUntil(lambda: fluoro.final and "T1" in fluoro.status.text(), timeout=60000)
    assert "left oblique" in fluoro.captions[0].text()

    _select_row(doc, planning, 1)
    assert fluoro.target.currentText() == "T2 · L4-L5 right MBB"
    t2 = workspace_for(viewer).case.targets[1].id
    if fluoro.shown:  # T2's quick previews came already (a fast machine): T2's, as captioned
        # (T2's progression view may itself be a left oblique: perpendicular to its
        # right-oblique bull's-eye)
        assert all(p.target_id == t2 for p in fluoro.shown)
        assert [c.text() for c in fluoro.captions] == [p.view.title for p in fluoro.shown]
    else:  # still computing T2's: T1's pictures and angles are gone and the panel says so
        assert all("left oblique" not in c.text() for c in fluoro.captions)
        assert fluoro.images[0].pixmap().isNull()
        assert fluoro.images[0].text() == "computing the bull's-eye view…"
        assert fluoro.status.text() == "computing the C-arm previews of T2 · L4-L5 right MBB…"
    qtbot.waitUntil(lambda: fluoro.final and "T2" in fluoro.status.text(), timeout=60000)
    assert fluoro.captions[0].text().startswith("bull's-eye: ")
    assert "right oblique" in fluoro.captions[0].text()


def _the_wheel_over_the_export_dates_never_changes_them(doc: Physician) -> None:
    """Scrolling the Report panel with the wheel over *Dates* turned "remove" into
    "shift:-365" for the next de-identified export (a second notch: "keep"); the choices were
    policy strings, not words."""
    _open_dock(doc, "Report")
    report = _dock(doc.viewer, "Report")
    assert report.deid_dates.currentText() == "remove dates"  # it read "remove"
    # the choices in words (the list had offered "shift:-365"), the real dates last
    assert [report.deid_dates.itemText(i) for i in range(report.deid_dates.count())] == [
        "remove dates",
        "shift dates 365 days back",
        "keep the real dates",
    ]
    _wheel(report.deid_dates, notches=3)
    assert report.deid_dates.currentText() == "remove dates"


def test_a_target_below_the_lowest_marker_says_why_its_level_is_unassigned(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """The S1 root target in the S1 foramen lies below the lowest marker (S1) the
    proposal gave: it read "level unassigned" on screen and in the report, with nothing
    saying why or what to do. Now both say it, in the same words, and the level typed in
    its cell is kept."""
    viewer, doc, planning = _plan_the_day(qtbot, tmp_path)
    ws = workspace_for(viewer)
    reason = "below the lowest level marker (S1) — mark S1-S2, or type the level"
    table = planning.table
    assert [table.item(2, c).text() for c in range(3)] == [
        "T3 · left SNRB, level unassigned",
        "level unassigned",
        "left",
    ]
    # the placement message, then the details pane of the selected target
    _select_row(doc, planning, 0)
    _select_row(doc, planning, 2)
    first = planning.details.text().splitlines()[0]
    assert first == f"Level: unassigned — {reason}"
    # the other targets have levels: no such line
    _select_row(doc, planning, 0)
    assert planning.details.text().startswith("Path length:")

    report = _build(doc, qtbot)
    text = _squash(_pdf_text(report.pdf))
    assert _squash(f"T3 · left SNRB, level unassigned — {reason}.") in text
    # the details pane and the report's targets table word each path the same
    for row in range(table.rowCount()):
        _open_dock(doc, "Planning")
        _select_row(doc, planning, row)
        for line in planning.details.text().splitlines():
            assert _squash(line.removeprefix("Level: unassigned — ")) in text, line

    # the physician types the level: the reason goes, and the report says S1
    _open_dock(doc, "Planning")
    level_cell = table.visualItemRect(table.item(2, 1)).center()
    doc.click(table.viewport(), "the level cell of T3", level_cell)
    doc.key(table, Qt.Key.Key_F2, what="F2")
    doc.type_focused("S1", "S1")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    settle(10)
    assert ws.case.targets[2].level == "S1"
    assert table.item(2, 0).text() == "T3 · S1 left SNRB"
    _select_row(doc, planning, 2)
    assert not planning.details.text().startswith("Level:")


def test_a_medial_branch_target_level_with_a_vertebra_asks_for_its_joint(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """A medial branch is targeted where it crosses a transverse process: a needle at the
    base of the right L4 process, level with the L4 pedicle, was filed as "L4, facet
    joint" — a joint that does not exist, which the ledger and report then treated as its
    own pain source. The table, the details pane, the placement message and
    the report now say to name the joint, in the same words; typed, it is the L4-L5 joint
    and every mention goes."""
    viewer, doc, planning = _plan_the_day(qtbot, tmp_path)
    ws = workspace_for(viewer)
    table = planning.table
    # a needle at the base of the right L4 transverse process, level with the pedicle
    pedicle = TRUTH["vertebrae"]["L4"]["pedicle_centers_lps"]["right"]
    point = [pedicle[0] - 12.0, pedicle[1], pedicle[2]]
    canvas = canvas_widget(viewer)
    doc.click(planning.view_buttons["sagittal"], "Sagittal")
    doc.click_patient(point, "its height")
    _choose(doc, planning.block_type, "MBB")
    doc.click(planning.view_buttons["axial"], "Axial")
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient(point, "the medial branch on the L4 transverse process")
    row = len(ws.case.targets) - 1
    target = ws.case.targets[row]
    assert (target.level, target.structure.value) == ("L4", "facet_joint")
    asked = "L4 is a vertebra: name the facet joint (L3-L4 or L4-L5)"
    name = table.item(row, 0).text()
    assert planning.message.text().startswith(f"target {name} placed — {asked}")
    level = table.item(row, 1)
    assert level.text() == "L4 — name the facet joint (L3-L4 or L4-L5)"
    assert level.toolTip().startswith(asked + ": double-click its level")
    assert level.background().color().name() != table.item(row, 2).background().color().name()
    _select_row(doc, planning, row)
    assert planning.details.text().splitlines()[0].startswith(f"Level: {asked}:")

    report = _build(doc, qtbot)
    assert _squash("L4 — name the facet joint (L3-L4 or L4-L5)") in _squash(_pdf_text(report.pdf))

    _open_dock(doc, "Planning")
    doc.click(table.viewport(), "the level cell", table.visualItemRect(level).center())
    doc.key(table, Qt.Key.Key_F2, what="F2")
    doc.type_focused("L4-L5", "L4-L5")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    settle(10)
    assert ws.case.targets[row].level == "L4-L5"
    assert table.item(row, 1).text() == "L4-L5"
    assert table.item(row, 1).toolTip() == ""
    _select_row(doc, planning, row)
    assert not planning.details.text().startswith("Level:")


def test_the_placement_message_says_why_the_level_is_unassigned(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """Placing the S1 target said only "target T3 · left SNRB, level unassigned placed";
    its skin entry "skin entry placed" and Delete "target deleted", naming no target."""
    viewer, _doc, planning = _plan_the_day(qtbot, tmp_path)
    # the last message is the entry's; the target's message was shown before it, so
    # place one more below the markers and read the message it leaves
    doc = Physician(viewer)
    canvas = canvas_widget(viewer)
    doc.key(canvas, Qt.Key.Key_T, Qt.KeyboardModifier.ShiftModifier, "Shift-T")
    doc.click_patient(S1["target_lps"], "another S1 target")
    assert planning.message.text() == (
        "target T4 · left SNRB, level unassigned placed — below the lowest level marker "
        "(S1) — mark S1-S2, or type the level"
    )
    # the next messages name the target too (they said "skin entry placed", "target deleted")
    doc.key(canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier, "Shift-E")
    doc.click_patient(S1["entry_lps"], "its skin entry")
    assert planning.message.text() == "skin entry of T4 · left SNRB, level unassigned placed"
    doc.click(_button(planning, "Delete selected target"), "Delete selected target")
    assert planning.message.text() == (
        "target T4 · left SNRB, level unassigned deleted — Ctrl+Z to undo"
    )
    assert len(workspace_for(viewer).case.targets) == 3
    # the same day, two launches fewer
    _the_placement_keys_work_with_the_focus_in_the_panel(doc, planning)
    _the_c_arm_panel_never_shows_one_target_under_anothers_name(qtbot, doc, planning)


def test_an_edit_after_the_build_says_at_once_that_the_preview_is_stale(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """A label typed after the report was built left "report built: 5 pages" and an
    enabled Archive button; only Archive's refusal told the physician. Now the panel says
    it at once and Archive waits for a new build; Undo brings the previewed case back."""
    viewer, doc, planning = _plan_the_day(qtbot, tmp_path)
    report = _build(doc, qtbot)
    pages = len(report.pages)
    assert report.status.text().startswith(f"report built: {pages} pages")
    assert report.archive_button.isEnabled()
    _the_page_box_says_of_how_many_pages(doc, report)  # the same day, one launch fewer

    _open_dock(doc, "Planning")
    _select_row(doc, planning, 0)
    doc.click(planning.target_label, "Label")
    doc.type(planning.target_label, "index pain: left L5 dermatome", "a label")
    doc.key(planning.target_label, Qt.Key.Key_Return, what="Enter")
    assert workspace_for(viewer).case.targets[0].label == "index pain: left L5 dermatome"
    _open_dock(doc, "Report")
    assert report.status.text() == (
        "the case changed after the report was built: build the report again, review it, "
        "then archive"
    )
    assert not report.archive_button.isEnabled()
    assert not report.save_button.isEnabled()  # nor is the outdated PDF saved

    undo = next(
        b for b in report.findChildren(type(report.build_button)) if b.text().startswith("Undo")
    )
    doc.click(undo, "Undo")
    assert report.archive_button.isEnabled()  # the case is again the one previewed
    assert report.save_button.isEnabled()
    doc.click(report.archive_button, "Archive the previewed report")
    qtbot.waitUntil(lambda: "archived to" in report.status.text(), timeout=120000)
    assert (tmp_path / "archive" / "report.pdf").read_bytes() == report.pdf
    _a_root_marked_at_another_level_does_not_vouch(doc, planning, report.pdf, tmp_path)


def _a_root_marked_at_another_level_does_not_vouch(
    doc: Physician, planning: Any, pdf: bytes, tmp_path: Path
) -> None:
    """T2, the L4-L5 right MBB: the only root marked is the left L5 root, 57 mm from its
    path, beyond the assessment reach — it was called "safe" on it. Now *not assessed*,
    naming the nearest marked root, in the same words in the details pane, the report PDF
    and the archived SR."""
    from pydicom import dcmread

    from blockplan.archive.sr import read_sr

    _open_dock(doc, "Planning")
    _select_row(doc, planning, 1)
    assert planning.table.item(1, 0).text().startswith("T2 · L4-L5 right MBB")
    assert planning.table.item(1, planning.table.columnCount() - 1).text() == "not assessed"
    verdict = planning.details.text().splitlines()[-1]
    assert re.fullmatch(
        r"Verdict: not assessed — mark the nerve roots near the path \(the nearest marked, "
        r"nerve root L5 left, is 5\d\.\d mm away\)",
        verdict,
    ), verdict
    assert _squash(verdict) in _squash(_pdf_text(pdf))
    case = workspace_for(doc.viewer).case
    traj = next(t for t in case.trajectories if t.target_id == case.targets[1].id)
    plan = read_sr(dcmread(tmp_path / "archive" / "plan-sr.dcm"))
    words = plan.measurements[traj.id].words()
    assert words is not None and f"Verdict: {words.safety}" == verdict


def test_a_shifted_proposal_says_the_physician_shifted_it(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """After *One level down* the proposal read "13 levels proposed (L1–S2), counted from
    the sacrum and the lowest ribs (they agree)" — as if the count had found L1–S2; only the
    message after Accept said the physician had shifted it."""
    save_settings(Settings(clinician_name="Dr. Synthetic Tester"))
    viewer = _open(qtbot)
    doc = Physician(viewer)
    _the_wheel_over_the_export_dates_never_changes_them(doc)  # the same launch
    planning = _levels_proposed(qtbot, viewer, doc, sagittal=False)
    proposal = planning.level_proposal
    counted = proposal.status.text()
    assert counted.startswith("13 levels proposed (T12–S1), counted from the sacrum")
    assert "shifted" not in counted
    doc.click(proposal.down_button, "One level down")
    assert proposal.status.text() == (
        counted.replace("(T12–S1)", "(L1–S2)") + "; shifted 1 level caudally by the physician"
    )
    doc.click(proposal.up_button, "One level up")  # back to the count as it was
    assert proposal.status.text() == counted


def _fully_shown(label: Any) -> bool:
    """The whole wrapped text of a label is inside its widget and inside the visible part
    of the scroll area around it."""
    if label.height() < label.heightForWidth(label.width()):
        return False
    return label.visibleRegion().boundingRect().height() >= label.height() - 1


def test_the_wrong_level_warning_is_read_whole_beside_a_readable_marker_list(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """With the markers shifted by one level the wrong-level warning ran to six lines: the
    Levels tab squeezed the marker list to one row and clipped the warning's first and last
    lines ("… targets near it stay flagged until you confirm them"). The proposal's line
    also stayed after Accept, describing a proposal that was gone."""
    save_settings(Settings(clinician_name="Dr. Synthetic Tester"))
    viewer = _open(qtbot)
    doc = Physician(viewer)
    planning = _levels_proposed(qtbot, viewer, doc, sagittal=True)
    proposal = planning.level_proposal
    doc.click(proposal.down_button, "One level down")
    doc.click(proposal.accept_button, "Accept proposed levels")
    assert proposal.status.text() == ""  # the proposal is gone, and so is its line
    doc.click(proposal.propose_button, "Propose levels again")
    qtbot.waitUntil(proposal.accept_button.isEnabled, timeout=120000)
    doc.click(proposal.discard_button, "Discard proposal")
    assert proposal.status.text() == ""
    guard = proposal.guard
    assert guard.text().startswith("Level count: the markers and the automatic count disagree")
    # the count's basis reads plainly inside the warning's parentheses (it was "… counted
    # from the sacrum and the lowest ribs (they agree)); markers name …")
    assert "))" not in guard.text()
    assert "(one level higher; counted from the sacrum and the lowest ribs, which agree)" in (
        guard.text()
    )
    settle(10)
    table = planning.marker_table
    rows = table.verticalHeader().defaultSectionSize()
    assert table.viewport().height() >= 5 * rows  # five markers readable at once

    # the physician scrolls the Levels tab to the warning: all of it can be read
    scroll = planning.tabs.currentWidget()
    _wheel(scroll.viewport(), notches=10)
    assert guard.height() >= guard.heightForWidth(guard.width())  # not squeezed
    assert _fully_shown(guard)
    planning.grab().save(str(tmp_path / "levels.png"))


def test_retyping_a_target_in_the_table_carries_its_structure_and_approach(
    qtbot: Any, tmp_path: Path, launch_app: Any
) -> None:
    """T1 (L5 left TFESI) typed "MBB" in its Block cell kept "nerve root" and
    "subpedicular": the table read "T1 · L5 left MBB · nerve root", its verdict turned
    "safe" (the L5 root no longer spared as its own) and the report printed a medial
    branch block of the L5 root. Now structure, approach and level follow the block."""
    viewer, doc, planning = _plan_the_day(qtbot, tmp_path)
    ws = workspace_for(viewer)
    table = planning.table
    doc.click(table.viewport(), "T1's block cell", table.visualItemRect(table.item(0, 4)).center())
    doc.key(table, Qt.Key.Key_F2, what="F2")
    doc.type_focused("MBB", "MBB")
    doc.key_focused(Qt.Key.Key_Return, "Enter")
    settle(10)
    assert [table.item(0, c).text() for c in range(5)] == [
        "T1 · L5-S1 left MBB",
        "L5-S1",
        "left",
        "facet joint",
        "MBB",
    ]
    assert planning.message.text() == (
        "block type set: MBB — structure facet joint, level L5-S1 and approach posterior "
        "oblique follow it"
    )
    _select_row(doc, planning, 0)
    assert planning.target_approach.currentText() == "posterior oblique"
    target = ws.case.targets[0]
    assert (target.structure.value, target.approach.value) == ("facet_joint", "posterior_oblique")
    report = _build(doc, qtbot)
    text = _squash(_pdf_text(report.pdf))
    assert _squash("facet joint medial branch block, posterior oblique") in text
