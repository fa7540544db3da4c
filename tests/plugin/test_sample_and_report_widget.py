"""File ▸ Open Sample, and the Report widget's build / preview / save (Xvfb)."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest
from npe2 import PluginManifest

from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from napari_blockplan._workspace import workspace_for

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


def _sample_keys() -> list[str]:
    import napari_blockplan

    manifest = PluginManifest.from_file(Path(napari_blockplan.__file__).with_name("napari.yaml"))
    return [s.key for s in manifest.contributions.sample_data or []]


@pytest.mark.parametrize("key", _sample_keys())
def test_every_sample_opens_and_the_ct_shows_bone(make_napari_viewer, key: str) -> None:
    viewer = make_napari_viewer(show=True)
    layers = viewer.open_sample("blockplan", key)
    modalities = sorted(lay.metadata["blockplan"]["modality"] for lay in layers)
    assert modalities == ["CT", "MR", "MR", "MR"]
    ct = layers[0]
    assert ct.metadata["blockplan"]["modality"] == "CT" and ct.visible
    assert ct.contrast_limits == [-500.0, 1500.0]  # the header's BONE window 500/2000
    # axial slice through the L4 body: cortical bone bright, air and fat dark
    viewer.dims.set_point(0, -126.9)
    viewer.reset_view()
    shot = viewer.screenshot(canvas_only=True, flash=False)[..., :3].mean(axis=2)
    body = shot[shot > 10]  # the imaged field, not the black background around it
    bone = body > 150  # cortex (1250 HU → 223 in the window; a thin rim, partly blended)
    assert bone.sum() > 500, "cortical bone should render bright"
    assert np.percentile(body, 99.9) > 190
    assert 0.005 < bone.mean() < 0.2
    assert np.percentile(body, 50) < 120, "soft tissue stays grey in the bone window"


def test_report_widget_builds_previews_and_saves(make_napari_viewer, qtbot, tmp_path) -> None:
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    ws.start_case(build_demo_case(SAMPLE))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    widget.clinic.setText("Test Clinic")
    assert not widget.save_button.isEnabled()
    widget.build()
    qtbot.waitUntil(lambda: widget.pdf is not None, timeout=60000)
    assert widget.pdf.startswith(b"%PDF-")
    assert len(widget.pages) >= 4
    assert widget.page.maximum() == len(widget.pages)
    assert widget.preview.pixmap() is not None and not widget.preview.pixmap().isNull()
    assert widget.save_button.isEnabled()
    out = widget.save(tmp_path / "report.pdf")
    assert out.read_bytes() == widget.pdf
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # saved = kept with the case: a later archive sends these very bytes
    from blockplan.report.kept import latest_kept_report

    assert latest_kept_report(ws.case) == widget.pdf
    assert "kept with the case" in widget.status.text()
    from pypdf import PdfReader

    text = PdfReader(out).pages[0].extract_text()
    assert "Test Clinic" in text
    assert "L5, left, nerve root" in text or "L5" in text


@pytest.fixture
def report_panel(make_napari_viewer, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    ws.start_case(build_demo_case(SAMPLE))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    widget.build()
    qtbot.waitUntil(lambda: widget.pdf is not None, timeout=60000)
    return viewer, ws, widget


def test_the_previewed_report_is_the_archived_one(report_panel, qtbot, tmp_path: Path) -> None:
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    _viewer, _ws, widget = report_panel
    assert widget.outbox.text() == "outbox: empty"
    assert not widget.send_waiting_button.isEnabled()
    out = tmp_path / "archive"
    widget.destination.setText(str(out))
    QTest.mouseClick(widget.archive_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "archived to" in widget.status.text(), timeout=120000)
    assert (out / "report.pdf").read_bytes() == widget.pdf  # byte for byte what was previewed
    assert {p.name for p in out.iterdir()} >= {"plan-sr.dcm", "scar-seg.dcm", "manifest.json"}
    assert not widget.progress.isVisible()


def test_archiving_after_an_edit_asks_for_a_new_report(report_panel, tmp_path: Path) -> None:
    _viewer, ws, widget = report_panel
    ws.apply(ws.case.evolve(title="changed after the preview"), "rename", "title")
    widget.destination.setText(str(tmp_path / "archive"))
    assert widget.archive() is None
    assert "the case changed after the report was built" in widget.status.text()
    assert not (tmp_path / "archive").exists()


def test_deidentified_export_from_the_panel(report_panel, qtbot, tmp_path: Path) -> None:
    _viewer, _ws, widget = report_panel
    widget.deid_dates.setCurrentIndex(widget.deid_dates.findData("remove"))
    widget.export_deidentified(tmp_path / "deid")
    qtbot.waitUntil(lambda: "de-identified export written" in widget.status.text(), timeout=120000)
    import json

    manifest = json.loads((tmp_path / "deid" / "manifest.json").read_text())
    assert manifest["deidentified"] is True
    text = (tmp_path / "deid" / "case.blockplan.json").read_text()
    assert "PHANTOM" not in text  # the synthetic patient's name is gone


def test_the_reports_pictures_are_computed_while_the_case_rests(
    make_napari_viewer, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from blockplan.report.memo import report_memo

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Report")
    report_memo.clear()
    case = ws.start_case(build_demo_case(SAMPLE))  # a case change: computed in 1.5 s
    qtbot.waitUntil(lambda: widget.prepared_edit == widget.edits[0], timeout=60000)
    planned = sum(1 for t in case.targets if case.trajectory_for(t.id) is not None)
    assert planned >= 2
    hits, lasting = report_memo.hits, report_memo.lasting_hits
    QTest.mouseClick(widget.build_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: widget.pdf is not None, timeout=60000)
    # Build computed no picture: the C-arm previews of every path and the level check,
    # an axial key image per target and the sagittal overview were ready
    assert report_memo.hits - hits == planned + 1
    assert report_memo.lasting_hits - lasting == len(case.targets) + 1
    assert "report built" in widget.status.text()
