"""One rule, one place: the planning screen, the signed PDF and the archived SR agree (Xvfb).

The demo case is opened in napari on the sample study; the test then reads back what the
physician sees (the Planning table, the scar volume, the Outcomes ledger), the text of the
report PDF (built from the same case and volumes, and the copy inside the archive) and the
SR content items (read back with `read_sr`), and asserts that they state the same levels,
sides, path lengths, C-arm angles with their direction words, clearances with the structure
named, safety verdicts, scar volumes and ledger statuses. Targets are selected with real
clicks on their table rows; the details pane then shows the path in the report's words.
Every place that names a target (table, Outcomes ticks, report, SR) names it alike.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from blockplan.archive import read_sr
from blockplan.archive.sr import _groups, _tracking_text
from blockplan.case import Case, Structure
from blockplan.case.store import CaseStore
from blockplan.demo import build_demo_case
from blockplan.outcomes import numbered_block
from blockplan.outcomes.evidence import status_key_text
from blockplan.planning import (
    SafetyVerdict,
    level_text,
    markers_in_order,
    rename_level_marker,
    set_transitional_vertebra,
    transitional_text,
    unconfirmed_targets,
)
from blockplan.planning.wording import scar_volume_text, target_names
from blockplan.report import ReportOptions, build_report
from napari_blockplan._convert import lps_to_world
from napari_blockplan._workspace import workspace_for
from tests.plugin._gui import SAMPLE, WHEN, Physician, sample_archive

pytestmark = pytest.mark.gui


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


def _select_row(doc: Physician, planning: Any, name: str) -> None:
    """Click the Targets tab (when not shown) and then the table row of the named target."""
    tabs = planning.tabs
    bar = tabs.tabBar()
    index = next(i for i in range(bar.count()) if bar.tabText(i) == "Targets")
    if tabs.currentIndex() != index:
        doc.click(bar, "the Targets tab", bar.tabRect(index).center())
    table = planning.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == name)
    table.scrollToItem(table.item(row, 0))  # the physician scrolls the list to it
    doc.click(table.viewport(), name, table.visualItemRect(table.item(row, 0)).center())
    assert planning.details_title.text() == name


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
    # one path in a sagittal plane (its entry straight behind the target): no oblique, the
    # view the screen, the report and the SR all call "straight AP" (never "true PA")
    mbb = next(t for t in ws.case.targets if t.block_type.value == "mbb")
    x, y, z = mbb.position.lps
    planning.set_entry_at(lps_to_world((x, y + 55.0, z)), target_id=mbb.id)
    case = ws.case
    doc = Physician(planning.viewer)
    names = target_names(case.targets)

    # what the physician sees
    screen = {row["Target"]: row for row in _table(planning.table)}
    scar_on_screen = planning.scar_volume.text()
    ledger_on_screen = [(r["Source"], r["Status"]) for r in _table(outcomes.ledger_table)]
    assert len(screen) == len(case.targets) == 5
    assert list(screen) == list(names.values())  # "T1 · L5 right TFESI", …
    assert ledger_on_screen

    # the report, built from the same case and volumes
    pdf = _pdf_text(
        build_report(case, volumes=ws.volumes(), options=ReportOptions(created_at=WHEN))
    )

    # the archive: SR read back, and the PDF inside the archive
    objects = sample_archive(ws, case)
    archived_pdf = _pdf_text(objects.pdf)
    plan = read_sr(objects.sr)
    sr_targets = {t.id: t for t in plan.targets}
    sr_paths = {traj.target_id: plan.measurements[traj.id] for traj in plan.trajectories}
    sr_names = [_tracking_text(g) for g in _groups(objects.sr.ContentSequence)]

    for target in case.targets:
        name = names[target.id]
        row = screen[name]
        got = sr_targets[target.id]
        # the target's name: table, Outcomes ticks, both PDFs and the SR
        assert outcomes.target_checks[target.id].text() == name
        assert name in pdf and name in archived_pdf
        assert any(t.startswith(f"target:{target.id} {name}") for t in sr_names)
        # level and side
        assert row["Level"] == target.level == got.level
        assert row["Side"] == target.side.value == got.side.value
        words = sr_paths[target.id].words()
        assert words is not None
        # the verdict word: table, SR (which holds the verdict, not the hazards' wording)
        assert row["Verdict"] == words.verdict
        # the details pane of the row clicked: path length, needle, C-arm oblique and tilt,
        # every clearance with its structure and the verdict, in the report's words
        _select_row(doc, planning, name)
        details = tuple(planning.details.text().splitlines())
        assert details[:4] == words.lines()[:4]
        if sr_paths[target.id].verdict is SafetyVerdict.UNSAFE:
            assert details[4].startswith("Verdict: UNSAFE — ")
        else:
            assert details[4] == words.lines()[4]
        assert f"{words.oblique}, {words.tilt}" in details[2]
        if target.id == mbb.id:  # the sagittal path: the same AP words everywhere
            assert details[2] == "C-arm: straight AP (0.0° oblique), no tilt"
        for text in (pdf, archived_pdf):
            for line in details:
                assert _flat(line) in text, line

    assert mbb.id in sr_paths and not re.search(r"\bPA\b", pdf + archived_pdf)

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
        assert status_key_text(plan.source_statuses[label]) == status
    # block verdicts: the block list and the SR
    listed = [outcomes.block_list.item(r).text() for r in range(outcomes.block_list.count())]
    for block in ws.ledger.blocks:
        assert plan.block_verdicts[block.number] == block.verdict.value
        name = numbered_block(block.number, capitalised=True)
        assert any(t.startswith(f"{name} — {block.short_verdict} · ") for t in listed)


@pytest.mark.parametrize("opened", ["demo case"], indirect=True)
def test_outcomes_panel_and_report_give_the_same_reasons_for_a_source(opened: Any) -> None:
    """The ledger's reasons, worded once in the core: the Outcomes panel's Why column and
    details under the table, and the report's ranked table and "Sources in detail", say the
    same words; the profile is named once (the panel's profile line, the report's caption),
    not before every reason (a physician's remark on the demo report)."""
    ws, _planning, outcomes = opened
    label = ws.ledger.profile_label
    pdf = _pdf_text(
        build_report(ws.case, volumes=ws.volumes(), options=ReportOptions(created_at=WHEN))
    )
    detail = pdf.split("Sources in detail", 1)[1]
    assert detail.startswith(f" Statuses under {label};")
    assert label in outcomes.profile_label.text()
    table = outcomes.ledger_table
    rows = _table(table)
    assert len(rows) == len(ws.ledger.sources) >= 3
    for row, shown in enumerate(rows):
        table.selectRow(row)
        source, status, why = shown["Source"], shown["Status"], shown["Why"]
        lines = outcomes.ledger_details.text().splitlines()
        assert lines[0].startswith(f"{source}: ")  # the status in words, naming the profile
        assert lines[0].count(label) == 1
        reasons = lines[1].removeprefix("Why: ")
        assert reasons.startswith(why) and not why.startswith(f"{label}:"), why
        # the report's ranked table (first page) and its detail row, in the same words
        assert _flat(why) in pdf
        ledger_reasons = next(s for s in ws.ledger.sources if s.label == source).reasons
        assert "; ".join(ledger_reasons) == reasons  # the panel shows the ledger's words …
        row_in_report = _flat(f"{source} {status} {' '.join(ledger_reasons)}")
        assert row_in_report in detail, row_in_report  # … and so does the report
        assert label not in _flat(" ".join(ledger_reasons))


def test_a_target_on_its_own_root_is_not_a_hazard_for_its_path(opened: Any) -> None:
    ws, planning, _outcomes = opened
    snrb = next(t for t in ws.case.targets if t.block_type.value == "snrb")
    _select_row(Physician(planning.viewer), planning, target_names(ws.case.targets)[snrb.id])
    own_root = f"nerve root {snrb.level} {snrb.side.value}"
    details = planning.details.text()
    assert "Clearances: nerve root " in details  # other roots are named …
    assert own_root not in details  # … its own root neither as a clearance nor a hazard
    assert "Verdict: safe — clear of nerve root" in details


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
    names = target_names(ws.case.targets)
    pdf = _pdf_text(
        build_report(ws.case, volumes=ws.volumes(), options=ReportOptions(created_at=WHEN))
    )
    objects = sample_archive(ws)
    sr_targets = {t.id: t for t in read_sr(objects.sr).targets}
    for target in ws.case.targets:
        shown = screen[names[target.id]]["Level"]
        assert shown == level_text(target) and " — confirm (was " in shown
        assert _flat(shown) in pdf
        assert shown.startswith(f"{sr_targets[target.id].level} — ")
        assert sr_targets[target.id].side.value == screen[names[target.id]]["Side"]
    assert "Level not confirmed" in pdf
    noted = planning.transitional.currentText()
    assert noted == transitional_text(ws.case.transitional_vertebra)
    assert f"Transitional vertebra: {noted}." in pdf


def test_the_targets_table_reads_without_scrolling_sideways(opened: Any) -> None:
    _ws, planning, _outcomes = opened
    doc = Physician(planning.viewer)
    _select_row(doc, planning, planning.table.item(0, 0).text())
    table = planning.table
    assert table.columnCount() == 6
    assert table.horizontalScrollBar().maximum() == 0  # nothing hidden off to the right
    assert planning.details.wordWrap()
    assert planning.details.width() <= table.width()  # the details pane sits below, wrapped
