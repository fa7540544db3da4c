"""Fixtures of the GUI tests."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"


@pytest.fixture
def launch_app(mock_app_model: Any) -> Iterator[Any]:
    """A fresh napari application for tests that start napari as `blockplan view` does.

    `launch_viewer` builds a plain ``napari.Viewer``; without this, the plugin commands it
    registers stay in napari's global application, and the next viewer made after a
    ``make_napari_viewer`` test (which clears napari's plugin-initialisation cache)
    registers them again and fails ("Command 'blockplan.get_reader' already registered").
    Same isolation as ``make_napari_viewer``: a throw-away application, caches cleared
    before and after.
    """
    from napari._qt._qapp_model.qactions import init_qactions
    from napari.plugins import _initialize_plugins

    _initialize_plugins.cache_clear()
    init_qactions.cache_clear()
    yield mock_app_model


@pytest.fixture(autouse=True)
def _earlier_objects_left_out_of_garbage_collection() -> Iterator[None]:
    """What the earlier tests left alive (modules, caches, napari's application model) is
    frozen out of the garbage collector before each GUI test: napari's viewer fixture runs
    a full collection when its test ends, and it then walks only this test's objects (in
    the whole suite the full collections took ≈ 1–2 s per GUI test). Objects frozen are
    still freed when their last reference goes; only cycles among them are kept."""
    gc.collect()
    gc.freeze()
    yield


@pytest.fixture(autouse=True)
def _background_work_ends_with_its_test() -> Iterator[None]:
    """Every worker a test started (napari's thread pool: a load, a scar proposal, the
    Report panel's pictures computed ahead) has ended before the next test begins, so that
    no test sees another's background work (e.g. the report memo's counters)."""
    yield
    from qtpy.QtCore import QThreadPool

    assert QThreadPool.globalInstance().waitForDone(60_000), "a worker ran on for 60 s"


@pytest.fixture
def outcomes(make_napari_viewer: Any, tmp_path: Path) -> tuple[Any, Any, Any]:
    """The sample study with the demo case, the Planning and Outcomes panels docked (the
    Outcomes panel active): ``(viewer, outcomes widget, workspace)``."""
    from blockplan.case.store import CaseStore
    from blockplan.demo import build_demo_case
    from napari_blockplan._workspace import workspace_for
    from tests.plugin._gui import activate

    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    _dock, widget = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    ws.start_case(build_demo_case(SAMPLE))
    activate(widget)
    return viewer, widget, ws


class PlanningDemo(NamedTuple):
    """`planning_demo`: the viewer, its workspace, the Planning panel, the case as opened,
    and the physician sending real events."""

    viewer: Any
    ws: Any
    planning: Any
    case: Any
    doc: Any


@pytest.fixture
def planning_demo(make_napari_viewer: Any, tmp_path: Path) -> PlanningDemo:
    """The sample study with the demo case open (its store in ``tmp_path``) and the
    Planning panel docked, settled (`tests.plugin._gui.demo_in_planning`)."""
    from napari_blockplan._workspace import workspace_for
    from tests.plugin._gui import Physician, demo_in_planning, settle

    viewer, planning, case = demo_in_planning(make_napari_viewer, tmp_path)
    settle(10)
    return PlanningDemo(viewer, workspace_for(viewer), planning, case, Physician(viewer))
