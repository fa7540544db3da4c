"""The Outcomes widget: record a block, enter its diary, see the ledger live (Xvfb)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

from blockplan.case import Agent, BlockType
from napari_blockplan._layers import STATUS_COLOURS, layer_for
from tests.plugin._gui import Physician

pytestmark = pytest.mark.gui

SAMPLE = Path(__file__).resolve().parents[2] / "sample_dicom"
TZ = dt.timezone(dt.timedelta(hours=1))


def _rgba(colour: str) -> np.ndarray:
    from napari.utils.colormaps.standardize_color import transform_color

    return transform_color(colour)[0]


def _status(widget, label: str) -> str:
    table = widget.ledger_table
    for row in range(table.rowCount()):
        if table.item(row, 0).text() == label:
            return table.item(row, 1).text()
    raise KeyError(label)


def test_ledger_shows_live_and_targets_follow_their_status(outcomes) -> None:
    viewer, widget, ws = outcomes
    assert widget.profile.currentText() == "comparative"
    assert "comparative v" in widget.profile_label.text()
    assert _status(widget, "L5, left, nerve root") == "confirmed"
    assert _status(widget, "L4-L5, right, facet joint") == "excluded"

    targets = layer_for(viewer, "targets")
    colours = dict(zip(targets.features["id"], targets.face_color, strict=True))
    snrb = next(t for t in ws.case.targets if t.block_type is BlockType.SELECTIVE_NERVE_ROOT)
    mbb = [t for t in ws.case.targets if t.block_type is BlockType.MEDIAL_BRANCH]
    assert np.allclose(colours[snrb.id], _rgba(STATUS_COLOURS["confirmed"]))
    for t in mbb:
        assert np.allclose(colours[t.id], _rgba(STATUS_COLOURS["excluded"]))

    # record a bupivacaine MBB at both right medial-branch targets, strongly positive
    before = len(ws.case.procedures)
    proc = widget.record_procedure(
        performed_at=dt.datetime(2026, 5, 26, 9, 0, tzinfo=TZ),
        block_type=BlockType.MEDIAL_BRANCH,
        target_ids=[t.id for t in mbb],
        agent=Agent.BUPIVACAINE,
        concentration_pct=0.5,
        volume_ml=0.5,
    )
    assert len(ws.case.procedures) == before + 1
    assert [i.target_id for i in proc.injections] == [t.id for t in mbb]
    assert widget.selected_procedure_id() == proc.id
    # the diary grid offers the profile's times
    times = [int(widget.diary.item(r, 0).text()) for r in range(widget.diary.rowCount())]
    assert times[:4] == [0, 15, 30, 60] and times[-1] == 1440

    # enter the diary through the grid, as a person would: the baseline, Enter, then one
    # NRS per row with Enter (Enter on an empty row moves on: a missing point)
    nrs = {0: 0, 15: 0, 30: 0, 60: 0, 120: 0, 180: 1, 240: 3}
    doc = Physician(viewer)
    widget.tabs.setCurrentIndex(1)
    doc.click(widget.baseline, "baseline")
    doc.type(widget.baseline, "5")
    doc.key(widget.baseline, Qt.Key.Key_Return)
    for minutes in times:
        if minutes in nrs:
            doc.type_focused(str(nrs[minutes]))
        doc.key_focused(Qt.Key.Key_Return)
    stored = next(p for p in ws.case.procedures if p.id == proc.id)
    assert stored.diary is not None and stored.diary.baseline_nrs == 5
    assert [(e.minutes, e.nrs) for e in stored.diary.entries] == sorted(nrs.items())
    assert "positive" in widget.verdict.text()

    # lidocaine negative + bupivacaine positive is a negative comparative pair (DOMAIN §4)
    assert _status(widget, "L4-L5, right, facet joint") == "excluded"

    # switching the profile recomputes everything and is stored with the case: under
    # asra-2020-single each block stands alone, and a positive with a negative is mixed
    widget.profile.setCurrentText("asra-2020-single")
    assert ws.case.profile_name == "asra-2020-single"
    assert widget.ledger.profile_name == "asra-2020-single"
    assert "asra-2020-single v" in widget.profile_label.text()
    assert _status(widget, "L4-L5, right, facet joint") == "indeterminate"
    colours = dict(zip(targets.features["id"], targets.face_color, strict=True))
    for t in mbb:
        assert np.allclose(colours[t.id], _rgba(STATUS_COLOURS["indeterminate"]))


def test_recording_needs_a_target_and_says_so(outcomes) -> None:
    _viewer, widget, ws = outcomes
    before = ws.case
    assert widget.record_from_form() is None  # nothing ticked
    assert "tick at least one planned target" in widget.message.text()
    assert ws.case == before


def _gid(ax, gid: str) -> list:
    return [a for a in (*ax.lines, *ax.patches, *ax.texts) if a.get_gid() == gid]


def _assert_axes_hold_the_spec(ax, spec) -> None:
    """The matplotlib axes hold exactly the core chart's points, lines and threshold."""
    from napari_blockplan._widgets._diary_chart import LABEL_GAP

    tx = spec.time_axis
    segments = [line.get_xydata().tolist() for line in _gid(ax, "segment")]
    assert segments == [[[tx(m), v] for m, v in s] for s in spec.segments]
    (points,) = _gid(ax, "points")
    assert points.get_xydata().tolist() == [[tx(m), v] for m, v in spec.points]
    missing = _gid(ax, "missing")  # one vertical line per missing point, at its time
    assert [tuple(line.get_xdata()) for line in missing] == [(tx(m),) * 2 for m in spec.missing_min]
    assert all(tuple(line.get_ydata()) == (0, 1) for line in missing)  # the whole height
    thresholds = _gid(ax, "threshold")
    if spec.threshold_pct is None:
        assert thresholds == []
    else:
        (threshold,) = thresholds
        assert list(threshold.get_ydata()) == [spec.threshold_pct] * 2
        assert threshold.get_label() == spec.threshold_label
    runs = _gid(ax, "run")
    if spec.shaded_run_min is None:
        assert runs == []
    else:
        (run,) = runs
        xs = run.get_path().transformed(run.get_patch_transform()).vertices[:, 0]
        onset, duration = spec.shaded_run_min
        assert np.allclose([xs.min(), xs.max()], [tx(onset), tx(duration)])
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == spec.y_limits
    times = spec.time_labels(LABEL_GAP)
    assert list(ax.get_xticks()) == [tx(t.value) for t in times]
    assert [t.get_text() for t in ax.get_xticklabels()] == [t.label for t in times]
    assert ax.get_ylabel() == spec.y_title and ax.get_xlabel() == spec.time_title


def test_diary_chart_draws_the_core_chart_spec(outcomes) -> None:
    from blockplan.outcomes.chart import diary_chart_spec

    _viewer, widget, ws = outcomes
    proc = next(p for p in ws.case.procedures if p.diary is not None)
    widget.select_block(proc.id)

    def chart_and_spec():
        ledger = widget.ledger
        block = next(b for b in ledger.blocks if b.procedure_id == proc.id)
        return widget.figure.axes[0], diary_chart_spec(block, ledger.threshold_pct)

    ax, spec = chart_and_spec()
    assert spec.quantity == "relief" and spec.points and spec.shaded_run_min is not None
    _assert_axes_hold_the_spec(ax, spec)
    # the square-root time axis: 6 h sits half-way to 1 d
    assert spec.time_max_min == 1440 and spec.time_axis(360) == 0.5

    # a missing point at 60 min breaks the line and is marked
    entries = [(m, None if m == 60 else 2, None) for m in (0, 15, 30, 60, 120, 180, 240)]
    widget.set_diary(proc.id, 8, entries)
    ax, spec = chart_and_spec()
    assert 60 in spec.missing_min and len(spec.segments) == 2
    _assert_axes_hold_the_spec(ax, spec)

    # baseline NRS 0: relief is undefined, the chart shows NRS without a threshold
    widget.set_diary(proc.id, 0, [(0, 0, None), (15, 1, None), (30, 2, None)])
    ax, spec = chart_and_spec()
    assert spec.quantity == "nrs" and spec.threshold_pct is None
    _assert_axes_hold_the_spec(ax, spec)


def test_pending_and_needs_review_blocks_show_why(outcomes) -> None:
    from qtpy.QtGui import QColor

    from blockplan.outcomes import STATUS_COLOURS as CORE_COLOURS

    _viewer, widget, ws = outcomes
    mbb = [t for t in ws.case.targets if t.block_type is BlockType.MEDIAL_BRANCH]
    proc = widget.record_procedure(
        performed_at=dt.datetime(2026, 5, 26, 9, 0, tzinfo=TZ),
        block_type=BlockType.MEDIAL_BRANCH,
        target_ids=[t.id for t in mbb],
        agent=Agent.LIDOCAINE,
        concentration_pct=2.0,
        volume_ml=0.5,
    )
    label = "L4-L5, right, facet joint"

    def row_of(text: str) -> int:
        table = widget.ledger_table
        return next(r for r in range(table.rowCount()) if table.item(r, 0).text() == text)

    def listed() -> str:
        items = [widget.block_list.item(r).text() for r in range(widget.block_list.count())]
        return next(t for t in items if t.startswith("Block #5 — "))

    # only the in-clinic 0-min score: pending, with the missing times, never "excluded"
    widget.set_diary(proc.id, 8, [(0, 1, None)])
    widget.select_block(proc.id)
    assert _status(widget, label) == "pending"
    # the physician's words: abbreviation, level, side, structure (not "mbb lidocaine")
    assert listed() == (
        "Block #5 — pending: NRS at 15, 30, 60, 120 min · 2026-05-26 09:00"
        " · MBB L4-L5 right facet joint · lidocaine"
    )
    assert "pending: NRS at 15, 30, 60, 120 min (under comparative v1.1.0)" in (
        widget.verdict.text()
    )
    row = row_of(label)
    status_cell = widget.ledger_table.item(row, 1)
    assert status_cell.background().color() == QColor(CORE_COLOURS["pending"])
    assert widget.ledger_table.item(row, 2).text().startswith("block #5 is")
    assert "complete the record of block #5 (NRS at 15, 30, 60, 120 min)" in (
        widget.ledger_table.item(row, 4).text()
    )

    # a baseline of 2/10 falling to 1/10: needs review, with the reason
    widget.set_diary(proc.id, 2, [(m, 1 if m <= 60 else 2, None) for m in (0, 15, 30, 60, 120)])
    assert _status(widget, label) == "needs review"
    assert listed().startswith("Block #5 — needs review: low baseline · ")
    assert "baseline NRS 2/10 is below 4/10" in widget.verdict.text()
    # the verdict on its first line, each reason on a line of its own (not one paragraph)
    first, *reasons = widget.verdict.text().splitlines()
    assert first == "Block #5: needs review: low baseline (under comparative v1.1.0)"
    assert reasons and all(line.startswith("• ") for line in reasons)
    status_cell = widget.ledger_table.item(row_of(label), 1)
    assert status_cell.background().color() == QColor(CORE_COLOURS["needs_review"])
