"""One rule, one place: the planning screen, the signed PDF and the archived SR agree (Xvfb).

The demo case is opened in napari on the sample study; the test then reads back what the
physician sees (the Planning table, the scar volume, the Outcomes ledger), the text of the
report PDF (built from the same case and volumes, and the copy inside the archive) and the
SR content items (read back with `read_sr`), and asserts that they state the same levels,
sides, path lengths, C-arm angles with their direction words, clearances with the structure
named, safety verdicts, scar volumes and ledger statuses.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from blockplan.archive import build_archive, read_sr
from blockplan.archive._common import read_headers
from blockplan.archive.jobs import select_series
from blockplan.case import Case, Structure
from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.io import discover
from blockplan.outcomes import Status
from blockplan.planning import (
    level_text,
    markers_in_order,
    rename_level_marker,
    set_transitional_vertebra,
    transitional_text,
    unconfirmed_targets,
)
from blockplan.planning.wording import scar_volume_text
from blockplan.report import ReportOptions, build_report
from napari_blockplan._workspace import workspace_for

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
WHEN = dt.datetime(2026, 5, 19, 12, 0, tzinfo=dt.UTC)


def _on_their_roots(case: Case) -> Case:
    """Every nerve-root target moved onto the centre of its own marked root."""
    for target in case.targets:
        if target.structure is not Structure.NERVE_ROOT:
            continue
        root = next(
            lm
            for lm in case.landmarks
            if lm.kind == "nerve_root" and lm.level == target.level and lm.side == target.side
        )
        case = case.replace_item("targets", target.model_copy(update={"position": root.position}))
    return case


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _pdf_text(pdf: bytes) -> str:
    return _flat(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def _table(table: Any) -> list[dict[str, str]]:
    heads = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    return [
        {h: table.item(r, c).text() for c, h in enumerate(heads)} for r in range(table.rowCount())
    ]


@pytest.fixture(params=["demo case", "targets on their roots"])
def opened(request: pytest.FixtureRequest, make_napari_viewer: Any, tmp_path: Path) -> Any:
    viewer = make_napari_viewer(show=True)
    viewer.open_sample("blockplan", "lumbar_postop")
    ws = workspace_for(viewer)
    ws.use_store(CaseStore(tmp_path / "cases.sqlite3"))
    _d, planning = viewer.window.add_plugin_dock_widget("blockplan", "Planning")
    _d, outcomes = viewer.window.add_plugin_dock_widget("blockplan", "Outcomes")
    case = build_demo_case(SAMPLE)
    if request.param == "targets on their roots":
        case = _on_their_roots(case)
    ws.start_case(case)
    return ws, planning, outcomes


def test_screen_pdf_and_sr_state_the_same_plan(opened: Any) -> None:
    ws, planning, outcomes = opened
    case = ws.case

    # what the physician sees
    screen = {row["Target"]: row for row in _table(planning.table)}
    scar_on_screen = planning.scar_volume.text()
    ledger_on_screen = [(r["Source"], r["Status"]) for r in _table(outcomes.ledger_table)]
    assert len(screen) == len(case.targets) == 5
    assert ledger_on_screen

    # the report, built from the same case and volumes
    pdf = _pdf_text(
        build_report(case, volumes=ws.volumes(), options=ReportOptions(created_at=WHEN))
    )

    # the archive: SR read back, and the PDF inside the archive
    found = discover(SAMPLE)
    info = select_series(found.series, case)
    objects = build_archive(
        case,
        read_headers(info.files),
        volume=ws.volume(info.series_instance_uid),
        content_datetime=WHEN,
    )
    archived_pdf = _pdf_text(objects.pdf)
    plan = read_sr(objects.sr)
    sr_targets = {t.id: t for t in plan.targets}
    sr_paths = {traj.target_id: plan.measurements[traj.id] for traj in plan.trajectories}

    for target in case.targets:
        row = screen[target.label]
        got = sr_targets[target.id]
        # level and side
        assert row["Level"] == target.level == got.level
        assert row["Side"] == target.side.value == got.side.value
        words = sr_paths[target.id].words()
        assert words is not None
        # path length, C-arm angles with their words, clearance with the structure named
        assert row["Path mm"] == words.length.removesuffix(" mm")
        assert row["Needle"] == words.needle
        assert (row["Oblique"], row["Tilt"]) == (words.oblique, words.tilt)
        assert row["Clearance"] == f"{words.clearance}; {words.scar}"
        # the safety verdict (the SR holds the verdict, the screen and the PDF its reasons)
        assert row["Safe"].split(":")[0] == words.verdict
        for text in (pdf, archived_pdf):
            assert f"path {words.length} · needle {words.needle}" in text
            assert f"C-arm {words.c_arm}" in text
            assert f"closest: {words.clearance}; {words.scar}" in text
            assert _flat(f"safe: {row['Safe']}") in text

    # scar volumes: screen, SR (total and per level) and both PDFs
    region = case.scar_regions[0]
    from_sr = scar_volume_text(
        plan.scar_volume_ml[region.id], plan.scar_volume_ml_per_level[region.id]
    )
    assert scar_on_screen == from_sr
    assert scar_on_screen in pdf and scar_on_screen in archived_pdf

    # ledger statuses: the Outcomes table, the report's findings and the SR
    assert plan.profile == ws.ledger.profile_label
    assert len(plan.source_statuses) == len(ledger_on_screen)
    for label, status in ledger_on_screen:
        assert f"{label} {status}" in pdf
        assert Status(plan.source_statuses[label]).text == status
    # block verdicts: the block list and the SR
    listed = [outcomes.block_list.item(r).text() for r in range(outcomes.block_list.count())]
    for block in ws.ledger.blocks:
        assert plan.block_verdicts[block.number] == block.verdict.value
        assert any(t.startswith(f"#{block.number} ") and block.short_verdict in t for t in listed)


def test_a_target_on_its_own_root_is_not_a_hazard_for_its_path(opened: Any) -> None:
    ws, planning, _outcomes = opened
    snrb = next(t for t in ws.case.targets if t.block_type.value == "snrb")
    row = next(r for r in _table(planning.table) if r["Target"] == snrb.label)
    own_root = f"nerve root {snrb.level} {snrb.side.value}"
    assert own_root not in row["Clearance"]
    assert own_root not in row["Safe"]


@pytest.mark.parametrize("opened", ["demo case"], indirect=True)
def test_screen_pdf_and_sr_state_the_same_unconfirmed_levels(opened: Any) -> None:
    """A recount of the level markers flags every target: the Planning table and the PDF
    print the same level text (new level, "confirm", what it was), the SR the new level."""
    ws, planning, _outcomes = opened
    case = ws.case
    top = markers_in_order(case)[0]
    case = rename_level_marker(case, top.id, "T11", recount=True)  # counted one level lower
    case = set_transitional_vertebra(case, "sacralised_l5")
    ws.apply(case, "rename level", "renumbered level markers")
    assert len(unconfirmed_targets(ws.case)) == len(ws.case.targets)

    screen = {row["Target"]: row for row in _table(planning.table)}
    pdf = _pdf_text(
        build_report(ws.case, volumes=ws.volumes(), options=ReportOptions(created_at=WHEN))
    )
    found = discover(SAMPLE)
    info = select_series(found.series, ws.case)
    objects = build_archive(
        ws.case,
        read_headers(info.files),
        volume=ws.volume(info.series_instance_uid),
        content_datetime=WHEN,
    )
    sr_targets = {t.id: t for t in read_sr(objects.sr).targets}
    for target in ws.case.targets:
        shown = screen[target.label]["Level"]
        assert shown == level_text(target) and " — confirm (was " in shown
        assert _flat(shown) in pdf
        assert shown.startswith(f"{sr_targets[target.id].level} — ")
        assert sr_targets[target.id].side.value == screen[target.label]["Side"]
    assert "Level not confirmed" in pdf
    noted = planning.transitional.currentText()
    assert noted == transitional_text(ws.case.transitional_vertebra)
    assert f"Transitional vertebra: {noted}." in pdf
