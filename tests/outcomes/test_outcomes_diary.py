"""Relief %, onset, duration and sustained relief (shared/DOMAIN.md §3)."""

from __future__ import annotations

import pytest

from blockplan.outcomes.diary import (
    DEFAULT_DIARY_TIMES_MIN,
    RunEnd,
    peak_relief,
    relief_curve,
    relief_pct,
    relief_run,
)
from tests.outcomes._factory import diary_from


@pytest.mark.parametrize(
    ("baseline", "nrs", "expected"),
    [
        (10, 5, 50.0),
        (10, 0, 100.0),
        (10, 10, 0.0),
        (5, 1, 80.0),
        (5, 7, -40.0),  # worse: negative
        (1, 10, -900.0),
        (0, 0, None),  # no index pain: undefined
        (0, 3, None),
        (8, None, None),  # missing NRS
    ],
)
def test_relief_pct(baseline: int, nrs: int | None, expected: float | None) -> None:
    assert relief_pct(baseline, nrs) == expected


def _run(nrs: dict[int, int | None], threshold: float, baseline: int = 10, schedule=None):
    diary = diary_from(nrs, baseline=baseline)
    curve = relief_curve(diary, DEFAULT_DIARY_TIMES_MIN if schedule is None else schedule)
    return relief_run(curve, threshold, 30), curve


# Each row: NRS by minute (baseline 10 unless given), threshold, onset, duration, sustained.
RUNS = [
    pytest.param({0: 5, 15: 5, 30: 5, 60: 9}, 50, 0, 30, True, id="exactly-50-sustained-30"),
    pytest.param({0: 6, 15: 6, 30: 6}, 50, None, None, False, id="40-below-50"),
    pytest.param({0: 2, 15: 2, 30: 2, 60: 2, 120: 9}, 80, 0, 60, True, id="exactly-80"),
    pytest.param({0: 3, 15: 3, 30: 3, 60: 3}, 80, None, None, False, id="70-fails-80"),
    pytest.param({0: 9, 15: 5, 30: 5, 60: 5, 120: 9}, 50, 15, 60, True, id="late-onset"),
    pytest.param({0: 9, 15: 1, 30: 1, 60: 9}, 50, 15, 30, False, id="span-15-not-sustained"),
    pytest.param({0: 1, 15: 1, 30: 8, 60: 1, 120: 1, 180: 1}, 50, 0, 15, False, id="dip-ends-run"),
    pytest.param({0: 1, 30: 1, 60: 1, 120: 1}, 50, 0, 0, False, id="missing-15-ends-run"),
    pytest.param({0: 1, 15: None, 30: 1, 60: 1}, 50, 0, 0, False, id="empty-nrs-ends-run"),
    pytest.param({15: 1, 30: 1, 60: 1}, 50, 15, 60, True, id="missing-0-onset-15"),
    pytest.param({0: 10, 15: 12 - 2}, 50, None, None, False, id="no-relief"),
]


@pytest.mark.parametrize(("nrs", "threshold", "onset", "duration", "sustained"), RUNS)
def test_relief_run(
    nrs: dict[int, int | None],
    threshold: float,
    onset: int | None,
    duration: int | None,
    sustained: bool,
) -> None:
    run, _ = _run(nrs, threshold)
    assert (run.onset_min, run.duration_min, run.sustained) == (onset, duration, sustained)


@pytest.mark.parametrize(
    ("last", "sustained"), [(30, True), (29, False), (31, True)], ids=["30", "29", "31"]
)
def test_sustained_is_duration_minus_onset_at_least_30(last: int, sustained: bool) -> None:
    # No schedule: only the recorded points exist, so 0 and `last` are consecutive.
    run, _ = _run({0: 1, last: 1, last + 60: 9}, 50, schedule=())
    assert run.span_min == last
    assert run.sustained is sustained


@pytest.mark.parametrize(("end", "sustained"), [(45, True), (44, False)], ids=["15-45", "15-44"])
def test_unscheduled_points_count_and_missing_scheduled_points_break(
    end: int, sustained: bool
) -> None:
    # Recorded 15, 30 and an unscheduled point; 0 and 60 are scheduled but missing.
    run, curve = _run({15: 1, 30: 1, end: 1}, 50)
    assert (run.onset_min, run.duration_min, run.sustained) == (15, end, sustained)
    assert run.ended_by is RunEnd.MISSING_POINT and run.ended_at_min == 60
    point = next(p for p in curve if p.minutes == end)
    assert point.recorded and not point.scheduled


def test_dip_and_recovery_is_reported_not_counted() -> None:
    run, _ = _run({0: 1, 15: 1, 30: 8, 60: 1, 120: 1, 180: 1}, 50)
    assert run.ended_by is RunEnd.BELOW_THRESHOLD
    assert run.ended_at_min == 30
    assert run.recovered_at_min == 60


def test_missing_point_is_reported() -> None:
    run, curve = _run({0: 1, 30: 1, 60: 1}, 50)
    assert run.ended_by is RunEnd.MISSING_POINT and run.ended_at_min == 15
    assert run.recovered_at_min == 30
    missing = next(p for p in curve if p.minutes == 15)
    assert missing.missing and not missing.recorded and missing.scheduled


def test_run_to_end_of_diary() -> None:
    run, _ = _run(dict.fromkeys(DEFAULT_DIARY_TIMES_MIN, 1), 50)
    assert run.ended_by is RunEnd.END_OF_DIARY
    assert run.duration_min == 1440 and run.ended_at_min is None


def test_baseline_zero_has_no_relief() -> None:
    run, curve = _run({0: 0, 15: 0, 30: 0}, 50, baseline=0)
    assert all(p.relief_pct is None for p in curve)
    assert not run.reached and peak_relief(curve) is None


def test_peak_relief_is_maximum_over_diary() -> None:
    _, curve = _run({0: 4, 15: 2, 30: 12 - 6, 60: 10}, 50)
    assert peak_relief(curve) == 80.0


def test_patient_relief_is_kept_beside_computed_relief() -> None:
    from blockplan.case.model import DiaryEntry, PainDiary

    diary = PainDiary(
        baseline_nrs=8, entries=(DiaryEntry(minutes=0, nrs=4, patient_relief_pct=70),)
    )
    point = relief_curve(diary)[0]
    assert point.relief_pct == 50.0 and point.patient_relief_pct == 70
