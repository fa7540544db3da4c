"""A physician's trial of the Study browser, Case, C-arm previews and Report panels (wt-am).

Two stories, each one napari launch, driven with real Qt events (Xvfb):

1. A case reopened before its images: the Study browser first pointed at a folder holding
   no DICOM and at a study whose only series is refused (a slice unreadable), then at the
   sample study; the Case panel's message follows.
2. The demo case planned: the C-arm previews looked at (each picture whole in its place),
   the report built, saved where it cannot be (kept with the case all the same) and where
   it can, archived, the case edited (the target shown
   in the previews deleted) and a de-identified copy exported.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog, QLineEdit

from tests.plugin._gui import SAMPLE, Physician, activate, click_layer_row, select_target, settle

pytestmark = pytest.mark.gui


def _enter_path(doc: Physician, browser: Any, path: Path) -> None:
    """Type a folder into the Study browser's path field and press Enter."""
    field = browser.path_edit
    doc.click(field, "the path field")
    field.selectAll()
    doc.type(field, str(path), "a folder")
    doc.key(field, Qt.Key.Key_Return, what="Enter")


def test_a_case_reopened_before_its_images(
    make_napari_viewer: Any, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blockplan.case import Case
    from blockplan.case.model import PatientInfo, StudyRef
    from blockplan.case.store import CaseStore
    from blockplan.demo import build_demo_case
    from napari_blockplan._workspace import workspace_for

    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    ws.start_case(build_demo_case(SAMPLE))  # stored yesterday, closed
    ws.close_case()
    other = Case(
        title="Another patient's plan",
        patient=PatientInfo(patient_id="OTHER-7", patient_name="OTHER^Person"),
        study=StudyRef(study_instance_uid="1.2.826.0.1.3680043.10.999.1"),
    )
    ws.start_case(other)  # another patient's case, stored too
    ws.close_case()
    _d, browser = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    _d, cases = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    _d, report = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    doc = Physician(viewer)
    activate(cases)

    # no case open: Build and Export say so (Build had made a report of no one, every
    # field "not recorded", ready to archive; Export asked for a folder first)
    asked: list[str] = []
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: asked.append("") or ("", ""))
    )
    doc.click(report.build_button, "Build report")
    assert report.status.text() == (
        "no case is open: open or start one in the Case panel, then build its report"
    )
    assert report.pdf is None and report.build_button.isEnabled()
    doc.click(report.export_button, "Export de-identified…")
    assert report.status.text() == (
        "no case is open: open or start one in the Case panel, then export it"
    )
    assert asked == []

    # a folder without DICOM, typed and Enter (Enter had done nothing; then the scan
    # said "0 series found, 1 other files skipped.")
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "readme.txt").write_text("not an image")
    _enter_path(doc, browser, empty)
    qtbot.waitUntil(lambda: not browser.busy and browser.status.text() != "", timeout=20000)
    assert browser.status.text().startswith("No DICOM series found here, 1 other files")
    assert "choose the folder that holds the study's DICOM files" in browser.status.text()
    doc.click(browser.load_button, "Load selected")
    assert browser.status.text() == "no series to load: find the series of a DICOM folder first"

    # a study whose CT has an unreadable slice: refused, the reason said once, with one
    # full stop ("…or pick another series.."), and said again when Load is pressed (the
    # Status column lies beyond the dock's edge)
    broken = tmp_path / "broken" / "S0002_CT"
    shutil.copytree(SAMPLE / "S0002_CT", broken)
    slice_file = sorted(broken.iterdir())[100]
    slice_file.write_bytes(slice_file.read_bytes()[:2000])
    _enter_path(doc, browser, broken.parent)
    qtbot.waitUntil(lambda: not browser.busy and "refused" in browser.status.text(), timeout=20000)
    assert ".." not in browser.status.text()
    doc.click(browser.load_button, "Load selected")
    said = browser.status.text()
    assert said.startswith("no loadable series selected. Series 2 refused: unreadable file")
    assert said.endswith("or pick another series.") and ".." not in said
    assert not [layer for layer in viewer.layers if layer.name.startswith("CT")]

    # the case found by name and opened with Enter, before any image is loaded
    doc.click(cases.search_edit, "Search")
    doc.type(cases.search_edit, "phantom lumbar", "the patient's name")
    qtbot.waitUntil(lambda: len(cases.entries) == 1 and not cases.searching, timeout=10000)
    doc.key(cases.search_edit, Qt.Key.Key_Return, what="Enter")
    qtbot.waitUntil(lambda: ws.is_open, timeout=10000)
    assert "No image of its study is loaded yet: load the study (2026-03-15" in (
        cases.message.text()
    )
    assert viewer.window._qt_window.windowTitle().startswith("blockplan — PHANTOM, LUMBAR")

    # the sample study found and loaded: the message no longer asks for it
    _enter_path(doc, browser, SAMPLE)
    qtbot.waitUntil(lambda: not browser.busy and browser.table.rowCount() == 4, timeout=20000)
    doc.click(browser.load_button, "Load selected")
    qtbot.waitUntil(lambda: ws.ct() is not None and not browser.busy, timeout=60000)
    settle()
    assert cases.message.text() == (
        "Opened case “Demo: persistent left L5 radicular pain after L4-L5 decompression”; "
        "the images of its study are loaded."
    )

    # a second case started by mistake, both closed: the banner offers both, each with
    # when it was changed and what it holds in full on a second line (on one line, its
    # middle was cut: "Reopen case 58cb5d9c, 2…5 — nothing planned yet")
    doc.click(cases.close_button, "Close")
    doc.click(cases.new_button, "New case")
    doc.click(cases.close_button, "Close")
    qtbot.waitUntil(lambda: cases.reopen_buttons[1].isVisible(), timeout=10000)
    settle()
    for button in cases.reopen_buttons[:2]:  # room for two lines
        assert button.height() >= 2 * button.fontMetrics().lineSpacing()
    empty, demo = (b.shown_text().split("\n") for b in cases.reopen_buttons[:2])
    assert empty[0].startswith("Reopen case ") and empty[1].endswith(" — nothing planned yet")
    assert demo[0].startswith("Reopen “Demo: persistent") and demo[0].endswith("decompression”")
    assert demo[1].endswith(" — 5 targets, 4 blocks")
    for button, lines in zip(cases.reopen_buttons, (empty, demo), strict=False):
        assert "…" not in lines[1]
        assert button.fontMetrics().horizontalAdvance(lines[1]) <= button.width()
    doc.click(cases.reopen_buttons[1], "Reopen the planned case")
    assert ws.is_open and ws.case.title.startswith("Demo: persistent")

    # the other patient's case opened with the sample loaded: the sample is refused (its
    # images removed) and the panel shows both identities — its parts scroll, none is
    # squeezed (the open case's rows had overlapped, the name and Rename cut in half)
    doc.click(cases.search_edit, "Search")
    cases.search_edit.selectAll()
    doc.type(cases.search_edit, "other", "the other patient's name")
    qtbot.waitUntil(lambda: len(cases.entries) == 1 and not cases.searching, timeout=10000)
    doc.key(cases.search_edit, Qt.Key.Key_Return, what="Enter")
    qtbot.waitUntil(lambda: ws.case.title == "Another patient's plan", timeout=10000)
    qtbot.waitUntil(lambda: cases.refused.isVisible() and ws.ct() is None, timeout=10000)
    settle()
    shown = [cases.rename_button, cases.title_edit, cases.close_button, *cases.fields.values()]
    squeezed = [w for w in shown if w.height() < w.minimumSizeHint().height()]
    assert not squeezed, [(type(w).__name__, w.height()) for w in squeezed]
    assert doc.actions == 24, doc.log


def _fits(picture: Any) -> bool:
    """The whole preview is inside its place on the panel (and fills its width or
    height)."""
    pixmap, room = picture.pixmap(), picture.contentsRect()
    whole = pixmap.width() <= room.width() and pixmap.height() <= room.height()
    fills = pixmap.width() >= room.width() - 1 or pixmap.height() >= room.height() - 1
    return whole and fills


def test_previews_and_report_of_a_planned_case(
    planning_demo: Any, tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer, ws, planning, doc = (
        planning_demo.viewer,
        planning_demo.ws,
        planning_demo.planning,
        planning_demo.doc,
    )
    previews_dock, previews = viewer.window.add_plugin_dock_widget("blockplan", "C-arm previews")
    qtbot.waitUntil(lambda: previews.final, timeout=60000)
    # the 384-pixel DRR had been shown at full size in a 200-pixel place: its middle only,
    # the angles along its top cut ("ight oblique, 5.0° caudal tilt")
    assert all(_fits(picture) for picture in previews.images)
    assert previews.shown[0].image_rgb.shape[:2] == (384, 384)

    # the panel floated and made tall and narrow (420 × 900): the previews go one above
    # the other, each about the panel's width (side by side, they stayed 200 px wide with
    # half the panel empty below them, their level names unreadable)
    previews_dock.setFloating(True)
    previews_dock.resize(420, 900)
    settle()
    assert all(_fits(picture) for picture in previews.images)
    assert min(picture.pixmap().width() for picture in previews.images) >= 300
    assert previews.stacked
    previews_dock.setFloating(False)
    settle()

    # T2 chosen in the previews' target list (Down key): shown whole too
    doc.key(previews.target, Qt.Key.Key_Down, what="Down on the target list")
    qtbot.waitUntil(lambda: previews.final and previews.shown[0].target_id == "t2", timeout=60000)
    assert all(_fits(picture) for picture in previews.images)

    # the report: clinic typed, built, archived to a new folder
    report_dock, report = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    activate(report)
    doc.click(report.clinic, "Clinic")
    doc.type(report.clinic, "Synthetic Pain Clinic")
    doc.key(report.clinic, Qt.Key.Key_Tab, what="Tab")
    doc.click(report.build_button, "Build report")
    qtbot.waitUntil(lambda: report.build_button.isEnabled(), timeout=120000)
    pages = len(report.pages)
    assert pages > 3 and report.page.text() == f"1 of {pages}"
    # the whole "1 of 9" is readable, the panel as narrow as it goes (its dock floated and
    # narrowed): the row had squeezed the box to "1 of '"
    report_dock.setFloating(True)
    report_dock.resize(1, report_dock.height())
    settle()
    field = report.page.findChild(QLineEdit)
    assert field.fontMetrics().horizontalAdvance(report.page.text()) <= field.width()
    report_dock.setFloating(False)
    settle()

    # Save PDF… into a folder that does not exist: said on the panel (it had reached
    # napari as a traceback); the report is kept with the case all the same — kept first,
    # then written, by the one function `blockplan report` calls too
    import blockplan.report.kept as kept_module
    from blockplan.report.kept import kept_reports

    saves: list[tuple[str, bytes, Path]] = []
    real_save = kept_module.write_signed_report

    def save_spy(case: Any, pdf: bytes, path: Any) -> Any:
        saves.append((case.case_id, pdf, Path(path)))
        return real_save(case, pdf, path)

    monkeypatch.setattr(kept_module, "write_signed_report", save_spy)
    assert kept_reports(ws.case.case_id) == []
    nowhere = tmp_path / "gone" / "report.pdf"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(nowhere), ""))
    )
    doc.click(report.save_button, "Save PDF…")
    (kept,) = kept_reports(ws.case.case_id)
    assert report.status.text() == (
        f"PDF not written: {nowhere}: cannot write the report (No such file or directory); "
        "check that the folder exists and is writable, or choose another file — the report "
        f"is kept with the case all the same (report {kept.report_id}: a later archive "
        "sends it)"
    )
    assert not nowhere.exists()
    assert kept.path.read_bytes() == report.pdf
    # then into a folder it can write: these very bytes, kept once; the dialog suggests the
    # report's id as the name (it suggested "report.pdf" for every report)
    signed = tmp_path / "signed.pdf"
    suggested: list[str] = []
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        staticmethod(lambda *a, **k: suggested.append(a[2]) or (str(signed), "")),
    )
    doc.click(report.save_button, "Save PDF…")
    assert suggested == [f"{kept.report_id}.pdf"] and kept.report_id.startswith("BPR-")
    assert report.status.text() == (f"saved {signed} (report {kept.report_id}, kept with the case)")
    assert signed.read_bytes() == report.pdf
    assert kept_reports(ws.case.case_id) == [kept]
    assert saves == [(ws.case.case_id, report.pdf, nowhere), (ws.case.case_id, report.pdf, signed)]

    doc.click(report.destination, "Archive to")
    doc.type(report.destination, str(tmp_path / "archive"), "a new folder")
    doc.key(report.destination, Qt.Key.Key_Tab, what="Tab")
    doc.click(report.archive_button, "Archive")
    qtbot.waitUntil(lambda: not report.progress.isVisible(), timeout=60000)
    assert report.status.text().startswith("archived to ")
    assert (tmp_path / "archive" / "report.pdf").read_bytes() == report.pdf
    assert kept_reports(ws.case.case_id) == [kept]  # the saved report is the archived one

    # T2, the target the previews show, deleted in the Planning panel (Delete key)
    select_target(doc, planning, "t2")
    doc.key(planning.table, Qt.Key.Key_Delete, what="Delete")
    assert [t.id for t in ws.case.targets] == ["t1", "t3", "t4", "t5"]
    qtbot.waitUntil(lambda: previews.final and bool(previews.shown), timeout=60000)
    assert previews.shown[0].target_id != "t2"
    assert previews.target.currentData() != "t2"
    assert all(_fits(picture) for picture in previews.images)
    assert report.status.text().startswith("the case changed after the report was built")
    assert not report.archive_button.isEnabled()

    # a de-identified copy exported meanwhile: Archive stays off (it had been enabled
    # again under "the case changed", and its click refused), and the panel says both
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        staticmethod(lambda *a, **k: (str(tmp_path / "deidentified"), "")),
    )
    doc.click(report.export_button, "Export de-identified…")
    assert not report.export_button.isEnabled()  # one job at a time
    qtbot.waitUntil(lambda: not report.progress.isVisible(), timeout=60000)
    assert (tmp_path / "deidentified").is_dir()
    assert report.status.text() == (
        f"de-identified export written to {tmp_path / 'deidentified'}; the case changed "
        "after the report was built: build the report again, review it, then archive"
    )
    assert not report.archive_button.isEnabled()
    assert report.export_button.isEnabled()

    # the CT removed from napari's layer list (its row clicked, then napari's delete
    # button): the previews say which target waits for what (the message had asked to
    # "select a target and load the case's CT" with T1 selected above it)
    ct = next(layer.name for layer in viewer.layers if layer.name.startswith("CT "))
    click_layer_row(doc, ct)
    doc.click(viewer.window._qt_viewer.layerButtons.deleteButton, "napari's delete button")
    qtbot.waitUntil(lambda: ws.ct() is None, timeout=10000)
    settle()
    shown = previews.target.currentText()
    assert previews.status.text() == (
        f"{shown}: no CT loaded — load the case's CT (Study browser) to see its C-arm previews"
    )
    assert [image.text() for image in previews.images] == ["no preview", "no preview"]
