"""The Case panel: worklist, open / new / rename / export / import / close, identity (Xvfb).

Real Qt events only (`Physician`): clicks on buttons and rows, keys, typed text. File
dialogs are the one thing replaced (they are the operating system's); what the physician
sees is read back from the widgets. Every patient here is synthetic.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QFileDialog

from blockplan.case import Case, PatientInfo, PatientPoint, StudyRef
from blockplan.case.casefile import load_case_file
from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from napari_blockplan._layers import ROLES, layer_for
from napari_blockplan._workspace import IDENTITY_KEY, workspace_for
from tests.plugin._gui import Physician, settle

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
SCREENSHOT_DIR = os.environ.get("BLOCKPLAN_SAVE_SCREENSHOT_DIR")

# synthetic patients besides the sample's phantom (PHANTOM^LUMBAR, SYNTH-0001)
OTHERS = (
    ("TESTFALL^ERIKA", "SYNTH-0002", dt.date(2026, 3, 2), "Right SIJ block series"),
    ("MUSTERMANN^MAX", "SYNTH-0003", dt.date(2026, 4, 20), "Facet work-up L4-L5"),
    ("EXEMPLAR^JOSÉ", "SYNTH-0004", dt.date(2026, 3, 28), "Left L5 root, second opinion"),
)


def _other_case(name: str, patient_id: str, study_date: dt.date, title: str, n: int) -> Case:
    born = dt.date(1950 + 7 * n, 1 + n, 10 + n)
    return Case(
        title=title,
        patient=PatientInfo(patient_id=patient_id, patient_name=name, birth_date=born, sex="F"),
        study=StudyRef(study_instance_uid=f"2.25.9{n}", study_date=study_date),
    )


@pytest.fixture
def store(tmp_path: Path) -> CaseStore:
    """A private store holding the demo case (the sample study) and three other cases."""
    store = CaseStore(tmp_path / "cases.sqlite3")
    for n, other in enumerate(OTHERS):
        store.create(_other_case(*other, n), "dr-test")
    store.create(build_demo_case(SAMPLE), "dr-test")  # changed last: first in the list
    return store


def _viewer(make_napari_viewer: Any, store: CaseStore, *, sample: bool = False) -> Any:
    viewer = make_napari_viewer(show=True)
    if sample:
        viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(store)
    _d, panel = viewer.window.add_plugin_dock_widget("blockplan", "Cases")
    viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    settle()
    return viewer, ws, panel


def _worklist(panel: Any) -> list[dict[str, str]]:
    heads = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    return [
        {h: panel.table.item(r, c).text() for c, h in enumerate(heads)}
        for r in range(panel.table.rowCount())
    ]


def _wait_for_worklist(qtbot: Any, panel: Any, expected: int) -> list[dict[str, str]]:
    """The worklist once the search typed so far has answered (``expected`` rows)."""
    qtbot.waitUntil(lambda: not panel.searching, timeout=5000)
    rows = _worklist(panel)
    assert len(rows) == expected, rows
    return rows


def _click_row(doc: Physician, panel: Any, row: int) -> None:
    table = panel.table
    doc.click(
        table.viewport(),
        f"worklist row {row}",
        table.visualRect(table.model().index(row, 0)).center(),
    )


def _retype(doc: Physician, field: Any, text: str, what: str) -> None:
    doc.click(field, what)
    field.selectAll()
    doc.type(field, text, what)


def _save_screenshot(qtbot: Any, panel: Any, name: str) -> None:
    """Save the panel, floated at a readable size, for the README (opt-in)."""
    from qtpy.QtWidgets import QDockWidget

    dock = panel.parentWidget()
    while not isinstance(dock, QDockWidget):
        dock = dock.parentWidget()
    dock.setFloating(True)
    dock.resize(820, 940)
    settle(20)
    qtbot.wait(200)
    panel.grab().save(str(Path(SCREENSHOT_DIR or ".") / name))


def _overlays(viewer: Any) -> list[str]:
    return [
        lay.name for lay in viewer.layers if lay.metadata.get("blockplan", {}).get("role") in ROLES
    ]


def _showing(viewer: Any) -> list[str]:
    """Roles of the blockplan overlay layers that show something."""
    return [
        lay.metadata["blockplan"]["role"]
        for lay in viewer.layers
        if lay.metadata.get("blockplan", {}).get("role") in ROLES and len(lay.data)
    ]


def _assert_every_cell_fits(table: Any) -> None:
    """Names, IDs and dates are shown whole (a cut name could be another patient's)."""
    metrics = table.fontMetrics()
    for r in range(table.rowCount()):
        for c in range(table.columnCount()):
            if table.horizontalHeaderItem(c).text() == "Title":
                continue  # long titles are cut; the whole title is the cell's tooltip
            text = table.item(r, c).text()
            assert metrics.horizontalAdvance(text) < table.columnWidth(c), (r, c)


def test_the_worklist_finds_cases_by_name_id_study_date_and_title(
    make_napari_viewer: Any, store: CaseStore, qtbot: Any
) -> None:
    viewer, _ws, panel = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    rows = _wait_for_worklist(qtbot, panel, 4)
    assert rows[0]["Patient"] == "PHANTOM, LUMBAR"  # newest first
    assert list(rows[0]) == [  # which case (title, changed) before the dock's edge (wt-o)
        "Patient",
        "Patient ID",
        "Title",
        "Changed",
        "Study date",
        "Birth date",
    ]
    assert rows[0]["Birth date"] == "1968-07-04" and rows[0]["Study date"] == "2026-03-15"
    _assert_every_cell_fits(panel.table)

    _retype(doc, panel.search_edit, "erika testfall", "a given and family name")
    assert [r["Patient ID"] for r in _wait_for_worklist(qtbot, panel, 1)] == ["SYNTH-0002"]
    _retype(doc, panel.search_edit, "jose", "a name without its accent")
    assert [r["Patient"] for r in _wait_for_worklist(qtbot, panel, 1)] == ["EXEMPLAR, JOSÉ"]
    _retype(doc, panel.search_edit, "SYNTH-0003", "a patient ID")
    assert [r["Title"] for r in _wait_for_worklist(qtbot, panel, 1)] == ["Facet work-up L4-L5"]
    _retype(doc, panel.search_edit, "l5 root", "title words")
    assert [r["Patient ID"] for r in _wait_for_worklist(qtbot, panel, 1)] == ["SYNTH-0004"]
    _retype(doc, panel.search_edit, "nobody-like-this", "a text nothing matches")
    _wait_for_worklist(qtbot, panel, 0)
    assert panel.worklist_status.text() == "No stored case matches."

    doc.click(panel.search_edit, "the search field")
    panel.search_edit.selectAll()
    doc.key(panel.search_edit, Qt.Key.Key_Delete, what="clear the search")
    _wait_for_worklist(qtbot, panel, 4)
    _retype(doc, panel.date_edit, "2026-03-01..2026-03-20", "a study-date range")
    rows = _wait_for_worklist(qtbot, panel, 2)
    assert {r["Patient ID"] for r in rows} == {"SYNTH-0001", "SYNTH-0002"}
    _retype(doc, panel.date_edit, "2026-04-20", "one study date")
    assert [r["Patient ID"] for r in _wait_for_worklist(qtbot, panel, 1)] == ["SYNTH-0003"]
    _retype(doc, panel.date_edit, "April", "a date that is not one")
    qtbot.waitUntil(lambda: "expected a date YYYY-MM-DD" in panel.worklist_status.text())
    assert panel.table.rowCount() == 1  # the last good result stays


def test_a_click_opens_a_case_with_its_layers_identity_and_window_title(
    make_napari_viewer: Any, store: CaseStore, qtbot: Any
) -> None:
    viewer, ws, panel = _viewer(make_napari_viewer, store, sample=True)
    doc = Physician(viewer)
    images = [lay for lay in viewer.layers if "blockplan_volume" in lay.metadata]
    assert all(lay.metadata[IDENTITY_KEY].patient_id == "SYNTH-0001" for lay in images)
    assert not ws.is_open and panel.no_case.isVisible() and not panel.case_form.isVisible()
    assert not _overlays(viewer) or all(
        len(layer_for(viewer, r).data) == 0 for r in ("levels", "targets")
    )
    _wait_for_worklist(qtbot, panel, 4)

    _click_row(doc, panel, 0)
    doc.click(panel.open_button, "Open")
    demo = build_demo_case(SAMPLE)
    assert ws.is_open and ws.case.case_id == demo.case_id
    assert len(layer_for(viewer, "levels").data) == len(demo.levels)
    assert len(layer_for(viewer, "targets").data) == len(demo.targets)
    assert layer_for(viewer, "scar") is not None
    shown = {name: label.text() for name, label in panel.fields.items()}
    assert shown == {
        "Patient": "PHANTOM, LUMBAR",
        "Patient ID": "SYNTH-0001",
        "Birth date": "1968-07-04",
        "Sex": "other",  # the word, not the DICOM code (as the report prints it)
        "Study date": "2026-03-15",
        "Accession": "SYNTH0001",
        "Case id": demo.case_id,
        "Profile": demo.profile_name,
    }
    assert panel.title_edit.text() == demo.title
    assert viewer.title == f"blockplan — PHANTOM, LUMBAR (SYNTH-0001) — {demo.title}"
    assert not panel.offer.isVisible()  # the case is open: nothing to offer
    assert doc.actions == 2
    assert panel.message.text() == f"Opened case “{demo.title}”."  # its title, not a 32-hex id

    # another case by double-click, and back by Enter on its row
    doc.click(panel.close_button, "Close")
    assert not ws.is_open and viewer.title == "blockplan"
    assert panel.message.text() == f"Closed case “{demo.title}”; it stays in the worklist."
    for role in ("levels", "landmarks", "targets", "trajectories"):
        assert len(layer_for(viewer, role).data) == 0, role  # the case's layers cleared
    assert not layer_for(viewer, "scar").data.any()
    rows = _wait_for_worklist(qtbot, panel, 4)
    other_row = next(n for n, r in enumerate(rows) if r["Patient ID"] == "SYNTH-0002")
    # the sample's images are the phantom's: opening another patient's case refuses them
    table = panel.table
    doc.double_click(
        table.viewport(),
        "another patient's row",
        table.visualRect(table.model().index(other_row, 0)).center(),
    )
    assert ws.is_open and ws.case.patient.patient_id == "SYNTH-0002"
    qtbot.waitUntil(lambda: not any("blockplan_volume" in lay.metadata for lay in viewer.layers))
    assert panel.refused.isVisible()
    doc.click(panel.close_button, "Close")
    rows = _wait_for_worklist(qtbot, panel, 4)
    demo_row = next(n for n, r in enumerate(rows) if r["Patient ID"] == "SYNTH-0001")
    _click_row(doc, panel, demo_row)
    doc.key(panel.table, Qt.Key.Key_Return, what="Enter on the row")
    assert ws.is_open and ws.case.case_id == demo.case_id


def test_new_rename_undo_export_import_and_close(
    make_napari_viewer: Any, store: CaseStore, qtbot: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    viewer, ws, panel = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    _wait_for_worklist(qtbot, panel, 4)

    doc.click(panel.new_button, "New case without images")
    assert "no images are loaded" in panel.message.text() and not ws.is_open
    assert len(store.worklist()) == 4  # nothing created

    viewer.open_sample("blockplan", "lumbar_postop")
    doc.click(panel.new_title, "the new case's title")
    doc.type(panel.new_title, "Right facet pain, second series", "a title")
    doc.click(panel.new_button, "New case")
    assert ws.is_open and ws.case.title == "Right facet pain, second series"
    # until the search returns, the list never reads as if the new case did not exist
    assert panel.worklist_status.text() in {"Updating the worklist…", "5 cases, newest first."}
    assert ws.case.patient.patient_id == "SYNTH-0001"  # from the images
    assert ws.case.study is not None and len(ws.case.study.series) == 4
    assert panel.fields["Patient"].text() == "PHANTOM, LUMBAR"
    rows = _wait_for_worklist(qtbot, panel, 5)
    assert rows[0]["Title"] == "Right facet pain, second series"

    # rename, then undo restores the old title
    _retype(doc, panel.title_edit, "Right facet pain: MBB series", "the new title")
    doc.click(panel.rename_button, "Rename")
    assert ws.case.title == "Right facet pain: MBB series"
    assert store.load(ws.case.case_id)[0].title == "Right facet pain: MBB series"  # saved
    qtbot.waitUntil(lambda: _worklist(panel)[0]["Title"] == "Right facet pain: MBB series")
    assert panel.undo_bar.undo_button.text() == "Undo rename case"
    doc.click(panel.undo_bar.undo_button, "Undo")
    assert ws.case.title == "Right facet pain, second series"
    assert panel.title_edit.text() == "Right facet pain, second series"
    assert viewer.title.endswith("— Right facet pain, second series")

    # export: mode 0600, a valid case file of the open case
    target = tmp_path / "exported"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
    )
    doc.click(panel.export_button, "Export…")
    written = tmp_path / "exported.blockplan.json"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert load_case_file(written) == ws.case
    assert [e.action for e in store.audit(ws.case.case_id)][-1] == "export"

    # import: the same case is already stored → refused, then imported as a copy
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(written), ""))
    )
    doc.click(panel.import_button, "Import case file…")
    assert "already in the store" in panel.message.text()
    assert panel.import_copy_button.isVisible()
    doc.click(panel.import_copy_button, "Import as a copy")
    rows = _wait_for_worklist(qtbot, panel, 6)
    copy_id = panel.selected_case_id()
    assert copy_id not in (None, ws.case.case_id)
    assert store.load(copy_id)[0].title == ws.case.title
    assert "as a copy" in panel.message.text()

    # a damaged file: refused with the reason, nothing imported
    damaged = tmp_path / "damaged.blockplan.json"
    damaged.write_text(written.read_text().replace("second series", "third series"))
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(damaged), ""))
    )
    doc.click(panel.import_button, "Import case file…")
    assert str(damaged) in panel.message.text() and "checksum" in panel.message.text()
    assert len(store.worklist()) == 6

    # close: no case, no case layers, the title reset
    from blockplan.planning import place_level_marker

    ct = next(v for v in ws.volumes() if v.modality == "CT")
    centre = PatientPoint(lps=(0.0, 60.0, -100.0), frame_of_reference_uid=ct.frame_of_reference_uid)
    marker = place_level_marker(centre, ws.case.levels, "L3")
    ws.apply(ws.case.replace_item("levels", marker), "add level", "a marker to show")
    assert _showing(viewer) == ["levels"]
    doc.click(panel.close_button, "Close")
    assert not ws.is_open and not panel.case_form.isVisible() and panel.no_case.isVisible()
    assert all(label.text() == "" for label in panel.fields.values())
    assert _showing(viewer) == []  # the closed case's layers show nothing
    assert viewer.title == "blockplan"
    assert not panel.close_button.isEnabled() and not panel.export_button.isEnabled()
    # the images stay; the closed case of their study is offered again
    assert panel.offer.isVisible()


def test_the_loaded_study_offers_its_stored_case_and_one_click_reopens_it(
    make_napari_viewer: Any, store: CaseStore, qtbot: Any
) -> None:
    viewer, ws, panel = _viewer(make_napari_viewer, store)
    doc = Physician(viewer)
    assert not panel.offer.isVisible()
    viewer.open_sample("blockplan", "lumbar_postop")
    settle()
    demo = build_demo_case(SAMPLE)
    assert panel.offer.isVisible() and not ws.is_open  # offered, not opened
    assert panel.reopen_button.text().startswith(f"Reopen “{demo.title}”, ")
    assert len(store.worklist()) == 4  # nothing was created by loading
    doc.click(panel.reopen_button, "Reopen")
    assert ws.is_open and ws.case.case_id == demo.case_id
    assert not panel.offer.isVisible()
    assert len(layer_for(viewer, "targets").data) == len(demo.targets)
    assert doc.actions == 1
    if SCREENSHOT_DIR:
        _wait_for_worklist(qtbot, panel, 4)
        _click_row(doc, panel, 0)
        _save_screenshot(qtbot, panel, "case-panel.png")


def test_start_a_new_case_from_the_offer_and_the_first_edit_without_one(
    make_napari_viewer: Any, store: CaseStore, tmp_path: Path
) -> None:
    viewer, ws, panel = _viewer(make_napari_viewer, store, sample=True)
    doc = Physician(viewer)
    assert panel.offer.isVisible()
    doc.click(panel.start_new_button, "Start a new case")
    assert ws.is_open and ws.case.case_id != build_demo_case(SAMPLE).case_id
    assert ws.case.patient.patient_name == "PHANTOM^LUMBAR"
    assert len(store.worklist()) == 5

    # a viewer with images and no case: the first edit starts a case from their identity
    other_store = CaseStore(tmp_path / "other.sqlite3")
    viewer2, ws2, _panel2 = _viewer(make_napari_viewer, other_store, sample=True)
    assert other_store.worklist() == []  # loading created nothing
    planning = next(w for n, w in viewer2.window.dock_widgets.items() if n.startswith("Planning"))
    planning.remove_last_level()  # nothing to remove: no edit
    assert other_store.worklist() == []
    ws2.apply(ws2.case.evolve(indication="index pain: left leg"), "set indication", "indication")
    (entry,) = other_store.worklist()
    assert entry.patient_id == "SYNTH-0001" and entry.study_date == dt.date(2026, 3, 15)
    assert ws2.is_open and ws2.case.study is not None and len(ws2.case.study.series) == 4


def _another_patients_series(tmp_path: Path, *, same_patient: bool = False) -> Path:
    """A copy of one sample series relabelled as another patient's (or another study)."""
    import pydicom
    from pydicom.uid import generate_uid

    out = tmp_path / ("other_study" if same_patient else "other_patient")
    out.mkdir()
    study, series = generate_uid(), generate_uid()
    for src in sorted((SAMPLE / "S0004_MR_T1_AX_GD").iterdir()):
        ds = pydicom.dcmread(src)
        if not same_patient:
            ds.PatientName = "OTHERPHANTOM^THORACIC"
            ds.PatientID = "SYNTH-0999"
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.save_as(out / src.name)
    return out


def test_images_of_another_patient_are_refused_with_both_identities(
    make_napari_viewer: Any, store: CaseStore, tmp_path: Path, qtbot: Any
) -> None:
    from napari.utils.notifications import notification_manager

    viewer, ws, panel = _viewer(make_napari_viewer, store, sample=True)
    doc = Physician(viewer)
    doc.click(panel.reopen_button, "Reopen")
    before = ws.case
    n_images = sum("blockplan_volume" in lay.metadata for lay in viewer.layers)
    notices = len(notification_manager.records)

    viewer.open(str(_another_patients_series(tmp_path)), plugin="blockplan")
    qtbot.waitUntil(panel.refused.isVisible, timeout=30000)  # loaded in a worker, then refused
    qtbot.waitUntil(
        lambda: sum("blockplan_volume" in lay.metadata for lay in viewer.layers) == n_images
    )
    assert ws.case == before  # nothing added, nothing adopted
    assert panel.refused.isVisible()
    table = panel.refused_table
    rows = {
        table.item(r, 0).text(): (table.item(r, 1).text(), table.item(r, 2).text())
        for r in range(table.rowCount())
    }
    assert rows["Patient name"] == ("PHANTOM, LUMBAR", "OTHERPHANTOM, THORACIC")
    assert rows["Patient ID"] == ("SYNTH-0001", "SYNTH-0999")
    assert table.item(1, 1).foreground().color() == Qt.GlobalColor.red  # what differs
    assert "another patient's images" in panel.refused_label.text()
    messages = [str(n.message) for n in notification_manager.records[notices:]]
    assert len(messages) == 1 and "do not belong to case" in messages[0]
    assert "SYNTH" not in messages[0] and "PHANTOM" not in messages[0]  # no identity
    doc.click(panel.refused_dismiss, "Dismiss")
    assert not panel.refused.isVisible()

    # the same patient's other study is refused too: a case is planned on one study
    viewer.open(str(_another_patients_series(tmp_path, same_patient=True)), plugin="blockplan")
    qtbot.waitUntil(lambda: panel.refused.isVisible())
    assert "another study" in panel.refused_label.text()
    qtbot.waitUntil(
        lambda: sum("blockplan_volume" in lay.metadata for lay in viewer.layers) == n_images
    )


def test_the_clinician_prompt_sets_the_operator(make_napari_viewer: Any, store: CaseStore) -> None:
    from blockplan.settings import load_settings

    viewer, ws, panel = _viewer(make_napari_viewer, store, sample=True)
    doc = Physician(viewer)
    assert panel.clinician_row.isVisible()
    doc.click(panel.clinician_save, "Save with no name")
    assert "no clinician is configured" in panel.message.text()
    doc.click(panel.clinician_edit, "the clinician field")
    doc.type(panel.clinician_edit, "Dr A. Example (synthetic)", "a name")
    doc.click(panel.clinician_save, "Save")
    assert not panel.clinician_row.isVisible()
    assert load_settings().clinician_name == "Dr A. Example (synthetic)"
    assert ws.user == "Dr A. Example (synthetic)"
    doc.click(panel.reopen_button, "Reopen")
    doc.click(panel.title_edit, "the title")
    doc.type(panel.title_edit, " (reviewed)", "more title")
    doc.key(panel.title_edit, Qt.Key.Key_Return, what="Enter renames")
    assert store.audit(ws.case.case_id)[-1].user == "Dr A. Example (synthetic)"


def test_the_study_browser_shows_whose_study_it_is(
    make_napari_viewer: Any, qtbot: Any, tmp_path: Path
) -> None:
    viewer = make_napari_viewer(show=True)
    _d, browser = viewer.window.add_plugin_dock_widget("blockplan", "Study browser")
    browser.scan(SAMPLE)
    qtbot.waitUntil(lambda: not browser.busy, timeout=60000)  # found in a worker
    text = browser.identity_label.text()
    assert "PHANTOM, LUMBAR" in text and "ID SYNTH-0001" in text
    assert "born 1968-07-04" in text and "sex other" in text  # in words, as everywhere
    assert "2026-03-15" in text and "accession SYNTH0001" in text and "referring" in text
    mixed = tmp_path / "mixed"
    shutil.copytree(SAMPLE / "S0004_MR_T1_AX_GD", mixed / "a")
    shutil.copytree(_another_patients_series(tmp_path), mixed / "b")
    browser.scan(mixed)
    qtbot.waitUntil(lambda: not browser.busy, timeout=60000)
    assert "holds 2 studies" in browser.identity_label.text()
