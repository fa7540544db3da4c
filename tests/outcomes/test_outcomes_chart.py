"""The one diary-chart definition (blockplan.outcomes.chart), without any plotting library."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from blockplan.outcomes.adjudication import BlockResult, adjudicate
from blockplan.outcomes.chart import NO_DIARY, AxisTick, DiaryChartSpec, diary_chart_spec
from blockplan.outcomes.ledger import build_ledger
from blockplan.report import findings_from_ledger
from tests.outcomes._factory import SCHEDULE, block, case_of, diary_from, profile

REPO = Path(__file__).resolve().parents[2]


def only_block(*args: object, profile_name: str = "asra-2020-single", **kw: object) -> BlockResult:
    (result,) = adjudicate(case_of(block(*args, **kw)), profile(profile_name))  # type: ignore[arg-type]
    return result


def test_relief_chart_of_a_positive_block() -> None:
    # 90 % relief from 15 to 120 min, none otherwise, baseline 10, full schedule
    diary = diary_from({t: 1 if 15 <= t <= 120 else 10 for t in SCHEDULE})
    b = only_block(diary=diary)
    assert (b.onset_min, b.duration_min) == (15, 120)
    spec = diary_chart_spec(b, 50.0)
    assert spec.quantity == "relief" and spec.message == ""
    assert spec.y_limits == (-25.0, 100.0) and spec.y_title == "relief %"
    assert [t.value for t in spec.y_ticks] == [-25, 0, 25, 50, 75, 100]
    assert spec.threshold_pct == 50.0 and spec.threshold_label == "threshold 50 %"
    assert spec.shaded_run_min == (15, 120)
    assert spec.time_max_min == 1440
    assert [t.label for t in spec.time_ticks] == ["0", "15", "30", "60", "2 h", "4 h", "8 h", "1 d"]
    expected = tuple((t, 90.0 if 15 <= t <= 120 else 0.0) for t in SCHEDULE)
    assert spec.points == expected
    assert spec.segments == (expected,)  # nothing missing: one unbroken line
    assert spec.missing_min == () and spec.patient_points == ()


def test_the_shaded_run_is_the_blocks_run_at_the_profiles_threshold() -> None:
    diary = diary_from({t: {0: 6, 15: 3, 30: 1, 60: 3}.get(t, 9) for t in SCHEDULE})
    b = only_block(diary=diary, profile_name="strict-dual-80")  # 80 %: 30 min only
    assert diary_chart_spec(b, 80.0).shaded_run_min == (30, 30)
    b = only_block(diary=diary)  # 50 %: 15 to 60 min
    assert diary_chart_spec(b, 50.0).shaded_run_min == (15, 60)
    never = only_block(diary=diary_from({t: 9 for t in SCHEDULE}))
    assert diary_chart_spec(never, 50.0).shaded_run_min is None


def test_missing_points_break_the_line_and_are_marked() -> None:
    # 30 min recorded without NRS; 180 min not recorded at all; 1440 min alone after a gap
    nrs: dict[int, int | None] = {t: 2 for t in SCHEDULE if t not in (180, 480)}
    nrs[30] = None
    spec = diary_chart_spec(only_block(diary=diary_from(nrs)), 50.0)
    assert spec.missing_min == (30, 180, 480)
    assert [[m for m, _v in s] for s in spec.segments] == [
        [0, 15],
        [60, 120],
        [240, 300, 360],
    ]
    # the lone point at 1440 min is a marker, not a line
    assert (1440, 80.0) in spec.points and all((1440, 80.0) not in s for s in spec.segments)
    assert not any(m in spec.missing_min for m, _v in spec.points)


def test_baseline_zero_plots_nrs() -> None:
    diary = diary_from({0: 0, 15: 1, 30: None, 60: 2}, baseline=0)
    spec = diary_chart_spec(only_block(diary=diary), 50.0)
    assert spec.quantity == "nrs" and spec.y_title == "NRS"
    assert spec.y_limits == (0.0, 10.0)
    assert [t.label for t in spec.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert spec.threshold_pct is None and spec.shaded_run_min is None
    assert spec.nrs_ticks == () and spec.patient_points == ()
    assert spec.points == ((0, 0.0), (15, 1.0), (60, 2.0))
    assert spec.segments == (((0, 0.0), (15, 1.0)),)
    assert 30 in spec.missing_min


def test_no_diary() -> None:
    spec = diary_chart_spec(only_block(until=None), 50.0)
    assert spec == DiaryChartSpec(quantity=None, message=NO_DIARY)
    assert spec.message == "no diary recorded"


def test_nrs_axis_patient_points_and_worse_pain() -> None:
    from blockplan.case.model import DiaryEntry, PainDiary

    entries = (
        DiaryEntry(minutes=0, nrs=4, patient_relief_pct=60.0),
        DiaryEntry(minutes=15, nrs=10),  # worse than baseline: −25 %
        DiaryEntry(minutes=30, nrs=2, patient_relief_pct=70.0),
    )
    diary = PainDiary(baseline_nrs=8, entries=entries)
    spec = diary_chart_spec(only_block(diary=diary), 50.0)
    assert spec.patient_points == ((0, 60.0), (30, 70.0))
    assert (15, -25.0) in spec.points and spec.y_limits == (-25.0, 100.0)
    # right axis: the relief height of NRS 0 … 10 at baseline 8, every other one labelled
    assert [t.value for t in spec.nrs_ticks] == [100.0 * (8 - n) / 8 for n in range(11)]
    assert [t.label for t in spec.nrs_ticks][:3] == ["0", "", "2"]
    much_worse = PainDiary(baseline_nrs=4, entries=(DiaryEntry(minutes=0, nrs=10),))
    assert diary_chart_spec(only_block(diary=much_worse), 50.0).y_limits == (-100.0, 100.0)


def test_square_root_time_axis_and_label_gaps() -> None:
    spec = DiaryChartSpec(
        quantity="relief",
        time_max_min=1440,
        time_ticks=tuple(AxisTick(t, f"{t}") for t in (0, 15, 30, 60, 360, 1440)),
    )
    assert spec.time_axis(0) == 0.0 and spec.time_axis(-5) == 0.0
    assert spec.time_axis(360) == pytest.approx(0.5) and spec.time_axis(1440) == 1.0
    assert spec.time_axis(15) == pytest.approx(math.sqrt(15 / 1440))
    labels = [t.label for t in spec.time_labels(0.12)]
    assert labels == ["0", "", "30", "", "360", "1440"]  # 15 and 60 sit too close
    assert [t.value for t in spec.time_labels(0.12)] == [0, 15, 30, 60, 360, 1440]


def test_time_axis_ends_at_the_first_tick_holding_every_point() -> None:
    short = diary_from({0: 2, 15: 2, 30: 2})
    (b,) = adjudicate(case_of(block(diary=short)), profile("asra-2020-single"))
    spec = diary_chart_spec(b, 50.0)  # the schedule's 1440 min point is missing: 1 d
    assert spec.time_max_min == 1440
    long = diary_from({t: 2 for t in (*SCHEDULE, 2000)})
    (b,) = adjudicate(case_of(block(diary=long)), profile("asra-2020-single"))
    assert diary_chart_spec(b, 50.0).time_max_min == 2880


def test_report_finding_and_ledger_block_give_the_same_chart() -> None:
    nrs: dict[int, int | None] = {t: 3 for t in SCHEDULE}
    nrs[60] = None
    ledger = build_ledger(case_of(block(diary=diary_from(nrs))), profile("asra-2020-single"))
    finding = findings_from_ledger(ledger).blocks[0]
    assert diary_chart_spec(finding, ledger.threshold_pct) == diary_chart_spec(
        ledger.blocks[0], ledger.threshold_pct
    )


def test_the_chart_definition_imports_no_plotting_library() -> None:
    code = (
        "import sys, blockplan.outcomes, blockplan.outcomes.chart\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "{'matplotlib', 'reportlab', 'napari', 'qtpy', 'PyQt6', 'vispy'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == ""
